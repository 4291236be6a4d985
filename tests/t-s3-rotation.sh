#!/usr/bin/env bash
# tests/t-s3-rotation.sh: temporary credentials that expire during a long read of an
# s3:// object.
#
# The S3 server here is our own verifying front (tests/s3/verifying_front.py), not
# radosgw: radosgw cannot issue credentials that expire within seconds (its STS refuses
# less than 900 s).  The front is also the container credentials endpoint the shim gets
# its credentials from (AWS_CONTAINER_CREDENTIALS_FULL_URI with its authorization token);
# it issues credentials valid 4 s, takes 600 ms to answer, checks the SigV4 signature of
# every request with the secret it issued, and refuses a key after its Expiration (403
# ExpiredToken).
#   front       the front itself: a request signed by tests/s3/sigv4.py with what it
#               issued gets 206; a wrong secret, a Range other than the signed one, no
#               token, no signature, an unknown key and an expired key get 403 with
#               SignatureDoesNotMatch, InvalidToken, AccessDenied, InvalidAccessKeyId,
#               ExpiredToken.
#   long read   a python3 reader under the shim reads a 48 MiB object 1 MiB pread by 1 MiB
#               pread, a pause after each, for about 12 s (readahead=0, 1 MiB chunks: each
#               pread is one signed GET): right bytes, no error, no line printed; the
#               front refused nothing and accepted several access keys in turn; no
#               pread took 500 ms or more (a read that waited for a credentials fetch
#               would: the endpoint alone takes 600 ms; a GET of 1 MiB takes ~10 ms).
#   readahead   sha256sum of the object with the default readahead, the front taking
#               800 ms per GET (a read of ~10 s with requests in flight across rotations):
#               right sum, nothing refused, several keys.
#   ExpiredToken  the front revokes the key in use after its 10th good answer, long
#               before its Expiration (1 h): the next GET is refused with ExpiredToken,
#               one line names ExpiredToken and the credentials' source, the shim fetches
#               credentials once more and sends that GET again (same range) with the new key; the read goes on with right bytes.
# Prints the reads' latencies and the keys seen.
. "$(dirname "$0")/lib.sh"
require python3 sha256sum
require_shim
unset REMOTEIO_MAP REMOTEIO_CONFIG REMOTEIO_STATS REMOTEIO_LOG REMOTEIO_LOG_FILE \
    AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 \
    AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
export HOME=$T REMOTEIO_TIMEOUT=5 REMOTEIO_DEADLINE=30
M=$((1 << 20))
mkdir -p "$T/root/rot"
make_file "$T/root/rot/obj.bin" $((48 * M))
WANT=$(sha256sum < "$T/root/rot/obj.bin" | cut -d' ' -f1)
TOKEN=frontAuth$RANDOM$RANDOM
SECRETS=$T/secrets
echo "$TOKEN" > "$SECRETS"

# start_front NAME ARGS...: the verifying front; sets FURL and FLOG ($T/NAME.log)
start_front() {
    local name=$1 pf=$T/$1.port; shift
    FLOG=$T/$name.log
    : > "$FLOG"
    "$PY" "$TOP/tests/s3/verifying_front.py" --root "$T/root" --port-file "$pf" --log "$FLOG" \
        --secrets "$SECRETS" --auth-token "$TOKEN" "$@" 2>>"$T/front.err" &
    local pid=$!
    at_exit "kill $pid"
    for _ in $(seq 1 100); do [ -s "$pf" ] && break; sleep 0.05; done
    [ -s "$pf" ] || { echo "FATAL: the verifying front did not start: $(tail -3 "$T/front.err")"; exit 1; }
    FURL=http://127.0.0.1:$(cat "$pf")
}
# on_front ENV... CMD...: CMD under the shim, credentials from the front's container endpoint
on_front() {
    env AWS_CONTAINER_CREDENTIALS_FULL_URI="$FURL/creds" AWS_CONTAINER_AUTHORIZATION_TOKEN="$TOKEN" \
        LD_PRELOAD="$SHIM" timeout -k 5 120 "$@"
}
# good_keys: distinct access keys the front answered 2xx for; refused: its non-2xx answers
good_keys() { awk '$1 == "s3" && $4 ~ /^2/ { print $6 }' "$FLOG" | sort -u | wc -l; }
refused() { awk '$1 == "s3" && $4 !~ /^2/' "$FLOG"; }

# The reader: 1 MiB preads from start to end, PAUSE seconds after each; prints the sha256,
# the number of reads and their latencies (max, median, the slowest read's offset).
cat > "$T/reader.py" <<'PY'
import hashlib, os, sys, time
path, pause = sys.argv[1], float(sys.argv[2])
fd = os.open(path, os.O_RDONLY)
size = os.fstat(fd).st_size
h, lat, off = hashlib.sha256(), [], 0
while off < size:
    t0 = time.monotonic()
    b = os.pread(fd, 1 << 20, off)
    lat.append((time.monotonic() - t0, off))
    if not b:
        sys.exit("reader: no bytes at %d of %d" % (off, size))
    h.update(b)
    off += len(b)
    time.sleep(pause)
s = sorted(x[0] for x in lat)
worst = max(lat)
print(h.hexdigest(), len(lat), "%.0f" % (worst[0] * 1000), "%.0f" % (s[len(s) // 2] * 1000), worst[1])
PY

long_read() {
    start_front long --lifetime 4 --cred-delay 0.6
    local t0 t1 sum n max med at
    t0=$(date +%s%N)
    read -r sum n max med at < <(REMOTEIO_MAP="/rot/=s3://riotest/rot/ endpoint=$FURL readahead=0" \
        REMOTEIO_CHUNK_SIZE=1M on_front "$PY" "$T/reader.py" /rot/obj.bin 0.25 2>"$T/long.err")
    t1=$(date +%s%N)
    local secs=$(( (t1 - t0) / 1000000000 ))
    echo "# long read: $n preads in ${secs}s, latency max ${max:-?} ms (at offset ${at:-?}), median ${med:-?} ms;" \
        "$(grep -c '^issue' "$FLOG") credentials issued, $(good_keys) keys accepted"
    check "long read: right bytes" test "${sum:-}" = "$WANT"
    if [ -s "$T/long.err" ]; then fail "long read: no error, no line printed" "$(head -3 "$T/long.err")"
    else ok "long read: no error, no line printed"; fi
    local r; r=$(refused)
    [ -z "$r" ] && ok "long read: the front refused no request ($(grep -c '^s3 ' "$FLOG") requests)" ||
        fail "long read: the front refused no request" "$(head -3 <<<"$r")"
    check "long read: the read outlived several credentials (${secs}s, $(good_keys) keys accepted)" \
        test "$(good_keys)" -ge 3 -a "$secs" -ge 10
    check "long read: no pread waited for a credentials fetch (max ${max:-?} ms < 500 ms)" \
        test "${max:-9999}" -lt 500
    # each key was replaced before it expired
    if "$PY" - "$FLOG" <<'PY'
import sys
iss = [l.split() for l in open(sys.argv[1]) if l.startswith("issue")]
at = [int(x[3][3:]) for x in iss]; exp = [int(x[4][8:]) for x in iss]
sys.exit(0 if len(iss) >= 3 and all(at[i] < exp[i - 1] for i in range(1, len(iss))) else 1)
PY
    then ok "long read: each credential was fetched again before the last one expired"
    else fail "long read: fetched again before expiry" "$(grep '^issue' "$FLOG" | tr '\n' ' ')"; fi
}

readahead_read() {
    start_front readahead --lifetime 3 --cred-delay 0.6 --get-delay 0.8
    local t0 t1 got
    t0=$(date +%s%N)
    got=$(REMOTEIO_MAP="/rot/=s3://riotest/rot/ endpoint=$FURL" on_front sha256sum /rot/obj.bin 2>"$T/ra.err" | cut -d' ' -f1)
    t1=$(date +%s%N)
    local ms=$(( (t1 - t0) / 1000000 ))
    echo "# readahead read: ${ms} ms, $(grep -c '^s3 ' "$FLOG") requests, $(good_keys) keys accepted"
    check "readahead: sha256sum right" test "$got" = "$WANT"
    [ -s "$T/ra.err" ] && fail "readahead: no line printed" "$(head -3 "$T/ra.err")"
    local r; r=$(refused)
    [ -z "$r" ] && ok "readahead: the front refused no request" || fail "readahead: the front refused no request" "$(head -3 <<<"$r")"
    check "readahead: requests signed with several keys in turn ($(good_keys))" test "$(good_keys)" -ge 3
}

expired_token() {
    start_front expired --lifetime 3600 --expire-after 10
    local sum n max med at
    read -r sum n max med at < <(REMOTEIO_MAP="/rot/=s3://riotest/rot/ endpoint=$FURL readahead=0" \
        REMOTEIO_CHUNK_SIZE=1M REMOTEIO_LOG=info on_front "$PY" "$T/reader.py" /rot/obj.bin 0 2>"$T/exp.err")
    check "ExpiredToken: the read goes on, right bytes" test "${sum:-}" = "$WANT"
    local r; r=$(refused)
    local issued; issued=$(grep -c '^issue' "$FLOG")
    # the refused GET, and the request right after it: the same GET with the new key
    local line next
    line=$(grep -n '^s3 ' "$FLOG" | grep ' 403 ExpiredToken ' | head -1)
    next=$(grep '^s3 ' "$FLOG" | sed -n "$(( $(grep '^s3 ' "$FLOG" | grep -n ' 403 ExpiredToken ' | head -1 | cut -d: -f1) + 1 ))p")
    read -r _ m1 p1 _ _ k1 r1 _ <<<"${line#*:}"
    read -r _ m2 p2 s2 _ k2 r2 _ <<<"$next"
    if [ "$(grep -c . <<<"$r")" = 1 ] && [ "$issued" = 2 ] && [ "$m1 $p1 $r1" = "$m2 $p2 $r2" ] &&
       [[ $s2 == 2?? ]] && [ "$k1" != "$k2" ]; then
        ok "ExpiredToken: one refusal, one fetch, the same GET ($r1) again with the new key: $s2"
    else
        fail "ExpiredToken: one refusal, one fetch, the same GET again" \
            "refused: $r; issued $issued; then: $next"
    fi
    local first=${r1#bytes=}
    check "ExpiredToken: one line names the code and the source" test "$(grep -c \
        "GET s3://riotest/rot/obj.bin bytes ${first%-*}-.*: HTTP 403 ExpiredToken (credentials from container endpoint); fetching them again" "$T/exp.err")" = 1
    echo "# ExpiredToken: the read's slowest pread ${max:-?} ms (at offset ${at:-?}); stderr: $(tr '\n' ' ' < "$T/exp.err")"
}

# The front itself: what it refuses (requests signed by tests/s3/sigv4.py).
front_checks() {
    start_front checks --lifetime 2
    local out
    out=$("$PY" - "$FURL" "$TOKEN" "$TOP/tests/s3" <<'PY'
import http.client, json, sys, time, urllib.parse
url, token, here = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, here)
import sigv4
u = urllib.parse.urlsplit(url)
def req(method, path, headers):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    c.request(method, path, headers=headers)
    r = c.getresponse(); body = r.read()
    code = body.split(b"<Code>")[1].split(b"</Code>")[0].decode() if b"<Code>" in body else "-"
    return "%d %s" % (r.status, code)
c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
c.request("GET", "/creds", headers={"Authorization": token}); cr = json.loads(c.getresponse().read())
ak, sk, tok = cr["AccessKeyId"], cr["SecretAccessKey"], cr["Token"]
p = "/riotest/rot/obj.bin"
def signed(secret=sk, t=tok, extra=None):
    h = sigv4.sign("GET", u.netloc, p, [], b"", ak, secret, "us-east-1", token=t, headers={"range": "bytes=0-9"})
    h.update(extra or {})
    return h
print("good", req("GET", p, signed()))
print("wrong-secret", req("GET", p, signed(secret=sk + "x")))
print("no-token", req("GET", p, signed(t=None)))
print("unsigned", req("GET", p, {"Range": "bytes=0-9"}))
print("tampered-range", req("GET", p, dict(signed(), range="bytes=0-99")))
print("unknown-key", req("GET", p, dict(signed(), authorization=signed()["authorization"].replace(ak, "AKIANOSUCHKEY000"))))
time.sleep(2.2)
print("expired", req("GET", p, signed()))
PY
)
    local want="good 206 -
wrong-secret 403 SignatureDoesNotMatch
no-token 403 InvalidToken
unsigned 403 AccessDenied
tampered-range 403 SignatureDoesNotMatch
unknown-key 403 InvalidAccessKeyId
expired 403 ExpiredToken"
    [ "$out" = "$want" ] && ok "the front accepts a good signature and refuses the rest: $(tr '\n' ';' <<<"$out")" ||
        fail "the front's checks" "$(tr '\n' ';' <<<"$out")"
}

scenario front front_checks
scenario long long_read
scenario readahead readahead_read
scenario expired expired_token

# secrets: none the front issued, nor the endpoint's token, in what the shim printed
leaks=
while read -r s; do
    [ -n "$s" ] && cat "$T"/long.err "$T"/ra.err "$T"/exp.err 2>/dev/null | grep -qF -- "$s" && leaks="$leaks ${s:0:14}..."
done < "$SECRETS"
[ -z "$leaks" ] && ok "no secret, token or the endpoint's token in anything printed" || fail "leaked" "$leaks"
finish
