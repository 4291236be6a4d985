#!/usr/bin/env bash
# tests/t-readahead-scan.sh: a sequential scan does not evict what random reads come back to.
#
# After reading 64 MiB through a 32 MiB cache, re-reading the 32 random blocks read
# before the scan sends no request; through a 256 MiB cache with 8 MiB of readahead a
# 96 MiB scan's RSS grows by less than 48 MiB (readahead's chunks are used once and
# their slots reused).
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/lib-readahead.sh"

# random blocks, a 64 MiB scan, the blocks again
scan_keeps_hot() {
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
    # 32 requests for the blocks before the scan, none after it; none at all means the
    # reader read nothing
    [ "$res" = ok ] && [ "$n_hot" -ge 1 ] && [ "$n_hot" -le 32 ] &&
        ok "re-reading the blocks after the scan sent no request ($n_hot requests beyond the scan, 32 before it)" ||
        fail "the scan evicted the random reads' chunks" "$n_hot requests beyond the scan (32 before it), reader: ${res:-nothing}"
}

# the same scan through a 256 MiB cache with 8 MiB of readahead: the slots of the chunks
# read are reused, so the memory touched stays near readahead + 16 MiB, not 96 MiB
scan_rss() {
    if [[ "$SHIM" == *" "* || "${REMOTEIO_TEST_BUILD:-build}" != build ]]; then
        echo "SKIP (RSS of a scan): a sanitizer build; its own memory use swamps the figure"
        return
    fi
    out=$(REMOTEIO_CACHE_SIZE=256M REMOTEIO_READAHEAD=8M shim "$PY" - <<'PY' 2>"$T/scan.err"
import os, resource
fd = os.open("/remote/big", os.O_RDONLY)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
pos = 0
while pos < 96 << 20:
    n = len(os.pread(fd, 1 << 20, pos))
    if n == 0:
        break
    pos += n
print(pos, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
PY
    )
    read -r got growth <<<"$out"
    [ "${got:-0}" = $((96 * MIB)) ] && [ "${growth:-999999}" -lt $((48 * 1024)) ] 2>/dev/null &&
        ok "96 MiB scan through a 256 MiB cache: RSS grew by $growth KiB (< 48 MiB)" ||
        fail "RSS growth of a scan" "read ${got:-nothing} bytes of $((96 * MIB)), RSS grew by ${growth:-?} KiB (< 48 MiB wanted) $(head -3 "$T/scan.err")"
}

scenario hot scan_keeps_hot
scenario rss scan_rss
finish
