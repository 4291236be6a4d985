#!/usr/bin/env bash
# t-memory-bound.sh: the memory bound holds whatever the knobs.  REMOTEIO_CACHE_SIZE=1M with
# REMOTEIO_CHUNK_SIZE=16M (a chunk larger than the cache) must not build a larger arena (the
# cache holds at least four chunks):
# the chunk size is clipped, one line names both knobs, and dd of 64 MiB grows the peak
# RSS (VmHWM, /usr/bin/time -f %M) by no more than the cache plus the library's fixed
# overhead (32 MiB, as in t-memory.sh) over the same dd of the local file.
. "$(dirname "$0")/lib.sh"
cd "$TOP"
require curl
[ -x /usr/bin/time ] || { echo "SKIP: GNU time (/usr/bin/time) is not installed"; exit 77; }
require_shim
MIB=1048576
mkdir -p "$T/www"
head -c $((64 * MIB)) /dev/urandom > "$T/www/obj"
start_nginx "$T/www"
export REMOTEIO_MAP="/remote/=$ORIGIN/"

hwm_kb() {
    /usr/bin/time -f %M -o "$T/hwm" "$@" >"$T/cmd.out" 2>"$T/cmd.err" || { cat "$T/cmd.err" >&2; return 1; }
    tail -1 "$T/hwm"
}
to_kb() { case $1 in *M) echo $(( ${1%M} * 1024 ));; *K) echo "${1%K}";; esac; }
# cache and chunk: clipped (a chunk over a quarter of the cache), fitting, clipped
for combo in "1M 16M" "1M 256K" "4M 2M"; do
    set -- $combo
    cache=$1 chunk=$2
    cache_kb=$(to_kb $cache) clipped=$(( $(to_kb $chunk) * 4 > $(to_kb $cache) ))
    limit_kb=$(( cache_kb + 32 * 1024 ))
    base=$(hwm_kb dd if="$T/www/obj" of="$T/local.out" bs=1M) || { fail "local dd"; continue; }
    if [[ "$SHIM" == *" "* ]]; then
        # a sanitizer runtime is preloaded too: its own memory swamps the figures
        check "CACHE_SIZE=$cache CHUNK_SIZE=$chunk: dd of 64 MiB (RSS not measured under a sanitizer)" \
            env REMOTEIO_CACHE_SIZE=$cache REMOTEIO_CHUNK_SIZE=$chunk LD_PRELOAD="$SHIM" \
            dd if=/remote/obj of="$T/remote.out" bs=1M status=none
    else
        remote=$(hwm_kb env REMOTEIO_CACHE_SIZE=$cache REMOTEIO_CHUNK_SIZE=$chunk \
            LD_PRELOAD="$SHIM" dd if=/remote/obj of="$T/remote.out" bs=1M) ||
            { fail "CACHE_SIZE=$cache CHUNK_SIZE=$chunk" "the remote dd failed: $(tail -3 "$T/cmd.err")"; continue; }
        growth=$((remote - base))
        if [ "$growth" -le "$limit_kb" ]; then
            ok "CACHE_SIZE=$cache CHUNK_SIZE=$chunk: peak RSS $remote KiB, local $base KiB, growth $((growth / 1024)) MiB <= $((limit_kb / 1024)) MiB"
        else
            fail "CACHE_SIZE=$cache CHUNK_SIZE=$chunk" "peak RSS $remote KiB vs $base KiB locally: growth $((growth / 1024)) MiB > $((limit_kb / 1024)) MiB"
        fi
    fi
    same_bytes "CACHE_SIZE=$cache CHUNK_SIZE=$chunk: right bytes" "$T/www/obj" "$T/remote.out"
    n=$(grep -c "REMOTEIO_CHUNK_SIZE.*REMOTEIO_CACHE_SIZE" "$T/cmd.err" 2>/dev/null)
    if [ "$clipped" = 1 ] && [[ "$SHIM" != *" "* ]]; then
        if [ "$n" -eq 1 ]; then ok "a chunk larger than a quarter of the cache is reported in one line: $(grep REMOTEIO_CHUNK_SIZE "$T/cmd.err")"
        else fail "the clipped chunk size is reported once" "$n lines name both knobs: $(head -3 "$T/cmd.err")"; fi
    elif [[ "$SHIM" != *" "* ]] && [ "$n" -ne 0 ]; then
        fail "CACHE_SIZE=$cache CHUNK_SIZE=$chunk: no word about the chunk size" "$(head -3 "$T/cmd.err")"
    fi
done
finish
