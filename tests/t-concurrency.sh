#!/usr/bin/env bash
# t-concurrency.sh: concurrent reads of one object.
#  1. parallelism: 8 threads reading far-apart offsets of one fd from an origin
#     that waits 1 s before every response finish together in about 1 s, and the
#     access log shows the 8 requests overlapping;
#  2. single flight: 8 threads reading the same cold chunk at once cause exactly
#     one request for it;
#  3. many threads and 3 forked processes doing random and sequential reads of
#     one object, every byte compared with the original.
. "$(dirname "$0")/lib.sh"
cd "$TOP"
require curl python3
require_shim
PREADER=$(preader_path)
HAVE_ECHO=0; [ -f /usr/lib/nginx/modules/ngx_http_echo_module.so ] && HAVE_ECHO=1

SIZE=$((32 * 1024 * 1024))
mkdir -p "$T/www/slow"
make_file "$T/www/obj" $SIZE
ln "$T/www/obj" "$T/www/slow/obj"
# /slow/ answers every request (HEAD included) after 1 s
start_nginx "$T/www" 'location /slow/ { echo_sleep 1; echo_exec @file; } location @file { }'

# log_since LINE: access log lines after line number LINE
log_since() { tail -n +$(($1 + 1)) "$NGINX_LOG"; }
lines() { wc -l < "$NGINX_LOG"; }
# covering OFFSET LEN: log lines (from stdin) whose range covers [OFFSET, OFFSET+LEN)
covering() {
    awk -v o="$1" -v l="$2" '{ if (match($0, /bytes=[0-9]+-[0-9]*/)) {
            split(substr($0, RSTART + 6, RLENGTH - 6), r, "-");
            if (r[1] + 0 <= o + 0 && (r[2] == "" || r[2] + 0 >= o + l - 1)) print } }'
}

# ---- 1. parallelism
if [ $HAVE_ECHO = 1 ]; then
    export REMOTEIO_MAP="/remote/=$ORIGIN/slow/"
    mark=$(lines)
    out=$(shim "$PREADER" -t 8 -m far -o 1M -b 4096 -c "$T/www/obj" /remote/obj 2>&1)
    rc=$?
    echo "$out"
    secs=$(echo "$out" | sed -n 's/.* secs=\([0-9.]*\) .*/\1/p')
    if [ $rc = 0 ] && [ -n "$secs" ] && awk "BEGIN { exit !($secs < 4) }"; then
        ok "8 parallel reads against a 1 s origin took ${secs}s (serial: 8 s)"
    else
        fail "parallel reads" "rc=$rc, took ${secs:-?}s (must be < 4 s)"
    fi
    # Every demand request starts after the reads start and ends before they
    # finish, and lasts >= 1 s: if all of them fit in a window shorter than 2 s,
    # they all overlap at one instant.
    n=0 slow=0
    for i in 0 1 2 3 4 5 6 7; do
        off=$((1048576 + (SIZE - 1048576) / 8 * i))
        l=$(log_since $mark | covering $off 4096 | head -1)
        [ -n "$l" ] && n=$((n + 1))
        t=$(echo "$l" | awk '{ print $NF }')
        [ -n "$t" ] && awk "BEGIN { exit !($t >= 0.99) }" && slow=$((slow + 1))
    done
    if [ $n = 8 ] && [ $slow = 8 ] && [ -n "$secs" ] && awk "BEGIN { exit !($secs < 2) }"; then
        ok "the origin saw 8 overlapping requests (8 requests of >= 1 s within ${secs}s)"
    else
        fail "overlapping requests" "$n of 8 offsets requested, $slow lasted >= 1 s, read phase ${secs:-?}s"
        log_since $mark | head -20
    fi

    # ---- 2. single flight
    mark=$(lines)
    off=$((5 * 1048576 + 100))
    out=$(shim "$PREADER" -t 8 -m same -o $off -b 1000 -c "$T/www/obj" /remote/obj 2>&1)
    rc=$?
    echo "$out"
    cover=$(log_since $mark | covering $off 1000 | wc -l)
    if [ $rc = 0 ] && [ "$cover" = 1 ]; then
        ok "8 threads reading one cold chunk: one request"
    else
        fail "single flight" "rc=$rc, $cover requests cover offset $off"
        log_since $mark | head -20
    fi
else
    echo "SKIP (parts 1 and 2): the nginx echo module is not installed"
fi

# ---- 3. many threads, several processes, every byte checked
export REMOTEIO_MAP="/remote/=$ORIGIN/"
check "16 threads, random and sequential reads, all bytes right" \
    shim "$PREADER" -t 16 -m mix -b 300000 -n 150 -s 11 -c "$T/www/obj" /remote/obj
check "3 forked processes x 6 threads sharing the parent's fd, all bytes right" \
    shim "$PREADER" -p 3 -t 6 -m mix -b 200000 -n 150 -s 12 -c "$T/www/obj" /remote/obj
check "3 forked processes x 6 threads, each opening the file, all bytes right" \
    shim "$PREADER" -p 3 -F -t 6 -m mix -b 200000 -n 150 -s 13 -c "$T/www/obj" /remote/obj
check "4 threads with small chunks and few connections, all bytes right" \
    env REMOTEIO_CHUNK_SIZE=4K REMOTEIO_CONNECTIONS=2 REMOTEIO_CACHE_SIZE=1M \
    LD_PRELOAD="$SHIM" "$PREADER" -t 4 -m mix -b 50000 -n 200 -s 14 -c "$T/www/obj" /remote/obj
finish
