#!/bin/bash
# The shell scripts lvsctl runs on hosts (lvsctl/manage/scripts/*.sh, embedded in the program)
# and the test harness's own: each must parse in sh and dash, and pass shellcheck. Run by ctest
# (remote_scripts).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
failed=0
for f in lvsctl/manage/scripts/*.sh; do
    for shell in sh dash; do
        if ! "$shell" -n "$f"; then
            echo "not ok - $shell -n $f"
            failed=1
        fi
    done
done
if ! command -v shellcheck >/dev/null; then
    echo "not ok - shellcheck is not installed (tools/install-deps installs it)"
    exit 1
fi
if shellcheck -s sh lvsctl/manage/scripts/*.sh; then
    echo "ok - shellcheck: the remote scripts"
else
    failed=1
fi
if shellcheck -x tests/faults/faults_test.sh tests/faults/agent-wrapper tests/faults/exec-program \
    tests/faults/service-stub tests/lib.sh tests/check-architecture.sh tests/check-scripts.sh \
    tests/check-docs.sh tests/package/install_test.sh tools/package tests/e2e/web_view_test.sh \
    tests/install/examples_test.sh tests/check-api-reference.sh tests/python/python_test.sh; then
    echo "ok - shellcheck: the fault suite, the package's scripts, the checks and the web view's test"
else
    failed=1
fi
# The package's maintainer scripts run in the installing machine's /bin/sh.
if shellcheck -s sh debian/lvsctl.postinst debian/lvsctl.prerm; then
    echo "ok - shellcheck: the package's maintainer scripts"
else
    failed=1
fi
exit $failed
