#!/usr/bin/env bash
# tests/t-errors-stale.sh: an object replaced after open.
#
# Data not yet held -> ESTALE; data held is the old bytes or ESTALE, never the new ones;
# a new open sees the new object.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/lib-errors.sh"

# object replaced after open
replaced_after_open() {
    cat > "$T/stale.py" <<'PY'
import errno, hashlib, os, sys, time
v, local = sys.argv[1], sys.argv[2]
old = open(local, "rb").read()
fd = os.open(v, os.O_RDONLY)
first = os.pread(fd, 65536, 0)
print("first read", "OK" if first == old[:65536] else "WRONG")
# Replace the object: other bytes, other size, other mtime.
new = hashlib.sha256(b"new").digest() * (len(old) // 32 + 100)
with open(local + ".tmp", "wb") as f: f.write(new)
t = time.time() + 1000
os.utime(local + ".tmp", (t, t))
os.rename(local + ".tmp", local)
try:
    data = os.pread(fd, 65536, 3 * 1048576)
    print("far read", "OLD" if data == old[3 * 1048576:3 * 1048576 + 65536] else
          "NEW" if data == new[3 * 1048576:3 * 1048576 + 65536] else "GARBAGE")
except OSError as e:
    print("far read", errno.errorcode.get(e.errno, e.errno))
try:
    data = os.pread(fd, 1000, 100)
    print("held read", "OLD" if data == old[100:1100] else "WRONG")
except OSError as e:
    print("held read", errno.errorcode.get(e.errno, e.errno))
os.close(fd)
fd = os.open(v, os.O_RDONLY)
print("new open", "NEW" if os.fstat(fd).st_size == len(new) and os.pread(fd, 100, 2000000) == new[2000000:2000100] else "WRONG")
os.close(fd)
PY
    out=$(timeout -k 5 60 env REMOTEIO_READAHEAD=65536 REMOTEIO_CHUNK_SIZE=65536 LD_PRELOAD="$SHIM" \
          "$PY" "$T/stale.py" /remote/big "$W/big" 2>"$T/err")
    echo "$out" | sed 's/^/    /'
    grep -qx 'first read OK' <<<"$out" && ok "changed object: first read" || fail "changed object: first read" "$out"
    grep -qx 'far read ESTALE' <<<"$out" && ok "changed object: read of data not held -> ESTALE" ||
        fail "changed object: read of data not held -> ESTALE" "$(grep 'far read' <<<"$out")"
    grep -qE '^held read (OLD|ESTALE)$' <<<"$out" && ok "changed object: held data is old or ESTALE, never new" ||
        fail "changed object: held data is old or ESTALE, never new" "$(grep 'held read' <<<"$out")"
    grep -qx 'new open NEW' <<<"$out" && ok "changed object: a new open sees the new object" ||
        fail "changed object: a new open sees the new object" "$(grep 'new open' <<<"$out") $(head -2 "$T/err")"
}

scenario stale replaced_after_open
finish
