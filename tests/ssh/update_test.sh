#!/bin/bash
# `lvsctl update` and `plan` end to end, without a kernel with IPVS: a real PostgreSQL (run
# under tests/db/with-postgres), real sshd hosts (under tests/ssh/sshd-hosts 4: host 1 is the
# LB, with a stand-in agent; hosts 2 and 3 are the web servers; a hook adds and removes host 4).
# Checks the order, the exit codes, the hosts' state, the hooks, 20 hooks at once, the run log.
set -uo pipefail
lvsctl=$1
here=$(cd "$(dirname "$0")" && pwd)
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib.sh"
ctl=$LVSCTL_TEST_SSH_CTL
psql -q -X -v ON_ERROR_STOP=1 -d postgres -c 'create database lvsctl_update_test' || exit 1
export LVSCTL_DB="host=$PGHOST user=lvsctl dbname=lvsctl_update_test"
sql() { psql -q -X -A -t -v ON_ERROR_STOP=1 -d lvsctl_update_test -c "$1"; }
# The agent is a path on the hosts: the stand-in, copied where every host sees it.
cp "$here/stand-in-agent" "$LVSCTL_TEST_SSH_DIR/agent"
run() {  # run ARGS...: lvsctl with the test hosts' keys; sets out, err, rc
    out=$("$lvsctl" --known-hosts "$LVSCTL_TEST_SSH_KNOWN_HOSTS" --ssh-identity "$LVSCTL_TEST_SSH_IDENTITY" \
        --agent "$LVSCTL_TEST_SSH_DIR/agent" --timeout 5 "$@" 2>"$LVSCTL_TEST_SSH_DIR/err")
    rc=$?
    err=$(cat "$LVSCTL_TEST_SSH_DIR/err")
}
lo() { "$ctl" exec "$1" ip -o addr show dev lo scope global | awk '{print $4}' | sort | tr '\n' ' '; }
agent_input() { "$ctl" exec 1 cat /var/lib/lvsctl/agent-input.json; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

"$lvsctl" db migrate >/dev/null || exit 1
sql "insert into h2e_clusters (cluster_id, name, ports) values (1, 'Web-Cluster', '{80}');
     insert into h2e_load_balancers (cluster_id, role, mgmt_address) values (1, 'primary', '10.200.1.1');
     insert into apache_h2e_nodes (node_id, cluster_id, mgmt_address, address, weight)
         values (43, 1, '10.200.1.2', '10.39.84.43', 32), (44, 1, '10.200.1.3', '10.39.84.44', 32);
     insert into h2e_cluster_ips (cluster_id, address) values (1, '10.39.84.131');"

# --- plan: what would change, nothing changed ----------------------------------------------
run plan --cluster-id 1 --detailed-exitcode
check "plan --detailed-exitcode: exit 2 (changes pending)" test "$rc" = 2
check "plan names the web servers' new website IP" grep -q "+ add 10.39.84.131/32 to lo" <<<"$out"
check "plan names the LB's new service" grep -q "+ add service FWM 100" <<<"$out"
check "plan changed no host" test -z "$(lo 2)$(lo 3)"
check "plan ran no agent apply" bash -c "! '$ctl' exec 1 test -e /var/lib/lvsctl/agent-input.json"

# --- update from empty ------------------------------------------------------------------------
run update --cluster-id 1
check "update: exit 0 ($err)" test "$rc" = 0
check "web servers have the website IP on lo" test "$(lo 2)|$(lo 3)" = "10.39.84.131/32 |10.39.84.131/32 "
check "web servers' ARP sysctls" test "$("$ctl" exec 2 sysctl -n net.ipv4.conf.all.arp_ignore net.ipv4.conf.all.arp_announce | tr '\n' ' ')" = "1 2 "
check "the LB's agent got the website IP and both servers at weight 32" test \
    "$(agent_input | json '(d["website_ips"], [(x["address"], x["weight"]) for x in d["services"][0]["destinations"]], d["cluster"]["serial"])')" = \
    "(['10.39.84.131'], [('10.39.84.43', 32), ('10.39.84.44', 32)], 1)"

# --- a second update changes nothing -----------------------------------------------------------
run --json update --cluster-id 1
check "second update: exit 0" test "$rc" = 0
check "second update: nothing pending, nothing changed, no changing command" test \
    "$(json '(d["pending"], d["changed"], sum(h.get("changing_commands", 0) for h in d["hosts"]))' <<<"$out")" = "(False, False, 0)"
run plan --cluster-id 1 --detailed-exitcode
check "plan on a converged cluster: exit 0" test "$rc" = 0

# --- a weight changes: the LB gets it; the serial goes up -------------------------------------
sql "update apache_h2e_nodes set weight = 10 where node_id = 44"
run update --cluster-id 1
check "weight change: exit 0" test "$rc" = 0
check "weight change reached the agent, serial 2" test \
    "$(agent_input | json '([x["weight"] for x in d["services"][0]["destinations"]], d["cluster"]["serial"])')" = "([32, 10], 2)"

# --- a web server down: the other converges; the LB does not get the new website IP -------------
"$ctl" stop 3 >/dev/null
sql "insert into h2e_cluster_ips (cluster_id, address) values (1, '10.39.84.132')"
run update --cluster-id 1
check "a web server down: exit 3" test "$rc" = 3
check "the failure names the host" grep -q "web 10.200.1.3: ssh root@10.200.1.3:22: connect" <<<"$err"
check "the reachable web server got the new IP" test "$(lo 2)" = "10.39.84.131/32 10.39.84.132/32 "
check "the LB did not get the new IP while a web server lacks it" test \
    "$(agent_input | json 'd["website_ips"]')" = "['10.39.84.131']"
"$ctl" start 3 >/dev/null
run update --cluster-id 1
check "back up: exit 0" test "$rc" = 0
check "then every host converges" test \
    "$(lo 3)|$(agent_input | json 'd["website_ips"]')" = "10.39.84.131/32 10.39.84.132/32 |['10.39.84.131', '10.39.84.132']"

# --- an IP removed: it leaves the LB, then lo --------------------------------------------------
sql "delete from h2e_cluster_ips where address = '10.39.84.131'"
"$ctl" exec 1 touch /var/lib/lvsctl/fail-apply
run update --cluster-id 1
check "the LB fails: exit 3, the IP stays on lo" test "$rc|$(lo 2)" = "3|10.39.84.131/32 10.39.84.132/32 "
"$ctl" exec 1 rm /var/lib/lvsctl/fail-apply
run update --cluster-id 1
check "the LB lets it go: exit 0, and lo loses it" test "$rc|$(lo 2)|$(lo 3)" = "0|10.39.84.132/32 |10.39.84.132/32 "

# --- bad rows: exit 65, no host touched --------------------------------------------------------
sql "insert into h2e_cluster_ips (cluster_id, address) values (1, '2001:db8::1')"
before=$(lo 2)
run update --cluster-id 1
check "a v6 website IP without v6 servers: exit 65" test "$rc" = 65
check "the message names the row" grep -q "apache_h2e_nodes node_id=43: column address_v6" <<<"$err"
check "no host touched" test "$(lo 2)" = "$before"
check "the refused run is logged as invalid, with the reason" test \
    "$(sql "select result || ' ' || (report->>'exit_code') from lvsctl_runs order by run_id desc limit 1")" = "invalid 65"
sql "delete from h2e_cluster_ips where address = '2001:db8::1'"

# --- hooks: the database write, then update under the same lock ----------------------------------
run server set --cluster-id 1 --node-id 44 --weight 20
check "server set: exit 0, and the LB has the weight" test \
    "$rc|$(agent_input | json '[x["weight"] for x in d["services"][0]["destinations"]]')" = "0|[32, 20]"
check "server set prints the database change, then the run" bash -c 'grep -q "node_id=44: set weight=20" <<<"$1" && grep -q "^lb 10.200.1.1:" <<<"$1"' _ "$out"
check "server set converges the LBs only: no web server in its run, a note says so" bash -c \
    '! grep -q "^web " <<<"$1" && grep -q "^lvsctl: note: the LBs only: the web servers were neither read nor changed" <<<"$2"' _ "$out" "$err"
run ip add --no-update --cluster-id 1 10.39.84.134
run server set --cluster-id 1 --node-id 44 --weight 20
held="lvsctl: note: lb 10.200.1.1: held back until lvsctl update has checked the web servers: new website IP 10.39.84.134"
check "server set gives the LB no website IP pending from --no-update, and names it" test \
    "$rc|$(agent_input | json 'd["website_ips"]')|$(grep -cxF "$held" <<<"$err")" = "0|['10.39.84.132']|1"
sql "delete from h2e_cluster_ips where address = '10.39.84.134'"
run ip add --cluster-id 1 10.39.84.133
check "ip add: exit 0; on lo and on the LB" test \
    "$rc|$(lo 3)|$(agent_input | json 'd["website_ips"]')" = "0|10.39.84.132/32 10.39.84.133/32 |['10.39.84.132', '10.39.84.133']"
run server add --cluster-id 1 --node-id 45 --address 10.39.84.45 --mgmt-address 10.200.1.4 --weight 5
check "server add: exit 0; its lo first, then the LB" test \
    "$rc|$(lo 4)|$(agent_input | json '[x["address"] for x in d["services"][0]["destinations"]]')" = \
    "0|10.39.84.132/32 10.39.84.133/32 |['10.39.84.43', '10.39.84.44', '10.39.84.45']"
run server remove --cluster-id 1 --node-id 45 --drain-timeout 0
check "server remove: exit 0; out of IPVS, out of the database, lo cleaned" test \
    "$rc|$(agent_input | json '[x["address"] for x in d["services"][0]["destinations"]]')|$(sql "select count(*) from apache_h2e_nodes where node_id = 45")|$(lo 4)" = \
    "0|['10.39.84.43', '10.39.84.44']|0|"
run ip remove --cluster-id 1 10.39.84.133
check "ip remove: exit 0; off the LB and lo" test \
    "$rc|$(lo 2)|$(agent_input | json 'd["website_ips"]')" = "0|10.39.84.132/32 |['10.39.84.132']"

# --- 20 hooks at once: one at a time under the lock; the database and the hosts agree after ---
pids=()
for i in $(seq 1 20); do
    "$lvsctl" --known-hosts "$LVSCTL_TEST_SSH_KNOWN_HOSTS" --ssh-identity "$LVSCTL_TEST_SSH_IDENTITY" \
        --agent "$LVSCTL_TEST_SSH_DIR/agent" --timeout 5 ip add --cluster-id 1 "10.39.85.$i" \
        >/dev/null 2>"$LVSCTL_TEST_SSH_DIR/hook$i.err" &
    pids+=($!)
done
hook_failures=0
for pid in "${pids[@]}"; do wait "$pid" || hook_failures=$((hook_failures + 1)); done
check "20 concurrent hooks all succeed" test "$hook_failures" = 0
check "the database has all 20" test "$(sql "select count(*) from h2e_cluster_ips where host(address) like '10.39.85.%'")" = 20
run plan --cluster-id 1 --detailed-exitcode
check "then plan has nothing pending: the hosts agree with the database" test "$rc" = 0
check "every web server and the LB have all 21 website IPs" test \
    "$(lo 2 | wc -w)|$(lo 3 | wc -w)|$(agent_input | json 'len(d["website_ips"])')" = "21|21|21"

# --- the database goes away in the middle of a run --------------------------------------------
as_owner=()
[[ $(id -u) == 0 ]] && as_owner=(runuser -u postgres --)
"$ctl" exec 1 sh -c "cat > /var/lib/lvsctl/on-apply" <<<"${as_owner[*]} $LVSCTL_TEST_PG_BIN/pg_ctl -D $LVSCTL_TEST_PG_DATA -m immediate stop >/dev/null"
sql "update apache_h2e_nodes set weight = 7 where node_id = 43"
run update --cluster-id 1
check "the database gone mid-run: exit 69 ($rc: $(tail -c 600 <<<"$err"))" test "$rc" = 69
check "the message says the hosts are as shown and the run is not logged" grep -q "this run is not in lvsctl_runs" <<<"$err"
check "what was done before is shown" grep -q "^lb 10.200.1.1:" <<<"$out"
check "the LB got the change before the database went" test \
    "$(agent_input | json '[x["weight"] for x in d["services"][0]["destinations"]]')" = "[7, 20]"
"${as_owner[@]}" "$LVSCTL_TEST_PG_BIN/pg_ctl" -D "$LVSCTL_TEST_PG_DATA" -l "$PGHOST/server.log" -w -t 60 \
    -o "-k $PGHOST -c listen_addresses='' -c fsync=off -c max_connections=100" start >/dev/null
run --json update --cluster-id 1
check "the database back: the next run exits 0 and has nothing left to change" test \
    "$rc|$(json '(d["pending"], d["changed"])' <<<"$out")" = "0|(False, False)"

# --- status: the LB's table as ipvsadm -L -n, website IPs present and missing, drift --------------
run status --cluster-id 1
check "status: exit 0" test "$rc" = 0
check "status: the LB's table in ipvsadm's layout" bash -c 'grep -q "^Prot LocalAddress:Port Scheduler Flags$" <<<"$1" && grep -Eq "^  -> 10\.39\.84\.43:0 +Route +7 " <<<"$1" && grep -q "^FWM  100 lblc$" <<<"$1"' _ "$out"
check "status: in sync, nothing missing" bash -c '! grep -q "missing 10\." <<<"$1" && [ "$(grep -c "drift from the database: none" <<<"$1")" = 3 ]' _ "$out"
run ip add --no-update --cluster-id 1 10.39.84.140
run --json status --cluster-id 1 --stats
check "status after a database change without update: missing everywhere, drift named" test \
    "$rc|$(json '[(h["host"], h["website_ips"]["missing"], len(h["drift"]) > 0) for h in d["hosts"]]' <<<"$out")" = \
    "0|[('lb 10.200.1.1', ['10.39.84.140'], True), ('web 10.200.1.2', ['10.39.84.140'], True), ('web 10.200.1.3', ['10.39.84.140'], True)]"
run status --cluster-id 1 --stats
check "status --stats: ipvsadm's counters header" grep -q "^Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes$" <<<"$out"
"$ctl" stop 3 >/dev/null
run status --cluster-id 1
check "status with a host down: exit 3, the others shown" bash -c '[ "$1" = 3 ] && grep -q "^web 10.200.1.3: not read" <<<"$2" && grep -q "^web 10.200.1.2:" <<<"$2"' _ "$rc" "$out"
"$ctl" start 3 >/dev/null
run update --cluster-id 1
check "update brings it in sync" test "$rc" = 0

# --- an exec: backend: the sample program in examples/ drives "the balancer" ---------------------
sample=$(cd "$here/../../examples" && pwd)/exec-haproxy
export LVSCTL_EXEC_HAPROXY_CFG=$LVSCTL_TEST_SSH_DIR/haproxy.cfg
sql "insert into h2e_clusters (cluster_id, name, ports, backend) values (2, 'Shop', '{80,443}', 'exec:$sample');
     insert into h2e_load_balancers (cluster_id, role, mgmt_address) values (2, 'primary', '10.200.1.1');
     insert into apache_h2e_nodes (node_id, cluster_id, mgmt_address, address, weight)
         values (53, 2, '10.200.1.4', '10.39.84.53', 16);
     insert into h2e_cluster_ips (cluster_id, address) values (2, '10.39.90.1');"
run plan --cluster-id 2 --detailed-exitcode
check "exec: plan asks the program (exit 2, its plan shown)" bash -c '[ "$1" = 2 ] && grep -q "+ write .*haproxy.cfg (1 servers, 1 website IPs)" <<<"$2"' _ "$rc" "$out"
check "exec: plan wrote nothing" test ! -e "$LVSCTL_EXEC_HAPROXY_CFG"
run update --cluster-id 2
check "exec: update exit 0 ($err)" test "$rc" = 0
check "exec: the program got the desired state" bash -c 'grep -q "^    bind 10.39.90.1:443$" "$1" && grep -q "^    server 10.39.84.53 10.39.84.53:80 weight 16$" "$1"' _ "$LVSCTL_EXEC_HAPROXY_CFG"
check "exec: the web server has the website IP on lo" test "$(lo 4)" = "10.39.90.1/32 "
run update --cluster-id 2
check "exec: a second update changes nothing" bash -c '[ "$1" = 0 ] && grep -q "^lb 10.200.1.1: nothing to do$" <<<"$2"' _ "$rc" "$out"
sql "update apache_h2e_nodes set weight = 0 where node_id = 53"
run update --cluster-id 2
check "exec: a weight change reaches the program" grep -q "^    server 10.39.84.53 10.39.84.53:80 weight 0 disabled$" "$LVSCTL_EXEC_HAPROXY_CFG"

# --- the run log: the serial goes up only when lvs.cf changes (a weight; not a website IP,
# which this cluster's lvs.cf does not list: it balances by fwmark) ------------------------------

check "one row per plan and update, dry runs marked, refused ones too" test \
    "$(sql "select string_agg(format('%s:%s:%s', serial, dry_run, result), ' ' order by run_id) from lvsctl_runs where run_id <= 10")" = \
    "1:t:planned 1:f:converged 1:f:unchanged 1:t:planned 2:f:converged 2:f:partial 2:f:converged 2:f:partial 2:f:converged 2:f:invalid"
check "the report lists each host" test "$(sql "select jsonb_array_length(report->'hosts') from lvsctl_runs where cluster_id = 1 order by run_id desc limit 1")" = 3

# --- on a terminal (script(1) gives lvsctl a pty): the live progress line, colour; a web
# server down for a failure to count (last: these plans add rows to the run log) ------------
"$ctl" stop 3 >/dev/null
on_tty() {  # on_tty ARGS...: lvsctl under a pty; stdout and stderr together in $tty_out
    local cmd
    cmd=$(printf '%q ' "$lvsctl" --known-hosts "$LVSCTL_TEST_SSH_KNOWN_HOSTS" \
        --ssh-identity "$LVSCTL_TEST_SSH_IDENTITY" --agent "$LVSCTL_TEST_SSH_DIR/agent" --timeout 5 "$@")
    tty_out=$(script -qefc "$cmd" /dev/null)
}
lacks() { ! grep -qF "$1" <<<"$2"; }  # lacks TEXT IN
on_tty plan --cluster-id 1
check "on a terminal: the progress line counts the hosts and the failure" \
    grep -qF $'\r\e[Klvsctl: cluster 1: reading hosts 3/3, 1 failed' <<<"$tty_out"
check "on a terminal: the line is cleared before the result" \
    grep -qF $'1 failed\r\e[Kcluster 1 (Web-Cluster)' <<<"$tty_out"
check "on a terminal: FAILED in red" grep -qF $'\e[31;1mFAILED\e[0m' <<<"$tty_out"
NO_COLOR=1 on_tty plan --cluster-id 1
check "NO_COLOR: no colour" lacks $'\e[31' "$tty_out"
on_tty -q plan --cluster-id 1
check "-q: no progress line" lacks "reading hosts" "$tty_out"
on_tty --json plan --cluster-id 1
check "--json: no progress line" lacks "reading hosts" "$tty_out"
check "--json: no colour" lacks $'\e[' "$tty_out"
run plan --cluster-id 1
check "not a terminal: no progress line" lacks "reading hosts" "$out$err"
check "not a terminal: no colour" lacks $'\e[' "$out$err"
"$ctl" start 3 >/dev/null

finish
