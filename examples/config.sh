#!/usr/bin/env bash
# examples/config.sh: the same mappings from a configuration file (examples/remoteio.conf).
. "$(dirname "$0")/common.sh"
sed "s|http://127.0.0.1:8080/|$ORIGIN|" "$(dirname "$0")/remoteio.conf" > "$WORK/remoteio.conf"
remoteio -c "$WORK/remoteio.conf" --stats -- sh -c \
    'cat /data/hello.txt; sqlite3 "file:/data/db.sqlite?immutable=1" "select count(*) from t"; wc -c /remote/sample.raw'
