#!/usr/bin/env bash
# t-disk-cache.sh: the persistent disk tier on its own (shim/disk_cache.c, not yet under the
# memory cache): its unit test (build/tests/unit-disk-cache) and real processes sharing it
# (build/tests/disk-cache-stress): 4 writers of 4x the limit under a du sampler, 2 readers
# of the same cold chunks, 20 rounds of kill -9, 8 threads in 2 processes, and as root a
# limit larger than a 16 MiB tmpfs, a slab made unwritable in use, a read-only mount.  DISK_CACHE_BENCH=1 adds the micro-benchmark.
. "$(dirname "$0")/lib.sh"
B=$TOP/${REMOTEIO_TEST_BUILD:-build}/tests
for bin in unit-disk-cache disk-cache-stress; do
    [ -x "$B/$bin" ] || skip "$B/$bin is not built (make tests)"
done
require du

# run NAME CMD...: the program's own "N passed, N failed" line decides.
run() {
    local name=$1 out; shift
    if out=$("$@" 2>&1) && grep -q ' 0 failed$' <<<"$out"; then
        ok "$name: $(grep -v -e '^remoteio:' -e ' passed, ' <<<"$out" | paste -sd' ') ($(tail -1 <<<"$out"))"
    else
        echo "$out"; fail "$name"
    fi
}

run unit "$B/unit-disk-cache" "$T"
run bound "$B/disk-cache-stress" bound "$T/bound" 16
run shared "$B/disk-cache-stress" shared "$T/shared"
# Under TSan a lock taken back from a killed process (EOWNERDEAD) is not seen as taken,
# and it reports the unlock that follows; TSan is for the threads, ASan covers this one.
if [[ "${REMOTEIO_TEST_BUILD:-build}" == *tsan* ]]; then
    echo "SKIP: kill -9 rounds under TSan (robust-lock recovery is not modelled)"
else
    run kill "$B/disk-cache-stress" kill "$T/kill"
fi
run threads "$B/disk-cache-stress" threads "$T/threads"

if [ "$(id -u)" = 0 ] && mkdir -p "$T/tmpfs" && mount -t tmpfs -o size=16m tmpfs "$T/tmpfs" 2>/dev/null; then
    at_exit "umount '$T/tmpfs'"
    run "16 MiB tmpfs, 64 MiB limit" "$B/disk-cache-stress" small "$T/tmpfs/cache" 64
else
    echo "SKIP: 16 MiB tmpfs (needs root and mount)"
fi

# An unwritable slab in use (chattr +i, where the file system has it) and a read-only mount.
touch "$T/probe"
if [ "$(id -u)" = 0 ] && chattr +i "$T/probe" 2>/dev/null; then
    chattr -i "$T/probe"
    mkdir -p "$T/readonly"
    at_exit "umount '$T/readonly/ro'; chattr -i '$T/readonly/cache/slab'"
    run "read-only and unwritable" "$B/disk-cache-stress" readonly "$T/readonly"
else
    echo "SKIP: read-only and unwritable (needs root and chattr +i on $T)"
fi

if [ "${DISK_CACHE_BENCH:-0}" = 1 ]; then
    "$B/disk-cache-stress" bench "$T/bench" 256
fi
finish
