#!/bin/bash
# The demo's guest part (tools/demo runs it inside user-mode Linux, under tests/db/with-postgres
# and tests/ssh/sshd-hosts 4): the seed article's cluster in a throwaway PostgreSQL, an LB and
# two web servers that are sshd hosts (each web server with an HTTP server answering with
# X-SERVER: <node_id>), this namespace as the client. Narrates each step; at the end the LB's
# monitor takes a dead web server out and puts it back.
set -uo pipefail
lvsctl=$(readlink -f "$1")
here=$(cd "$(dirname "$0")" && pwd)
ctl=$LVSCTL_TEST_SSH_CTL
vip=10.39.84.131
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() {
    printf '\033[1m$ %s\033[0m\n' "$*"
    "$@"
}
psql -q -X -v ON_ERROR_STOP=1 -d postgres -c 'create database lvsctl_demo' >/dev/null || exit 1
export LVSCTL_DB="host=$PGHOST user=lvsctl dbname=lvsctl_demo"
# What a config file would say on a management node (see README: the config file).
lvsctl() {
    "$lvsctl" --known-hosts "$LVSCTL_TEST_SSH_KNOWN_HOSTS" --ssh-identity "$LVSCTL_TEST_SSH_IDENTITY" \
        --agent "$lvsctl" --timeout 60 "$@"
}
for i in 2 3 4; do
    "$ctl" exec "$i" setsid python3 "$here/../kernel/web_server.py" $((41 + i)) </dev/null >/dev/null 2>&1 &
done
ip route add "$vip/32" dev eth0
request() { curl -s -m 10 -D - -o /dev/null "http://$vip/" | tr -d '\r' | awk -F': ' '$1 == "X-SERVER" {print $2}'; }
requests() {
    local i seen=""
    for i in $(seq 1 "$1"); do seen+="$(request) "; done
    printf 'answered by X-SERVER: %s\n' "$seen"
}

say "The database: the seed article's cluster (LB 10.200.1.1; web servers 43 and 44, weight 32, lblc, fwmark 100, one website IP)"
show "$lvsctl" db migrate
psql -q -X -d lvsctl_demo <<SQL
insert into h2e_clusters (cluster_id, name, ports) values (1, 'Web-Cluster', '{80}');
insert into h2e_load_balancers (cluster_id, role, mgmt_address, vip_interface)
    values (1, 'primary', '10.200.1.1', 'eth0');
insert into apache_h2e_nodes (node_id, cluster_id, mgmt_address, address, weight)
    values (43, 1, '10.200.1.2', '10.200.1.2', 32), (44, 1, '10.200.1.3', '10.200.1.3', 32);
insert into h2e_cluster_ips (cluster_id, address) values (1, '$vip');
SQL
show lvsctl render --cluster-id=1

say "What update would do, then update"
show lvsctl plan --cluster-id=1
show lvsctl update --cluster-id=1
say "The LB's IPVS table, and where the website IP is"
show lvsctl status --cluster-id=1

say "HTTP requests from the client to $vip (lblc keeps a website IP on one server until it is loaded)"
requests 10
show lvsctl status --cluster-id=1 --stats

say "Round robin instead, to see both servers: the platform changes the scheduler, then update"
psql -q -X -d lvsctl_demo -c "update h2e_clusters set scheduler = 'rr' where cluster_id = 1"
show lvsctl update --cluster-id=1
requests 10

say "Hook: server 43 to weight 0 (no new connections)"
show lvsctl server set --cluster-id=1 --node-id=43 --weight=0
requests 6

say "Hook: a new server 45 (10.200.1.4): its lo first, then IPVS"
show lvsctl server add --cluster-id=1 --node-id=45 --address=10.200.1.4 --mgmt-address=10.200.1.4 --weight=32
requests 6
show lvsctl status --cluster-id=1

say "A second update changes nothing"
show lvsctl update --cluster-id=1

say "nanny's successor: lvsctl monitor on the LB checks every web server (every 2 s here, reentry 6 s)"
psql -q -X -d lvsctl_demo -c "update h2e_clusters set check_interval = 2, check_timeout = 2, check_reentry = 6 where cluster_id = 1"
show lvsctl update --cluster-id=1
monitor_log=$LVSCTL_TEST_SSH_DIR/monitor.log
# On a real LB: systemctl enable --now lvsctl-monitor@1 (README: the monitor).
"$ctl" exec 1 setsid "$lvsctl" monitor </dev/null >"$monitor_log" 2>&1 &
sleep 5
show lvsctl status --cluster-id=1

say "Web server 44's HTTP server dies: the monitor takes it out of IPVS by itself"
"$ctl" exec 3 pkill -f "web_server.py 44"
sleep 5
show lvsctl status --cluster-id=1
requests 6

say "It answers again: back after 6 s of passing checks, at weight 32 >> 5 = 1 (slow start)"
"$ctl" exec 3 setsid python3 "$here/../kernel/web_server.py" 44 </dev/null >/dev/null 2>&1 &
sleep 10
show lvsctl status --cluster-id=1
echo "The monitor's log (journald on a real LB):"
sed 's/^/  /' "$monitor_log"
"$ctl" exec 1 pkill -f "lvsctl monitor"
echo
echo "demo: done; the test bed is removed on the way out."
