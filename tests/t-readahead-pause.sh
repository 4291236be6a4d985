#!/usr/bin/env bash
# tests/t-readahead-pause.sh: readahead stops when the reader stops.
#
# A sequential reader reads 8 MiB and then pauses, file still open: the origin sends
# nothing more during the pause, and no more in all than the bytes read +
# REMOTEIO_READAHEAD.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/lib-readahead.sh"

# a reader that pauses
paused_reader() {
    RA=$((16 * MIB))
    mark=$(lines)
    REMOTEIO_READAHEAD=16M shim "$PREADER" -m seq -b 1M -l 8M -w 3 -c "$T/www/big" /remote/big > "$T/p1.out" 2>&1 &
    pid=$!
    for i in $(seq 1 100); do grep -q '^preader:' "$T/p1.out" && break; sleep 0.1; done
    sleep 1
    read -r n1 b1 m1 < <(origin_since $mark)
    sleep 1.5
    read -r n2 b2 m2 < <(origin_since $mark)
    wait $pid; rc=$?
    cat "$T/p1.out"
    [ $rc = 0 ] && ok "paused reader read 8 MiB correctly" || fail "paused reader" "rc=$rc"
    # the reader's 8 MiB came from the origin before the pause: fewer means it did no work
    if [ "$b1" -lt $((8 * MIB)) ]; then
        fail "readahead during the pause" "only $b1 bytes ($n1 requests) fetched for the 8 MiB read before the pause"
    elif [ "$b2" = "$b1" ] && [ "$n2" = "$n1" ]; then
        ok "nothing fetched while the reader pauses ($n1 requests, $b1 bytes, 1-2.5 s into the pause)"
    else
        fail "readahead during the pause" "origin bytes grew from $b1 ($n1 requests) to $b2 ($n2 requests)"
    fi
    read -r n3 b3 m3 < <(origin_since $mark)
    if [ "$b3" -ge $((8 * MIB)) ] && [ "$b3" -le $((8 * MIB + RA)) ]; then
        ok "origin bytes $b3 <= 8 MiB read + READAHEAD 16 MiB"
    else
        fail "readahead bound" "origin sent $b3 bytes for 8 MiB read with REMOTEIO_READAHEAD=16M (from 8 MiB to $((8 * MIB + RA)) wanted)"
    fi
}

scenario pause paused_reader
finish
