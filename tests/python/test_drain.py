"""examples/drain-cluster.py against PostgreSQL and sshd hosts: each web server drained in turn
(weight 0 on the LB while --run runs), restored or left drained, waiting for the LB's active
connections (the stand-in agent's active-conns file) and giving up after --timeout, and lvsctl's
errors as exit codes."""

import json
import subprocess
import sys
import time

import pytest

from conftest import SOURCE, agent_input, host_dir
from test_lvsctl import LockHolder

import lvsctl

SCRIPT = SOURCE / "examples" / "drain-cluster.py"


def drain(stack, *args, **kwargs):
    return subprocess.run([sys.executable, SCRIPT, f"--config={stack.config}", *map(str, args)],
                          capture_output=True, text=True, timeout=120, **kwargs)


def weights(stack):
    return stack.sql("select string_agg(node_id || '=' || weight, ' ' order by node_id) "
                     "from apache_h2e_nodes where cluster_id = 1")


def lb_weights():
    return {d["address"]: d["weight"] for d in agent_input()["services"][0]["destinations"]}


@pytest.fixture
def converged(stack, conn):
    assert conn.update(1).exit_code == 0
    return stack


def test_help_and_usage_errors():
    out = subprocess.run([sys.executable, SCRIPT, "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--cluster-id" in out.stdout and "Exit codes" in out.stdout
    out = subprocess.run([sys.executable, SCRIPT], capture_output=True, text=True)
    assert out.returncode == 64 and "--cluster-id" in out.stderr
    out = subprocess.run([sys.executable, SCRIPT, "--cluster-id=1", "--interval=0"],
                         capture_output=True, text=True)
    assert out.returncode == 64


def test_each_server_is_drained_in_turn_then_restored(converged, tmp_path):
    # --run records, for the server it runs for, the database's and the LB's weights.
    record = (f"psql -X -A -t -d {converged.name} -c 'select string_agg(node_id || chr(61) || "
              f"weight, chr(32) order by node_id) from apache_h2e_nodes where cluster_id = 1' "
              f"> {tmp_path}/db-$LVSCTL_NODE_ID && "
              f"cp {host_dir(1)}/agent-input-cluster-1.json {tmp_path}/lb-$LVSCTL_NODE_ID.json && "
              f"echo $LVSCTL_CLUSTER_ID $LVSCTL_ADDRESS $LVSCTL_MGMT_ADDRESS >> {tmp_path}/order")
    out = drain(converged, "--cluster-id=1", "--interval=0.2", "--timeout=10", f"--run={record}")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "order").read_text().splitlines() == \
        ["1 10.39.84.43 10.200.1.2", "1 10.39.84.44 10.200.1.3"]
    assert (tmp_path / "db-43").read_text().strip() == "43=0 44=32"
    assert (tmp_path / "db-44").read_text().strip() == "43=32 44=0"

    def lb(node):
        doc = json.loads((tmp_path / f"lb-{node}.json").read_text())
        return {d["address"]: d["weight"] for d in doc["services"][0]["destinations"]}
    assert lb(43) == {"10.39.84.43": 0, "10.39.84.44": 32}
    assert lb(44) == {"10.39.84.43": 32, "10.39.84.44": 0}
    assert weights(converged) == "43=32 44=32"
    assert lb_weights() == {"10.39.84.43": 32, "10.39.84.44": 32}
    for line in ("node 43 (10.39.84.43): weight 32 -> 0", "node 43: no active connection after",
                 "node 43: weight 0 -> 32", "node 44: weight 0 -> 32"):
        assert line in out.stdout


def test_leave_drained_and_one_node(converged):
    out = drain(converged, "--cluster-id=1", "--node-id=44", "--leave-drained", "--interval=0.2")
    assert out.returncode == 0, out.stderr
    assert weights(converged) == "43=32 44=0"
    assert lb_weights() == {"10.39.84.43": 32, "10.39.84.44": 0}
    assert "node 44: left at weight 0" in out.stdout and "node 43" not in out.stdout
    # Drained already: skipped the next time.
    out = drain(converged, "--cluster-id=1", "--node-id=44", "--interval=0.2")
    assert out.returncode == 0 and "out of service already, skipped" in out.stdout


def test_connections_that_do_not_end_stop_it_after_the_timeout(converged):
    (host_dir(1) / "active-conns").write_text(json.dumps({"10.39.84.43": 3}))
    start = time.monotonic()
    out = drain(converged, "--cluster-id=1", "--timeout=1", "--interval=0.2", "--run=false")
    assert out.returncode == 3, out.stderr
    assert time.monotonic() - start >= 1
    assert "node 43: still 3 active connection(s) after 1 s; its weight is 32 again" in out.stderr
    assert "waiting, 3 active connection(s)" in out.stdout
    assert "node 44" not in out.stdout  # it stopped there
    assert weights(converged) == "43=32 44=32" and lb_weights()["10.39.84.43"] == 32


def test_it_waits_until_the_connections_end(converged):
    active = host_dir(1) / "active-conns"
    active.write_text(json.dumps({"10.39.84.44": 2}))
    process = subprocess.Popen(
        [sys.executable, SCRIPT, f"--config={converged.config}", "--cluster-id=1",
         "--timeout=60", "--interval=0.2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "node 44: waiting, 2 active connection(s)" in line:
            active.unlink()  # the clients went away
            break
    rest, err = process.communicate(timeout=60)
    output = "".join(lines) + rest
    assert process.returncode == 0, err
    assert "node 44: no active connection after" in output
    assert weights(converged) == "43=32 44=32"


def test_a_failing_command_leaves_its_server_drained(converged):
    out = drain(converged, "--cluster-id=1", "--interval=0.2", "--run=exit 7")
    assert out.returncode == 1
    assert "node 43: --run exited 7; the server stays at weight 0" in out.stderr
    assert weights(converged) == "43=0 44=32"


def test_lvsctl_errors_are_its_exit_codes(converged, tmp_path):
    out = drain(converged, "--cluster-id=999")
    assert out.returncode == 65 and out.stderr.startswith("drain-cluster: ")
    out = drain(converged, "--cluster-id=1", "--node-id=99")
    assert out.returncode == 65 and "no server with node_id 99" in out.stderr
    out = drain(converged, "--cluster-id=1",
                env={"LVSCTL_DB": "host=/nonexistent user=nobody", "PATH": "/usr/bin:/bin",
                     "PYTHONPATH": ":".join(sys.path)})
    assert out.returncode == 69, out.stderr
    bad = tmp_path / "bad.conf"
    bad.write_text("no-such-key = 1\n")
    out = subprocess.run([sys.executable, SCRIPT, f"--config={bad}", "--cluster-id=1"],
                         capture_output=True, text=True)
    assert out.returncode == 78
    holder = LockHolder(converged)
    try:
        out = drain(converged, "--cluster-id=1", "--lock-timeout=1")
    finally:
        holder.release()
    assert out.returncode == lvsctl.ExitCode.LOCK_BUSY, out.stderr
    assert weights(converged) == "43=32 44=32"
