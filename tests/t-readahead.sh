#!/usr/bin/env bash
# t-readahead.sh: readahead follows the reader and nothing else.
#  1. a sequential reader that reads 8 MiB and then pauses (file still open):
#     the origin sends nothing more during the pause, and no more in all than
#     the bytes read + REMOTEIO_READAHEAD;
#  2. a sequential read of 64 MiB fetches <= 1.1x the bytes with requests of
#     1 MiB or more on average;
#  3. random 4 KiB reads over a 128 MiB object cause no readahead: at most 1%
#     of the reads lead to a request larger than two chunks, origin bytes
#     <= 2.5x one chunk per read (64K chunks) and <= 2.5x the bytes read (4K
#     chunks);
#  4. a sequential scan larger than the cache does not evict the chunks random reads
#     keep coming back to: after reading 64 MiB through a 32 MiB cache, re-reading 32
#     the random blocks sends no request; through a 256 MiB cache with 8 MiB of
#     readahead the scan's RSS grows by less than 48 MiB (readahead's chunks are used
#     once and their slots reused);
#  5. four threads each reading a quarter of the object (fio's jobs, a parallel copy)
#     fetch it once: a stream's readahead stops where the next reader began, instead
#     of fetching again what that reader has read (<= 1.05x the object).
. "$(dirname "$0")/lib.sh"
cd "$TOP"
require curl python3
require_shim
PREADER=$(preader_path)
MIB=1048576
mkdir -p "$T/www"
head -c $((128 * MIB)) /dev/urandom > "$T/www/big"
head -c $((64 * MIB)) "$T/www/big" > "$T/www/seq64"
start_nginx "$T/www"
export REMOTEIO_MAP="/remote/=$ORIGIN/"

lines() { wc -l < "$NGINX_LOG"; }
# origin_since LINE: "requests bytes largest" of the successful GETs after LINE (the
# health check of start_nginx may reach the log late)
origin_since() {
    tail -n +$(($1 + 1)) "$NGINX_LOG" | awk '/"GET / && $1 ~ /^2/ { n++; b += $2; if ($2 > m) m = $2 }
        END { printf "%d %.0f %.0f\n", n, b, m }'
}
# big_since LINE BYTES: GET requests after LINE larger than BYTES
big_since() { tail -n +$(($1 + 1)) "$NGINX_LOG" | awk -v x="$2" '/"GET / && $2 > x { n++ } END { print n + 0 }'; }
# stat_field FILE NAME: a REMOTEIO_STATS field summed over the file's lines
stat_field() { awk -v k="$2" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) s += substr($i, length(k) + 2) } END { print s + 0 }' "$1"; }

# ---- 1. readahead stops when the reader stops
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
if [ "$b2" = "$b1" ] && [ "$n2" = "$n1" ]; then
    ok "nothing fetched while the reader pauses ($n1 requests, $b1 bytes, 1-2.5 s into the pause)"
else
    fail "readahead during the pause" "origin bytes grew from $b1 ($n1 requests) to $b2 ($n2 requests)"
fi
read -r n3 b3 m3 < <(origin_since $mark)
if [ "$b3" -le $((8 * MIB + RA)) ]; then
    ok "origin bytes $b3 <= 8 MiB read + READAHEAD 16 MiB"
else
    fail "readahead bound" "origin sent $b3 bytes for 8 MiB read with REMOTEIO_READAHEAD=16M ($((8 * MIB + RA)))"
fi

# ---- 2. a sequential read is fetched once, in large requests
mark=$(lines)
check "sequential read of 64 MiB with dd" shim dd if=/remote/seq64 of="$T/seq64.out" bs=1M status=none
same_bytes "sequential read: bytes" "$T/www/seq64" "$T/seq64.out"
sleep 0.3
read -r n b m < <(origin_since $mark)
avg=$((b / (n > 0 ? n : 1)))
if [ "$b" -le $((64 * MIB * 11 / 10)) ]; then
    ok "sequential 64 MiB: origin sent $b bytes ($(awk "BEGIN { printf \"%.3f\", $b / (64 * $MIB) }")x)"
else
    fail "sequential over-read" "origin sent $b bytes for 64 MiB (> 1.1x)"
fi
if [ "$avg" -ge $MIB ]; then
    ok "sequential 64 MiB: $n requests, $avg bytes on average"
else
    fail "sequential request size" "$n requests averaging $avg bytes (< 1 MiB)"
fi

# ---- 3. random reads trigger no readahead
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
    [ $rc = 0 ] && ok "random 4K reads, chunk $chunk: bytes right" || fail "random 4K reads, chunk $chunk" "rc=$rc"
    ra=$(( $(stat_field "$T/stats" readahead_used) + $(stat_field "$T/stats" readahead_wasted) ))
    big=$(big_since $mark $((2 * cb)))
    if [ "$big" -le $((N / 100)) ]; then
        ok "random 4K reads, chunk $chunk: no readahead ($big requests > 2 chunks, largest $m bytes, readahead stats $ra bytes)"
    else
        fail "random 4K reads, chunk $chunk: readahead" "$big of $N reads caused a request > 2 chunks (largest $m bytes, chunk $cb), readahead_used+wasted=$ra bytes"
    fi
    if [ $chunk = 64K ]; then limit=$((N * cb * 5 / 2)); what="2.5 x $N chunks"
    else limit=$((read_bytes * 5 / 2)); what="2.5 x bytes read"; fi
    if [ "$b" -le "$limit" ]; then
        ok "random 4K reads, chunk $chunk: origin bytes $b <= $what ($limit), $n requests"
    else
        fail "random 4K reads, chunk $chunk: over-read" "origin sent $b bytes in $n requests (> $what = $limit)"
    fi
done
# ---- 4. a vectored read spanning chunks is one request, not one per segment
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

# ---- 4. a sequential scan keeps the random reads' chunks
mark=$(lines)
out=$(REMOTEIO_CACHE_SIZE=32M shim "$PY" - "$T/www/big" <<'PY' 2>"$T/scan.err"
import os, random, resource, sys
local = os.open(sys.argv[1], os.O_RDONLY)
fd = os.open("/remote/big", os.O_RDONLY)
hot = [c * 65536 for c in random.Random(7).sample(range(1600, 2048), 32)]  # 100-128 MiB
def reread():
    return all(os.pread(fd, 4096, o) == os.pread(local, 4096, o) for o in hot)
ok = reread() and reread()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
pos = 0
while pos < 64 << 20:                      # the scan: 0-64 MiB, 1 MiB at a time
    b = os.pread(fd, 1 << 20, pos)
    ok = ok and b == os.pread(local, 1 << 20, pos)
    pos += len(b)
ok = ok and reread()
print("ok" if ok else "bad", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
PY
)
read -r res growth_kb <<<"$out"
n_hot=$(tail -n +$((mark + 1)) "$NGINX_LOG" | awk '/"GET / { print $3 }' | tr -d '"' |
        awk -F'[=-]' '$2 >= 100 * 1048576 && $3 - $2 < 65536 { n++ } END { print n + 0 }')
[ "$res" = ok ] && ok "random blocks, a 64 MiB scan, the blocks again: right bytes" ||
    fail "scan and re-read" "$out $(head -3 "$T/scan.err")"
[ "$n_hot" -le 32 ] && ok "re-reading the blocks after the scan sent no request ($n_hot requests beyond the scan, 32 before it)" ||
    fail "the scan evicted the random reads' chunks" "$n_hot requests beyond the scan (32 before it)"
# the same scan through a 256 MiB cache with 8 MiB of readahead: the slots of the chunks
# read are reused, so the memory touched stays near readahead + 16 MiB, not 96 MiB
if [[ "$SHIM" == *" "* || "${REMOTEIO_TEST_BUILD:-build}" != build ]]; then
    echo "SKIP (RSS of a scan): a sanitizer build; its own memory use swamps the figure"
else
out=$(REMOTEIO_CACHE_SIZE=256M REMOTEIO_READAHEAD=8M shim "$PY" - <<'PY' 2>"$T/scan.err"
import os, resource
fd = os.open("/remote/big", os.O_RDONLY)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
pos = 0
while pos < 96 << 20:
    pos += len(os.pread(fd, 1 << 20, pos))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
PY
)
[ "${out:-999999}" -lt $((48 * 1024)) ] 2>/dev/null &&
    ok "96 MiB scan through a 256 MiB cache: RSS grew by $out KiB (< 48 MiB)" ||
    fail "RSS growth of a scan" "$out KiB (>= 48 MiB: the scan spread over the cache)"
fi

# ---- 5. readers that split the object among themselves fetch it once
mark=$(lines)
out=$(REMOTEIO_CACHE_SIZE=64M REMOTEIO_READAHEAD=16M shim "$PY" - "$T/www/big" <<'PY' 2>"$T/quarters.err"
import hashlib, os, sys, threading
size = 128 << 20
quarter = size // 4
fd = os.open("/remote/big", os.O_RDONLY)
digests = [None] * 4
def read_quarter(k):
    h = hashlib.sha256()
    for pos in range(k * quarter, (k + 1) * quarter, 1 << 20):
        h.update(os.pread(fd, 1 << 20, pos))
    digests[k] = h.hexdigest()
threads = [threading.Thread(target=read_quarter, args=(k,)) for k in range(4)]
for t in threads: t.start()
for t in threads: t.join()
with open(sys.argv[1], "rb") as f:
    local = [hashlib.sha256(f.read(quarter)).hexdigest() for _ in range(4)]
print("ok" if digests == local else "MISMATCH")
PY
)
sleep 0.3
read -r n b m < <(origin_since $mark)
[ "$out" = ok ] && ok "four readers of a quarter each: right bytes" ||
    fail "four readers of a quarter each" "$out $(head -3 "$T/quarters.err")"
if [ "$b" -le $((128 * MIB * 105 / 100)) ]; then
    ok "four readers of a quarter each: origin sent $b bytes for 128 MiB ($n requests)"
else
    fail "partitioned readers fetched twice" "origin sent $b bytes for 128 MiB (> 1.05x)"
fi

finish
