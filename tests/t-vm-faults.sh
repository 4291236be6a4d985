#!/usr/bin/env bash
# tests/t-vm-faults.sh: t-vm-boot's guest booted from the fault-injecting origin.
#
#   faults       10% of the requests (range GETs and HEADs) fail in every way the origin
#                knows (503, 429, reset, short, stall, full200, wrongrange): the guest
#                sees no I/O error (its kernel log has no block or ext4 error) and every
#                checksum passes; the origin did inject faults and the shim retried them.
#   origin-killed  the origin is killed while the guest reads its disk: with
#                REMOTEIO_DEADLINE=5 and two retries the guest sees an I/O error within
#                the deadline (+ 5 s), and qemu exits (the guest powers off
#                after its failed check) instead of hanging.
#   origin-frozen  the same with the origin stopped (SIGSTOP: it accepts connections
#                and never answers): the guest's first I/O error comes within the
#                deadline (+ 5 s).
# VM_FAULT_RATE, VM_FAULT_SEED change the first; tests/soak.sh boots it longer (SOAK_VM_BOOTS).
# One scenario alone: T_ONLY=faults, T_ONLY=origin-killed, T_ONLY=origin-frozen.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/vm/guest.sh"
require python3 curl timeout
vm_deps
require qemu-system-x86_64 mke2fs gzip
require_shim
skip_if_qemu_hangs

vm_prepare_or_skip "$T/vm"
mkdir -p "$T/origin"
vm_make_disk "$T/origin/disk.img" ${VM_DISK_MB:-64} ${VM_DISK_FILES:-40}
cp "$T/origin/disk.img" "$T/disk.ref"
DRIVE="file=/remote/disk.img,format=raw,if=virtio,readonly=on"
ERRORS='I/O error|blk_update_request|EXT4-fs error|Buffer I/O'
unset REMOTEIO_CONFIG REMOTEIO_LOG_FILE
export REMOTEIO_LOG=warn

ostat() { curl -s --max-time 5 "$OURL/__stats" | "$PY" -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
kv() { grep -o "\b$1=[0-9]*" "$2" 2>/dev/null | awk -F= '{ s += $2 } END { printf "%.0f\n", s }'; }
console_errors() { grep -a -E "$ERRORS" "$1" | head -3 | tr -d '\r' | tr '\n' ' '; }
secs_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

vm_faults() {
    local rate=${VM_FAULT_RATE:-0.1} log=$T/faults.serial
    # seed 261 puts every kind of fault among the first 38 range GETs (a boot makes 90-130)
    start_fault_origin "$T/origin" 0 --seed "${VM_FAULT_SEED:-261}" --fault-rate "$rate" \
        --faults 503,429,reset,short,stall,full200,wrongrange --fault-head \
        --stall-seconds 30 --retry-after 1
    VM_PREFIX=(env LD_PRELOAD="$SHIM" REMOTEIO_MAP="/remote/=$OURL/" REMOTEIO_TIMEOUT=2
               REMOTEIO_RETRIES=8 REMOTEIO_STATS="$T/stats.faults")
    if vm_boot "$log" -drive "$DRIVE"; then
        ok "boot through a $rate fault rate: $VM_VERDICT (${VM_SECS}s)"
    else
        fail "boot through a $rate fault rate" "verdict: $VM_VERDICT; console: $(grep -a 'remoteio-guest\|Kernel panic' "$log" | tail -3 | tr '\r\n' '  ') qemu: $(tail -c 400 "$log.stderr")"
    fi
    local errs; errs=$(console_errors "$log")
    if [ -z "$errs" ] && grep -aq 'remoteio-guest: VERDICT' "$log"; then
        ok "the guest's kernel log has no I/O error"
    else
        fail "the guest's kernel log has no I/O error" "${errs:-no verdict on the console}"
    fi
    local faults range retries
    faults=$(ostat 'd["faults_total"]') range=$(ostat 'd["range_get"]') retries=$(kv retries "$T/stats.faults")
    echo "#   origin: $range range GETs, $faults faults ($(ostat '" ".join("%s=%d" % kv for kv in sorted(d["faults"].items()))')); shim: $(kv requests "$T/stats.faults") requests, $retries retries"
    if [ "${faults:-0}" -gt 0 ] && [ "${retries:-0}" -gt 0 ] && [ "${range:-0}" -ge 10 ]; then
        ok "the faults happened and were retried ($faults faults in $range range GETs, $retries retries)"
    else
        fail "the faults happened and were retried" "faults=${faults:-?} range_get=${range:-?} retries=${retries:-?} (stats: $(head -c 300 "$T/stats.faults" 2>/dev/null))"
    fi
    local kinds; kinds=$(ostat 'sum(1 for v in d["faults"].values() if v > 0)')
    if [ -n "${VM_FAULT_SEED:-}" ]; then
        echo "#   $kinds kinds of fault of 7 injected (seed $VM_FAULT_SEED)"
    elif [ "${kinds:-0}" -eq 7 ]; then
        ok "every kind of fault was injected"
    else
        fail "every kind of fault was injected" "${kinds:-?} of 7"
    fi
    kill -9 "$OPID" 2>/dev/null; wait "$OPID" 2>/dev/null
}

# vm_origin_lost kill|freeze: the origin is killed (-9: connections reset, then refused)
# or frozen (SIGSTOP: connections accepted, never answered) while the guest reads its disk
vm_origin_lost() {
    local how=$1 log=$T/$1.serial deadline=5 i t_lost t_err= t_end mark what
    start_fault_origin "$T/origin" 0
    # A small cache and readahead: what the guest reads afterwards is not held yet.
    VM_PREFIX=(env LD_PRELOAD="$SHIM" REMOTEIO_MAP="/remote/=$OURL/" REMOTEIO_TIMEOUT=2
               REMOTEIO_RETRIES=2 REMOTEIO_DEADLINE=$deadline REMOTEIO_CACHE_SIZE=4M
               REMOTEIO_READAHEAD=256K)
    vm_start "$log" -drive "$DRIVE"
    at_exit "kill $VM_PID"
    # Until the guest mounts its disk and the origin has answered a few reads of it.
    for i in $(seq 1 1200); do
        grep -aq 'remoteio-guest: mounting' "$log" && break
        kill -0 "$VM_PID" 2>/dev/null || break
        sleep 0.1
    done
    mark=$(ostat 'd["range_get"]')
    for i in $(seq 1 100); do
        [ "$(ostat 'd["range_get"]')" -ge $((mark + 3)) ] && break
        sleep 0.1
    done
    if ! kill -0 "$VM_PID" 2>/dev/null || grep -aq 'remoteio-guest: VERDICT' "$log"; then
        fail "origin lost ($how) mid-boot" "the boot ended first: $(grep -a 'remoteio-guest' "$log" | tail -2 | tr '\r\n' '  ')"
        return
    fi
    case $how in
        kill) what=killed; kill -9 "$OPID"; wait "$OPID" 2>/dev/null;;
        freeze) what=frozen; kill -STOP "$OPID";;
    esac
    t_lost=$(date +%s.%N)
    echo "#   origin $what while the guest reads its disk (after $((mark + 3)) range GETs or more)"
    # Killed, every read fails at once and the guest's check ends: qemu must exit.
    # Frozen, every read takes the deadline: the first error is what is timed.
    for i in $(seq 1 600); do
        if [ -z "$t_err" ] && grep -aqE "$ERRORS|remoteio-guest: VERDICT FAIL" "$log"; then
            t_err=$(secs_since "$t_lost")
            [ "$how" = freeze ] && break
        fi
        kill -0 "$VM_PID" 2>/dev/null || break
        sleep 0.1
    done
    t_end=$(secs_since "$t_lost")
    if [ -n "$t_err" ] && awk -v t="$t_err" -v d="$deadline" 'BEGIN { exit !(t <= d + 5) }'; then
        ok "origin $what: the guest saw an I/O error ${t_err}s later (deadline ${deadline}s + 5 s)"
    else
        fail "origin $what: the guest sees an I/O error within the deadline" "${t_err:-no error in ${t_end}}s; console: $(grep -a 'remoteio-guest' "$log" | tail -3 | tr '\r\n' '  ')"
    fi
    if [ "$how" = kill ]; then
        if ! kill -0 "$VM_PID" 2>/dev/null; then
            wait "$VM_PID"; local rc=$?
            ok "origin killed: qemu exited ${t_end}s after the kill (exit $rc, verdict: $(grep -a 'VERDICT' "$log" | tail -1 | sed 's/.*VERDICT //' | tr -d '\r'))"
        else
            fail "origin killed: qemu exits" "still running ${t_end}s after the kill"
        fi
    fi
    kill "$VM_PID" 2>/dev/null; wait "$VM_PID" 2>/dev/null
    echo "#   console: $(console_errors "$log")"
    grep -q '^remoteio:' "$log.stderr" && ok "origin $what: the shim said why ($(grep '^remoteio:' "$log.stderr" | head -1 | cut -c1-160))" ||
        fail "origin $what: the shim said why" "qemu's stderr: $(tail -c 300 "$log.stderr")"
    kill -CONT "$OPID" 2>/dev/null; kill -9 "$OPID" 2>/dev/null; wait "$OPID" 2>/dev/null
}

scenario faults vm_faults
scenario origin-killed vm_origin_lost kill
scenario origin-frozen vm_origin_lost freeze
cmp -s "$T/origin/disk.img" "$T/disk.ref" && ok "remote disk unchanged" || fail "remote disk unchanged" "origin file modified"
finish
