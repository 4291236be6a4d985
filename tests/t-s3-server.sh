#!/usr/bin/env bash
# tests/t-s3-server.sh: the tests' own S3 server (tests/s3/server.sh) does what the S3
# tests rely on, checked with real requests signed by curl's --aws-sigv4:
# a signed ranged GET gets the object's bytes with 206 (path and virtual-hosted style);
# a wrong secret, an unknown key and no signature get 403 with the right S3 error code;
# If-Match with a wrong ETag gets 412 on GET and HEAD; temporary credentials from STS
# AssumeRole work with their session token and fail without it; a listing of more than
# 1,000 keys comes in pages joined by a continuation token; the request log shows each
# request with its method, path, status and user.
# Prints the start-up time, the cluster's RSS and a 4 KiB ranged GET's latency.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/s3/server.sh"
require curl python3 sha256sum
t_begin=$(date +%s%N)
start_s3
echo "# S3 server: gateways answering $S3_START_MS ms after start, cluster RSS $(( $(s3_rss_kb) / 1024 )) MiB"

B=riotest
OBJ="dir/obj one+é.bin" # a key that needs percent-encoding
make_file "$T/obj" $((1 << 20))
check "bucket created" s3_make_bucket "$B"
check "object uploaded" s3_put "$B" "$OBJ" "$T/obj"
URL=$S3_ENDPOINT/$B/$(s3_path "$OBJ")
dd if="$T/obj" of="$T/want" bs=4096 skip=100 count=1 status=none

# status URL CURL_ARGS...: the HTTP status of a signed request, its body in $T/body
status() { local u=$1; shift; s3_curl -o "$T/body" -w '%{http_code}' "$@" "$u"; }
# s3_code: the S3 error code of the last answer
s3_code() { sed -n 's:.*<Code>\([^<]*\)</Code>.*:\1:p' "$T/body"; }
# expect NAME WANT_STATUS WANT_CODE GOT_STATUS
expect() {
    if [ "$4" = "$2" ] && [ "$(s3_code)" = "$3" ]; then ok "$1"
    else fail "$1" "want $2 $3, got $4 $(s3_code)"; fi
}

st=$(status "$URL" -r 409600-413695)
if [ "$st" = 206 ] && cmp -s "$T/body" "$T/want"; then ok "signed ranged GET: 206 and the object's bytes"
else fail "signed ranged GET" "status $st, $(cmp "$T/body" "$T/want" 2>&1)"; fi
st=$(status "$URL" -H "Range: bytes=409600-413695")
if [ "$st" = 206 ] && cmp -s "$T/body" "$T/want"; then ok "ranged GET with a signed Range header"
else fail "ranged GET with a signed Range header" "status $st"; fi
st=$(status "http://$B.$S3_HOST:$S3_PORT/$(s3_path "$OBJ")" -r 409600-413695 \
    --resolve "$B.$S3_HOST:$S3_PORT:127.0.0.1")
if [ "$st" = 206 ] && cmp -s "$T/body" "$T/want"; then ok "virtual-hosted style GET"
else fail "virtual-hosted style GET" "status $st $(s3_code)"; fi

expect "wrong secret -> 403 SignatureDoesNotMatch" 403 SignatureDoesNotMatch \
    "$(S3_SECRET_KEY=wrong-$S3_SECRET_KEY status "$URL" -r 0-99)"
expect "unknown access key -> 403 InvalidAccessKeyId" 403 InvalidAccessKeyId \
    "$(S3_ACCESS_KEY=RIOTESTNOSUCHKEY0000 status "$URL" -r 0-99)"
st=$(curl -sS -m 20 -o "$T/body" -w '%{http_code}' -r 0-99 "$URL")
expect "unsigned -> 403 AccessDenied" 403 AccessDenied "$st"
# (why the signature tests use the plain gateway)
expect "on the STS gateway a wrong secret -> 403 AccessDenied" 403 AccessDenied \
    "$(S3_SECRET_KEY=wrong-$S3_SECRET_KEY status "$S3_STS_ENDPOINT/$B/$(s3_path "$OBJ")" -r 0-99)"

etag=$(s3_curl -I "$URL" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: *//p')
if [ -n "$etag" ]; then ok "HEAD gives an ETag ($etag)"; else fail "HEAD gives an ETag"; fi
check "If-Match with the right ETag -> 206" \
    test "$(status "$URL" -r 0-99 -H "If-Match: $etag")" = 206
expect "If-Match with a wrong ETag -> 412 on GET" 412 PreconditionFailed \
    "$(status "$URL" -r 0-99 -H 'If-Match: "0123456789abcdef0123456789abcdef"')"
st=$(status "$URL" -I -H 'If-Match: "0123456789abcdef0123456789abcdef"')
check "If-Match with a wrong ETag -> 412 on HEAD" test "$st" = 412

# Temporary credentials: valid on the STS gateway with their token, refused without it.
if read -r tak tsk ttok < <(s3_assume_role 900) && [ -n "${ttok:-}" ]; then
    ok "STS AssumeRole gives temporary credentials"
    SURL=$S3_STS_ENDPOINT/$B/$(s3_path "$OBJ")
    st=$(S3_ACCESS_KEY=$tak S3_SECRET_KEY=$tsk S3_SESSION_TOKEN=$ttok status "$SURL" -r 409600-413695)
    if [ "$st" = 206 ] && cmp -s "$T/body" "$T/want"; then ok "temporary credentials with x-amz-security-token: 206, right bytes"
    else fail "temporary credentials with x-amz-security-token" "status $st $(s3_code)"; fi
    st=$(S3_ACCESS_KEY=$tak S3_SECRET_KEY=$tsk status "$SURL" -r 0-99)
    if [ "$st" = 403 ]; then ok "temporary credentials without their token -> 403 $(s3_code)"
    else fail "temporary credentials without their token" "status $st"; fi
    st=$(S3_ACCESS_KEY=$tak S3_SECRET_KEY=$tsk S3_SESSION_TOKEN=$ttok status "$URL" -r 0-99)
    if [ "$st" = 403 ]; then ok "temporary credentials on the plain gateway -> 403 $(s3_code)"
    else fail "temporary credentials on the plain gateway" "status $st"; fi
    st=$(S3_ACCESS_KEY=$tak S3_SECRET_KEY=wrong S3_SESSION_TOKEN=$ttok status "$SURL" -r 0-99)
    if [ "$st" = 403 ]; then ok "temporary credentials with a wrong secret -> 403 $(s3_code)"
    else fail "temporary credentials with a wrong secret" "status $st"; fi
else
    fail "STS AssumeRole gives temporary credentials"
fi

# ListObjectsV2 over 1,500 keys: two pages joined by the continuation token.
n0=$(date +%s%N)
check "1500 small objects uploaded" s3_put_many "$B" "many/" 1500 8
echo "# 1500 PUTs in $(( ($(date +%s%N) - n0) / 1000000 )) ms"
: > "$T/keys"
token='' pages=0
while :; do
    q="list-type=2&prefix=many%2F" # the query sorted by name, as curl 7.88 needs
    [ -n "$token" ] && q="continuation-token=$(s3_qvalue "$token")&$q"
    st=$(status "$S3_ENDPOINT/$B?$q")
    [ "$st" = 200 ] || { fail "ListObjectsV2 page $((pages + 1))" "status $st $(s3_code)"; break; }
    pages=$((pages + 1))
    grep -o '<Key>[^<]*</Key>' "$T/body" | sed 's:</*Key>::g' >> "$T/keys"
    grep -q '<IsTruncated>true</IsTruncated>' "$T/body" || break
    token=$(sed -n 's:.*<NextContinuationToken>\([^<]*\)</NextContinuationToken>.*:\1:p' "$T/body")
    if [ -z "$token" ] || [ $pages -ge 10 ]; then fail "ListObjectsV2 continuation token" "page $pages"; break; fi
done
for ((i = 0; i < 1500; i++)); do printf 'many/%05d\n' $i; done > "$T/keys.want"
check "ListObjectsV2: 1500 keys in 2 pages" test "$pages" = 2
same_bytes "ListObjectsV2: every key once, in order" "$T/keys" "$T/keys.want"
st=$(status "$S3_ENDPOINT/$B/many/01234")
check "a small object holds its key" test "$st $(cat "$T/body")" = "200 many/01234"

# The request log: method, path, status and user of each request.
s3_request_log > "$T/log"
s3_request_log sts > "$T/log.sts"
obj_path=/$B/$(s3_path "$OBJ")
check "request log: signed ranged GET" grep -qx "GET $obj_path 206 rio" "$T/log"
check "request log: HEAD" grep -qx "HEAD $obj_path 200 rio" "$T/log"
check "request log: unsigned GET is anonymous" grep -qx "GET $obj_path 403 anonymous" "$T/log"
check "request log: 1500 PUTs" test "$(grep -c "^PUT /$B/many/[0-9]* 200 rio$" "$T/log")" = 1500
check "request log: the STS gateway's AssumeRole" grep -q "^POST / 200 rio$" "$T/log.sts"
check "request log: a refused signature has no user" grep -qx "GET $obj_path 403 -" "$T/log"

# Figures: RSS of the whole cluster, a 4 KiB ranged GET over one kept-alive connection.
echo "# cluster RSS after the test's uploads: $(( $(s3_rss_kb) / 1024 )) MiB"
args=()
for ((i = 0; i < 21; i++)); do args+=(-r 409600-413695 -o /dev/null "$URL"); done
lat=$(s3_curl -w '%{time_total}\n' "${args[@]}" | sort -n | sed -n 11p)
echo "# 4 KiB ranged GET: median $(awk -v t="$lat" 'BEGIN { printf "%.2f", t * 1000 }') ms of 21"
echo "# total $(( ($(date +%s%N) - t_begin) / 1000000 )) ms"
finish
