#!/bin/bash
# liblvsctl as another program uses it (docs/library.md): `cmake --install` of the library's
# components into a scratch prefix; the shared library's SONAME and its exported symbols (the
# public API only); examples/plan-all built against that prefix twice, with find_package(lvsctl)
# and with pkg-config; both run against a real PostgreSQL (tests/db/with-postgres) seeded with
# tests/db/seed.sql and a second cluster, whose hosts are sshd hosts (tests/ssh/sshd-hosts 3:
# host 1 the LB with the stand-in agent, hosts 2 and 3 the web servers).
#   examples_test.sh BUILD_DIR
set -uo pipefail
build=$(readlink -f "$1")
here=$(cd "$(dirname "$0")" && pwd)
source=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$here/../lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/lvsctl-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

# --- install: the program (its templates), the runtime, the development files ---------------
check "cmake --install of the program" cmake --install "$build" --prefix "$prefix"
check "cmake --install --component liblvsctl" \
    cmake --install "$build" --prefix "$prefix" --component liblvsctl
check "cmake --install --component liblvsctl-dev" \
    cmake --install "$build" --prefix "$prefix" --component liblvsctl-dev
so=$(find "$prefix" -name 'liblvsctl.so.0' | head -n 1)
libdir=$(dirname "${so:-/nonexistent/x}")
check "the runtime: liblvsctl.so.0 -> liblvsctl.so.0.x.y" test -L "$so"
check "the development link: liblvsctl.so" test -L "$libdir/liblvsctl.so"
check "the headers: lvsctl.h and export.h" \
    test -f "$prefix/include/lvsctl/lvsctl.h" -a -f "$prefix/include/lvsctl/export.h"
check "the CMake package" test -f "$libdir/cmake/lvsctl/lvsctlConfig.cmake" \
    -a -f "$libdir/cmake/lvsctl/lvsctlConfigVersion.cmake" -a -f "$libdir/cmake/lvsctl/lvsctlTargets.cmake"
check "the pkg-config file" test -f "$libdir/pkgconfig/lvsctl.pc"
check "a plain cmake --install (the program's package) has none of the library" bash -c "
    cmake --install '$build' --prefix '$work/plain' >/dev/null &&
    test -x '$work/plain/bin/lvsctl' &&
    ! find '$work/plain' -name 'liblvsctl*' -o -name 'lvsctl.pc' -o -name 'lvsctl.h' | grep -q ."
check "SONAME liblvsctl.so.0" bash -c "readelf -d '$so' | grep -q 'SONAME.*\[liblvsctl.so.0\]'"

# --- the ABI: only lvsctl::api is exported ---------------------------------------------------
exported=$(nm -DC --defined-only "$so" | awk '{ $1 = ""; $2 = ""; print substr($0, 3) }')
check "exports the API (Connection::open, Error, version)" bash -c "
    grep -q '^lvsctl::api::Connection::open(lvsctl::api::Options const&)' <<<'$exported' &&
    grep -q '^lvsctl::api::Error::exit_code() const' <<<'$exported' &&
    grep -q '^typeinfo for lvsctl::api::Error' <<<'$exported' &&
    grep -q '^lvsctl::api::version' <<<'$exported'"
others=$(grep -v -e '^lvsctl::api::' -e '^typeinfo for lvsctl::api::' \
    -e '^typeinfo name for lvsctl::api::' -e '^vtable for lvsctl::api::' -e '^LVSCTL_0$' <<<"$exported")
check "exports nothing else (no internals, fmt, nlohmann, std instantiations)" test -z "$others"
[[ -z $others ]] || head -n 20 <<<"$others"
check "the headers name no third-party library" \
    bash -c "! grep -E '#include [<\"](fmt|nlohmann|pqxx|libssh|netlink|ctemplate|CLI)/' '$prefix/include/lvsctl/'*.h"

# --- the examples, built against the prefix --------------------------------------------------
check "examples/plan-all: configured with find_package(lvsctl)" \
    cmake -S "$source/examples/plan-all" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_BUILD_TYPE=Release
check "examples/plan-all: built with CMake" cmake --build "$work/cmake-build"
mkdir -p "$work/pc-build"
check "examples/plan-all: built with pkg-config (Makefile)" \
    env PKG_CONFIG_PATH="$libdir/pkgconfig" make -s -f "$source/examples/plan-all/Makefile" \
    OUT="$work/pc-build"
check "the pkg-config build needs no private dependency on its compile line" \
    bash -c "! PKG_CONFIG_PATH='$libdir/pkgconfig' pkg-config --cflags --libs lvsctl | grep -Eq 'pqxx|ssh|nl-|ctemplate|fmt'"

# --- run against PostgreSQL and sshd hosts ---------------------------------------------------
cat >"$work/run.sh" <<'SCRIPT'
#!/bin/bash
# Under with-postgres and sshd-hosts: seed, then run each plan-all; prints "RC=N" after each.
set -uo pipefail
work=$1 prefix=$2 source=$3
psql -q -X -v ON_ERROR_STOP=1 -d postgres -c 'create database lvsctl_examples_test' || exit 1
db="host=$PGHOST user=lvsctl dbname=lvsctl_examples_test"
LVSCTL_DB=$db "$prefix/bin/lvsctl" --config=/dev/null db migrate >/dev/null || exit 1
cp "$source/tests/ssh/stand-in-agent" "$LVSCTL_TEST_SSH_DIR/agent"
{
    cat "$source/tests/db/seed.sql"
    # The seed's hosts are the sshd hosts; a second cluster shares its LB.
    echo "update h2e_load_balancers set mgmt_address = '10.200.1.1';
          update apache_h2e_nodes set mgmt_address = '10.200.1.2' where node_id = 43;
          update apache_h2e_nodes set mgmt_address = '10.200.1.3' where node_id = 44;
          insert into h2e_clusters (cluster_id, name, ports, fwmark) values (2, 'Shop', '{443}', 102);
          insert into h2e_load_balancers (cluster_id, role, mgmt_address) values (2, 'primary', '10.200.1.1');
          insert into apache_h2e_nodes (node_id, cluster_id, mgmt_address, address, weight)
              values (45, 2, '10.200.1.3', '10.39.84.44', 10);
          insert into h2e_cluster_ips (cluster_id, address) values (2, '10.39.84.132');"
} | psql -q -X -v ON_ERROR_STOP=1 -d lvsctl_examples_test || exit 1
cat >"$work/lvsctl.conf" <<CONF
db = "$db"
known-hosts = $LVSCTL_TEST_SSH_KNOWN_HOSTS
ssh-identity = $LVSCTL_TEST_SSH_IDENTITY
agent = $LVSCTL_TEST_SSH_DIR/agent
templates = $prefix/share/lvsctl/templates
timeout = 5
CONF
for program in "$work/cmake-build/plan-all" "$work/pc-build/plan-all"; do
    echo "=== $program"
    env -u LVSCTL_DB "$program" "$work/lvsctl.conf" 2>&1
    echo "RC=$?"
done
# Without a database: the error's exit code.
echo "=== no database"
LVSCTL_DB="host=/nonexistent user=nobody" "$work/cmake-build/plan-all" "$work/lvsctl.conf" 2>&1
echo "RC=$?"
SCRIPT
chmod +x "$work/run.sh"
# A second try when the hosts did not come up (sshd-hosts: "no SSH login", on a loaded machine).
for attempt in 1 2; do
    out=$("$source/tests/db/with-postgres" "$source/tests/ssh/sshd-hosts" 3 "$work/run.sh" \
        "$work" "$prefix" "$source" 2>&1)
    rc=$?
    grep -q '^sshd-hosts: .*no SSH login' <<<"$out" || break
    echo "# attempt $attempt: the sshd hosts did not come up; again"
done
if [[ $rc == 125 ]]; then
    echo "$out"
    echo "# skipped: no PostgreSQL or sshd hosts here"
    exit 125
fi
while IFS= read -r line; do echo "# $line"; done <<<"$out"
for build in cmake-build pc-build; do
    run=$(awk -v p="=== $work/$build/plan-all" '$0 == p { on = 1; next } /^=== / { on = 0 } on' <<<"$out")
    check "$build: cluster 1 of the seed, changes pending" grep -q '^cluster 1 (Web-Cluster), serial [0-9]*: changes pending$' <<<"$run"
    check "$build: cluster 2, changes pending" grep -q '^cluster 2 (Shop), serial [0-9]*: changes pending$' <<<"$run"
    check "$build: the web servers' new website IP" grep -q '^  web 10.200.1.2: + add 10.39.84.131/32 to lo$' <<<"$run"
    check "$build: the LB's new service of each cluster" bash -c "grep -q '^  lb 10.200.1.1: + add service FWM 100' <<<'$run' && grep -q '^  lb 10.200.1.1: + add service FWM 102' <<<'$run'"
    check "$build: exit 0 (a plan changes nothing)" grep -q '^RC=0$' <<<"$run"
done
nodb=$(awk '$0 == "=== no database" { on = 1; next } on' <<<"$out")
check "no database: api::Error, exit 69" grep -q '^RC=69$' <<<"$nodb"
finish
