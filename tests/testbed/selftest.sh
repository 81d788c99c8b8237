#!/bin/bash
# shellcheck disable=SC2016  # single-quoted `bash -c` scripts expand in the inner shell
# selftest.sh: proves uml-run, and the guest kernel facts lvsctl's integration tests rely on.
#
#   tests/testbed/selftest.sh            run everything (about a dozen boots, ~1-2 minutes)
#
# Prints TAP-like "ok"/"not ok" lines and "# " notes; exits non-zero if anything expected
# does not hold. "--guest DIR" is the half that runs inside UML (one boot); DIR holds the
# binaries the host half built (may be empty).
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
self=$here/selftest.sh
run=$here/uml-run

failures=0
n=0
ok() { n=$((n + 1)); printf 'ok %d - %s\n' "$n" "$*"; }
not_ok() { n=$((n + 1)); failures=$((failures + 1)); printf 'not ok %d - %s\n' "$n" "$*"; }
note() { printf '%s\n' "$@" | sed 's/^/# /'; }
last_ok=1
check() { # DESCRIPTION COMMAND...: ok when COMMAND succeeds; sets last_ok
    local what=$1
    shift
    if "$@"; then ok "$what"; last_ok=1; else not_ok "$what"; last_ok=0; fi
}
explain() { ((last_ok)) || note "$@"; } # notes what was seen when the last check failed
contains() { [[ $1 == *"$2"* ]]; }

# ------------------------------------------------------------------------------------------
# Guest half: runs as the command inside UML.
# ------------------------------------------------------------------------------------------
guest() {
    local bins=${1:-} out rc
    # Keep going after a failed setup step: the checks that depend on it report it.
    set +e

    note "guest: kernel $(uname -r), $(nproc) CPU, $(awk '/MemTotal/ {print $2 " kB"}' /proc/meminfo), UML_RUN=${UML_RUN:-unset}"
    check "running inside uml-run (UML_RUN=1)" test "${UML_RUN:-}" = 1
    check "private /tmp is a tmpfs" grep -q ' /tmp tmpfs ' /proc/mounts
    check "/lib/modules/$(uname -r) is populated" test -s "/lib/modules/$(uname -r)/modules.dep"
    check "ip_vs loaded by init" grep -q '^ip_vs ' /proc/modules
    check "lo is up with ::1" bash -c 'ip -6 addr show dev lo | grep -q "::1/128"'

    # --- IPVS through ipvsadm (which speaks generic netlink: it links libnl-genl-3) ----------
    out=$(ipvsadm --version 2>&1) || true
    note "ipvsadm --version: $out"
    check "ipvsadm reports IPVS v1.2.1" contains "$out" "IPVS v1.2.1"

    ipvsadm -A -f 100 -s lblc
    ipvsadm -a -f 100 -r 10.39.84.43 -g -w 32
    out=$(ipvsadm -S -n)
    check "FWM 100 lblc with a -g -w 32 destination, as ipvsadm -S -n shows it" \
        test "$out" = $'-A -f 100 -s lblc\n-a -f 100 -r 10.39.84.43:0 -g -w 32'

    ipvsadm -A -f 100 -6 -s lblc
    ipvsadm -a -f 100 -6 -r 2001:db8::43 -g -w 32
    out=$(ipvsadm -S -n)
    check "IPv6 FWM 100 lblc beside the IPv4 one (same mark, separate service)" \
        contains "$out" $'-A -f 100 -6 -s lblc\n-a -f 100 -6 -r [2001:db8::43]:0 -g -w 32'
    rc=0; ipvsadm -a -f 100 -6 -r '[2001:db8::44]' -g -w 1 2>/dev/null || rc=$?
    check "ipvsadm rejects a bracketed IPv6 destination without a port (exit 2)" test "$rc" = 2
    rc=0; ipvsadm -a -f 100 -6 -r '[2001:db8::44]:0' -g -w 1 || rc=$?
    check "ipvsadm takes [2001:db8::44]:0" test "$rc" = 0
    note "ipvsadm -S -n:" "$(ipvsadm -S -n)"

    # The kernel loads a scheduler module itself (request_module -> /sbin/modprobe), which
    # needs /lib/modules inside the guest.
    rmmod ip_vs_mh
    check "ipvsadm -A -s mh autoloads ip_vs_mh after rmmod" \
        bash -c 'ipvsadm -A -f 6 -s mh && grep -q "^ip_vs_mh " /proc/modules'

    local s port=1000 all_ok=1
    for s in rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh; do
        port=$((port + 1))
        ipvsadm -A -t "10.39.84.200:$port" -s "$s" || { all_ok=0; note "scheduler $s failed"; }
    done
    check "all 13 schedulers accept a service" test "$all_ok" = 1

    rc=0; out=$(ipvsadm -A -f 5 -s nosuch 2>&1) || rc=$?
    note "ipvsadm -A -f 5 -s nosuch: exit $rc, '$out'; dmesg: $(dmesg | grep -o 'IPVS: Scheduler module.*' | tail -1)"
    check "a nonexistent scheduler fails: exit 255, 'Scheduler or persistence engine not found'" \
        test "$rc:$out" = "255:Scheduler or persistence engine not found"
    rc=0; out=$(ipvsadm -A -f 100 -s rr 2>&1) || rc=$?
    check "a duplicate service fails: exit 255, 'Service already exists'" test "$rc:$out" = "255:Service already exists"
    rc=0; out=$(ipvsadm -D -f 77 2>&1) || rc=$?
    check "deleting a missing service fails: exit 255, 'No such service'" test "$rc:$out" = "255:No such service"
    rc=0; out=$(ipvsadm -d -f 100 -r 10.9.9.9 2>&1) || rc=$?
    check "deleting a missing destination fails: exit 255, 'No such destination'" test "$rc:$out" = "255:No such destination"

    # (generic netlink from the project's own code is covered by tests/kernel, run in UML)

    # --- ipset + iptables-legacy marking -------------------------------------------------------
    ipset create lvs_web hash:ip && ipset add lvs_web 10.39.84.131
    ipset create lvs_net hash:net && ipset add lvs_net 10.39.84.0/24
    ipset create lvs_web6 hash:ip family inet6 && ipset add lvs_web6 2001:db8::131
    check "ipset hash:ip, hash:net and inet6 sets" bash -c '[[ $(ipset list -n | sort | tr "\n" " ") == "lvs_net lvs_web lvs_web6 " ]]'
    iptables-legacy -t mangle -A PREROUTING -m set --match-set lvs_web dst -p tcp -m multiport --dports 80,443 -j MARK --set-mark 100
    ip6tables-legacy -t mangle -A PREROUTING -m set --match-set lvs_web6 dst -p tcp -m multiport --dports 80,443 -j MARK --set-mark 100
    check "iptables-legacy mangle MARK rule with --match-set and multiport" \
        bash -c 'iptables-legacy -t mangle -S PREROUTING | grep -qxF -- "-A PREROUTING -p tcp -m set --match-set lvs_web dst -m multiport --dports 80,443 -j MARK --set-xmark 0x64/0xffffffff"'
    check "ip6tables-legacy mangle MARK rule with an inet6 set" \
        bash -c 'ip6tables-legacy -t mangle -S PREROUTING | grep -q -- "--match-set lvs_web6 dst"'
    rc=0; out=$(nft add table ip lvs_probe 2>&1) || rc=$?
    check "nftables ip family is NOT available in this kernel (use iptables-legacy)" test "$rc" != 0
    note "nft add table ip: exit $rc: $(head -1 <<<"$out")"

    # --- addresses -------------------------------------------------------------------------------
    ip addr add 10.39.84.131/32 dev lo
    check "10.39.84.131/32 on lo" bash -c 'ip -4 addr show dev lo | grep -q "inet 10.39.84.131/32"'
    ip link add dummy0 type dummy && ip link set dummy0 up
    ip -6 addr add 2001:db8::131/128 dev dummy0 nodad
    out=$(ip -6 addr show dev dummy0 | grep 2001:db8::131)
    check "IPv6 /128 nodad on a dummy interface, not tentative" \
        bash -c '[[ $1 == *"inet6 2001:db8::131/128 scope global nodad"* && $1 != *tentative* ]]' _ "$out"
    explain "$out"

    # --- network namespaces, veth, bridge; IPVS direct routing end to end -------------------
    # root namespace = director (VIP on lo, br0 10.39.84.1/24); netns client 10.39.84.10 and
    # web1 10.39.84.43 (the FWM 100 destination above, VIP on lo, arp_ignore/arp_announce).
    check "ip netns add" bash -c 'ip netns add client && ip netns add web1'
    ip link add br0 type bridge && ip link set br0 up
    ip addr add 10.39.84.1/24 dev br0
    ip -6 addr add fd39::1/64 dev br0 nodad
    local ns
    for ns in client web1; do
        ip link add "h-$ns" type veth peer name eth0 netns "$ns"
        ip link set "h-$ns" master br0 up
        ip -n "$ns" link set lo up
        ip -n "$ns" link set eth0 up
    done
    ip -n client addr add 10.39.84.10/24 dev eth0
    ip -n client -6 addr add fd39::10/64 dev eth0 nodad
    ip -n web1 addr add 10.39.84.43/24 dev eth0
    ip -n web1 -6 addr add fd39::43/64 dev eth0 nodad
    ip -n web1 addr add 10.39.84.131/32 dev lo
    ip netns exec web1 sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
    check "veth in namespaces on a bridge" bash -c '[[ $(bridge link | grep -c "master br0") == 2 ]]'
    # Only the nodad address: the link-local one is tentative until DAD ends (~1 s).
    out=$(ip -n client -6 addr show dev eth0 | grep 'fd39::10')
    check "IPv6 nodad address on a veth is usable at once (not tentative)" \
        bash -c '[[ $1 == *"fd39::10/64 scope global nodad"* && $1 != *tentative* ]]' _ "$out"
    explain "$out"

    ip netns exec web1 /usr/bin/python3 -c '
import http.server, socket, socketserver
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello from web1\n"
        self.send_response(200); self.send_header("X-SERVER", "web1")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
class S(socketserver.TCPServer):
    allow_reuse_address = True
    address_family = socket.AF_INET6   # dual stack: IPv4 arrives as ::ffff:a.b.c.d
S(("::", 80), H).serve_forever()' &
    local server=$!
    # python3 takes a while to start under UML; poll the real server directly first.
    local i
    for i in $(seq 1 60); do
        ip netns exec client bash -c 'exec 3<>/dev/tcp/10.39.84.43/80' 2>/dev/null && break
        sleep 0.5
    done
    rc=0; out=$(ip netns exec client curl --noproxy '*' -sS -m 10 -D - http://10.39.84.131/ 2>&1) || rc=$?
    check "HTTP GET client -> VIP 10.39.84.131 (ipset mark 100 -> FWM 100 lblc -> DR) answered by web1" \
        bash -c '[[ $1 == 0 && $2 == *"X-SERVER: web1"* && $2 == *"hello from web1"* ]]' _ "$rc" "$out"
    explain "curl exit $rc:" "$out"
    # The counters are summed from per-CPU ones by the rate estimator every 2 s: poll.
    for i in $(seq 1 12); do
        out=$(ipvsadm -L -n --stats -f 100)
        [[ $(awk '/^FWM/ {print $3}' <<<"$out") -ge 1 ]] && break
        sleep 0.5
    done
    note "--stats shows the connection after $(((i - 1) * 5 / 10)).$(((i - 1) * 5 % 10)) s of polling"
    check "ipvsadm --stats counts the connection on FWM 100" \
        bash -c '[[ $(awk "/^FWM/ {print \$3}" <<<"$1") -ge 1 ]]' _ "$out"
    explain "$out" "$(ipvsadm -L -n -c)"
    check "mangle rule counted the packets" bash -c '(( $(iptables-legacy -t mangle -L PREROUTING -v -x -n | awk "/lvs_web/ {print \$1}") >= 1 ))'
    rc=0; out=$(ip netns exec client curl --noproxy '*' -sS -m 10 -g 'http://[fd39::43]/' 2>&1) || rc=$?
    check "IPv6 across the bridge: HTTP GET client -> web1 [fd39::43]:80" test "$rc:$out" = "0:hello from web1"
    kill "$server" 2>/dev/null || true

    # --- sanitizers --------------------------------------------------------------------------
    if [[ -x $bins/asan ]]; then
        rc=0; out=$("$bins/asan" 2>&1) || rc=$?
        note "ASan 'int main(){}' (g++ -fsanitize=address,undefined): exit $rc: $(head -2 <<<"$out" | tr '\n' ' ')"
        check "ASan binaries cannot run under this UML (user address space ends below the shadow)" \
            bash -c '[[ $1 != 0 && $2 == *"Shadow memory range interleaves"* ]]' _ "$rc" "$out"
    fi
    if [[ -x $bins/ubsan ]]; then
        rc=0; out=$("$bins/ubsan" 2>&1) || rc=$?
        check "UBSan-only binary runs and reports under UML" \
            bash -c '[[ $1 == 0 && $2 == *"runtime error: signed integer overflow"* ]]' _ "$rc" "$out"
    fi

    note "guest: $failures failure(s)"
    return $((failures > 0))
}

# Sourced (as by the propagation check below): only the functions.
[[ ${BASH_SOURCE[0]} == "$0" ]] || return 0

if [[ ${1:-} == --guest ]]; then
    guest "${2:-}"
    exit
fi

# ------------------------------------------------------------------------------------------
# Host half.
# ------------------------------------------------------------------------------------------
[[ $EUID == 0 ]] || { echo "selftest.sh: must run as root (UML's init mounts, modprobe)" >&2; exit 1; }
base=${UML_RUN_TMPDIR:-/var/tmp}
scratch=$(mktemp -d -- "$base/uml-selftest.XXXXXXXX")
trap 'rm -rf -- "$scratch"' EXIT

# shellcheck disable=SC2009  # pgrep cannot leave out zombies (reaped UML helpers)
live_uml() { ps -C linux.uml -o stat= 2>/dev/null | grep -vc '^Z' || true; }
run_dirs() { { compgen -G "$base/uml-run.*" || true; } | wc -l; }
dirs_before=$(run_dirs)

note "host: $(uname -r); UML: $(linux.uml --version 2>/dev/null | head -1 || echo '?')"

# Exit status, streams, arguments, environment, working directory, stdin.
rc=0; "$run" -- sh -c 'exit 7' || rc=$?
check "exit status 7 comes back" test "$rc" = 7
rc=0; "$run" -- false || rc=$?
check "a failing command (false) makes uml-run exit 1" test "$rc" = 1
rc=0; "$run" -- /nonexistent/cmd 2>/dev/null || rc=$?
check "a missing command gives 127" test "$rc" = 127
rc=0; "$run" -- sh -c 'kill -TERM $$' || rc=$?
check "death by SIGTERM gives 143" test "$rc" = 143

out=$("$run" -- sh -c 'echo out; echo err >&2' 2>"$scratch/err") || true
check "stdout and stderr come back separately" test "$out:$(<"$scratch/err")" = "out:err"
out=$("$run" --merge -- sh -c 'echo 1; echo 2 >&2; echo 3' 2>/dev/null) || true
check "--merge keeps the order" test "$out" = $'1\n2\n3'

out=$(cd "$here" && SELFTEST_A='x y' SELFTEST_HIDDEN=1 "$run" --env SELFTEST_A --env 'SELFTEST_B=$(no) "q"' \
    -- bash -c 'printf "[%s]" "$PWD" "$SELFTEST_A" "$SELFTEST_B" "${SELFTEST_HIDDEN-unset}" "$UML_RUN" "$@"' _ 'a b' '' "c'd") || true
check "cwd, --env, arguments with spaces/quotes pass through; other variables do not" \
    test "$out" = "[$here][x y][\$(no) \"q\"][unset][1][a b][][c'd]"
out=$(printf 'one\ntwo\n' | "$run" --stdin -- wc -l) || true
check "--stdin feeds the caller's stdin" test "$out" = 2

rc=0; out=$(cd /tmp && "$run" -- true 2>&1) || rc=$?
check "a working directory under /tmp is refused before booting (125)" \
    bash -c '[[ $1 == 125 && $2 == *"hidden inside the guest"* ]]' _ "$rc" "$out"

start=$EPOCHSECONDS
rc=0; out=$("$run" --timeout 10 -- sh -c 'echo before; sleep 100; echo after' 2>"$scratch/err") || rc=$?
took=$((EPOCHSECONDS - start))
note "timeout run: exit $rc after ${took}s; stderr: $(<"$scratch/err")"
check "--timeout: 125, output so far kept, within the limit + 5s" \
    bash -c '[[ $1 == 125 && $2 == before && $3 -le 15 && $4 == *"timed out"* ]]' _ "$rc" "$out" "$took" "$(<"$scratch/err")"
check "no UML process left after the timeout" test "$(live_uml)" = 0

# Several runs one after another, with timings.
for i in 1 2 3; do
    rc=0; "$run" --timing -- true 2>"$scratch/err" || rc=$?
    check "sequential run $i exits 0" test "$rc" = 0
    note "$(grep 'timing:' "$scratch/err")"
done

# Binaries for the guest: ASan and UBSan programs (ASan cannot run in UML; UBSan can).
if command -v g++ >/dev/null; then
    printf 'int main() {}\n' >"$scratch/empty.cpp"
    g++ -fsanitize=address,undefined "$scratch/empty.cpp" -o "$scratch/asan"
    printf '#include <climits>\nint main(int argc, char**) { int x = INT_MAX; x += argc; return x == 0; }\n' >"$scratch/ovf.cpp"
    g++ -O0 -fsanitize=undefined "$scratch/ovf.cpp" -o "$scratch/ubsan"
fi

# The guest half: one boot for all the kernel facts.
rc=0; "$run" --timing --timeout 300 -- "$self" --guest "$scratch" >"$scratch/out" 2>"$scratch/err" || rc=$?
note "guest checks (one boot):"
sed 's/^/    /' "$scratch/out"
grep -v 'timing:' "$scratch/err" >&2 || true
note "$(grep 'timing:' "$scratch/err" || echo 'guest run: no timing')"
check "guest checks all hold (uml-run exit $rc)" test "$rc" = 0

# A failing guest check makes the guest half, and so uml-run, fail.
rc=0; "$run" -- bash -c 'source "$1"; check "deliberately false" false; exit $((failures > 0))' _ "$self" >/dev/null 2>&1 || rc=$?
check "a failing check inside the guest propagates (exit 1)" test "$rc" = 1

check "no UML process left" test "$(live_uml)" = 0
check "no run directories left in $base" test "$(run_dirs)" = "$dirs_before"

if ((failures)); then
    echo "selftest: $failures of $n checks failed"
    exit 1
fi
echo "selftest: all $n checks passed"
