#!/usr/bin/env bash
# tests/t-s3.sh: s3:// mappings against a real S3 server (Ceph radosgw, tests/s3/server.sh,
# which checks every signature).
#
# dd, cat, sha256sum, cmp and python3 read s3:// objects through a prefix mapping and an
# exact one (path style on the server's endpoint, from endpoint= and from
# AWS_ENDPOINT_URL_S3), on the direct path and libcurl's: the object's bytes; qemu-img
# info/convert of a qcow2 in the bucket; the server's log shows only signed GETs of ours.
# A wrong secret is EACCES with one line naming SignatureDoesNotMatch and the credentials'
# source, an unknown key InvalidAccessKeyId, no credentials the sources tried; a missing
# key or bucket is ENOENT; a range GET refused after a good open names S3's code (403
# AccessDenied from a stub, NoSuchKey when the object is deleted mid-read); STS temporary credentials work with their session token and
# fail without it; sign=0 reads a public-read object unsigned (and a private one is
# AccessDenied); a wrong region is corrected once from the server's answer (a stub on
# nginx that answers 301 with x-amz-bucket-region), and the profile's region is read from
# the config file once, not per request (strace); at REMOTEIO_LOG=debug no secret or
# token is in stderr or the stats.  A header= mapping on nginx: the line arrives, and is
# not sent across a redirect to another host; header_command's lines are sent and
# renewed (header_renew) during a long read.  Virtual-hosted style reads go through a
# loopback proxy (BUCKET.$S3_HOST resolves nowhere); for AWS's endpoints only the URL
# is checked (nothing is sent).  Prints dd of a 256 MiB object, signed vs sign=0, same
# run.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/s3/server.sh"
require python3 curl sha256sum cmp dd qemu-img
require_shim
unset REMOTEIO_MAP REMOTEIO_CONFIG REMOTEIO_STATS REMOTEIO_LOG REMOTEIO_LOG_FILE \
    AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 \
    AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
export REMOTEIO_TIMEOUT=5 REMOTEIO_DEADLINE=20 REMOTEIO_RETRIES=1
start_s3 $((768 << 20))

B=riotest
OBJ="dir/obj one+é.bin" # a key that needs percent-encoding
make_file "$T/obj" $(( (3 << 20) + 12345 ))
make_file "$T/raw" $((8 << 20))
qemu-img convert -f raw -O qcow2 "$T/raw" "$T/disk.qcow2"
head -c $((256 << 20)) /dev/urandom > "$T/big"
: > "$T/empty"
check "bucket and objects uploaded" eval 's3_make_bucket $B && s3_put $B "$OBJ" "$T/obj" &&
    s3_put $B img/disk.qcow2 "$T/disk.qcow2" && s3_put $B pub/public.bin "$T/obj" &&
    s3_put $B pub/big.bin "$T/big" && s3_put $B "dir/empty" "$T/empty" &&
    s3_put $B "dir/we ird=key~(1)&x" "$T/obj" && s3_put $B gone/obj.bin "$T/obj"'
for k in pub/public.bin pub/big.bin; do
    s3_curl -o /dev/null -X PUT -H "Content-Length: 0" -H "x-amz-acl: public-read" "$S3_ENDPOINT/$B/$k?acl="
done
st=$(curl -s -o /dev/null -w '%{http_code}' -r 0-9 "$S3_ENDPOINT/$B/pub/public.bin")
check "the public-read object answers an unsigned GET (206)" test "$st" = 206

CONF=$T/remoteio.conf
cat > "$CONF" <<EOF
map /s3/ s3://$B/dir/ endpoint=$S3_ENDPOINT
map /one s3://$B/dir/obj%20one+%C3%A9.bin endpoint=$S3_ENDPOINT
map /img/ s3://$B/img/
map /pub/ s3://$B/pub/ endpoint=$S3_ENDPOINT sign=0
map /pubsigned/ s3://$B/pub/ endpoint=$S3_ENDPOINT
map /priv-unsigned/ s3://$B/dir/ endpoint=$S3_ENDPOINT sign=0
map /nob/ s3://riotest-no-such-bucket/ endpoint=$S3_ENDPOINT
map /gone/ s3://$B/gone/ endpoint=$S3_ENDPOINT readahead=0
map /gone2/ s3://$B/dir/ endpoint=$S3_ENDPOINT readahead=0
map /sts/ s3://$B/dir/ endpoint=$S3_STS_ENDPOINT
map /vh/ s3://$B/dir/ endpoint=http://$S3_HOST:$S3_PORT path_style=0 retries=0
EOF
export REMOTEIO_CONFIG=$CONF
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
# /img/ takes its endpoint from the environment
export AWS_ENDPOINT_URL_S3=$S3_ENDPOINT
V="/s3/obj one+é.bin"

# 8 threads of random preads (each request signed on its own thread), every byte compared.
PREADER=$(preader_path)
for d in 1 0; do
    REMOTEIO_DIRECT=$d shim "$PREADER" -q -t 8 -m rand -n 100 -b 200K -c "$T/obj" "$V" >"$T/pr" 2>&1
    check "8 threads of random preads, every byte right (direct=$d)" test $? = 0 -a ! -s "$T/pr"
done
if [[ "${REMOTEIO_TEST_BUILD:-build}" == *tsan* ]]; then
    # Under TSan, cat, dd and the rest crash with the shim of any version (not so preader).
    echo "# TSan build: only the preader cases"
    finish; exit
fi

for d in 1 0; do
    export REMOTEIO_DIRECT=$d
    shim dd if="$V" of="$T/out" bs=64k status=none 2>"$T/err"
    same_bytes "dd of a prefix mapping (direct=$d)" "$T/obj" "$T/out"
    shim cat /one > "$T/out" 2>>"$T/err"
    same_bytes "cat of an exact mapping (direct=$d)" "$T/obj" "$T/out"
    want=$(sha256sum < "$T/obj" | cut -d' ' -f1)
    got=$(shim sha256sum "$V" 2>>"$T/err" | cut -d' ' -f1)
    check "sha256sum (direct=$d)" test "$got" = "$want"
    check "cmp (direct=$d)" shim cmp "$V" "$T/obj"
    got=$(shim "$PY" -c '
import hashlib, os, sys
f = open(sys.argv[1], "rb")
f.seek(1000000); a = f.read(70000); f.seek(5); b = f.read(3)
print(hashlib.sha256(a + b).hexdigest(), os.stat(sys.argv[1]).st_size)' "$V" 2>>"$T/err")
    want=$("$PY" -c '
import hashlib, os, sys
f = open(sys.argv[1], "rb")
f.seek(1000000); a = f.read(70000); f.seek(5); b = f.read(3)
print(hashlib.sha256(a + b).hexdigest(), os.stat(sys.argv[1]).st_size)' "$T/obj")
    check "python3 seeks and reads (direct=$d)" test "$got" = "$want"
    if [ -s "$T/err" ]; then fail "no line printed on good reads (direct=$d)" "$(head -3 "$T/err")"
    else ok "no line printed on good reads (direct=$d)"; fi
done
export REMOTEIO_DIRECT=1

got=$(shim stat -c %s /s3/empty 2>"$T/err"):$(shim cat /s3/empty 2>>"$T/err" | wc -c)
check "an empty object: size 0, no bytes (S3 answers its range with 416)" test "$got" = 0:0
shim cat "/s3/we ird=key~(1)&x" > "$T/out" 2>>"$T/err"
same_bytes "a key with = ~ ( ) & and a blank" "$T/obj" "$T/out"

# (qemu can deadlock at exit under a preloaded sanitizer runtime, shim or not: see lib.sh)
if timeout -k 2 15 env LD_PRELOAD="$SHIM" qemu-io -f raw -c quit "$T/no-such-image" >/dev/null 2>&1 ||
   [ $? -ne 124 ]; then
    got=$(shim timeout -k 2 30 qemu-img info /img/disk.qcow2 2>"$T/err" | grep -E '^(file format|virtual size):')
    check "qemu-img info of a qcow2 in the bucket (endpoint from AWS_ENDPOINT_URL_S3)" \
        test "$got" = "$(printf 'file format: qcow2\nvirtual size: 8 MiB (%s bytes)' $((8 << 20)))"
    shim timeout -k 2 30 qemu-img convert -f qcow2 -O raw /img/disk.qcow2 "$T/conv.raw" 2>>"$T/err"
    same_bytes "qemu-img convert of the qcow2" "$T/raw" "$T/conv.raw"
else
    echo "# qemu-img steps skipped: qemu hangs at exit under LD_PRELOAD='$SHIM'"
fi

# Everything so far: signed GETs of the user (the setup's PUTs and the server's own
# start-up request aside).
s3_request_log > "$T/log"
ours=$(grep -v -e '^PUT ' -e '^GET / ' "$T/log" | grep -v "^GET /$B/pub/public.bin 206 anonymous$")
bad=$(awk '$4 != "rio" || ($1 != "GET" && $1 != "HEAD")' <<<"$ours")
[ -n "$ours" ] && [ -z "$bad" ] && ok "the server saw only signed GET/HEAD ($(wc -l <<<"$ours") requests)" ||
    fail "only signed GET/HEAD" "$(head -3 <<<"$bad")"

# err NAME WANT_ERRNO_TEXT WANT_LINE_RE PATH [ENV...]: opening PATH fails so, with a line
err() {
    local name=$1 want=$2 re=$3 path=$4; shift 4
    env "$@" LD_PRELOAD="$SHIM" cat "$path" >/dev/null 2>"$T/err"
    if grep -q "$want" "$T/err" && grep -Eq "$re" "$T/err"; then ok "$name"
    else fail "$name" "$(cat "$T/err")"; fi
}
WRONG=wrong-$S3_SECRET_KEY
err "wrong secret: EACCES, SignatureDoesNotMatch and the source named" "Permission denied" \
    "^remoteio: /one: s3://$B/dir/obj%20one\+%C3%A9.bin: HTTP 403 SignatureDoesNotMatch \(credentials from environment\); access denied$" \
    /one AWS_SECRET_ACCESS_KEY="$WRONG"
grep -q -- "$WRONG\|$S3_SECRET_KEY" "$T/err" && fail "the wrong secret is not printed" "$(cat "$T/err")"
err "unknown access key: EACCES, InvalidAccessKeyId" "Permission denied" \
    "HTTP 403 InvalidAccessKeyId \(credentials from environment\)" /one AWS_ACCESS_KEY_ID=RIOTESTNOSUCHKEY0000
err "no credentials: EACCES, the sources tried" "Permission denied" \
    "no AWS credentials found (for profile [a-z]+ )?\(tried: environment" /one AWS_ACCESS_KEY_ID= AWS_SECRET_ACCESS_KEY=
err "NoSuchKey: ENOENT" "No such file or directory" "." "/s3/no such key"
err "NoSuchBucket: ENOENT" "No such file or directory" "." /nob/x
err "sign=0 on a private object: EACCES, AccessDenied" "Permission denied" \
    "HTTP 403 AccessDenied \(unsigned: sign=0\)" "/priv-unsigned/obj one+é.bin"

# NoSuchKey to a range GET after a good open (the object deleted meanwhile): the code is
# named, as at open, and the read fails (ESTALE).
rm -f "$T/ready" "$T/go"
shim "$PY" -c '
import errno, os, sys, time
fd = os.open("/gone/obj.bin", os.O_RDONLY)
os.pread(fd, 4096, 0)
open(sys.argv[1], "w").close()
for _ in range(200):
    if os.path.exists(sys.argv[2]): break
    time.sleep(0.05)
try:
    os.pread(fd, 4096, 2 << 20); print("read")
except OSError as e:
    print(errno.errorcode[e.errno])' "$T/ready" "$T/go" > "$T/out" 2>"$T/err" &
gone_pid=$!
for _ in $(seq 1 100); do [ -e "$T/ready" ] && break; sleep 0.05; done
s3_curl -o /dev/null -X DELETE "$S3_ENDPOINT/$B/gone/obj.bin"
: > "$T/go"
wait $gone_pid
if [ "$(cat "$T/out")" = ESTALE ] &&
   grep -q "GET s3://$B/gone/obj.bin bytes .*: HTTP 404 NoSuchKey: the object is gone" "$T/err"; then
    ok "NoSuchKey on a range GET after a good open: ESTALE, the code named"
else fail "NoSuchKey on a range GET after a good open" "$(cat "$T/out" "$T/err")"; fi

# sign=0: a public-read object, unsigned (no credentials in the environment at all).
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY LD_PRELOAD="$SHIM" cat /pub/public.bin > "$T/out" 2>"$T/err"
same_bytes "sign=0 reads a public-read object" "$T/obj" "$T/out"
n=$(s3_request_log | grep -c "^GET /$B/pub/public.bin 206 anonymous$")
check "sign=0: the server saw anonymous GETs ($n)" test "$n" -ge 2

# Temporary credentials from STS: with their session token, and without it.
if read -r tak tsk ttok < <(s3_assume_role 900) && [ -n "${ttok:-}" ]; then
    AWS_ACCESS_KEY_ID=$tak AWS_SECRET_ACCESS_KEY=$tsk AWS_SESSION_TOKEN=$ttok REMOTEIO_LOG=debug \
        REMOTEIO_STATS=$T/stats shim cat "/sts/obj one+é.bin" > "$T/out" 2>"$T/debug"
    same_bytes "STS temporary credentials with their session token" "$T/obj" "$T/out"
    err "STS temporary credentials without their token: EACCES" "Permission denied" \
        "HTTP 403 [A-Za-z]+ \(credentials from environment\)" "/sts/obj one+é.bin" \
        AWS_ACCESS_KEY_ID="$tak" AWS_SECRET_ACCESS_KEY="$tsk"
    n=$(s3_request_log sts | grep -c "^GET /$B/dir/obj%20one%2B%C3%A9.bin 206 ")
    check "the STS gateway served signed GETs ($n)" test "$n" -ge 2
    # No secret, token or signature at debug level, in stderr or the stats.
    leaked=
    for s in "$tsk" "$ttok" "$S3_SECRET_KEY" "Signature=" "AWS4-HMAC"; do
        grep -qF -- "$s" "$T/debug" "$T/stats" && leaked="$leaked ${s:0:12}..."
    done
    check "debug stderr has lines ($(wc -l < "$T/debug")), and the stats" test -s "$T/debug" -a -s "$T/stats"
    [ -z "$leaked" ] && ok "no secret, token or signature in debug stderr or the stats" ||
        fail "no secret in debug stderr or the stats" "$leaked"
else
    fail "STS AssumeRole gives temporary credentials"
fi

# Region: the profile's (here AWS_REGION) is signed for; a debug line names it.
AWS_REGION=eu-test-1 REMOTEIO_LOG=debug shim cat /one > "$T/out" 2>"$T/err"
same_bytes "AWS_REGION is used (the server takes any region)" "$T/obj" "$T/out"
check "the debug line names the request's region" grep -q "region eu-test-1, environment" "$T/err"

# The profile's region is read once per profile, not once per request: during a read of
# many requests the config file is opened twice at most (for the region, and when the
# credentials are first fetched; before, once per request).
if command -v strace >/dev/null; then
    printf '[default]\nregion = eu-cfg-1\n' > "$T/aws-config"
    AWS_CONFIG_FILE=$T/aws-config REMOTEIO_LOG=debug REMOTEIO_STATS=$T/stats.region REMOTEIO_CHUNK_SIZE=64K strace -f -qq -e trace=open,openat \
        -o "$T/strace" env LD_PRELOAD="$SHIM" "$PY" -c '
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
for i in range(24): os.pread(fd, 4096, i * 131072)' "/gone2/obj one+é.bin" 2>"$T/err"
    n=$(grep -o ' requests=[0-9]*' "$T/stats.region" | cut -d= -f2)
    o=$(grep -c "\"$T/aws-config\"" "$T/strace")
    check "the profile's region is used (the debug line names it)" grep -q "(region eu-cfg-1, environment)" "$T/err"
    check "the profile's region: ${n:-0} requests, the config file opened $o times" \
        test "${n:-0}" -ge 20 -a "$o" -le 2
else
    echo "# strace is not installed: the region cache is not checked"
fi

# Virtual-hosted style: BUCKET.HOST:PORT.  $B.$S3_HOST resolves nowhere: the requests go
# through a proxy on loopback (nginx, which hands them to the server with their Host),
# so that no name is ever looked up.
start_nginx "$T" "location / { proxy_pass http://127.0.0.1:$S3_PORT; proxy_set_header Host \$http_host;
    proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_buffering off; }"
http_proxy=$ORIGIN REMOTEIO_LOG=debug shim cat "/vh/obj one+é.bin" > "$T/out" 2>"$T/err"
check "path_style=0 goes to http://$B.$S3_HOST:$S3_PORT/..." \
    grep -q "GET http://$B.$S3_HOST:$S3_PORT/dir/obj%20one%2B%C3%A9.bin (region" "$T/err"
same_bytes "virtual-hosted style reads (the server checks the signed Host)" "$T/obj" "$T/out"
n=$(s3_request_log | grep -c "^GET /dir/obj%20one%2B%C3%A9.bin 206 rio$")
check "virtual-hosted: the server saw signed GETs of /KEY ($n)" test "$n" -ge 2

# On AWS (no endpoint): virtual-hosted in the region, path style for a bucket with a '.'.
# Only the URL is checked: a proxy on a closed loopback port keeps the request here.
for m in "s3://$B/k.bin https://$B.s3.eu-west-1.amazonaws.com/k.bin" \
         "s3://my.bucket/k.bin https://s3.eu-west-1.amazonaws.com/my.bucket/k.bin"; do
    env -u AWS_ENDPOINT_URL_S3 https_proxy=http://127.0.0.1:1 REMOTEIO_CONFIG= \
        REMOTEIO_MAP="/aws=${m% *} region=eu-west-1 retries=0" REMOTEIO_LOG=debug \
        LD_PRELOAD="$SHIM" cat /aws 2>"$T/err" >/dev/null
    check "on AWS ${m% *} goes to ${m#* }" grep -q "GET ${m#* } (region eu-west-1" "$T/err"
done

# nginx: a header= mapping (the line arrives; not across a redirect to another host), and
# a stub S3 that answers a request signed for us-east-1 with 301 and the bucket's region.
W=$T/www
mkdir -p "$W/tok" "$W/other" "$W/$B/k" "$W/$B/exp" "$W/$B/k403" "$W/$B/k403s3"
cp "$T/obj" "$W/tok/data.bin"; cp "$T/obj" "$W/other/data.bin"; cp "$T/obj" "$W/$B/k/data.bin"; cp "$T/obj" "$W/$B/exp/data.bin"; cp "$T/obj" "$W/$B/k403/data.bin"; cp "$T/obj" "$W/$B/k403s3/data.bin"
TOKEN="Bearer rio-token-$RANDOM$RANDOM"
start_nginx "$W" "
    access_log $T/all.log rio;
    access_log $T/tok.log rio if=\$http_x_rio_token;
    location /tok/ {
        if (\$http_x_rio_token != \"$TOKEN\") { return 401; }
        rewrite ^/tok/away.bin\$ http://localhost:\$server_port/other/data.bin redirect;
    }
    location /$B/exp/ { return 403 \"<Error><Code>ExpiredToken</Code></Error>\"; }
    location /$B/bad400/ { return 400 \"<Error><Code>InvalidArgument</Code></Error>\"; }
    location /$B/k403/ { if (\$http_range != \"bytes=0-0\") { return 403; } }
    location /$B/k403s3/ { if (\$http_range != \"bytes=0-0\") { return 403 \"<Error><Code>AccessDenied</Code></Error>\"; } }
    location /$B/ {
        if (\$http_authorization ~ \"/us-east-1/s3/\") {
            add_header x-amz-bucket-region eu-stub-1 always;
            return 301;
        }
    }"
cat > "$T/tok.conf" <<EOF
map /tok/ $ORIGIN/tok/ header="X-Rio-Token: $TOKEN"
map /stub/ s3://$B/k/ endpoint=$ORIGIN
map /exp/ s3://$B/exp/ endpoint=$ORIGIN
map /k403/ s3://$B/k403/ endpoint=$ORIGIN
map /k403s3/ s3://$B/k403s3/ endpoint=$ORIGIN
map /bad400/ s3://$B/bad400/ endpoint=$ORIGIN
EOF
for d in 1 0; do
    : > "$T/tok.log"
    REMOTEIO_DIRECT=$d REMOTEIO_CONFIG=$T/tok.conf REMOTEIO_LOG=debug shim cat /tok/data.bin > "$T/out" 2>"$T/err"
    same_bytes "header= mapping: reads where the origin requires the line (direct=$d)" "$T/obj" "$T/out"
    n=$(grep -c '"GET /tok/data.bin' "$T/tok.log")
    check "header= mapping: the line arrived on every request ($n)" test "$n" -ge 2
    : > "$T/tok.log"
    REMOTEIO_DIRECT=$d REMOTEIO_CONFIG=$T/tok.conf REMOTEIO_LOG=debug shim cat /tok/away.bin > "$T/out" 2>>"$T/err"
    same_bytes "header= mapping: a redirect to another host is followed (direct=$d)" "$T/obj" "$T/out"
    if grep -q '/other/' "$T/tok.log"; then fail "the line is not sent to the other host (direct=$d)" "$(cat "$T/tok.log")"
    else ok "the line is not sent to the other host (direct=$d)"; fi
    grep -qF "${TOKEN#Bearer }" "$T/err" && fail "the header's value is never printed" "$(cat "$T/err")"
done
# header_command: its lines are sent; header_renew=1s runs it again during a long read
# (the reads go on meanwhile); neither the command nor its output is printed.
cat > "$T/token.sh" <<EOF
echo run >> "$T/runs"
printf 'X-Rio-Token: $TOKEN\r\n\r\n'
EOF
: > "$T/runs"
cat > "$T/cmd.conf" <<EOF
map /tokc/ $ORIGIN/tok/ header_command="sh $T/token.sh" header_renew=1s readahead=0
EOF
REMOTEIO_CONFIG=$T/cmd.conf REMOTEIO_CHUNK_SIZE=64K REMOTEIO_LOG=debug shim "$PY" -c '
import sys, time
f = open(sys.argv[1], "rb"); out = open(sys.argv[2], "wb")
out.write(f.read(1 << 20)); time.sleep(1.2); out.write(f.read(1 << 20)); time.sleep(1.2)
out.write(f.read())' /tokc/data.bin "$T/out" 2>"$T/err"
same_bytes "header_command: its lines are sent (the origin requires them)" "$T/obj" "$T/out"
n=$(wc -l < "$T/runs")
check "header_renew=1s: the command ran again during the read ($n runs)" test "$n" -ge 2
grep -qF -e "${TOKEN#Bearer }" -e token.sh "$T/err" &&
    fail "header_command: neither the command nor its output is printed" "$(cat "$T/err")"
echo 'echo not a header' > "$T/token.sh"
REMOTEIO_CONFIG=$T/cmd.conf shim cat /tokc/data.bin >/dev/null 2>"$T/err"
check "header_command printing no header line: one line says so" \
    grep -q "header_command printed a line that is no header line" "$T/err"
REMOTEIO_MAP="/tok/=$ORIGIN/tok/" shim cat /tok/data.bin > /dev/null 2>"$T/err"
check "without the header= line the origin refuses (EACCES)" grep -q "Permission denied" "$T/err"
REMOTEIO_CONFIG=$T/tok.conf shim cat /stub/data.bin > "$T/out" 2>"$T/err"
same_bytes "a wrong region is corrected from the server's answer" "$T/obj" "$T/out"
check "one line says so" test "$(grep -c 'the bucket is in region eu-stub-1, not us-east-1; using eu-stub-1' "$T/err")" = 1

# ExpiredToken at open: the credentials are fetched again and the request retried once
# (from the environment they are the same, so it is then refused); a 403 on a range GET
# likewise.
REMOTEIO_CONFIG=$T/tok.conf REMOTEIO_LOG=info shim cat /exp/data.bin >/dev/null 2>"$T/err"
n=$(grep -c "GET /$B/exp/data.bin" "$T/all.log")
if grep -q "ExpiredToken; fetching the credentials (from environment) again" "$T/err" &&
   grep -q "HTTP 403 ExpiredToken (credentials from environment); access denied" "$T/err" &&
   grep -q "Permission denied" "$T/err" && [ "$n" = 2 ]; then
    ok "ExpiredToken: fetched again, retried once ($n requests), then EACCES"
else fail "ExpiredToken at open" "$n requests; $(cat "$T/err")"; fi
REMOTEIO_CONFIG=$T/tok.conf REMOTEIO_RETRIES=3 shim cat /k403/data.bin >/dev/null 2>"$T/err"
n=$(grep -c '^403 .*GET /'"$B"'/k403/data.bin' "$T/all.log")
if grep -q "HTTP 403: access denied (credentials from environment); giving up" "$T/err" &&
   grep -q "Input/output error\|Permission denied" "$T/err" && [ "$n" -ge 2 ]; then
    ok "403 on a range GET: fetched again, then refused ($n refused requests)"
else fail "403 on a range GET" "$n requests; $(cat "$T/err")"; fi

# A 403 with S3's code to a range GET after a good open: the code is named, as at open.
for d in 1 0; do
    REMOTEIO_DIRECT=$d REMOTEIO_CONFIG=$T/tok.conf REMOTEIO_RETRIES=3 shim cat /k403s3/data.bin >/dev/null 2>"$T/err"
    check "403 AccessDenied on a range GET: the code is named (direct=$d)" grep -q \
        "HTTP 403 AccessDenied (credentials from environment); access denied; giving up" "$T/err"
done

REMOTEIO_CONFIG=$T/tok.conf shim cat /bad400/data.bin >/dev/null 2>"$T/err"
check "another 400: EIO, its S3 code named" grep -q \
    "s3://$B/bad400/data.bin: HTTP 400 InvalidArgument when opening" "$T/err"

# Figure: dd of a 256 MiB object through the shim, signed and unsigned, same run.
rate() {
    local t0 t1
    t0=$(date +%s%N)
    shim dd if="$1" of=/dev/null bs=1M status=none 2>>"$T/err.big" || return 1
    t1=$(date +%s%N)
    echo $(( (256 << 20) * 1000000 / ((t1 - t0) / 1000) ))
}
: > "$T/err.big"
# (alternately, three times each, best of each: the server verifies signatures on the
# same two cores, which other work shares)
signed= unsigned=
for round in 1 2 3; do
    for path in /pubsigned/big.bin /pub/big.bin; do
        r=$(rate "$path") || { fail "dd of the 256 MiB object" "$(cat "$T/err.big")"; break 2; }
        if [ "$path" = /pub/big.bin ]; then unsigned="$unsigned $((r / 1000000))"
        else signed="$signed $((r / 1000000))"; fi
    done
done
best() { tr ' ' '\n' <<<"$1" | sort -n | tail -1; }
echo "# dd of a 256 MiB object, MB/s: signed$signed (best $(best "$signed")), sign=0$unsigned (best $(best "$unsigned"))"
finish
