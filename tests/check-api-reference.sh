#!/usr/bin/env bash
# ctest api_reference_doxygen: builds the API reference (the target api_reference, docs/api/)
# and fails on any doxygen warning: doxygen's own exit code (WARN_AS_ERROR = FAIL_ON_WARNINGS)
# and its warning log, which must be empty. Then the pages of the public API are there.
#   check-api-reference.sh BUILD_DIR
set -uo pipefail
build=$(readlink -f "$1")
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
out=$build/docs/api
rm -f "$out/warnings.log"

check "cmake --build --target api_reference (doxygen fails on a warning)" \
    cmake --build "$build" --target api_reference
check "the warning log is empty" test -f "$out/warnings.log" -a ! -s "$out/warnings.log"
if [ -s "$out/warnings.log" ]; then
    sed 's/^/# /' "$out/warnings.log"
fi
check "html/index.html" test -f "$out/html/index.html"
check "the pages of Connection, Options, Result and Error" \
    test -f "$out/html/classlvsctl_1_1api_1_1Connection.html" \
    -a -f "$out/html/structlvsctl_1_1api_1_1Options.html" \
    -a -f "$out/html/structlvsctl_1_1api_1_1Result.html" \
    -a -f "$out/html/classlvsctl_1_1api_1_1Error.html"
finish
