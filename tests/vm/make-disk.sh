#!/usr/bin/env bash
# tests/vm/make-disk.sh: build the test guest's data disk.
#
#   tests/vm/make-disk.sh OUT.img [SIZE_MB] [NFILES]
#
# Fills a directory with NFILES files of pseudo-random data (sizes from a few
# bytes to a few MiB, some sparse-looking runs of zeros, nested directories),
# writes MANIFEST (sha256sum format, paths relative to the root) and turns it
# into an ext4 image with mke2fs -d, so no root privileges or loop devices are
# needed. The guest (tests/vm/init) checks every file against MANIFEST.
set -eu
out=$1 size_mb=${2:-64} nfiles=${3:-40}
mke2fs=$(command -v mke2fs || echo /sbin/mke2fs)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work/root" "$nfiles" "$(( size_mb * 1024 * 1024 / 2 ))" <<'PY'
import hashlib, os, random, sys
root, n, budget = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(20240917)
os.makedirs(root)
sizes = [0, 1, 511, 4096, 4097, 65536, 65537, 1 << 20]
while len(sizes) < n:
    sizes.append(rnd.choice([rnd.randrange(1, 8192), rnd.randrange(8192, 1 << 20),
                             rnd.randrange(1 << 20, 4 << 20)]))
sizes = sizes[:n]
# Keep the total within the budget (half the disk), largest files shrink first.
while sum(sizes) > budget:
    i = sizes.index(max(sizes)); sizes[i] //= 2
lines = []
for i, size in enumerate(sizes):
    d = os.path.join(root, "d%d" % (i % 5), "e%d" % (i % 3)) if i % 4 else root
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "f%03d.bin" % i)
    data = bytearray(rnd.randbytes(size))
    if size > 16384 and i % 3 == 0:           # a run of zeros in the middle
        data[size // 4: size // 2] = bytes(size // 2 - size // 4)
    with open(path, "wb") as f:
        f.write(data)
    rel = os.path.relpath(path, root)
    lines.append("%s  ./%s\n" % (hashlib.sha256(data).hexdigest(), rel))
with open(os.path.join(root, "MANIFEST"), "w") as f:
    f.writelines(sorted(lines, key=lambda l: l[66:]))
PY
rm -f "$out"
"$mke2fs" -q -F -t ext4 -L remoteio -E root_owner=0:0 -d "$work/root" "$out" "${size_mb}M"
