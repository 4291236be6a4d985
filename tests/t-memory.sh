#!/usr/bin/env bash
# t-memory.sh: REMOTEIO_CACHE_SIZE bounds memory.  With a 32 MiB cache, read a
# 256 MiB object sequentially (dd) and randomly (1 and 8 threads) and compare
# the reader's peak RSS (VmHWM) with the same program reading the same bytes
# from a local file: the growth must stay <= cache + 32 MiB.
. "$(dirname "$0")/lib.sh"
cd "$TOP"
require curl python3
[ -x /usr/bin/time ] || skip "GNU time (/usr/bin/time) is not installed"
require_shim
PREADER=$(preader_path)
MIB=1048576
CACHE_MIB=32
LIMIT_KB=$(( (CACHE_MIB + 32) * 1024 ))
mkdir -p "$T/www"
head -c $((256 * MIB)) /dev/urandom > "$T/www/obj"
start_nginx "$T/www"
export REMOTEIO_MAP="/remote/=$ORIGIN/"
export REMOTEIO_CACHE_SIZE=${CACHE_MIB}M

# hwm_kb CMD...: peak RSS (KiB) of CMD; fails when CMD fails
hwm_kb() {
    /usr/bin/time -f %M -o "$T/hwm" "$@" >"$T/cmd.out" 2>&1 || { cat "$T/cmd.out" >&2; return 1; }
    tail -1 "$T/hwm"
}
# compare NAME ARGS...: run ARGS on the local file and, preloaded, on the remote one
compare() {
    local name=$1 base remote; shift
    base=$(hwm_kb "${@//@FILE@/$T/www/obj}") || { fail "$name" "the local run failed"; return; }
    remote=$(hwm_kb env LD_PRELOAD="$SHIM" "${@//@FILE@//remote/obj}") ||
        { fail "$name" "the remote run failed: $(tail -3 "$T/cmd.out")"; return; }
    local growth=$((remote - base))
    if [ "$growth" -le "$LIMIT_KB" ]; then
        ok "$name: peak RSS ${remote} KiB, local ${base} KiB, growth $((growth / 1024)) MiB <= $((LIMIT_KB / 1024)) MiB"
    else
        fail "$name" "peak RSS ${remote} KiB vs ${base} KiB locally: growth $((growth / 1024)) MiB > $((LIMIT_KB / 1024)) MiB"
    fi
}

if [[ "$SHIM" == *" "* ]]; then
    # a sanitizer runtime is preloaded too (make asan / make tsan): its own
    # memory use swamps the figures
    echo "SKIP (RSS bounds): a sanitizer runtime is preloaded ($SHIM)"
else
    compare "sequential dd bs=1M of 256 MiB" dd if=@FILE@ of=/dev/null bs=1M
    compare "sequential dd bs=4M, READAHEAD 64M > CACHE_SIZE" env REMOTEIO_READAHEAD=64M dd if=@FILE@ of=/dev/null bs=4M
    compare "random 1 MiB reads, 1 thread" "$PREADER" -m rand -b 1M -n 600 -s 3 @FILE@
    compare "random 1 MiB reads, 8 threads" "$PREADER" -t 8 -m rand -b 1M -n 80 -s 4 @FILE@
    compare "4 sequential streams + 4 random threads" "$PREADER" -t 8 -m mix -b 1M -n 64 -s 5 @FILE@
fi

# readahead larger than the cache: no thrashing
mark=$(wc -l < "$NGINX_LOG")
check "sequential dd through a 32 MiB cache (READAHEAD 64M)" \
    env REMOTEIO_READAHEAD=64M LD_PRELOAD="$SHIM" dd if=/remote/obj of=/dev/null bs=1M status=none
sleep 0.3
got=$(tail -n +$((mark + 1)) "$NGINX_LOG" | awk '{ b += $2 } END { printf "%.0f\n", b }')
# at least the object itself: fewer bytes mean dd read nothing
if [ "$got" -ge $((256 * MIB)) ] && [ "$got" -le $((256 * MIB * 11 / 10)) ]; then
    ok "sequential read through a small cache fetched $got bytes for 256 MiB (<= 1.1x)"
else
    fail "readahead through a small cache" "origin sent $got bytes for 256 MiB read ($(awk "BEGIN { printf \"%.2f\", $got / (256 * $MIB) }")x; from 1x to 1.1x wanted: more means readahead is evicted before it is used)"
fi

# and the bytes stay right while the cache turns over
check "bytes right through a 32 MiB cache (8 threads, mixed)" \
    shim "$PREADER" -t 8 -m mix -b 256K -n 200 -s 6 -c "$T/www/obj" /remote/obj
finish
