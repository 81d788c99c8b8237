#!/usr/bin/env bash
# Tests the Debian package that tools/package built: lintian finds no error in it; its
# dependencies resolve here; dpkg installs, upgrades, removes and purges it in an empty root;
# unpacked into a scratch root (dpkg -x), it holds what the README
# says, the installed program runs from there and renders the seed lvs.cf with the INSTALLED
# templates (found beside its bin/, no --templates), and the installed units pass
# `systemd-analyze verify`. tools/test runs it after the g++ tests:
#
#   tests/package/install_test.sh build/package/lvsctl_*.deb
#
# Why a scratch root and not a real install: `apt-get install ./lvsctl_*.deb` on this machine
# would put /usr/bin/lvsctl on the PATH of the other tests (the UML test bed shares this file
# system), and a throwaway chroot costs a debootstrap per run. The scratch root runs the same files
# from the package's own layout, and `apt-get --simulate` checks that its dependencies resolve.
set -uo pipefail
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
    echo "usage: tests/package/install_test.sh LVSCTL_DEB" >&2
    exit 64
fi
deb=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
cd "$(dirname "$0")/../.." || exit 1

passed=0
failed=0
ok() {
    echo "ok - $*"
    passed=$((passed + 1))
}
not_ok() {
    echo "not ok - $*"
    failed=$((failed + 1))
}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
root=$scratch/root
version=$(dpkg-deb -f "$deb" Version)

# lintian (as root in CI: it only reads the .deb): errors fail; warnings and the rest are printed
# (the accepted ones are overridden, with the reason, in debian/lvsctl.lintian-overrides).
if lintian --allow-root --fail-on error --display-info "$deb" >"$scratch/lintian" 2>&1; then
    ok "lintian: no error"
else
    not_ok "lintian: errors"
fi
sed 's/^/    /' "$scratch/lintian"

# The dependencies resolve against this machine's packages (installed or in apt's lists).
if apt-get install --simulate --no-install-recommends "$deb" >"$scratch/apt" 2>&1 &&
    grep -q '^Inst lvsctl ' "$scratch/apt"; then
    ok "apt-get install --simulate: the dependencies resolve"
else
    not_ok "apt-get install --simulate"
    sed 's/^/    /' "$scratch/apt"
fi

# dpkg itself, into an empty root of its own: install, the same version again (an upgrade: the
# maintainer scripts' upgrade branches), remove (the conffile stays), purge (it goes). The
# maintainer scripts run outside a chroot with DPKG_ROOT set; debhelper's systemd lines skip
# everything without /run/systemd/system, but Debian 12's still call systemctl daemon-reload
# there, so on a machine that runs systemd (not CI's) this step is skipped.
if [ -d /run/systemd/system ]; then
    echo "skip - dpkg --root install, upgrade, remove, purge: this machine runs systemd"
else
    dpkgroot=$scratch/dpkg-root
    mkdir -p "$dpkgroot/var/lib/dpkg/info" "$dpkgroot/var/lib/dpkg/updates"
    touch "$dpkgroot/var/lib/dpkg/status"
    in_root() {
        dpkg --root="$dpkgroot" --log="$scratch/dpkg.log" --force-script-chrootless \
            --force-depends "$@" >>"$scratch/dpkg" 2>&1
    }
    conf=$dpkgroot/etc/lvsctl/lvsctl.conf
    if in_root -i "$deb" && [ -x "$dpkgroot/usr/bin/lvsctl" ] && in_root -i "$deb" &&
        in_root -r lvsctl && [ -f "$conf" ] && [ ! -e "$dpkgroot/usr/bin/lvsctl" ] &&
        in_root -P lvsctl && [ ! -e "$conf" ]; then
        ok "dpkg --root: install, upgrade, remove (the conffile stays), purge (it goes)"
    else
        not_ok "dpkg --root: install, upgrade, remove, purge"
        grep -v 'depends on\|is not installed\|dependency problems' "$scratch/dpkg" | sed 's/^/    /'
    fi
fi

dpkg-deb -x "$deb" "$root" || exit 1
# Units go where systemd.pc says at build time: /lib/systemd/system on Debian 12.
unitdir=
for dir in usr/lib/systemd/system lib/systemd/system; do
    if [ -f "$root/$dir/lvsctl-monitor.service" ]; then
        unitdir=$dir
    fi
done

# What goes where.
missing=()
for path in usr/bin/lvsctl \
    usr/share/lvsctl/templates/lvs.cf.tpl usr/share/lvsctl/templates/keepalived.conf.tpl \
    usr/share/lvsctl/templates/keepalived-vrrp.conf.tpl etc/lvsctl/lvsctl.conf \
    "$unitdir/lvsctl-monitor.service" "$unitdir/lvsctl-monitor@.service" \
    "$unitdir/lvsctl-reconcile.service" "$unitdir/lvsctl-reconcile.timer" \
    "$unitdir/lvsctl-serve.service" usr/share/doc/lvsctl/docs/web-view.md \
    usr/share/doc/lvsctl/README.md usr/share/doc/lvsctl/docs/README.md \
    usr/share/doc/lvsctl/docs/commands.md usr/share/doc/lvsctl/docs/monitor.md \
    usr/share/doc/lvsctl/copyright usr/share/doc/lvsctl/changelog.gz; do
    if [ ! -f "$root/$path" ]; then
        missing+=("$path")
    fi
done
if [ -z "$unitdir" ]; then
    missing+=("the systemd units")
fi
if [ ${#missing[@]} -ne 0 ]; then
    not_ok "the package lacks: ${missing[*]}"
else
    ok "the package holds the program, templates, config, units ($unitdir) and docs"
fi
if dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles | grep -qx /etc/lvsctl/lvsctl.conf; then
    ok "/etc/lvsctl/lvsctl.conf is a conffile"
else
    not_ok "/etc/lvsctl/lvsctl.conf is not a conffile"
fi
# The man pages and completions come from the lvsctl_docs target, where the tree has it.
docs=(usr/share/man/man8/lvsctl.8.gz usr/share/man/man5/lvsctl.conf.5.gz
    usr/share/bash-completion/completions/lvsctl usr/share/zsh/vendor-completions/_lvsctl)
present=0
for path in "${docs[@]}"; do
    if [ -f "$root/$path" ]; then
        present=$((present + 1))
    fi
done
if grep -rEqs --include=CMakeLists.txt --include='*.cmake' --exclude-dir='build*' \
    --exclude-dir=.git 'add_custom_target\(\s*lvsctl_docs' .; then
    if [ "$present" -eq ${#docs[@]} ]; then
        ok "the man pages and completions are installed"
    else
        not_ok "the man pages and completions: $present of ${#docs[@]} installed (${docs[*]})"
    fi
else
    echo "skip - the man pages and completions: this tree has no lvsctl_docs target yet"
fi

lvsctl=$root/usr/bin/lvsctl
# --version, once the program knows it: it then says the package's version.
if "$lvsctl" --help 2>&1 | grep -q -- '--version'; then
    if out=$("$lvsctl" --version 2>&1) && grep -qF -- "$version" <<<"$out"; then
        ok "lvsctl --version: $out"
    else
        not_ok "lvsctl --version says '$out', not the package's version $version"
    fi
else
    echo "skip - lvsctl --version: this lvsctl does not know --version yet"
fi

# The installed templates, found beside the installed bin/ (no --templates), render the seed
# lvs.cf as the golden file (less its serial line, as in tests/test_cli.cpp); the packaged
# config is read (all comments).
: >"$scratch/diff"
if "$lvsctl" --config "$root/etc/lvsctl/lvsctl.conf" render \
    --from-lvscf tests/golden/seed-lvs.cf >"$scratch/rendered" 2>"$scratch/err" &&
    grep -v '^serial_no = ' "$scratch/rendered" | diff -u tests/golden/seed-lvs.cf - >"$scratch/diff"; then
    ok "render --from-lvscf with the installed templates matches tests/golden/seed-lvs.cf"
else
    not_ok "render --from-lvscf with the installed templates"
    sed 's/^/    /' "$scratch/err" "$scratch/diff"
fi
# Every key of the packaged config, uncommented, is accepted with its value as written (but
# templates, whose default names /usr/share: the scratch root's is the one to use here).
sed -E 's/^# ([a-z-]+ = )/\1/' "$root/etc/lvsctl/lvsctl.conf" |
    sed -E "s|^templates = .*|templates = $root/usr/share/lvsctl/templates|" >"$scratch/all-keys.conf"
keys=$(grep -cE '^[a-z-]+ = ' "$scratch/all-keys.conf")
if "$lvsctl" --config "$scratch/all-keys.conf" render --from-lvscf tests/golden/seed-lvs.cf \
    >/dev/null 2>"$scratch/err"; then
    ok "the packaged config's $keys keys, uncommented, are accepted"
else
    not_ok "the packaged config's keys, uncommented"
    sed 's/^/    /' "$scratch/err"
fi

# The installed program serves the web view (docs/web-view.md): with no database to read, its
# script, and metrics that count the failed gather; a clean stop on SIGTERM.
port=$((20000 + $$ % 10000))
LVSCTL_DB="host=$scratch/no-such-socket connect_timeout=2" "$lvsctl" --config /dev/null serve \
    --listen "127.0.0.1:$port" --interval 60 2>"$scratch/serve.err" &
serve=$!
for _ in $(seq 1 50); do
    grep -q '^lvsctl serve: serving ' "$scratch/serve.err" && break
    sleep 0.1
done
js=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/view.js")
failures() { curl -s -m 5 "http://127.0.0.1:$port/metrics" | awk '$1 == "lvsctl_serve_gather_failures_total" {print $2}'; }
for _ in $(seq 1 50); do
    [ "$(failures)" = 1 ] && break
    sleep 0.1
done
metrics=$(failures)
kill -TERM "$serve"
wait "$serve"
serve_rc=$?
if [ "$js|$metrics|$serve_rc" = "200|1|0" ]; then
    ok "lvsctl serve: /view.js, a failed gather counted in /metrics without a database, SIGTERM exit 0"
else
    not_ok "lvsctl serve: /view.js $js, gather failures '$metrics', exit $serve_rc (want 200, 1, 0)"
    sed 's/^/    /' "$scratch/serve.err"
fi

# The installed units: the same files as systemd/ (but for the paths of the program and the
# docs, which match for the package's /usr prefix), each Documentation= file is in the package,
# and `systemd-analyze verify` passes. verify checks that ExecStart's program exists, at its
# absolute path; with --root it would also need systemd's own units and /bin/kill inside the
# root, so the units are verified as copies that name the scratch root's program instead.
mkdir -p "$scratch/units"
for unit in lvsctl-monitor.service lvsctl-monitor@.service lvsctl-reconcile.service \
    lvsctl-reconcile.timer lvsctl-serve.service; do
    installed=$root/$unitdir/$unit
    if cmp -s "systemd/$unit" "$installed"; then
        ok "$unit: installed as in systemd/"
    else
        not_ok "$unit: the installed unit differs from systemd/$unit"
    fi
    # One URL a line here (Documentation= takes several, space-separated: none of ours does).
    while read -r doc; do
        if [ -f "$root${doc#file:}" ]; then
            ok "$unit: Documentation=$doc is in the package"
        else
            not_ok "$unit: Documentation=$doc is not in the package"
        fi
    done < <(sed -n 's/^Documentation=//p' "$installed")
    # An instance of the template: verify refuses a bare template.
    copy=$scratch/units/${unit/@./@7.}
    sed "s|/usr/bin/lvsctl|$lvsctl|g" "$installed" >"$copy"
done
if (cd "$scratch/units" && systemd-analyze verify ./*) >"$scratch/verify" 2>&1 &&
    [ ! -s "$scratch/verify" ]; then
    ok "systemd-analyze verify: the installed units"
else
    not_ok "systemd-analyze verify: the installed units"
    sed 's/^/    /' "$scratch/verify"
fi

echo "package: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
