#!/usr/bin/env bash
# tests/t-readahead-seq.sh: a sequential read is fetched once, in large requests.
#
# dd reads 64 MiB: the origin sends <= 1.1x the bytes, in requests of 1 MiB or more on
# average.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/lib-readahead.sh"

head -c $((64 * MIB)) "$T/www/big" > "$T/www/seq64"

# dd reads 64 MiB
sequential_read() {
    mark=$(lines)
    check "sequential read of 64 MiB with dd" shim dd if=/remote/seq64 of="$T/seq64.out" bs=1M status=none
    same_bytes "sequential read: bytes" "$T/www/seq64" "$T/seq64.out"
    sleep 0.3
    read -r n b m < <(origin_since $mark)
    avg=$((b / (n > 0 ? n : 1)))
    if [ "$b" -ge $((64 * MIB)) ] && [ "$b" -le $((64 * MIB * 11 / 10)) ]; then
        ok "sequential 64 MiB: origin sent $b bytes ($(awk "BEGIN { printf \"%.3f\", $b / (64 * $MIB) }")x)"
    else
        fail "sequential read: origin bytes" "origin sent $b bytes for 64 MiB (from 1x to 1.1x wanted)"
    fi
    if [ "$b" -ge $((64 * MIB)) ] && [ "$avg" -ge $MIB ]; then
        ok "sequential 64 MiB: $n requests, $avg bytes on average"
    else
        fail "sequential request size" "$n requests averaging $avg bytes (1 MiB or more wanted) for $b bytes"
    fi
}

scenario sequential sequential_read
finish
