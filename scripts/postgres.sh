#!/usr/bin/env bash
# Start a throw-away PostgreSQL cluster for the tests (Debian's postgresql package, no systemd).
# Prints the DSN on stdout. Idempotent: reuses a running cluster in the same directory.
set -euo pipefail
# The cluster is UTF-8 with a fixed locale whatever the caller's environment (a bare sudo or a
# systemd unit has no LANG, and initdb would then make an SQL_ASCII cluster: issue 10).
export LC_ALL=C.UTF-8 LANG=C.UTF-8
PGDIR=${MADOGUCHI_PG_DIR:-/tmp/madoguchi-pg}
PGPORT=${MADOGUCHI_PG_PORT:-55432}
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
if [ ! -f "$PGDIR/PG_VERSION" ]; then
  mkdir -p "$PGDIR"
  chown postgres:postgres "$PGDIR"
  su postgres -s /bin/sh -c "$BIN/initdb -D $PGDIR -A trust -U postgres --encoding=UTF8 --locale=C.UTF-8 >/dev/null"
fi
if ! su postgres -s /bin/sh -c "$BIN/pg_ctl -D $PGDIR status" >/dev/null 2>&1; then
  su postgres -s /bin/sh -c "$BIN/pg_ctl -D $PGDIR -l $PGDIR/server.log -w \
    -o '-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200' start" >/dev/null
fi
echo "postgresql://postgres@127.0.0.1:$PGPORT/postgres"
