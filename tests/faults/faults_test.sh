#!/bin/bash
# The fault suite: one fault at a time against the real stack (run inside user-mode Linux, under
# tests/db/with-postgres and tests/ssh/sshd-hosts 4, by ctest's faults_in_uml). Each case
# injects its fault, then checks that
#   (a) the exit code and the run's lvsctl_runs.result tell the truth,
#   (b) no website IP is on an LB while an active web server of its cluster lacks it on lo, and
#       nothing lvsctl does not own (the FOREIGN state set up below) was touched,
#   (c) the next update converges with exit 0 once the fault is gone.
# Hosts: 1 the LB of clusters 1 and 2 (ipvs, the real agent behind tests/faults/agent-wrapper,
# website IPs on eth0) and of cluster 4 (piranha, reached through tests/faults/cut-proxy on port
# 2222); 2 and 3 web servers of cluster 1 (HTTP servers answering X-SERVER); 4 the web server of
# clusters 2, 3 (exec:) and 4. The management namespace, where this script runs, is also the
# HTTP client.
# LVSCTL_FAULTS_CASES="1 5" runs only those cases (after the shared setup). What each fault
# leaves behind and what the next run does: README.md, "Failure model".
# shellcheck disable=SC2016,SC2317  # bash -c '...' _ ARGS expand in the child; checks call functions
set -uo pipefail

# The agent's ownership record of cluster 1 on the LB (a path on the LB). It is being renamed
# from /var/lib/lvsctl/agent-state.json (one file for every cluster) to one file per cluster.
agent_record=${LVSCTL_FAULTS_AGENT_RECORD:-/var/lib/lvsctl/agent-cluster-1.json}

lvsctl=$(readlink -f "$1")
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$here/../lib.sh"
ctl=$LVSCTL_TEST_SSH_CTL
dir=$LVSCTL_TEST_SSH_DIR
# shellcheck source=/dev/null
prefix=$(. "$dir/env" && echo "$prefix") # the hosts' namespaces are $prefix-I
work=$dir/faults
mkdir -p "$work"
lb=$dir/host1/lvsctl # the LB's private /var/lib/lvsctl, as this namespace sees it
wlog=$lb/faults-wrapper.log
suite_start=$SECONDS

note() { echo "# $*"; }
want() { [[ -z ${LVSCTL_FAULTS_CASES:-} || " $LVSCTL_FAULTS_CASES " == *" $1 "* ]]; }
psql -q -X -v ON_ERROR_STOP=1 -d postgres -c 'create database lvsctl_faults' || exit 1
export LVSCTL_DB="host=$PGHOST user=lvsctl dbname=lvsctl_faults"
# One psql for the whole suite (a psql and its backend cost seconds under UML): sql QUERY prints
# the rows (columns separated by |) and fails on an error; sql_open again after a restart.
sql_open() {
    coproc DB { exec psql -X -q -A -t -v ON_ERROR_STOP=0 -d lvsctl_faults 2>&1; }
    exec {db_w}>&"${DB[1]}" {db_r}<&"${DB[0]}"
}
sql() {
    local line failed=0 done=0
    kill -0 "$DB_PID" 2>/dev/null || { echo "sql: psql is gone" >&2; return 2; }
    printf '%s;\n\\echo @@done\n' "$1" >&"$db_w"
    while IFS= read -r line <&"$db_r"; do
        [[ $line == @@done ]] && { done=1; break; }
        [[ $line == *ERROR:* ]] && { failed=1; echo "sql: $line" >&2; }
        printf '%s\n' "$line"
    done
    ((done)) || return 2
    return "$failed"
}
sql_open
sql_reopen() { # after PostgreSQL restarted: the old psql's session is gone
    kill "$DB_PID" 2>/dev/null
    wait "$DB_PID" 2>/dev/null
    exec {db_w}>&- {db_r}<&-
    sql_open
}
last_run() { sql "select coalesce(max(run_id), 0) from lvsctl_runs"; }
results_since() { # RUN_ID CLUSTER: the results of that cluster's runs after RUN_ID, comma-separated
    sql "select coalesce(string_agg(result, ',' order by run_id), '') from lvsctl_runs
         where run_id > $1 and cluster_id = $2"
}

# lvsctl with the suite's options; T=S sets --timeout (20), LIMIT=S kills it after S seconds
# (120: a hang must not stall the suite). Sets out, err (NULs dropped; raw in $work/out and
# $work/err), rc and took (seconds, 1 decimal).
opts=(--known-hosts "$work/known_hosts" --ssh-identity "$LVSCTL_TEST_SSH_IDENTITY"
    --agent "$here/agent-wrapper")
run() {
    local t0=$EPOCHREALTIME
    # --foreground: only lvsctl is killed, not what it started (case 11 looks for that).
    timeout --foreground -s KILL "${LIMIT:-120}" "$lvsctl" "${opts[@]}" --timeout "${T:-20}" "$@" \
        >"$work/out" 2>"$work/err"
    rc=$?
    took=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
    out=$(tr -d '\0' <"$work/out")
    err=$(tr -d '\0' <"$work/err")
}
bg_pids=()
run_bg() { # NAME ARGS...: lvsctl in the background; $work/NAME.{out,err,rc}; wait_bg waits
    local name=$1
    shift
    (
        timeout -s KILL "${LIMIT:-300}" "$lvsctl" "${opts[@]}" --timeout "${T:-20}" "$@" \
            >"$work/$name.out" 2>"$work/$name.err"
        echo $? >"$work/$name.rc"
    ) &
    bg_pids+=($!)
}
wait_bg() {
    local p
    for p in "${bg_pids[@]}"; do wait "$p"; done
    bg_pids=()
}

in_ns() { # I CMD...: CMD in host I's network namespace (its kernel: IPVS, addresses, firewall)
    local i=$1
    shift
    ip netns exec "$prefix-$i" "$@"
}
addrs() { ip -n "$prefix-$1" -o addr show dev "$2" | awk '{print $4}'; } # I DEV: its addresses
lo() { addrs "$1" lo; }
lb_addrs() { addrs "$1" eth0; }
not() { ! "$@"; }
ok_result() { [[ $1 == converged || $1 == unchanged ]]; } # RESULT: of a run that exited 0
host_of() { [[ $1 =~ ^10\.200\.1\.([0-9]+)$ ]] && echo "${BASH_REMATCH[1]}"; }
set_ips() { # CLUSTER IP...: the cluster's website IPs are exactly these
    local c=$1 values="" ip
    shift
    for ip in "$@"; do values+="${values:+, }($c, '$ip')"; done
    sql "delete from h2e_cluster_ips where cluster_id = $c;
         insert into h2e_cluster_ips (cluster_id, address) values $values"
}
# What an LB has of one cluster's: its services and destinations, its aliases (addresses in
# NET.*), its set and its rule. MARK NET
lb_state() {
    in_ns 1 sh -c '
        ipvsadm -S -n | grep -E -- "-f $1( |\$)"
        ip -o addr show dev eth0 | awk "{print \$4}" | grep -F "$2"
        ipset save "lvsctl-$1-4" 2>/dev/null | sed "s/ initval 0x[0-9a-f]*//"
        iptables-legacy-save -t mangle | grep -F -- "lvsctl-fwmark-$1 "' sh "$1" "$2" | sort
}

# The wrapper's log: what it did since the case began, as proof that the fault was injected.
wlog_mark=0
wlog_new() { tail -n +$((wlog_mark + 1)) "$wlog" 2>/dev/null; }
show_wlog() { wlog_new | sed 's/^/#   wrapper: /'; }

# --- the invariant and the foreign state ------------------------------------------------------
# For each website IP on an ipvs LB's vip interface that belongs to a cluster in the database:
# every active web server of that cluster has it on lo. Prints each violation.
invariant() {
    local bad=0 lbaddr iface cluster ip smgmt i j checked=0
    declare -A have=()
    while IFS='|' read -r lbaddr iface cluster ip smgmt; do
        i=$(host_of "$lbaddr") || continue
        [[ -v have[$i.$iface] ]] || have[$i.$iface]=$(addrs "$i" "$iface")
        grep -qxF "$ip/32" <<<"${have[$i.$iface]}" || continue
        j=$(host_of "$smgmt") || continue
        [[ -v have[$j.lo] ]] || have[$j.lo]=$(lo "$j")
        checked=$((checked + 1))
        if ! grep -qxF "$ip/32" <<<"${have[$j.lo]}"; then
            note "invariant broken: $ip (cluster $cluster) is on lb $lbaddr $iface," \
                "not on web server $smgmt's lo"
            bad=1
        fi
    done < <(sql "select distinct host(l.mgmt_address), l.vip_interface, i.cluster_id,
                         host(i.address), host(n.mgmt_address)
                  from h2e_load_balancers l join h2e_clusters c using (cluster_id)
                  cross join h2e_cluster_ips i
                  join apache_h2e_nodes n on n.cluster_id = i.cluster_id and n.active
                  where c.backend = 'ipvs'")
    ((bad)) || note "invariant: $checked (website IP on an LB, web server) pairs, each on lo"
    return "$bad"
}
# Someone else's state on the LB and a web server, which lvsctl must never touch.
foreign_setup() { # [lb]: only the LB's part (after its "reboot")
    in_ns 1 sh -ec '
        ipvsadm -A -t 10.9.9.9:80 -s rr
        ipvsadm -a -t 10.9.9.9:80 -r 10.9.9.10:80 -g -w 5
        ipvsadm -A -f 300 -s wlc
        ipvsadm -a -f 300 -r 10.9.9.11:0 -g -w 3
        ip addr add 192.0.2.77/32 dev eth0
        ip addr add 198.51.100.1/24 dev eth0
        ipset create foreign-set hash:ip
        ipset add foreign-set 10.9.9.12
        iptables-legacy -t mangle -A PREROUTING -p tcp -m set --match-set foreign-set dst \
            -m comment --comment foreign-rule -j MARK --set-mark 300' || return 1
    [[ ${1:-} == lb ]] || ip -n "$prefix-2" addr add 192.0.2.88/32 dev lo
}
# The foreign objects as the tools save them (the set's random initval left out: a set made
# again after the "reboot" of case 9 has a new one).
foreign_state() {
    in_ns 1 sh -c '
        ipvsadm -S -n | grep -E -- "^-[Aa] (-t 10\.9\.9\.9:80|-f 300) " | sort
        ip -o addr show dev eth0 | grep -E " (192\.0\.2\.77/32|198\.51\.100\.1/24) "
        iptables-legacy-save -t mangle | grep -F -- foreign
        ipset save foreign-set | sed "s/ initval 0x[0-9a-f]*//"'
    in_ns 2 ip -o addr show dev lo | grep -F " 192.0.2.88/32 "
}
foreign_same() {
    local now
    now=$(foreign_state)
    [[ $now == "$foreign" ]] && return 0
    diff <(echo "$foreign") <(echo "$now") | sed 's/^/#   /'
    return 1
}

case_no=0 case_start=0
case_begin() { # N TITLE
    case_no=$1 case_start=$SECONDS
    wlog_mark=$(wc -l 2>/dev/null <"$wlog" || echo 0)
    note "--- case $1: $2"
}
case_end() {
    check "[$case_no] invariant: no website IP on an LB that a web server lacks" invariant
    check "[$case_no] the foreign state is byte-identical" foreign_same
    local left=("$lb"/fault-*)
    if [[ -e ${left[0]} ]]; then # a fault no run consumed must not hit the next case
        note "fault files left over, removed: ${left[*]##*/}"
        rm -f -- "${left[@]}"
    fi
    note "case $case_no took $((SECONDS - case_start)) s"
}
c() { check "[$case_no] $1" "${@:2}"; } # check, named by the case

# --- setup ------------------------------------------------------------------------------------
echo "$lvsctl" >"$lb/faults-real-agent"
cp "$LVSCTL_TEST_SSH_KNOWN_HOSTS" "$work/known_hosts"
# Host 1 through the proxy (case 13): its key under [address]:port.
read -r ktype key _ <"$dir/host1/ssh_host_ed25519_key.pub"
echo "[10.200.1.1]:2222 $ktype $key" >>"$work/known_hosts"
for h in 2:43 3:44; do
    "$ctl" exec "${h%:*}" setsid python3 "$here/../kernel/web_server.py" "${h#*:}" </dev/null >/dev/null 2>&1 &
    disown
done
ip route add 10.39.84.0/24 dev eth0 # the client reaches cluster 1's website IPs on the LAN

"$lvsctl" db migrate >/dev/null || exit 1
sql "insert into h2e_clusters (cluster_id, name, ports, scheduler) values (1, 'Web-Cluster', '{80}', 'rr');
     insert into h2e_load_balancers (cluster_id, role, mgmt_address, vip_interface)
         values (1, 'primary', '10.200.1.1', 'eth0');
     insert into apache_h2e_nodes (node_id, cluster_id, mgmt_address, address, weight)
         values (43, 1, '10.200.1.2', '10.200.1.2', 32), (44, 1, '10.200.1.3', '10.200.1.3', 32);
     insert into h2e_clusters (cluster_id, name, ports, fwmark, backend)
         values (3, 'Exec-Cluster', '{80}', 301, 'exec:$here/exec-program');
     insert into h2e_load_balancers (cluster_id, role, mgmt_address) values (3, 'primary', '10.200.1.7');
     insert into apache_h2e_nodes (node_id, cluster_id, mgmt_address, address)
         values (51, 3, '10.200.1.4', '10.200.1.4');
     insert into h2e_cluster_ips (cluster_id, address) values (3, '10.39.87.131');
     insert into h2e_clusters (cluster_id, name, ports, fwmark, backend)
         values (4, 'Legacy', '{80}', 400, 'piranha');
     insert into h2e_load_balancers (cluster_id, role, mgmt_address, ssh_port)
         values (4, 'primary', '10.200.1.1', 2222);
     insert into apache_h2e_nodes (node_id, cluster_id, mgmt_address, address)
         values (61, 4, '10.200.1.4', '10.200.1.4');
     insert into h2e_cluster_ips (cluster_id, address) values (4, '10.39.86.131');" || exit 1
set_ips 1 10.39.84.131 10.39.84.132

foreign_setup || exit 1
foreign=$(foreign_state)
note "foreign state, kept for comparison:"
while IFS= read -r line; do echo "#   $line"; done <<<"$foreign"
run update --cluster-id 1
check "setup: cluster 1 converges from empty (exit $rc, ${took}s; $err)" test "$rc" = 0
check "setup: the foreign state is untouched by the first update" foreign_same
check "setup: the invariant holds" invariant
note "setup took $((SECONDS - suite_start)) s; one update took ${took}s"

# --- 6. two updates at once; 20 hooks at once ---------------------------------------------------
if want 6; then
    case_begin 6 "two updates of one cluster at once, and 20 hooks at once"
    echo 2 >"$lb/fault-delay-apply" # each apply takes 2 s more: without the lock they would overlap
    before=$(last_run)
    t0=$SECONDS
    run_bg u1 update --cluster-id 1
    run_bg u2 update --cluster-id 1
    wait_bg
    rm -f "$lb/fault-delay-apply"
    show_wlog
    c "both updates exit 0 ($(cat "$work/u1.rc") $(cat "$work/u2.rc"))" \
        test "$(cat "$work/u1.rc") $(cat "$work/u2.rc")" = "0 0"
    c "both applies ran, one after the other (they took $((SECONDS - t0)) s together)" test \
        "$(wlog_new | awk '/delay: apply starts/ {print "s"} /real agent exited/ {print "e"}' | tr -d '\n')" = sese
    c "two lvsctl_runs rows, the second started after the first finished" test \
        "$(sql "select count(*), bool_and(started_at >= previous) from (select started_at,
                lag(finished_at) over (order by run_id) as previous from lvsctl_runs
                where run_id > $before and cluster_id = 1) r")|$(results_since "$before" 1)" = "2|t|unchanged,unchanged"

    before=$(last_run)
    t0=$SECONDS
    hook_ips=()
    for i in $(seq 151 170); do
        hook_ips+=("10.39.84.$i")
        LIMIT=600 run_bg "hook$i" ip add --cluster-id 1 "10.39.84.$i" --lock-timeout 300
    done
    wait_bg
    codes=$(for i in $(seq 151 170); do cat "$work/hook$i.rc"; done | sort | uniq -c | tr -s ' ' | tr '\n' ';')
    note "20 hooks took $((SECONDS - t0)) s; exit codes (count code): $codes"
    c "20 ip add hooks at once: all exit 0" test "$codes" = " 20 0;"
    c "20 runs logged, each converged" test \
        "$(results_since "$before" 1 | tr ',' '\n' | sort | uniq -c | tr -s ' ')" = " 20 converged"
    c "the database has the 20 IPs" test \
        "$(sql "select count(*) from h2e_cluster_ips where cluster_id = 1 and address << '10.39.84.128/25' and address >= '10.39.84.151'")" = 20
    c "the LB and both web servers have all 20" test \
        "$(lb_addrs 1 | grep -cE '^10\.39\.84\.(15[1-9]|16[0-9]|170)/32$')|$(lo 2 | grep -cE '^10\.39\.84\.(15[1-9]|16[0-9]|170)/32$')|$(lo 3 | grep -cE '^10\.39\.84\.(15[1-9]|16[0-9]|170)/32$')" = "20|20|20"
    run plan --cluster-id 1 --detailed-exitcode
    c "then plan --detailed-exitcode exits 0 (exit $rc)" test "$rc" = 0
    run ip remove --cluster-id 1 "${hook_ips[@]}"
    c "one ip remove of the 20: exit 0, gone from the LB and lo ($rc)" test \
        "$rc|$(lb_addrs 1 | grep -c '^10\.39\.84\.1[5-7][0-9]/32$')|$(lo 2 | grep -c '^10\.39\.84\.1[5-7][0-9]/32$')" = "0|0|0"
    case_end
fi

# --- 1. the LB's SSH connection cut after the agent changed the kernel ----------------------
if want 1; then
    case_begin 1 "the LB's SSH session cut after the agent applied, before its answer"
    set_ips 1 10.39.84.131 10.39.84.133 # .132 goes, .133 comes
    touch "$lb/fault-cut-after-apply"
    before=$(last_run)
    run update --cluster-id 1
    show_wlog
    c "the wrapper cut the session after the real agent finished" bash -c 'grep -q "cut: the agent exited 0" <<<"$1"' _ "$(wlog_new)"
    c "exit 3 (exit $rc; $err)" test "$rc" = 3
    c "lvsctl_runs.result is partial ($(results_since "$before" 1))" test "$(results_since "$before" 1)" = partial
    c "the agent did change the kernel: .133 on the LB, .132 not" bash -c 'on_lb() { grep -qxF "$1/32" <<<"$2"; }
        on_lb 10.39.84.133 "$1" && ! on_lb 10.39.84.132 "$1"' _ "$(lb_addrs 1)"
    c "the web servers keep the former website IP .132 (step 4 skipped)" bash -c \
        'grep -qxF 10.39.84.132/32 <<<"$1" && grep -qxF 10.39.84.132/32 <<<"$2"' _ "$(lo 2)" "$(lo 3)"
    case_end
    before=$(last_run)
    run update --cluster-id 1
    c "next update: exit 0, .132 leaves lo (exit $rc; $err)" test \
        "$rc|$(lo 2 | grep -c '^10\.39\.84\.132/')|$(lo 3 | grep -c '^10\.39\.84\.132/')|$(results_since "$before" 1)" = "0|0|0|converged"
fi

# --- 2. a web server's sshd killed between its add and remove steps ------------------------
if want 2; then
    case_begin 2 "web server 2's sshd and sessions killed during the LB step"
    set_ips 1 10.39.84.131 10.39.84.134 # .133 goes, .134 comes
    echo "$prefix-2" >"$lb/fault-kill-netns"
    before=$(last_run)
    run update --cluster-id 1
    show_wlog
    c "the wrapper killed host 2's processes during the LB step" bash -c 'grep -q "kill-netns: killed [1-9]" <<<"$1"' _ "$(wlog_new)"
    c "exit 3, host 2 named (exit $rc; $err)" bash -c '[ "$1" = 3 ] && grep -q "10\.200\.1\.2[: ]" <<<"$2"' _ "$rc" "$err"
    c "lvsctl_runs.result is partial ($(results_since "$before" 1))" test "$(results_since "$before" 1)" = partial
    c "host 2 keeps the removed .133 on lo; host 3 let it go" test \
        "$(lo 2 | grep -c '^10\.39\.84\.133/32$')|$(lo 3 | grep -c '^10\.39\.84\.133/32$')" = "1|0"
    c "the LB has .134 (on both web servers' lo) and no longer .133" bash -c \
        'grep -qxF 10.39.84.134/32 <<<"$1" && ! grep -qxF 10.39.84.133/32 <<<"$1"' _ "$(lb_addrs 1)"
    case_end
    "$ctl" start 2 >/dev/null
    "$ctl" exec 2 setsid python3 "$here/../kernel/web_server.py" 43 </dev/null >/dev/null 2>&1 &
    disown
    before=$(last_run)
    run update --cluster-id 1
    c "after ctl start 2 the next update exits 0 and .133 leaves host 2's lo (exit $rc; $err)" test \
        "$rc|$(lo 2 | grep -c '^10\.39\.84\.133/32$')|$(results_since "$before" 1)" = "0|0|converged"
fi

# --- 12. bytes that are not UTF-8, and a NUL, in the LB's stderr -----------------------------
if want 12; then
    case_begin 12 "the agent prints non-UTF-8 bytes and a NUL on stderr, no JSON, exit 1"
    touch "$lb/fault-garbage-apply"
    before=$(last_run)
    run --json update --cluster-id 1
    show_wlog
    c "the wrapper sent the garbage" bash -c 'grep -q "garbage:" <<<"$1"' _ "$(wlog_new)"
    note "stderr: $(cat -v "$work/err" | head -c 600)"
    c "exit 3 (exit $rc)" test "$rc" = 3
    c "a lvsctl_runs row with result partial ($(results_since "$before" 1))" test "$(results_since "$before" 1)" = partial
    c "--json output parses" bash -c 'python3 -m json.tool "$1" >/dev/null' _ "$work/out"
    case_end
    before=$(last_run)
    run update --cluster-id 1
    c "next update: exit 0 (exit $rc; $err)" test "$rc|$(results_since "$before" 1)" = "0|unchanged"
fi

# --- 4. lvsctl SIGKILLed in the middle of a run --------------------------------------------
if want 4; then
    case_begin 4 "lvsctl killed (SIGKILL) while the agent runs"
    set_ips 1 10.39.84.131 10.39.84.134 10.39.84.135
    touch "$lb/fault-hold"
    before=$(last_run)
    timeout -s KILL 120 "$lvsctl" "${opts[@]}" --timeout 20 update --cluster-id 1 >"$work/c4.out" 2>"$work/c4.err" &
    victim=$!
    wait_for 30 test -e "$lb/fault-hold.held"
    c "the run is held in its LB step" test -e "$lb/fault-hold.held"
    run update --cluster-id 1 --lock-timeout 1
    c "while it runs, its lock is held: another update exits 75 (exit $rc)" test "$rc" = 75
    victim_lvsctl=$(pgrep -P "$victim" -x lvsctl)
    kill -KILL "$victim_lvsctl"
    wait "$victim" 2>/dev/null
    status=$?
    c "lvsctl (pid ${victim_lvsctl:-none}) was killed mid-run (status $status)" test -n "$victim_lvsctl" -a "$status" = 137
    run update --cluster-id 1 --lock-timeout 5
    c "the lock is released: the next update --lock-timeout 5 does not exit 75, it exits 0 (exit $rc, ${took}s; $err)" test "$rc" = 0
    c "the killed run left no lvsctl_runs row; the next one converged ($(results_since "$before" 1))" \
        test "$(results_since "$before" 1)" = converged
    rm -f "$lb/fault-hold.held" # the killed run's agent goes on, with what it was given
    hold_pid=$(wlog_new | awk '/hold: holding/ {sub(":", "", $3); print $3}' | tail -n 1)
    wait_for 30 grep -q "pid $hold_pid: apply: the real agent exited" "$wlog"
    show_wlog
    run plan --cluster-id 1 --detailed-exitcode
    c "after the orphaned agent ended: plan --detailed-exitcode exits 0 (exit $rc)" test "$rc" = 0
    case_end
fi

# --- 5. PostgreSQL restarted in the middle of a run ----------------------------------------
if want 5; then
    case_begin 5 "PostgreSQL restarted during the LB step: the session and the lock are gone"
    set_ips 1 10.39.84.131 10.39.84.134 10.39.84.136 # .135 goes, .136 comes
    touch "$lb/fault-hold"
    before=$(last_run)
    timeout -s KILL 120 "$lvsctl" "${opts[@]}" --timeout 20 update --cluster-id 1 >"$work/c5.out" 2>"$work/c5.err" &
    victim=$!
    wait_for 30 test -e "$lb/fault-hold.held"
    c "the run is held in its LB step" test -e "$lb/fault-hold.held"
    holder=$(sql "select pid from pg_locks where locktype = 'advisory' and classid = 19542 and objid = 1 and granted")
    runuser -u postgres -- "$LVSCTL_TEST_PG_BIN/pg_ctl" -D "$LVSCTL_TEST_PG_DATA" \
        -l "${LVSCTL_TEST_PG_DATA%/data}/server.log" -m fast -w -t 60 restart >/dev/null
    sql_reopen
    c "PostgreSQL restarted: the lock backend $holder held is gone" test -n "$holder" -a \
        -z "$(sql "select pid from pg_locks where locktype = 'advisory' and classid = 19542 and objid = 1")"
    rm -f "$lb/fault-hold.held"
    wait "$victim" 2>/dev/null
    rc=$?
    show_wlog
    note "stderr: $(head -c 800 "$work/c5.err")"
    c "exit 69 (exit $rc)" test "$rc" = 69
    c "step 4 not run: the web servers keep the former .135" test \
        "$(lo 2 | grep -c '^10\.39\.84\.135/32$')|$(lo 3 | grep -c '^10\.39\.84\.135/32$')" = "1|1"
    c "no lvsctl_runs row written after the restart for that run ($(results_since "$before" 1))" \
        test "$(results_since "$before" 1)" = ""
    case_end
    before=$(last_run)
    run update --cluster-id 1
    result=$(results_since "$before" 1)
    c "next update: exit 0 ($result), .135 off lo afterwards (exit $rc; $err)" test \
        "$rc|$(ok_result "$result" && echo ok)|$(lo 2 | grep -c '^10\.39\.84\.135/32$')" = "0|ok|0"
fi

# --- 7. a drain longer than --timeout ------------------------------------------------------------
if want 7; then
    case_begin 7 "server remove with a drain (20 s) longer than --timeout (5 s)"
    run server set --cluster-id 1 --node-id 43 --weight 0 # new connections go to 44 only
    c "server set 43 weight 0: exit 0 ($rc)" test "$rc" = 0
    held=$work/held.out
    (curl -s -m 30 -D - "http://10.39.84.131/slow?s=14" >"$held" 2>&1) &
    holder=$!
    active_44() { [ "$(in_ns 1 ipvsadm -L -n | awk '$2 == "10.200.1.3:0" {print $5}')" = 1 ]; }
    wait_for 20 active_44
    c "a connection is held open on 44" active_44
    before=$(last_run)
    touch "$lb/fault-log-apply" # the apply's start and end in the wrapper's log: how long it drained
    T=5 run server remove --cluster-id 1 --node-id 44 --drain-timeout 20
    rm -f "$lb/fault-log-apply"
    show_wlog
    note "server remove took ${took}s: $err"
    # How long the apply took (to now, if the wrapper never logged its end: it was cut off).
    applied=$(wlog_new | awk -v now="$EPOCHREALTIME" '/running the real agent/ {a = $1}
        /real agent exited/ && a {e = $1} END {if (a) printf "%.1f%s", (e ? e : now) - a, e ? "" : "+"}')
    c "the agent's apply, draining, outlasted --timeout 5 (${applied:-no apply} s)" \
        awk -v t="${applied:-0}" 'BEGIN { exit !(t + 0 > 5) }'
    c "server remove: exit 0 (exit $rc)" test "$rc" = 0
    wait "$holder"
    c "the held connection completed, answered by 44" grep -q 'X-SERVER: 44' "$held"
    c "44 left IPVS, the database and its lo" test \
        "$(in_ns 1 ipvsadm -S -n | grep -c 10.200.1.3)|$(sql 'select count(*) from apache_h2e_nodes where node_id = 44')|$(lo 3 | grep -c '^10\.39\.84\.')" = "0|0|0"
    c "lvsctl_runs: the run converged ($(results_since "$before" 1))" test "$(results_since "$before" 1)" = converged
    case_end
    sql "insert into apache_h2e_nodes (node_id, cluster_id, mgmt_address, address)
             values (44, 1, '10.200.1.3', '10.200.1.3') on conflict do nothing;
         update apache_h2e_nodes set weight = 32 where cluster_id = 1"
    run update --cluster-id 1
    c "44 back, weights 32: exit 0 ($rc; $err)" test "$rc" = 0
fi

# --- 8. the agent's ownership record corrupt, then missing ---------------------------------
if want 8; then
    case_begin 8 "a corrupt and a missing agent ownership record ($agent_record)"
    record=$lb/${agent_record#/var/lib/lvsctl/}
    records=("$lb"/*.json)
    note "records on the LB: ${records[*]##*/}"
    c "the record exists after the runs so far" test -s "$record"
    printf '{"version": 1, "services": [' >"$record"
    before=$(last_run)
    run update --cluster-id 1
    c "corrupt: exit 3, the error names the record (exit $rc; $err)" bash -c \
        '[ "$1" = 3 ] && grep -qF "$3" <<<"$2"' _ "$rc" "$err" "${agent_record##*/}"
    c "corrupt: lvsctl_runs.result is partial ($(results_since "$before" 1))" test "$(results_since "$before" 1)" = partial
    before=$(last_run)
    run update --cluster-id 1
    c "the update after exits 0 (exit $rc; $(results_since "$before" 1); $err)" test "$rc" = 0
    state_before=$(lb_state 100 10.39.84.)
    rm -f "$record"
    before=$(last_run)
    run --json update --cluster-id 1
    c "missing: exit 0 (exit $rc; $err)" test "$rc" = 0
    c "missing: the LB's part of cluster 1 is as it was" test "$(lb_state 100 10.39.84.)" = "$state_before"
    c "missing: the LB changed nothing ($(python3 -c 'import json,sys; print([h["done"] for h in json.load(open(sys.argv[1]))["hosts"] if h["host"].startswith("lb ")])' "$work/out" 2>&1))" \
        python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert all(not h["done"] and not h["errors"] for h in d["hosts"]), d["hosts"]' "$work/out"
    c "missing: the record is written again" test -s "$record"
    case_end
fi

# --- 9. the LB rebooted ---------------------------------------------------------------------------
if want 9; then
    case_begin 9 "the LB rebooted: IPVS, aliases, marks gone; the record still there"
    state_before=$(lb_state 100 10.39.84.)
    in_ns 1 sh -c '
        ipvsadm -C
        iptables-legacy -t mangle -F
        for s in $(ipset list -n); do ipset destroy "$s"; done
        for a in $(ip -o -4 addr show dev eth0 | awk "{print \$4}"); do
            [ "$a" = 10.200.1.1/16 ] || ip addr del "$a" dev eth0
        done'
    c "the reboot emptied IPVS, the aliases and the sets" test \
        "$(in_ns 1 ipvsadm -S -n | wc -l)|$(lb_addrs 1 | grep -c /32)|$(in_ns 1 ipset list -n | wc -l)" = "0|0|0"
    c "the record is still there" bash -c 'ls "$1"/agent-*.json >/dev/null 2>&1' _ "$lb"
    foreign_setup lb # the LB's own configuration, as its boot would
    before=$(last_run)
    run update --cluster-id 1
    c "update exits 0 (exit $rc; $err)" test "$rc|$(results_since "$before" 1)" = "0|converged"
    c "everything is back: services, destinations, aliases, set, rule" test "$(lb_state 100 10.39.84.)" = "$state_before"
    [[ $(lb_state 100 10.39.84.) == "$state_before" ]] ||
        diff <(echo "$state_before") <(lb_state 100 10.39.84.) | sed 's/^/#   /'
    case_end
fi

# --- 3. the agent SIGKILLed in the middle of a 20,000-destination apply ----------------------
if want 3; then
    case_begin 3 "agent apply killed (SIGKILL) half-way through 20,000 destinations"
    c9() { # N PATH: cluster 9's desired state with N destinations (0: no service)
        python3 - "$@" <<'EOF'
import json, sys
n, path = int(sys.argv[1]), sys.argv[2]
dests = [{"address": f"10.90.{i // 250}.{i % 250 + 1}", "port": 0, "forwarding": "route",
          "weight": 1} for i in range(n)]
services = [{"family": "inet", "fwmark": 900, "scheduler": "rr", "persistence": 0,
             "destinations": dests}] if n else []
json.dump({"version": 1, "cluster": {"id": 9, "name": "Bulk", "serial": 1}, "interface": "eth0",
           "website_ips": [], "marks": {"fwmark": 900, "protocol": "tcp", "ports": [80]},
           "services": services, "drain_timeout": 0}, open(path, "w"))
EOF
    }
    c9 20000 "$work/c9.json"
    c9 0 "$work/c9-none.json"
    dests900() { # FILE: cluster 9's destinations in an /proc/net/ip_vs
        awk '$1 == "FWM" {on = ($2 == "00000384")} on && $1 == "->" {n++} END {print n + 0}' "$1" 2>/dev/null
    }
    cluster1_before=$(lb_state 100 10.39.84.)
    t0=$EPOCHREALTIME
    "$ctl" exec 1 "$lvsctl" agent apply <"$work/c9.json" >"$work/c9.out" 2>"$work/c9.err" &
    apid=$! # the agent itself: ctl's programs exec one another
    seen=0
    while kill -0 "$apid" 2>/dev/null; do
        seen=$(dests900 "/proc/$apid/net/ip_vs")
        ((seen >= 2000)) && break
        sleep 0.02
    done
    kill -KILL "$apid" 2>/dev/null
    wait "$apid" 2>/dev/null
    status=$?
    after_kill=$(dests900 <(in_ns 1 cat /proc/net/ip_vs))
    note "killed after $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }') s, status $status, with $seen destinations seen; $after_kill in the kernel"
    c "the agent was killed half-way (status $status, $after_kill of 20000 destinations)" \
        test "$status" = 137 -a "$after_kill" -gt 0 -a "$after_kill" -lt 20000
    "$ctl" exec 1 "$lvsctl" agent apply <"$work/c9.json" >"$work/c9.out" 2>"$work/c9.err"
    rc=$?
    c "apply again: exit 0 ($rc; $(head -c 300 "$work/c9.err"))" test "$rc" = 0
    c "ipvsadm -S -n has exactly the 20,000 destinations" test \
        "$(in_ns 1 ipvsadm -S -n | awk '$1 == "-A" && $3 == 900 {s++} $1 == "-a" && $3 == 900 {d++} END {print s + 0, d + 0}')" = "1 20000"
    c "cluster 1's services, aliases, set and rule are untouched by cluster 9's agent" \
        test "$(lb_state 100 10.39.84.)" = "$cluster1_before"
    foreign_same || true # shown here already, checked by case_end
    # Cleanup: cluster 9 without services. Its mark's rule and (empty) set stay on the LB, and its
    # record: nothing but another document for cluster 9 would remove them.
    "$ctl" exec 1 "$lvsctl" agent apply <"$work/c9-none.json" >"$work/c9.out" 2>"$work/c9.err"
    rc=$?
    c "cleanup: cluster 9's document without services removes them ($rc)" test \
        "$rc|$(in_ns 1 ipvsadm -S -n | grep -c -- '-f 900 ')" = "0|0"
    case_end
    before=$(last_run)
    run update --cluster-id 1
    c "cluster 1 then converges (exit $rc; $err)" test "$rc" = 0
fi

# --- 11. a hung exec: program ----------------------------------------------------------------
if want 11; then
    case_begin 11 "a hung exec: program, --timeout 5"
    export LVSCTL_EXEC_FAULTS_MODE=$work/exec-mode LVSCTL_EXEC_HAPROXY_CFG=$work/haproxy.cfg LVSCTL_EXEC_HAPROXY_RELOAD=true
    echo work >"$LVSCTL_EXEC_FAULTS_MODE"
    run update --cluster-id 3
    c "with a working program cluster 3 converges (exit $rc; $err)" test "$rc|$(grep -c 'bind 10.39.87.131:80' "$work/haproxy.cfg")" = "0|1"
    echo hang >"$LVSCTL_EXEC_FAULTS_MODE"
    before=$(last_run)
    T=5 LIMIT=20 run update --cluster-id 3
    note "the run took ${took}s: $err"
    c "the program was started and hung ($(tr '\n' ' ' <"$LVSCTL_EXEC_FAULTS_MODE.pids" 2>/dev/null))" test -s "$LVSCTL_EXEC_FAULTS_MODE.pids"
    c "the run ends within 15 s (${took}s)" awk -v t="$took" 'BEGIN { exit !(t <= 15) }'
    c "exit 68: the plan failed before anything changed anywhere (exit $rc)" test "$rc" = 68
    c "lvsctl_runs.result is failed ($(results_since "$before" 3))" test "$(results_since "$before" 3)" = failed
    left=()
    while read -r pid _; do
        if grep -qx sleep "/proc/$pid/comm" 2>/dev/null; then left+=("$pid"); fi
    done <"$LVSCTL_EXEC_FAULTS_MODE.pids"
    c "the hung program's process is gone (still running: ${left[*]:-none})" test "${#left[@]}" = 0
    if ((${#left[@]})); then kill -KILL "${left[@]}"; fi
    echo work >"$LVSCTL_EXEC_FAULTS_MODE"
    before=$(last_run)
    run update --cluster-id 3
    c "with the working program back, the next update exits 0 (exit $rc; $err)" test "$rc" = 0
    case_end
fi

# --- 13. the upload of lvs.cf cut in the middle -------------------------------------------------
if want 13; then
    case_begin 13 "piranha: the SSH connection cut in the middle of lvs.cf's upload"
    # Host 1's sshd sees a private /etc (an overlay whose upper layer is a tmpfs here) and a stub
    # `service`: nothing is written to the real machine's /etc, and pulse is not needed.
    modprobe overlay 2>/dev/null
    ovl=$(mktemp -d /run/lvsctl-faults.XXXXXX)
    mkdir -p "$ovl/up" "$ovl/work"
    nsenter -t "$(cat "$dir/host1/sshd.pid")" -m -- sh -ec '
        mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1/up,workdir=$1/work" /etc
        mount --bind "$2" /usr/sbin/service' sh "$ovl" "$here/service-stub"
    c "host 1's sshd has a private /etc and the stub service" test "$?" = 0
    lvscf=$ovl/up/sysconfig/ha/lvs.cf
    # A provider's template with a long comment block: lvs.cf of tens of KB.
    mkdir -p "$work/templates"
    cp "$here/../../templates/"*.tpl "$work/templates/"
    for i in $(seq 1 500); do
        printf '# %03d: the change log this provider keeps in lvs.cf, long enough to be cut.\n' "$i"
    done >>"$work/templates/lvs.cf.tpl"
    pdir=$work/proxy
    mkdir -p "$pdir"
    "$ctl" exec 1 python3 "$here/cut-proxy" 10.200.1.1 2222 10.200.1.1 22 "$pdir" </dev/null >>"$pdir/stderr" 2>&1 &
    wait_for 20 test -e "$pdir/ready"
    c "the proxy listens on 10.200.1.1:2222" test -e "$pdir/ready"
    run --templates "$work/templates" update --cluster-id 4
    c "through the proxy (no cut), cluster 4 converges (exit $rc; $err)" test "$rc" = 0
    old=$(cat "$lvscf" 2>/dev/null)
    size=${#old}
    total=$(awk '/closed:/ {n = $5} END {print n + 0}' "$pdir/proxy.log")
    note "lvs.cf: $size bytes; the converging session sent $total bytes to the LB"
    c "lvs.cf is tens of KB ($size bytes)" test "$size" -ge 20000
    sql "update apache_h2e_nodes set weight = 16 where node_id = 61" # a new lvs.cf
    echo $((total - size / 2)) >"$pdir/cut-after"
    note "cut at byte $((total - size / 2)): inside lvs.cf, which is about the last $size of the session's $total bytes"
    before=$(last_run)
    run --templates "$work/templates" update --cluster-id 4
    rm -f "$pdir/cut-after"
    sed 's/^/#   proxy: /' "$pdir/proxy.log" | tail -n 2
    c "the proxy cut the session" grep -q "cut after" "$pdir/proxy.log"
    c "exit 3 (exit $rc; $err)" test "$rc" = 3
    c "lvsctl_runs.result is partial ($(results_since "$before" 4))" test "$(results_since "$before" 4)" = partial
    # The LB's side of the cut upload may still be finishing: its script is named lvsctl-upload.
    wait_for 20 not pgrep -f lvsctl-upload
    cp "$lvscf" "$work/lvs.cf.after-cut" 2>/dev/null
    sql "update h2e_load_balancers set ssh_port = 22 where cluster_id = 4"
    before=$(last_run)
    run --templates "$work/templates" update --cluster-id 4
    c "the next update without the proxy exits 0 (exit $rc; $err)" test "$rc|$(results_since "$before" 4)" = "0|converged"
    new=$(cat "$lvscf")
    c "the new lvs.cf has the new weight" grep -q 'weight = 16' "$lvscf"
    cut_size=$(wc -c <"$work/lvs.cf.after-cut")
    c "after the cut lvs.cf was the old one or the whole new one, not cut short ($cut_size bytes; old $size, new ${#new})" \
        bash -c '[ "$(cat "$1")" = "$2" ] || [ "$(cat "$1")" = "$3" ]' _ "$work/lvs.cf.after-cut" "$old" "$new"
    c "pulse was reloaded with the whole file" bash -c 'tail -n 1 "$1" | grep -q "service pulse reload (lvs.cf: $2 bytes)"' _ \
        "$lb/service.log" "$(wc -c <"$lvscf")"
    case_end
fi

# --- 10. two clusters on one LB ---------------------------------------------------------------
if want 10; then
    case_begin 10 "two clusters on one LB: each update leaves the other's state alone"
    sql "insert into h2e_clusters (cluster_id, name, ports, fwmark, scheduler) values (2, 'Shop', '{80}', 200, 'rr');
         insert into h2e_load_balancers (cluster_id, role, mgmt_address, vip_interface)
             values (2, 'primary', '10.200.1.1', 'eth0');
         insert into apache_h2e_nodes (node_id, cluster_id, mgmt_address, address)
             values (45, 2, '10.200.1.4', '10.200.1.4');"
    set_ips 2 10.39.85.131 10.39.85.132
    run update --cluster-id 1
    c "cluster 1: update exits 0 (exit $rc; $err)" test "$rc" = 0
    run update --cluster-id 2
    c "cluster 2: update exits 0 (exit $rc; $err)" test "$rc" = 0
    run plan --cluster-id 1 --detailed-exitcode
    c "then cluster 1 is still converged: plan --detailed-exitcode exits 0 (exit $rc; $out)" test "$rc" = 0
    run plan --cluster-id 2 --detailed-exitcode
    c "and cluster 2 is: exit 0 (exit $rc; $out)" test "$rc" = 0
    c "both services are in IPVS" test "$(in_ns 1 ipvsadm -S -n | grep -cE '^-A -f (100|200) ')" = 2
    ip1=$(sql "select host(address) from h2e_cluster_ips where cluster_id = 1 and address <> '10.39.84.131' order by address limit 1")
    state2=$(lb_state 200 10.39.85.)
    run ip remove --cluster-id 1 "$ip1"
    c "cluster 1 loses $ip1: exit 0, off the LB (exit $rc; $err)" bash -c '[ "$1" = 0 ] && ! grep -qxF "$2/32" <<<"$3"' _ "$rc" "$ip1" "$(lb_addrs 1)"
    c "cluster 2's service, destinations, aliases, set and rule untouched" test "$(lb_state 200 10.39.85.)" = "$state2"
    state1=$(lb_state 100 10.39.84.)
    run ip remove --cluster-id 2 10.39.85.132
    c "cluster 2 loses 10.39.85.132: exit 0, off the LB (exit $rc; $err)" bash -c '[ "$1" = 0 ] && ! grep -qxF 10.39.85.132/32 <<<"$2"' _ "$rc" "$(lb_addrs 1)"
    c "cluster 1's service, destinations, aliases, set and rule untouched" test "$(lb_state 100 10.39.84.)" = "$state1"
    case_end
fi

note "the suite took $((SECONDS - suite_start)) s"
finish
