#!/bin/bash
# The failover demo's guest part (`tools/demo --failover` runs it inside user-mode Linux, under
# tests/db/with-postgres and tests/ssh/sshd-hosts 4): a cluster with two LBs (hosts 1 and 2,
# the real agent and a real keepalived that lvsctl configures, docs/ha.md) and two web servers
# (hosts 3 and 4), this namespace as the client. Narrates: update starts VRRP, the primary is
# MASTER; a client holds a connection; the primary's keepalived is killed; the backup takes over
# and the held connection goes on; update brings the old primary back as BACKUP.
set -uo pipefail
lvsctl=$(readlink -f "$1")
here=$(cd "$(dirname "$0")" && pwd)
ctl=$LVSCTL_TEST_SSH_CTL
dir=$LVSCTL_TEST_SSH_DIR
vip=10.39.84.131
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() {
    printf '\033[1m$ %s\033[0m\n' "$*"
    "$@"
}
psql -q -X -v ON_ERROR_STOP=1 -d postgres -c 'create database lvsctl_demo' >/dev/null || exit 1
export LVSCTL_DB="host=$PGHOST user=lvsctl dbname=lvsctl_demo"
lvsctl() {
    "$lvsctl" --known-hosts "$LVSCTL_TEST_SSH_KNOWN_HOSTS" --ssh-identity "$LVSCTL_TEST_SSH_IDENTITY" \
        --agent "$lvsctl" --timeout 60 "$@"
}
source "$here/ha_lbs.sh"
wait_state() { local n=0; until is_state "$1" "$2" || ((n++ > 60)); do sleep 0.5; done; }
private_etc 1 2 || exit 1
"$ctl" exec 3 setsid python3 "$here/../kernel/web_server.py" 43 </dev/null >/dev/null 2>&1 &
"$ctl" exec 4 setsid python3 "$here/../kernel/web_server.py" 44 </dev/null >/dev/null 2>&1 &
ip route add "$vip/32" dev eth0
requests() {
    local i seen=""
    for i in $(seq 1 "$1"); do
        seen+="$(curl -s -m 5 -D - -o /dev/null "http://$vip/" | tr -d '\r' | awk -F': ' '$1 == "X-SERVER" {print $2}') "
    done
    echo "answered by: $seen"
}

say "A cluster with a primary and a backup LB; ha = vrrp is the default"
"$lvsctl" db migrate >/dev/null
psql -q -X -d lvsctl_demo -c "insert into h2e_clusters (cluster_id, name, ports, scheduler) values (1, 'Web-Cluster', '{80}', 'rr');
    insert into h2e_load_balancers (cluster_id, role, mgmt_address, vip_interface)
        values (1, 'primary', '10.200.1.1', 'eth0'), (1, 'backup', '10.200.1.2', 'eth0');
    insert into apache_h2e_nodes (node_id, cluster_id, mgmt_address, address)
        values (43, 1, '10.200.1.3', '10.200.1.3'), (44, 1, '10.200.1.4', '10.200.1.4');
    insert into h2e_cluster_ips values (1, '$vip');"
show psql -X -d lvsctl_demo -c "select cluster_id, name, backend, ha, vrrp_router_id, vrrp_advert_int from h2e_clusters"

say "update: IPVS and the marks on both LBs; keepalived.conf written, checked and started on both"
show lvsctl update --cluster-id=1
wait_state 1 MASTER
wait_state 2 BACKUP
say "The primary's keepalived.conf (VRRP only: IPVS stays the agent's)"
in_lb 1 cat /etc/keepalived/keepalived.conf
show lvsctl status --cluster-id=1
requests 6

say "A client opens a connection through the MASTER and keeps it (HTTP/1.1 keep-alive)"
mkfifo "$dir/go"
python3 - "$vip" "$dir/go" <<'PY' &
import socket, sys, time
s = socket.create_connection((sys.argv[1], 80), timeout=30)
def ask(when):
    s.sendall(b"GET / HTTP/1.1\r\nHost: demo\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data or not data.endswith(b"\n"):  # headers, and the body's line
        chunk = s.recv(4096)
        if not chunk:
            raise OSError("the connection was closed")
        data += chunk
    server = [l.split(b": ")[1].decode() for l in data.split(b"\r\n") if l.startswith(b"X-SERVER")]
    print(f"   held connection, {when}: answered by {server[0] if server else '?'}", flush=True)
ask("before the failover")
open(sys.argv[2]).read()
try:
    ask("after the failover")
except OSError as e:
    print(f"   held connection, after the failover: {e}", flush=True)
PY
holder=$!
sleep 3 # the sync daemon gives the backup its connections within 2 s
show "$ctl" exec 2 ipvsadm -L -n -c

say "The primary's keepalived dies (SIGKILL: no goodbye advert)"
start=$(date +%s.%N)
kill_keepalived 1
until has_vip 2; do sleep 0.2; done
printf '   the backup holds the website IP after %.1f s (3 x advert_int + skew = 3.6 s)\n' \
    "$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$start" "$(date +%s.%N)")"
wait_state 2 MASTER
echo go >"$dir/go"
wait "$holder"
requests 6
show lvsctl status --cluster-id=1 --stats

say "update during the failover starts the old primary's keepalived; with --vrrp-nopreempt it returns as BACKUP"
show lvsctl --vrrp-nopreempt update --cluster-id=1
wait_state 1 BACKUP
show lvsctl --vrrp-nopreempt status --cluster-id=1
for i in 1 2; do in_lb "$i" service keepalived stop; done
say "Done"
