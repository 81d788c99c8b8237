"""Fixtures of the Python module's tests (tests/python/python_test.sh runs them): a template
database made once (the schema by the installed lvsctl's `db migrate`, tests/db/seed.sql with its
hosts made the sshd hosts, and a second cluster), then per test a fresh copy of it, the sshd
hosts reset to nothing lvsctl did, and a config file naming both.

Environment: what tests/db/with-postgres and tests/ssh/sshd-hosts export, and LVSCTL_TEST_PREFIX
(the scratch prefix the program and the package are installed in), LVSCTL_TEST_SOURCE."""

import faulthandler
import itertools
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

PREFIX = pathlib.Path(os.environ.get("LVSCTL_TEST_PREFIX", "/nonexistent"))
SOURCE = pathlib.Path(os.environ.get("LVSCTL_TEST_SOURCE",
                                     pathlib.Path(__file__).resolve().parents[2]))
LVSCTL = PREFIX / "bin" / "lvsctl"
TEMPLATE_DB = "lvsctl_python_template"
LB, WEB_43, WEB_44, SPARE = "10.200.1.1", "10.200.1.2", "10.200.1.3", "10.200.1.4"



@pytest.fixture(autouse=True)
def no_hang():
    """A deadlock between the GIL and lvsctl's worker threads would hang the run: a test that
    takes 120 s dumps every thread's stack and ends the process (faulthandler's watchdog needs no
    GIL), well within ctest's 600 s. The stacks go to LVSCTL_TEST_HANG_LOG, which
    python_test.sh prints (pytest's capture of stderr would lose them with the process)."""
    path = os.environ.get("LVSCTL_TEST_HANG_LOG")
    with open(path, "w") if path else open(os.devnull, "w") as log:
        faulthandler.dump_traceback_later(120, exit=True, file=log if path else sys.stderr)
        yield
        faulthandler.cancel_dump_traceback_later()


def pytest_configure(config):
    missing = [v for v in ("PGHOST", "LVSCTL_TEST_SSH_DIR", "LVSCTL_TEST_PREFIX")
               if v not in os.environ]
    if missing:
        pytest.exit(f"run by tests/python/python_test.sh (no {', '.join(missing)})", 2)


def sql(database, query):
    """psql's unaligned, tuples-only answer to `query`, stripped."""
    return subprocess.run(["psql", "-q", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d",
                           database, "-c", query],
                          check=True, capture_output=True, text=True).stdout.strip()


def ssh_dir():
    return pathlib.Path(os.environ["LVSCTL_TEST_SSH_DIR"])


def host_dir(i):
    """Host i's /var/lib/lvsctl, as the management side sees it."""
    return ssh_dir() / f"host{i}" / "lvsctl"


def ctl(*args):
    return subprocess.run([os.environ["LVSCTL_TEST_SSH_CTL"], *map(str, args)], check=True,
                          capture_output=True, text=True).stdout


def lo(i):
    """Host i's global addresses on lo, sorted."""
    out = ctl("exec", i, "ip", "-o", "addr", "show", "dev", "lo", "scope", "global")
    return sorted(line.split()[3] for line in out.splitlines())


def agent_input(cluster=1):
    """What the LB's stand-in agent was last given for `cluster`."""
    return json.loads((host_dir(1) / f"agent-input-cluster-{cluster}.json").read_text())


@pytest.fixture(scope="session")
def template_db():
    agent = ssh_dir() / "agent"
    shutil.copy(SOURCE / "tests" / "ssh" / "stand-in-agent", agent)
    agent.chmod(0o755)
    sql("postgres", f"create database {TEMPLATE_DB}")
    conninfo = f"host={os.environ['PGHOST']} user=lvsctl dbname={TEMPLATE_DB}"
    subprocess.run([LVSCTL, "--config=/dev/null", "db", "migrate"], check=True,
                   capture_output=True, env=dict(os.environ, LVSCTL_DB=conninfo))
    seed = (SOURCE / "tests" / "db" / "seed.sql").read_text()
    # The seed's hosts are the sshd hosts; a second cluster shares its LB (examples_test.sh's).
    sql(TEMPLATE_DB, seed + f"""
        update h2e_load_balancers set mgmt_address = '{LB}';
        update apache_h2e_nodes set mgmt_address = '{WEB_43}' where node_id = 43;
        update apache_h2e_nodes set mgmt_address = '{WEB_44}' where node_id = 44;
        insert into h2e_clusters (cluster_id, name, ports, fwmark) values (2, 'Shop', '{{443}}', 102);
        insert into h2e_load_balancers (cluster_id, role, mgmt_address) values (2, 'primary', '{LB}');
        insert into apache_h2e_nodes (node_id, cluster_id, mgmt_address, address, weight)
            values (45, 2, '{WEB_44}', '10.39.84.45', 10);
        insert into h2e_cluster_ips (cluster_id, address) values (2, '10.39.84.132');""")
    return TEMPLATE_DB


class Stack:
    """One test's database (a copy of the template) and config file."""

    def __init__(self, name, config):
        self.name = name
        self.conninfo = f"host={os.environ['PGHOST']} user=lvsctl dbname={name}"
        self.config = config

    def sql(self, query):
        return sql(self.name, query)

    def lvsctl(self, *args):
        """The installed program with the test's config: a CompletedProcess (text)."""
        return subprocess.run([LVSCTL, f"--config={self.config}", *map(str, args)],
                              capture_output=True, text=True, env=_without_lvsctl_db())


def _without_lvsctl_db():
    env = dict(os.environ)
    env.pop("LVSCTL_DB", None)
    return env


_numbers = itertools.count(1)


@pytest.fixture
def stack(template_db, tmp_path, monkeypatch):
    """A fresh database and hosts as sshd-hosts made them: no agent state, no lvsctl records,
    nothing on lo."""
    monkeypatch.delenv("LVSCTL_DB", raising=False)
    name = f"lvsctl_python_{next(_numbers)}"
    sql("postgres", f"create database {name} template {template_db}")
    for i in range(1, 5):
        for f in host_dir(i).iterdir():
            f.unlink()
        ctl("exec", i, "ip", "addr", "flush", "dev", "lo", "scope", "global")
    config = tmp_path / "lvsctl.conf"
    d = ssh_dir()
    config.write_text(f"""db = "host={os.environ['PGHOST']} user=lvsctl dbname={name}"
known-hosts = {os.environ['LVSCTL_TEST_SSH_KNOWN_HOSTS']}
ssh-identity = {os.environ['LVSCTL_TEST_SSH_IDENTITY']}
agent = {d / 'agent'}
templates = {PREFIX / 'share' / 'lvsctl' / 'templates'}
timeout = 5
""")
    return Stack(name, str(config))


@pytest.fixture
def conn(stack):
    import lvsctl
    with lvsctl.connect(config=stack.config) as c:
        yield c
