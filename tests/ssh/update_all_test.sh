#!/bin/bash
# `lvsctl update --all` and `plan --all` end to end: a real PostgreSQL (tests/db/with-postgres),
# real sshd hosts (tests/ssh/sshd-hosts 6: hosts 1 and 2 are LBs with the stand-in agent, each
# serving two clusters; hosts 3 to 6 web servers, each in two clusters). Four clusters (1, 2, 3,
# 7): every one converged; a cluster whose lock another session holds is skipped, not waited
# for, while the others converge; one cluster's bad rows or dead web server do not stop the
# others, and the exit code is the worst; two `update --all` at once converge each cluster once.
set -uo pipefail
lvsctl=$1
here=$(cd "$(dirname "$0")" && pwd)
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib.sh"
ctl=$LVSCTL_TEST_SSH_CTL
psql -q -X -v ON_ERROR_STOP=1 -d postgres -c 'create database lvsctl_update_all_test' || exit 1
export LVSCTL_DB="host=$PGHOST user=lvsctl dbname=lvsctl_update_all_test"
sql() { psql -q -X -A -t -v ON_ERROR_STOP=1 -d lvsctl_update_all_test -c "$1"; }
cp "$here/stand-in-agent" "$LVSCTL_TEST_SSH_DIR/agent"
lvsctl_args=(--known-hosts "$LVSCTL_TEST_SSH_KNOWN_HOSTS" --ssh-identity "$LVSCTL_TEST_SSH_IDENTITY"
    --agent "$LVSCTL_TEST_SSH_DIR/agent" --timeout 5)
run() { # run ARGS...: lvsctl with the test hosts' keys; sets out, err, rc, took (seconds)
    local start=$SECONDS
    out=$("$lvsctl" "${lvsctl_args[@]}" "$@" 2>"$LVSCTL_TEST_SSH_DIR/err")
    rc=$?
    err=$(cat "$LVSCTL_TEST_SSH_DIR/err")
    took=$((SECONDS - start))
}
lo() { "$ctl" exec "$1" ip -o addr show dev lo scope global | awk '{print $4}' | sort | tr '\n' ' '; }
agent_input() { "$ctl" exec "$1" cat "/var/lib/lvsctl/agent-input-cluster-$2.json"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
line() { grep "^cluster $1 " <<<"$out"; } # the summary line of cluster N
lock_holders() { # N: succeeds when N sessions hold cluster 7's lock
    test "$(sql "select count(*) from pg_locks where locktype = 'advisory' and granted and classid = 19542 and objid = 7")" = "$1"
}

"$lvsctl" db migrate >/dev/null || exit 1
# cluster  name   LB      web servers  website IP   fwmark
#   1      Alpha  host 1  3, 4         10.39.1.1    101
#   2      Beta   host 2  4, 5         10.39.2.1    102
#   3      Gamma  host 1  5, 6         10.39.3.1    103
#   7      Shop   host 2  3, 6         10.39.7.1    107
sql "insert into h2e_clusters (cluster_id, name, ports, fwmark) values
         (1, 'Alpha', '{80}', 101), (2, 'Beta', '{80}', 102), (3, 'Gamma', '{80}', 103),
         (7, 'Shop', '{80,443}', 107);
     insert into h2e_load_balancers (cluster_id, role, mgmt_address) values
         (1, 'primary', '10.200.1.1'), (2, 'primary', '10.200.1.2'),
         (3, 'primary', '10.200.1.1'), (7, 'primary', '10.200.1.2');
     insert into apache_h2e_nodes (node_id, cluster_id, mgmt_address, address) values
         (13, 1, '10.200.1.3', '10.39.0.3'), (14, 1, '10.200.1.4', '10.39.0.4'),
         (24, 2, '10.200.1.4', '10.39.0.4'), (25, 2, '10.200.1.5', '10.39.0.5'),
         (35, 3, '10.200.1.5', '10.39.0.5'), (36, 3, '10.200.1.6', '10.39.0.6'),
         (73, 7, '10.200.1.3', '10.39.0.3'), (76, 7, '10.200.1.6', '10.39.0.6');
     insert into h2e_cluster_ips (cluster_id, address) values
         (1, '10.39.1.1'), (2, '10.39.2.1'), (3, '10.39.3.1'), (7, '10.39.7.1');"

# --- plan --all: every cluster's plan, nothing changed ---------------------------------------
run plan --all --detailed-exitcode
check "plan --all --detailed-exitcode: exit 2 ($err)" test "$rc" = 2
check "plan --all: one line per cluster, in order, each with changes pending" test \
    "$(grep -c '^cluster [0-9]* (.*): [0-9]* changes pending$' <<<"$out")|$(grep -o '^cluster [0-9]*' <<<"$out" | tr '\n' ' ')" = \
    "4|cluster 1 cluster 2 cluster 3 cluster 7 "
check "plan --all changed no host" test -z "$(lo 3)$(lo 4)$(lo 5)$(lo 6)"

# --- update --all from empty: every cluster converged ----------------------------------------
run update --all --clusters-parallel 2
check "update --all: exit 0 ($err)" test "$rc" = 0
check "update --all: every cluster converged" test \
    "$(grep -c '^cluster [0-9]* (.*): converged, [0-9]* changes$' <<<"$out")" = 4
check "update --all: the totals line" test "$(tail -n 1 <<<"$out")" = "4 clusters: 4 converged"
check "web servers have their clusters' website IPs" test \
    "$(lo 3)|$(lo 4)|$(lo 5)|$(lo 6)" = \
    "10.39.1.1/32 10.39.7.1/32 |10.39.1.1/32 10.39.2.1/32 |10.39.2.1/32 10.39.3.1/32 |10.39.3.1/32 10.39.7.1/32 "
check "each LB got each of its clusters" test \
    "$(agent_input 1 1 | json 'd["website_ips"]') $(agent_input 1 3 | json 'd["website_ips"]') $(agent_input 2 2 | json 'd["website_ips"]') $(agent_input 2 7 | json 'd["website_ips"]')" = \
    "['10.39.1.1'] ['10.39.3.1'] ['10.39.2.1'] ['10.39.7.1']"
check "one converged run per cluster in the run log" test \
    "$(sql "select string_agg(cluster_id || ':' || result, ' ' order by cluster_id) from lvsctl_runs where not dry_run")" = \
    "1:converged 2:converged 3:converged 7:converged"

run update --all
check "a second update --all: exit 0, nothing to do anywhere" test \
    "$rc|$(grep -c ': nothing to do$' <<<"$out")|$(tail -n 1 <<<"$out")" = "0|4|4 clusters: 4 nothing to do"
check "the summary line names the cluster" test "$(line 7)" = "cluster 7 (Shop): nothing to do"

# --- a cluster whose lock another session holds: skipped, not waited for ---------------------
sql "update apache_h2e_nodes set weight = 11 where node_id in (13, 73)"
psql -q -X -d lvsctl_update_all_test -c "select pg_advisory_lock(19542, 7)" -c "select pg_sleep(60)" \
    >/dev/null 2>&1 &
holder=$!
wait_for 20 lock_holders 1
runs_of_7=$(sql "select count(*) from lvsctl_runs where cluster_id = 7")
run update --all
check "a locked cluster: update --all exits 0 ($rc, $err)" test "$rc" = 0
check "it did not wait for the lock (--lock-timeout is 60 s): ${took} s" test "$took" -lt 20
check "the locked cluster is reported skipped" test \
    "$(line 7)" = "cluster 7 (Shop): skipped: another lvsctl holds its lock"
check "the others ran: cluster 1 converged, 2 and 3 nothing to do" test \
    "$(line 1)|$(line 2)|$(line 3)" = \
    "cluster 1 (Alpha): converged, 1 change|cluster 2 (Beta): nothing to do|cluster 3 (Gamma): nothing to do"
check "the totals line counts the skipped one" test \
    "$(tail -n 1 <<<"$out")" = "4 clusters: 1 converged, 2 nothing to do, 1 skipped"
check "the skipped cluster's LB did not get its change; the other's did" test \
    "$(agent_input 2 7 | json '[x["weight"] for x in d["services"][0]["destinations"]]')|$(agent_input 1 1 | json '[x["weight"] for x in d["services"][0]["destinations"]]')" = \
    "[32, 32]|[11, 32]"
check "a skipped cluster writes no run row" test \
    "$(sql "select count(*) from lvsctl_runs where cluster_id = 7")" = "$runs_of_7"
run --json update --all
check "--json: one document, exit 0, the locked cluster skipped with exit code 0" test \
    "$rc|$(json '([(c["cluster"]["id"], c["status"], c["skipped"], c["exit_code"]) for c in d["clusters"]], d["exit_code"])' <<<"$out")" = \
    "0|([(1, 'unchanged', False, 0), (2, 'unchanged', False, 0), (3, 'unchanged', False, 0), (7, 'skipped', True, 0)], 0)"
check "--json: a cluster that ran is update's document (hosts, serial, digest)" test \
    "$(json '(len(d["clusters"][0]["hosts"]), d["clusters"][0]["cluster"]["serial"], "lvs_cf_digest" in d["clusters"][0])' <<<"$out")" = \
    "(3, 2, True)"
run update --all --dry-run --detailed-exitcode
check "a dry run takes no lock: the locked cluster is planned, not skipped (exit 2)" test \
    "$rc|$(line 7)" = "2|cluster 7 (Shop): 1 change pending"
# The holder's session ends (a killed psql would leave its backend asleep, holding the lock).
sql "select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' and objid = 7" >/dev/null
wait "$holder" 2>/dev/null
wait_for 20 lock_holders 0
run update --all
check "the lock free again: the cluster converges (exit $rc)" test \
    "$rc|$(line 7)|$(agent_input 2 7 | json '[x["weight"] for x in d["services"][0]["destinations"]]')" = \
    "0|cluster 7 (Shop): converged, 1 change|[11, 32]"

# --- one cluster's bad rows, another's dead web server: the others still run -------------------
sql "insert into h2e_cluster_ips (cluster_id, address) values (2, '2001:db8::2');
     insert into h2e_cluster_ips (cluster_id, address) values (3, '10.39.3.2');
     update apache_h2e_nodes set weight = 12 where node_id = 14;"
"$ctl" stop 6 >/dev/null
run update --all --clusters-parallel 4
check "bad rows (65) are worse than a partial run (3) or an unreachable host (68): exit 65" test "$rc" = 65
check "cluster 1 converged" test "$(line 1)" = "cluster 1 (Alpha): converged, 1 change"
check "cluster 2: its bad rows named on its one line, exit 65" grep -q "^cluster 2 (Beta): FAILED (exit 65): invalid data: apache_h2e_nodes node_id=24: column address_v6: .*; apache_h2e_nodes node_id=25: column address_v6: " <<<"$out"
check "one line per cluster, and the totals" test "$(wc -l <<<"$out")" = 5
check "cluster 3: partial, the dead host named" grep -q "^cluster 3 (Gamma): FAILED (exit 3): web 10.200.1.6: " <<<"$out"
check "cluster 7: nothing changed, the dead host unreachable (68)" grep -q "^cluster 7 (Shop): FAILED (exit 68): web 10.200.1.6: " <<<"$out"
check "errors on stderr as update prints them, named by cluster" bash -c 'grep -q "^lvsctl: cluster 2: invalid data:$" <<<"$1" && grep -q "^  apache_h2e_nodes node_id=24: column address_v6" <<<"$1" && grep -q "^lvsctl: cluster 3: web 10.200.1.6: " <<<"$1"' _ "$err"
check "the totals line" test "$(tail -n 1 <<<"$out")" = "4 clusters: 1 converged, 3 failed"
check "the run log: invalid, partial, failed" test \
    "$(sql "select string_agg(result, ' ' order by cluster_id) from (select distinct on (cluster_id) cluster_id, result from lvsctl_runs where cluster_id in (2, 3, 7) order by cluster_id, run_id desc) r")" = \
    "invalid partial failed"
sql "delete from h2e_cluster_ips where address = '2001:db8::2';
     insert into h2e_cluster_ips (cluster_id, address) values (3, '10.39.3.3');"
run update --all
check "without the bad row, a dead host: exit 3 (partial beats unreachable)" test \
    "$rc|$(line 3 | cut -d: -f2)|$(line 7 | cut -d: -f2)" = "3| FAILED (exit 3)| FAILED (exit 68)"
"$ctl" start 6 >/dev/null
run update --all
check "everything fixed: exit 0" test "$rc" = 0
check "web server 6 caught up" test "$(lo 6)" = "10.39.3.1/32 10.39.3.2/32 10.39.3.3/32 10.39.7.1/32 "

# --- two update --all at once: each cluster converged by exactly one of them ------------------
sql "update apache_h2e_nodes set weight = weight + 1"
# A slow LB (2 s an apply) keeps each cluster's lock long enough for the other process to meet it.
"$ctl" exec 1 sh -c 'echo 2 > /var/lib/lvsctl/apply-delay'
"$ctl" exec 2 sh -c 'echo 2 > /var/lib/lvsctl/apply-delay'
mark=$(sql "select coalesce(max(run_id), 0) from lvsctl_runs")
start=$SECONDS
"$lvsctl" "${lvsctl_args[@]}" --json update --all --clusters-parallel 1 >"$LVSCTL_TEST_SSH_DIR/a.json" 2>"$LVSCTL_TEST_SSH_DIR/a.err" &
a=$!
"$lvsctl" "${lvsctl_args[@]}" --json update --all --clusters-parallel 1 >"$LVSCTL_TEST_SSH_DIR/b.json" 2>"$LVSCTL_TEST_SSH_DIR/b.err" &
b=$!
wait "$a"
rc_a=$?
wait "$b"
rc_b=$?
took=$((SECONDS - start))
statuses() { json '" ".join("%d:%s" % (c["cluster"]["id"], c["status"]) for c in d["clusters"])' <"$1"; }
echo "# process A: $(statuses "$LVSCTL_TEST_SSH_DIR/a.json")"
echo "# process B: $(statuses "$LVSCTL_TEST_SSH_DIR/b.json")"
echo "# both in ${took} s"
check "two at once: both exit 0 ($rc_a, $rc_b)" test "$rc_a|$rc_b" = "0|0"
check "each cluster converged by exactly one of them; the other skipped it or found it done" python3 -c '
import json, sys
a, b = (json.load(open(f))["clusters"] for f in sys.argv[1:3])
ok = len(a) == len(b) == 4
for x, y in zip(a, b):
    pair = sorted([x["status"], y["status"]])
    ok = ok and pair in (["converged", "skipped"], ["converged", "unchanged"])
sys.exit(0 if ok else 1)' "$LVSCTL_TEST_SSH_DIR/a.json" "$LVSCTL_TEST_SSH_DIR/b.json"
check "they shared the work: at least one cluster skipped by one of them" python3 -c '
import json, sys
sys.exit(0 if sum(c["skipped"] for f in sys.argv[1:3] for c in json.load(open(f))["clusters"]) >= 1 else 1)' \
    "$LVSCTL_TEST_SSH_DIR/a.json" "$LVSCTL_TEST_SSH_DIR/b.json"
check "the run log: one converged run per cluster since" test \
    "$(sql "select string_agg(cluster_id || ':' || n, ' ' order by cluster_id) from (select cluster_id, count(*) n from lvsctl_runs where run_id > $mark and result = 'converged' group by cluster_id) r")" = \
    "1:1 2:1 3:1 7:1"
"$ctl" exec 1 rm /var/lib/lvsctl/apply-delay
"$ctl" exec 2 rm /var/lib/lvsctl/apply-delay
run plan --all --detailed-exitcode
check "then nothing is pending anywhere" test "$rc" = 0

finish
