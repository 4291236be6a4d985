#!/usr/bin/env bash
# tests/t-tls.sh: a certificate that does not verify fails at once.
#
# nginx serves HTTPS with a self-signed certificate.  Opening fails with EIO within a
# fraction of the retry budget (no retries: the failure is permanent) and the line says
# what verification found.  Range requests are checked the same way, on the direct path
# and on libcurl's: a shell opens the file with REMOTEIO_INSECURE=1 and the program it
# execs, which inherits the descriptor and verifies certificates, reads it.  With
# REMOTEIO_INSECURE=1 throughout the reads succeed.
. "$(dirname "$0")/lib.sh"
require python3 openssl curl dd
require_shim
W=$T/www
mkdir -p "$W"
make_file "$W/x" 300000
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null || skip "openssl req failed"
chmod 644 "$T/key.pem"
SPORT=$(free_port)
start_nginx "$W" "listen 127.0.0.1:$SPORT ssl; ssl_certificate $T/cert.pem; ssl_certificate_key $T/key.pem;"
S=https://127.0.0.1:$SPORT
curl -sk -o /dev/null "$S/x" && ok "nginx serves HTTPS" || fail "nginx serves HTTPS"
export REMOTEIO_TIMEOUT=2 REMOTEIO_DEADLINE=20 REMOTEIO_RETRIES=5 REMOTEIO_MAP="/s/=$S/"
unset REMOTEIO_CONFIG REMOTEIO_STATS REMOTEIO_LOG REMOTEIO_LOG_FILE REMOTEIO_INSECURE

# elapsed_ms CMD...: runs CMD, sets RC and MS
elapsed_ms() { local t0; t0=$(date +%s%N); "$@"; RC=$?; MS=$(( ($(date +%s%N) - t0) / 1000000 )); }
# failed_at_once NAME: the command elapsed_ms ran failed with EIO within a second
failed_at_once() {
    if [ $RC -ne 0 ] && grep -q "Input/output error" "$T/err" && [ $MS -lt 1000 ]; then
        ok "$1 (${MS} ms)"
    else
        fail "$1" "rc=$RC ${MS} ms $(cat "$T/err")"
    fi
}

for direct in 1 0; do
    export REMOTEIO_DIRECT=$direct
    elapsed_ms shim dd if=/s/x of="$T/out" bs=64k 2>"$T/err"
    failed_at_once "open: an unverifiable certificate fails at once (direct=$direct)"
    grep -q "^remoteio: .*certificate problem" "$T/err" && ok "open: the line names the certificate problem (direct=$direct)" ||
        fail "open: the line names the certificate problem (direct=$direct)" "$(cat "$T/err")"
    grep -q "retrying" "$T/err" && fail "open: no retry (direct=$direct)" "$(cat "$T/err")" ||
        ok "open: no retry (direct=$direct)"

    elapsed_ms env REMOTEIO_INSECURE=1 LD_PRELOAD="$SHIM" bash -c \
        'exec 3</s/x; REMOTEIO_INSECURE=0 exec dd bs=64k of='"$T/out"' <&3' 2>"$T/err"
    failed_at_once "read: an unverifiable certificate fails at once (direct=$direct)"
    grep -q "^remoteio: .*certificate problem" "$T/err" && ok "read: the line names the certificate problem (direct=$direct)" ||
        fail "read: the line names the certificate problem (direct=$direct)" "$(cat "$T/err")"

    REMOTEIO_INSECURE=1 shim dd if=/s/x of="$T/out" bs=64k 2>"$T/err"
    same_bytes "REMOTEIO_INSECURE=1 reads (direct=$direct)" "$W/x" "$T/out"
done
finish
