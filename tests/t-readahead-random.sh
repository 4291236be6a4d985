#!/usr/bin/env bash
# tests/t-readahead-random.sh: random reads trigger no readahead; a vectored read is one request.
#
# Random 4 KiB reads over the 128 MiB object: at most 1% of the reads lead to a request
# larger than two chunks, origin bytes <= 2.5x one chunk per read (64K chunks) and
# <= 2.5x the bytes read (4K chunks).  A preadv of 64 x 4 KiB spanning five chunks is
# one request.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/lib-readahead.sh"

# random 4 KiB reads with 64K and 4K chunks
random_reads() {
    N=400
    for chunk in 64K 4K; do
        cb=$(numfmt --from=iec $chunk)
        mark=$(lines)
        : > "$T/stats"
        out=$(REMOTEIO_CHUNK_SIZE=$chunk REMOTEIO_STATS="$T/stats" shim "$PREADER" -m rand -x -b 4096 -n $N -s 7 \
              -c "$T/www/big" /remote/big 2>&1)
        rc=$?
        echo "$out"; cat "$T/stats"
        sleep 0.3
        read -r n b m < <(origin_since $mark)
        read_bytes=$((N * 4096))
        # preader compared every byte (-c); it and the shim both account for all of them
        served=$(stat_field "$T/stats" bytes_served)
        [ $rc = 0 ] && [[ $out == *" bytes=$read_bytes "*"mismatches=0 errors=0"* ]] && [ "$served" = "$read_bytes" ] &&
            ok "random 4K reads, chunk $chunk: bytes right" ||
            fail "random 4K reads, chunk $chunk" "rc=$rc, $read_bytes bytes wanted, shim served $served: $(tail -1 <<<"$out")"
        ra=$(( $(stat_field "$T/stats" readahead_used) + $(stat_field "$T/stats" readahead_wasted) ))
        big=$(big_since $mark $((2 * cb)))
        if [ "$big" -le $((N / 100)) ]; then
            ok "random 4K reads, chunk $chunk: no readahead ($big requests > 2 chunks, largest $m bytes, readahead stats $ra bytes)"
        else
            fail "random 4K reads, chunk $chunk: readahead" "$big of $N reads caused a request > 2 chunks (largest $m bytes, chunk $cb), readahead_used+wasted=$ra bytes"
        fi
        if [ $chunk = 64K ]; then limit=$((N * cb * 5 / 2)); what="2.5 x $N chunks"
        else limit=$((read_bytes * 5 / 2)); what="2.5 x bytes read"; fi
        # most of the 400 reads miss the cache: fewer requests than half mean no work done
        if [ "$n" -ge $((N / 2)) ] && [ "$b" -le "$limit" ]; then
            ok "random 4K reads, chunk $chunk: origin bytes $b <= $what ($limit), $n requests"
        else
            fail "random 4K reads, chunk $chunk: origin bytes" "origin sent $b bytes in $n requests (<= $what = $limit in $((N / 2)) requests or more wanted)"
        fi
    done
}

# a vectored read spanning chunks is one request, not one per segment
vectored_read() {
    mark=$(lines)
    out=$(shim "$PY" - "$T/www/big" <<'PY' 2>&1
import os, sys
fd = os.open("/remote/big", os.O_RDONLY)
bufs = [bytearray(4096) for _ in range(64)]       # 256 KiB over four 64K chunks
off = 50 * 1048576 + 12288                        # cold, unaligned
n = os.preadv(fd, bufs, off)
want = open(sys.argv[1], "rb"); want.seek(off)
print("ok" if n == 262144 and b"".join(bufs) == want.read(262144) else "bad %d" % n)
PY
    )
    read -r n4 b4 m4 < <(origin_since $mark)
    [ "$out" = ok ] && [ "$n4" -eq 1 ] && ok "preadv of 64 x 4K across 5 chunks: right bytes, 1 request" ||
        fail "preadv across chunks" "$out; $n4 requests"
}

scenario random random_reads
scenario preadv vectored_read
finish
