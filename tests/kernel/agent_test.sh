#!/bin/bash
# `lvsctl agent apply` on a real kernel (run inside user-mode Linux by ctest): IPVS, website IP
# aliases and firewall marks, checked with ipvsadm, ip, ipset and iptables-legacy-save.
set -uo pipefail
lvsctl=$1
state=$(mktemp -d /var/tmp/lvsctl-agent-test.XXXXXX)
trap 'rm -rf "$state"' EXIT
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib.sh"
agent() { "$lvsctl" agent apply --state-dir "$state" "$@"; }
doc() {  # doc MARK INTERFACE IPS... -> a desired state with two servers (IPv6 when an IP is)
    local mark=$1 ifname=$2
    shift 2
    local ips="" v6=0 ip
    for ip in "$@"; do
        ips+="${ips:+, }\"$ip\""
        [[ $ip == *:* ]] && v6=1
    done
    local v6svc=""
    if ((v6)); then
        v6svc=', {"family": "inet6", "fwmark": '$mark', "scheduler": "lblc", "persistence": 0,
          "destinations": [{"address": "2001:db8:84::43", "port": 0, "forwarding": "route", "weight": 32},
                           {"address": "2001:db8:84::44", "port": 0, "forwarding": "route", "weight": 32}]}'
    fi
    cat <<JSON
{"version": 1, "cluster": {"id": 1, "name": "Web-Cluster", "serial": 1}, "interface": "$ifname",
 "website_ips": [$ips], "marks": {"fwmark": $mark, "protocol": "tcp", "ports": [80, 443]},
 "services": [{"family": "inet", "fwmark": $mark, "scheduler": "lblc", "persistence": 0,
   "destinations": [{"address": "10.39.84.43", "port": 0, "forwarding": "route", "weight": 32},
                    {"address": "10.39.84.44", "port": 0, "forwarding": "route", "weight": 32}]}$v6svc],
 "drain_timeout": 0}
JSON
}
addrs() { ip -o addr show dev "$1" scope global | awk '{print $4}' | sort | tr '\n' ' '; }
members() { ipset save "$1" 2>/dev/null | awk '$1 == "add" {print $3}' | sort | tr '\n' ' '; }
our_rules() { "$1" -t mangle | grep -c -- '--comment lvsctl-fwmark-' || true; }

ip link add eth1 type dummy && ip link set eth1 up
ip link add eth2 type dummy && ip link set eth2 up
ip addr add 10.39.94.41/24 dev eth1          # the LB's own address
ip addr add 192.0.2.7/32 dev eth1            # someone else's alias
own_before=$(addrs eth1)

# --- bad input: exit 65, nothing changed ----------------------------------------------------
for bad in '{' '{"version": 1}' \
    "$(doc 100 eth1 10.39.84.131 | sed 's/"interface"/"colour": 1, "interface"/')" \
    "$(doc 0 eth1 10.39.84.131)" \
    "$(doc 100 eth9 10.39.84.131)" \
    "$(doc 100 eth1 10.39.84.131 | sed 's/"10.39.84.43"/"2001:db8::43"/')" \
    "$(doc 100 eth1 10.39.84.131 | sed 's/"weight": 32}]/"weight": 70000}]/')"; do
    rc=0; out=$(agent <<<"$bad" 2>&1) || rc=$?
    check "refused with 65: $(head -c 60 <<<"$out")" test "$rc" = 65
done
check "nothing changed by refused input" test -z "$(ipvsadm -S -n)$(members lvsctl-100-4)$(ls "$state")"
check "the interface untouched by refused input" test "$(addrs eth1)" = "$own_before"

# --- from empty, dual stack -------------------------------------------------------------------
out=$(doc 100 eth1 10.39.84.131 2001:db8:84::131 | agent) ; rc=$?
check "apply from empty exits 0" test "$rc" = 0
check "report says changed" grep -q '"changed": true' <<<"$out"
check "IPVS: both fwmark services, as ipvsadm -S -n shows" test "$(ipvsadm -S -n | sort | tr '\n' '|')" = \
"-A -f 100 -6 -s lblc|-A -f 100 -s lblc|-a -f 100 -6 -r [2001:db8:84::43]:0 -g -w 32|-a -f 100 -6 -r [2001:db8:84::44]:0 -g -w 32|-a -f 100 -r 10.39.84.43:0 -g -w 32|-a -f 100 -r 10.39.84.44:0 -g -w 32|"
check "aliases on eth1: /32 and /128, the LB's own kept" test "$(addrs eth1)" = "10.39.84.131/32 10.39.94.41/24 192.0.2.7/32 2001:db8:84::131/128 "
check "IPv6 alias is not tentative (nodad)" bash -c "! ip -6 addr show dev eth1 | grep -q tentative"
check "ipset v4 members" test "$(members lvsctl-100-4)" = "10.39.84.131 "
check "ipset v6 members" test "$(members lvsctl-100-6)" = "2001:db8:84::131 "
check "one mark rule for IPv4, one set lookup" test "$(our_rules iptables-legacy-save)" = 1
check "one mark rule for IPv6" test "$(our_rules ip6tables-legacy-save)" = 1
check "the rule marks tcp 80,443 to the set with 100" grep -q -- \
    '-A PREROUTING -p tcp -m set --match-set lvsctl-100-4 dst -m multiport --dports 80,443 -m comment --comment lvsctl-fwmark-100 -j MARK --set-xmark 0x64/0xffffffff' \
    <(iptables-legacy-save -t mangle)

shown=$("$lvsctl" agent show --state-dir "$state")
check "agent show: interface, website IPs, marks and services" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["interface"] == "eth1", d["interface"]
assert sorted(d["website_ips"]) == ["10.39.84.131", "2001:db8:84::131"], d["website_ips"]
assert d["marks"] == {"fwmarks": [100], "via": "iptables"}, d["marks"]
assert sorted((s["family"], s["fwmark"]) for s in d["services"]) == [("inet", 100), ("inet6", 100)]
assert all(len(s["destinations"]) == 2 for s in d["services"])
' "$shown"

# --- a second run changes nothing --------------------------------------------------------------
snapshot() { ipvsadm -S -n; addrs eth1; iptables-legacy-save -t mangle | grep -v '^#'; ipset save; }
before=$(snapshot)
out=$(doc 100 eth1 10.39.84.131 2001:db8:84::131 | agent); rc=$?
check "re-run exits 0" test "$rc" = 0
check "re-run: changed false, nothing done" bash -c 'grep -q "\"changed\": false" <<<"$1" && grep -q "\"done\": \[\]" <<<"$1"' _ "$out"
check "re-run: not one netlink change" grep -q '"changes_sent": 0' <<<"$out"
check "re-run: kernel state identical" test "$(snapshot)" = "$before"

# --- digests: a run trusts services it left converged; --full (or the interval) compares all ---
check "the record keeps a digest per service and the time of the full run" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert sorted((x["family"], len(x["digest"])) for x in d["digests"]) == [("inet", 16), ("inet6", 16)], d
assert d["last_full"] > 0, d
' "$state/agent-state.json"
ipvsadm -d -f 100 -r 10.39.84.44   # by hand, behind the agent's back
out=$(doc 100 eth1 10.39.84.131 2001:db8:84::131 | agent); rc=$?
check "a trusting run exits 0 and sends nothing" grep -q '"changes_sent": 0' <<<"$out"
check "a trusting run does not dump the service, so misses the hand edit" bash -c '! ipvsadm -S -n | grep -q 10.39.84.44'
out=$(doc 100 eth1 10.39.84.131 2001:db8:84::131 | agent --full); rc=$?
check "--full exits 0 and puts the destination back" bash -c 'test "$1" = 0 && ipvsadm -S -n | grep -q "10.39.84.44:0 -g -w 32"' _ "$rc"
check "--full: one change" grep -q '"changes_sent": 1' <<<"$out"
ipvsadm -d -f 100 -r 10.39.84.44
doc 100 eth1 10.39.84.131 2001:db8:84::131 | agent --full-interval 0 >/dev/null
check "--full-interval 0: every run is a full one" bash -c 'ipvsadm -S -n | grep -q "10.39.84.44:0 -g -w 32"'
ipvsadm -e -f 100 -r 10.39.84.43 -g -w 5
doc 100 eth1 10.39.84.131 2001:db8:84::131 | sed 's/\("10.39.84.44", "port": 0, "forwarding": "route", "weight": \)32/\131/' | agent >/dev/null
check "a changed service is dumped even when trusting: the hand edit in it repaired" \
    bash -c 'ipvsadm -S -n | grep -q "10.39.84.43:0 -g -w 32" && ipvsadm -S -n | grep -q "10.39.84.44:0 -g -w 31"'
doc 100 eth1 10.39.84.131 2001:db8:84::131 | agent >/dev/null
check "back to the state before" test "$(snapshot)" = "$before"

# --- many website IPs, then some removed -------------------------------------------------------
many=(10.39.84.131 2001:db8:84::131)
for i in $(seq 1 200); do many+=("10.39.85.$((i % 250 + 1))"); done
mapfile -t many < <(printf '%s\n' "${many[@]}" | sort -u)
doc 100 eth1 "${many[@]}" | agent >/dev/null; rc=$?
check "200 more IPs: exit 0" test "$rc" = 0
check "200 more IPs: all on eth1" test "$(ip -o -4 addr show dev eth1 | grep -c '10.39.85.')" = 200
check "200 more IPs: all in the set" test "$(ipset save lvsctl-100-4 | grep -c '^add')" = 201
doc 100 eth1 10.39.84.132 2001:db8:84::131 | agent >/dev/null; rc=$?
check "IPs removed: exit 0" test "$rc" = 0
check "removed IPs gone, new one there, foreign and own kept" test "$(addrs eth1)" = "10.39.84.132/32 10.39.94.41/24 192.0.2.7/32 2001:db8:84::131/128 "
check "set follows" test "$(members lvsctl-100-4)" = "10.39.84.132 "

# --- the cluster's mark changes; then its interface; then it loses IPv6 ------------------------
doc 77 eth1 10.39.84.132 2001:db8:84::131 | agent >/dev/null; rc=$?
check "mark 77: exit 0" test "$rc" = 0
check "mark 77: FWM 100 retired, FWM 77 there" test "$(ipvsadm -S -n | grep -c -- '-A -f 77')/$(ipvsadm -S -n | grep -c -- '-f 100')" = "2/0"
check "mark 77: old sets and rules gone" test "$(ipset list -n | sort | tr '\n' ' ')" = "lvsctl-77-4 lvsctl-77-6 "
check "mark 77: one rule per family" test "$(our_rules iptables-legacy-save)/$(our_rules ip6tables-legacy-save)" = 1/1

doc 77 eth2 10.39.84.132 2001:db8:84::131 | agent >/dev/null; rc=$?
check "interface eth2: exit 0" test "$rc" = 0
check "aliases moved to eth2" test "$(addrs eth2)" = "10.39.84.132/32 2001:db8:84::131/128 "
check "eth1 back to its own addresses" test "$(addrs eth1)" = "$own_before"

doc 77 eth2 10.39.84.132 | agent >/dev/null; rc=$?
check "no more IPv6: exit 0" test "$rc" = 0
check "no more IPv6: the IPv6 service is retired" test "$(ipvsadm -S -n | grep -c -- '-6')" = 0
check "no more IPv6: the IPv6 set and rule are gone" test "$(ipset list -n | tr '\n' ' ')/$(our_rules ip6tables-legacy-save)" = "lvsctl-77-4 /0"

# --- a scheduler this kernel lacks: a clear error naming the service and the module -----------
if ! modinfo ip_vs_twos >/dev/null 2>&1; then
    rc=0; out=$(doc 77 eth2 10.39.84.132 | sed 's/"lblc"/"twos"/' | agent 2>&1) || rc=$?
    check "a missing scheduler module: exit 71" test "$rc" = 71
    check "a missing scheduler module: named" grep -q 'set service FWM 77: Scheduler not found (is the ip_vs_twos module available?)' <<<"$out"
    check "a missing scheduler module: the service as it was" test "$(ipvsadm -S -n | grep -- '-A -f 77')" = "-A -f 77 -s lblc"
fi

finish
