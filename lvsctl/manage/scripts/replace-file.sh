#!/bin/sh
# replace-file.sh PATH MODE CKSUM [BYTES [then-batch]]: replaces PATH atomically with what arrives
# on stdin: written to a temporary file beside it, synced, checked, renamed over it.
#   MODE   the mode of a new file (an existing one keeps its own); empty: 0644 by umask, no chmod
#   CKSUM  what `cksum` prints for the whole content: a connection cut mid-file ends the input
#          early, dd then exits 0 all the same, and the short file must not replace the real one
#   BYTES  read exactly this many bytes (dd reads exactly those from a pipe, where head would
#          read ahead), leaving the rest of stdin to `ip -force -batch -` when then-batch follows
# The path and the values arrive as arguments, never inside the script; the temporary name is
# unique per shell ($$). Few processes: it runs on every host of a change.
set -e
dir=${1%/*}
[ -d "$dir" ] || mkdir -p -- "$dir"
tmp="$dir/.lvsctl-upload.$$"
trap 'rm -f -- "$tmp"' EXIT
if [ -n "$2" ]; then
    # The mode is set on the empty file before dd fills it, so that dd's fsync makes the content
    # and the mode durable together (no sync process).
    umask 077
    : >"$tmp"
    if [ -e "$1" ]; then chmod --reference="$1" -- "$tmp"; else chmod "$2" -- "$tmp"; fi
else
    umask 022
fi
if [ -n "${4:-}" ]; then
    dd of="$tmp" bs="$4" count=1 iflag=fullblock conv=notrunc,fsync status=none
else
    dd of="$tmp" bs=65536 conv=notrunc,fsync status=none
fi
got=$(cksum <"$tmp")
if [ "$got" != "$3" ]; then
    echo "$1: the content arrived incomplete ($got bytes, not $3); the file is unchanged" >&2
    exit 1
fi
mv -f -- "$tmp" "$1"
trap - EXIT
if [ "${5:-}" = then-batch ]; then exec ip -force -batch -; fi
