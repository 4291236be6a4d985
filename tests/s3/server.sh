# tests/s3/server.sh: a real S3 server for the tests (Ceph radosgw, Debian 12's packages)
# as a throwaway one-node cluster on 127.0.0.1.
#
# Source it after tests/lib.sh. It provides:
#   start_s3 [MEMSTORE_BYTES]  a monitor, one memstore OSD (data in RAM, default 256 MiB)
#                           and two gateways, in 2-4 s; skips the script (exit 77) when a
#                           package is missing, exits 1 with the daemons' last log lines
#                           when they are not up within $S3_START_TIMEOUT s (60). Sets:
#     S3_ENDPOINT           http://127.0.0.1:PORT, the plain gateway (SigV4: a wrong secret
#                           gets SignatureDoesNotMatch)
#     S3_STS_ENDPOINT       http://127.0.0.1:PORT, the gateway with STS (AssumeRole, session
#                           tokens; there a wrong secret gets AccessDenied)
#     S3_ACCESS_KEY S3_SECRET_KEY S3_REGION   the test user's credentials (any region works)
#     S3_HOST               its DNS name for virtual-hosted style: curl --resolve
#                           BUCKET.$S3_HOST:PORT:127.0.0.1 http://BUCKET.$S3_HOST:PORT/KEY
#     S3_DIR                the cluster's directory (ceph.conf, logs) under $T
#     S3_START_MS           milliseconds from nothing to both gateways answering
#   s3_curl CURL_ARGS...    curl signed as $S3_ACCESS_KEY/$S3_SECRET_KEY (plus
#                           x-amz-security-token when $S3_SESSION_TOKEN is set), for
#                           service s3 (S3_SERVICE=sts for STS), with x-amz-content-sha256
#                           $S3_PAYLOAD_SHA256 (default: that of an empty body). Override any
#                           of these per call: S3_SECRET_KEY=wrong s3_curl ...
#                           curl 7.88 signs the path and query exactly as given: percent-
#                           encode the path (s3_path), sort the query (see the recipe).
#   s3_path KEY             KEY percent-encoded for a URL path (keeps A-Za-z0-9-._~/)
#   s3_qvalue VALUE         VALUE percent-encoded for a query string (keeps A-Za-z0-9-._~)
#   s3_make_bucket NAME     create bucket NAME on the plain gateway
#   s3_put BUCKET KEY FILE  upload FILE as BUCKET/KEY (signed payload hash)
#   s3_put_many BUCKET PREFIX COUNT [THREADS]  COUNT small objects PREFIX00000.. in one
#                           python3 process (keep-alive, threads, its own SigV4)
#   s3_assume_role SECONDS  temporary credentials from STS AssumeRole, valid SECONDS (900
#                           at least: radosgw refuses less) on $S3_STS_ENDPOINT only;
#                           prints one line "ACCESS_KEY_ID SECRET_ACCESS_KEY SESSION_TOKEN"
#   s3_request_log [GATEWAY] one line per request the gateway answered so far:
#                           "METHOD PATH?QUERY STATUS USER", USER being the user whose
#                           signature was accepted ("rio"), "anonymous" for an unsigned
#                           request, "-" for one refused in authentication; GATEWAY is
#                           "plain" (default) or "sts". Only signed GET/HEAD, say:
#                           s3_request_log | awk '$4 != "rio" || ($1 != "GET" && $1 != "HEAD")'
#                           prints nothing
#   s3_rss_kb               resident memory of the whole cluster, in KiB
#   s3_serve DIR [MEMSTORE_BYTES]  start_s3 and a bucket holding every file under DIR by
#                           its relative path, for the tests that otherwise read DIR from
#                           nginx (REMOTEIO_TEST_ORIGIN=s3).  Sets S3_MAP ("s3://BUCKET/
#                           endpoint=..." for a prefix mapping onto DIR), exports the
#                           user's AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, and notes
#                           where the setup's requests end in the request log
#   s3_publish FILE         upload FILE (under s3_serve's DIR) made after s3_serve
#   s3_check_signed_reads   ok when every request since the setup was a signed GET or HEAD
#                           of the user (and some were ranged GETs answered 206), else fail
# Stopped by lib.sh's EXIT trap: the gateways, then the OSD, then the monitor, by PID
# (in that order radosgw has no RADOS to wait for at shutdown).
# Call start_s3 in the test's own shell (not in $(...)): its daemons are that shell's jobs.
# shellcheck disable=SC2034 # the S3_* variables are for the scripts that source this one

S3_REGION=${S3_REGION:-us-east-1}
S3_HOST=s3.test
S3_EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
_S3_PIDS=()

# _s3_fatal STEP: the step that failed and the last lines of every daemon's log; exit 1
_s3_fatal() {
    local f
    echo "FATAL: S3 server: $1 (after $(( $(_s3_now_ms) - _s3_t0 )) ms)"
    for f in "$S3_DIR"/log/*.log "$S3_DIR"/*.out; do
        [ -s "$f" ] && { echo "--- $f"; tail -5 "$f"; }
    done
    exit 1
}

# _s3_stop PID: TERM, at most 5 s to go, then KILL; only while it is still our job
_s3_stop() {
    local pid=$1 i
    jobs -p | grep -qx "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}

# _s3_daemon NAME CMD...: start CMD in the background, stopped at exit (last started,
# first stopped)
_s3_daemon() {
    local name=$1; shift
    "$@" -c "$S3_DIR/ceph.conf" -f >"$S3_DIR/$name.out" 2>&1 &
    _S3_PIDS+=($!)
    at_exit "_s3_stop $!"
}

# _s3_now_ms / _s3_left: the clock, and the seconds start_s3 has left (at least 1)
_s3_now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
_s3_left() { local l=$(( (_s3_deadline - $(_s3_now_ms)) / 1000 )); echo $(( l > 0 ? l : 1 )); }

# _s3_wait WHAT PID CMD...: until CMD succeeds while daemon PID runs, within start_s3's time
_s3_wait() {
    local what=$1 pid=$2; shift 2
    while [ "$(_s3_now_ms)" -lt "$_s3_deadline" ]; do
        "$@" && return 0
        kill -0 "$pid" 2>/dev/null || _s3_fatal "$what: the daemon exited"
        sleep 0.1
    done
    _s3_fatal "$what: not within ${S3_START_TIMEOUT:-60} s"
}
# _s3_listening PID: sets _s3_port to the TCP port daemon PID listens on (a gateway binds
# port 0, the kernel's choice: no other process can have taken it in between)
_s3_listening() {
    local inodes st local_addr inode
    inodes=" $(find "/proc/$1/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null | tr -dc '0-9\n' | tr '\n' ' ')"
    while read -r _ local_addr _ st _ _ _ _ _ inode _; do
        [ "$st" = 0A ] && [[ $inodes == *" $inode "* ]] && { _s3_port=$((16#${local_addr##*:})); return 0; }
    done < "/proc/$1/net/tcp"
    return 1
}
_s3_http_up() { curl -s -o /dev/null -m 1 "http://127.0.0.1:$1/"; }
# A gateway started before the OSD is up creates its first pool while no OSD can hold it,
# and its first write then waits 5 s more (an objecter tick).
_s3_osd_up() { grep -q 'state: booting -> active' "$S3_DIR/log/osd.$1.log" 2>/dev/null; }

# _s3_admin ARGS...: radosgw-admin as client.admin (client.rgw's admin socket is the gateway's)
_s3_admin() {
    timeout -k 2 20 radosgw-admin -c "$S3_DIR/ceph.conf" "$@" 2>>"$S3_DIR/admin.err"
}

start_s3() {
    local bytes=${1:-$((256 << 20))} fsid uuid id mon_port lo
    require ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph curl python3 timeout
    unset CEPH_ARGS # every command reads ./s3/ceph.conf and nothing else
    _s3_t0=$(_s3_now_ms)
    _s3_deadline=$((_s3_t0 + ${S3_START_TIMEOUT:-60} * 1000))
    S3_DIR=$T/s3
    mkdir -p "$S3_DIR"/{run,log,mon,osd}
    fsid=$(cat /proc/sys/kernel/random/uuid)
    uuid=$(cat /proc/sys/kernel/random/uuid)
    mon_port=$(free_port)
    # The OSD binds four messenger ports, the first free ones from this range (below the
    # kernel's ephemeral range, so no connection's local port takes one).
    lo=$((10000 + RANDOM % 20000))
    S3_ACCESS_KEY=RIOTESTACCESSKEY0001
    S3_SECRET_KEY=riotest-secret-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
    cat > "$S3_DIR/ceph.conf" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
ms bind port min = $lo
ms bind port max = $((lo + 200))
auth cluster required = none
auth service required = none
auth client required = none
ms cluster mode = crc
ms service mode = crc
ms client mode = crc
ms mon cluster mode = crc
ms mon service mode = crc
ms mon client mode = crc
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 1
mon data avail crit = 0
client mount timeout = 15
# a monitor proposes each change at once, not once a second: a gateway's first start creates
# its pools one after another, each waiting for a proposal (2 s in all instead of 12)
paxos propose interval = 0.01
paxos min wait = 0.001
run dir = $S3_DIR/run
pid file = $S3_DIR/run/\$name.pid
admin socket = $S3_DIR/run/\$name.asok
log file = $S3_DIR/log/\$name.log
keyring = $S3_DIR/keyring
mon data = $S3_DIR/mon/\$id
osd data = $S3_DIR/osd/\$id
osd objectstore = memstore
memstore device bytes = $bytes
[client]
rgw dns name = $S3_HOST
# level 1 logs beast's access line per request (s3_request_log)
debug rgw = 1/5
rgw init timeout = 30
rgw enable gc threads = false
rgw enable lc threads = false
rgw enable quota threads = false
rgw dynamic resharding = false
rgw thread pool size = 64
# tcp_nodelay: without it a kept-alive connection's ranged GET takes 40 ms (Nagle against
# delayed ACKs) instead of 2 ms
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:0 tcp_nodelay=1
[client.rgw.sts]
rgw frontends = beast endpoint=127.0.0.1:0 tcp_nodelay=1
rgw sts key = $(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
rgw s3 auth use sts = true
CONF
    : > "$S3_DIR/keyring"
    monmaptool --create --addv a "[v2:127.0.0.1:$mon_port]" --fsid "$fsid" \
        "$S3_DIR/monmap" >"$S3_DIR/mkfs.out" 2>&1 || _s3_fatal "monmaptool failed"
    timeout -k 2 "$(_s3_left)" ceph-mon -c "$S3_DIR/ceph.conf" --mkfs -i a --monmap "$S3_DIR/monmap" \
        >>"$S3_DIR/mkfs.out" 2>&1 || _s3_fatal "ceph-mon --mkfs failed"
    _s3_daemon mon ceph-mon -i a
    id=$(timeout -k 2 "$(_s3_left)" ceph -c "$S3_DIR/ceph.conf" osd new "$uuid" \
        2>>"$S3_DIR/mkfs.out") || _s3_fatal "the monitor did not answer 'ceph osd new'"
    mkdir -p "$S3_DIR/osd/$id"
    timeout -k 2 "$(_s3_left)" ceph-osd -c "$S3_DIR/ceph.conf" -i "$id" --mkfs --osd-uuid "$uuid" \
        >>"$S3_DIR/mkfs.out" 2>&1 || _s3_fatal "ceph-osd --mkfs failed"
    _s3_daemon osd ceph-osd -i "$id"
    _s3_wait "the OSD going up" "${_S3_PIDS[1]}" _s3_osd_up "$id"
    _s3_daemon rgw radosgw -n client.rgw
    _s3_daemon rgw.sts radosgw -n client.rgw.sts
    _s3_wait "radosgw listening" "${_S3_PIDS[2]}" _s3_listening "${_S3_PIDS[2]}"
    S3_PORT=$_s3_port
    _s3_wait "radosgw (STS) listening" "${_S3_PIDS[3]}" _s3_listening "${_S3_PIDS[3]}"
    S3_STS_PORT=$_s3_port
    _s3_wait "radosgw answering on $S3_PORT" "${_S3_PIDS[2]}" _s3_http_up "$S3_PORT"
    _s3_wait "radosgw (STS) answering on $S3_STS_PORT" "${_S3_PIDS[3]}" _s3_http_up "$S3_STS_PORT"
    _s3_admin user create --uid=rio --display-name=rio --access-key="$S3_ACCESS_KEY" \
        --secret-key="$S3_SECRET_KEY" >/dev/null || _s3_fatal "radosgw-admin user create failed"
    S3_START_MS=$(( $(_s3_now_ms) - _s3_t0 ))
    S3_ENDPOINT=http://127.0.0.1:$S3_PORT
    S3_STS_ENDPOINT=http://127.0.0.1:$S3_STS_PORT
    S3_SERVICE=s3
    unset S3_SESSION_TOKEN
}

# s3_path KEY / s3_qvalue VALUE: percent-encoded as SigV4 wants it in a path (keeps '/')
# or a query value (curl 7.88 signs the path and query exactly as given)
s3_path() { _s3_encode '[A-Za-z0-9._~/-]' "$1"; }
s3_qvalue() { _s3_encode '[A-Za-z0-9._~-]' "$1"; }
_s3_encode() {
    local LC_ALL=C s=$2 out='' c i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        # shellcheck disable=SC2053 # $1 is a pattern
        if [[ $c == $1 ]]; then out+=$c; else printf -v c '%%%02X' "'$c"; out+=$c; fi
    done
    printf '%s\n' "$out"
}

# s3_curl CURL_ARGS...: see the top of this file. The credentials reach curl through a
# config on a pipe, not its command line.
s3_curl() {
    local h=(-H "x-amz-content-sha256: ${S3_PAYLOAD_SHA256:-$S3_EMPTY_SHA256}")
    [ -n "${S3_SESSION_TOKEN:-}" ] && h+=(-H "x-amz-security-token: $S3_SESSION_TOKEN")
    curl -sS -m 20 --aws-sigv4 "aws:amz:$S3_REGION:${S3_SERVICE:-s3}" \
        -K <(printf 'user = "%s:%s"\n' "$S3_ACCESS_KEY" "$S3_SECRET_KEY") "${h[@]}" "$@"
}

# _s3_ok WHAT CURL_ARGS...: s3_curl that must answer 2xx; otherwise say what it answered
_s3_ok() {
    local what=$1 out; shift
    out=$(s3_curl -w '\n%{http_code}' "$@") && [[ ${out##*$'\n'} == 2?? ]] && return 0
    echo "s3: $what failed: ${out//$'\n'/ }" >&2
    return 1
}

s3_make_bucket() {
    _s3_ok "creating bucket $1" -X PUT "$S3_ENDPOINT/$(s3_path "$1")"
}

s3_put() {
    local sum
    sum=$(sha256sum < "$3") || return 1
    S3_PAYLOAD_SHA256=${sum%% *} _s3_ok "PUT $1/$2" -T "$3" "$S3_ENDPOINT/$(s3_path "$1/$2")"
}

s3_put_many() {
    S3_ACCESS_KEY=$S3_ACCESS_KEY S3_SECRET_KEY=$S3_SECRET_KEY S3_REGION=$S3_REGION \
        timeout -k 2 120 "$PY" "$TOP/tests/s3/sigv4.py" put-many "$S3_ENDPOINT" "$@"
}

# s3_assume_role SECONDS: see the top of this file. The first call gives the user the
# roles capability and creates role "rio-role" (trusting that user, allowed s3:*).
# The credentials work on $S3_STS_ENDPOINT only (the gateway that holds the STS key).
s3_assume_role() {
    local body out sum f
    if [ ! -e "$S3_DIR/role.done" ]; then
        if ! { _s3_admin caps add --uid=rio --caps='roles=*' &&
               _s3_admin role create --role-name=rio-role --path=/ --assume-role-policy-doc='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam:::user/rio"]},"Action":["sts:AssumeRole"]}]}' &&
               _s3_admin role-policy put --role-name=rio-role --policy-name=all --policy-doc='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::*"]}]}'
             } >/dev/null; then
            echo "s3: setting up the role failed: $(tail -2 "$S3_DIR/admin.err")" >&2
            return 1
        fi
        : > "$S3_DIR/role.done"
    fi
    body="Action=AssumeRole&DurationSeconds=$1&RoleArn=arn%3Aaws%3Aiam%3A%3A%3Arole%2Frio-role&RoleSessionName=rio&Version=2011-06-15"
    sum=$(printf %s "$body" | sha256sum)
    out=$(S3_SERVICE=sts S3_PAYLOAD_SHA256=${sum%% *} S3_SESSION_TOKEN='' \
        s3_curl -d "$body" "$S3_STS_ENDPOINT/") || return 1
    for f in AccessKeyId SecretAccessKey SessionToken; do
        [[ $out == *"<$f>"* ]] || { echo "s3: AssumeRole failed: $out" >&2; return 1; }
    done
    for f in AccessKeyId SecretAccessKey SessionToken; do
        f=${out#*<"$f">}; printf '%s ' "${f%%</*}"
    done
    echo
}

# s3_request_log [plain|sts]: see the top of this file. radosgw's beast frontend writes an
# access line per request (debug rgw 1, its default) through Ceph's log thread:
#   beast: 0x..: 127.0.0.1 - USER [date] "METHOD TARGET HTTP/1.1" STATUS BYTES - "AGENT" RANGE latency=..
# A marker request written last shows that every earlier line has reached the file.
s3_request_log() {
    local name=client.rgw port=$S3_PORT mark=riotest-log-mark-$RANDOM$RANDOM i
    [ "${1:-plain}" = sts ] && { name=client.rgw.sts; port=$S3_STS_PORT; }
    curl -s -o /dev/null -m 5 "http://127.0.0.1:$port/$mark"
    for ((i = 0; i < 50; i++)); do
        grep -q "/$mark " "$S3_DIR/log/$name.log" && break
        sleep 0.1
    done
    sed -n 's/^.* beast: [^ ]* [^ ]* - \([^ ]*\) \[[^]]*\] "\([A-Z]*\) \([^ ]*\) [^"]*" \([0-9]*\) .*/\2 \3 \4 \1/p' \
        "$S3_DIR/log/$name.log" | grep -v ' /riotest-log-mark-'
}

s3_rss_kb() {
    local pid kb total=0
    for pid in "${_S3_PIDS[@]}"; do
        kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) && total=$((total + ${kb:-0}))
    done
    echo "$total"
}

# s3_serve DIR [MEMSTORE_BYTES]: see the top of this file.  The setup's requests are
# those logged while s3_serve or s3_publish ran (the test makes no other request then):
# their line ranges in s3_request_log are in _s3_setup (FIRST:LAST ...).
s3_serve() {
    local f from
    _S3_SERVE_DIR=$(cd "$1" && pwd)
    _S3_SERVE_BUCKET=riotest-files
    start_s3 "${2:-}"
    s3_make_bucket "$_S3_SERVE_BUCKET" || _s3_fatal "creating bucket $_S3_SERVE_BUCKET"
    while IFS= read -r -d '' f; do
        s3_put "$_S3_SERVE_BUCKET" "${f#"$_S3_SERVE_DIR"/}" "$f" || _s3_fatal "uploading $f"
    done < <(find "$_S3_SERVE_DIR" -type f -print0)
    _s3_setup="1:$(s3_request_log | wc -l)"
    S3_MAP="s3://$_S3_SERVE_BUCKET/ endpoint=$S3_ENDPOINT"
    export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
    unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3
}

s3_publish() {
    local f from rc
    f=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
    from=$(( $(s3_request_log | wc -l) + 1 ))
    s3_put "$_S3_SERVE_BUCKET" "${f#"$_S3_SERVE_DIR"/}" "$f"; rc=$?
    _s3_setup="$_s3_setup $from:$(s3_request_log | wc -l)"
    return $rc
}

s3_check_signed_reads() {
    local log bad n
    log=$(s3_request_log | awk -v setup="$_s3_setup" '
        BEGIN { n = split(setup, r, " "); for (i = 1; i <= n; i++) { split(r[i], b, ":"); lo[i] = b[1]; hi[i] = b[2] } }
        { for (i = 1; i <= n; i++) if (NR >= lo[i] && NR <= hi[i]) next; print }')
    bad=$(awk '$4 != "rio" || ($1 != "GET" && $1 != "HEAD")' <<<"$log" | sort | uniq -c | sort -rn | head -3)
    n=$(grep -c . <<<"$log")
    if [ -z "$bad" ] && grep -q '^GET .* 206 rio$' <<<"$log"; then
        ok "the S3 server saw only signed GET/HEAD ($n requests, $(grep -c '^GET .* 206 ' <<<"$log") ranged GETs)"
    else
        fail "the S3 server saw only signed GET/HEAD" "${bad:-no ranged GET among $n requests}"
    fi
}
