#!/usr/bin/env bash
# tests/bench/run.sh: remoteio's benchmark (`make bench`; not part of the suite).
#
# Serves files from a local nginx in three origin profiles and runs each
# workload through the preload library and through the usual alternatives in
# the same run, so that the ratios hold even on a busy machine:
#   lan   no delay, no rate limit
#   s3    20 ms before each response's first byte, 100 MiB/s per connection
#   slow  100 ms before the first byte, 20 MiB/s per connection
# Workloads:
#   seq      dd bs=1M / bs=2M of a BENCH_SIZE file vs one curl and aria2c -x8 -s8 (on
#            slow, one curl reads a quarter of it)
#   rand     fio randread 4k/64k/128k, psync, 1/8/32 threads and 8 processes on a
#            64 GiB sparse file, vs fio's nbd engine on nbdkit-curl(+readahead)
#            and on qemu-nbd over qemu's curl driver
#   mixed    8 random-read threads and one sequential stream in one fio process vs the
#            same random run alone and aria2c -x8 (the stream yields to random reads)
#   streams  4 fio threads each reading a quarter sequentially vs one stream
#   convert  qemu-img convert qcow2 -> raw vs qemu's curl driver and vs
#            download-then-convert
#   rss      peak RSS of dd reading a file 4x REMOTEIO_CACHE_SIZE
#   local    pread / open loops on a tmpfs file with and without the preload
#   s3sign   (s3 profile) seq and 8-thread random reads of an object in radosgw behind
#            the s3 profile's throttle, SigV4-signed vs sign=0, same run
#            (tests/bench/s3-signed.sh; skipped without radosgw)
# Every row reports the origin's request count and bytes sent (from the
# access log) and the library's own REMOTEIO_STATS.  The markdown table goes
# to stdout and to tests/bench/results.md (BENCH_OUT to change it).
#
# Environment:
#   BENCH_QUICK=1        a ~3 minute smoke run (small sizes, short fio runs)
#   BENCH_SIZE=BYTES     size of the sequential file (default 1G; quick 256M)
#   BENCH_RUNTIME=SECS   fio runtime per random row (default 10; quick 3)
#   BENCH_PROFILES=...   subset of "lan s3 slow"
#   BENCH_WORKLOADS=...  subset of "seq rand mixed streams convert rss local s3sign", and
#                        "disk" (tests/bench/disk-cache.sh; not in the default list)
#   BENCH_REPEAT=N       seq and streams rows: runs of each side, median reported
#                        (default 3; quick 1).  Origin columns and stats: last run
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib.sh"
cd "$TOP"
chmod 755 "$T"

BUILD=${REMOTEIO_TEST_BUILD:-build}
LIB=${REMOTEIO_PRELOAD:-$TOP/$BUILD/libremoteio.so}
QUICK=${BENCH_QUICK:-0}
STREAM_REQUESTS=${REMOTEIO_STREAM_REQUESTS:-8}   # requests one stream keeps in flight
PROFILES=${BENCH_PROFILES:-lan s3 slow}
WORKLOADS=${BENCH_WORKLOADS:-seq rand mixed streams convert rss local s3sign}
OUT=${BENCH_OUT:-$HERE/results.md}
if [ "$QUICK" = 1 ]; then
    SEQ_SIZE_S=${BENCH_SIZE:-256M}; RUNTIME=${BENCH_RUNTIME:-3}; CONV_SIZE=256M
    RAND_SETS="1t 8t 32t"; NBD_SETS="8"; CONV_TIMEOUT=30; REPEAT=${BENCH_REPEAT:-1}
else
    SEQ_SIZE_S=${BENCH_SIZE:-1G}; RUNTIME=${BENCH_RUNTIME:-10}; CONV_SIZE=1G
    RAND_SETS="1t 8t 32t 8p"; NBD_SETS="1 8 32"; CONV_TIMEOUT=45; REPEAT=${BENCH_REPEAT:-3}
fi

tobytes() { numfmt --from=iec "$1"; }
SEQ_SIZE=$(tobytes "$SEQ_SIZE_S")
SLOW_SIZE=$((SEQ_SIZE / 4))     # one curl at 20 MiB/s must stay short
MIB=1048576
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
now() { date +%s.%N; }
log() { echo "bench: $*" >&2; }

require curl fio aria2c qemu-img qemu-io python3
HAVE_SHIM=0; [ -f "${LIB##* }" ] && HAVE_SHIM=1
[ $HAVE_SHIM = 1 ] || log "WARNING: $LIB is missing: only the baselines run"
HAVE_NBDKIT=0; nbdkit curl --dump-plugin >/dev/null 2>&1 && HAVE_NBDKIT=1
HAVE_QNBD=0; command -v qemu-nbd >/dev/null && HAVE_QNBD=1
HAVE_ECHO=0; [ -f /usr/lib/nginx/modules/ngx_http_echo_module.so ] && HAVE_ECHO=1
[ $HAVE_ECHO = 1 ] || { log "the nginx echo module is missing: only the lan profile runs"; PROFILES=lan; }

# ---------------------------------------------------------------- the origin
WWW=$T/www; mkdir -p "$WWW"
SHM=$(mktemp -d /dev/shm/remoteio-bench.XXXXXX); at_exit "rm -rf $SHM"

declare -A PORT ALOG DELAY RATE
DELAY[lan]=0;    RATE[lan]=0
DELAY[s3]=0.02;  RATE[s3]=100
DELAY[slow]=0.1; RATE[slow]=20

start_origin() {
    local ngx dir conf p servers="" modules=""
    ngx=$(nginx_bin) || { echo "SKIP: nginx is not installed"; exit 77; }
    dir=$T/nginx; mkdir -p "$dir/tmp"
    [ $HAVE_ECHO = 1 ] && modules="load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;"
    for p in $PROFILES; do
        PORT[$p]=$(free_port); ALOG[$p]=$dir/access-$p.log
        if [ "$p" = lan ]; then
            loc="location / { }"
        else
            loc="location / { echo_sleep ${DELAY[$p]}; echo_exec @file; }
        location @file { limit_rate ${RATE[$p]}m; }"
        fi
        servers+="
    server {
        listen 127.0.0.1:${PORT[$p]};
        root $WWW;
        access_log ${ALOG[$p]} rio;
        $loc
    }"
    done
    conf=$dir/nginx.conf
    cat > "$conf" <<NGX
$modules
user root;
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    log_format rio '\$status \$body_bytes_sent "\$http_range" "\$request" \$request_time';
    client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp;
    fastcgi_temp_path $dir/tmp; uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
    sendfile on;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    types { } default_type application/octet-stream;
    $servers
}
NGX
    "$ngx" -c "$conf" -p "$dir" >"$dir/stderr" 2>&1 &
    local pid=$! i
    at_exit "kill $pid"
    for p in $PROFILES; do
        for i in $(seq 1 50); do
            curl -s -o /dev/null "http://127.0.0.1:${PORT[$p]}/" && break
            kill -0 $pid 2>/dev/null || { cat "$dir/stderr" "$dir/error.log"; exit 1; }
            sleep 0.1
        done
    done
}
url() { echo "http://127.0.0.1:${PORT[$1]}/$2"; }

# Per-row origin accounting: lines of the profile's access log since mark.
declare -A MARK
mark() { sleep 0.3; MARK[$1]=$(wc -l < "${ALOG[$1]}"); }
# origin PROFILE: sets O_REQ O_BYTES O_AVG (MiB per request)
origin() {
    sleep 0.5   # requests cut short at exit are logged when nginx notices
    read -r O_REQ O_BYTES < <(tail -n +$((MARK[$1] + 1)) "${ALOG[$1]}" |
        awk '{ n++; b += $2 } END { printf "%d %.0f\n", n, b }')
    O_AVG=$(calc "$O_BYTES / ($O_REQ > 0 ? $O_REQ : 1) / $MIB" 2)
}

# shim_run PROFILE STATSFILE CMD...: run CMD with the library preloaded
shim_run() {
    local p=$1 stats=$2; shift 2
    : > "$stats"
    REMOTEIO_MAP="/remote/=$(url "$p" "")" REMOTEIO_STATS="$stats" LD_PRELOAD="$LIB" \
        timeout -k 5 ${BENCH_CMD_TIMEOUT:-300} "$@"
}
# stats_sum FILE: the library's per-object lines summed over processes
stats_sum() {
    awk '/remoteio: stats/ {
            for (i = 1; i <= NF; i++) { split($i, kv, "=");
                if (kv[1] == "peak_inflight") { if (kv[2] > pk) pk = kv[2] }
                else if (kv[2] ~ /^[0-9]+$/) s[kv[1]] += kv[2] }
            n++ }
         END { if (!n) { print "no stats"; exit }
               if (!s["requests"] && !s["bytes_served"]) { print "no stats (processes that end with _exit(), as fio jobs do, write none)"; exit }
               printf "req=%d fetched=%.1fM served=%.1fM hit=%d miss=%d ra_used=%.1fM ra_wasted=%.1fM peak=%d retries=%d errors=%d",
                 s["requests"], s["bytes_fetched"]/1048576, s["bytes_served"]/1048576, s["cache_hits"],
                 s["cache_misses"], s["readahead_used"]/1048576, s["readahead_wasted"]/1048576, pk,
                 s["retries"], s["errors"] }' "$1"
}

# stats_peak FILE: the most requests one stream kept in flight (stream_requests_peak)
stats_peak() {
    awk '/remoteio: stats/ { for (i = 1; i <= NF; i++) { split($i, kv, "=");
             if (kv[1] == "stream_requests_peak" && kv[2] > pk) pk = kv[2] } }
         END { print pk + 0 }' "$1"
}

declare -A ARIA=() SEQ1M=() # per profile: aria2c -x8 and dd bs=1M MB/s of the seq rows
ROWS=()     # markdown table rows
TARGETS=()  # markdown target rows
DETAILS=()  # raw stats lines
row() { ROWS+=("| $(IFS='|'; echo "$*" | sed 's/|/ | /g') |"); }
target() { # NAME MEASURED OK(1/0)
    local v=miss; [ "$3" = 1 ] && v=pass; [ "$3" = na ] && v=n/a
    TARGETS+=("| $1 | $2 | $v |")
}
ge() { awk "BEGIN { exit !(($1) >= ($2)) }" && echo 1 || echo 0; }
le() { awk "BEGIN { exit !(($1) <= ($2)) }" && echo 1 || echo 0; }

# ---------------------------------------------------------------- the files
log "creating files in $WWW (seq $SEQ_SIZE_S)"
head -c "$SEQ_SIZE" /dev/urandom > "$WWW/seq"
head -c "$SLOW_SIZE" "$WWW/seq" > "$WWW/seq-small"
truncate -s 64G "$WWW/sparse"
seqfile() { [ "$1" = slow ] && echo seq-small || echo seq; }
seqsize() { [ "$1" = slow ] && echo $SLOW_SIZE || echo $SEQ_SIZE; }
start_origin
log "origin: $(for p in $PROFILES; do printf '%s=%s ' $p "$(url $p '')"; done)"

# ---------------------------------------------------------------- seq
bench_seq() {
    local p=$1 f size t0 t1 curl_mbs aria_mbs st cf csize
    # The whole file on every profile (the issue's 1 GiB dd); one curl on slow reads the
    # small file only, at the same rate (20 MiB/s) in a quarter of the time.
    f=seq; size=$SEQ_SIZE; cf=$(seqfile $p); csize=$(seqsize $p)
    local sz_mib=$((size / MIB))

    # Each round runs every side once (curl, aria2c, dd bs=1M, dd bs=2M), so that a slow
    # spell of the machine hits all of them; the medians are reported.
    local i bs one curl_runs=() aria_runs=()
    declare -A dd_runs=() dd_rc=() dd_o=() dd_rss=()
    for ((i = 0; i < REPEAT; i++)); do
        mark $p; t0=$(now)
        curl -s -o /dev/null "$(url $p $cf)"
        t1=$(now); curl_runs+=("$(calc "$csize / ($t1 - $t0) / $MIB" 0)"); origin $p
        local curl_o="$O_REQ req"
        mark $p; t0=$(now)
        aria2c -q -x8 -s8 -k1M --file-allocation=none --allow-overwrite=true -d "$SHM" -o aria.out "$(url $p $f)" >/dev/null 2>&1
        t1=$(now); aria_runs+=("$(calc "$size / ($t1 - $t0) / $MIB" 0)"); origin $p; rm -f "$SHM/aria.out"
        local aria_o="$O_REQ req"
        [ $HAVE_SHIM = 1 ] || continue
        for bs in 1M 2M; do
            st=$T/stats.seq.$p.$bs
            mark $p; t0=$(now)
            shim_run $p "$st" /usr/bin/time -f %M -o "$T/rss" dd if=/remote/$f of=/dev/null bs=$bs 2>"$T/dd.err.$bs"
            one=$?
            t1=$(now); origin $p
            [ $one = 0 ] || dd_rc[$bs]=$one
            dd_runs[$bs]+="$(calc "$size / ($t1 - $t0) / $MIB" 0) "
            dd_o[$bs]="$O_REQ $O_AVG $O_BYTES"
            dd_rss[$bs]=$(( $(tail -1 "$T/rss" 2>/dev/null || echo 0) / 1024 ))
        done
    done
    curl_mbs=$(median "${curl_runs[@]}")
    aria_mbs=$(median "${aria_runs[@]}")
    ARIA[$p]=$aria_mbs
    [ $HAVE_SHIM = 1 ] || { row "seq ${sz_mib}M" $p "n/a" "curl $curl_mbs MB/s ($curl_o); aria2c -x8 $aria_mbs MB/s ($aria_o)" "" "" "" ""; return; }
    for bs in 1M 2M; do
        st=$T/stats.seq.$p.$bs
        local rc=${dd_rc[$bs]:-0} mbs all rss=${dd_rss[$bs]} req avg bytes
        read -r req avg bytes <<<"${dd_o[$bs]}"
        all=$(echo ${dd_runs[$bs]})
        mbs=$(median $all)
        [ $rc = 0 ] || mbs="FAILED rc=$rc: $(tail -1 "$T/dd.err.$bs")"
        local over; over=$(calc "$bytes / $size" 2)
        row "seq ${sz_mib}M dd bs=$bs" $p "$mbs MB/s (runs: ${all// /, })" \
            "curl $curl_mbs MB/s ($curl_o; runs: $(IFS=,; echo "${curl_runs[*]}")); aria2c -x8 $aria_mbs MB/s ($aria_o)" \
            "$(calc "$mbs / $curl_mbs") x curl; $(calc "$mbs / $aria_mbs") x aria2c" \
            "$req (avg ${avg} MiB)" "${over}" "rss ${rss}M; $(stats_sum "$st")"
        DETAILS+=("seq $p bs=$bs:" "$(cat "$st")")
        if [ $bs = 1M ] && [ $rc = 0 ]; then
            [ $p = lan ] && target "seq lan >= 0.9x one curl" "$(calc "$mbs / $curl_mbs") x ($mbs vs $curl_mbs MB/s)" $(ge "$mbs" "0.9 * $curl_mbs")
            [ $p = s3 ] && target "seq s3 >= 1.5x aria2c -x8" "$(calc "$mbs / $aria_mbs") x ($mbs vs $aria_mbs MB/s)" $(ge "$mbs" "1.5 * $aria_mbs")
            [ $p = slow ] && target "seq slow >= 1.2x aria2c -x8" "$(calc "$mbs / $aria_mbs") x ($mbs vs $aria_mbs MB/s)" $(ge "$mbs" "1.2 * $aria_mbs")
            SEQ1M[$p]=$mbs
            target "seq $p origin bytes <= 1.1x read, avg request >= 1 MiB" "${over}x, avg $avg MiB" \
                $( [ "$(le "$over" 1.1)" = 1 ] && [ "$(ge "$avg" 1)" = 1 ] && echo 1 || echo 0)
        fi
    done
    # the same read with a stream's requests fixed at 8 (the shared level; no adaptation),
    # and, as a diagnostic, with a larger window
    local diags=("REMOTEIO_STREAM_REQUESTS=8")
    [ $p = s3 ] && diags+=("REMOTEIO_READAHEAD=256M REMOTEIO_CACHE_SIZE=512M")
    if [ $HAVE_SHIM = 1 ] && [ -n "${SEQ1M[$p]:-}" ]; then
        local diag mbs
        for diag in "${diags[@]}"; do
            st=$T/stats.seq.$p.diag
            mark $p; t0=$(now)
            env $diag REMOTEIO_MAP="/remote/=$(url "$p" "")" REMOTEIO_STATS="$st" LD_PRELOAD="$LIB" \
                timeout -k 5 ${BENCH_CMD_TIMEOUT:-300} dd if=/remote/$f of=/dev/null bs=1M 2>/dev/null
            t1=$(now); origin $p
            mbs=$(calc "$size / ($t1 - $t0) / $MIB" 0)
            row "seq ${sz_mib}M dd bs=1M, ${diag//REMOTEIO_/} (diagnostic)" $p "$mbs MB/s" \
                "curl $curl_mbs MB/s; aria2c -x8 $aria_mbs MB/s" "$(calc "$mbs / $curl_mbs") x curl; $(calc "$mbs / $aria_mbs") x aria2c" \
                "$O_REQ (avg ${O_AVG} MiB)" "$(calc "$O_BYTES / $size" 2)" "$(stats_sum "$st")"
            if [ "$diag" = REMOTEIO_STREAM_REQUESTS=8 ]; then
                local peak_fixed peak_adapt
                peak_fixed=$(stats_peak "$st"); peak_adapt=$(stats_peak "$T/stats.seq.$p.1M")
                row "seq ${sz_mib}M dd bs=1M: adaptive vs fixed 8" $p "${SEQ1M[$p]} MB/s, stream_peak $peak_adapt" \
                    "fixed 8: $mbs MB/s, stream_peak $peak_fixed" "$(calc "${SEQ1M[$p]} / ($mbs > 0 ? $mbs : 1)") x fixed" "" "" ""
                [ $p = lan ] && target "seq lan: adaptive >= 0.95x fixed 8 requests, no more requests per stream in steady state" \
                    "$(calc "${SEQ1M[$p]} / ($mbs > 0 ? $mbs : 1)") x (${SEQ1M[$p]} vs $mbs MB/s); most per stream $peak_adapt vs $peak_fixed" \
                    $(ge "${SEQ1M[$p]}" "0.95 * $mbs")
            fi
            rm -f "$st"
        done
    fi
}

# ---------------------------------------------------------------- rand
# fio_json FILE: "iops p50_ms p99_ms io_bytes"
fio_json() {
    /usr/bin/python3 - "$1" <<'PY'
import json, sys
try:
    txt = open(sys.argv[1]).read()
    d = json.loads(txt[txt.index("{"):])
    r = d["jobs"][0]["read"]
    p = r["clat_ns"].get("percentile", {})
    print("%.0f %.2f %.2f %d %.1f" % (r["iops"], p.get("50.000000", 0) / 1e6,
          p.get("99.000000", 0) / 1e6, r["io_bytes"], r["bw_bytes"] / 1048576))
except Exception as e:
    print("0 0 0 0 0")
PY
}
FIO_RAND=(--rw=randread --bssplit=4k/34:64k/33:128k/33 --size=64g --time_based --runtime=$RUNTIME
          --group_reporting --norandommap --randrepeat=0 --invalidate=0 --output-format=json)
# mean block size of the bssplit above, in bytes
RAND_MEAN_BS=$(( (4096 * 34 + 65536 * 33 + 131072 * 33) / 100 ))

bench_rand() {
    local p=$1 set n th st out iops p50 p99 iob bw
    declare -A R
    # baselines: fio's nbd engine (one NBD connection per job, iodepth 1)
    local nbd_pids=() base="" u
    if [ $HAVE_NBDKIT = 1 ]; then
        nbdkit -f -U "$T/nbdkit-$p.sock" --filter=readahead curl url="$(url $p sparse)" >/dev/null 2>&1 &
        nbd_pids+=($!)
    fi
    if [ $HAVE_QNBD = 1 ]; then
        qemu-nbd -r -f raw -x '' -e 128 --persistent -k "$T/qemu-$p.sock" \
            "json:{\"file.driver\":\"http\",\"file.url\":\"$(url $p sparse)\"}" >/dev/null 2>&1 &
        nbd_pids+=($!)
    fi
    sleep 1
    local name sock
    for name in nbdkit qemu; do
        sock=$T/$name-$p.sock
        [ -S "$sock" ] || continue
        for n in $NBD_SETS; do
            mark $p
            fio --name=r --ioengine=nbd --uri="nbd+unix:///?socket=$sock" --thread --numjobs=$n \
                "${FIO_RAND[@]}" > "$T/fio.out" 2>&1
            read -r iops p50 p99 iob bw < <(fio_json "$T/fio.out"); origin $p
            R[$name.$n]=$iops
            base+="${name}${n}t $iops IOPS p50 $p50 p99 $p99 ms ($O_REQ req, $(calc "$O_BYTES / ($iob > 0 ? $iob : 1)")x bytes); "
        done
    done
    local pid; for pid in "${nbd_pids[@]}"; do kill $pid 2>/dev/null; wait $pid 2>/dev/null; done
    row "rand baselines" $p "" "${base%; }" "" "" "" "nbdkit = nbdkit-curl-plugin + readahead filter; qemu = qemu-nbd over qemu's curl driver; both via fio --ioengine=nbd"
    [ $HAVE_SHIM = 1 ] || return
    for set in $RAND_SETS; do
        n=${set%?}; th=(--thread); [ "${set: -1}" = p ] && th=()
        st=$T/stats.rand.$p.$set
        mark $p
        shim_run $p "$st" fio --name=r --filename=/remote/sparse --ioengine=psync "${th[@]}" --numjobs=$n \
            "${FIO_RAND[@]}" > "$T/fio.out" 2>&1
        local rc=$?
        read -r iops p50 p99 iob bw < <(fio_json "$T/fio.out"); origin $p
        [ $rc = 0 ] || { iops=0; log "fio $set on $p failed (rc=$rc): $(grep -v '^ *$' "$T/fio.out" | tail -3 | tr '\n' ' ')"; }
        R[shim.$set]=$iops
        local over; over=$(calc "$O_BYTES / ($iob > 0 ? $iob : 1)" 2)
        local ratio=""
        local k; for k in nbdkit qemu; do [ -n "${R[$k.$n]:-}" ] && [ "${R[$k.$n]}" != 0 ] && ratio+="$(calc "$iops / ${R[$k.$n]}") x $k; "; done
        [ $rc = 0 ] || iops="FAILED rc=$rc"
        local label="$n threads"; [ "${set: -1}" = p ] && label="$n processes"
        row "rand $label" $p "$iops IOPS, p50 $p50 ms, p99 $p99 ms" "see baselines row" "${ratio%; }" \
            "$O_REQ (avg $(calc "$O_BYTES / ($O_REQ > 0 ? $O_REQ : 1) / 1024" 0) KiB)" "$over" "$(stats_sum "$st")"
        R[over.$set]=$over
        DETAILS+=("rand $p $set:" "$(cat "$st")")
    done
    if [ $p = s3 ] && [ -n "${R[shim.8t]:-}" ]; then
        local ideal; ideal=$(calc "8 / (${DELAY[s3]} + $RAND_MEAN_BS / (${RATE[s3]} * $MIB))" 0)
        target "rand s3 8 threads >= 0.85x ideal ($ideal IOPS = 8 / (20 ms + mean bs / 100 MiB/s))" \
            "${R[shim.8t]} IOPS = $(calc "${R[shim.8t]} / $ideal")x" $(ge "${R[shim.8t]}" "0.85 * $ideal")
        [ -n "${R[shim.1t]:-}" ] && target "rand s3 8 threads >= 6x one thread" \
            "$(calc "${R[shim.8t]} / (${R[shim.1t]} > 0 ? ${R[shim.1t]} : 1)")x (${R[shim.1t]} -> ${R[shim.8t]})" $(ge "${R[shim.8t]}" "6 * ${R[shim.1t]}")
        [ -n "${R[shim.32t]:-}" ] && target "rand s3 32 threads >= 3.2x 8 threads" \
            "$(calc "${R[shim.32t]} / (${R[shim.8t]} > 0 ? ${R[shim.8t]} : 1)")x (${R[shim.8t]} -> ${R[shim.32t]})" $(ge "${R[shim.32t]}" "3.2 * ${R[shim.8t]}")
        local s worst=0; for s in $RAND_SETS; do [ "$(ge "${R[over.$s]:-0}" "$worst")" = 1 ] && worst=${R[over.$s]:-0}; done
        target "rand s3 origin bytes <= 2.5x bytes fio read (worst row)" "${worst}x" $(le "$worst" 2.5)
    fi
}

# ---------------------------------------------------------------- mixed
# fio_job_json FILE JOB: "iops bw_MBs" of the named job in fio's JSON output
fio_job_json() {
    /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
try:
    txt = open(sys.argv[1]).read()
    d = json.loads(txt[txt.index("{"):])
    r = [j for j in d["jobs"] if j["jobname"] == sys.argv[2]][0]["read"]
    print("%.0f %.0f" % (r["iops"], r["bw_bytes"] / 1048576))
except Exception:
    print("0 0")
PY
}
bench_mixed() {
    local p=$1 f st rc alone mixed seq x
    [ $HAVE_SHIM = 1 ] || return
    [ $p = slow ] && return
    f=$(seqfile $p)
    local RAND_JOB=(--name=rand --filename=/remote/sparse --ioengine=psync --thread --numjobs=8
                    "${FIO_RAND[@]}")
    st=$T/stats.mixed.$p
    mark $p
    shim_run $p "$st" fio "${RAND_JOB[@]}" > "$T/fio.out" 2>&1; rc=$?
    read -r alone x < <(fio_job_json "$T/fio.out" rand); origin $p
    [ $rc = 0 ] || alone=0
    mark $p
    shim_run $p "$st" fio "${RAND_JOB[@]}" --name=seq --new_group --filename=/remote/$f --ioengine=psync \
        --thread --numjobs=1 --rw=read --bs=1M --time_based --runtime=$RUNTIME --invalidate=0 \
        --output-format=json > "$T/fio.out" 2>&1; rc=$?
    read -r mixed x < <(fio_job_json "$T/fio.out" rand)
    read -r x seq < <(fio_job_json "$T/fio.out" seq); origin $p
    [ $rc = 0 ] || { mixed=0; seq=0; }
    local aria=${ARIA[$p]:-0}
    row "mixed: 8 random threads + 1 stream" $p "random $mixed IOPS; stream $seq MB/s" \
        "random alone $alone IOPS; aria2c -x8 $aria MB/s" \
        "$(calc "$mixed / ($alone > 0 ? $alone : 1)") x random alone; $(calc "$seq / ($aria > 0 ? $aria : 1)") x aria2c" \
        "$O_REQ (avg $O_AVG MiB)" "" "$(stats_sum "$st"); stream_peak $(stats_peak "$st")"
    if [ $p = s3 ]; then
        target "mixed s3: random IOPS with a stream running >= 0.9x random alone" \
            "$(calc "$mixed / ($alone > 0 ? $alone : 1)") x ($mixed vs $alone IOPS)" $(ge "$mixed" "0.9 * $alone")
        [ "$aria" != 0 ] && target "mixed s3: the stream >= 0.8x aria2c -x8" \
            "$(calc "$seq / $aria") x ($seq vs $aria MB/s)" $(ge "$seq" "0.8 * $aria")
    fi
}

# ---------------------------------------------------------------- streams
# parallel_curl PROFILE FILE BYTES N: MB/s of N curl processes each downloading one
# Nth of the first BYTES of FILE at once, to /dev/null: what the machine and the origin
# give N connections when the client does nothing but receive.  Four streams keep as
# many requests in flight as this N.  Prints 0 when a download failed.
parallel_curl() {
    local p=$1 f=$2 bytes=$3 n=$4 i t0 t1 part pid failed=0 pids=()
    part=$((bytes / n)); t0=$(now)
    for ((i = 0; i < n; i++)); do
        curl -sf -o /dev/null -r $((i * part))-$(((i + 1) * part - 1)) "$(url $p $f)" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
    t1=$(now)
    [ $failed = 0 ] && calc "$bytes / ($t1 - $t0) / $MIB" 0 || echo 0
}

bench_streams() {
    local p=$1 f size q st one four iob bw x rc t0 t1 curl_mbs
    f=$(seqfile $p); size=$(seqsize $p); q=$((size / 4))
    local i runs=() ones=() fours=() st1=$T/stats.streams1.$p st4=$T/stats.streams4.$p
    local req1 avg1 bytes1 iob1 rc1=0 rc4=0
    for ((i = 0; i < REPEAT; i++)); do
        mark $p; t0=$(now)
        curl -s -o /dev/null -r 0-$((q - 1)) "$(url $p $f)"
        t1=$(now); runs+=("$(calc "$q / ($t1 - $t0) / $MIB" 0)"); origin $p
    done
    curl_mbs=$(median "${runs[@]}")
    [ $HAVE_SHIM = 1 ] || { row "streams" $p "n/a" "curl 1 stream $curl_mbs MB/s" "" "" "" ""; return; }
    local ceils=() ceil
    local FIO_SEQ=(--filename=/remote/$f --ioengine=psync --rw=read --bs=1M --thread --size=$q
                   --group_reporting --invalidate=0 --output-format=json)
    # one stream and four streams alternate, so that a slow spell of the machine hits both
    for ((i = 0; i < REPEAT; i++)); do
        mark $p
        shim_run $p "$st1" fio --name=s --numjobs=1 "${FIO_SEQ[@]}" > "$T/fio.out" 2>&1; rc=$?
        [ $rc = 0 ] || rc1=$rc
        read -r x x x iob1 one < <(fio_json "$T/fio.out"); origin $p
        ones+=("$one"); req1=$O_REQ; avg1=$O_AVG; bytes1=$O_BYTES
        mark $p
        shim_run $p "$st4" fio --name=s --numjobs=4 --offset_increment=$q "${FIO_SEQ[@]}" > "$T/fio.out" 2>&1
        x=$?; [ $x = 0 ] || rc4=$x
        read -r x x x iob four < <(fio_json "$T/fio.out"); origin $p
        fours+=("$four")
        ceils+=("$(parallel_curl $p $f $((4 * q)) $((4 * STREAM_REQUESTS)))")
    done
    one=$(median "${ones[@]}"); four=$(median "${fours[@]}"); ceil=$(median "${ceils[@]}")
    [ $rc1 = 0 ] || one="FAILED rc=$rc1"
    [ $rc4 = 0 ] || four="FAILED rc=$rc4"
    row "streams: 1 x $((q / MIB))M" $p "$one MB/s (runs: $(IFS=,; echo "${ones[*]}"))" "curl 1 stream $curl_mbs MB/s" "$(calc "$one / $curl_mbs") x curl" \
        "$req1 (avg $avg1 MiB)" "$(calc "$bytes1 / ($iob1 > 0 ? $iob1 : 1)")" "$(stats_sum "$st1")"
    row "streams: 4 x $((q / MIB))M" $p "$four MB/s (runs: $(IFS=,; echo "${fours[*]}"))" \
        "1 stream $one MB/s; curl $curl_mbs MB/s; $((4 * STREAM_REQUESTS)) parallel curls $ceil MB/s (runs: $(IFS=,; echo "${ceils[*]}"))" \
        "$(calc "$four / ($one > 0 ? $one : 1)") x 1 stream; $(calc "$four / $curl_mbs") x curl; $(calc "$four / ($ceil > 0 ? $ceil : 1)") x parallel curls" \
        "$O_REQ (avg $O_AVG MiB)" "$(calc "$O_BYTES / ($iob > 0 ? $iob : 1)")" "$(stats_sum "$st4")"
    if [ $p = s3 ]; then
        # diagnostic: a cache large enough for four full REMOTEIO_READAHEAD windows
        local big
        st=$T/stats.streams4big.$p; mark $p
        REMOTEIO_CACHE_SIZE=1G shim_run $p "$st" fio --name=s --numjobs=4 --offset_increment=$q "${FIO_SEQ[@]}" > "$T/fio.out" 2>&1; rc=$?
        read -r x x x iob big < <(fio_json "$T/fio.out"); origin $p
        [ $rc = 0 ] || big="FAILED rc=$rc"
        row "streams: 4 x $((q / MIB))M, CACHE_SIZE=1G (diagnostic)" $p "$big MB/s" "1 stream $one MB/s; curl $curl_mbs MB/s" \
            "$(calc "$big / ($one > 0 ? $one : 1)") x 1 stream; $(calc "$big / $curl_mbs") x curl" \
            "$O_REQ (avg $O_AVG MiB)" "$(calc "$O_BYTES / ($iob > 0 ? $iob : 1)")" "$(stats_sum "$st")"
    fi
    [ $p = s3 ] && target "streams s3: 4 streams >= 3.5x a single stream" \
        "$(calc "$four / ($one > 0 ? $one : 1)")x ($one -> $four MB/s; $(calc "$four / $curl_mbs")x one curl; $((4 * STREAM_REQUESTS)) parallel curls reach $ceil MB/s = $(calc "$ceil / ($one > 0 ? $one : 1)")x one stream)" $(ge "$four" "3.5 * $one")
}

# ---------------------------------------------------------------- convert
make_qcow2() {
    # half of the clusters allocated: 1 MiB of data every 2 MiB
    local img=$WWW/img.qcow2 sz n i cmds=()
    sz=$(tobytes $CONV_SIZE); n=$((sz / (2 * MIB)))
    qemu-img create -q -f qcow2 "$img" "$sz"
    for ((i = 0; i < n; i++)); do cmds+=(-c "write -q -P $((i % 255 + 1)) $((i * 2 * MIB)) 1M"); done
    qemu-io -f qcow2 "${cmds[@]}" "$img" >/dev/null
    # plus some random bytes so the data is not only patterns
    qemu-io -f qcow2 -c "write -q -s $WWW/seq-small 0 $((8 * MIB))" "$img" >/dev/null 2>&1 || true
}
bench_convert() {
    local p=$1 t0 t1 qemu_s dl_s shim_s st rc json size
    size=$(stat -c %s "$WWW/img.qcow2")
    json="json:{\"file.driver\":\"http\",\"file.url\":\"$(url $p img.qcow2)\"}"
    mark $p; t0=$(now)
    timeout -k 5 $CONV_TIMEOUT qemu-img convert -f qcow2 -O raw "$json" "$SHM/qemu.raw"
    local qrc=$?
    t1=$(now); qemu_s=$(calc "$t1 - $t0"); origin $p
    # qemu 7.2's curl driver sometimes stalls forever under qemu-img convert
    [ $qrc = 0 ] || qemu_s="$qemu_s (FAILED rc=$qrc"$([ $qrc = 124 ] && echo ": stalled, killed")")"
    local qemu_o="$O_REQ req, $(calc "$O_BYTES / $MIB" 0) MiB"
    mark $p; t0=$(now)
    curl -s -o "$SHM/dl.qcow2" "$(url $p img.qcow2)" && qemu-img convert -f qcow2 -O raw "$SHM/dl.qcow2" "$SHM/dl.raw"
    t1=$(now); dl_s=$(calc "$t1 - $t0"); origin $p; rm -f "$SHM/dl.qcow2" "$SHM/dl.raw"
    [ $HAVE_SHIM = 1 ] || { row "convert qcow2" $p "n/a" "qemu curl $qemu_s s ($qemu_o); curl+convert $dl_s s" "" "" "" ""; rm -f "$SHM/qemu.raw"; return; }
    st=$T/stats.convert.$p; mark $p; t0=$(now)
    shim_run $p "$st" qemu-img convert -f qcow2 -O raw /remote/img.qcow2 "$SHM/shim.raw" 2>"$T/conv.err"; rc=$?
    t1=$(now); shim_s=$(calc "$t1 - $t0"); origin $p
    [ $rc = 0 ] || shim_s="FAILED rc=$rc: $(tail -1 "$T/conv.err")"
    if [ $qrc = 0 ]; then cmp -s "$SHM/qemu.raw" "$SHM/shim.raw" || shim_s+=" (OUTPUT DIFFERS from qemu's)"; fi
    row "convert qcow2 $((size / MIB))M -> raw $CONV_SIZE" $p "$shim_s s" "qemu curl $qemu_s s ($qemu_o); curl+convert $dl_s s" \
        "$([ $qrc = 0 ] && echo "$(calc "$qemu_s / $shim_s") x qemu curl (speed); ")$(calc "$dl_s / $shim_s") x curl+convert" \
        "$O_REQ (avg $O_AVG MiB)" "$(calc "$O_BYTES / $size") of file" "$(stats_sum "$st")"
    rm -f "$SHM/qemu.raw" "$SHM/shim.raw"
}

# ---------------------------------------------------------------- rss
bench_rss() {
    local p=$1 cache=$((SEQ_SIZE / 4)) st rc base rss
    /usr/bin/time -f %M -o "$T/rss" dd if="$WWW/seq" of=/dev/null bs=1M 2>/dev/null
    base=$(( $(tail -1 "$T/rss") / 1024 ))
    [ $HAVE_SHIM = 1 ] || return
    st=$T/stats.rss.$p; mark $p
    REMOTEIO_CACHE_SIZE=$cache shim_run $p "$st" /usr/bin/time -f %M -o "$T/rss" dd if=/remote/seq of=/dev/null bs=1M 2>/dev/null; rc=$?
    rss=$(( $(tail -1 "$T/rss") / 1024 )); origin $p
    row "rss: dd bs=1M of $((SEQ_SIZE / MIB))M, CACHE_SIZE=$((cache / MIB))M" $p "peak RSS ${rss}M" "dd of a local file ${base}M" "" \
        "$O_REQ (avg $O_AVG MiB)" "$(calc "$O_BYTES / $SEQ_SIZE")" "$(stats_sum "$st")"
    target "RSS <= CACHE_SIZE + 32 MiB reading a file 4x the cache ($p)" "${rss}M (cache $((cache / MIB))M)" $( [ $rc = 0 ] && le $rss "$cache / $MIB + 32" || echo 0)
}

# ---------------------------------------------------------------- local
bench_local() {
    # Short runs alternating without / with the preload.  The figures are the CPU
    # time (user + system) per call, the best of each side, and the median of the
    # per-pair ratios: each pair runs back to back, so both of its sides see the
    # same machine.  The target is judged on that median, which one lucky or
    # unlucky run cannot move (the best of each side can be).
    local prog=$T/pread_loop f=$SHM/local i mode n pairs=21 out
    cc -O2 -D_GNU_SOURCE -o "$prog" "$HERE/pread_loop.c" || { log "pread_loop does not build"; return; }
    head -c $((64 * MIB)) /dev/urandom > "$f"
    [ $HAVE_SHIM = 1 ] || return
    for mode in pread open; do
        n=500000; [ $mode = open ] && n=100000; [ "$QUICK" = 1 ] && pairs=7
        : > "$T/local.txt"
        for ((i = 0; i < pairs; i++)); do
            out=$("$prog" $mode "$f" $n); echo "a $out" >> "$T/local.txt"
            out=$(REMOTEIO_MAP="/remote/=http://127.0.0.1:9/" LD_PRELOAD="$LIB" "$prog" $mode "$f" $n); echo "b $out" >> "$T/local.txt"
        done
        local a_cpu b_cpu a_wall b_wall med
        read -r a_wall a_cpu b_wall b_cpu < <(awk '{ split($2, w, "="); split($3, c, "=");
                if ($1 == "a") { aw[++na] = w[2]; ac[na] = c[2] } else { bw[++nb] = w[2]; bc[nb] = c[2] } }
            function min(v, n,   i, m) { m = v[1]; for (i = 2; i <= n; i++) if (v[i] < m) m = v[i]; return m }
            END { printf "%.1f %.1f %.1f %.1f\n", min(aw, na), min(ac, na), min(bw, nb), min(bc, nb) }' "$T/local.txt")
        med=$(paste -d' ' <(grep '^a ' "$T/local.txt") <(grep '^b ' "$T/local.txt") |
              sed 's/[a-z_]*=//g' | awk '{ printf "%.4f\n", $7 / $3 }' | sort -n |
              awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
        row "local tmpfs $mode loop ($pairs alternating pairs)" - "$b_cpu ns CPU/op ($b_wall ns wall)" \
            "without preload: $a_cpu ns CPU/op ($a_wall ns wall)" \
            "$(calc "$b_cpu / $a_cpu" 3) x CPU; $(calc "$b_wall / $a_wall" 3) x wall; median pair ratio (CPU) $med" "" "" ""
        [ $mode = pread ] && target "non-virtual pread loop within 2% (median of $pairs pair ratios, CPU time per call)" \
            "$(calc "($med - 1) * 100" 1)% (best of each side: $a_cpu -> $b_cpu ns, $(calc "($b_cpu / $a_cpu - 1) * 100" 1)%)" $(le "$med" 1.02)
    done
}

# ---------------------------------------------------------------- main
START=$(now)
has() { [[ " $WORKLOADS " == *" $1 "* ]]; }
has convert && make_qcow2
for w in seq rand mixed streams convert; do
    has $w || continue
    for p in $PROFILES; do
        log "$w / $p"
        bench_$w $p
    done
done
has rss && { p=lan; [[ " $PROFILES " == *" lan "* ]] || p=${PROFILES%% *}; log "rss / $p"; bench_rss $p; }
has local && { log "local"; bench_local; }
# s3sign: signed vs unsigned S3 reads on the s3 profile (tests/bench/s3-signed.sh prints
# "row|..." and "target|NAME|MEASURED|1/0" lines)
if has s3sign && [[ " $PROFILES " == *" s3 "* ]] && [ $HAVE_SHIM = 1 ]; then
    log "s3sign / s3"
    while IFS='|' read -r kind a b c d e f g h; do
        case $kind in
            row) row "$a" "$b" "$c" "$d" "$e" "$f" "$g" "$h" ;;
            target) target "$a" "$b" "$c" ;;
            SKIP*|FATAL*) log "s3sign: $kind" ;;
        esac
    done < <(BENCH_SIZE=$SEQ_SIZE_S BENCH_RUNTIME=$RUNTIME BENCH_REPEAT=$REPEAT BENCH_S3_DELAY=${DELAY[s3]} \
             BENCH_S3_RATE=${RATE[s3]} bash "$HERE/s3-signed.sh")
fi
# disk: the disk cache's figures (tests/bench/disk-cache.sh: warm and cold dd, warm random
# IOPS, RSS), one detail line each.
has disk && { log "disk"; while read -r line; do DETAILS+=("disk: $line"); done \
    < <(BENCH_SIZE=$SEQ_SIZE "$HERE/disk-cache.sh"); }

{
    echo "# remoteio benchmark"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -r); BENCH_QUICK=$QUICK seq=$SEQ_SIZE_S (slow: one curl and the streams rows $((SLOW_SIZE / MIB))M) fio runtime=${RUNTIME}s;" \
         "profiles: lan = no delay; s3 = 20 ms first byte + 100 MiB/s per connection; slow = 100 ms + 20 MiB/s." \
         "Origin columns are for the remoteio run of the row; the last column is the library's REMOTEIO_STATS summed over objects and processes."
    echo
    echo "| workload | profile | remoteio | baselines (same run) | ratio | origin requests | origin bytes / bytes read | remoteio stats |"
    echo "|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "## Targets"
    echo
    echo "| target | measured | result |"
    echo "|---|---|---|"
    [ ${#TARGETS[@]} -gt 0 ] && printf '%s\n' "${TARGETS[@]}"
    echo
    echo "Total time: $(calc "$(now) - $START" 0) s."
    if [ ${#DETAILS[@]} -gt 0 ]; then
        echo
        echo "## REMOTEIO_STATS per row"
        echo
        echo '```'
        printf '%s\n' "${DETAILS[@]}"
        echo '```'
    fi
} > "$T/results.md"
cat "$T/results.md"
cp "$T/results.md" "$OUT"
