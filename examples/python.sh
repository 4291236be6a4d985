#!/usr/bin/env bash
# examples/python.sh: plain Python file I/O (open, seek, read, mmap) on a remote file.
. "$(dirname "$0")/common.sh"
remoteio -m /remote/="$ORIGIN" -- python3 - <<'PY' | tee "$WORK/py.out"
import hashlib, mmap, os
path = "/remote/sample.raw"
print("size", os.path.getsize(path))
with open(path, "rb") as f:
    f.seek(4 << 20)
    print("line", f.readline().decode().strip())
    f.seek(0)
    print("sha256", hashlib.sha256(f.read()).hexdigest())
    with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        print("mmap", hashlib.sha256(m).hexdigest())
PY
if [ -n "$SAMPLES" ]; then
    want=$(sha256sum < "$SAMPLES/sample.raw" | cut -d' ' -f1)
    [ "$(grep -c "$want" "$WORK/py.out")" = 2 ] && echo "python: read and mmap match the local copy"
fi
