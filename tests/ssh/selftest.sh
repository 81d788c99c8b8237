#!/bin/bash
# selftest.sh: proves sshd-hosts (run as `tests/ssh/sshd-hosts 3 tests/ssh/selftest.sh`), with
# the OpenSSH client and strict host-key checking: each host is its own netns with its own
# /var/lib/lvsctl, over IPv4 and IPv6, and every fault `ctl` injects looks as it should.
set -uo pipefail
: "${LVSCTL_TEST_SSH_HOSTS:?run me under tests/ssh/sshd-hosts}"
ctl=$LVSCTL_TEST_SSH_CTL
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib.sh"
note() { printf '%s\n' "$@" | sed 's/^/# /'; }

# ssh takes the first value of an option: none of these is given twice.
ssh_opts=(-o BatchMode=yes -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes
    -o UserKnownHostsFile="$LVSCTL_TEST_SSH_KNOWN_HOSTS")
run() { # ADDRESS CMD [SSH OPTION...]: runs CMD on ADDRESS as root; sets out (stdout and stderr),
    # rc and took (seconds)
    local start=$EPOCHREALTIME address=$1 command=$2
    shift 2
    out=$(ssh "$@" -o ConnectTimeout=5 "${ssh_opts[@]}" -i "$LVSCTL_TEST_SSH_IDENTITY" \
        "root@$address" "$command" 2>&1 </dev/null)
    rc=$?
    took=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
}
has() { [[ $1 == *"$2"* ]]; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
within() { ! lt "$1" "$2" && lt "$1" "$3"; } # X LOW HIGH

declare -A a4 a6
while read -r i _ v4 v6; do
    a4[$i]=$v4 a6[$i]=$v6
done <"$LVSCTL_TEST_SSH_HOSTS"
check "3 hosts in $LVSCTL_TEST_SSH_HOSTS" test "${#a4[@]}" -ge 3

# --- every host is its own netns, reached over either family with its key in known_hosts ---
for i in 1 2 3; do
    run "${a4[$i]}" 'ip -o -4 addr show scope global'
    check "host $i over IPv4 is netns with ${a4[$i]}" has "$out" " inet ${a4[$i]}/16 "
    has "$out" 10.200.0.1 && check "host $i does not have the management address" false
    run "${a6[$i]}" 'ip -o -6 addr show scope global'
    check "host $i over IPv6 is netns with ${a6[$i]}" has "$out" " inet6 ${a6[$i]}/64 "
done
run "${a4[1]}" 'echo "home=$HOME"; ls -A /root | wc -l'
check "a host's /root is empty (no developer .bashrc)" test "$out" = $'home=/root\n0'

# --- /var/lib/lvsctl is private per host ----------------------------------------------------
mark=selftest-$$
run "${a4[1]}" "touch /var/lib/lvsctl/$mark && ls /var/lib/lvsctl"
check "host 1 writes /var/lib/lvsctl/$mark" test "$rc/$out" = "0/$mark"
run "${a4[2]}" "ls -A /var/lib/lvsctl"
check "host 2 does not see it" test "$rc/$out" = "0/"
check "the real /var/lib/lvsctl does not have it" test ! -e "/var/lib/lvsctl/$mark"
check "no bind mount leaked into the root mount namespace" \
    bash -c '! grep -q " /var/lib/lvsctl " /proc/1/mountinfo'
out=$("$ctl" exec 1 ls /var/lib/lvsctl 2>&1)
check "ctl exec 1 sees host 1's /var/lib/lvsctl" test "$out" = "$mark"

# --- authentication -------------------------------------------------------------------------
# Not run(): identity files add up.
out=$(ssh "${ssh_opts[@]}" -i "$LVSCTL_TEST_SSH_WRONG_IDENTITY" "root@${a4[1]}" true 2>&1 </dev/null)
rc=$?
check "the wrong identity is refused" test "$rc" = 255
check "  with Permission denied" has "$out" "Permission denied (publickey)"

# --- stop / start ---------------------------------------------------------------------------
"$ctl" stop 2
run "${a4[2]}" true
check "after ctl stop 2: refused (rc $rc in $took s)" has "$out" "Connection refused"
check "  quickly" lt "$took" 2
run "${a6[2]}" true
check "  over IPv6 too" has "$out" "Connection refused"
run "${a4[1]}" true
check "  host 1 still answers" test "$rc" = 0
"$ctl" start 2
run "${a4[2]}" true
check "after ctl start 2: answers with its old key" test "$rc" = 0

# --- rekey ----------------------------------------------------------------------------------
"$ctl" rekey 3
run "${a4[3]}" true
check "after ctl rekey 3: strict checking fails (rc $rc)" test "$rc" = 255
check "  as a changed host key" has "$out" "REMOTE HOST IDENTIFICATION HAS CHANGED"
check "  and host key verification fails" has "$out" "Host key verification failed"
run "${a6[3]}" true
check "  over IPv6 too" has "$out" "Host key verification failed"
run "${a4[3]}" 'ip -o -4 addr show scope global' -o UserKnownHostsFile=/dev/null \
    -o StrictHostKeyChecking=no
check "  but sshd answers with the new key" has "$out" "${a4[3]}"

# --- freeze / thaw --------------------------------------------------------------------------
"$ctl" freeze 1
check "after ctl freeze 1: TCP connects" timeout 2 bash -c "exec 3<>/dev/tcp/${a4[1]}/22"
run "${a4[1]}" true -o ConnectTimeout=3
check "  ssh -o ConnectTimeout=3 times out (rc $rc)" test "$rc" = 255
check "  in the banner exchange" has "$out" "timed out during banner exchange"
check "  after 3 s (took $took s)" within "$took" 2.9 3.9
"$ctl" thaw 1
run "${a4[1]}" true
check "after ctl thaw 1: answers (in $took s)" test "$rc" = 0

# --- exec -----------------------------------------------------------------------------------
out=$("$ctl" exec 1 ip -o addr show dev lo 2>&1)
check "ctl exec 1 ip -o addr show dev lo" has "$out" "inet 127.0.0.1/8"
out=$("$ctl" exec 2 ip -o -4 addr show dev eth0 2>&1)
check "ctl exec 2 runs in host 2's netns" has "$out" "inet ${a4[2]}/16"
"$ctl" exec 1 false
check "ctl exec passes the exit status on" test $? = 1

finish
