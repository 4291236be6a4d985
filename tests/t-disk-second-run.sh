#!/usr/bin/env bash
# tests/t-disk-second-run.sh: the second run finds everything in the disk cache
# (REMOTEIO_CACHE_DIR).  Each program runs twice on a new, empty cache directory; the
# second run (a new process: its memory cache is empty) must send the origin at most one
# request per object, the validation at open (HEAD), and no range request, and give the
# right bytes:
#   - qemu-img convert of a remote qcow2 whose backing file is another remote object
#     (two objects), compared with the convert of the local copies;
#   - the test guest (tests/vm/, as in t-vm-boot) booting from the remote raw disk with
#     readonly=on; then through a new local qcow2 overlay on it that the guest writes
#     into (qemu-img create, then the boot: one process each), also twice.  The guest
#     checks every file's sha256.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/vm/guest.sh"
require python3 curl qemu-img cmp
require_shim
unset REMOTEIO_CONFIG REMOTEIO_STATS REMOTEIO_STATS_INTERVAL REMOTEIO_LOG_FILE REMOTEIO_CACHE_DIR
export REMOTEIO_LOG=${REMOTEIO_LOG:-warn}
skip_if_qemu_hangs
MiB=1048576
W=$T/origin
mkdir -p "$W"
start_nginx "$W"
export REMOTEIO_MAP="/r/=$ORIGIN/" REMOTEIO_DISK_CACHE_SIZE=256M
stat_of() { sed -n "s/.* $2=\([0-9]*\).*/\1/p" "$1" | awk '{ s += $1 } END { print s + 0 }'; }

# only_validations NAME OBJECT...: since the origin's log was emptied, at most one HEAD
# for each OBJECT (a path under the origin's root) and no other request
only_validations() {
    local name=$1 o n bad= heads=; shift
    sleep 0.2 # nginx writes its log line after the answer
    for o in "$@"; do
        n=$(grep -c "\"HEAD /$o HTTP" "$NGINX_LOG")
        heads="$heads $o:$n"
        [ "$n" -le 1 ] || bad="$bad $o:$n HEADs"
    done
    n=$(grep -vc '"HEAD ' "$NGINX_LOG")
    [ "$n" = 0 ] || bad="$bad $n other requests ($(grep -v '"HEAD ' "$NGINX_LOG" | head -2 | tr '\n' ' '))"
    n=$(grep -c . "$NGINX_LOG")
    [ "$n" -le $# ] || bad="$bad $n requests for $# objects"
    [ -z "$bad" ] && ok "$name: the origin saw $n request(s) for $# object(s), validations only (HEADs:$heads)" ||
        fail "$name: origin requests" "$bad"
}

# qemu-img convert, twice: a qcow2 on top of a raw base, both remote.
convert_twice() {
    export REMOTEIO_CACHE_DIR=$T/cache-convert
    make_file "$W/base.raw" $((24 * MiB))
    # The overlay names its backing file by its virtual path, so that qemu-img opens it
    # through the shim; the local reference names the local copy.
    qemu-img create -q -f qcow2 -F raw -b /r/base.raw -u "$W/top.qcow2" $((24 * MiB))
    qemu-io -c "write -P 0x5a 1M 3M" -c "write -P 0xa5 17M 64k" \
        --image-opts "driver=qcow2,file.filename=$W/top.qcow2,backing.driver=raw,backing.file.filename=$W/base.raw" >/dev/null
    qemu-img convert -O raw --image-opts \
        "driver=qcow2,file.filename=$W/top.qcow2,backing.driver=raw,backing.file.filename=$W/base.raw" "$T/want.raw"
    cmp -s "$T/want.raw" "$W/base.raw" && { fail "the qcow2 overlay holds writes of its own"; return; }
    local run
    for run in 1 2; do
        : >"$NGINX_LOG"
        rm -f "$T/got.raw"
        if timeout -k 5 120 env LD_PRELOAD="$SHIM" REMOTEIO_STATS="$T/st.convert$run" \
                qemu-img convert -f qcow2 -O raw /r/top.qcow2 "$T/got.raw" 2>"$T/err.convert$run"; then
            same_bytes "qemu-img convert, run $run: right bytes" "$T/got.raw" "$T/want.raw"
        else
            fail "qemu-img convert, run $run" "$(head -3 "$T/err.convert$run")"
        fi
    done
    only_validations "qemu-img convert, second run (disk_hits=$(stat_of "$T/st.convert2" disk_hits), disk_misses=$(stat_of "$T/st.convert2" disk_misses))" \
        top.qcow2 base.raw
}

# boot NAME DRIVE-ARGS...: one boot of the test guest; records its verdict
boot() {
    local name=$1; shift
    if vm_boot "$T/$name.serial" "$@"; then
        ok "boot $name: $VM_VERDICT (${VM_SECS}s)"
    else
        fail "boot $name" "verdict: $VM_VERDICT; console: $(grep -a 'remoteio-guest\|Kernel panic\|error' "$T/$name.serial" | tail -3 | tr '\r\n' '  ') qemu: $(tail -c 400 "$T/$name.serial.stderr")"
    fi
}

vm_twice() {
    vm_deps
    local need
    for need in qemu-system-x86_64 mke2fs gzip; do
        command -v "$need" >/dev/null || { echo "# $need is not installed: the VM boots are skipped"; return; }
    done
    vm_prepare "$T/vm"
    case $? in
        0) ;;
        1) echo "# the VM boots are skipped: $VM_WHY"; return;;
        *) fail "prepare the guest" "$VM_WHY"; return;;
    esac
    echo "# guest: $(basename "$(readlink -f "$VM_KERNEL")"), accel=$VM_ACCEL"
    vm_make_disk "$W/disk.img" ${VM_DISK_MB:-64} ${VM_DISK_FILES:-40}
    local c=$T/cache-vm
    : >"$NGINX_LOG"
    VM_PREFIX=(env LD_PRELOAD="$SHIM" REMOTEIO_CACHE_DIR="$c" REMOTEIO_STATS="$T/st.boot1")
    boot "first, readonly=on" -drive "file=/r/disk.img,format=raw,if=virtio,readonly=on"
    sleep 0.2
    echo "#   first boot: the origin saw $(grep -c . "$NGINX_LOG") requests, $(awk '{ s += $2 } END { print s + 0 }' "$NGINX_LOG") bytes"
    : >"$NGINX_LOG"
    VM_PREFIX=(env LD_PRELOAD="$SHIM" REMOTEIO_CACHE_DIR="$c" REMOTEIO_STATS="$T/st.boot2")
    boot "second, readonly=on" -drive "file=/r/disk.img,format=raw,if=virtio,readonly=on"
    only_validations "boot, second run (disk_hits=$(stat_of "$T/st.boot2" disk_hits), disk_misses=$(stat_of "$T/st.boot2" disk_misses))" disk.img
    # Through a local qcow2 overlay that the guest writes into (it reads blocks the
    # readonly boots did not): twice, each time a new overlay (qemu-img create, then the
    # boot: one process each).
    local run
    for run in 1 2; do
        : >"$NGINX_LOG"
        rm -f "$T/overlay.qcow2"
        if timeout -k 5 60 env LD_PRELOAD="$SHIM" REMOTEIO_CACHE_DIR="$c" \
                qemu-img create -q -f qcow2 -F raw -b /r/disk.img "$T/overlay.qcow2" 2>"$T/err.create"; then
            only_validations "qemu-img create of overlay $run on the cached base" disk.img
        else
            fail "qemu-img create of overlay $run" "$(head -3 "$T/err.create")"
        fi
        : >"$NGINX_LOG"
        VM_PREFIX=(env LD_PRELOAD="$SHIM" REMOTEIO_CACHE_DIR="$c" REMOTEIO_STATS="$T/st.overlay$run")
        VM_APPEND=remoteio.write=1 boot "through new overlay $run" -drive "file=$T/overlay.qcow2,format=qcow2,if=virtio"
        sleep 0.2
        [ $run = 1 ] && echo "#   first boot through an overlay: the origin saw $(grep -c . "$NGINX_LOG") requests, $(awk '{ s += $2 } END { print s + 0 }' "$NGINX_LOG") bytes"
    done
    only_validations "boot through a new overlay, second run (disk_hits=$(stat_of "$T/st.overlay2" disk_hits), disk_misses=$(stat_of "$T/st.overlay2" disk_misses))" disk.img
}

scenario "convert" convert_twice
scenario "vm" vm_twice
finish
