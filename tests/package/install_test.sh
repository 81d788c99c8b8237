#!/usr/bin/env bash
# Tests the Debian packages that tools/package built, lvsctl, liblvsctl0 and liblvsctl-dev:
# lintian finds no error in them; their dependencies resolve here; dpkg installs, upgrades,
# removes and purges them in an empty root; unpacked into a scratch root (dpkg -x), they hold
# what the README and docs/library.md say, the installed program runs from there and renders the
# seed lvs.cf with the INSTALLED templates (found beside its bin/, no --templates), the installed
# units pass `systemd-analyze verify`, and examples/plan-all builds against the unpacked
# development files (its CMake package and its pkg-config file) and runs on the unpacked library.
# tools/test runs it after the g++ tests, with the three packages in any order:
#
#   tests/package/install_test.sh build/package/{lvsctl,liblvsctl0,liblvsctl-dev}_*.deb
#
# Why a scratch root and not a real install: `apt-get install ./lvsctl_*.deb` on this machine
# would put /usr/bin/lvsctl on the PATH of the other tests (the UML test bed shares this file
# system), and a throwaway chroot costs a debootstrap per run. The scratch root runs the same files
# from the package's own layout, and `apt-get --simulate` checks that its dependencies resolve.
set -uo pipefail
usage() {
    echo "usage: tests/package/install_test.sh LVSCTL_DEB LIBLVSCTL0_DEB LIBLVSCTL_DEV_DEB" >&2
    exit 64
}
# Each .deb is told by its Package field.
deb='' lib='' dev=''
for arg in "$@"; do
    [ -f "$arg" ] || usage
    path=$(cd "$(dirname "$arg")" && pwd)/$(basename "$arg")
    case $(dpkg-deb -f "$path" Package) in
        lvsctl) deb=$path ;;
        liblvsctl0) lib=$path ;;
        liblvsctl-dev) dev=$path ;;
        *) usage ;;
    esac
done
if [ $# -ne 3 ] || [ -z "$deb" ] || [ -z "$lib" ] || [ -z "$dev" ]; then
    usage
fi
debs=("$deb" "$lib" "$dev")
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

# lintian on the three at once (as root in CI: it only reads the .debs), so that it also checks
# them as a group: errors fail; warnings and the rest are printed (the accepted ones are
# overridden, with the reason, in debian/*.lintian-overrides).
if lintian --allow-root --fail-on error --display-info "${debs[@]}" >"$scratch/lintian" 2>&1; then
    ok "lintian: no error"
else
    not_ok "lintian: errors"
fi
sed 's/^/    /' "$scratch/lintian"

# The dependencies resolve against this machine's packages (installed or in apt's lists) and
# each other.
if apt-get install --simulate --no-install-recommends "${debs[@]}" >"$scratch/apt" 2>&1 &&
    grep -q '^Inst lvsctl ' "$scratch/apt" && grep -q '^Inst liblvsctl0 ' "$scratch/apt" &&
    grep -q '^Inst liblvsctl-dev ' "$scratch/apt"; then
    ok "apt-get install --simulate: the dependencies resolve"
else
    not_ok "apt-get install --simulate"
    sed 's/^/    /' "$scratch/apt"
fi

multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
libdir=usr/lib/$multiarch

# dpkg itself, into an empty root of its own: install, the same versions again (an upgrade: the
# maintainer scripts' upgrade branches), remove (the conffile stays), purge (it goes). The
# maintainer scripts run outside a chroot with DPKG_ROOT set; debhelper's systemd lines skip
# everything without /run/systemd/system, but Debian 12's still call systemctl daemon-reload
# there, so on a machine that runs systemd (not CI's) this step is skipped. liblvsctl0's ldconfig
# trigger has no taker in the empty root.
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
    installed() {
        [ -x "$dpkgroot/usr/bin/lvsctl" ] && [ -f "$dpkgroot/$libdir/liblvsctl.so.0" ] &&
            [ -f "$dpkgroot/usr/include/lvsctl/lvsctl.h" ]
    }
    gone() {
        [ ! -e "$dpkgroot/usr/bin/lvsctl" ] && [ ! -e "$dpkgroot/$libdir/liblvsctl.so.0" ] &&
            [ ! -e "$dpkgroot/usr/include/lvsctl" ]
    }
    packages=(liblvsctl-dev liblvsctl0 lvsctl)
    if in_root -i "${debs[@]}" && installed && in_root -i "${debs[@]}" && installed &&
        in_root -r "${packages[@]}" && [ -f "$conf" ] && gone &&
        in_root -P "${packages[@]}" && [ ! -e "$conf" ] &&
        [ -z "$(find "$dpkgroot" -path "$dpkgroot/var" -prune -o ! -type d -print)" ]; then
        ok "dpkg --root: install, upgrade, remove (the conffile stays), purge (nothing is left)"
    else
        not_ok "dpkg --root: install, upgrade, remove, purge"
        grep -v 'depends on\|is not installed\|dependency problems' "$scratch/dpkg" | sed 's/^/    /'
    fi
fi

for package in "${debs[@]}"; do
    dpkg-deb -x "$package" "$root" || exit 1
done
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

# --- liblvsctl0 and liblvsctl-dev (docs/library.md) --------------------------------------------
# Each package holds its own files (the CMake install components), and the program's package
# none of the library's.
contents() { dpkg-deb -c "$1" | awk '{ print $6 }' | sed 's|^\./||'; }
lib_files=$(contents "$lib" | grep -v -e '^$' -e '/$' -e '^usr/share/doc/liblvsctl0/')
if grep -qx "$libdir/liblvsctl.so.0" <<<"$lib_files" &&
    [ "$(grep -cv "^$libdir/liblvsctl\.so\.0\(\.[0-9]*\)*$" <<<"$lib_files")" = 0 ]; then
    ok "liblvsctl0 holds $libdir/liblvsctl.so.0* only"
else
    not_ok "liblvsctl0's files: $(tr '\n' ' ' <<<"$lib_files")"
fi
missing=()
for path in usr/include/lvsctl/lvsctl.h usr/include/lvsctl/export.h "$libdir/liblvsctl.so" \
    "$libdir/cmake/lvsctl/lvsctlConfig.cmake" "$libdir/cmake/lvsctl/lvsctlConfigVersion.cmake" \
    "$libdir/cmake/lvsctl/lvsctlTargets.cmake" "$libdir/pkgconfig/lvsctl.pc" \
    usr/share/doc/liblvsctl-dev/copyright usr/share/doc/liblvsctl0/copyright; do
    if [ ! -e "$root/$path" ]; then
        missing+=("$path")
    fi
done
if [ ${#missing[@]} -eq 0 ] && [ -L "$root/$libdir/liblvsctl.so" ] &&
    ! contents "$dev" | grep -q 'liblvsctl\.so\.'; then
    ok "liblvsctl-dev holds the headers, the liblvsctl.so link, the CMake package and lvsctl.pc"
else
    not_ok "liblvsctl-dev lacks: ${missing[*]} (or holds the library itself)"
fi
if contents "$deb" | grep -qE 'liblvsctl|/include/|pkgconfig|/cmake/'; then
    not_ok "the lvsctl package holds library files: $(contents "$deb" | grep -E 'liblvsctl|/include/|pkgconfig|/cmake/' | tr '\n' ' ')"
else
    ok "the lvsctl package holds none of the library's files"
fi

# The relations: the library renders with the program's templates (the same version); the
# development files go with the same library; a program built against the library depends on
# at least this version (dh_makeshlibs -V).
lib_depends=$(dpkg-deb -f "$lib" Depends)
dev_depends=$(dpkg-deb -f "$dev" Depends)
shlibs=$(dpkg-deb --ctrl-tarfile "$lib" | tar -xOf - ./shlibs 2>/dev/null)
upstream=${version%%-*}
if grep -qF "lvsctl (= $version)" <<<"$lib_depends" &&
    grep -qF "liblvsctl0 (= $version)" <<<"$dev_depends" &&
    [ "$shlibs" = "liblvsctl 0 liblvsctl0 (>= $upstream)" ]; then
    ok "Depends: liblvsctl0 on lvsctl (= $version), liblvsctl-dev on liblvsctl0 (= $version); shlibs: $shlibs"
else
    not_ok "relations: liblvsctl0 Depends '$lib_depends', liblvsctl-dev '$dev_depends', shlibs '$shlibs'"
fi

so=$root/$libdir/liblvsctl.so.0
if readelf -d "$so" 2>/dev/null | grep -q 'SONAME.*\[liblvsctl\.so\.0\]'; then
    ok "the unpacked liblvsctl.so.0: SONAME liblvsctl.so.0"
else
    not_ok "the unpacked liblvsctl.so.0: no SONAME liblvsctl.so.0"
fi
if ldd "$so" >"$scratch/ldd" 2>&1 && ! grep -q 'not found' "$scratch/ldd"; then
    ok "the unpacked liblvsctl.so.0: its dependencies resolve (ldd)"
else
    not_ok "the unpacked liblvsctl.so.0: ldd"
    sed 's/^/    /' "$scratch/ldd"
fi

# As installed, the development files name /usr: lvsctl.pc its prefix (as Debian's .pc files
# do), the CMake package its own place (CMake's relocatable install(EXPORT)); neither names the
# build tree.
cmakedir=$root/$libdir/cmake/lvsctl
if grep -qx 'prefix=/usr' "$root/$libdir/pkgconfig/lvsctl.pc" &&
    grep -qx "libdir=\${prefix}/lib/$multiarch" "$root/$libdir/pkgconfig/lvsctl.pc" &&
    grep -q 'get_filename_component(_IMPORT_PREFIX' "$cmakedir/lvsctlTargets.cmake" &&
    ! grep -rqE 'obj-|package-src|debian/tmp' "$cmakedir" "$root/$libdir/pkgconfig/lvsctl.pc"; then
    ok "lvsctl.pc names prefix=/usr; the CMake package is relocatable; neither names the build"
else
    not_ok "lvsctl.pc or the CMake package"
    sed 's/^/    /' "$root/$libdir/pkgconfig/lvsctl.pc"
fi

# examples/plan-all built against the unpacked development files: find_package(lvsctl) with the
# scratch root's usr/ as prefix; pkg-config (the Makefile) with the scratch root as sysroot.
if cmake -S examples/plan-all -B "$scratch/cmake-build" -DCMAKE_PREFIX_PATH="$root/usr" \
    -DCMAKE_BUILD_TYPE=Release >"$scratch/cmake" 2>&1 &&
    cmake --build "$scratch/cmake-build" >>"$scratch/cmake" 2>&1 &&
    grep -q "lvsctl_DIR:PATH=$cmakedir" "$scratch/cmake-build/CMakeCache.txt"; then
    ok "examples/plan-all: built with find_package(lvsctl) from the unpacked liblvsctl-dev"
else
    not_ok "examples/plan-all: built with find_package(lvsctl)"
    sed 's/^/    /' "$scratch/cmake"
fi
pc() {
    PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_LIBDIR=$root/$libdir/pkgconfig "$@"
}
mkdir -p "$scratch/pc-build"
flags=$(pc pkg-config --cflags --libs lvsctl 2>&1 | sed 's/ *$//')
if pc make -s -f examples/plan-all/Makefile OUT="$scratch/pc-build" >"$scratch/make" 2>&1 &&
    [ "$flags" = "-I$root/usr/include -L$root/$libdir -llvsctl" ]; then
    ok "examples/plan-all: built with pkg-config (sysroot the scratch root): $flags"
else
    not_ok "examples/plan-all: built with pkg-config: $flags"
    sed 's/^/    /' "$scratch/make"
fi
# Both run on the unpacked library: without a database, the documented exit code (69).
for program in "$scratch/cmake-build/plan-all" "$scratch/pc-build/plan-all"; do
    LD_LIBRARY_PATH=$root/$libdir ldd "$program" >"$scratch/ldd" 2>&1
    LD_LIBRARY_PATH=$root/$libdir LVSCTL_DB="host=$scratch/no-such-socket connect_timeout=2" \
        "$program" /dev/null >"$scratch/run" 2>&1
    rc=$?
    if grep -qF "liblvsctl.so.0 => $so" "$scratch/ldd" && [ "$rc" = 69 ] &&
        grep -q '^plan-all: ' "$scratch/run"; then
        ok "${program#"$scratch/"} runs on the unpacked liblvsctl.so.0: no database, exit 69"
    else
        not_ok "${program#"$scratch/"} on the unpacked library: exit $rc (want 69)"
        sed 's/^/    /' "$scratch/ldd" "$scratch/run"
    fi
done

echo "package: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
