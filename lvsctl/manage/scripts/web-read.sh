#!/bin/sh
# web-read.sh RECORD: what a web server has for one cluster, in one command (it runs on every web
# server on every run): the addresses on lo, a marker line, the two ARP sysctls, then the record
# of the website IPs lvsctl placed there (when there is one). parse_web_observed() reads it.
# `ip -br` (iproute2 4.5 and later) prints all addresses on one line: a fifth of `ip -o`'s bytes,
# which matters at 10,000 addresses on 64 hosts.
ip -br addr show dev lo 2>/dev/null || ip -o addr show dev lo || exit 1
echo @@lvsctl-sysctl
if [ -e "$1" ]; then set -- "$1"; else set --; fi
exec cat /proc/sys/net/ipv4/conf/all/arp_ignore /proc/sys/net/ipv4/conf/all/arp_announce "$@"
