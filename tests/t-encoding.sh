#!/usr/bin/env bash
# tests/t-encoding.sh: Content-Encoding.
#
# An object stored with Content-Encoding: gzip (nginx adds the header to a .gz file, as
# S3 keeps it as metadata) is read as its stored bytes, the bytes `curl -o` saves, on the
# direct path and on libcurl's.  An origin that compresses each range on the fly (the
# fault origin's --gzip-ranges: Content-Encoding: gzip, the compressed length) serves
# bytes that are not the range's: EIO on both paths, with one line saying why.  Every
# request the shim sends, probes included, says Accept-Encoding: identity.
. "$(dirname "$0")/lib.sh"
require python3 curl gzip dd
require_shim
W=$T/www
mkdir -p "$W/gz"
make_file "$T/plain" 400000
gzip -c "$T/plain" > "$W/gz/data.gz"
# Requests whose Accept-Encoding is anything but identity are logged apart.
start_nginx "$W" "
    set \$not_identity 1;
    if (\$http_accept_encoding = identity) { set \$not_identity 0; }
    if (\$http_user_agent !~ ^remoteio) { set \$not_identity 0; }
    access_log $T/all.log rio;
    access_log $T/not-identity.log rio if=\$not_identity;
    location /gz/ { add_header Content-Encoding gzip; }"
export REMOTEIO_TIMEOUT=2 REMOTEIO_DEADLINE=10 REMOTEIO_RETRIES=2 REMOTEIO_CHUNK_SIZE=64K
unset REMOTEIO_CONFIG REMOTEIO_STATS REMOTEIO_LOG REMOTEIO_LOG_FILE

curl -s -o "$T/curl.out" "$ORIGIN/gz/data.gz"
same_bytes "curl -o saves the stored bytes" "$W/gz/data.gz" "$T/curl.out"
for direct in 1 0; do
    REMOTEIO_DIRECT=$direct REMOTEIO_MAP="/e/=$ORIGIN/gz/" shim dd if=/e/data.gz of="$T/out" bs=100k 2>"$T/err"
    same_bytes "stored gzip bytes served as stored (direct=$direct)" "$T/curl.out" "$T/out"
    REMOTEIO_DIRECT=$direct REMOTEIO_MAP="/e/=$ORIGIN/gz/" shim dd if=/e/data.gz of="$T/out" bs=4096 skip=20 count=3 2>"$T/err"
    dd if="$T/curl.out" of="$T/want" bs=4096 skip=20 count=3 2>/dev/null
    same_bytes "stored gzip bytes at an offset (direct=$direct)" "$T/want" "$T/out"
done
if [ -s "$T/all.log" ] && [ ! -s "$T/not-identity.log" ]; then
    ok "every request says Accept-Encoding: identity ($(wc -l < "$T/all.log") requests)"
else
    fail "every request says Accept-Encoding: identity" "$(head -3 "$T/not-identity.log")"
fi

# Compressed on the fly: the body is not the range's bytes.
start_fault_origin "$W" 0 --gzip-ranges
for direct in 1 0; do
    start=$(date +%s%N)
    REMOTEIO_DIRECT=$direct REMOTEIO_MAP="/e/=$OURL/gz/" shim dd if=/e/data.gz of="$T/out" bs=100k 2>"$T/err"
    rc=$?
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    if [ $rc -ne 0 ] && grep -q "Input/output error" "$T/err" && [ ! -s "$T/out" ]; then
        ok "ranges compressed on the fly fail with EIO (direct=$direct, ${ms} ms)"
    else
        fail "ranges compressed on the fly fail with EIO (direct=$direct)" "rc=$rc $(wc -c < "$T/out") bytes; $(cat "$T/err")"
    fi
    grep -q "^remoteio: .*Content-Encoding" "$T/err" && ok "the line says Content-Encoding (direct=$direct)" ||
        fail "the line says Content-Encoding (direct=$direct)" "$(cat "$T/err")"
done
finish
