#!/usr/bin/env bash
# tests/t-redirect.sh: credentials in the URL and redirects.
#
# A URL with user:password that redirects within its own origin (scheme, host, port)
# serves reads, and every range GET after the redirect carries the credentials (the
# origin answers 401 to any request without them), on the direct path and on libcurl's.
# A redirect to another origin (a second nginx on another port) is followed without the
# credentials: that origin never receives an Authorization header, at open or on a read.
. "$(dirname "$0")/lib.sh"
require python3 curl
require_shim
W=$T/www
mkdir -p "$W/priv"
make_file "$W/priv/data.bin" 300000
make_file "$W/data.bin" 300000
AUTH=$(printf user:pa:ss | base64)
# The other origin serves everything and logs each request that carries Authorization.
start_nginx "$W" "access_log $T/other.log rio; access_log $T/other-auth.log rio if=\$http_authorization;"
OTHER=$ORIGIN
start_nginx "$W" "
    access_log $T/main.log rio;
    access_log $T/main-auth.log rio if=\$http_authorization;
    location /priv/ {
        if (\$http_authorization != \"Basic $AUTH\") { return 401; }
        rewrite ^/priv/old.bin\$ /priv/data.bin redirect;
        rewrite ^/priv/away.bin\$ $OTHER/data.bin redirect;
    }"
HOSTPORT=${ORIGIN#http://}
export REMOTEIO_TIMEOUT=2 REMOTEIO_DEADLINE=10 REMOTEIO_RETRIES=1
unset REMOTEIO_CONFIG REMOTEIO_STATS REMOTEIO_LOG REMOTEIO_LOG_FILE

# The redirect itself is seen by curl as the test expects.
code=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://user:pa%3Ass@$HOSTPORT/priv/old.bin")
[ "$code" = "302 $ORIGIN/priv/data.bin" ] && ok "origin redirects within itself" ||
    fail "origin redirects within itself" "$code"

for direct in 1 0; do
    : > "$T/main-auth.log"
    REMOTEIO_DIRECT=$direct REMOTEIO_MAP="/r/=http://user:pa%3Ass@$HOSTPORT/priv/" \
        shim dd if=/r/old.bin of="$T/out" bs=64k 2>"$T/err"
    same_bytes "same-origin redirect with credentials: reads (direct=$direct)" "$W/priv/data.bin" "$T/out"
    n=$(grep -c '"GET /priv/data.bin HTTP/1.1"' "$T/main-auth.log" || true)
    r=$(grep -c '^206 .*"bytes=.*GET /priv/data.bin' "$T/main-auth.log" || true)
    [ "$r" -ge 1 ] && ok "range GETs after the redirect carry the credentials (direct=$direct, $r of $n)" ||
        fail "range GETs after the redirect carry the credentials (direct=$direct)" \
            "$(tail -3 "$T/main.log"; cat "$T/err")"
    if grep -q 'pa:ss\|pa%3Ass\|dXNlcjpwYTpzcw==' "$T/err"; then fail "no secret in messages (direct=$direct)" "$(cat "$T/err")"
    else ok "no secret in messages (direct=$direct)"; fi
done

for direct in 1 0; do
    : > "$T/other.log"
    REMOTEIO_DIRECT=$direct REMOTEIO_MAP="/r/=http://user:pa%3Ass@$HOSTPORT/priv/" \
        shim dd if=/r/away.bin of="$T/out" bs=64k 2>"$T/err"
    same_bytes "redirect to another origin: reads (direct=$direct)" "$W/data.bin" "$T/out"
    grep -q '^206 ' "$T/other.log" && ok "the other origin served the ranges (direct=$direct)" ||
        fail "the other origin served the ranges (direct=$direct)" "$(cat "$T/other.log" "$T/err")"
done
if [ -s "$T/other-auth.log" ]; then
    fail "the other origin never receives the credentials" "$(head -3 "$T/other-auth.log")"
else
    ok "the other origin never receives the credentials"
fi
finish
