#!/bin/sh
# keepalived's own parser (-t) checks every keepalived configuration among the golden files:
# it must exit 0 and say nothing, since it reports ignored keywords only as warnings. The VRRP
# configurations name an interface (eth1): they are checked in a network namespace that has one
# (needs root; skipped without).
set -eu
keepalived=$1
dir=$2
status=0
for conf in "$dir"/*keepalived.conf; do
    case $conf in
    */vrrp-*)
        if [ "$(id -u)" != 0 ]; then
            echo "skipped (not root): $conf"
            continue
        fi
        set -- unshare -n sh -ec 'ip link add eth1 type veth peer name eth1-peer
            ip link set eth1 up
            exec "$@"' sh "$keepalived"
        ;;
    *) set -- "$keepalived" ;;
    esac
    if output=$("$@" --config-test --use-file="$conf" 2>&1) && [ -z "$output" ]; then
        echo "ok: $conf"
    else
        echo "keepalived finds fault with $conf:"
        printf '%s\n' "$output" | sed 's/^/  /'
        status=1
    fi
done
exit $status
