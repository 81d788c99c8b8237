#!/bin/bash
# `lvsctl serve` end to end in a real browser (run inside user-mode Linux, under
# tests/db/with-postgres and tests/ssh/sshd-hosts 3): the seed article's cluster in a real
# PostgreSQL, host 1 the LB (the real agent, over SSH), hosts 2 and 3 the web servers; serve
# listens in the management namespace, where this script runs, and a headless Chromium driven
# by Selenium (web_view_browser.py) watches the cluster's page change in place after a hook.
# Then the plain HTTP side with curl: /metrics, the methods and Host headers refused, the JSON,
# and drift made by hand showing in /metrics until update repairs it.
# shellcheck disable=SC2317  # the checks call functions (after an exit in an if)
set -uo pipefail
lvsctl=$(readlink -f "$1")
here=$(cd "$(dirname "$0")" && pwd)
ctl=$LVSCTL_TEST_SSH_CTL
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$here/../lib.sh"
vip=10.39.84.131
listen=127.0.0.1:9633
url=http://$listen
psql -q -X -v ON_ERROR_STOP=1 -d postgres -c 'create database lvsctl_web' || exit 1
export LVSCTL_DB="host=$PGHOST user=lvsctl dbname=lvsctl_web"
sql() { psql -q -X -A -t -v ON_ERROR_STOP=1 -d lvsctl_web -c "$1"; }
# lvsctl with the test hosts' SSH settings, for every command here and for the browser's hook.
lv=("$lvsctl" --known-hosts "$LVSCTL_TEST_SSH_KNOWN_HOSTS" --ssh-identity "$LVSCTL_TEST_SSH_IDENTITY"
    --agent "$lvsctl" --timeout 60)
run() { # sets rc and err
    "${lv[@]}" "$@" >/dev/null 2>"$LVSCTL_TEST_SSH_DIR/err"
    rc=$?
    err=$(cat "$LVSCTL_TEST_SSH_DIR/err")
}

"$lvsctl" db migrate >/dev/null || exit 1
psql -q -X -v ON_ERROR_STOP=1 -v vip="$vip" -d lvsctl_web -f "$here/seed_cluster.sql" || exit 1
run update --cluster-id 1
check "update: exit 0 ($err)" test "$rc" = 0

# serve in the background; its stderr says when it listens.
serve_log=$LVSCTL_TEST_SSH_DIR/serve.log
"${lv[@]}" serve --listen "$listen" --interval 2 </dev/null >/dev/null 2>"$serve_log" &
serve=$!
trap 'kill -KILL "$serve" 2>/dev/null' EXIT
# The line may go on after the address (" (read-only)").
serving() { grep -qE "^lvsctl serve: serving ${url//./\\.}/( |\$)" "$serve_log"; }
serving_or_gone() { serving || ! kill -0 "$serve" 2>/dev/null; }
wait_for 30 serving_or_gone
check "serve says it serves $url/" serving
if ! serving; then
    sed 's/^/# serve: /' "$serve_log"
    finish
fi

# The browser: the page, then the hook it watches (its exact command after --). Chromium's
# profile and temporary files in the guest's tmpfs (/run), not in the host's /tmp.
check "the cluster's page in headless Chromium, refreshed in place after server set" \
    env TMPDIR=/run /usr/bin/python3 "$here/web_view_browser.py" "$url" -- \
    "${lv[@]}" server set --cluster-id 1 --node-id 43 --weight 10

metrics() { curl -s -m 10 "$url/metrics"; }
metric() { metrics | awk -v n="$1" '$1 == n {print $2}'; }
has_series() { # TEXT NAME{LABELS}...: each a line of TEXT with a number
    local text=$1 n
    shift
    for n; do
        awk -v n="$n" '$1 == n && $2 ~ /^[0-9.e+-]+$/ {found = 1} END {exit !found}' <<<"$text" \
            || { echo "# /metrics has no $n"; return 1; }
    done
}
check "/metrics has the cluster's series" has_series "$(metrics)" \
    'lvsctl_runs_total{cluster_id="1",result="converged"}' 'lvsctl_last_run_age_seconds{cluster_id="1"}' \
    'lvsctl_cluster_drift_hosts{cluster_id="1"}' 'lvsctl_cluster_hosts_unreadable{cluster_id="1"}'
converged=$(metric 'lvsctl_runs_total{cluster_id="1",result="converged"}')
check "/metrics: at least one converged run ($converged)" test "${converged:-0}" -ge 1
check "/metrics: no host drifts, none unreadable" test \
    "$(metric 'lvsctl_cluster_drift_hosts{cluster_id="1"}')|$(metric 'lvsctl_cluster_hosts_unreadable{cluster_id="1"}')" = "0|0"
code() { curl -s -m 10 -o /dev/null -w '%{http_code}' "$@"; }
check "POST: 405" test "$(code -X POST "$url/")" = 405
check "a foreign Host header: 421" test "$(code -H 'Host: evil.example' "$url/cluster/1")" = 421
status_json() { # status --json's document for cluster 1: its three hosts
    curl -s -m 10 "$url/cluster/1.json" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(not (d["cluster"]["id"] == 1 and len(d["hosts"]) == 3))'
}
check "/cluster/1.json is status --json's document" status_json

# Drift made by hand shows within a few intervals; update repairs it.
drift_hosts() { [ "$(metric 'lvsctl_cluster_drift_hosts{cluster_id="1"}')" = "$1" ]; }
"$ctl" exec 2 ip addr del "$vip/32" dev lo
wait_for 15 drift_hosts 1
check "the website IP taken off web server 2's lo: drift_hosts 1" drift_hosts 1
run update --cluster-id 1
check "update: exit 0 ($err)" test "$rc" = 0
wait_for 15 drift_hosts 0
check "after update: drift_hosts 0" drift_hosts 0

# A gather under way may delay the stop by a few seconds; a serve that ignores SIGTERM is killed.
kill -TERM "$serve"
term=$SECONDS
stopped() { ! kill -0 "$serve" 2>/dev/null; }
wait_for 30 stopped || kill -KILL "$serve"
wait "$serve"
rc=$?
check "serve: SIGTERM stops it, exit 0 (exit $rc after $((SECONDS - term)) s)" test "$rc" = 0
finish
