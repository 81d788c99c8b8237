# shellcheck shell=bash
# tests/lib.sh: sourced by the shell tests (bash). Prints TAP-like "ok"/"not ok" lines.
#   check DESCRIPTION COMMAND...   ok when COMMAND succeeds; counts failures in $failures
#   wait_for SECONDS COMMAND...    polls COMMAND every 0.5 s until it succeeds, or fails after
#   finish                         prints the number of failures; exits 1 if any, else 0
failures=0
check() {
    local what=$1
    shift
    if "$@"; then
        echo "ok - $what"
    else
        echo "not ok - $what"
        failures=$((failures + 1))
    fi
}
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.5
    done
}
finish() {
    echo "# $failures failed"
    exit $((failures > 0))
}
