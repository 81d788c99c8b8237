#!/bin/bash
# `lvsctl update` end to end on a real kernel with IPVS (run inside user-mode Linux, under
# tests/db/with-postgres and tests/ssh/sshd-hosts 4): the seed article's cluster in a real
# PostgreSQL; host 1 is the LB (the real agent, over SSH), hosts 2 and 3 the web servers (each an
# sshd and an HTTP server answering with X-SERVER), host 4 a server a hook adds; this script runs
# in the management namespace, which is also the client.
set -uo pipefail
lvsctl=$(readlink -f "$1")
here=$(cd "$(dirname "$0")" && pwd)
ctl=$LVSCTL_TEST_SSH_CTL
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib.sh"
vip=10.39.84.131
psql -q -X -v ON_ERROR_STOP=1 -d postgres -c 'create database lvsctl_e2e' || exit 1
export LVSCTL_DB="host=$PGHOST user=lvsctl dbname=lvsctl_e2e"
sql() { psql -q -X -A -t -v ON_ERROR_STOP=1 -d lvsctl_e2e -c "$1"; }
run() {
    out=$("$lvsctl" --known-hosts "$LVSCTL_TEST_SSH_KNOWN_HOSTS" --ssh-identity "$LVSCTL_TEST_SSH_IDENTITY" \
        --agent "$lvsctl" --timeout 60 "$@" 2>"$LVSCTL_TEST_SSH_DIR/err")
    rc=$?
    err=$(cat "$LVSCTL_TEST_SSH_DIR/err")
}
# The web servers' HTTP servers, each in its host's namespace, answering with its node id.
"$ctl" exec 2 setsid python3 "$here/../kernel/web_server.py" 43 </dev/null >/dev/null 2>&1 &
"$ctl" exec 3 setsid python3 "$here/../kernel/web_server.py" 44 </dev/null >/dev/null 2>&1 &
"$ctl" exec 4 setsid python3 "$here/../kernel/web_server.py" 45 </dev/null >/dev/null 2>&1 &
# The client reaches the website IP on the LAN (the LB answers ARP for it).
ip route add "$vip/32" dev eth0
get() { curl -s -m 10 -D - -o /dev/null "http://$vip/" | tr -d '\r' | awk -F': ' '$1 == "X-SERVER" {print $2}'; }
answers() { local seen="" i; for i in $(seq 1 "$1"); do seen+="$(get) "; done; echo "$seen"; }

"$lvsctl" db migrate >/dev/null || exit 1
# The seed article's cluster, on the test hosts: the LB's website IPs on its eth0.
psql -q -X -v ON_ERROR_STOP=1 -v vip="$vip" -d lvsctl_e2e -f "$here/seed_cluster.sql" || exit 1

run update --cluster-id 1
check "update from empty: exit 0 ($err)" test "$rc" = 0
check "ipvsadm -S -n is what the database implies" test "$("$ctl" exec 1 ipvsadm -S -n | sort | tr '\n' '|')" = \
    "-A -f 100 -s lblc|-a -f 100 -r 10.200.1.2:0 -g -w 32|-a -f 100 -r 10.200.1.3:0 -g -w 32|"
check "the website IP is on the LB's eth0 (/32) and the web servers' lo" test \
    "$("$ctl" exec 1 ip -o addr show dev eth0 | grep -c " $vip/32 ")|$("$ctl" exec 2 ip -o addr show dev lo | grep -c " $vip/32 ")|$("$ctl" exec 3 ip -o addr show dev lo | grep -c " $vip/32 ")" = "1|1|1"
seen=$(answers 20)
check "20 requests through IPVS, all answered by the cluster's servers ($seen)" test \
    "$(tr ' ' '\n' <<<"$seen" | grep -cE '^(43|44)$')" = 20
# lblc sends a website IP's connections to one server until it is loaded: round robin shows
# both. A scheduler change is one SET_SERVICE.
sql "update h2e_clusters set scheduler = 'rr' where cluster_id = 1"
run update --cluster-id 1
check "scheduler change: exit 0, ipvsadm shows rr" bash -c '[ "$1" = 0 ] && grep -q "^-A -f 100 -s rr$" <<<"$2"' _ "$rc" "$("$ctl" exec 1 ipvsadm -S -n)"
seen=$(answers 20)
check "both web servers answer ($seen)" bash -c 'grep -qw 43 <<<"$1" && grep -qw 44 <<<"$1"' _ "$seen"
run update --cluster-id 1
check "a second update: exit 0, nothing to do" bash -c '[ "$1" = 0 ] && [ "$(grep -c "nothing to do" <<<"$2")" = 3 ]' _ "$rc" "$out"
run status --cluster-id 1 --stats
check "status --stats counts the connections" bash -c '[ "$1" = 0 ] && grep -Eq "^FWM  100 +[0-9]" <<<"$2"' _ "$rc" "$out"

# The LB's monitor (docs/monitor.md): update and status say whether it runs; a dead web server
# leaves IPVS by itself and comes back; update does not fight it.
run update --cluster-id 1
check "update: the LB's monitor is not running yet" grep -q "^  monitor: NOT running: no health record" <<<"$out"
sql "update h2e_clusters set check_interval = 1, check_timeout = 1, check_reentry = 2 where cluster_id = 1"
run update --cluster-id 1
check "update with the new check settings: exit 0 ($err)" test "$rc" = 0
# With no options: it finds the cluster the agent left in host 1's /var/lib/lvsctl.
"$ctl" exec 1 setsid "$lvsctl" monitor </dev/null >"$LVSCTL_TEST_SSH_DIR/monitor.log" 2>&1 &
monitor_running() { run status --cluster-id 1; grep -q "^  monitor: running" <<<"$out"; }
wait_for 20 monitor_running
check "status: the monitor runs" monitor_running
"$ctl" exec 3 pkill -f "web_server.py 44"
gone_44() { [ "$("$ctl" exec 1 ipvsadm -S -n | grep -c 10.200.1.3)" = 0 ]; }
wait_for 10 gone_44
check "web server 44's HTTP server stopped: out of IPVS by itself" gone_44
run status --cluster-id 1
check "status names it down, with the check's error" bash -c 'grep -Eq "^  10\.200\.1\.3 +down +- +32  [0-9]+ s ago: connect: " <<<"$1" && grep -q "1 up, 1 down (10.200.1.3)" <<<"$1"' _ "$out"
run status --cluster-id 1 --json
check "status --json: its state and weights" python3 -c '
import json, sys
rs = {r["address"]: r for r in json.loads(sys.argv[1])["hosts"][0]["real_servers"]}
r = rs["10.200.1.3"]
sys.exit(not (r["state"] == "down" and r["weight"] is None and r["configured"] == 32))' "$out"
run update --cluster-id 1
check "update keeps it out and changes nothing (no fight with the monitor)" bash -c '[ "$1" = 0 ] && grep -q "^lb 10.200.1.1: nothing to do$" <<<"$2"' _ "$rc" "$out"
check "still out after update" gone_44
"$ctl" exec 3 setsid python3 "$here/../kernel/web_server.py" 44 </dev/null >/dev/null 2>&1 &
back_44() { "$ctl" exec 1 ipvsadm -S -n | grep -q '10.200.1.3:0 -g -w 1$'; }
wait_for 15 back_44
check "answering again: back after reentry with weight 32 >> 5 = 1" back_44
"$ctl" exec 1 pkill -f "lvsctl monitor"
check "the monitor logged both, as nanny does" bash -c 'grep -q "shutting down 10.200.1.3:80 due to connection failure" "$1" && grep -q "making 10.200.1.3:80 available" "$1"' _ "$LVSCTL_TEST_SSH_DIR/monitor.log"
# Stopped for good: its record would hold for another minute (docs/monitor.md); the rest of this
# test runs without a monitor.
"$ctl" exec 1 rm -f /var/lib/lvsctl/health-cluster-1.json
run update --cluster-id 1
check "without the monitor update restores the configured weight" bash -c '[ "$1" = 0 ] && "$2" exec 1 ipvsadm -S -n | grep -q "10.200.1.3:0 -g -w 32$"' _ "$rc" "$ctl"

# A web server down during update: exit 3, the new website IP kept off the LB; then converges.
"$ctl" stop 3 >/dev/null
sql "insert into h2e_cluster_ips (cluster_id, address) values (1, '10.39.84.132')"
run update --cluster-id 1
check "a web server down: exit 3, named ($err)" bash -c '[ "$1" = 3 ] && grep -q "web 10.200.1.3:" <<<"$2"' _ "$rc" "$err"
check "the new website IP is on the reachable web server, not on the LB" test \
    "$("$ctl" exec 2 ip -o addr show dev lo | grep -c ' 10.39.84.132/32 ')|$("$ctl" exec 1 ip -o addr show dev eth0 | grep -c ' 10.39.84.132/32 ')" = "1|0"
"$ctl" start 3 >/dev/null
run update --cluster-id 1
check "back up: exit 0, and the LB has it" test \
    "$rc|$("$ctl" exec 1 ip -o addr show dev eth0 | grep -c ' 10.39.84.132/32 ')|$("$ctl" exec 3 ip -o addr show dev lo | grep -c ' 10.39.84.132/32 ')" = "0|1|1"
sql "delete from h2e_cluster_ips where address = '10.39.84.132'"
run update --cluster-id 1
check "and it goes again" test "$rc|$("$ctl" exec 1 ip -o addr show dev eth0 | grep -c ' 10.39.84.132/32 ')" = "0|0"

# Bad rows: exit 65, no host touched.
before=$("$ctl" exec 1 ipvsadm -S -n)
sql "update apache_h2e_nodes set address = '2001:db8::43' where node_id = 43"
run update --cluster-id 1
check "a bad row: exit 65, named ($err)" bash -c '[ "$1" = 65 ] && grep -q "apache_h2e_nodes node_id=43" <<<"$2"' _ "$rc" "$err"
check "no host touched" test "$("$ctl" exec 1 ipvsadm -S -n)" = "$before"
sql "update apache_h2e_nodes set address = '10.200.1.2' where node_id = 43"

# A hook: weight 0 on 43 means new connections go to 44.
run server set --cluster-id 1 --node-id 43 --weight 0
check "server set --weight 0: exit 0" test "$rc" = 0
seen=$(answers 10)
check "then only 44 answers ($seen)" test "$(tr ' ' '\n' <<<"$seen" | sort -u | tr -d '\n')" = 44
# A hook adds host 4 as server 45: its lo first, then IPVS.
run server add --cluster-id 1 --node-id 45 --address 10.200.1.4 --mgmt-address 10.200.1.4 --weight 32
check "server add: exit 0" test "$rc" = 0
check "the new server is a destination, with the website IP on its lo" test \
    "$("$ctl" exec 1 ipvsadm -S -n | grep -c '10.200.1.4:0 -g -w 32')|$("$ctl" exec 4 ip -o addr show dev lo | grep -c " $vip/32 ")" = "1|1"
seen=$(answers 20)
check "44 and 45 answer, 43 (weight 0) not ($seen)" bash -c 'grep -qw 44 <<<"$1" && grep -qw 45 <<<"$1" && ! grep -qw 43 <<<"$1"' _ "$seen"

# A server removed while a client holds a connection: it completes; the server leaves after.
held=$LVSCTL_TEST_SSH_DIR/held.out
run server set --cluster-id 1 --node-id 44 --weight 0
run server set --cluster-id 1 --node-id 45 --weight 0
run server set --cluster-id 1 --node-id 43 --weight 32
sql "update apache_h2e_nodes set weight = 32 where node_id = 44"
run server set --cluster-id 1 --node-id 43 --weight 0   # only 44 takes new connections now
(curl -s -m 40 -D - "http://$vip/slow?s=6" >"$held" 2>&1) & holder=$!
active_44() { [ "$("$ctl" exec 1 ipvsadm -L -n | awk '$2 == "10.200.1.3:0" {print $5}')" = 1 ]; }
wait_for 20 active_44
check "a connection is held open on 44" active_44
run server remove --cluster-id 1 --node-id 44 --drain-timeout 30
check "server remove: exit 0 after the connection ended" test "$rc" = 0
wait "$holder"
check "the held connection completed, answered by 44" grep -q 'X-SERVER: 44' "$held"
check "44 left IPVS, the database, and its lo" test \
    "$("$ctl" exec 1 ipvsadm -S -n | grep -c 10.200.1.3)|$(sql 'select count(*) from apache_h2e_nodes where node_id = 44')|$("$ctl" exec 3 ip -o addr show dev lo | grep -c " $vip/32 ")" = "0|0|0"

# An IP removed: off the LB, then off lo.
run ip remove --cluster-id 1 "$vip"
check "ip remove: exit 0, gone from the LB and the web servers" test \
    "$rc|$("$ctl" exec 1 ip -o addr show dev eth0 | grep -c " $vip/32 ")|$("$ctl" exec 2 ip -o addr show dev lo | grep -c " $vip/32 ")" = "0|0|0"

finish
