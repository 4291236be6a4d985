#!/usr/bin/env bash
# tests/bench/vm-boot.sh: guest boot-and-check time by disk transport.
#
# Boots the tests/vm guest (which mounts its disk and checks the sha256 of
# every file) with the same ext4 disk image reached four ways:
#   local     a local file (the floor)
#   shim      /remote/disk.img through libremoteio.so, default drive options
#   curl      qemu's own curl block driver (file.driver=http, qemu-block-extra)
#   shim+ovl  a local qcow2 overlay whose backing file is /remote/disk.img
# each VM_BENCH_RUNS times (default 3), and prints the median wall time of a
# whole qemu run and of the guest's check (guest clock), plus requests and
# bytes at the origin per run.
#   VM_DISK_MB=256 VM_DISK_FILES=200 tests/bench/vm-boot.sh
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/vm/guest.sh"
require python3 curl qemu-img
vm_deps
RUNS=${VM_BENCH_RUNS:-3}
vm_prepare "$T/vm" || { echo "cannot boot a guest: $VM_WHY"; exit 77; }
mkdir -p "$T/origin" "$T/local"
vm_make_disk "$T/origin/disk.img" "${VM_DISK_MB:-128}" "${VM_DISK_FILES:-80}"
cp "$T/origin/disk.img" "$T/local/disk.img"
start_nginx "$T/origin"
export REMOTEIO_MAP="/remote/=$ORIGIN/"
curl_ok=
for f in /usr/lib/*/qemu/block-curl.so /usr/lib/qemu/block-curl.so; do [ -e "$f" ] && curl_ok=1; done

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "-" }'; }
echo "# $(basename "$(readlink -f "$VM_KERNEL")"), accel=$VM_ACCEL, disk ${VM_DISK_MB:-128} MiB," \
     "$(debugfs -R 'cat /MANIFEST' "$T/local/disk.img" 2>/dev/null | wc -l) files, $RUNS runs each"
printf '%-10s %9s %11s %9s %11s  %s\n' transport wall_s guest_chk_s requests MiB_fetched verdicts
for mode in local shim curl shim+ovl; do
    walls=() checks=() verdicts=() reqs=() bytes=()
    [ $mode = curl ] && [ -z "$curl_ok" ] && { echo "curl       (qemu-block-extra not installed)"; continue; }
    for i in $(seq 1 "$RUNS"); do
        before=$(wc -l < "$NGINX_LOG")
        case $mode in
            local) VM_PREFIX=(); drive=(-drive "file=$T/local/disk.img,format=raw,if=virtio,readonly=on");;
            shim) VM_PREFIX=(env LD_PRELOAD="$SHIM"); drive=(-drive "file=/remote/disk.img,format=raw,if=virtio,readonly=on");;
            curl) VM_PREFIX=(); drive=(-drive "driver=raw,file.driver=http,file.url=$ORIGIN/disk.img,if=virtio,readonly=on");;
            shim+ovl)
                rm -f "$T/ovl.qcow2"
                LD_PRELOAD="$SHIM" qemu-img create -q -f qcow2 -F raw -b /remote/disk.img "$T/ovl.qcow2"
                VM_PREFIX=(env LD_PRELOAD="$SHIM"); drive=(-drive "file=$T/ovl.qcow2,format=qcow2,if=virtio");;
        esac
        vm_boot "$T/$mode.$i.serial" "${drive[@]}"
        walls+=("$VM_SECS"); verdicts+=("${VM_VERDICT%% *}")
        checks+=("$(grep -a -o 'verdict [0-9.]*s\.\.[0-9.]*s' "$T/$mode.$i.serial" | tail -1 |
                    sed 's/verdict \([0-9.]*\)s\.\.\([0-9.]*\)s/\1 \2/' | awk '{ printf "%.2f", $2 - $1 }')")
        reqs+=($(( $(wc -l < "$NGINX_LOG") - before )))
        bytes+=("$(tail -n +$((before + 1)) "$NGINX_LOG" | awk '{ s += $2 } END { printf "%.1f", s / 1048576 }')")
    done
    printf '%-10s %9s %11s %9s %11s  %s\n' "$mode" \
        "$(printf '%s\n' "${walls[@]}" | median)" "$(printf '%s\n' "${checks[@]}" | median)" \
        "$(printf '%s\n' "${reqs[@]}" | median)" "$(printf '%s\n' "${bytes[@]}" | median)" "${verdicts[*]}"
done
