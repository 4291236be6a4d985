#!/usr/bin/env bash
# demo.sh: the first thing to run.  Builds remoteio, serves a generated sample disk image
# from a local nginx on 127.0.0.1, and reads it through the shim with real programs:
# qemu-img info, sha256sum (compared with the local file), and a qemu-img convert.
# Set REMOTEIO_DEMO_SIZE (default 256M) for a bigger image.
set -eu
cd "$(dirname "$0")"
tests/deps.sh
make -s all
source tests/lib.sh
size=${REMOTEIO_DEMO_SIZE:-256M}
mkdir -p "$T/www"
echo "== making a ${size} sample raw image and its qcow2"
qemu-img create -q -f raw "$T/disk.raw" "$size"
# Some data spread over the image, so that it is not all zeros.
python3 - "$T/disk.raw" <<'PY'
import os, random, sys
r = random.Random(2026)
with open(sys.argv[1], "r+b") as f:
    size = os.fstat(f.fileno()).st_size
    for i in range(0, size, 1 << 20):
        f.seek(i); f.write(r.randbytes(256 << 10))
PY
qemu-img convert -q -f raw -O qcow2 "$T/disk.raw" "$T/www/sample.qcow2"
start_nginx "$T/www"
export REMOTEIO_MAP="/remote/=$ORIGIN/"
echo "== origin: $ORIGIN   mapping: $REMOTEIO_MAP"
echo
echo "\$ remoteio -- qemu-img info /remote/sample.qcow2"
build/remoteio -- qemu-img info /remote/sample.qcow2
echo
echo "\$ remoteio -- sha256sum /remote/sample.qcow2"
remote=$(build/remoteio -- sha256sum /remote/sample.qcow2 | cut -d' ' -f1)
local_sum=$(sha256sum "$T/www/sample.qcow2" | cut -d' ' -f1)
echo "remote $remote"
echo "local  $local_sum"
[ "$remote" = "$local_sum" ] || { echo "MISMATCH"; exit 1; }
echo
echo "\$ remoteio --stats -- qemu-img convert -O raw /remote/sample.qcow2 out.raw"
time build/remoteio --stats -- qemu-img convert -O raw /remote/sample.qcow2 "$T/out.raw"
cmp "$T/out.raw" "$T/disk.raw" && echo "converted image is byte-identical to the original"
echo
echo "origin requests: $(grep -c . "$NGINX_LOG"), bytes sent: $(awk '{s+=$2} END {print s}' "$NGINX_LOG")"
echo "demo: OK"
