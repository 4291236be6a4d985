#!/usr/bin/env bash
# tests/t-disk-fleet.sh: many hosts behind one HTTP cache.  An nginx origin; in front of
# it an nginx running config/nginx/fleet.conf (proxy_cache + the slice module, its names
# pointed at 127.0.0.1); "hosts" are remoteio processes with disk caches of their own
# (separate REMOTEIO_CACHE_DIR) mapped to the front.  Asserted:
#   - one host, then another: right bytes; the origin sent each byte once (<= 1.0x the
#     object, each slice asked for once, the first host's HEAD included); every request
#     of the second host, slices included, was a hit in the front's cache; it filled its
#     own disk cache; the first host's second run sends only its HEAD, the origin nothing;
#   - two hosts at once on a cold object: right bytes, the origin sent each byte once
#     (proxy_cache_lock);
#   - the front honours remoteio's If-Match / If-Unmodified-Since (412 for another
#     version), and an object replaced at the origin while the front holds part of its
#     old version gives a host 0 mixed bytes (ESTALE), never the two versions joined.
. "$(dirname "$0")/lib.sh"
require python3 curl sha256sum timeout
require_shim
unset REMOTEIO_CONFIG REMOTEIO_STATS REMOTEIO_STATS_INTERVAL REMOTEIO_LOG_FILE REMOTEIO_LOG \
      REMOTEIO_CACHE_DIR
NGX=$(nginx_bin) || true
[ -n "$NGX" ] || skip "nginx is not installed"
"$NGX" -V 2>&1 | grep -q -- --with-http_slice_module ||
    skip "$NGX has no slice module (Debian's nginx-light and nginx have it)"
TOOL=$TOP/${REMOTEIO_TEST_BUILD:-build}/remoteio-cache
[ -x "$TOOL" ] || skip "$TOOL is not built (make)"
MiB=1048576
SIZE=$((32 * MiB + 12345)) # not a whole number of slices
SLICES=$(( (SIZE + MiB - 1) / MiB ))
W=$T/www
mkdir -p "$W"
make_file "$W/img" $SIZE
make_file "$W/img2" $SIZE
echo ping >"$W/ping"
start_nginx "$W"
OLOG=$NGINX_LOG

# The front: config/nginx/fleet.conf with its origin, port and cache directory replaced,
# included in an http block of our own (logs, temp paths, every slice logged).
start_front() {
    local dir=$T/front port i
    mkdir -p "$dir/tmp"
    port=$(free_port)
    sed -e "s|/var/cache/nginx/remoteio|$dir/cache|" \
        -e "s|server images.example.com:443;|server 127.0.0.1:${ORIGIN##*:};|" \
        -e "s|proxy_pass https://remoteio_origin;|proxy_pass http://remoteio_origin;|" \
        -e "s|listen 8080;|listen 127.0.0.1:$port;|" "$TOP/config/nginx/fleet.conf" >"$dir/fleet.conf"
    for i in "$dir/cache " "server 127.0.0.1:${ORIGIN##*:};" "proxy_pass http://remoteio_origin;" \
             "listen 127.0.0.1:$port;" "slice 1m;"; do
        grep -qF "$i" "$dir/fleet.conf" || { echo "FATAL: config/nginx/fleet.conf: no '$i' after substitution"; exit 1; }
    done
    cat >"$dir/nginx.conf" <<NGX
worker_processes 2;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
    log_format front '\$status \$body_bytes_sent "\$http_range" "\$request" \$upstream_cache_status "\$slice_range"';
    access_log $dir/access.log front;
    log_subrequest on;
    client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp;
    fastcgi_temp_path $dir/tmp; uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
    include $dir/fleet.conf;
}
NGX
    "$NGX" -t -c "$dir/nginx.conf" -p "$dir" >"$dir/t.out" 2>&1 ||
        { echo "FATAL: nginx -t on config/nginx/fleet.conf: $(tail -3 "$dir/t.out")"; exit 1; }
    "$NGX" -c "$dir/nginx.conf" -p "$dir" >"$dir/stderr" 2>&1 &
    at_exit "kill $!"
    FRONT=http://127.0.0.1:$port
    FLOG=$dir/access.log
    for i in $(seq 50); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$FRONT/ping" 2>/dev/null)" = 200 ] && break
        sleep 0.1
    done
    [ -s "$FLOG" ] || { echo "FATAL: the front did not start: $(tail -3 "$dir/stderr" "$dir/error.log")"; exit 1; }
}
start_front
sleep 0.2; : >"$OLOG"; : >"$FLOG"

export REMOTEIO_MAP="/r/=$FRONT/" REMOTEIO_DISK_CACHE_SIZE=64M REMOTEIO_DEADLINE=30s
sha() { sha256sum <"$1" | cut -d' ' -f1; }
# host NAME CMD...: CMD on host NAME (its own disk cache), under the shim, bounded
host() { local h=$1; shift; timeout -k 5 90 env LD_PRELOAD="$SHIM" REMOTEIO_CACHE_DIR="$T/host-$h" "$@"; }
stat_of() { sed -n "s/.* $2=\([0-9]*\).*/\1/p" "$1" | awk '{ s += $1 } END { print s + 0 }'; }
# What the origin sent since its log was emptied: body bytes; requests; distinct ranges.
origin_bytes() { awk '{ s += $2 } END { print s + 0 }' "$OLOG"; }
origin_requests() { grep -c . "$OLOG"; }
origin_ranges() { awk -F'"' '{ print $2 }' "$OLOG" | sort -u | grep -c .; }
ratio() { awk -v b="$1" -v s="$SIZE" 'BEGIN { printf "%.3f", b / s }'; }
# each_byte_once NAME: the origin sent at most the object's bytes, one request per slice
each_byte_once() {
    local b r d
    sleep 0.2 # nginx writes its log line after the answer
    b=$(origin_bytes) r=$(origin_requests) d=$(origin_ranges)
    [ "$b" -le $SIZE ] && [ "$r" -le $SLICES ] && [ "$r" = "$d" ] &&
        ok "$1: the origin sent $b bytes ($(ratio "$b")x the object, <= 1.0) in $r requests, one per slice ($SLICES slices)" ||
        fail "$1: each byte once" "origin sent $b bytes ($(ratio "$b")x) in $r requests for $d distinct ranges ($SLICES slices): $(sort "$OLOG" | uniq -d | head -3)"
}

# One host reads the object, then a second host with a disk cache of its own.
two_hosts() {
    local want got
    want=$(sha "$W/img")
    got=$(host a sha256sum /r/img 2>"$T/err.a" | cut -d' ' -f1)
    [ "$got" = "$want" ] && ok "host a, cold front: right bytes" || fail "host a" "$got; $(head -3 "$T/err.a")"
    sleep 0.2; : >"$FLOG"
    got=$(host b env REMOTEIO_STATS="$T/st.b" sha256sum /r/img 2>"$T/err.b" | cut -d' ' -f1)
    [ "$got" = "$want" ] && ok "host b, separate disk cache: right bytes" || fail "host b" "$got; $(head -3 "$T/err.b")"
    each_byte_once "host a then host b"
    sleep 0.2
    local n miss
    n=$(grep -c . "$FLOG")
    miss=$(grep -vc '" HIT "' "$FLOG")
    [ "$n" -gt 0 ] && [ "$miss" = 0 ] &&
        ok "host b: all $n requests and slices at the front were cache hits" ||
        fail "host b: front hits" "$miss of $n not HIT: $(grep -v '" HIT "' "$FLOG" | head -3)"
    local written used
    written=$(stat_of "$T/st.b" disk_bytes_written)
    used=$("$TOOL" -d "$T/host-b" stats | sed -n 's/^used \([0-9]*\) bytes.*/\1/p')
    [ "$written" = $SIZE ] && [ "${used:-0}" = $SIZE ] &&
        ok "host b: filled its own disk cache (disk_bytes_written=$written, remoteio cache stats: used $used)" ||
        fail "host b: its disk cache" "disk_bytes_written=$written, used=$used"
    # Host a again: its own disk cache serves it; the front sees the HEAD at open only.
    : >"$OLOG"; : >"$FLOG"
    got=$(host a env REMOTEIO_STATS="$T/st.a2" sha256sum /r/img 2>>"$T/err.a" | cut -d' ' -f1)
    sleep 0.2
    [ "$got" = "$want" ] && [ "$(grep -c . "$FLOG")" = 1 ] && grep -q '"HEAD /img ' "$FLOG" &&
        [ "$(origin_requests)" = 0 ] &&
        ok "host a, second run: right bytes; the front saw its HEAD only, the origin nothing (disk_hits=$(stat_of "$T/st.a2" disk_hits))" ||
        fail "host a, second run" "$got; front: $(head -3 "$FLOG"); origin: $(origin_requests) requests"
}

# Two hosts at once on an object the front has not seen.
at_once() {
    : >"$OLOG"
    host c sha256sum /r/img2 >"$T/c.out" 2>"$T/err.c" &
    local p=$!
    host d sha256sum /r/img2 >"$T/d.out" 2>"$T/err.d" &
    wait $p $!
    local want; want=$(sha "$W/img2")
    [ "$(cut -d' ' -f1 "$T/c.out")" = "$want" ] && [ "$(cut -d' ' -f1 "$T/d.out")" = "$want" ] &&
        ok "hosts c and d at once: right bytes" ||
        fail "hosts c and d" "$(cat "$T/c.out" "$T/d.out"; head -3 "$T/err.c" "$T/err.d")"
    each_byte_once "hosts c and d at once"
}

# If-Match and If-Unmodified-Since at the front; an object replaced behind the front.
versions() {
    local et code
    et=$(curl -sI "$FRONT/img" | sed -n 's/^ETag: *//Ip' | tr -d '\r')
    code=$(curl -s -o /dev/null -w '%{http_code}' -r 1000-2000000 -H "If-Match: $et" "$FRONT/img")
    [ -n "$et" ] && [ "$code" = 206 ] && ok "front: If-Match $et (the version's ETag): 206" ||
        fail "front: If-Match the ETag" "$code (ETag '$et')"
    code=$(curl -s -o /dev/null -w '%{http_code}' -r 1000-2000000 -H 'If-Match: "another-version"' "$FRONT/img")
    [ "$code" = 412 ] && ok "front: If-Match of another version: 412" || fail "front: If-Match of another" "$code"
    code=$(curl -s -o /dev/null -w '%{http_code}' -r 1000-2000000 -H 'If-Unmodified-Since: Mon, 01 Jan 2001 00:00:00 GMT' "$FRONT/img")
    [ "$code" = 412 ] && ok "front: If-Unmodified-Since before the object's date: 412" ||
        fail "front: If-Unmodified-Since" "$code"
    # The front holds the first 4 slices of version 1; then the origin's object changes.
    cp "$W/img" "$W/v"; touch -d 2020-01-01 "$W/v"
    curl -s -o /dev/null -r 0-$((4 * MiB - 1)) "$FRONT/v"
    cp "$W/img" "$T/v1"
    make_file "$W/v.new" $SIZE; touch -d 2021-01-01 "$W/v.new"; mv "$W/v.new" "$W/v"
    host e env REMOTEIO_RETRIES=2 "$PY" -c '
import os, sys
ref = open(sys.argv[1], "rb").read()
fd = os.open("/r/v", os.O_RDONLY)
off, mixed, err = 0, 0, None
while off < len(ref):
    try:
        b = os.pread(fd, 1 << 20, off)
    except OSError as e:
        err = e.strerror; break
    if not b: break
    mixed += sum(1 for i in range(0, len(b), 4096) if b[i:i + 4096] != ref[off + i:off + i + 4096])
    off += len(b)
print("read=%d mixed_pages=%d err=%s" % (off, mixed, err))' "$T/v1" >"$T/e.out" 2>"$T/err.e"
    grep -Eq '^read=[0-9]+ mixed_pages=0 err=(Stale file handle|Input/output error)$' "$T/e.out" &&
        ok "object replaced behind a front holding part of it: $(cat "$T/e.out"), one version or an error" ||
        fail "replaced behind the front" "$(cat "$T/e.out"; head -3 "$T/err.e")"
}

scenario "two-hosts" two_hosts
scenario "at-once" at_once
scenario "versions" versions
finish
