#!/usr/bin/env bash
# tests/bench/s3-signed.sh: the cost of SigV4 signing on the s3 profile (run.sh's
# "s3sign" workload; also runs on its own).
#
# One object in a real S3 server (radosgw, tests/s3/server.sh, which verifies every
# signature), public-read so that it can also be read unsigned, behind nginx with the
# s3 profile's throttle (BENCH_S3_DELAY seconds before each response's first byte,
# BENCH_S3_RATE MiB/s per connection; run.sh passes its own).  The same reads through the
# shim with signing on (s3://, credentials from the environment) and off (sign=0),
# back to back in BENCH_REPEAT rounds (the order alternating), medians reported:
#   seq    dd bs=1M of the whole object (BENCH_SIZE)
#   rand   fio randread, psync, 8 threads, run.sh's block size mix, BENCH_RUNTIME s
# Target: each signed row within 5% of the unsigned row of the same run (the median of
# the rounds' signed/unsigned ratios).
# Output: one line per table row, "row|COL|COL|...", and per target
# "target|NAME|MEASURED|1 or 0"; run.sh turns them into its table.  Exit 77 when radosgw
# or nginx's echo module is missing.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib.sh"
. "$HERE/../s3/server.sh"
require fio dd curl
QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then SIZE_S=${BENCH_SIZE:-256M}; RUNTIME=${BENCH_RUNTIME:-3}; REPEAT=${BENCH_REPEAT:-1}
else SIZE_S=${BENCH_SIZE:-1G}; RUNTIME=${BENCH_RUNTIME:-10}; REPEAT=${BENCH_REPEAT:-3}; fi
SIZE=$(numfmt --from=iec "$SIZE_S")
DELAY=${BENCH_S3_DELAY:-0.02} RATE=${BENCH_S3_RATE:-100}
LIB=${REMOTEIO_PRELOAD:-$TOP/${REMOTEIO_TEST_BUILD:-build}/libremoteio.so}
MIB=1048576
[ -f /usr/lib/nginx/modules/ngx_http_echo_module.so ] || skip "the nginx echo module is missing"
[ -f "${LIB##* }" ] || skip "$LIB is not built"
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
now() { date +%s.%N; }
log() { echo "s3-signed: $*" >&2; }
unset REMOTEIO_MAP REMOTEIO_CONFIG AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 AWS_SESSION_TOKEN

log "radosgw with a ${SIZE_S} object"
start_s3 $((SIZE + (256 << 20))) >&2
B=riobench
head -c "$SIZE" /dev/urandom > "$T/obj"
s3_make_bucket $B && s3_put $B obj "$T/obj" || { echo "s3-signed: upload failed" >&2; exit 1; }
s3_curl -o /dev/null -X PUT -H "Content-Length: 0" -H "x-amz-acl: public-read" "$S3_ENDPOINT/$B/obj?acl="
rm -f "$T/obj"
# nginx in front, with run.sh's s3 profile: the delay, then the rate limit, then radosgw
# (the signed Host passes unchanged)
start_nginx "$T" "location / { echo_sleep $DELAY; echo_exec @s3; }
    location @s3 { limit_rate ${RATE}m; proxy_pass http://127.0.0.1:$S3_PORT;
        proxy_set_header Host \$http_host; proxy_http_version 1.1; proxy_set_header Connection \"\";
        proxy_buffering off; }"
st=$(curl -s -o /dev/null -w '%{http_code}' -r 0-9 "$ORIGIN/$B/obj")
[ "$st" = 206 ] || { echo "s3-signed: the unsigned GET through nginx got $st" >&2; exit 1; }
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
MAP="/signed/=s3://$B/ endpoint=$ORIGIN;/unsigned/=s3://$B/ endpoint=$ORIGIN sign=0"

# run SIDE STATS CMD...: CMD under the shim
run() {
    local stats=$1; shift
    : > "$stats"
    REMOTEIO_MAP=$MAP REMOTEIO_STATS=$stats LD_PRELOAD="$LIB" timeout -k 5 300 "$@"
}
reqs() { awk '/remoteio: stats/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "requests") n += kv[2]; if (kv[1] == "errors") e += kv[2] } } END { printf "%d req, %d errors", n, e }' "$1"; }
fio_iops() {
    /usr/bin/python3 - "$1" <<'PY'
import json, sys
try:
    t = open(sys.argv[1]).read(); print("%.0f" % json.loads(t[t.index("{"):])["jobs"][0]["read"]["iops"])
except Exception:
    print(0)
PY
}
# (the radosgw log says which requests were signed: the check that sign=0 sent none)
# Each round runs both sides back to back, in turn signed first and unsigned first; the
# ratio of each round's pair is what the target looks at (its median), so that a slow
# spell of the shared machine weighs on both sides of a pair.
declare -A SEQ RAND STATS
PAIRS_seq="" PAIRS_rand=""
order() { (( $1 % 2 == 0 )) && echo "signed unsigned" || echo "unsigned signed"; }
for ((i = 0; i < REPEAT; i++)); do
    declare -A one=()
    for side in $(order $i); do
        t0=$(now)
        if run "$T/st.seq.$side" dd if=/$side/obj of=/dev/null bs=1M 2>"$T/dd.err"; then
            t1=$(now); one[$side]=$(calc "$SIZE / ($t1 - $t0) / $MIB" 0)
        else
            log "dd $side failed: $(tail -1 "$T/dd.err")"; one[$side]=0
        fi
        SEQ[$side]+="${one[$side]} "
        STATS[seq.$side]=$(reqs "$T/st.seq.$side")
    done
    PAIRS_seq+="$(calc "${one[signed]} / (${one[unsigned]} > 0 ? ${one[unsigned]} : 1)" 3) "
done
for ((i = 0; i < REPEAT; i++)); do
    declare -A one=()
    for side in $(order $i); do
        run "$T/st.rand.$side" fio --name=r --filename=/$side/obj --ioengine=psync --thread --numjobs=8 \
            --rw=randread --bssplit=4k/34:64k/33:128k/33 --size="$SIZE" --time_based --runtime="$RUNTIME" \
            --group_reporting --norandommap --randrepeat=0 --invalidate=0 --output-format=json > "$T/fio.out" 2>&1 ||
            log "fio $side failed: $(tail -2 "$T/fio.out" | tr '\n' ' ')"
        one[$side]=$(fio_iops "$T/fio.out")
        RAND[$side]+="${one[$side]} "
    done
    PAIRS_rand+="$(calc "${one[signed]} / (${one[unsigned]} > 0 ? ${one[unsigned]} : 1)" 3) "
done
n_anon=$(s3_request_log | grep -c "^[A-Z]* /$B/obj .* anonymous$")
n_signed=$(s3_request_log | grep -c "^\(GET\|HEAD\) /$B/obj .* rio$")
for w in seq rand; do
    if [ $w = seq ]; then declare -n V=SEQ; unit="MB/s"; label="seq ${SIZE_S} dd bs=1M"; pairs=$PAIRS_seq
    else declare -n V=RAND; unit=IOPS; label="rand 8 threads"; pairs=$PAIRS_rand; fi
    s=$(median ${V[signed]}) u=$(median ${V[unsigned]})
    ratio=$(median $pairs)
    echo "row|$label, signed vs sign=0 (radosgw behind the s3 throttle)|s3|signed $s $unit (runs: $(echo ${V[signed]} | sed 's/ /, /g'))|sign=0 $u $unit (runs: $(echo ${V[unsigned]} | sed 's/ /, /g'))|$ratio x sign=0 (median of the rounds' ratios: $(echo $pairs | sed 's/ /, /g'))|||${STATS[$w.signed]:-} / ${STATS[$w.unsigned]:-}"
    echo "target|$w s3: signed within 5% of sign=0 (same run, radosgw; median of $REPEAT rounds' ratios)|$ratio x (medians $s vs $u $unit)|$(awk "BEGIN { print ($ratio >= 0.95) ? 1 : 0 }")"
    unset -n V
done
echo "row|radosgw request log|s3|$n_signed signed GET/HEAD|$n_anon unsigned||||"
