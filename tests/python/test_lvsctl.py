"""The Python module lvsctl (docs/library.md, "Python") against PostgreSQL and sshd hosts: the
answers are the program's, the hooks change the database and the hosts, the errors carry the
program's exit codes, progress comes from lvsctl's threads, and the GIL is released."""

import dataclasses
import os
import subprocess
import threading
import time

import pytest

import lvsctl
from conftest import LB, LVSCTL, PREFIX, SOURCE, SPARE, WEB_43, WEB_44, agent_input, host_dir, lo


# --- the package ------------------------------------------------------------------------------

def test_the_installed_package_and_its_version():
    assert lvsctl.__file__.startswith(str(PREFIX) + "/lib/python3/dist-packages/lvsctl/")
    assert lvsctl._lvsctl.__file__.startswith(str(PREFIX))
    assert lvsctl.__version__ == lvsctl.version() != ""
    cli = subprocess.run([LVSCTL, "--version"], capture_output=True, text=True, check=True)
    assert lvsctl.version() in cli.stdout


def test_options_defaults_are_the_librarys_and_the_config_file_is_read(stack):
    o = lvsctl.Options()
    assert (o.db, o.ssh_user, o.known_hosts, o.agent, o.timeout, o.parallel, o.lock_timeout) == \
        (None, "root", "~/.ssh/known_hosts", "lvsctl", 30, 16, 60)
    loaded = lvsctl.load_options(stack.config, must_exist=True)
    assert loaded.db == stack.conninfo and loaded.timeout == 5
    assert loaded.agent.endswith("/agent") and loaded.templates.endswith("/templates")
    assert loaded.ssh_user == "root"  # not in the file: the default


def test_connect_refuses_unknown_options_and_wrong_types():
    with pytest.raises(TypeError, match="unknown option"):
        lvsctl.connect(dbname="x")
    with pytest.raises(TypeError, match="timeout must be int"):
        lvsctl.connect(timeout="5")
    with pytest.raises(TypeError, match="progress must be callable"):
        lvsctl.connect(progress=3)


# --- clusters, plan, update, render, status ---------------------------------------------------

def test_clusters_lists_the_seeds(conn):
    assert conn.clusters() == [lvsctl.ClusterInfo(1, "Web-Cluster"), lvsctl.ClusterInfo(2, "Shop")]
    assert conn.clusters()[0].to_dict() == {"id": 1, "name": "Web-Cluster"}


def test_plan_names_each_hosts_changes_and_changes_nothing(conn):
    plan = conn.plan(1)
    assert (plan.cluster_id, plan.cluster_name, plan.backend) == (1, "Web-Cluster", "ipvs")
    assert plan.pending and not plan.changed and plan.exit_code == 0
    hosts = {h.host: h for h in plan.hosts}
    assert set(hosts) == {f"lb {LB}", f"web {WEB_43}", f"web {WEB_44}"}
    assert hosts[f"lb {LB}"].role == "lb" and hosts[f"web {WEB_43}"].role == "web"
    assert any(c.startswith("add service FWM 100") for c in hosts[f"lb {LB}"].changes)
    assert "add 10.39.84.131/32 to lo" in hosts[f"web {WEB_43}"].changes
    assert not any(h.applied or h.error for h in plan.hosts)
    assert conn.plan(1, detailed_exitcode=True).exit_code == 2
    # Results are dataclasses with the C++ names; the --json document parses.
    d = plan.to_dict()
    assert d["hosts"][0].keys() == {f.name for f in dataclasses.fields(lvsctl.HostResult)}
    assert plan.json()["pending"] is True
    assert lo(2) == [] and not (host_dir(1) / "agent-input.json").exists()


def test_update_converges_and_a_second_plan_is_empty(conn):
    dry = conn.update(1, dry_run=True)
    assert dry.dry_run and dry.pending and not dry.changed and lo(2) == []
    update = conn.update(1)
    assert update.exit_code == 0 and update.changed and not update.errors
    assert all(h.applied and h.exit_code == 0 for h in update.hosts)
    assert lo(2) == lo(3) == ["10.39.84.131/32"]
    assert [d["address"] for d in agent_input()["services"][0]["destinations"]] == \
        ["10.39.84.43", "10.39.84.44"]
    again = conn.plan(1, detailed_exitcode=True)
    assert not again.pending and again.exit_code == 0
    assert all(h.changes == [] for h in again.hosts)
    assert not conn.update(1).changed


@pytest.mark.parametrize("format", ["lvs.cf", "keepalived", "ipvsadm", "json"])
def test_render_is_what_lvsctl_render_prints(conn, stack, format):
    rendered = conn.render(1, format)
    cli = stack.lvsctl("render", "--cluster-id=1", f"--format={format}")
    assert cli.returncode == 0, cli.stderr
    assert rendered.content == cli.stdout
    assert (rendered.cluster_id, rendered.cluster_name, rendered.format) == \
        (1, "Web-Cluster", format)
    if format == "lvs.cf":
        assert "virtual Web-Cluster" in rendered.content


def test_status_reads_every_host(conn):
    conn.update(1)
    status = conn.status(1)
    assert status.exit_code == 0 and len(status.hosts) == 3
    lb = next(h for h in status.hosts if h.host == f"lb {LB}")
    assert lb.error is None and "FWM  100 lblc" in lb.text
    doc = status.json()
    lb_doc = next(h for h in doc["hosts"] if h["host"] == f"lb {LB}")
    assert {d["address"] for s in lb_doc["services"] for d in s["destinations"]} == \
        {"10.39.84.43", "10.39.84.44"}
    # A host that cannot be read: exit 3 and its error, the others still read.
    subprocess.run([os.environ["LVSCTL_TEST_SSH_CTL"], "stop", "3"], check=True)
    try:
        status = conn.status(1)
    finally:
        subprocess.run([os.environ["LVSCTL_TEST_SSH_CTL"], "start", "3"], check=True,
                       capture_output=True)
    assert status.exit_code == 3
    assert [h.host for h in status.hosts if h.error] == [f"web {WEB_44}"]


# --- the hooks --------------------------------------------------------------------------------

def test_ip_hooks_change_the_database_and_the_hosts(conn, stack):
    added = conn.add_ips(1, ["10.39.84.135", "10.39.84.134"])
    assert "added 2 of 2" in added.what and added.exit_code == 0
    assert added.update is not None and added.update.exit_code == 0
    assert stack.sql("select string_agg(host(address), ' ' order by address) from h2e_cluster_ips "
                     "where cluster_id = 1") == "10.39.84.131 10.39.84.134 10.39.84.135"
    assert "10.39.84.135/32" in lo(2)
    removed = conn.remove_ips(1, ("10.39.84.135",))
    assert removed.exit_code == 0
    assert stack.sql("select count(*) from h2e_cluster_ips where cluster_id = 1") == "2"
    assert "10.39.84.135/32" not in lo(2)
    # no_update: the database only; the hosts wait for the next update.
    later = conn.add_ips(1, ["10.39.84.133"], no_update=True)
    assert later.update is None and later.notes and later.exit_code == 0
    assert later.json()["done"] == [later.what]
    assert stack.sql("select count(*) from h2e_cluster_ips where address = '10.39.84.133'") == "1"
    assert "10.39.84.133/32" not in lo(2)
    assert "add 10.39.84.133/32 to lo" in \
        next(h for h in conn.plan(1).hosts if h.host == f"web {WEB_43}").changes


def test_server_hooks_change_the_database_and_the_hosts(conn, stack):
    conn.update(1)
    weight = conn.set_server(1, 44, weight=10)
    assert weight.exit_code == 0 and "weight=10" in weight.what
    assert {h.role for h in weight.update.hosts} == {"lb"}  # set_server updates the LBs only
    assert stack.sql("select weight from apache_h2e_nodes where node_id = 44") == "10"
    assert [(d["address"], d["weight"]) for d in agent_input()["services"][0]["destinations"]] \
        == [("10.39.84.43", 32), ("10.39.84.44", 10)]
    inactive = conn.set_server(1, 43, active=False)
    assert inactive.exit_code == 0
    assert stack.sql("select active, weight from apache_h2e_nodes where node_id = 43") == "f|32"
    added = conn.add_server(1, 46, "10.39.84.46", SPARE, weight=5)
    assert added.exit_code == 0, added.update.errors
    assert stack.sql("select cluster_id, host(mgmt_address), weight from apache_h2e_nodes "
                     "where node_id = 46") == f"1|{SPARE}|5"
    assert lo(4) == ["10.39.84.131/32"]
    assert not conn.plan(1).pending


def test_servers_are_the_databases(conn):
    servers = conn.servers(1)
    assert [(s.node_id, s.address, s.address_v6, s.mgmt_address, s.ssh_port, s.weight, s.active)
            for s in servers] == [(43, "10.39.84.43", None, WEB_43, 22, 32, True),
                                  (44, "10.39.84.44", None, WEB_44, 22, 32, True)]
    assert servers[0].to_dict()["node_id"] == 43
    with pytest.raises(lvsctl.Error) as e:
        conn.servers(999)
    assert e.value.exit_code == 65


def test_remove_server_drains_then_deletes_then_cleans_its_lo(conn, stack):
    assert conn.add_server(1, 46, "10.39.84.46", SPARE).exit_code == 0
    assert lo(4) == ["10.39.84.131/32"]
    removed = conn.remove_server(1, 46, drain_timeout=5)
    assert removed.exit_code == 0, (removed.update and removed.update.errors, removed.cleanup)
    assert removed.removed is not None and "46" in removed.removed
    assert removed.cleanup is not None and removed.cleanup.exit_code == 0
    assert stack.sql("select count(*) from apache_h2e_nodes where node_id = 46") == "0"
    assert lo(4) == []
    assert "10.39.84.46" not in [d["address"] for d in agent_input()["services"][0]["destinations"]]
    assert [s.node_id for s in conn.servers(1)] == [43, 44]
    with pytest.raises(lvsctl.Error) as e:
        conn.remove_server(1, 99)
    cli = stack.lvsctl("server", "remove", "--cluster-id=1", "--node-id=99")
    assert e.value.exit_code == cli.returncode == 65


def test_update_all_and_plan_all(stack):
    done = []
    c = lvsctl.connect(config=stack.config)
    plan = c.plan_all(detailed_exitcode=True, done=done.append)
    assert [(r.cluster_id, r.cluster_name, r.pending) for r in plan.clusters] == \
        [(1, "Web-Cluster", True), (2, "Shop", True)]
    assert done == plan.clusters  # told in order, as each finished
    assert plan.exit_code == 2 and lo(2) == []
    update = c.update_all()
    assert update.exit_code == 0, update.summary
    assert [r.status for r in update.clusters] == ["converged", "converged"]
    assert all(r.changed and r.changes > 0 and r.json()["changed"] for r in update.clusters)
    assert update.summary.startswith("2 clusters") and update.json()
    assert lo(2) == ["10.39.84.131/32"] and lo(3) == ["10.39.84.131/32", "10.39.84.132/32"]
    cli = stack.lvsctl("plan", "--all", "--detailed-exitcode")
    assert cli.returncode == 0, cli.stdout + cli.stderr
    # A cluster another session holds is skipped, not waited for.
    holder = LockHolder(stack, 1)
    try:
        start = time.monotonic()
        skipped = c.update_all()
    finally:
        holder.release()
    assert [(r.cluster_id, r.skipped) for r in skipped.clusters] == [(1, True), (2, False)]
    assert skipped.clusters[0].status == "skipped" and time.monotonic() - start < 30


def lvscf(cluster):
    """tests/golden/seed-lvs.cf made another cluster's: its own mark, name and addresses."""
    seed = (SOURCE / "tests" / "golden" / "seed-lvs.cf").read_text()
    return seed.replace("fwmark = 100", f"fwmark = {100 + cluster}") \
        .replace("Web-Cluster-v4", f"Imported-{cluster}").replace("10.39.84.", f"10.39.{80 + cluster}.")


def test_import_config_and_its_warnings(conn):
    warnings = []
    text = lvscf(3)
    imported = conn.import_config(3, text, source="seed-lvs.cf", no_update=True,
                                  warning=warnings.append)
    assert "apache_h2e_nodes node_id=" in imported.what and imported.update is None
    assert warnings == []
    assert 3 in [c.id for c in conn.clusters()]
    rendered = conn.render(3).content
    assert [line for line in rendered.splitlines() if not line.startswith("serial_no")] == \
        text.splitlines()
    # A virtual block not closed: a warning, told before anything is written.
    imported = conn.import_config(4, lvscf(4).rstrip().rstrip("}"), no_update=True,
                                  warning=warnings.append)
    assert len(warnings) == 1 and "is not closed before the end of the file" in warnings[0]
    with pytest.raises(lvsctl.Error) as e:
        conn.import_config(6, lvscf(6), format="nginx")
    assert e.value.exit_code == 64


def test_a_callback_that_raises_is_raised_after_the_call(conn):
    calls = []

    def warning(text):
        calls.append(text)
        raise KeyError("refused")

    with pytest.raises(KeyError, match="refused"):
        conn.import_config(5, lvscf(5).rstrip().rstrip("}"), no_update=True, warning=warning)
    assert len(calls) == 1
    # The call was not interrupted (lvsctl never sees the exception): the cluster is written.
    assert 5 in [c.id for c in conn.clusters()]


# --- errors -----------------------------------------------------------------------------------

def test_unreachable_database_is_69_as_for_the_program(stack):
    c = lvsctl.connect(config=stack.config, db="host=/nonexistent user=nobody")
    with pytest.raises(lvsctl.Error) as e:
        c.clusters()
    assert e.value.exit_code == lvsctl.ExitCode.DB_UNAVAILABLE == 69
    assert isinstance(e.value, Exception) and str(e.value) == e.value.message != ""
    cli = stack.lvsctl("--db=host=/nonexistent user=nobody", "plan", "--cluster-id=1")
    assert cli.returncode == 69


def test_unknown_cluster_is_the_programs_code_and_message(conn, stack):
    with pytest.raises(lvsctl.Error) as e:
        conn.plan(999)
    cli = stack.lvsctl("plan", "--cluster-id=999")
    assert e.value.exit_code == cli.returncode == 65
    assert cli.stderr == f"lvsctl: {e.value}\n"
    for call in (lambda: conn.update(999), lambda: conn.render(999), lambda: conn.status(999)):
        with pytest.raises(lvsctl.Error) as e:
            call()
        assert e.value.exit_code == 65


def test_bad_addresses_formats_and_layouts_are_64_and_write_nothing(conn, stack):
    for call in (lambda: conn.add_ips(1, ["10.39.84.300"]),
                 lambda: conn.add_server(1, 47, "2001:db8::47", SPARE),
                 lambda: conn.add_server(1, 47, "10.39.84.47", SPARE, address_v6="10.39.84.48"),
                 lambda: conn.render(1, "nginx"),
                 lambda: conn.status(1, "bogus")):
        with pytest.raises(lvsctl.Error) as e:
            call()
        assert e.value.exit_code == lvsctl.ExitCode.USAGE == 64, e.value
    assert stack.sql("select count(*) from h2e_cluster_ips where cluster_id = 1") == "1"
    assert stack.sql("select count(*) from apache_h2e_nodes where node_id = 47") == "0"
    cli = stack.lvsctl("ip", "add", "--cluster-id=1", "10.39.84.300")
    assert cli.returncode == 64


def test_an_invalid_change_is_65_and_writes_nothing(conn, stack):
    with pytest.raises(lvsctl.Error) as e:
        conn.set_server(1, 99, weight=1)  # not in the cluster
    assert e.value.exit_code == 65
    with pytest.raises(lvsctl.Error) as e:
        conn.add_server(1, 44, "10.39.84.49", SPARE)  # node_id taken
    assert e.value.exit_code == 65


def test_a_bad_config_file_is_78(tmp_path):
    bad = tmp_path / "bad.conf"
    bad.write_text("no-such-key = 1\n")
    with pytest.raises(lvsctl.Error) as e:
        lvsctl.load_options(str(bad))
    assert e.value.exit_code == 78
    with pytest.raises(lvsctl.Error) as e:
        lvsctl.connect(config=str(tmp_path / "missing.conf"))
    assert e.value.exit_code == 78


class LockHolder:
    """Another session holding cluster `cluster`'s advisory lock (db/database.cpp: 19542, id) in
    the test's database."""

    def __init__(self, stack, cluster=1):
        self.stack = stack
        self.held = ("from pg_locks where locktype = 'advisory' and granted and classid = 19542 "
                     f"and objid = {cluster} and database = "
                     "(select oid from pg_database where datname = current_database())")
        self.process = subprocess.Popen(
            ["psql", "-q", "-X", "-d", stack.name, "-c", f"select pg_advisory_lock(19542, {cluster})",
             "-c", "select pg_sleep(120)"], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while stack.sql(f"select count(*) {self.held}") != "1":
            assert time.monotonic() < deadline, "psql did not take the lock"
            time.sleep(0.05)

    def release(self):
        # The server does not notice a killed psql while its backend sleeps: end the backend.
        self.stack.sql(f"select pg_terminate_backend(pid) {self.held}")
        self.process.wait(timeout=30)


class Ticker:
    """A Python thread counting while the test's main thread is in a call."""

    def __init__(self):
        self.ticks = 0
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while self.running:
            self.ticks += 1
            time.sleep(0.01)

    def stop(self):
        self.running = False
        self.thread.join()


def test_a_lock_held_by_another_session_is_75_and_the_gil_is_released(stack):
    holder = LockHolder(stack)
    try:
        c = lvsctl.connect(config=stack.config, lock_timeout=2)
        for call in (lambda: c.update(1), lambda: c.set_server(1, 44, weight=1)):
            ticker = Ticker()
            start = time.monotonic()
            with pytest.raises(lvsctl.Error) as e:
                call()
            took = time.monotonic() - start
            ticks_during = ticker.ticks
            ticker.stop()
            assert e.value.exit_code == lvsctl.ExitCode.LOCK_BUSY == 75, e.value
            assert took >= 1.9
            # The other thread ran all along the 2 s wait: the GIL was released.
            assert ticks_during >= 50, ticks_during
        # plan takes no lock.
        assert c.plan(1).pending
    finally:
        holder.release()
    assert stack.sql("select weight from apache_h2e_nodes where node_id = 44") == "32"


# --- progress and threads ---------------------------------------------------------------------

def test_progress_comes_from_the_worker_threads(stack):
    events = []
    lock = threading.Lock()

    def progress(event):
        with lock:
            events.append((event, threading.get_ident()))

    main = threading.get_ident()
    c = lvsctl.connect(config=stack.config, progress=progress)
    # A slow LB: the run lasts, the callbacks come while the main thread waits in the call.
    (host_dir(1) / "apply-delay").write_text("1")
    ticker = Ticker()
    update = c.update(1)
    ticker.stop()
    assert update.exit_code == 0
    kinds = [e.kind for e, _ in events]
    assert kinds[0] == "begin" and kinds[-1] == "end" and kinds.count("end") == 1
    # Each phase: a begin with its number of hosts, then that many done.
    phases, i, workers = [], 0, set()
    while kinds[i] == "begin":
        begin = events[i][0]
        assert begin.phase != "" and begin.total > 0
        done = events[i + 1:i + 1 + begin.total]
        assert [e.kind for e, _ in done] == ["done"] * begin.total, kinds
        if begin.total > 1:  # several hosts: one worker thread each (lvsctl/fanout.h)
            workers |= {t for _, t in done}
        phases.append(begin.phase)
        i += 1 + begin.total
    assert kinds[i:] == ["end"] and len(phases) >= 2, phases
    assert not any(e.failed for e, _ in events)
    assert workers and main not in workers  # done: from lvsctl's threads, not the caller's
    assert ticker.ticks >= 50  # the main thread's Python peer ran during the call


def test_a_progress_callback_that_raises_does_not_stop_the_run(stack):
    calls = []
    failing = [True]

    def progress(event):
        calls.append(event)
        if event.kind == "done" and failing[0]:
            raise ValueError("the callback failed")

    c = lvsctl.connect(config=stack.config, progress=progress)
    with pytest.raises(ValueError, match="the callback failed"):
        c.update(1)
    assert [e.kind for e in calls] == ["begin", "done"]  # not called again after it raised
    # The run went on to the end: the cluster converged; the next call is clean.
    assert lo(2) == ["10.39.84.131/32"]
    # The next call is clean: the error was this call's; the callback is called again.
    calls.clear()
    failing[0] = False
    assert not c.plan(1).pending
    assert [e.kind for e in calls][-1] == "end" and "done" in [e.kind for e in calls]


def test_one_connection_shared_by_threads_and_connections_in_parallel(stack):
    shared = lvsctl.connect(config=stack.config)
    own = [lvsctl.connect(config=stack.config) for _ in range(2)]
    results, errors = [], []

    def work(c, cluster):
        try:
            results.append(c.plan(cluster).cluster_id)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(c, n))
               for c, n in ((shared, 1), (shared, 2), (own[0], 1), (own[1], 2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and sorted(results) == [1, 1, 2, 2]


def test_a_closed_connection_refuses_calls(stack):
    c = lvsctl.connect(config=stack.config)
    assert c.clusters()
    c.close()
    with pytest.raises(ValueError, match="closed"):
        c.clusters()
