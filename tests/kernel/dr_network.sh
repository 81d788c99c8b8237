# shellcheck shell=bash
# tests/kernel/dr_network.sh: sourced by traffic_test.sh and monitor_test.sh (inside user-mode
# Linux). The seed article's network in namespaces: client, lb, web1, web2 on one bridge, direct
# routing, the website IP on the web servers' lo with the ARP sysctls.
#   dr_network_up     builds it
#   dr_network_down   removes it (for the EXIT trap)
#   in_ns NS CMD...   runs CMD in namespace NS
vip=10.39.84.131
declare -A addr=([client]=10.39.1.10 [lb]=10.39.94.41 [web1]=10.39.84.43 [web2]=10.39.84.44)
in_ns() { ip netns exec "$@"; }

dr_network_up() {
    local ns web
    ip link add br0 type bridge && ip link set br0 up
    for ns in client lb web1 web2; do
        ip netns add "$ns"
        ip link add "v-$ns" type veth peer name eth0 netns "$ns"
        ip link set "v-$ns" master br0 up
        in_ns "$ns" ip link set lo up
        in_ns "$ns" ip link set eth0 up
        in_ns "$ns" ip addr add "${addr[$ns]}/16" dev eth0
    done
    for web in web1 web2; do
        in_ns "$web" ip addr add "$vip/32" dev lo
        in_ns "$web" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
    done
}

dr_network_down() {
    local ns
    for ns in client lb web1 web2; do ip netns del "$ns" 2>/dev/null; done
    ip link del br0 2>/dev/null
}
