#!/usr/bin/env bash
# tests/bench/vm-boot.sh: guest boot-and-check time by disk transport and origin profile.
#
# Boots the tests/vm guest (which mounts its disk and checks the sha256 of
# every file) with the same ext4 disk image reached several ways:
#   local     a local file (the floor; no origin, measured once per round)
#   shim      /remote/disk.img through libremoteio.so, default drive options
#   curl      qemu's own curl block driver (file.driver=http, qemu-block-extra)
#   nbdkit    nbdkit's curl plugin with the readahead filter, a fresh nbdkit per
#             boot serving NBD on a unix socket, qemu's nbd client
#   shim+disk  the shim with a warm 1G disk cache (REMOTEIO_CACHE_DIR, per profile): one boot
#             not measured fills it, each measured boot is a new qemu reading from it
#             (the origin sees only the validation at open)
#   shim+ovl  a local qcow2 overlay whose backing file is /remote/disk.img
#             (not in the default set: VM_BENCH_TRANSPORTS="shim curl nbdkit shim+ovl")
#   shim+trace  the shim with learned prefetch (shim/trace.h): one boot not measured
#             records the trace (REMOTEIO_TRACE_DIR, per profile), each measured boot is a
#             new qemu on a cold cache that replays it (and refines it, REMOTEIO_TRACE=auto);
#             the notes give what the replay fetched and how much of it the boot never read
# against each origin profile (a local nginx per profile, as in tests/bench/run.sh):
#   lan       no delay, no rate limit
#   s3        20 ms before each response's first byte, 100 MiB/s per connection
#             (needs nginx's echo module; without it only lan runs)
# Every qemu run is under a hard timeout (VM_TIMEOUT, default 120 s); a boot
# that times out or fails is reported as such in its cell, never aborts the run.
# Reports, per cell, the median over the passing runs of the wall time of the
# whole qemu run, of the guest's own check (guest clock, mount to verdict),
# and of the requests and MiB at the origin per boot (over all runs when none
# passed). The markdown table goes to stdout and to tests/bench/vm-boot.md
# (VM_BENCH_OUT to change it).
#
# Environment:
#   VM_BENCH_RUNS=N|auto    runs per cell (default auto: 3 when one round of every
#                           cell says the whole run fits VM_BENCH_BUDGET, else 1)
#   VM_BENCH_BUDGET=SECS    wall-time budget for the auto choice (default 900)
#   VM_BENCH_PROFILES=...   subset of "lan s3"
#   VM_BENCH_TRANSPORTS=... subset of "shim shim+trace shim+disk curl nbdkit shim+ovl" (local always
#                           runs; default: all but shim+ovl)
#   VM_DISK_MB=128 VM_DISK_FILES=80   the disk image
#   VM_TIMEOUT=SECS         hard timeout of one qemu run
#   e.g. VM_DISK_MB=256 VM_DISK_FILES=200 tests/bench/vm-boot.sh
VM_TIMEOUT=${VM_TIMEOUT:-120}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib.sh"
. "$TOP/tests/vm/guest.sh"
require python3 curl qemu-img
vm_deps
T0=$(date +%s.%N)
RUNS=${VM_BENCH_RUNS:-auto}
BUDGET=${VM_BENCH_BUDGET:-900}
PROFILES=${VM_BENCH_PROFILES:-lan s3}
TRANSPORTS=${VM_BENCH_TRANSPORTS:-shim shim+trace curl nbdkit}
OUT=${VM_BENCH_OUT:-$HERE/vm-boot.md}
DISK_MB=${VM_DISK_MB:-128} DISK_FILES=${VM_DISK_FILES:-80}
log() { echo "vm-boot: $*" >&2; }
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }'; }

vm_prepare "$T/vm" || { echo "cannot boot a guest: $VM_WHY"; exit 77; }
mkdir -p "$T/origin" "$T/local"
vm_make_disk "$T/origin/disk.img" "$DISK_MB" "$DISK_FILES"
cp "$T/origin/disk.img" "$T/local/disk.img"

# What can run here.
declare -A MISSING
curl_ok=
for f in /usr/lib/*/qemu/block-curl.so /usr/lib/qemu/block-curl.so; do [ -e "$f" ] && curl_ok=1; done
[ -n "$curl_ok" ] || MISSING[curl]="qemu-block-extra (block-curl.so) not installed"
nbdkit curl --dump-plugin >/dev/null 2>&1 || MISSING[nbdkit]="nbdkit or its curl plugin not installed"
[ -f "$SHIM" ] || { MISSING[shim]="$SHIM missing (run make)"; MISSING[shim+ovl]=${MISSING[shim]}; MISSING[shim+trace]=${MISSING[shim]}; MISSING[shim+disk]=${MISSING[shim]}; }
HAVE_ECHO=0; [ -f /usr/lib/nginx/modules/ngx_http_echo_module.so ] && HAVE_ECHO=1
if [ $HAVE_ECHO = 0 ] && [[ " $PROFILES " == *" s3 "* ]]; then
    log "the nginx echo module is missing: the s3 profile is skipped"
    PROFILES=${PROFILES//s3/}
fi

# One nginx per profile over the same directory; each has its own access log.
declare -A ORIGIN_OF LOG_OF
for p in $PROFILES; do
    case $p in
        lan) start_nginx "$T/origin";;
        s3)  start_nginx "$T/origin" "location / { echo_sleep 0.02; echo_exec @file; }
        location @file { limit_rate 100m; }";;
        *) echo "unknown profile $p"; exit 2;;
    esac
    ORIGIN_OF[$p]=$ORIGIN LOG_OF[$p]=$NGINX_LOG
    curl -sf -o /dev/null -r 0-4095 "$ORIGIN/disk.img" || { echo "FATAL: origin $p does not serve the disk"; exit 1; }
done

# Results: space-separated lists per cell "profile/transport" (local: "-/local").
declare -A WALL CHECK REQ MIB STAT NOTE REPLAYED WASTED
CELLS=("-/local")
for p in $PROFILES; do for m in $TRANSPORTS; do CELLS+=("$p/$m"); done; done

# boot_cell PROFILE MODE RUN: one boot, results appended to the cell's lists.
boot_cell() {
    local p=$1 mode=$2 i=$3 key="$1/$2" alog= before=0 nbd_pid= sock status reqs mib chk why=
    local serial="$T/${mode}.${p//-/none}.$i.serial"
    VM_PREFIX=()
    if [ "$p" != - ]; then
        alog=${LOG_OF[$p]}
        sleep 0.3; before=$(wc -l < "$alog")
    fi
    case $mode in
        local) drive=(-drive "file=$T/local/disk.img,format=raw,if=virtio,readonly=on");;
        shim)
            VM_PREFIX=(env LD_PRELOAD="$SHIM" REMOTEIO_MAP="/remote/=${ORIGIN_OF[$p]}/")
            drive=(-drive "file=/remote/disk.img,format=raw,if=virtio,readonly=on");;
        curl)
            drive=(-drive "driver=raw,file.driver=http,file.url=${ORIGIN_OF[$p]}/disk.img,if=virtio,readonly=on");;
        nbdkit)
            sock=$T/nbdkit.$p.$i.sock
            nbdkit -f -r -U "$sock" --filter=readahead curl url="${ORIGIN_OF[$p]}/disk.img" \
                >"$serial.nbdkit" 2>&1 &
            nbd_pid=$!
            local w; for w in $(seq 1 100); do [ -S "$sock" ] && break; kill -0 $nbd_pid 2>/dev/null || break; sleep 0.1; done
            drive=(-drive "file=nbd+unix:///?socket=$sock,format=raw,if=virtio,readonly=on");;
        shim+trace)
            VM_PREFIX=(env LD_PRELOAD="$SHIM" REMOTEIO_MAP="/remote/=${ORIGIN_OF[$p]}/"
                       REMOTEIO_TRACE_DIR="$T/traces.$p" REMOTEIO_STATS="$serial.stats")
            drive=(-drive "file=/remote/disk.img,format=raw,if=virtio,readonly=on")
            if [ ! -d "$T/traces.$p" ]; then # the recording boot, not measured
                mkdir -p "$T/traces.$p"
                vm_boot "$serial.record" "${drive[@]}"
                log "$p shim+trace: recording boot $VM_VERDICT (${VM_SECS}s), trace $(cat "$T/traces.$p/"*.trace 2>/dev/null | wc -c) bytes"
                sleep 0.3; before=$(wc -l < "$alog")
            fi
            rm -f "$serial.stats";;
        shim+disk)
            VM_PREFIX=(env LD_PRELOAD="$SHIM" REMOTEIO_MAP="/remote/=${ORIGIN_OF[$p]}/"
                       REMOTEIO_CACHE_DIR="$T/diskcache.$p" REMOTEIO_DISK_CACHE_SIZE=1G)
            drive=(-drive "file=/remote/disk.img,format=raw,if=virtio,readonly=on")
            if [ ! -d "$T/diskcache.$p" ]; then # the boot that fills the cache, not measured
                vm_boot "$serial.fill" "${drive[@]}"
                log "$p shim+disk: filling boot $VM_VERDICT (${VM_SECS}s), cache $(du -s --block-size=1M "$T/diskcache.$p" 2>/dev/null | cut -f1) MiB"
                sleep 0.3; before=$(wc -l < "$alog")
            fi;;
        shim+ovl)
            rm -f "$T/ovl.qcow2"
            VM_PREFIX=(env LD_PRELOAD="$SHIM" REMOTEIO_MAP="/remote/=${ORIGIN_OF[$p]}/")
            timeout -k 5 60 "${VM_PREFIX[@]}" qemu-img create -q -f qcow2 -F raw -b /remote/disk.img "$T/ovl.qcow2" ||
                why="qemu-img create failed"
            drive=(-drive "file=$T/ovl.qcow2,format=qcow2,if=virtio");;
    esac
    if [ "$mode" = nbdkit ] && [ ! -S "$sock" ]; then
        why="nbdkit did not start: $(tail -1 "$serial.nbdkit")"
    fi
    if [ -z "$why" ]; then
        vm_boot "$serial" "${drive[@]}"
        case $VM_VERDICT in
            PASS*) status=ok;;
            *"timed out"*) status=timeout;;
            *) status=fail; why="$VM_VERDICT; $(grep -av '^$' "$serial.stderr" | tail -1)";;
        esac
    else
        status=fail VM_SECS=0
    fi
    if [ -n "$nbd_pid" ]; then
        kill "$nbd_pid" 2>/dev/null
        local k; for k in $(seq 1 50); do kill -0 "$nbd_pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$nbd_pid" 2>/dev/null; wait "$nbd_pid" 2>/dev/null
    fi
    chk=$(grep -a -o 'verdict [0-9.]*s\.\.[0-9.]*s' "$serial" 2>/dev/null | tail -1 |
          sed 's/verdict \([0-9.]*\)s\.\.\([0-9.]*\)s/\1 \2/' | awk '{ printf "%.2f", $2 - $1 }')
    reqs=0 mib=0.0
    if [ -n "$alog" ]; then
        sleep 0.5   # requests cut short when qemu exits are logged when nginx notices
        read -r reqs mib < <(tail -n +$((before + 1)) "$alog" |
            awk '{ n++; s += $2 } END { printf "%d %.1f\n", n, s / 1048576 }')
    fi
    if [ "$mode" = shim+trace ]; then
        local cs=65536 st="$serial.stats"
        REPLAYED[$key]+="$(sed -n 's/.* trace_chunks_replayed=\([0-9]*\).*/\1/p' "$st" 2>/dev/null | awk -v c=$cs '{ s += $1 } END { printf "%.1f", s * c / 1048576 }') "
        WASTED[$key]+="$(sed -n 's/.* trace_chunks_wasted=\([0-9]*\).*/\1/p' "$st" 2>/dev/null | awk -v c=$cs '{ s += $1 } END { printf "%.1f", s * c / 1048576 }') "
    fi
    WALL[$key]+="$VM_SECS " CHECK[$key]+="${chk:--} " REQ[$key]+="$reqs " MIB[$key]+="$mib " STAT[$key]+="$status "
    [ -n "$why" ] && [ -z "${NOTE[$key]:-}" ] && NOTE[$key]=$(echo "$why" | tr -d '\r' | tr '\n|' '  ' | cut -c1-160)
    log "$(printf '%-4s %-8s run %d: %-7s wall %6ss check %5ss  %5s req %7s MiB' "$p" "$mode" "$i" "$status" "$VM_SECS" "${chk:--}" "$reqs" "$mib")"
}

round() {
    local c
    for c in "${CELLS[@]}"; do
        [ -n "${MISSING[${c#*/}]:-}" ] && continue
        boot_cell "${c%%/*}" "${c#*/}" "$1"
    done
}

# Round 1, then decide how many more.
log "$(basename "$(readlink -f "$VM_KERNEL")"), accel=$VM_ACCEL, ${#CELLS[@]} cells, timeout ${VM_TIMEOUT}s per boot"
r0=$(date +%s)
round 1
r1=$(( $(date +%s) - r0 ))
if [ "$RUNS" = auto ]; then
    RUNS=1
    [ $(( $(elapsed) + 2 * r1 )) -le "$BUDGET" ] && RUNS=3
    log "round 1 took ${r1}s, $(elapsed)s so far: $RUNS run(s) per cell (budget ${BUDGET}s)"
fi
for i in $(seq 2 "$RUNS"); do round "$i"; done

# ------------------------------------------------------------------ the table
# pick LIST STATS: the values of the runs that passed (all of them when none did)
pick() {
    local -a v=($1) s=($2); local j out=()
    for j in "${!v[@]}"; do [ "${s[j]}" = ok ] && out+=("${v[j]}"); done
    [ ${#out[@]} -gt 0 ] || out=("${v[@]}")
    printf '%s\n' "${out[@]}"
}
median() { grep -v '^-$' | sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "-" }'; }
# cell KEY: sets C_WALL C_CHECK C_REQ C_MIB
cell() {
    local k=$1 s n nok nto
    if [ -n "${MISSING[${k#*/}]:-}" ]; then C_WALL="n/a" C_CHECK="n/a" C_REQ="n/a" C_MIB="n/a"; return; fi
    s=${STAT[$k]}; n=$(wc -w <<<"$s"); nok=$(grep -o ok <<<"$s" | wc -l); nto=$(grep -o timeout <<<"$s" | wc -l)
    C_REQ=$(pick "${REQ[$k]}" "$s" | median) C_MIB=$(pick "${MIB[$k]}" "$s" | median)
    if [ "$nok" -eq 0 ]; then
        C_CHECK="-"
        if [ "$nto" -eq "$n" ]; then C_WALL="**timeout** (${VM_TIMEOUT}s${n:+, $n/$n})"
        else C_WALL="**FAIL** ($((n - nto)) fail, $nto timeout of $n)"; fi
        C_REQ="$C_REQ*" C_MIB="$C_MIB*"
        return
    fi
    C_WALL=$(pick "${WALL[$k]}" "$s" | median) C_CHECK=$(pick "${CHECK[$k]}" "$s" | median)
    if [ "$nok" -lt "$n" ]; then
        local bad=""; [ "$nto" -gt 0 ] && bad="$nto timeout"; [ $((n - nok - nto)) -gt 0 ] && bad="${bad:+$bad, }$((n - nok - nto)) fail"
        C_WALL="$C_WALL ($nok/$n ok; $bad)"
    fi
}

nfiles=$(debugfs -R 'cat /MANIFEST' "$T/local/disk.img" 2>/dev/null | wc -l)
{
    echo "# remoteio: guest boot by disk transport"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, host $(uname -r); guest $(basename "$(readlink -f "$VM_KERNEL")")," \
         "accel=$VM_ACCEL, -smp 1 -m 256; disk ${DISK_MB} MiB ext4, $nfiles files checked by sha256 in the guest;" \
         "median of $RUNS run(s) per cell, hard timeout ${VM_TIMEOUT}s per qemu run; total $(elapsed)s."
    echo "Profiles: lan = local nginx, no delay; s3 = 20 ms before each response's first byte, 100 MiB/s per connection."
    echo "wall = whole qemu run (s); check = guest clock from mount to verdict (s); req / MiB = origin requests and MiB sent per boot."
    echo
    hdr="| transport |" sep="|---|"
    for p in $PROFILES; do hdr+=" $p wall s | $p check s | $p req | $p MiB |"; sep+="---:|---:|---:|---:|"; done
    echo "$hdr"; echo "$sep"
    cell "-/local"
    row="| local copy |"
    for p in $PROFILES; do row+=" $C_WALL | $C_CHECK | 0 | 0 |"; done
    echo "$row"
    declare -A label=([shim]="remoteio shim" [curl]="qemu curl driver" [nbdkit]="nbdkit curl + readahead" [shim+ovl]="remoteio shim + qcow2 overlay"
                      [shim+trace]="remoteio shim, replayed trace" [shim+disk]="remoteio shim, warm disk cache")
    for m in $TRANSPORTS; do
        row="| ${label[$m]:-$m} |"
        for p in $PROFILES; do cell "$p/$m"; row+=" $C_WALL | $C_CHECK | $C_REQ | $C_MIB |"; done
        echo "$row"
    done
    echo
    echo "local copy: no origin; the same measurement is shown under every profile as the floor."
    echo "Transports: remoteio shim = \`-drive file=/remote/disk.img,format=raw,readonly=on\` with LD_PRELOAD=libremoteio.so;" \
         "qemu curl driver = \`file.driver=http\` (qemu-block-extra); nbdkit = \`nbdkit -r -U SOCK --filter=readahead curl url=...\`" \
         "(one fresh nbdkit per boot) and \`-drive file=nbd+unix:///?socket=SOCK,format=raw,readonly=on\`; all virtio, default cache/aio."
    echo "Medians are over the runs that passed; a cell whose runs all failed or timed out shows that, with the origin counts of those runs marked *."
    [[ " $TRANSPORTS " == *" shim+trace "* ]] &&
        echo "remoteio shim, replayed trace = the same with REMOTEIO_TRACE_DIR: a boot not measured records the trace; each measured boot is a new qemu on a cold cache replaying it."
    [[ " $TRANSPORTS " == *" shim+disk "* ]] &&
        echo "remoteio shim, warm disk cache = the same with REMOTEIO_CACHE_DIR: a boot not measured fills the disk cache; each measured boot is a new qemu (empty memory cache) reading from it."
    for p in $PROFILES; do
        [ -n "${REPLAYED[$p/shim+trace]:-}" ] || continue
        r=$(pick "${REPLAYED[$p/shim+trace]}" "${STAT[$p/shim+trace]}" | median)
        w=$(pick "${WASTED[$p/shim+trace]}" "${STAT[$p/shim+trace]}" | median)
        echo "- replayed trace ($p): the replay fetched $r MiB per boot, $w MiB of it never read by the boot" \
             "($(awk -v r="$r" -v w="$w" 'BEGIN { printf "%.3f", (r > 0 ? w / r : 0) }') of it)."
    done
    for m in $TRANSPORTS; do
        [ -n "${MISSING[$m]:-}" ] && echo "- ${label[$m]:-$m}: not run: ${MISSING[$m]}"
        for p in $PROFILES; do
            [ -n "${NOTE[$p/$m]:-}" ] && echo "- ${label[$m]:-$m} ($p): ${NOTE[$p/$m]}"
        done
    done
    true
} > "$T/table.md"
cat "$T/table.md"
cp "$T/table.md" "$OUT"
