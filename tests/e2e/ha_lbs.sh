# shellcheck shell=bash
# tests/e2e/ha_lbs.sh: sourced by failover_test.sh and demo_failover.sh (inside user-mode Linux,
# under tests/ssh/sshd-hosts): the two LBs (hosts 1 and 2) of a VRRP cluster, as seen from the
# management namespace. Needs $dir (LVSCTL_TEST_SSH_DIR), $here (tests/e2e) and $vip.
#   in_lb I CMD...       CMD in LB I's sshd namespaces: its network, and the mount namespace with
#                        its private /etc and the keepalived service stub (what lvsctl sees)
#   has_vip I            the website IP is on LB I's eth0
#   vrrp_state I         LB I's state as keepalived's notify hook recorded it
#   is_state I STATE     ... is STATE
#   kill_keepalived I    SIGKILL, as if it crashed (no notify, the website IP stays behind)
#   private_etc I...     give each LB's sshd a private /etc (an overlay on a tmpfs) and the stub
in_lb() { local i=$1; shift; nsenter -t "$(cat "$dir/host$i/sshd.pid")" -m -n -- "$@"; }
has_vip() { in_lb "$1" ip -o addr show dev eth0 | grep -q " $vip/32 "; }
vrrp_state() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["state"])' \
        "$dir/host$1/lvsctl/vrrp-cluster-1.json" 2>/dev/null
}
is_state() { [ "$(vrrp_state "$1")" = "$2" ]; }
kill_keepalived() {
    local h=$dir/host$1/lvsctl
    # The parent stopped first, so that it cannot respawn its VRRP child; the child killed
    # before the parent, or it would get SIGTERM and say goodbye (an advert with priority 0),
    # and the backup would not have to notice the silence.
    kill -STOP "$(cat "$h/keepalived.pid")"
    kill -KILL "$(cat "$h/vrrp.pid")"
    kill -KILL "$(cat "$h/keepalived.pid")"
    if [ -s "$h/checkers.pid" ]; then kill -KILL "$(cat "$h/checkers.pid")" 2>/dev/null; fi
}
private_etc() {
    local i ovl
    modprobe overlay 2>/dev/null
    for i in "$@"; do
        ovl=$(mktemp -d /run/lvsctl-ha.XXXXXX)
        mkdir -p "$ovl/up" "$ovl/work"
        in_lb "$i" sh -ec 'mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1/up,workdir=$1/work" /etc
            mkdir -p /etc/keepalived && rm -f /etc/keepalived/keepalived.conf
            mount --bind "$2" /usr/sbin/service' sh "$ovl" "$here/keepalived-service" || return 1
    done
}
