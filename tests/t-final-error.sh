#!/usr/bin/env bash
# tests/t-final-error.sh: the line that explains a failed read is always printed.
#
# Every range GET of the fault origin answers 503: each read retries, then fails with EIO.
# The "retrying" lines may be rate-limited, but each failed read's "giving up" line is
# printed, on the direct path and on libcurl's, however close together the failures come.
. "$(dirname "$0")/lib.sh"
require python3 dd
require_shim
W=$T/www
mkdir -p "$W"
make_file "$W/x" 300000
start_fault_origin "$W" 0 --fault-rate 1 --faults 503 --retry-after 0
export REMOTEIO_TIMEOUT=2 REMOTEIO_DEADLINE=20 REMOTEIO_RETRIES=1 REMOTEIO_MAP="/f/=$OURL/"
unset REMOTEIO_CONFIG REMOTEIO_STATS REMOTEIO_LOG REMOTEIO_LOG_FILE REMOTEIO_INSECURE
for direct in 1 0; do
    REMOTEIO_DIRECT=$direct shim "$PY" -c '
import os
fd = os.open("/f/x", os.O_RDONLY)
for off in (0, 100000, 200000):
    try:
        os.pread(fd, 10, off); print("read")
    except OSError as e:
        print(e.strerror)' > "$T/out" 2>"$T/err"
    n=$(grep -c "Input/output error" "$T/out")
    g=$(grep -c "^remoteio: .*giving up" "$T/err")
    [ "$n" = 3 ] && ok "three reads fail with EIO (direct=$direct)" || fail "three reads fail with EIO (direct=$direct)" "$(cat "$T/out")"
    [ "$g" = 3 ] && ok "each failure prints its giving-up line (direct=$direct)" ||
        fail "each failure prints its giving-up line (direct=$direct)" "$g lines: $(cat "$T/err")"
done
finish
