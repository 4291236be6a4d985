#!/usr/bin/env bash
# tests/soak.sh: a long run against a misbehaving origin (make soak).
#
# For SOAK_SECONDS (default 300) verify.py reads a virtual file with 8 threads at
# random plus 2 sequential readers, comparing every byte with the original, while
# fio (psync, 8 threads, random reads) adds load on the same object from another
# process.  The origin faults SOAK_FAULT_RATE (default 0.1) of the range requests
# with every kind of fault, and the memory cache is much smaller than the object
# so data keeps being evicted and fetched again.
# Reports reads, faults injected, retries, wrong bytes (must be 0) and the
# longest single read.  Exit 0 only when no byte was wrong and no read failed.
#
# Then the test guest boots SOAK_VM_BOOTS times through the same fault rate, each time
# with another seed and a larger disk (tests/t-vm-faults.sh's "faults" scenario): no
# I/O error in the guest, every checksum right.
#
# Knobs: SOAK_SECONDS, SOAK_SIZE_MB (64), SOAK_FAULT_RATE (0.1), SOAK_SEED (1),
#        SOAK_FIO (1 when fio is installed; 0 to leave it out), SOAK_CACHE (16M
#        in bytes), SOAK_TIMEOUT (REMOTEIO_TIMEOUT, 2), SOAK_VM_BOOTS (3; 0 leaves
#        the boots out), SOAK_VM_DISK_MB (256).
. "$(dirname "$0")/lib.sh"
require python3 curl timeout

SECS=${SOAK_SECONDS:-300}
SIZE_MB=${SOAK_SIZE_MB:-64}
RATE=${SOAK_FAULT_RATE:-0.1}
SEED=${SOAK_SEED:-1}
FIO=${SOAK_FIO:-1}
command -v fio >/dev/null 2>&1 || FIO=0

ostat() { curl -s --max-time 5 "$OURL/__stats" | "$PY" -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
kv() { grep -o "\b$1=[0-9]*" "$2" 2>/dev/null | awk -F= '{s+=$2} END {printf "%.0f\n", s}'; }
val() { grep -o "\b$1=[^ ]*" "$2" 2>/dev/null | head -1 | cut -d= -f2-; }

mkdir -p "$T/root"
make_file "$T/root/obj" $((SIZE_MB << 20))
start_fault_origin "$T/root" 0 --seed "$SEED" --fault-rate "$RATE" \
    --faults 503,429,reset,short,stall,full200,wrongrange --stall-seconds 30 --retry-after 1

export REMOTEIO_MAP="/remote/=$OURL/"
export REMOTEIO_TIMEOUT=${SOAK_TIMEOUT:-2} REMOTEIO_RETRIES=8 \
       REMOTEIO_CACHE_SIZE=${SOAK_CACHE:-16777216} REMOTEIO_STATS=$T/stats \
       REMOTEIO_LOG=warn REMOTEIO_LOG_FILE=$T/shim.log
echo "soak: ${SECS}s, ${SIZE_MB} MiB object, fault rate $RATE, seed $SEED, fio=$FIO, origin $OURL"
limit=$((SECS + 120))

if [ "$FIO" = 1 ]; then
    timeout -k 10 $limit env LD_PRELOAD="$SHIM" fio --name=soak --filename=/remote/obj \
        --readonly --ioengine=psync --rw=randread --bsrange=4k-256k --numjobs=8 --thread \
        --size=$((SIZE_MB << 20)) --time_based --runtime="$SECS" --invalidate=0 \
        --group_reporting >"$T/fio.out" 2>&1 &
    FPID=$!
fi
start=$(date +%s)
timeout -k 10 $limit env LD_PRELOAD="$SHIM" "$PY" "$TOP/tests/verify.py" /remote/obj "$T/root/obj" \
    --threads 8 --sequential-passes 2 --duration "$SECS" --seed "$SEED" \
    --time-limit $((SECS + 100)) >"$T/verify.out" 2>"$T/verify.err"
vrc=$?
frc=0
[ "$FIO" = 1 ] && { wait $FPID; frc=$?; }
elapsed=$(( $(date +%s) - start ))

echo "soak: finished after ${elapsed}s"
echo "verify: $(grep 'result=' "$T/verify.out")"
grep 'longest read was' "$T/verify.out"
grep -v 'result=\|longest read was' "$T/verify.out" | head -10
grep -v '^verify: .*failed after' "$T/verify.err" | head -10
if [ "$FIO" = 1 ]; then
    echo "fio (rc=$frc): $(grep -E '^ *read: IOPS' "$T/fio.out" | head -1 | sed 's/^ *//')"
    grep -E 'err=|error' "$T/fio.out" | grep -v 'err= 0' | head -5
    [ $frc -eq 0 ] || tail -15 "$T/fio.out"
fi
echo "origin: requests=$(ostat 'd["requests"]') range_get=$(ostat 'd["range_get"]') faults=$(ostat 'd["faults_total"]') ($(ostat '" ".join("%s=%d" % kv for kv in sorted(d["faults"].items()))')) max_inflight=$(ostat 'd["max_inflight"]') max_connections=$(ostat 'd["max_connections"]') bytes_sent=$(ostat 'd["bytes_sent"]')"
echo "shim: requests=$(kv requests "$T/stats") retries=$(kv retries "$T/stats") errors=$(kv errors "$T/stats") bytes_fetched=$(kv bytes_fetched "$T/stats") bytes_served=$(kv bytes_served "$T/stats") cache_hits=$(kv cache_hits "$T/stats") cache_misses=$(kv cache_misses "$T/stats") readahead_used=$(kv readahead_used "$T/stats") readahead_wasted=$(kv readahead_wasted "$T/stats")"
sed "s/^/  /" "$T/stats" 2>/dev/null
[ -s "$T/stats" ] || echo "shim: no REMOTEIO_STATS output"
echo "shim log: $(grep -c . "$T/shim.log" 2>/dev/null || echo 0) lines; most frequent:"
sed 's/[0-9][0-9]*/N/g' "$T/shim.log" 2>/dev/null | sort | uniq -c | sort -rn | head -5

vrc_vm=0
for ((i = 1; i <= ${SOAK_VM_BOOTS:-3}; i++)); do
    VM_FAULT_RATE=$RATE VM_FAULT_SEED=$((SEED + i)) VM_DISK_MB=${SOAK_VM_DISK_MB:-256} \
        VM_DISK_FILES=120 T_ONLY=faults bash "$TOP/tests/t-vm-faults.sh" >"$T/vm.$i.out" 2>&1
    rc=$?
    echo "vm boot $i (seed $((SEED + i))): rc=$rc: $(grep -a '^ok\|^FAIL\|origin:' "$T/vm.$i.out" | head -4 | tr '\n' ' ')"
    case $rc in 0) ;; 77) grep -a '^SKIP' "$T/vm.$i.out";; *) vrc_vm=1; grep -a '^FAIL' "$T/vm.$i.out";; esac
done

wrong=$(val wrong_bytes "$T/verify.out")
if [ $vrc -eq 0 ] && [ "${wrong:-x}" = 0 ] && [ $frc -eq 0 ] && [ $vrc_vm -eq 0 ]; then
    echo "soak: PASS"
else
    echo "soak: FAIL (verify rc=$vrc, wrong bytes ${wrong:-?}, fio rc=$frc, vm boots rc=$vrc_vm)"
    exit 1
fi
