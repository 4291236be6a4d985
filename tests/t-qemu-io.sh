#!/usr/bin/env bash
# tests/t-qemu-io.sh: many concurrent qemu-io aio_read requests on a remote image.
#
# A 64 MiB image is written locally before it is served: region i (256 KiB
# each) holds only the byte (i*37+11)&255. qemu-io -r then issues a burst of
# aio_read requests at random offsets and lengths, some vectored, each within
# one region and verified with -P; aio_flush waits for all of them. qemu's
# thread pool turns the burst into concurrent preadv() calls on the image.
# Variants: raw, qcow2, O_DIRECT (-n), a tiny memory cache and small chunks,
# fewer connections than requests in flight.
# io_uring and native AIO bypass the shim: they must fail cleanly, never
# return wrong data or hang.
. "$(dirname "$0")/lib.sh"
require qemu-io qemu-img python3 curl
V=/remote
skip_if_qemu_hangs
N=${QEMU_IO_REQUESTS:-1500}
mkdir -p "$T/origin"

python3 - "$T/origin/pattern.raw" <<'PY'
import sys
R = 256 << 10
with open(sys.argv[1], "wb") as f:
    for i in range(256):
        f.write(bytes([(i * 37 + 11) & 255]) * R)
PY
qemu-img convert -f raw -O qcow2 "$T/origin/pattern.raw" "$T/origin/pattern.qcow2"

# The request list: "aio_read -P PAT OFF LEN [LEN...]", deterministic per seed.
gen() {
    python3 - "$1" "$2" <<'PY'
import random, sys
rnd = random.Random(int(sys.argv[1]))
R = 256 << 10
for _ in range(int(sys.argv[2])):
    i = rnd.randrange(256)
    pat = (i * 37 + 11) & 255
    off = rnd.randrange(R - 1)
    room = R - off
    kind = rnd.random()
    if kind < 0.2:                        # vectored: 2-3 pieces
        lens = [rnd.randrange(1, max(2, room // 3)) for _ in range(rnd.choice((2, 3)))]
    elif kind < 0.5:                      # small
        lens = [rnd.randrange(1, min(room, 4096) + 1)]
    else:                                 # up to the whole rest of the region
        lens = [rnd.randrange(1, room + 1)]
    print("aio_read -P %d %d %s" % (pat, i * R + off, " ".join(map(str, lens))))
PY
}

start_nginx "$T/origin"
export REMOTEIO_MAP="$V/=$ORIGIN/"
export REMOTEIO_LOG=${REMOTEIO_LOG:-warn}

# burst NAME SEED FILE QEMU-IO-OPTIONS...
burst() {
    local name=$1 seed=$2 file=$3; shift 3
    local args=() c n good badpat t0 t1 stats=$T/stats.$seed
    mapfile -t cmds < <(gen "$seed" "$N")
    for c in "${cmds[@]}"; do args+=(-c "$c"); done
    args+=(-c aio_flush)
    rm -f "$stats"
    t0=$(date +%s.%N)
    timeout -k 5 180 env LD_PRELOAD="$SHIM" REMOTEIO_STATS="$stats" \
        qemu-io -r "$@" "${args[@]}" "$V/$file" > "$T/out.$seed" 2>&1
    local rc=$?
    t1=$(date +%s.%N)
    good=$(grep -c '^read [0-9]*/[0-9]* bytes at offset' "$T/out.$seed")
    badpat=$(grep -c 'verification failed' "$T/out.$seed")
    local peak; peak=$(sed -n "s|.*path=$V/$file .*peak_inflight=\([0-9]*\).*|\1|p" "$stats" 2>/dev/null | head -1)
    if [ $rc -eq 0 ] && [ "$good" -eq "$N" ] && [ "$badpat" -eq 0 ]; then
        ok "$name: $N aio_read verified ($(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')s, peak_inflight=${peak:-?})"
    else
        fail "$name" "rc=$rc, $good/$N reads ok, $badpat pattern failures: $(grep -v '^read \|^[0-9.]* [KMG]*i*B, ' "$T/out.$seed" | head -3 | tr '\n' ' ')"
    fi
    LAST_PEAK=${peak:-0}
}

burst "raw" 1 pattern.raw -f raw
[ "${LAST_PEAK:-0}" -ge 2 ] && ok "raw: requests reached the origin concurrently (peak_inflight=$LAST_PEAK)" ||
    fail "raw: requests reached the origin concurrently" "peak_inflight=${LAST_PEAK:-none} in REMOTEIO_STATS"
burst "qcow2" 2 pattern.qcow2 -f qcow2
burst "raw, O_DIRECT (-n)" 3 pattern.raw -f raw -n
REMOTEIO_CACHE_SIZE=2M REMOTEIO_CHUNK_SIZE=16K REMOTEIO_READAHEAD=256K \
    burst "raw, 2M cache, 16K chunks" 4 pattern.raw -f raw
REMOTEIO_CONNECTIONS=3 burst "qcow2, 3 connections" 5 pattern.qcow2 -f qcow2

# Bypassing engines: an error is fine, wrong data, a crash or a hang is not.
for engine in io_uring native; do
    opts=(-f raw -i "$engine"); [ $engine = native ] && opts+=(-n)
    out=$(timeout -k 5 60 env LD_PRELOAD="$SHIM" qemu-io -r "${opts[@]}" \
          -c "read -P 11 0 4096" -c "read -P $(( (100*37+11) & 255 )) $((100 << 18)) 65536" "$V/pattern.raw" 2>&1)
    rc=$?
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        fail "aio=$engine does not hang" "timed out"
    elif [ $rc -ge 128 ]; then
        fail "aio=$engine does not crash" "rc=$rc: $(tail -2 <<<"$out" | tr '\n' ' ')"
    elif grep -q 'verification failed' <<<"$out"; then
        fail "aio=$engine never returns wrong data" "$(head -3 <<<"$out" | tr '\n' ' ')"
    else
        ok "aio=$engine: no wrong data ($(grep -m1 -iE 'error|failed|bad file|read [0-9]' <<<"$out" | head -c 120))"
    fi
done

sleep 0.2
bad=$(awk -F'"' '{ split($4, r, " "); if (r[1] != "GET" && r[1] != "HEAD") print $4 }' "$NGINX_LOG" | sort | uniq -c | head -5)
if [ -z "$bad" ] && [ -s "$NGINX_LOG" ]; then ok "origin saw only GET/HEAD ($(wc -l < "$NGINX_LOG") requests)"
else fail "origin saw only GET/HEAD" "${bad:-empty access log}"; fi
finish
