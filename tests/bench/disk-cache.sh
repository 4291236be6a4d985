#!/usr/bin/env bash
# tests/bench/disk-cache.sh: the disk cache's figures (not part of the suite), against an
# nginx on loopback with no delay:
#   warm     sequential dd bs=1M of a file every chunk of which is in the disk cache (a new
#            process: its memory cache is empty) vs dd of the same local file; page cache
#            warm for both, the fill's dirty pages written back (sync) before
#   random   fio randread 4k, 8 processes, 5 s, on the warm disk cache vs the local file
#   cold     the first read with the disk cache on (an empty one) vs off, from the
#            loopback nginx (with the CPU each side's process used) and from one like
#            the bench's s3 profile (20 ms first byte, 100 MiB/s per connection); on a
#            new cache directory and on one emptied by `remoteio cache clear` (whose slab
#            pages the page cache holds already)
#   rss      peak RSS of that dd reading from a disk cache of BENCH_DISK (2G) vs the
#            memory cache (REMOTEIO_CACHE_SIZE, 256M) + 32 MiB
#   8 at once  BENCH_READERS (8) processes reading the file at once on an empty disk
#            cache: the origin's bytes vs one reader alone (<= 1.1x)
# Each dd figure is the median of BENCH_REPEAT (3) runs that interleave the sides.
# BENCH_SIZE (1G) is the file's size.  Prints one line per figure.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib.sh"
require dd python3
SIZE=${BENCH_SIZE:-1073741824}
DISK=${BENCH_DISK:-2G}
REPEAT=${BENCH_REPEAT:-3}
W=$T/www
mkdir -p "$W"
head -c "$SIZE" /dev/urandom >"$W/big"
cat "$W/big" >/dev/null
start_nginx "$W"
export REMOTEIO_MAP="/r/=$ORIGIN/" REMOTEIO_DISK_CACHE_SIZE=$DISK
unset REMOTEIO_CACHE_DIR

# mbps CMD...: MB/s of CMD reading SIZE bytes
mbps() {
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>"$T/err" || { echo "# failed: $* $(head -3 "$T/err")" >&2; echo 0; return; }
    t1=$(date +%s.%N)
    awk -v s="$SIZE" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f\n", s / (b - a) / 1e6 }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
shimmed() { env LD_PRELOAD="$SHIM" "$@"; }

local_dd=() warm_dd=() cold_on=() cold_off=() cold_emptied=()
for round in $(seq "$REPEAT"); do
    rm -rf "$T/cache"
    cold_off+=("$(mbps shimmed dd if=/r/big of=/dev/null bs=1M)")
    cold_on+=("$(mbps shimmed env REMOTEIO_CACHE_DIR="$T/cache" dd if=/r/big of=/dev/null bs=1M)")
    sync # the fill's dirty pages written back first, not during the warm read
    warm_dd+=("$(mbps shimmed env REMOTEIO_CACHE_DIR="$T/cache" dd if=/r/big of=/dev/null bs=1M)")
    local_dd+=("$(mbps dd if="$W/big" of=/dev/null bs=1M)")
    # An emptied cache (remoteio cache clear) rather than a new one: the slab's pages are
    # in the page cache already, so the fill does not pay the host for new pages.
    REMOTEIO_CACHE_DIR="$T/cache" "$TOP/build/remoteio-cache" clear >/dev/null
    cold_emptied+=("$(mbps shimmed env REMOTEIO_CACHE_DIR="$T/cache" dd if=/r/big of=/dev/null bs=1M)")
    sync
done
# The median of each round's ratio too: the host's speed drifts between rounds.
round_ratio=$(for i in "${!warm_dd[@]}"; do awk -v a="${warm_dd[$i]}" -v b="${local_dd[$i]}" 'BEGIN { printf "%.2f\n", a / b }'; done | median)
em=$(printf '%s\n' "${cold_emptied[@]}" | median)
l=$(printf '%s\n' "${local_dd[@]}" | median)
w=$(printf '%s\n' "${warm_dd[@]}" | median)
on=$(printf '%s\n' "${cold_on[@]}" | median)
off=$(printf '%s\n' "${cold_off[@]}" | median)
echo "warm sequential dd bs=1M, $SIZE bytes: disk cache $w MB/s, local file $l MB/s: $(awk -v a="$w" -v b="$l" 'BEGIN { printf "%.2f", a / b }')x (runs: ${warm_dd[*]} / ${local_dd[*]}; median of the rounds' ratios ${round_ratio}x)"
echo "cold sequential dd bs=1M: disk cache on $on MB/s, off $off MB/s: $(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.2f", a / b }')x (runs: ${cold_on[*]} / ${cold_off[*]})"
echo "cold sequential dd bs=1M, emptied cache: disk cache on $em MB/s, off $off MB/s: $(awk -v a="$em" -v b="$off" 'BEGIN { printf "%.2f", a / b }')x (runs: ${cold_emptied[*]} / ${cold_off[*]})"

if command -v fio >/dev/null; then
    iops() {
        # --invalidate=0: fio drops the local file's page cache otherwise (not the slab's)
        "$@" --name=r --readonly --invalidate=0 --rw=randread --bs=4k --ioengine=psync --numjobs=8 \
            --group_reporting --runtime=5 --time_based --size="$SIZE" --output-format=terse \
            2>"$T/err" | awk -F';' '{ print $8 }'
    }
    wi=$(iops shimmed env REMOTEIO_CACHE_DIR="$T/cache" fio --filename=/r/big)
    li=$(iops fio --filename="$W/big")
    echo "warm random 4k, 8 threads, 5 s: disk cache $wi IOPS, local file $li IOPS: $(awk -v a="$wi" -v b="$li" 'BEGIN { printf "%.2f", a / (b ? b : 1) }')x"
fi

if [ -x /usr/bin/time ]; then
    /usr/bin/time -o "$T/rss" -f '%M' env LD_PRELOAD="$SHIM" REMOTEIO_CACHE_DIR="$T/cache" \
        dd if=/r/big of=/dev/null bs=1M 2>/dev/null
    kib=$(tail -1 "$T/rss")
    bound=$(( (256 + 32) * 1024 ))
    echo "rss: dd of $SIZE bytes from a $DISK disk cache, 256M memory cache: peak $((kib / 1024)) MiB (bound $((bound / 1024)) MiB: $([ "$kib" -le $bound ] && echo within || echo OVER))"
fi

# What writing the cache costs in CPU (the reader's process: its threads, the writer's
# included; nginx not counted): on loopback the cold read is bound by the host's cores,
# so that cost shows in the figure above.
cpu_of() { /usr/bin/time -f '%U %S' -o "$T/cpu" "$@" >/dev/null 2>&1; awk '{ printf "%.2f", $1 + $2 }' "$T/cpu"; }
if [ -x /usr/bin/time ]; then
    rm -rf "$T/cache"
    c_off=$(cpu_of env LD_PRELOAD="$SHIM" dd if=/r/big of=/dev/null bs=1M)
    c_on=$(cpu_of env LD_PRELOAD="$SHIM" REMOTEIO_CACHE_DIR="$T/cache" dd if=/r/big of=/dev/null bs=1M)
    REMOTEIO_CACHE_DIR="$T/cache" "$TOP/build/remoteio-cache" clear >/dev/null
    c_em=$(cpu_of env LD_PRELOAD="$SHIM" REMOTEIO_CACHE_DIR="$T/cache" dd if=/r/big of=/dev/null bs=1M)
    echo "cold read CPU (user + system seconds of the reading process, $(nproc) cores): disk cache on $c_on s (new cache), $c_em s (emptied), off $c_off s"
fi

# The same cold read from an origin like the bench's s3 profile (tests/bench/run.sh: 20 ms
# to the first byte, 100 MiB/s per connection), where the network sets the pace.
if [ -f /usr/lib/nginx/modules/ngx_http_echo_module.so ]; then
    lan_origin=$ORIGIN lan_log=$NGINX_LOG
    start_nginx "$W" "location / { echo_sleep 0.02; echo_exec @file; } location @file { limit_rate 100m; }"
    s3_on=() s3_off=()
    for round in $(seq "$REPEAT"); do
        REMOTEIO_CACHE_DIR="$T/cache" "$TOP/build/remoteio-cache" clear >/dev/null
        s3_off+=("$(mbps shimmed env REMOTEIO_MAP="/r/=$ORIGIN/" dd if=/r/big of=/dev/null bs=1M)")
        s3_on+=("$(mbps shimmed env REMOTEIO_MAP="/r/=$ORIGIN/" REMOTEIO_CACHE_DIR="$T/cache" dd if=/r/big of=/dev/null bs=1M)")
    done
    on=$(printf '%s\n' "${s3_on[@]}" | median)
    off=$(printf '%s\n' "${s3_off[@]}" | median)
    echo "cold sequential dd bs=1M, s3-like origin, emptied cache: disk cache on $on MB/s, off $off MB/s: $(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.2f", a / b }')x (runs: ${s3_on[*]} / ${s3_off[*]})"
    ORIGIN=$lan_origin NGINX_LOG=$lan_log
fi

# 8 readers of the same image at once on an empty disk cache (a host booting 8 VMs from
# one base image): what the origin sends, against one reader alone (goal: <= 1.1x).
# BENCH_READERS (8) sets how many.
N=${BENCH_READERS:-8}
sum_bytes() { sleep 0.3; awk '{ s += $2 } END { print s + 0 }' "$NGINX_LOG"; }
want=$(sha256sum <"$W/big" | cut -d' ' -f1)
rm -rf "$T/one"
: >"$NGINX_LOG"
shimmed env REMOTEIO_CACHE_DIR="$T/one" sha256sum /r/big >"$T/one.out" 2>"$T/err"
one=$(sum_bytes)
rm -rf "$T/many"
: >"$NGINX_LOG"
t0=$(date +%s.%N)
pids=
for i in $(seq "$N"); do
    shimmed env REMOTEIO_CACHE_DIR="$T/many" sha256sum /r/big >"$T/many.$i" 2>"$T/err.$i" &
    pids="$pids $!"
done
wait $pids
t1=$(date +%s.%N)
many=$(sum_bytes)
right=$(cat "$T/one.out" "$T"/many.[0-9]* | cut -d' ' -f1 | grep -cx "$want")
echo "$N readers of one $SIZE-byte image at once, empty disk cache: origin sent $many bytes, one reader alone $one: $(awk -v a="$many" -v b="$one" 'BEGIN { printf "%.3f", a / (b ? b : 1) }')x (goal <= 1.1); $right of $((N + 1)) reads right; $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s for the $N"
