#!/bin/bash
# `lvsctl monitor` against real servers (run inside user-mode Linux by ctest): the network of
# traffic_test.sh (client, lb, web1, web2 in namespaces, direct routing); the agent programs the
# LB, the monitor checks web1 and web2 over TCP and sets their IPVS weights (docs/monitor.md).
set -uo pipefail
lvsctl=$1
here=$(dirname "$(readlink -f "$0")")
state=$(mktemp -d /var/tmp/lvsctl-monitor.XXXXXX)
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib.sh"
# shellcheck source=tests/kernel/dr_network.sh
source "$here/dr_network.sh"
declare -A server_pid=()
monitor_pid=
cleanup() {
    [ -n "$monitor_pid" ] && kill "$monitor_pid" 2>/dev/null
    kill "${server_pid[@]}" 2>/dev/null
    dr_network_down
    rm -rf "$state"
}
trap cleanup EXIT

dr_network_up
listening() { in_ns "$1" bash -c "exec 3<>/dev/tcp/127.0.0.1/80" 2>/dev/null; }
serve() {  # serve WEB http|silent|ssh: what answers on the server's port 80 ($! is the server:
    # ip netns exec execs it)
    local web=$1 id=${addr[$1]##*.}
    stop "$web"
    case $2 in
        http) ip netns exec "$web" python3 "$here/web_server.py" "$id" & ;;
        silent) ip netns exec "$web" python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 80)); s.listen(16); held = []
while True:
    c, _ = s.accept(); held.append(c)' & ;;
        ssh) ip netns exec "$web" python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 80)); s.listen(16)
while True:
    c, _ = s.accept(); c.sendall(b"SSH-2.0-OpenSSH_9.2\r\n"); c.close()' & ;;
    esac
    server_pid[$web]=$!
    wait_for 20 listening "$web"
}
stop() {
    if [ -n "${server_pid[$1]:-}" ]; then
        kill "${server_pid[$1]}" 2>/dev/null
        wait "${server_pid[$1]}" 2>/dev/null
        unset "server_pid[$1]"
    fi
}
serve web1 http
serve web2 http

cat >"$state/load" <<'SH'
#!/bin/sh
# The load command: uptime's line for web1, a bare number for web2.
case $1 in
    10.39.84.43) echo " 10:00:00 up 1 day,  1 user,  load average: 0.10, 0.20, 0.30" ;;
    10.39.84.44) echo 3.0 ;;
    *) exit 1 ;;
esac
SH
chmod +x "$state/load"

state_doc() {  # state_doc "ADDR:WEIGHT ..." QUIESCE [LOAD_MONITOR]
    local dests="" servers="" d
    for d in $1; do
        dests+="${dests:+, }{\"address\": \"${d%:*}\", \"port\": 0, \"forwarding\": \"route\", \"weight\": ${d#*:}}"
        servers+="${servers:+, }{\"address\": \"${d%:*}\", \"mgmt_address\": \"${d%:*}\"}"
    done
    cat <<JSON
{"version": 1, "cluster": {"id": 1, "name": "Web-Cluster", "serial": 1}, "interface": "eth0",
 "website_ips": ["$vip"], "marks": {"fwmark": 100, "protocol": "tcp", "ports": [80, 443]},
 "services": [{"family": "inet", "fwmark": 100, "scheduler": "rr", "persistence": 0,
               "destinations": [$dests]}], "drain_timeout": 0,
 "checks": {"interval": 1, "timeout": 1, "reentry": 2, "port": 80,
            "send": "GET / HTTP/1.0\\r\\n\\r\\n", "expect": "HTTP", "use_regex": false,
            "quiesce": $2, "load_scale": 10${3:+, \"load_monitor\": \"$3\"}, "servers": [$servers]}}
JSON
}
agent() { in_ns lb "$lvsctl" agent apply --state-dir "$state" >"$state/agent.out" 2>&1; }
weight() { in_ns lb ipvsadm -L -n | awk -v a="$1:0" '$2 == a {print $4}'; }
absent() { [ -z "$(weight "$1")" ]; }
weight_is() { [ "$(weight "$1")" = "$2" ]; }
logged() { grep -qF "$1" "$state/monitor.log"; }
get() { in_ns client curl -s -m 5 -D - -o /dev/null "http://$vip/" | tr -d '\r' | awk -F': ' '$1 == "X-SERVER" {print $2}'; }
start_monitor() {
    # Not through in_ns: $! must be the monitor itself (ip netns exec execs it), not a subshell.
    # No --cluster-id: it finds the one cluster the agent left a desired state for.
    ip netns exec lb "$lvsctl" monitor --state-dir "$state" --metrics-listen 127.0.0.1:9632 \
        >>"$state/monitor.log" 2>&1 &
    monitor_pid=$!
}

state_doc "10.39.84.43:32 10.39.84.44:32" false | agent
check "agent apply with checks exits 0" test $? = 0
check "the agent left the desired state for the monitor" test -s "$state/desired-cluster-1.json"
start_monitor
wait_for 10 test -s "$state/health-cluster-1.json"
check "the monitor writes its health record" test -s "$state/health-cluster-1.json"
check "both servers up, weights as the database has them" bash -c "[ \"\$(ip netns exec lb ipvsadm -L -n | awk '\$2 ~ /^10.39.84.4[34]:0\$/ {print \$4}' | sort -u)\" = 32 ]"

# --- a dead web server leaves IPVS within one interval plus the timeout ---------------------
stop web1
t0=$SECONDS
wait_for 10 absent 10.39.84.43
took=$((SECONDS - t0))
check "web1 stopped: out of IPVS in ${took}s (interval 1 + timeout 1, and a round's slack)" test "$took" -le 4
check "logged as nanny does" logged "[inactive] shutting down 10.39.84.43:80 due to connection failure"
answers=""
for _ in $(seq 1 10); do answers+="$(get) "; done
check "10 requests through the website IP, all answered by web2 ($answers)" test "$(tr ' ' '\n' <<<"$answers" | grep -c '^44$')" = 10

metrics() { in_ns lb curl -s -m 5 http://127.0.0.1:9632/metrics; }
metric() { metrics | awk -v m="$1" '$1 == m {print $2}'; }
web1_dest='{fwmark="100",family="inet",address="10.39.84.43"}'
web2_dest='{fwmark="100",family="inet",address="10.39.84.44"}'
check "metrics: web1 down" test "$(metric 'lvsctl_server_up{address="10.39.84.43"}')" = 0
check "metrics: web1's weight 0, its configured weight 32" test "$(metric "lvsctl_destination_weight$web1_dest")/$(metric "lvsctl_destination_configured_weight$web1_dest")" = 0/32
check "metrics: web2's weight 32" test "$(metric "lvsctl_destination_weight$web2_dest")" = 32
counted() { [ "$(metric "lvsctl_destination_connections_total$web2_dest")" -ge 10 ] 2>/dev/null; }
wait_for 5 counted  # the metrics are those of the last round
check "metrics: web2's connections counted by IPVS (at least the 10 requests)" counted
check "metrics: only /metrics is served" bash -c "ip netns exec lb curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9632/ | grep -qx 404"

# --- agent apply with a new database weight while web1 is down keeps it out -----------------
state_doc "10.39.84.43:64 10.39.84.44:32" false | agent
check "agent apply exits 0" test $? = 0
check "web1 stays out although the database changed its weight" absent 10.39.84.43

# --- back after reentry, with weight >> 5, then slow start -----------------------------------
serve web1 http
wait_for 15 weight_is 10.39.84.43 2
check "web1 back with weight 64 >> 5 = 2" weight_is 10.39.84.43 2
check "logged as nanny does" logged "[ active ] making 10.39.84.43:80 available"
wait_for 30 weight_is 10.39.84.43 4
check "slow start: its weight doubles after 20 s" weight_is 10.39.84.43 4

# --- a server that accepts but never answers, and one whose reply is not HTTP ----------------
serve web2 silent
wait_for 10 absent 10.39.84.44
check "web2 accepting but never answering: out (timeout)" absent 10.39.84.44
serve web2 ssh
sleep 3
check "web2 answering SSH-2.0: still out (the reply does not start with HTTP)" absent 10.39.84.44
check "the health record says why" grep -q 'SSH-2.0' "$state/health-cluster-1.json"
serve web2 http
wait_for 15 weight_is 10.39.84.44 1
check "web2 answering HTTP again: back at weight 32 >> 5 = 1" weight_is 10.39.84.44 1

# --- killed and restarted: the table stays, no flapping --------------------------------------
kill -TERM "$monitor_pid"; wait "$monitor_pid" 2>/dev/null
monitor_pid=
check "SIGTERM: the monitor says it left the table" logged "stopped; the IPVS table is left as it is"
before=$(weight 10.39.84.43)/$(weight 10.39.84.44)
lines=$(wc -l <"$state/monitor.log")
start_monitor
sleep 3
check "restarted: the weights are as they were ($before)" test "$(weight 10.39.84.43)/$(weight 10.39.84.44)" = "$before"
check "restarted: no server shut down or made available" bash -c "! tail -n +$((lines + 1)) '$state/monitor.log' | grep -q -e 'shutting down' -e 'making'"

# --- quiesce_server: a failed server stays at weight 0 ---------------------------------------
state_doc "10.39.84.43:32 10.39.84.44:32" true | agent
stop web1
wait_for 10 weight_is 10.39.84.43 0
check "quiesce: web1 failed, kept at weight 0" weight_is 10.39.84.43 0
serve web1 http
back() { [ "$(weight 10.39.84.43)" -ge 1 ] 2>/dev/null; }
wait_for 15 back
check "quiesce: web1 back once it answers" back

# --- load-driven weights: load 0.1 raises web1, 3.0 leaves web2 at its floor -----------------
kill -TERM "$monitor_pid"; wait "$monitor_pid" 2>/dev/null
state_doc "10.39.84.43:32 10.39.84.44:32" false "$state/load" | agent
in_ns lb ipvsadm -e -f 100 -r 10.39.84.43 -g -w 32
in_ns lb ipvsadm -e -f 100 -r 10.39.84.44 -g -w 32
start_monitor
above() { [ "$(weight 10.39.84.43)" -gt 32 ] 2>/dev/null; }
wait_for 30 above
check "load 0.10: web1's weight rises above 32 ($(weight 10.39.84.43))" above
check "load 3.0: web2 stays at its configured weight, the floor" weight_is 10.39.84.44 32
check "the change is logged with its load" logged "(load 0.10)"

# --- the monitor touches no service it does not own ------------------------------------------
in_ns lb ipvsadm -A -t 10.99.0.1:80 -s rr
in_ns lb ipvsadm -a -t 10.99.0.1:80 -r 10.39.84.43:80 -g -w 7
stop web1
wait_for 10 absent 10.39.84.43
check "web1 out of the cluster's service" absent 10.39.84.43
check "a foreign service's destination on web1 is untouched" bash -c "ip netns exec lb ipvsadm -L -n | grep -A3 '10.99.0.1:80' | grep -q '10.39.84.43:80 *Route *7'"

finish
