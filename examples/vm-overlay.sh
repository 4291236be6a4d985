#!/usr/bin/env bash
# examples/vm-overlay.sh: boot a VM on a remote disk through a local writable qcow2 overlay.
# The guest (tests/vm/) checks every file on the disk and writes one into the overlay.
. "$(dirname "$0")/common.sh"
command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 is not installed"; exit 77; }
kernel=$("$EX_TOP/tests/vm/fetch-kernel.sh")/vmlinuz
"$EX_TOP/tests/vm/build-initramfs.sh" "$(dirname "$kernel")" "$WORK/initrd.gz"
remoteio -m /remote/="$ORIGIN" -- qemu-img create -f qcow2 -F raw -b /remote/disk.img "$WORK/vm.qcow2"
timeout 300 "$REMOTEIO_CMD" -m /remote/="$ORIGIN" -- qemu-system-x86_64 -machine q35,accel=${VM_ACCEL:-tcg} \
    -m 256 -display none -serial stdio -monitor none -net none -no-reboot \
    -kernel "$kernel" -initrd "$WORK/initrd.gz" -append "console=ttyS0 quiet panic=-1 remoteio.write=1" \
    -drive file="$WORK/vm.qcow2",format=qcow2,if=virtio | tr -d '\r' | grep -a remoteio-guest | tee "$WORK/console"
grep -q 'VERDICT PASS' "$WORK/console"
remoteio -m /remote/="$ORIGIN" -- qemu-img info --backing-chain "$WORK/vm.qcow2" | grep -E '^(image|backing file|disk size):'
