#!/bin/sh
# record-append-batch.sh RECORD BYTES LINES: the first LINES lines (BYTES bytes) of stdin appended
# to the record, then `ip -force -batch -` on the rest. A few lines are read by the shell itself
# (read takes a pipe byte by byte, never past the newline), more by dd: no process for the common
# case of one more address. Appends are not synced: lo's addresses do not survive a crash
# either, and a line lost with them only makes lvsctl forget an address that is gone. A crash can
# also leave a last line without its newline, which parse_web_observed() then ignores (its
# address was never added: ip runs after).
set -e
dir=${1%/*}
[ -d "$dir" ] || mkdir -p -- "$dir"
umask 022
if [ "$3" -le 16 ]; then
    n=$3
    while [ "$n" -gt 0 ]; do
        IFS= read -r line
        printf '%s\n' "$line"
        n=$((n - 1))
    done >>"$1"
else
    dd of="$1" bs="$2" count=1 iflag=fullblock oflag=append conv=notrunc status=none
fi
exec ip -force -batch -
