#!/bin/bash
# The Python module lvsctl as a user installs it (docs/library.md, "Python"): `cmake --install`
# of the program (its templates), the runtime liblvsctl and the component python3-lvsctl into a
# scratch prefix; the package's files and RUNPATH; then pytest (tests/python/test_*.py) with
# PYTHONPATH at the prefix's dist-packages only, against a real PostgreSQL (tests/db/with-postgres)
# seeded with tests/db/seed.sql and sshd hosts (tests/ssh/sshd-hosts 4: host 1 the LB with the
# stand-in agent, hosts 2 and 3 the web servers, host 4 one to add), as examples_test.sh runs the
# C++ examples. Also runs examples/drain-cluster.py (tests/python/test_drain.py).
#   python_test.sh BUILD_DIR PYTHON
set -uo pipefail
build=$(readlink -f "$1")
python=$2
here=$(cd "$(dirname "$0")" && pwd)
source=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$here/../lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/lvsctl-python.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

# --- install: the program (its templates), the runtime, the Python package -------------------
check "cmake --install of the program" cmake --install "$build" --prefix "$prefix"
check "cmake --install --component liblvsctl" \
    cmake --install "$build" --prefix "$prefix" --component liblvsctl
check "cmake --install --component python3-lvsctl" \
    cmake --install "$build" --prefix "$prefix" --component python3-lvsctl
site=$prefix/lib/python3/dist-packages
so=$(find "$prefix" -name 'liblvsctl.so.0' | head -n 1)
module=$(find "$site/lvsctl" -name '_lvsctl*.so' 2>/dev/null | head -n 1)
check "the package: lib/python3/dist-packages/lvsctl/__init__.py and _lvsctl*.so" \
    test -f "$site/lvsctl/__init__.py" -a -f "${module:-/nonexistent}"
check "the module's RUNPATH is relative to it (\$ORIGIN/...)" \
    bash -c "readelf -d '$module' | grep -Eq '(RUNPATH|RPATH).*\[\\\$ORIGIN/'"
check "the module needs liblvsctl.so.0 and no internal library" \
    bash -c "readelf -d '$module' | grep -q 'NEEDED.*\[liblvsctl.so.0\]' &&
             ! readelf -d '$module' | grep -Eq 'NEEDED.*(pqxx|ssh|ctemplate|fmt)'"
check "it imports with the prefix's liblvsctl.so.0, without LD_LIBRARY_PATH" \
    env -u LD_LIBRARY_PATH PYTHONPATH="$site" "$python" -c "
import lvsctl, sys
maps = open('/proc/self/maps').read()
sys.exit(not (lvsctl.__file__.startswith('$site/') and '${so:-/nonexistent}' in maps
              and lvsctl.__version__))"
check "a plain cmake --install (the program's package) has no Python package" bash -c "
    cmake --install '$build' --prefix '$work/plain' >/dev/null &&
    ! find '$work/plain' -name '_lvsctl*.so' -o -name dist-packages | grep -q ."
check "pytest is installed for $python (apt-get install python3-pytest)" \
    "$python" -c 'import pytest'

# --- pytest against PostgreSQL and sshd hosts ------------------------------------------------
# The source tree stays clean: no __pycache__, no .pytest_cache. A stuck test (a deadlock between
# the GIL and lvsctl's threads) dumps every thread's stack and fails (conftest.py).
run_pytest() {
    "$source/tests/db/with-postgres" "$source/tests/ssh/sshd-hosts" 4 \
        env -u LD_LIBRARY_PATH PYTHONPATH="$site" PYTHONDONTWRITEBYTECODE=1 \
        LVSCTL_TEST_PREFIX="$prefix" LVSCTL_TEST_SOURCE="$source" LVSCTL_TEST_PYTHON="$python" \
        LVSCTL_TEST_HANG_LOG="$work/hang.log" \
        "$python" -m pytest -p no:cacheprovider -v -rs --durations=5 "$source/tests/python"
}
# A second try when the hosts did not come up (sshd-hosts: "no SSH login", on a loaded machine).
for attempt in 1 2; do
    out=$(run_pytest 2>&1)
    rc=$?
    grep -q '^sshd-hosts: .*no SSH login' <<<"$out" || break
    echo "# attempt $attempt: the sshd hosts did not come up; again"
done
echo "$out"
if [[ -s $work/hang.log ]]; then
    echo "# a test hung (a deadlock?); every thread's stack:"
    cat "$work/hang.log"
fi
if [[ $rc == 125 ]]; then
    echo "# skipped: no PostgreSQL or sshd hosts here"
    exit 125
fi
check "pytest tests/python: every test passed (exit $rc)" test "$rc" = 0
finish
