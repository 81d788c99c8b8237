"""lvsctl for Python: plan, update, render, status, import and the hooks of an LVS cluster.

A thin layer over liblvsctl's public C++ API (docs/library.md, "Python"): the same calls as the
lvsctl program runs, the same answers. Results are dataclasses with the C++ field names; every
failure is an lvsctl.Error carrying the exit code the program would give.

    import lvsctl
    with lvsctl.connect(config="/etc/lvsctl/lvsctl.conf") as c:
        for cluster in c.clusters():
            plan = c.plan(cluster.id)
            for host in plan.hosts:
                print(host.host, host.changes)

Calls release the GIL while lvsctl works; the progress callback is called from lvsctl's worker
threads. One call at a time per Connection (others wait); separate Connections run in parallel.
"""

from __future__ import annotations

import dataclasses
import enum
import json as _json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, List, Optional

from . import _lvsctl

__all__ = [
    "AllResult", "ClusterInfo", "ClusterRun", "Connection", "Error", "ExitCode", "HookResult",
    "HostResult", "HostStatus", "Options", "ProgressEvent", "Rendered", "Result", "ServerInfo",
    "StatusResult", "connect", "load_options", "version",
]


def version() -> str:
    """The library's version, as `lvsctl --version` prints it."""
    return _lvsctl.version()


__version__ = version()

# The exit codes of docs/exit-codes.md, as Error.exit_code and the results' exit_code give them.
ExitCode = enum.IntEnum("ExitCode", {k.upper(): v for k, v in _lvsctl.exit_codes.items()})


class Error(Exception):
    """Every failure of a call: the program's message (after "lvsctl: ") and its exit code.

    exit_code is what the program exits with for the same failure: 64 usage (a bad address,
    format, layout), 65 data (an unknown cluster, a write the database refuses), 69 the database
    cannot be reached, 75 the cluster's lock is held (lock_timeout), 78 a bad config file, 70
    anything unexpected.
    """

    def __init__(self, message: str, exit_code: int = ExitCode.INTERNAL):
        super().__init__(message)
        self.message = message
        self.exit_code = int(exit_code)

    def __repr__(self) -> str:
        return f"lvsctl.Error({self.message!r}, exit_code={self.exit_code})"


def _raise_from(api_error: BaseException) -> None:
    exit_code, message = api_error.args
    # A callback's exception during the same call is the C++ side's __context__: shown as cause.
    raise Error(message, exit_code) from api_error.__context__


class _Result:
    """to_dict() and json() for the results below."""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def json(self) -> Any:
        """The --json document (docs/commands.md) of the call, parsed."""
        return _json.loads(self.document)


@dataclass
class ClusterInfo(_Result):
    id: int
    name: str


@dataclass
class HostResult(_Result):
    """One host of a run: host ("lb 10.0.0.1" / "web 10.0.0.11"), role ("lb" / "web"), changes
    (pending, or done when applied), errors, error (not reached or read), exit_code, monitored
    and monitor (an LB's monitor line)."""
    host: str
    role: str
    changes: List[str]
    applied: bool
    errors: List[str]
    error: Optional[str]
    exit_code: int
    monitored: bool
    monitor: str


@dataclass
class Result(_Result):
    """One run of plan or update of a cluster."""
    cluster_id: int
    cluster_name: str
    backend: str
    serial: int
    dry_run: bool
    pending: bool
    changed: bool
    hosts: List[HostResult]
    notes: List[str]
    errors: List[str]
    document: str
    exit_code: int

    @classmethod
    def _of(cls, d: dict) -> "Result":
        return cls(**dict(d, hosts=[HostResult(**h) for h in d["hosts"]]))


@dataclass
class HookResult(_Result):
    """A hook: what (the database change), then update (the run that followed), or, with
    no_update, None with document and notes. remove_server() also: removed (the line saying the
    row was deleted; None when the drain failed and the row stays) and cleanup (the server's lo
    cleaned of the cluster's website IPs)."""
    what: str
    update: Optional[Result]
    document: str
    notes: List[str]
    removed: Optional[str]
    cleanup: Optional[HostResult]
    exit_code: int

    @classmethod
    def _of(cls, d: dict) -> "HookResult":
        return cls(**dict(
            d, update=Result._of(d["update"]) if d["update"] is not None else None,
            cleanup=HostResult(**d["cleanup"]) if d["cleanup"] is not None else None))

    def json(self) -> Any:
        """The --json document: the update's, or, with no_update, the hook's own."""
        return _json.loads(self.update.document if self.update is not None else self.document)


@dataclass
class ServerInfo(_Result):
    """A web server of a cluster, as the database has it (servers())."""
    node_id: int
    address: str
    address_v6: Optional[str]
    mgmt_address: str
    ssh_port: int
    weight: int
    active: bool


@dataclass
class ClusterRun(_Result):
    """One cluster of update_all() / plan_all(): status "skipped" (its lock was held), "planned",
    "converged", "unchanged", "partial", "invalid" or "failed"; summary is the line `update
    --all` prints for it; document its update --json document ("" when none)."""
    cluster_id: int
    cluster_name: str
    status: str
    skipped: bool
    changed: bool
    pending: bool
    changes: int
    errors: List[str]
    summary: str
    document: str
    exit_code: int

    def json(self) -> Any:
        return _json.loads(self.document) if self.document else None


@dataclass
class AllResult(_Result):
    """update_all() / plan_all(): every cluster in the order of clusters(), the last line, the
    --json document and the worst exit code."""
    clusters: List[ClusterRun]
    summary: str
    document: str
    exit_code: int

    @classmethod
    def _of(cls, d: dict) -> "AllResult":
        return cls(**dict(d, clusters=[ClusterRun(**c) for c in d["clusters"]]))


@dataclass
class Rendered(_Result):
    """render(): content is the file as `lvsctl render` prints it."""
    cluster_id: int
    cluster_name: str
    format: str
    content: str


@dataclass
class HostStatus(_Result):
    host: str
    error: Optional[str]
    text: str


@dataclass
class StatusResult(_Result):
    """status(): per host what `lvsctl status` prints; document is the --json document."""
    cluster_id: int
    hosts: List[HostStatus]
    document: str
    exit_code: int

    @classmethod
    def _of(cls, d: dict) -> "StatusResult":
        return cls(**dict(d, hosts=[HostStatus(**h) for h in d["hosts"]]))


@dataclass
class ProgressEvent:
    """A run's progress (docs/commands.md, "Progress"): kind "begin" (phase, total hosts), "done"
    (one host, failed or not), "end"."""
    kind: str
    phase: str = ""
    total: int = 0
    failed: bool = False


_DEFAULTS = _lvsctl.default_options()


@dataclass
class Options:
    """The program's global options (docs/commands.md, "Global options"), with its defaults.

    db None: libpq's PG* defaults; templates None: those installed with the library. progress:
    called with a ProgressEvent from lvsctl's worker threads (it must be thread-safe)."""
    db: Optional[str] = _DEFAULTS["db"]
    ssh_user: str = _DEFAULTS["ssh_user"]
    ssh_identity: Optional[str] = _DEFAULTS["ssh_identity"]
    known_hosts: str = _DEFAULTS["known_hosts"]
    templates: Optional[str] = _DEFAULTS["templates"]
    agent: str = _DEFAULTS["agent"]
    timeout: int = _DEFAULTS["timeout"]
    parallel: int = _DEFAULTS["parallel"]
    lock_timeout: int = _DEFAULTS["lock_timeout"]
    vrrp_nopreempt: bool = _DEFAULTS["vrrp_nopreempt"]
    vrrp_unicast: bool = _DEFAULTS["vrrp_unicast"]
    progress: Optional[Callable[[ProgressEvent], None]] = field(default=None, compare=False)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "progress":
                if value is not None and not callable(value):
                    raise TypeError("lvsctl.Options: progress must be callable or None")
                continue
            kind = type(_DEFAULTS[f.name]) if _DEFAULTS[f.name] is not None else str
            if value is None and _DEFAULTS[f.name] is None:
                continue
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise TypeError(f"lvsctl.Options: {f.name} must be {kind.__name__}"
                                f"{' or None' if _DEFAULTS[f.name] is None else ''}, "
                                f"not {type(value).__name__}")


def load_options(path: str = "/etc/lvsctl/lvsctl.conf", must_exist: bool = False) -> Options:
    """Options as the program gets them with no flags: the config file's keys (lvsctl.conf(5))
    over the defaults, then LVSCTL_DB over the file's db. A missing file is no error unless
    must_exist; a bad one raises Error (78)."""
    try:
        return Options(**_lvsctl.load_options(str(path), must_exist))
    except _lvsctl.ApiError as e:
        _raise_from(e)


def connect(config: Optional[str] = None, *, options: Optional[Options] = None,
            **overrides: Any) -> "Connection":
    """A Connection. The options: `options`, else the config file `config` (which must exist),
    else the defaults; then each keyword argument, named as Options' fields (db=, ssh_user=,
    ssh_identity=, known_hosts=, templates=, agent=, timeout=, parallel=, lock_timeout=,
    vrrp_nopreempt=, vrrp_unicast=, progress=). Nothing is reached yet: the first call that needs
    the database connects (Error 69 there)."""
    if options is not None and config is not None:
        raise TypeError("lvsctl.connect: give config or options, not both")
    base = options if options is not None else (
        load_options(config, must_exist=True) if config is not None else Options())
    unknown = set(overrides) - {f.name for f in dataclasses.fields(Options)}
    if unknown:
        raise TypeError(f"lvsctl.connect: unknown option(s) {', '.join(sorted(unknown))}")
    return Connection(dataclasses.replace(base, **overrides))


class Connection:
    """A session with the platform's database and the options every call runs with
    (docs/library.md). Use connect(). close() (or a with block) ends its database session."""

    def __init__(self, options: Options):
        self.options = options
        values = {f.name: getattr(options, f.name) for f in dataclasses.fields(Options)
                  if f.name != "progress"}
        progress = None
        if options.progress is not None:
            user = options.progress

            def progress(kind: str, phase: str, total: int, failed: bool) -> None:
                user(ProgressEvent(kind, phase, total, failed))
        try:
            self._c = _lvsctl.Connection(values, progress)
        except _lvsctl.ApiError as e:
            _raise_from(e)

    def close(self) -> None:
        self._c.close()

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _call(self, name: str, *args: Any) -> Any:
        try:
            return getattr(self._c, name)(*args)
        except _lvsctl.ApiError as e:
            _raise_from(e)

    def clusters(self) -> List[ClusterInfo]:
        """Every cluster (id, name), as `update --all` lists them."""
        return [ClusterInfo(**c) for c in self._call("clusters")]

    def servers(self, cluster_id: int) -> List[ServerInfo]:
        """The web servers of the cluster, as the database has them (Error 65: no cluster)."""
        return [ServerInfo(**s) for s in self._call("servers", cluster_id)]

    def update_all(self, dry_run: bool = False, detailed_exitcode: bool = False,
                   drain_timeout: int = 30, clusters_parallel: int = 4,
                   done: Optional[Callable[[ClusterRun], None]] = None) -> AllResult:
        """`lvsctl update --all`: every cluster, clusters_parallel at once, each under its lock
        taken without waiting (a cluster another lvsctl holds is skipped). A cluster's failure is
        its ClusterRun's; Error only when the clusters cannot be listed. done: called with each
        ClusterRun in the order of clusters() as soon as it and those before it have finished
        (from lvsctl's threads, as progress)."""
        adapter = None
        if done is not None:
            def adapter(d: dict) -> None:
                done(ClusterRun(**d))
        return AllResult._of(self._call("update_all", dry_run, detailed_exitcode, drain_timeout,
                                        clusters_parallel, adapter))

    def plan_all(self, detailed_exitcode: bool = False, clusters_parallel: int = 4,
                 done: Optional[Callable[[ClusterRun], None]] = None) -> AllResult:
        """`lvsctl plan --all`: update_all(dry_run=True)."""
        return self.update_all(True, detailed_exitcode, 30, clusters_parallel, done)

    def plan(self, cluster_id: int, detailed_exitcode: bool = False) -> Result:
        """What update would change (`lvsctl plan`); nothing is changed, no lock is taken."""
        return Result._of(self._call("plan", cluster_id, detailed_exitcode))

    def update(self, cluster_id: int, dry_run: bool = False, detailed_exitcode: bool = False,
               drain_timeout: int = 30) -> Result:
        """`lvsctl update`, under the cluster's lock (Error 75 after lock_timeout)."""
        return Result._of(self._call("update", cluster_id, dry_run, detailed_exitcode,
                                     drain_timeout))

    def render(self, cluster_id: int, format: str = "lvs.cf", role: str = "primary") -> Rendered:
        """`lvsctl render`: "lvs.cf", "keepalived", "keepalived-vrrp", "ipvsadm" or "json"."""
        return Rendered(**self._call("render", cluster_id, format, role))

    def status(self, cluster_id: int, layout: str = "list") -> StatusResult:
        """`lvsctl status`: layout "list", "stats" or "rate"; status(...).json() is --json's."""
        return StatusResult._of(self._call("status", cluster_id, layout))

    def add_server(self, cluster_id: int, node_id: int, address: str, mgmt_address: str,
                   address_v6: Optional[str] = None, weight: int = 32,
                   no_update: bool = False) -> HookResult:
        """`lvsctl server add`."""
        return HookResult._of(self._call("add_server", cluster_id, node_id, address,
                                         mgmt_address, address_v6, weight, no_update))

    def set_server(self, cluster_id: int, node_id: int, weight: Optional[int] = None,
                   active: Optional[bool] = None, no_update: bool = False) -> HookResult:
        """`lvsctl server set`: only what is given changes; updates the LBs only."""
        return HookResult._of(self._call("set_server", cluster_id, node_id, weight, active,
                                         no_update))

    def remove_server(self, cluster_id: int, node_id: int, no_update: bool = False,
                      drain_timeout: int = 30) -> HookResult:
        """`lvsctl server remove`: the cluster's update without the server (drained), then, only
        when every LB let it go, its row (removed), then its lo (cleanup)."""
        return HookResult._of(self._call("remove_server", cluster_id, node_id, no_update,
                                         drain_timeout))

    def add_ips(self, cluster_id: int, ips: Iterable[str], no_update: bool = False) -> HookResult:
        """`lvsctl ip add`."""
        return HookResult._of(self._call("add_ips", cluster_id, _strings(ips), no_update))

    def remove_ips(self, cluster_id: int, ips: Iterable[str],
                   no_update: bool = False) -> HookResult:
        """`lvsctl ip remove`."""
        return HookResult._of(self._call("remove_ips", cluster_id, _strings(ips), no_update))

    def import_config(self, cluster_id: int, text: str, format: str = "lvscf",
                      source: str = "import", servers: Iterable[str] = (), backend: str = "",
                      primary: str = "", backup: str = "", no_update: bool = False,
                      warning: Optional[Callable[[str], None]] = None) -> HookResult:
        """`lvsctl import`: text (a piranha lvs.cf, a keepalived.conf or `ipvsadm -S` output)
        made cluster cluster_id. servers: "NAME=MGMT_IP" each; warning: called with each warning
        about the file before anything is written."""
        options = dict(source=source, format=format, servers=_strings(servers), backend=backend,
                       primary=primary, backup=backup, no_update=no_update)
        return HookResult._of(self._call("import_config", cluster_id, text, options, warning))


def _strings(items: Iterable[str]) -> List[str]:
    if isinstance(items, str):
        raise TypeError("lvsctl: give a list of addresses, not one string")
    return list(items)
