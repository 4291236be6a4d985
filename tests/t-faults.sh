#!/usr/bin/env bash
# tests/t-faults.sh: reads stay correct while the origin misbehaves.
#
# A quarter of the range requests get a fault (503, 429, reset, short body,
# stall, 200 with the whole object, 206 for the wrong range).  With a short
# REMOTEIO_TIMEOUT and enough retries every read must succeed with the right
# bytes; the origin's counters must show it really injected faults of several
# kinds, and the shim's stats must show it retried.  A second run faults the
# HEAD/probe requests made at open time; a third stalls the first probe.
. "$(dirname "$0")/lib.sh"
require python3 curl timeout
ALL_KINDS=503,429,reset,short,stall,full200,wrongrange

ostat() { curl -s --max-time 5 "$OURL/__stats" | "$PY" -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
# kv KEY FILE: sum of KEY=N over the lines of FILE
kv() { grep -o "\b$1=[0-9]*" "$2" 2>/dev/null | awk -F= '{s+=$2} END {printf "%.0f\n", s}'; }

mkdir -p "$T/root"
make_file "$T/root/obj" $((16 << 20))
head -c $((1 << 20)) "$T/root/obj" >"$T/root/small"

# -- 1: faulty range requests -------------------------------------------------
start_fault_origin "$T/root" 0 --seed 42 --fault-rate 0.25 --faults $ALL_KINDS \
    --stall-seconds 30 --retry-after 1 --log "$T/origin.log"
export REMOTEIO_MAP="/remote/=$OURL/"
export REMOTEIO_TIMEOUT=2 REMOTEIO_RETRIES=8 REMOTEIO_CHUNK_SIZE=32768 \
       REMOTEIO_READAHEAD=131072 REMOTEIO_STATS=$T/stats \
       REMOTEIO_LOG=warn REMOTEIO_LOG_FILE=$T/shim.log
start=$(date +%s)
timeout -k 5 150 env LD_PRELOAD="$SHIM" "$PY" "$TOP/tests/verify.py" /remote/obj "$T/root/obj" \
    --threads 8 --reads 1000 --sequential-passes 2 --seed 5 \
    --max-read-seconds 30 --time-limit 140 >"$T/verify.out" 2>&1
rc=$?
echo "  verify (rc=$rc, $(( $(date +%s) - start ))s): $(grep 'result=' "$T/verify.out")"
if [ $rc -eq 0 ]; then
    ok "every read succeeded with the right bytes under 25% faults"
else
    fail "every read succeeded with the right bytes under 25% faults" "rc=$rc"
    grep -v '^verify: reads_ok' "$T/verify.out" | head -20 | sed 's/^/  | /'
fi
grep -q 'wrong_bytes=0 ' "$T/verify.out" && ok "no wrong bytes" || fail "no wrong bytes" "$(grep -o 'wrong_bytes=[0-9]*' "$T/verify.out")"

faults=$(ostat 'd["faults_total"]')
kinds=$(ostat 'sum(1 for v in d["faults"].values() if v)')
echo "  origin: range_get=$(ostat 'd["range_get"]') faults=$faults $(ostat '" ".join("%s=%d" % kv for kv in sorted(d["faults"].items()))') 412=$(ostat 'd["status"].get("412",0)')"
[ "${faults:-0}" -ge 20 ] && ok "origin injected $faults faults" || fail "origin injected enough faults" "only ${faults:-?}"
[ "${kinds:-0}" -ge 5 ] && ok "faults of $kinds kinds injected" || fail "faults of several kinds" "only ${kinds:-?} kinds"
noval=$(ostat 'd["range_get_without_validator"]')
[ "${noval:-1}" -eq 0 ] && ok "every range request carried If-Match/If-Unmodified-Since" ||
    fail "every range request carried a validator" "$noval without"

retries=$(kv retries "$T/stats")
echo "  shim stats: $(head -c 600 "$T/stats" 2>/dev/null)"
[ -s "$T/stats" ] && [ "$retries" -gt 0 ] && ok "shim retried ($retries retries)" ||
    fail "shim stats show retries" "stats: $(cat "$T/stats" 2>/dev/null | head -2)"
errors=$(kv errors "$T/stats")
[ -s "$T/stats" ] && [ "$errors" -eq 0 ] && ok "shim reported no failed reads (errors=0; $faults faults, $retries retries)" ||
    fail "shim reported no failed reads" "errors=$errors"
longest=$(grep -o 'longest_read=[0-9.]*' "$T/verify.out" | cut -d= -f2)
awk -v l="${longest:-999}" 'BEGIN {exit !(l < 30)}' && ok "longest read ${longest}s < 30s" ||
    fail "longest read bounded" "${longest:-?}s"
kill -9 $OPID 2>/dev/null; wait $OPID 2>/dev/null

# -- 1b: the same faults through libcurl's own transfers (REMOTEIO_DIRECT=0) -----
start_fault_origin "$T/root" 0 --seed 43 --fault-rate 0.25 --faults $ALL_KINDS \
    --stall-seconds 30 --retry-after 1 --log "$T/origin-b.log"
export REMOTEIO_MAP="/remote/=$OURL/"
REMOTEIO_DIRECT=0 REMOTEIO_STATS=$T/stats-b timeout -k 5 150 env LD_PRELOAD="$SHIM" \
    "$PY" "$TOP/tests/verify.py" /remote/obj "$T/root/obj" --threads 8 --reads 500 \
    --sequential-passes 1 --seed 6 --max-read-seconds 30 --time-limit 140 >"$T/verify-b.out" 2>&1
rc=$?
faults=$(ostat 'd["faults_total"]')
echo "  REMOTEIO_DIRECT=0 verify (rc=$rc): $(grep 'result=' "$T/verify-b.out"); faults=$faults"
[ $rc -eq 0 ] && grep -q 'wrong_bytes=0 ' "$T/verify-b.out" && [ "${faults:-0}" -ge 10 ] &&
    ok "REMOTEIO_DIRECT=0: every read right under $faults faults" ||
    fail "REMOTEIO_DIRECT=0: every read right under faults" "rc=$rc faults=${faults:-?}"
kill -9 $OPID 2>/dev/null; wait $OPID 2>/dev/null

# -- 2: faulty HEAD/probe requests at open time ------------------------------
start_fault_origin "$T/root" 0 --seed 9 --fault-rate 0.5 --faults 503,reset,short --fault-head
export REMOTEIO_MAP="/remote/=$OURL/"
unset REMOTEIO_STATS
bad=0
for i in 1 2 3 4; do
    if ! timeout -k 5 60 env LD_PRELOAD="$SHIM" cat /remote/small >"$T/copy" 2>"$T/cat.err" ||
       ! cmp -s "$T/copy" "$T/root/small"; then
        bad=$((bad+1)); echo "  cat #$i: $(head -2 "$T/cat.err")"
    fi
done
heads=$(ostat 'd["head"]'); hf=$(ostat 'd["faults_total"]')
echo "  origin: head=$heads get=$(ostat 'd["get"]') faults=$hf"
[ $bad -eq 0 ] && ok "open+read correct with faulty probes ($hf faults)" ||
    fail "open+read with faulty probes" "$bad of 4 copies failed"

# -- 3: a probe that stalls at open time --------------------------------------
# Seed 0 stalls the first HEAD and none of the next ones: the open must give up
# on it after REMOTEIO_TIMEOUT and retry, not wait for the whole deadline.
kill -9 $OPID 2>/dev/null; wait $OPID 2>/dev/null
start_fault_origin "$T/root" 0 --seed 0 --fault-rate 0.5 --faults stall --fault-head --no-fault-range \
    --stall-seconds 30
export REMOTEIO_MAP="/remote/=$OURL/"
s=$(date +%s.%N)
REMOTEIO_TIMEOUT=1 REMOTEIO_DEADLINE=15 timeout -k 5 60 env LD_PRELOAD="$SHIM" \
    cat /remote/small >"$T/copy" 2>"$T/cat.err"
rc=$?
el=$(echo "$(date +%s.%N) $s" | awk '{printf "%.1f", $1 - $2}')
echo "  origin: head=$(ostat 'd["head"]') stalls=$(ostat 'd["faults"]["stall"]')"
if [ $rc -eq 0 ] && cmp -s "$T/copy" "$T/root/small" && awk -v t="$el" 'BEGIN {exit !(t < 8)}'; then
    ok "stalled probe abandoned after REMOTEIO_TIMEOUT and retried (${el}s)"
else
    fail "stalled probe abandoned after REMOTEIO_TIMEOUT=1 and retried" \
        "rc=$rc after ${el}s (deadline 15s): $(head -2 "$T/cat.err" | tr '\n' ' ')$(tail -1 "$T/shim.log")"
fi

finish
