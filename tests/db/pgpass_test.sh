#!/bin/bash
# The password of the database user comes from ~/.pgpass (libpq reads it), never from argv, and
# never shows in lvsctl's output. Run under tests/db/with-postgres, which allows trust logins:
# this test makes one role need a password (scram-sha-256) and reloads the server.
set -uo pipefail
lvsctl=$1
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib.sh"
as_owner=()
[[ $(id -u) == 0 ]] && as_owner=(runuser -u postgres --)
home=$(mktemp -d /var/tmp/lvsctl-pgpass.XXXXXX)
trap 'rm -rf "$home"' EXIT
chmod 755 "$home"
secret="s3cret-$RANDOM-pw"
psql -q -X -v ON_ERROR_STOP=1 -d postgres \
    -c "create role pwuser login password '$secret'" -c "create database pwdb owner pwuser" || exit 1
hba="$LVSCTL_TEST_PG_DATA/pg_hba.conf"
"${as_owner[@]}" sh -c "{ echo 'local all pwuser scram-sha-256'; cat '$hba'; } > '$hba.new' && mv '$hba.new' '$hba'"
"${as_owner[@]}" "$LVSCTL_TEST_PG_BIN/pg_ctl" -D "$LVSCTL_TEST_PG_DATA" reload >/dev/null || exit 1
sleep 1
db="host=$PGHOST user=pwuser dbname=pwdb"

out=$(env -u PGPASSFILE HOME=$home "$lvsctl" --config=/dev/null --db "$db" db migrate 2>&1); rc=$?
check "without ~/.pgpass: exit 69 ($out)" test "$rc" = 69
check "libpq's reason is shown" grep -q "password" <<<"$out"

printf '%s:*:pwdb:pwuser:%s\n' "$PGHOST" "$secret" >"$home/.pgpass"
chmod 600 "$home/.pgpass"
out=$(env -u PGPASSFILE HOME=$home "$lvsctl" --config=/dev/null --db "$db" db migrate 2>&1); rc=$?
check "with ~/.pgpass: db migrate works ($out)" test "$rc" = 0
out=$(env -u PGPASSFILE HOME=$home "$lvsctl" --config=/dev/null --db "$db" --json render --cluster-id=1 2>&1); rc=$?
check "a later error is still about the data, not the login (exit 65)" test "$rc" = 65
check "the password never shows" bash -c '! grep -q "$1" <<<"$2"' _ "$secret" "$out"

printf '%s:*:pwdb:pwuser:wrong\n' "$PGHOST" >"$home/.pgpass"
out=$(env -u PGPASSFILE HOME=$home "$lvsctl" --config=/dev/null --db "$db" db migrate 2>&1); rc=$?
check "a wrong password in ~/.pgpass: exit 69" test "$rc" = 69
finish
