#!/usr/bin/env bash
# tests/t-qemu-img.sh: qemu-img on remote raw, qcow2 and compressed qcow2 images.
#
# The images are made at run time from generated data (random, text, runs of a
# byte, holes), served by nginx and opened through the shim under /remote/.
# Every answer is compared with the one qemu-img gives for a local copy:
# info, check, compare, convert (byte-exact with cmp), map and measure.
# The origin must see nothing but GET and HEAD.  REMOTEIO_TEST_ORIGIN=s3 reads the
# images as s3:// objects from the tests' S3 server (tests/s3/server.sh; t-s3-tools.sh),
# which must see nothing but signed GET and HEAD.
. "$(dirname "$0")/lib.sh"
require qemu-img qemu-io python3 curl cmp
V=/remote
skip_if_qemu_hangs
M=$((1 << 20))

# Origin directory: images as created (sparse). Local reference copies are
# written densely, as the shim presents remote files (no holes to seek to).
mkdir -p "$T/origin" "$T/local" "$T/out"
python3 - "$T/origin/disk.raw" <<'PY'
import random, sys
rnd = random.Random(7)
M = 1 << 20
with open(sys.argv[1], "wb") as f:
    f.truncate(48 * M)
    f.seek(0); f.write(rnd.randbytes(8 * M))                    # incompressible
    f.seek(12 * M)                                              # compressible text
    f.write(b"".join(b"line %08d of compressible text\n" % i for i in range(300000))[:8 * M])
    f.seek(24 * M + 4096); f.write(rnd.randbytes(3 * M + 17))  # unaligned run
    f.seek(40 * M); f.write(b"\x5a" * (2 * M))                  # one byte repeated
    f.seek(48 * M - 512); f.write(rnd.randbytes(512))           # the last sector
PY
qemu-img convert -f raw -O qcow2 "$T/origin/disk.raw" "$T/origin/disk.qcow2"
qemu-img convert -f raw -O qcow2 -c "$T/origin/disk.raw" "$T/origin/comp.qcow2"
for f in disk.raw disk.qcow2 comp.qcow2; do
    cp --sparse=never "$T/origin/$f" "$T/local/$f"
done

if [ "${REMOTEIO_TEST_ORIGIN:-}" = s3 ]; then
    . "$TOP/tests/s3/server.sh"
    s3_serve "$T/origin"
    export REMOTEIO_MAP="$V/=$S3_MAP"
else
    start_nginx "$T/origin"
    export REMOTEIO_MAP="$V/=$ORIGIN/"
fi
export REMOTEIO_LOG=${REMOTEIO_LOG:-warn}
Q() { timeout -k 5 120 env LD_PRELOAD="$SHIM" "$@"; }

# json_strip: drop the fields that name or measure the local file itself.
json_strip() {
    python3 -c '
import json, sys
def strip(o):
    if isinstance(o, dict):
        return {k: strip(v) for k, v in o.items()
                if k not in ("filename", "actual-size", "full-backing-filename")}
    if isinstance(o, list):
        return [strip(v) for v in o]
    return o
print(json.dumps(strip(json.load(sys.stdin)), indent=1, sort_keys=True))'
}

# same_output NAME CMD...: CMD's output (json, stripped) on $V/X and on the local X agree.
# The image path in CMD is written as @IMG@.
same_output() {
    local name=$1 img=$2; shift 2
    local args=("$@") r=() l=() a
    for a in "${args[@]}"; do r+=("${a//@IMG@/$V/$img}"); l+=("${a//@IMG@/$T/local/$img}"); done
    if ! Q "${r[@]}" > "$T/out/r.json" 2> "$T/out/r.err"; then
        fail "$name" "remote: $(head -c 400 "$T/out/r.err")"; return
    fi
    "${l[@]}" > "$T/out/l.json" 2>&1
    if json_strip < "$T/out/r.json" > "$T/out/r.s" 2>/dev/null && json_strip < "$T/out/l.json" > "$T/out/l.s" &&
       cmp -s "$T/out/r.s" "$T/out/l.s"; then
        ok "$name"
    else
        fail "$name" "remote and local differ: $(diff "$T/out/l.s" "$T/out/r.s" 2>&1 | head -8 | tr '\n' ' ')"
    fi
}

for img in disk.raw disk.qcow2 comp.qcow2; do
    case $img in *.raw) fmt=raw;; *) fmt=qcow2;; esac
    same_output "info $img" $img qemu-img info --output=json -f $fmt @IMG@
    if [ $fmt = qcow2 ]; then
        same_output "check $img" $img qemu-img check --output=json -f $fmt @IMG@
    fi
    # compare: remote vs its local copy, and remote vs the raw original.
    if out=$(Q qemu-img compare -f $fmt -F $fmt "$V/$img" "$T/local/$img" 2>&1) &&
       [[ $out == *"Images are identical."* ]]; then ok "compare $img remote vs local"
    else fail "compare $img remote vs local" "$out"; fi
    if out=$(Q qemu-img compare -f $fmt -F raw "$V/$img" "$T/local/disk.raw" 2>&1) &&
       [[ $out == *"Images are identical."* ]]; then ok "compare $img remote vs raw original"
    else fail "compare $img remote vs raw original" "$out"; fi
    # convert to a local raw file, byte-exact with the original.
    rm -f "$T/out/conv.raw"
    if out=$(Q qemu-img convert -f $fmt -O raw "$V/$img" "$T/out/conv.raw" 2>&1); then
        same_bytes "convert $img -> local raw" "$T/out/conv.raw" "$T/origin/disk.raw"
    else
        fail "convert $img -> local raw" "$out"
    fi
    # map and measure: the same layout as the local copy.
    same_output "map $img" $img qemu-img map --output=json -f $fmt @IMG@
    same_output "measure $img -O qcow2" $img qemu-img measure --output=json -O qcow2 -f $fmt @IMG@
done

# Without -f, qemu probes the format from the image's first bytes.
for img in disk.raw disk.qcow2 comp.qcow2; do
    want=${img##*.}
    got=$(Q qemu-img info --output=json "$V/$img" 2>&1 | sed -n 's/^ *"format": "\(.*\)",*$/\1/p' | head -1)
    [ "$got" = "$want" ] && ok "format of $img probed as $want" || fail "format of $img probed as $want" "got '${got}'"
done

# convert in the other direction too: remote raw -> local compressed qcow2 with
# several coroutines (concurrent reads), then checked against the original.
rm -f "$T/out/conv.qcow2"
if out=$(Q qemu-img convert -m 8 -f raw -O qcow2 -c "$V/disk.raw" "$T/out/conv.qcow2" 2>&1) &&
   out=$(qemu-img compare -f qcow2 -F raw "$T/out/conv.qcow2" "$T/origin/disk.raw" 2>&1); then
    ok "convert -m 8 remote raw -> local compressed qcow2"
else
    fail "convert -m 8 remote raw -> local compressed qcow2" "$out"
fi

# A missing remote image is an error, not a crash or an empty image.
if out=$(Q qemu-img info "$V/missing.qcow2" 2>&1); then
    fail "info on a missing remote image fails" "exit 0: $out"
elif [[ $out == *"No such file"* ]]; then
    ok "info on a missing remote image fails (ENOENT)"
else
    fail "info on a missing remote image fails (ENOENT)" "$out"
fi

# Writing to a remote image is refused.
if out=$(Q qemu-io -f qcow2 -c 'write -P 0x11 0 4k' "$V/disk.qcow2" 2>&1) && [[ $out != *rror* ]]; then
    fail "write to a remote image is refused" "$out"
else
    ok "write to a remote image is refused"
fi

# Statistics: one line per object at exit.
rm -f "$T/stats"
Q env REMOTEIO_STATS="$T/stats" qemu-img convert -f qcow2 -O raw "$V/comp.qcow2" "$T/out/stats.raw" >/dev/null 2>&1
if grep -q "remoteio: stats path=$V/comp.qcow2 .*bytes_served=[1-9]" "$T/stats" 2>/dev/null; then
    ok "REMOTEIO_STATS names the image"
    echo "# $(grep "path=$V/comp.qcow2" "$T/stats" | head -1)"
else
    fail "REMOTEIO_STATS names the image" "$(head -c 300 "$T/stats" 2>/dev/null || echo 'no stats file')"
fi

# The origin saw only GET/HEAD (and at least one ranged GET).
if [ "${REMOTEIO_TEST_ORIGIN:-}" = s3 ]; then s3_check_signed_reads; finish; exit; fi
sleep 0.2
bad=$(awk -F'"' '{ split($4, r, " "); if (r[1] != "GET" && r[1] != "HEAD") print $4 }' "$NGINX_LOG" | sort | uniq -c | head -5)
if [ -z "$bad" ] && [ -s "$NGINX_LOG" ]; then ok "origin saw only GET/HEAD ($(wc -l < "$NGINX_LOG") requests)"
else fail "origin saw only GET/HEAD" "${bad:-empty access log}"; fi
if grep -q '^206 ' "$NGINX_LOG"; then ok "ranged GETs were used"; else fail "ranged GETs were used" "no 206 in the access log"; fi
finish
