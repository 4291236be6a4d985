#!/usr/bin/env bash
# examples/sqlite.sh: query a remote read-only SQLite database (immutable=1: no locks, no journal).
. "$(dirname "$0")/common.sh"
q="SELECT count(*), sum(value), (SELECT id FROM t WHERE name = 'row 12345') FROM t;"
remoteio -m /db/sample.sqlite="${ORIGIN}sample.sqlite" -- \
    sqlite3 'file:/db/sample.sqlite?immutable=1' "$q" | tee "$WORK/remote.out"
if [ -n "$SAMPLES" ]; then
    [ "$(sqlite3 "$SAMPLES/sample.sqlite" "$q")" = "$(cat "$WORK/remote.out")" ] && echo "sqlite: same answer as the local copy"
fi
