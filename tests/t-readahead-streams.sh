#!/usr/bin/env bash
# tests/t-readahead-streams.sh: readers that split the object among themselves fetch it once.
#
# Four threads each read a quarter of the object (fio's jobs, a parallel copy): a
# stream's readahead stops where the next reader began, instead of fetching again what
# that reader has read (<= 1.05x the object).
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/lib-readahead.sh"

# four readers of a quarter each
quarters() {
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
    # every byte comes from the origin once: fewer than 128 MiB means a reader did no work
    if [ "$out" = ok ] && [ "$n" -gt 0 ] && [ "$b" -ge $((128 * MIB)) ] && [ "$b" -le $((128 * MIB * 105 / 100)) ]; then
        ok "four readers of a quarter each: origin sent $b bytes for 128 MiB ($n requests)"
    else
        fail "four readers of a quarter each: origin bytes" "origin sent $b bytes in $n requests for 128 MiB (from 1x to 1.05x wanted), readers: ${out:-nothing}"
    fi
}

scenario quarters quarters
finish
