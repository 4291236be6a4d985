#!/usr/bin/env bash
# tests/t-vm-boot.sh: qemu-system-x86_64 boots a guest whose disk is remote.
#
# The guest is Debian's stock kernel plus a busybox initramfs (tests/vm/).
# Its data disk is an ext4 image made at run time (mke2fs -d) holding files
# of generated data and a MANIFEST of their sha256 sums; the guest mounts it,
# checks every file and prints a verdict on the serial console, then powers
# off. The disk is booted from:
#   - a local copy (the reference, and the boot time to compare with),
#   - /remote/disk.img with readonly=on, with snapshot=on, and through a local
#     writable qcow2 overlay that the guest writes into,
# all with qemu's default drive options otherwise (cache=writeback,
# aio=threads). KVM is used only when a probe boot shows that it works.
#
# REMOTEIO_TEST_ORIGIN=s3 serves the disk as an s3:// object from the tests' S3 server
# (tests/s3/server.sh; t-s3-tools.sh), which must see nothing but signed GET and HEAD.
#
# VM_STRACE=1 also boots once under strace -f and reports the system calls
# qemu made on the image's descriptor (they should all be served by the
# shim: a descriptor error there means a call bypassed it).
# VM_ACCEL=kvm|tcg forces the accelerator; REMOTEIO_TEST_CACHE the kernel cache.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/vm/guest.sh"
require python3 curl
vm_deps
require qemu-system-x86_64 qemu-img qemu-io mke2fs gzip
V=/remote
skip_if_qemu_hangs

vm_prepare_or_skip "$T/vm"

mkdir -p "$T/origin" "$T/local"
vm_make_disk "$T/origin/disk.img" ${VM_DISK_MB:-64} ${VM_DISK_FILES:-40}
cp "$T/origin/disk.img" "$T/local/disk.img"
if [ "${REMOTEIO_TEST_ORIGIN:-}" = s3 ]; then
    . "$TOP/tests/s3/server.sh"
    s3_serve "$T/origin"
    export REMOTEIO_MAP="$V/=$S3_MAP"
else
    start_nginx "$T/origin"
    export REMOTEIO_MAP="$V/=$ORIGIN/"
fi
export REMOTEIO_LOG=${REMOTEIO_LOG:-warn}

# boot NAME DRIVE-ARGS...: boot once, record ok/fail and the time.
declare -A SECS
boot() {
    local name=$1; shift
    if vm_boot "$T/$name.serial" "$@"; then
        ok "boot $name: $VM_VERDICT (${VM_SECS}s)"
    else
        fail "boot $name" "verdict: $VM_VERDICT; console: $(grep -a 'remoteio-guest\|Kernel panic\|error' "$T/$name.serial" | tail -3 | tr '\r\n' '  ') qemu: $(tail -c 400 "$T/$name.serial.stderr")"
    fi
    SECS[$name]=$VM_SECS
    local inner; inner=$(grep -a -o 'from mount to verdict [0-9.]*s\.\.[0-9.]*s' "$T/$name.serial" | tail -1)
    [ -n "$inner" ] && echo "#   $name: $inner (guest clock)"
}

VM_PREFIX=()
boot local -drive "file=$T/local/disk.img,format=raw,if=virtio,readonly=on"

VM_PREFIX=(env LD_PRELOAD="$SHIM" REMOTEIO_STATS="$T/stats.readonly")
boot remote-readonly -drive "file=$V/disk.img,format=raw,if=virtio,readonly=on"
grep "path=$V/disk.img" "$T/stats.readonly" 2>/dev/null | head -1 | sed 's/^/#   /'

VM_PREFIX=(env LD_PRELOAD="$SHIM" TMPDIR="$T")
boot remote-snapshot -drive "file=$V/disk.img,format=raw,if=virtio,snapshot=on"

# A local qcow2 overlay on the remote disk; the guest writes a file into it.
VM_PREFIX=(env LD_PRELOAD="$SHIM")
if out=$(timeout 60 env LD_PRELOAD="$SHIM" qemu-img create -q -f qcow2 -F raw -b "$V/disk.img" "$T/overlay.qcow2" 2>&1); then
    VM_APPEND=remoteio.write=1 boot remote-overlay -drive "file=$T/overlay.qcow2,format=qcow2,if=virtio"
    rm -f "$T/overlay.raw"
    if timeout 60 env LD_PRELOAD="$SHIM" qemu-img convert -O raw "$T/overlay.qcow2" "$T/overlay.raw" 2>"$T/conv.err" &&
       got=$(debugfs -R 'cat /guest-wrote.txt' "$T/overlay.raw" 2>/dev/null) &&
       [ "$got" = "written by the guest: ${VM_DISK_FILES:-40} files checked" ]; then
        ok "the guest's write landed in the local overlay"
    else
        fail "the guest's write landed in the local overlay" "${got:-nothing} $(head -c 200 "$T/conv.err")"
    fi
else
    fail "create an overlay on $V/disk.img" "$out"
fi
# Without readonly=on or snapshot=on qemu opens the disk read-write: a clear,
# immediate EROFS, no guest, no hang.
out=$(timeout 60 env LD_PRELOAD="$SHIM" qemu-system-x86_64 -machine "q35,accel=$VM_ACCEL" -nodefaults \
      -display none -monitor none -S -drive "file=$V/disk.img,format=raw,if=virtio" 2>&1)
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [[ $out == *"Read-only file system"* ]]; then
    ok "read-write -drive on the remote disk fails with EROFS"
else
    fail "read-write -drive on the remote disk fails with EROFS" "rc=$rc: $out"
fi
cmp -s "$T/origin/disk.img" "$T/local/disk.img" && ok "remote disk unchanged" ||
    fail "remote disk unchanged" "origin file modified"

# Optional: what qemu does on the image descriptor.
if [ -n "${VM_STRACE:-}" ]; then
    require strace
    VM_PREFIX=(strace -f -qq -y -e trace=desc,file -o "$T/strace.log" env LD_PRELOAD="$SHIM")
    VM_TIMEOUT=$((VM_TIMEOUT * 3)) boot remote-strace -drive "file=$V/disk.img,format=raw,if=virtio,readonly=on"
    "$TOP/tests/vm/strace-report.sh" "$T/strace.log" "$V/disk.img" | sed 's/^/#   /'
    if [ -n "${VM_STRACE_KEEP:-}" ]; then cp "$T/strace.log" "$VM_STRACE_KEEP" && echo "#   strace log kept in $VM_STRACE_KEEP"; fi
    if grep -q -- '-> EBADF' "$T/strace.report" 2>/dev/null; then
        fail "no system call on the image descriptor bypassed the shim" "$(grep -- '-> EBADF' "$T/strace.report" | head -3 | tr '\n' ' ')"
    elif [ -f "$T/strace.report" ]; then
        ok "no system call on the image descriptor bypassed the shim"
    fi
fi

l=${SECS[local]:-0} r=${SECS[remote-readonly]:-0}
echo "# boot time (wall, $VM_ACCEL): local ${l}s, remote readonly ${r}s, snapshot ${SECS[remote-snapshot]:-?}s, overlay ${SECS[remote-overlay]:-?}s" \
     "(remote/local = $(awk -v a="$r" -v b="$l" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "?" }'))"

if [ "${REMOTEIO_TEST_ORIGIN:-}" = s3 ]; then s3_check_signed_reads; finish; exit; fi
sleep 0.2
bad=$(awk -F'"' '{ split($4, r, " "); if (r[1] != "GET" && r[1] != "HEAD") print $4 }' "$NGINX_LOG" | sort | uniq -c | head -5)
if [ -z "$bad" ] && grep -q '/disk.img' "$NGINX_LOG"; then ok "origin saw only GET/HEAD ($(wc -l < "$NGINX_LOG") requests)"
else fail "origin saw only GET/HEAD" "${bad:-no request for disk.img}"; fi
finish
