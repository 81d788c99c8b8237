#!/bin/sh
# keepalived's own parser (-t) checks every keepalived configuration among the golden files:
# it must exit 0 and say nothing, since it reports ignored keywords only as warnings.
set -eu
keepalived=$1
dir=$2
status=0
for conf in "$dir"/*keepalived.conf; do
    if output=$("$keepalived" --config-test --use-file="$conf" 2>&1) && [ -z "$output" ]; then
        echo "ok: $conf"
    else
        echo "keepalived finds fault with $conf:"
        printf '%s\n' "$output" | sed 's/^/  /'
        status=1
    fi
done
exit $status
