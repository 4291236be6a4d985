#!/usr/bin/env bash
# tests/t-aws-creds.sh: the AWS credential chain with real processes and endpoints.
#
# A probe program linked with the chain (tests/c/aws-creds-probe.c) prints where its
# credentials came from and a hash of the key id.  Each source on its own: the
# environment, the shared credentials file and the config file (default paths under
# HOME=$T, named paths, AWS_PROFILE), credential_process (a script that records what it
# inherited: no descriptor of ours, no shim in LD_PRELOAD; its stderr reaches ours), the
# container endpoint (a stub on 127.0.0.1 that checks the Authorization token, from the
# variable or the file; a FULL_URI to another host is refused), IMDSv2 (a stub that
# checks the PUT token flow and answers a GET without the token with 401).  Then the
# chain's order with several sources at once, the one line when there is none, fork,
# invalidation, and rotation: credentials valid 3 s from sources that take 200 ms to
# answer, gets every 10 ms for 10 s (in 4 threads at once for the container): none expired, refreshed ahead of expiry, no get
# slower than 50 ms after the first (a get that waited for a fetch would be).  Last,
# every secret the stubs, files and environment held is searched for in everything
# printed at REMOTEIO_LOG=debug.
. "$(dirname "$0")/lib.sh"
require python3 curl
PROBE=$TOP/${REMOTEIO_TEST_BUILD:-build}/tests/aws-creds-probe
[ -x "$PROBE" ] || { echo "SKIP: $PROBE not built (make tests)"; exit 77; }

OUT=$T/all-output # everything the probe printed, for the secrets check
SECRETS=$T/secrets
: > "$OUT"; : > "$SECRETS"

# The stub: container endpoint at /container/creds, IMDSv2 under /latest/.
cat > "$T/stub.py" <<'PY'
import http.server, json, secrets, sys, threading, time, datetime
port_file, log_file, secrets_file, lifetime, token, delay = sys.argv[1:7]
lifetime, delay = float(lifetime), float(delay)
lock = threading.Lock()
state = {"n": 0, "imds_tokens": set()}
def log(line):
    with lock, open(log_file, "a") as f:
        f.write(line + "\n")
def secret(s):
    with lock, open(secrets_file, "a") as f:
        f.write(s + "\n")
    return s
def issue(kind):
    time.sleep(delay) # a slow source: a get that waits for a fetch shows
    with lock:
        state["n"] += 1
        n = state["n"]
    now = time.time()
    exp = now + lifetime
    body = {"AccessKeyId": "AKIASTUB%06d" % n,
            "SecretAccessKey": secret("stubSecret%06d%s" % (n, secrets.token_hex(8))),
            "Token": secret("stubToken%06d%s" % (n, secrets.token_hex(16))),
            "Expiration": datetime.datetime.fromtimestamp(exp, datetime.timezone.utc)
                          .strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"}
    if kind == "imds":
        body.update({"Code": "Success", "Type": "AWS-HMAC", "LastUpdated": "2026-01-01T00:00:00Z"})
    log("issue %d %s at=%d expires=%d" % (n, kind, now * 1000, exp * 1000))
    return json.dumps(body).encode()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def answer(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def imds_ok(self):
        t = self.headers.get("X-aws-ec2-metadata-token")
        return t is not None and t in state["imds_tokens"]
    def do_PUT(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n: self.rfile.read(n)
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            t = secret("imdsSession" + secrets.token_hex(16))
            state["imds_tokens"].add(t)
            log("PUT token 200")
            return self.answer(200, t.encode())
        log("PUT %s 400" % self.path)
        self.answer(400)
    def do_GET(self):
        if self.path == "/container/creds":
            if self.headers.get("Authorization") != token:
                log("GET container 401")
                return self.answer(401)
            return self.answer(200, issue("container"))
        if self.path.startswith("/latest/meta-data/iam/security-credentials/"):
            if not self.imds_ok():
                log("GET %s 401" % self.path)
                return self.answer(401)
            role = self.path[len("/latest/meta-data/iam/security-credentials/"):]
            log("GET role=%s 200" % (role or "(list)"))
            if role == "":
                return self.answer(200, b"stub-role")
            if role == "stub-role":
                return self.answer(200, issue("imds"))
        log("GET %s 404" % self.path)
        self.answer(404)
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(port_file, "w").write(str(s.server_address[1]))
s.serve_forever()
PY

CTOKEN=containerAuthTok$RANDOM$RANDOM
echo "$CTOKEN" >> "$SECRETS"
start_stub() { # start_stub LIFETIME_SECONDS [DELAY_SECONDS]: sets SURL, SLOG
    local pf=$T/stub.port.$RANDOM
    SLOG=$T/stub.log.$RANDOM
    : > "$SLOG"
    "$PY" "$T/stub.py" "$pf" "$SLOG" "$SECRETS" "$1" "$CTOKEN" "${2:-0}" 2>>"$T/stub.err" &
    local pid=$!
    at_exit "kill $pid"
    for _ in $(seq 1 100); do [ -s "$pf" ] && break; sleep 0.05; done
    [ -s "$pf" ] || { echo "FATAL: the stub did not start: $(tail -3 "$T/stub.err")"; exit 1; }
    SURL=http://127.0.0.1:$(cat "$pf")
}

# probe ARGS...: runs the probe with a clean AWS environment plus the caller's, HOME=$T;
# its stdout in $T/p.out, its stderr in $T/p.err, both appended to $OUT.
CLEAN=(HOME="$T" PATH="$PATH" REMOTEIO_LOG=debug AWS_EC2_METADATA_DISABLED=true)
for v in ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS; do [ -n "${!v:-}" ] && CLEAN+=("$v=${!v}"); done
probe() {
    local envs=() a
    while [ $# -gt 0 ] && [[ $1 == *=* ]]; do envs+=("$1"); shift; done
    env -i "${CLEAN[@]}" "${envs[@]}" "$PROBE" "$@" >"$T/p.out" 2>"$T/p.err"
    local rc=$?
    cat "$T/p.out" "$T/p.err" >> "$OUT"
    [ $rc -ne 86 ] || fail "a sanitizer's report (probe $*)" "$(grep -m3 -E 'ERROR|WARNING|SUMMARY' "$T/p.err")"
    return $rc
}
# expect NAME SOURCE_PREFIX ENV... -- ARGS...: the probe's get names SOURCE_PREFIX
expect_source() {
    local name=$1 want=$2; shift 2
    probe "$@"
    if grep -q "^source=$want" "$T/p.out"; then ok "$name: $(head -1 "$T/p.out")"
    else fail "$name" "wanted source=$want; got $(cat "$T/p.out") $(tail -2 "$T/p.err")"; fi
}

mkdir -p "$T/.aws"
echo "sharedSecretDefault1 sharedSecretDev2 configSecretCfg3 envSecret4 envToken5 procSecret6 procToken7 sharedToken8" | tr ' ' '\n' >> "$SECRETS"

# --- the environment
expect_source "environment" "environment" AWS_ACCESS_KEY_ID=AKIAENV AWS_SECRET_ACCESS_KEY=envSecret4 \
    AWS_SESSION_TOKEN=envToken5 get
grep -q "token=yes" "$T/p.out" && ok "environment: the session token is read" || fail "environment token"

# --- the shared files at their default paths
cat > "$T/.aws/credentials" <<'INI'
# a comment
[default]
aws_access_key_id = AKIASHAREDDEFAULT
aws_secret_access_key = sharedSecretDefault1
aws_session_token = sharedToken8

[dev]
aws_access_key_id=AKIASHAREDDEV
aws_secret_access_key=sharedSecretDev2
INI
printf '[profile cfg]\r\naws_access_key_id = AKIACONFIG\r\naws_secret_access_key = configSecretCfg3\r\nregion = eu-west-3\r\n' > "$T/.aws/config"
expect_source "credentials file, default profile" "credentials file, profile default" get
expect_source "credentials file, AWS_PROFILE=dev" "credentials file, profile dev" AWS_PROFILE=dev get
expect_source "config file, named profile (CRLF)" "config file, profile cfg" get cfg
probe region cfg; check "region of the config file's profile" grep -qx "region=eu-west-3" "$T/p.out"
# a named profile skips the environment, as `aws --profile` does
expect_source "a named profile over the environment" "credentials file, profile dev" \
    AWS_ACCESS_KEY_ID=AKIAENV AWS_SECRET_ACCESS_KEY=envSecret4 get dev
# named paths
mkdir -p "$T/elsewhere"
mv "$T/.aws/credentials" "$T/elsewhere/creds"
expect_source "AWS_SHARED_CREDENTIALS_FILE" "credentials file, profile dev" \
    AWS_SHARED_CREDENTIALS_FILE="$T/elsewhere/creds" get dev
mv "$T/.aws/config" "$T/elsewhere/conf"
expect_source "AWS_CONFIG_FILE" "config file, profile cfg" AWS_CONFIG_FILE="$T/elsewhere/conf" get cfg
probe AWS_PROFILE=nowhere get
if grep -q "error=ENOENT" "$T/p.out" && grep -q "no profile nowhere" "$T/p.err"; then
    ok "a profile that is nowhere: ENOENT, named in the message"
else fail "missing profile" "$(cat "$T/p.out" "$T/p.err")"; fi

# --- credential_process: what the child inherits, its stderr, quoting
cat > "$T/cred helper.sh" <<'SH'
#!/bin/sh
ls /proc/self/fd > "$1/helper.fds"
printf '%s\n' "${LD_PRELOAD:-}" > "$1/helper.preload"
printf '%s\n' "$2" > "$1/helper.arg"
echo "helper-stderr-line" >&2
sleep "${4:-0}"
exp=$(date -u -d "+${3:-3600} seconds" +%Y-%m-%dT%H:%M:%SZ)
printf '{"Version": 1, "AccessKeyId": "AKIAPROC%s", "SecretAccessKey": "procSecret6", "SessionToken": "procToken7", "Expiration": "%s"}\n' "$(date +%s%N)" "$exp"
SH
chmod +x "$T/cred helper.sh"
printf '[profile proc]\ncredential_process = "%s" "%s" "two words" %s\n' "$T/cred helper.sh" "$T" 3600 > "$T/.aws/config"
exec 7<"$T/.aws/config" # an inherited descriptor the helper must not get
expect_source "credential_process" "credential_process, profile proc" LD_PRELOAD="$SHIM" get proc
exec 7<&-
fds=$(grep -v '^[012]$' "$T/helper.fds" | tr '\n' ' ')
# ls itself holds one descriptor (its directory); nothing else may be open
[ "$(grep -cv '^[012]$' "$T/helper.fds")" -le 1 ] && ! grep -qx 7 "$T/helper.fds" &&
    ok "credential_process: inherits only 0, 1, 2 (and ls's own: $fds)" ||
    fail "credential_process descriptors" "$(cat "$T/helper.fds" | tr '\n' ' ')"
grep -q libremoteio "$T/helper.preload" && fail "credential_process LD_PRELOAD" "$(cat "$T/helper.preload")" ||
    ok "credential_process: the shim is not in its LD_PRELOAD ('$(cat "$T/helper.preload")')"
check "credential_process: quoted words arrive whole" grep -qx "two words" "$T/helper.arg"
check "credential_process: its stderr reaches ours" grep -q "helper-stderr-line" "$T/p.err"
cat > "$T/bad-helper.sh" <<'SH'
#!/bin/sh
echo '{"Version": 2, "AccessKeyId": "AKIABAD", "SecretAccessKey": "procSecretBad10"}'
SH
chmod +x "$T/bad-helper.sh"
echo procSecretBad10 >> "$SECRETS"
printf '[profile bad]\ncredential_process = %s\n' "$T/bad-helper.sh" > "$T/.aws/config"
probe get bad
grep -q "error=EIO" "$T/p.out" && grep -q "credential_process of profile bad: .*Version is not 1" "$T/p.err" &&
    ok "credential_process answering Version 2: EIO, $(grep -c . "$T/p.err") line" || fail "bad process" "$(cat "$T/p.out" "$T/p.err")"

# --- the container endpoint
start_stub 3600
expect_source "container endpoint (token)" "container endpoint" \
    AWS_CONTAINER_CREDENTIALS_FULL_URI="$SURL/container/creds" AWS_CONTAINER_AUTHORIZATION_TOKEN="$CTOKEN" get
expect_source "container endpoint: never through a proxy" "container endpoint" \
    http_proxy=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 ALL_PROXY=http://127.0.0.1:9 \
    AWS_CONTAINER_CREDENTIALS_FULL_URI="$SURL/container/creds" AWS_CONTAINER_AUTHORIZATION_TOKEN="$CTOKEN" get
printf '%s\n' "$CTOKEN" > "$T/token-file"
expect_source "container endpoint (token file)" "container endpoint" \
    AWS_CONTAINER_CREDENTIALS_FULL_URI="$SURL/container/creds" AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$T/token-file" \
    AWS_CONTAINER_AUTHORIZATION_TOKEN=wrongTokenIgnored get
probe AWS_CONTAINER_CREDENTIALS_FULL_URI="$SURL/container/creds" AWS_CONTAINER_AUTHORIZATION_TOKEN=wrongToken9 get
grep -q "error=EACCES" "$T/p.out" && grep -q "status 401" "$T/p.err" &&
    ok "container endpoint, wrong token: EACCES ($(grep -o 'answered with status 401' "$T/p.err" | head -1))" ||
    fail "container wrong token" "$(cat "$T/p.out" "$T/p.err")"
echo wrongToken9 >> "$SECRETS"
n_before=$(wc -l < "$SLOG")
probe AWS_CONTAINER_CREDENTIALS_FULL_URI="http://creds.example.com/x" AWS_CONTAINER_AUTHORIZATION_TOKEN="$CTOKEN" get
grep -q "error=EACCES" "$T/p.out" && grep -q "refused" "$T/p.err" &&
    ok "container FULL_URI to another host: refused before any request" ||
    fail "container host check" "$(cat "$T/p.out" "$T/p.err")"

# --- IMDSv2
code=$(curl -s -o /dev/null -w '%{http_code}' "$SURL/latest/meta-data/iam/security-credentials/")
[ "$code" = 401 ] && ok "IMDS stub: a GET without the session token gets 401" || fail "IMDS stub 401" "$code"
: > "$SLOG"
expect_source "instance metadata (IMDSv2)" "instance metadata" AWS_EC2_METADATA_DISABLED=false \
    AWS_EC2_METADATA_SERVICE_ENDPOINT="$SURL/" get
flow=$(awk '{print $1, $2}' "$SLOG" | tr '\n' ';')
[[ $flow == "PUT token;GET role=(list);GET role=stub-role;issue "*";" ]] &&
    ok "IMDS: PUT token, then both GETs with it ($flow)" || fail "IMDS flow" "$flow"
probe AWS_EC2_METADATA_DISABLED=true AWS_EC2_METADATA_SERVICE_ENDPOINT="$SURL/" get
grep -q "error=ENOENT" "$T/p.out" && grep -q "instance metadata (disabled)" "$T/p.err" &&
    ok "AWS_EC2_METADATA_DISABLED=true: not asked, and said so" || fail "IMDS disabled" "$(cat "$T/p.out" "$T/p.err")"

# --- the chain's order, all sources at once
rm -f "$T/.aws/config"
mv "$T/elsewhere/creds" "$T/.aws/credentials"
ALL=(AWS_EC2_METADATA_DISABLED=false AWS_EC2_METADATA_SERVICE_ENDPOINT="$SURL"
     AWS_CONTAINER_CREDENTIALS_FULL_URI="$SURL/container/creds" AWS_CONTAINER_AUTHORIZATION_TOKEN="$CTOKEN")
expect_source "order: environment first" "environment" "${ALL[@]}" AWS_ACCESS_KEY_ID=AKIAENV AWS_SECRET_ACCESS_KEY=envSecret4 get
expect_source "order: then the credentials file" "credentials file" "${ALL[@]}" get
printf '[default]\ncredential_process = "%s" "%s" x 3600\naws_access_key_id = AKIACONFIG\naws_secret_access_key = configSecretCfg3\n' "$T/cred helper.sh" "$T" > "$T/.aws/config"
rm "$T/.aws/credentials"
expect_source "order: then credential_process" "credential_process" "${ALL[@]}" get
printf '[default]\naws_access_key_id = AKIACONFIG\naws_secret_access_key = configSecretCfg3\n' > "$T/.aws/config"
expect_source "order: then the config file" "config file" "${ALL[@]}" get
rm "$T/.aws/config"
expect_source "order: then the container endpoint" "container endpoint" "${ALL[@]}" get
expect_source "order: last, instance metadata" "instance metadata" AWS_EC2_METADATA_DISABLED=false \
    AWS_EC2_METADATA_SERVICE_ENDPOINT="$SURL" get

# --- none: one line listing the sources tried
probe get
lines=$(grep -c "no AWS credentials found" "$T/p.err")
if grep -q "error=ENOENT" "$T/p.out" && [ "$lines" = 1 ] &&
    grep -q "tried: environment, shared credentials file $T/.aws/credentials \[default\] (no such file), config file $T/.aws/config \[default\] (no such file), container endpoint (not set), instance metadata (disabled))" "$T/p.err"; then
    ok "no credentials: one line: $(grep -o 'tried:.*' "$T/p.err")"
else fail "no credentials line" "$(cat "$T/p.err")"; fi

# --- fork and invalidation
# (TSan cannot follow a fork once threads have started unless told to try)
probe "${ALL[@]}" TSAN_OPTIONS="${TSAN_OPTIONS:-}:die_after_fork=0" fork
[ "$(grep -c '^source=container endpoint' "$T/p.out")" = 2 ] && ok "fork: the child gets credentials too" ||
    fail "fork" "$(cat "$T/p.out" "$T/p.err")"
probe "${ALL[@]}" invalidate
k1=$(sed -n 1p "$T/p.out" | grep -o 'key=[0-9a-f]*'); k2=$(sed -n 2p "$T/p.out" | grep -o 'key=[0-9a-f]*')
[ -n "$k1" ] && [ -n "$k2" ] && [ "$k1" != "$k2" ] && ok "invalidate: the next get fetches anew ($k1, then $k2)" ||
    fail "invalidate" "$(cat "$T/p.out")"

# --- rotation: credentials valid 3 s, gets every 10 ms for 10 s
rotation() { # rotation NAME THREADS ENV...
    local name=$1 threads=$2; shift 2
    probe "$@" loop - 10 10 "$threads"
    local line; line=$(cat "$T/p.out")
    local max; max=$(grep -o 'max_ms=[0-9]*' <<<"$line" | cut -d= -f2)
    if grep -q "failed=0 expired=0" <<<"$line" && [ "${max:-999}" -le 50 ]; then
        ok "$name rotation: $line"
    else fail "$name rotation" "$line $(tail -3 "$T/p.err")"; fi
}
start_stub 3 0.2 # valid 3 s, 200 ms to answer
rotation "container" 4 AWS_CONTAINER_CREDENTIALS_FULL_URI="$SURL/container/creds" AWS_CONTAINER_AUTHORIZATION_TOKEN="$CTOKEN"
# each credential was replaced before it expired, and there were several
python3 - "$SLOG" <<'PY' && ok "container rotation: the stub saw $(grep -c issue "$SLOG") fetches, each before the last expired" || fail "rotation ahead of expiry" "$(cat "$SLOG")"
import sys
issues = [l.split() for l in open(sys.argv[1]) if l.startswith("issue")]
at = [int(x[3].split("=")[1]) for x in issues]; exp = [int(x[4].split("=")[1]) for x in issues]
ok = len(issues) >= 4 and all(at[i] < exp[i - 1] for i in range(1, len(issues)))
sys.exit(0 if ok else 1)
PY
printf '[default]\ncredential_process = "%s" "%s" x 3 0.2\n' "$T/cred helper.sh" "$T" > "$T/.aws/config"
rotation "credential_process" 1

# --- secrets: nothing printed at REMOTEIO_LOG=debug holds one
leaks=""
while read -r s; do
    [ -n "$s" ] && grep -qF -- "$s" "$OUT" && leaks="$leaks $s"
done < "$SECRETS"
n=$(grep -c . "$SECRETS")
[ -z "$leaks" ] && ok "secrets: none of $n in $(wc -l < "$OUT") lines printed at debug level" ||
    fail "secrets leaked" "$leaks"
finish
