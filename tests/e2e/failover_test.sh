#!/bin/bash
# High availability on a real kernel with IPVS (docs/ha.md), inside user-mode Linux under
# tests/db/with-postgres and tests/ssh/sshd-hosts 4: hosts 1 and 2 are the primary and the backup
# LB (the real agent, and a real keepalived that lvsctl configures), hosts 3 and 4 web servers;
# this script runs in the management namespace, which is also the client, all on one bridge.
#
#  1. update writes keepalived.conf on both LBs and starts keepalived; the primary becomes MASTER,
#     its sync daemon master, the backup's backup;
#  2. the primary's keepalived killed: the backup is MASTER within 3 x advert_int + skew, new
#     connections are answered, and a connection opened before keeps working (sync daemon);
#  3. update (now with --vrrp-nopreempt) during the failover converges both: the old primary
#     returns as BACKUP;
#  4. the MASTER's interface taken down: the other LB takes over; back up, it stays BACKUP;
#  5. ha = external: today's behaviour, the website IP on both LBs and keepalived left alone.
set -uo pipefail
lvsctl=$(readlink -f "$1")
here=$(cd "$(dirname "$0")" && pwd)
ctl=$LVSCTL_TEST_SSH_CTL
dir=$LVSCTL_TEST_SSH_DIR
source "$here/../lib.sh"
vip=10.39.84.131
advert=1
nopreempt= # --vrrp-nopreempt from step 3 on
psql -q -X -v ON_ERROR_STOP=1 -d postgres -c 'create database lvsctl_ha' || exit 1
export LVSCTL_DB="host=$PGHOST user=lvsctl dbname=lvsctl_ha"
sql() { psql -q -X -A -t -v ON_ERROR_STOP=1 -d lvsctl_ha -c "$1"; }
run() {
    out=$("$lvsctl" --known-hosts "$LVSCTL_TEST_SSH_KNOWN_HOSTS" --ssh-identity "$LVSCTL_TEST_SSH_IDENTITY" \
        --agent "$lvsctl" --timeout 60 $nopreempt "$@" 2>"$dir/err")
    rc=$?
    err=$(cat "$dir/err")
}
source "$here/ha_lbs.sh"
private_etc 1 2 || { echo "not ok - the LBs: a private /etc and the service stub"; exit 1; }
"$ctl" exec 3 setsid python3 "$here/../kernel/web_server.py" 43 </dev/null >/dev/null 2>&1 &
"$ctl" exec 4 setsid python3 "$here/../kernel/web_server.py" 44 </dev/null >/dev/null 2>&1 &
ip route add "$vip/32" dev eth0
get() { curl -s -m 5 -D - -o /dev/null "http://$vip/" | tr -d '\r' | awk -F': ' '$1 == "X-SERVER" {print $2}'; }
answers() { local seen="" i; for i in $(seq 1 "$1"); do seen+="$(get) "; done; echo "$seen"; }
all_served() { [ "$(tr ' ' '\n' <<<"$1" | grep -cE '^(43|44)$')" = "$2" ]; }

"$lvsctl" db migrate >/dev/null || exit 1
sql "insert into h2e_clusters (cluster_id, name, ports, scheduler, vrrp_advert_int)
         values (1, 'Web-Cluster', '{80}', 'rr', $advert);
     insert into h2e_load_balancers (cluster_id, role, mgmt_address, vip_interface)
         values (1, 'primary', '10.200.1.1', 'eth0'), (1, 'backup', '10.200.1.2', 'eth0');
     insert into apache_h2e_nodes (node_id, cluster_id, mgmt_address, address, weight)
         values (43, 1, '10.200.1.3', '10.200.1.3', 32), (44, 1, '10.200.1.4', '10.200.1.4', 32);
     insert into h2e_cluster_ips (cluster_id, address) values (1, '$vip');"
check "a new cluster is ha = vrrp" test "$(sql 'select ha from h2e_clusters where cluster_id = 1')" = vrrp

# --- 1. keepalived configured and started by update ---------------------------------------------
run plan --cluster-id 1
check "plan: keepalived.conf to write, keepalived to start ($err)" grep -q "write /etc/keepalived/keepalived.conf, check it (keepalived -t), then 'service' 'keepalived' 'start'" <<<"$out"
run update --cluster-id 1
check "update: exit 0 ($err)" test "$rc" = 0
check "keepalived.conf on both LBs, VRRP only, the website IP excluded from adverts only after the first" \
    bash -c 'for i in 1 2; do nsenter -t "$(cat "$1/host$i/sshd.pid")" -m -- grep -q "vrrp_instance lvsctl_1" /etc/keepalived/keepalived.conf || exit 1; done
        ! nsenter -t "$(cat "$1/host1/sshd.pid")" -m -- grep -q virtual_server /etc/keepalived/keepalived.conf' _ "$dir"
check "IPVS identical on both LBs" test "$("$ctl" exec 1 ipvsadm -S -n | sort)" = "$("$ctl" exec 2 ipvsadm -S -n | sort)"
wait_for 15 is_state 1 MASTER
check "the primary becomes MASTER" is_state 1 MASTER
wait_for 5 is_state 2 BACKUP
check "the backup is BACKUP" is_state 2 BACKUP
wait_for 5 has_vip 1
check "the website IP is on the MASTER's eth0 (keepalived put it there), not on the BACKUP's" \
    bash -c 'has_vip() { nsenter -t "$(cat "$1/host$2/sshd.pid")" -n -- ip -o addr show dev eth0 | grep -q " $3/32 "; }
        has_vip "$1" 1 "$2" && ! has_vip "$1" 2 "$2"' _ "$dir" "$vip"
run status --cluster-id 1
check "status: each LB's VRRP state and sync daemon ($out)" bash -c 'grep -Eq "^  vrrp: MASTER for [0-9]+ s \(priority 150\); sync daemon: master on eth0 \(id 1\)$" <<<"$1" &&
    grep -Eq "^  vrrp: BACKUP for [0-9]+ s \(priority 100\); sync daemon: backup on eth0 \(id 1\)$" <<<"$1"' _ "$out"
run update --cluster-id 1
check "a second update: exit 0, nothing to do on any host" bash -c '[ "$1" = 0 ] && [ "$(grep -c "nothing to do" <<<"$2")" = 4 ]' _ "$rc" "$out"
seen=$(answers 10)
check "10 requests through the MASTER, all answered ($seen)" all_served "$seen" 10

# --- 2. the primary's keepalived dies -----------------------------------------------------------
# A connection opened before the failover: one request now, one after (HTTP/1.1 keep-alive).
held=$dir/held
mkfifo "$held.go"
python3 - "$vip" "$held.go" >"$held.out" 2>&1 <<'PY' &
import socket, sys
s = socket.create_connection((sys.argv[1], 80), timeout=30)
def ask():
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data or not data.endswith(b"\n"):
        chunk = s.recv(4096)
        if not chunk:
            raise SystemExit("closed")
        data += chunk
    return [l.split(b": ")[1].decode() for l in data.split(b"\r\n") if l.startswith(b"X-SERVER")][0]
print("before", ask(), flush=True)
open(sys.argv[2]).read()
print("after", ask(), flush=True)
PY
holder=$!
wait_for 10 grep -q before "$held.out"
check "a connection is open through the primary ($(cat "$held.out"))" grep -q "^before 4[34]$" "$held.out"
# The primary's sync daemon sends it to the backup's (at most 2 s later: IPVS flushes its sync
# buffer that often).
synced() { "$ctl" exec 2 ipvsadm -L -n -c | grep -q "ESTABLISHED .*$vip:80"; }
wait_for 10 synced
check "the backup's IPVS knows the connection (sync daemon): $("$ctl" exec 2 ipvsadm -L -n -c | grep -c ESTABLISHED) established" synced
start=$(date +%s.%N)
kill_keepalived 1
wait_for 20 has_vip 2
took=$(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 2))" "$start" "$(date +%s.%N)")
limit=$(python3 -c "print($advert * 3 + (256 - 100) / 256 + 1.5)") # 3 x advert_int + skew, +1.5 s: polls of 0.5 s, each an nsenter in UML
echo "# the backup took over in $took s (limit $limit s)"
check "the backup is MASTER within 3 x advert_int + skew ($took s <= $limit s)" python3 -c "import sys; sys.exit(not $took <= $limit)"
check "its notify hook recorded MASTER" wait_for 5 is_state 2 MASTER
echo go >"$held.go"
wait "$holder"
check "the connection opened before the failover keeps working, on the same server ($(tr '\n' ' ' <"$held.out"))" \
    bash -c 'b=$(awk "/^before/ {print \$2}" "$1"); a=$(awk "/^after/ {print \$2}" "$1"); [ -n "$b" ] && [ "$a" = "$b" ]' _ "$held.out"
run status --cluster-id 1 --stats
check "status --stats on the new MASTER counts it: packets through the backup LB ($out)" python3 -c '
import re, sys
text = sys.argv[1].split("lb 10.200.1.2:")[1].split("lb 10.200.1.1")[0]
m = re.search(r"^FWM  100 +\d+ +(\d+)", text, re.M)
sys.exit(not (m and int(m.group(1)) > 0))' "$out"
seen=$(answers 10)
check "new connections are answered through the new MASTER ($seen)" all_served "$seen" 10

# --- 3. update during the failover converges both -----------------------------------------------
# Without nopreempt the primary would take over again as soon as it is back.
nopreempt=--vrrp-nopreempt
run update --cluster-id 1
check "update during the failover: exit 0 ($err)" test "$rc" = 0
check "it started the primary's keepalived again" grep -q "run 'service' 'keepalived' 'start'" <<<"$out"
wait_for 10 is_state 1 BACKUP
check "the old primary returns as BACKUP (nopreempt)" is_state 1 BACKUP
wait_for 5 bash -c '! nsenter -t "$(cat "$1/host1/sshd.pid")" -n -- ip -o addr show dev eth0 | grep -q " $2/32 "' _ "$dir" "$vip"
check "and lets the website IP go; the backup stays MASTER" bash -c '! nsenter -t "$(cat "$1/host1/sshd.pid")" -n -- ip -o addr show dev eth0 | grep -q " $2/32 " && nsenter -t "$(cat "$1/host2/sshd.pid")" -n -- ip -o addr show dev eth0 | grep -q " $2/32 "' _ "$dir" "$vip"
run update --cluster-id 1
check "then update: nothing to do" bash -c '[ "$1" = 0 ] && [ "$(grep -c "nothing to do" <<<"$2")" = 4 ]' _ "$rc" "$out"

# --- 4. the MASTER's interface goes down --------------------------------------------------------
start=$(date +%s.%N)
in_lb 2 ip link set eth0 down
wait_for 20 has_vip 1
took=$(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 2))" "$start" "$(date +%s.%N)")
echo "# the primary took over in $took s"
check "interface down: the other LB is MASTER within 3 x advert_int + skew ($took s)" python3 -c "import sys; sys.exit(not $took <= $(python3 -c "print($advert * 3 + (256 - 150) / 256 + 1.5)"))"
check "the LB without its interface is FAULT" wait_for 5 is_state 2 FAULT
seen=$(answers 10)
check "answered through the primary ($seen)" all_served "$seen" 10
in_lb 2 ip link set eth0 up
wait_for 15 is_state 2 BACKUP
check "its interface back, it returns as BACKUP" is_state 2 BACKUP
check "the primary stays MASTER" is_state 1 MASTER

# --- 5. ha = external: today's behaviour --------------------------------------------------------
for i in 1 2; do in_lb "$i" service keepalived stop; done
sql "update h2e_clusters set ha = 'external' where cluster_id = 1"
before=$(in_lb 1 cat /etc/keepalived/keepalived.conf)
run update --cluster-id 1
check "ha = external: exit 0 ($err)" test "$rc" = 0
check "the website IP on both LBs' eth0, placed by the agent" bash -c 'has_vip() { nsenter -t "$(cat "$1/host$2/sshd.pid")" -n -- ip -o addr show dev eth0 | grep -q " $3/32 "; }
    has_vip "$1" 1 "$2" && has_vip "$1" 2 "$2"' _ "$dir" "$vip"
check "keepalived.conf and keepalived left alone" bash -c '[ "$(nsenter -t "$(cat "$1/host1/sshd.pid")" -m -- cat /etc/keepalived/keepalived.conf)" = "$2" ] && ! grep -q "keepalived" <<<"$3"' _ "$dir" "$before" "$out"
check "IPVS still identical on both LBs" test "$("$ctl" exec 1 ipvsadm -S -n | sort)" = "$("$ctl" exec 2 ipvsadm -S -n | sort)"
run status --cluster-id 1
check "status shows no VRRP line" bash -c '[ "$1" = 0 ] && ! grep -q "vrrp:" <<<"$2"' _ "$rc" "$out"
seen=$(answers 5)
check "answered ($seen)" all_served "$seen" 5

for i in 1 2; do in_lb "$i" service keepalived stop 2>/dev/null; done
finish
