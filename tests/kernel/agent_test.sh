#!/bin/bash
# `lvsctl agent apply` on a real kernel (run inside user-mode Linux by ctest): IPVS, website IP
# aliases and firewall marks, checked with ipvsadm, ip, ipset and iptables-legacy-save.
set -uo pipefail
lvsctl=$1
state=$(mktemp -d /var/tmp/lvsctl-agent-test.XXXXXX)
trap 'rm -rf "$state"' EXIT
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib.sh"
agent() { "$lvsctl" agent apply --state-dir "$state" "$@"; }
# doc MARK INTERFACE IPS... -> a desired state of cluster $CLUSTER (1) with two servers in
# 10.39.$NET.0/24 and 2001:db8:$NET::/64 (NET 84), and an IPv6 service when an IP is IPv6
doc() {
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
          "destinations": [{"address": "2001:db8:'${NET:-84}'::43", "port": 0, "forwarding": "route", "weight": 32},
                           {"address": "2001:db8:'${NET:-84}'::44", "port": 0, "forwarding": "route", "weight": 32}]}'
    fi
    cat <<JSON
{"version": 1, "cluster": {"id": ${CLUSTER:-1}, "name": "Web-Cluster", "serial": 1}, "interface": "$ifname",
 "website_ips": [$ips], "marks": {"fwmark": $mark, "protocol": "tcp", "ports": [80, 443]},
 "services": [{"family": "inet", "fwmark": $mark, "scheduler": "lblc", "persistence": 0,
   "destinations": [{"address": "10.39.${NET:-84}.43", "port": 0, "forwarding": "route", "weight": 32},
                    {"address": "10.39.${NET:-84}.44", "port": 0, "forwarding": "route", "weight": 32}]}$v6svc],
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
' "$state/agent-cluster-1.json"
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


# --- two clusters on one LB: one record each, neither touches the other's things ----------------
fresh() {  # the LB as at the start: no IPVS, marks, aliases or records
    ipvsadm -C
    iptables-legacy -t mangle -F PREROUTING && ip6tables-legacy -t mangle -F PREROUTING
    ipset destroy
    ip link del eth1 && ip link del eth2
    ip link add eth1 type dummy && ip link set eth1 up
    ip link add eth2 type dummy && ip link set eth2 up
    ip addr add 10.39.94.41/24 dev eth1
    rm -f "$state"/*
}
fresh
docA() { CLUSTER=1 NET=84 doc 100 eth1 "$@"; }
docB() { CLUSTER=2 NET=86 doc 200 eth1 "$@"; }
snapshot_all() { snapshot; for f in "$state"/*.json; do echo "$f"; cat "$f"; done; }
b_state() {  # everything of cluster B's, as the tools print it
    ipvsadm -S -n | grep -- '-f 200 '
    ip -o addr show dev eth1 | grep -E ' (10\.39\.86\.|2001:db8:86::)' | awk '{print $4}'
    ipset save lvsctl-200-4
    ipset save lvsctl-200-6
    iptables-legacy-save -t mangle | grep -- 'lvsctl-fwmark-200'
    ip6tables-legacy-save -t mangle | grep -- 'lvsctl-fwmark-200'
    cat "$state/agent-cluster-2.json"
}
docA 10.39.84.131 10.39.84.132 2001:db8:84::131 | agent >/dev/null; rc_a=$?
docB 10.39.86.1 2001:db8:86::1 | agent >/dev/null; rc_b=$?
check "two clusters: A then B applied" test "$rc_a/$rc_b" = 0/0
check "two clusters: one record each" test "$(cd "$state" && echo agent-cluster-*.json)" = "agent-cluster-1.json agent-cluster-2.json"
check "two clusters: both in IPVS" test "$(ipvsadm -S -n | grep -c -- '^-A')" = 4
check "two clusters: both on eth1" test "$(addrs eth1)" = "10.39.84.131/32 10.39.84.132/32 10.39.86.1/32 10.39.94.41/24 2001:db8:84::131/128 2001:db8:86::1/128 "
check "two clusters: B's sets and rules" test "$(members lvsctl-200-4)/$(members lvsctl-200-6)/$(our_rules iptables-legacy-save)/$(our_rules ip6tables-legacy-save)" = "10.39.86.1 /2001:db8:86::1 /2/2"
b_before=$(b_state)
# A: a weight changes, a website IP goes, and its IPv6 one (so its IPv6 service and set go too).
docA 10.39.84.131 | sed 's/\("10.39.84.44", "port": 0, "forwarding": "route", "weight": \)32/\131/' | agent >/dev/null; rc=$?
check "A re-applied: exit 0" test "$rc" = 0
check "A re-applied: its weight changed, its IPv6 service retired" test "$(ipvsadm -S -n | grep -- '-f 100 ' | sort | tr '\n' '|')" = \
"-A -f 100 -s lblc|-a -f 100 -r 10.39.84.43:0 -g -w 32|-a -f 100 -r 10.39.84.44:0 -g -w 31|"
check "A re-applied: its aliases and sets follow" test "$(addrs eth1)/$(members lvsctl-100-4)/$(ipset list -n | grep -c lvsctl-100-6)" = \
"10.39.84.131/32 10.39.86.1/32 10.39.94.41/24 2001:db8:86::1/128 /10.39.84.131 /0"
check "A re-applied: B's services, destinations, aliases, sets, rules and record are as they were" test "$(b_state)" = "$b_before"

shown_a=$("$lvsctl" agent show --state-dir "$state" --cluster-id 1)
shown_b=$("$lvsctl" agent show --state-dir "$state" --cluster-id 2)
shown_all=$("$lvsctl" agent show --state-dir "$state")
check "agent show --cluster-id: each cluster's placed state; without: every cluster's" python3 -c '
import json, sys
a, b, every = (json.loads(x) for x in sys.argv[1:4])
assert (a["interface"], a["website_ips"], a["marks"]) == ("eth1", ["10.39.84.131"], {"fwmarks": [100], "via": "iptables"}), a
assert (b["interface"], sorted(b["website_ips"]), b["marks"]) == ("eth1", ["10.39.86.1", "2001:db8:86::1"], {"fwmarks": [200], "via": "iptables"}), b
assert sorted(every["website_ips"]) == ["10.39.84.131", "10.39.86.1", "2001:db8:86::1"], every
assert every["marks"] == {"fwmarks": [100, 200], "via": "iptables"}, every
assert len(a["services"]) == 3  # the kernel table is the whole table
' "$shown_a" "$shown_b" "$shown_all"

# --- B asking for what A owns: refused, nothing changed ---------------------------------------
before=$(snapshot_all)
rc=0; out=$(CLUSTER=2 NET=86 doc 100 eth1 10.39.86.1 2001:db8:86::1 | agent 2>&1) || rc=$?
check "B wanting A's mark: exit 65" test "$rc" = 65
check "B wanting A's mark: both clusters, the mark and A's record named" \
    grep -qF "cluster 2 wants firewall mark 100, which cluster 1 owns (record $state/agent-cluster-1.json)" <<<"$out"
check "B wanting A's mark: nothing changed" test "$(snapshot_all)" = "$before"
rc=0; out=$(docB 10.39.86.1 2001:db8:86::1 10.39.84.131 | agent 2>&1) || rc=$?
check "B wanting A's website IP: exit 65" test "$rc" = 65
check "B wanting A's website IP: both clusters, the IP and A's record named" \
    grep -qF "cluster 2 wants website IP 10.39.84.131 on eth1 (placed on eth1), which cluster 1 owns (record $state/agent-cluster-1.json)" <<<"$out"
check "B wanting A's website IP: nothing changed" test "$(snapshot_all)" = "$before"

# --- the one record of earlier versions -------------------------------------------------------
mv "$state/agent-cluster-1.json" "$state/agent-state.json"
before=$(snapshot)
out=$(docA 10.39.84.131 | sed 's/\("10.39.84.44", "port": 0, "forwarding": "route", "weight": \)32/\131/' | agent 2>/dev/null); rc=$?
check "a legacy record naming A's mark: adopted by A" bash -c 'test "$1" = 0 && test -f "$2/agent-cluster-1.json" && test ! -e "$2/agent-state.json"' _ "$rc" "$state"
check "adopting it: nothing changed" bash -c 'test "$1" = "$2" && grep -q "\"done\": \[\]" <<<"$3"' _ "$(snapshot)" "$before" "$out"
cp "$state/agent-cluster-1.json" "$state/agent-state.json"   # a legacy record of mark 100 ...
mv "$state/agent-cluster-2.json" "$state/b-saved"             # ... while B (mark 200) has none
before=$(snapshot)
out=$(docB 10.39.86.1 2001:db8:86::1 | agent 2>/dev/null); rc=$?
check "a legacy record naming another mark: left alone" bash -c 'test "$1" = 0 && cmp -s "$2/agent-state.json" "$2/agent-cluster-1.json" && test -f "$2/agent-cluster-2.json"' _ "$rc" "$state"
check "B without a record: converged from the desired state, nothing changed" bash -c 'test "$1" = "$2" && grep -q "\"changes_sent\": 0" <<<"$3"' _ "$(snapshot)" "$before" "$out"
rm -f "$state/agent-state.json" "$state/b-saved"

# --- one agent at a time on the LB ----------------------------------------------------------------
exec 9>"$state/agent.lock"
flock -n 9
before=$(snapshot_all)
rc=0; out=$(docA 10.39.84.131 10.39.84.133 | agent --lock-timeout 1 2>&1) || rc=$?
check "the LB's lock held: exit 75" test "$rc" = 75
check "the LB's lock held: the lock file named" grep -qF "$state/agent.lock" <<<"$out"
check "the LB's lock held: nothing changed" test "$(snapshot_all)" = "$before"
exec 9>&-
docA 10.39.84.131 10.39.84.133 | agent --lock-timeout 1 >/dev/null; rc=$?
check "the lock released: apply works" bash -c 'test "$1" = 0 && ip -o addr show dev eth1 | grep -q "10.39.84.133/32"' _ "$rc"

# --- not privileged: exit 77 before anything changes --------------------------------------------
before=$(snapshot_all)
rc=0; out=$(docA 10.39.84.131 10.39.84.134 | setpriv --reuid=65534 --regid=65534 --clear-groups \
    "$lvsctl" agent apply --state-dir "$state" 2>&1) || rc=$?
check "as an unprivileged user: exit 77, CAP_NET_ADMIN named" bash -c 'test "$1" = 77 && grep -q CAP_NET_ADMIN <<<"$2"' _ "$rc" "$out"
check "as an unprivileged user: nothing changed" test "$(snapshot_all)" = "$before"
rc=0; out=$(docA 10.39.84.131 10.39.84.134 | setpriv --reuid=65534 --regid=65534 --clear-groups \
    --inh-caps=+net_admin --ambient-caps=+net_admin \
    "$lvsctl" agent apply --state-dir "$state" --marks=iptables 2>&1) || rc=$?
check "with CAP_NET_ADMIN but a state dir it may not write: exit 77 naming it" bash -c 'test "$1" = 77 && grep -qF "$3" <<<"$2" && grep -q "Permission denied" <<<"$2"' _ "$rc" "$out" "$state"
check "with CAP_NET_ADMIN but a state dir it may not write: nothing changed" test "$(snapshot_all)" = "$before"

# --- more ports than iptables' multiport takes: refused before IPVS is touched ----------------
ports16=$(seq 8001 8016 | paste -sd, | sed 's/,/, /g')
before=$(snapshot_all)
rc=0; out=$(docA 10.39.84.131 10.39.84.133 |
    sed "s/\"ports\": \[80, 443\]/\"ports\": [$ports16]/" |
    sed 's/\("10.39.84.44", "port": 0, "forwarding": "route", "weight": \)32/\130/' | agent --marks=iptables 2>&1) || rc=$?
check "16 ports with iptables: exit 65, the limit named" bash -c 'test "$1" = 65 && grep -q "1 to 15 ports" <<<"$2"' _ "$rc" "$out"
check "16 ports with iptables: nothing changed, IPVS included" test "$(snapshot_all)" = "$before"

# --- a corrupt record: moved aside, converged from the desired state, and said so --------------
printf '{"version": 1, "services": [' >"$state/agent-cluster-1.json"
b_before=$(b_state)
rc=0; out=$(docA 10.39.84.131 10.39.84.150 | agent 2>/dev/null) || rc=$?
check "a corrupt record: exit 71" test "$rc" = 71
check "a corrupt record: the answer says what happened" bash -c '
    grep -qF "record $2/agent-cluster-1.json could not be read (" <<<"$1" &&
    grep -qF "moved to $2/agent-cluster-1.json.corrupt-" <<<"$1" &&
    grep -qF "converged from the desired state; anything only the lost record named may remain" <<<"$1"' _ "$out" "$state"
check "a corrupt record: kept aside as it was" bash -c 'test "$(cat "$1"/agent-cluster-1.json.corrupt-*)" = "{\"version\": 1, \"services\": ["' _ "$state"
check "a corrupt record: converged (the new IP there, the one only the lost record named left)" \
    test "$(addrs eth1)" = "10.39.84.131/32 10.39.84.133/32 10.39.84.150/32 10.39.86.1/32 10.39.94.41/24 2001:db8:86::1/128 "
check "a corrupt record: a new record owning what was taken over" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert sorted(d["vips"]) == ["10.39.84.131", "10.39.84.150"], d["vips"]
assert d["services"] == [{"family": "inet", "fwmark": 100}], d["services"]
' "$state/agent-cluster-1.json"
check "a corrupt record: B untouched" test "$(b_state)" = "$b_before"
before=$(snapshot)
out=$(docA 10.39.84.131 10.39.84.150 | agent); rc=$?
check "the run after a corrupt record: exit 0, nothing to do" bash -c 'test "$1" = 0 && test "$2" = "$3" && grep -q "\"done\": \[\]" <<<"$4"' _ "$rc" "$(snapshot)" "$before" "$out"

# --- no record at all, on a kernel that has the desired state already ---------------------------
rm -f "$state/agent-cluster-1.json" "$state"/agent-cluster-1.json.corrupt-*
out=$(docA 10.39.84.131 10.39.84.150 | agent); rc=$?
check "a missing record: exit 0, nothing changed" bash -c 'test "$1" = 0 && test "$2" = "$3" && grep -q "\"done\": \[\]" <<<"$4" && grep -q "\"changes_sent\": 0" <<<"$4"' _ "$rc" "$(snapshot)" "$before" "$out"
check "a missing record: written again, owning what was already right" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert sorted(d["vips"]) == ["10.39.84.131", "10.39.84.150"] and d["marks"] == [100], d
' "$state/agent-cluster-1.json"

finish
