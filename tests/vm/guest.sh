# tests/vm/guest.sh: boot the remoteio test guest under qemu-system-x86_64.
#
# Source it (bash). Functions:
#   vm_deps                install what the guest needs when missing (root + apt)
#   vm_prepare DIR         kernel (cached), initramfs and accelerator; sets
#                          VM_KERNEL, VM_INITRD, VM_ACCEL, VM_CPU; 1 if qemu
#                          cannot start a guest at all (VM_WHY says why)
#   vm_prepare_or_skip DIR the same for a test script: skips it (exit 77) then
#   vm_make_disk OUT [MB] [NFILES]   the ext4 data disk with its MANIFEST
#   vm_boot LOG DRIVE_ARGS...        boot once; the disk must be the first
#                          virtio disk. Runs "${VM_PREFIX[@]}" qemu ... under
#                          a hard timeout (VM_TIMEOUT, default 300 s), writes
#                          the serial console to LOG, sets VM_SECS (wall time)
#                          and VM_VERDICT; returns 0 when the guest says PASS.
#                          A boot whose kernel panics before the guest's init
#                          runs is tried once more.
#   vm_start LOG DRIVE_ARGS...       the same boot in the background, once; sets
#                          VM_PID (the timeout in front of qemu: a TERM to it
#                          stops qemu)
#
# VM_ACCEL=kvm|tcg forces the accelerator; otherwise KVM is used only when a
# short probe boot shows the kernel actually running under it.
#
# The guest boots with no_timer_check: under TCG on a loaded host the kernel's
# IO-APIC timer check can miss its ticks and panic ("IO-APIC + timer doesn't
# work") before the disk is touched.
VM_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_CACHE=${REMOTEIO_TEST_CACHE:-/var/cache/remoteio-test} # not REMOTEIO_CACHE_DIR: the shim's disk cache
VM_TIMEOUT=${VM_TIMEOUT:-300}
VM_PREFIX=()
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin:/sbin;; esac

vm_deps() {
    local need=()
    command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
    dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
    command -v mke2fs >/dev/null 2>&1 || need+=(e2fsprogs)
    command -v gzip >/dev/null 2>&1 || need+=(gzip)
    command -v file >/dev/null 2>&1 || need+=(file)
    [ ${#need[@]} -eq 0 ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ -z "${REMOTEIO_NO_INSTALL:-}" ]; then
        echo "# installing ${need[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null 2>&1 ||
            { apt-get update -q >/dev/null 2>&1 &&
              DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null 2>&1; }
    fi
}

# _vm_probe ACCEL: does the kernel start printing under ACCEL within a few seconds?
_vm_probe() {
    local accel=$1 cpu=$2 log=$VM_DIR/probe-$1.log pid i
    : > "$log"
    timeout -k 2 20 qemu-system-x86_64 -machine "q35,accel=$accel" -cpu "$cpu" -m 128 \
        -nodefaults -no-user-config -display none -monitor none -net none -no-reboot \
        -serial "file:$log" -kernel "$VM_KERNEL" \
        -append "console=ttyS0 panic=-1 rdinit=/nonexistent root=/dev/nonexistent" \
        >"$log.stderr" 2>&1 &
    pid=$!
    for i in $(seq 1 ${VM_PROBE_TICKS:-60}); do
        if grep -q 'Linux version' "$log" 2>/dev/null; then
            kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    return 1
}

vm_prepare() {
    VM_DIR=$1
    mkdir -p "$VM_DIR"
    VM_WHY=
    command -v qemu-system-x86_64 >/dev/null 2>&1 ||
        { VM_WHY="qemu-system-x86_64 is not installed"; return 1; }
    local kdir
    kdir=$("$VM_HERE/fetch-kernel.sh" "$VM_CACHE/kernel") ||
        { VM_WHY="cannot fetch the guest kernel"; return 2; }
    VM_KERNEL=$kdir/vmlinuz
    VM_INITRD=$VM_DIR/initrd.gz
    "$VM_HERE/build-initramfs.sh" "$kdir" "$VM_INITRD" ||
        { VM_WHY="cannot build the initramfs"; return 2; }
    case ${VM_ACCEL:-} in
        kvm) VM_CPU=${VM_CPU:-host};;
        tcg) VM_CPU=${VM_CPU:-max};;
        *)
            VM_ACCEL=tcg VM_CPU=max VM_PROBE_TICKS=50
            if [ -w /dev/kvm ] && _vm_probe kvm host; then
                VM_ACCEL=kvm VM_CPU=host
            else
                VM_PROBE_TICKS=150
                _vm_probe tcg max || {
                    VM_WHY="qemu-system-x86_64 cannot start a guest: $(tail -c 300 "$VM_DIR/probe-tcg.log.stderr" 2>/dev/null)"
                    return 1
                }
            fi;;
    esac
    return 0
}

# vm_prepare_or_skip DIR: vm_prepare for a test script: exit 77 (saying why) when qemu
# cannot start a guest here, 1 when the guest cannot be built; prints the guest used
vm_prepare_or_skip() {
    vm_prepare "$1"
    case $? in
        0) ;;
        1) skip "$VM_WHY";;
        *) echo "FATAL: $VM_WHY"; exit 1;;
    esac
    echo "# guest: $(basename "$(readlink -f "$VM_KERNEL")"), accel=$VM_ACCEL"
}

vm_make_disk() { "$VM_HERE/make-disk.sh" "$@" >/dev/null; }

vm_boot() {
    _vm_boot_once "$@" && return 0
    # A kernel that panicked before the guest's init ran never touched the disk:
    # that boot is tried once more, and its console kept as LOG.first.
    if grep -aq 'remoteio-guest' "$1" || ! grep -aq 'Kernel panic' "$1"; then
        return 1
    fi
    echo "#   the guest kernel panicked before its init ran ($(grep -a 'Kernel panic' "$1" | head -1 | tr -d '\r' | cut -c1-120)); booting again"
    mv "$1" "$1.first"
    _vm_boot_once "$@"
}

vm_start() {
    local log=$1; shift
    : > "$log"
    timeout -k 5 "$VM_TIMEOUT" "${VM_PREFIX[@]}" qemu-system-x86_64 \
        -machine "q35,accel=$VM_ACCEL" -cpu "$VM_CPU" -m 256 -smp 1 \
        -nodefaults -no-user-config -display none -monitor none -net none -no-reboot \
        -serial "file:$log" \
        -kernel "$VM_KERNEL" -initrd "$VM_INITRD" \
        -append "console=ttyS0 quiet panic=-1 no_timer_check ${VM_APPEND:-}" \
        "$@" >"$log.stderr" 2>&1 &
    VM_PID=$!
}

_vm_boot_once() {
    local log=$1 t0 t1 rc
    t0=$(date +%s.%N)
    vm_start "$@"
    wait "$VM_PID"
    rc=$?
    t1=$(date +%s.%N)
    VM_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    VM_VERDICT=$(grep -a 'remoteio-guest: VERDICT' "$log" | tail -1 | sed 's/.*VERDICT //' | tr -d '\r')
    [ -n "$VM_VERDICT" ] || VM_VERDICT="none (qemu exit $rc$([ $rc = 124 ] && echo ", timed out after ${VM_TIMEOUT}s"))"
    case $VM_VERDICT in PASS*) return 0;; *) return 1;; esac
}
