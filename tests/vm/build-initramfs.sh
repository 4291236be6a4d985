#!/usr/bin/env bash
# tests/vm/build-initramfs.sh: build the test guest's initramfs.
#
#   tests/vm/build-initramfs.sh KERNEL_DIR OUT.cpio.gz
#
# KERNEL_DIR is what fetch-kernel.sh printed (boot/, lib/modules/). The
# initramfs holds busybox (busybox-static), tests/vm/init and the kernel
# modules needed to read an ext4 file system on a virtio disk, with their
# dependencies resolved from each module's .modinfo (no depmod needed).
set -eu
kdir=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
# The guest has no libc: busybox must be the static build (busybox-static).
bb=
for c in /bin/busybox /usr/bin/busybox $(command -v busybox 2>/dev/null); do
    if [ -x "$c" ] && python3 - "$c" <<'PY'
import struct, sys
# An ELF64 executable without a PT_INTERP program header is static.
d = open(sys.argv[1], "rb").read(1 << 16)
phoff, = struct.unpack_from("<Q", d, 32)
phentsize, phnum = struct.unpack_from("<HH", d, 54)
types = [struct.unpack_from("<I", d, phoff + i * phentsize)[0] for i in range(phnum)]
sys.exit(d[:4] != b"\x7fELF" or 3 in types)
PY
    then bb=$c; break; fi
done
[ -n "$bb" ] || { echo "build-initramfs: no static busybox (install busybox-static)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,mnt,tmp,lib/modules}
cp "$bb" "$root/bin/busybox"
install -m 0755 "$here/init" "$root/init"

moddir=$(ls -d "$kdir"/lib/modules/*/ | head -1)
# Wanted modules; absent ones are assumed built in.
python3 - "$moddir" "$root/lib/modules" virtio_pci virtio_blk ext4 crc32c_generic <<'PY'
import os, re, shutil, sys
moddir, dest, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
index = {}
for dp, _, files in os.walk(moddir):
    for f in files:
        if f.endswith(".ko"):
            index[f[:-3].replace("-", "_")] = os.path.join(dp, f)
order, seen = [], set()
def visit(name):
    name = name.replace("-", "_")
    if name in seen:
        return
    seen.add(name)
    path = index.get(name)
    if path is None:
        return                      # built into the kernel
    data = open(path, "rb").read()
    m = re.search(rb"\0depends=([^\0]*)\0", data)
    for dep in (m.group(1).decode().split(",") if m and m.group(1) else []):
        visit(dep)
    order.append(path)
for w in wanted:
    visit(w)
with open(os.path.join(dest, "order"), "w") as f:
    for p in order:
        shutil.copy(p, dest)
        f.write(os.path.basename(p) + "\n")
PY

# newc archive; busybox's cpio writes it as well as GNU cpio does.
(cd "$root" && find . | LC_ALL=C sort | "$root/bin/busybox" cpio -o -H newc 2>/dev/null) |
    gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
