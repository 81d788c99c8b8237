#!/bin/bash
# Real traffic through the agent's IPVS table (run inside user-mode Linux by ctest): network
# namespaces client, lb, web1, web2 on a bridge, direct routing as in the seed article.
set -uo pipefail
lvsctl=$1
here=$(dirname "$(readlink -f "$0")")
state=$(mktemp -d /var/tmp/lvsctl-traffic.XXXXXX)
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib.sh"
# shellcheck source=tests/kernel/dr_network.sh
source "$here/dr_network.sh"
pids=()
cleanup() {
    kill "${pids[@]}" 2>/dev/null
    dr_network_down
    rm -rf "$state"
}
trap cleanup EXIT

# --- the network: one L2 segment, the LB and two web servers with the website IP on lo -----
dr_network_up
in_ns web1 python3 "$here/web_server.py" 43 & pids+=($!)
in_ns web2 python3 "$here/web_server.py" 44 & pids+=($!)

state_doc() {  # state_doc SCHEDULER "ADDR:WEIGHT ..." [DRAIN]
    local dests="" d
    for d in $2; do
        dests+="${dests:+, }{\"address\": \"${d%:*}\", \"port\": 0, \"forwarding\": \"route\", \"weight\": ${d#*:}}"
    done
    cat <<JSON
{"version": 1, "cluster": {"id": 1, "name": "Web-Cluster", "serial": 1}, "interface": "eth0",
 "website_ips": ["$vip"], "marks": {"fwmark": 100, "protocol": "tcp", "ports": [80, 443]},
 "services": [{"family": "inet", "fwmark": 100, "scheduler": "$1", "persistence": 0,
               "destinations": [$dests]}], "drain_timeout": ${3:-30}}
JSON
}
agent() { in_ns lb "$lvsctl" agent apply --state-dir "$state"; }
get() { in_ns client curl -s -m 20 -D - -o /dev/null "http://$vip$1" | tr -d '\r' | awk -F': ' '$1 == "X-SERVER" {print $2}'; }
dest_field() {  # dest_field ADDR COLUMN -> a column of `ipvsadm -L -n --stats` for ADDR
    in_ns lb ipvsadm -L -n --stats | awk -v a="$1:0" -v c="$2" '$2 == a {print $c}'
}
for web in web1 web2; do
    wait_for 30 in_ns "$web" bash -c "exec 3<>/dev/tcp/127.0.0.1/80" 2>/dev/null
done

# --- the agent programs the LB; clients reach both servers through the website IP ------------
state_doc rr "10.39.84.43:32 10.39.84.44:32" | agent >/dev/null
check "agent apply on the LB exits 0" test $? = 0
check "the website IP is on the LB's eth0" bash -c "ip netns exec lb ip -o addr show dev eth0 | grep -q ' $vip/32 '"
seen=""
for i in $(seq 1 20); do seen+="$(get /) "; done
check "20 requests to the website IP all answered" test "$(wc -w <<<"$seen")" = 20
check "both web servers answered, each with its own X-SERVER" bash -c "grep -qw 43 <<<'$seen' && grep -qw 44 <<<'$seen'"
conns() { echo $(( $(dest_field 10.39.84.43 3) + $(dest_field 10.39.84.44 3) )); }
all_counted() { (( $(conns) >= 20 )); }  # the kernel's estimator adds counters every 2 s
wait_for 10 all_counted
check "ipvsadm -L -n --stats counts all 20 connections" test "$(conns)" -ge 20
shown=$(in_ns lb "$lvsctl" agent show | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(x["stats"]["conns"] for s in d["services"] for x in s["destinations"]))')
check "agent show reports the same counters" test "$shown" -ge 20

# --- a weight change keeps the destination and its counters ---------------------------------
before=$(dest_field 10.39.84.43 3)
state_doc rr "10.39.84.43:5 10.39.84.44:32" | agent >/dev/null
check "weight 5 applied" test "$(in_ns lb ipvsadm -L -n | awk '$2 == "10.39.84.43:0" {print $4}')" = 5
check "its connection counter survived the change ($before)" test "$(dest_field 10.39.84.43 3)" -ge "$before"

# --- draining: a removed server keeps its open connection until it ends ---------------------
state_doc rr "10.39.84.43:0 10.39.84.44:32" | agent >/dev/null   # new connections go to web2
result=$state/slow.out
(in_ns client curl -s -m 30 -D - "http://$vip/slow?s=8" >"$result" 2>&1) & held=$!
active_on() { in_ns lb ipvsadm -L -n | awk -v a="$1:0" '$2 == a {print $5}'; }
held_on_web2() { [ "$(active_on 10.39.84.44)" = 1 ]; }
wait_for 20 held_on_web2
check "a connection is held open on web2" held_on_web2
start=$SECONDS
state_doc rr "10.39.84.43:32" 30 | agent >"$state/drain.json" &
drainer=$!
sleep 2
check "while draining, web2 is at weight 0 and still present" test "$(in_ns lb ipvsadm -L -n | awk '$2 == "10.39.84.44:0" {print $4}')" = 0
check "new requests meanwhile go to web1" test "$(get /)" = 43
wait "$drainer"
check "the agent returned when the connection ended" test $? = 0
waited=$((SECONDS - start))
check "it waited for the connection (${waited}s), not for the 30 s timeout" test "$waited" -ge 4 -a "$waited" -lt 28
wait "$held"
check "the held connection completed, answered by web2" grep -q 'X-SERVER: 44' "$result"
check "web2 has left IPVS" test -z "$(in_ns lb ipvsadm -L -n | awk '$2 == "10.39.84.44:0"')"
check "the agent reported the delete" grep -q 'delete destination 10.39.84.44:0 from FWM 100' "$state/drain.json"

finish
