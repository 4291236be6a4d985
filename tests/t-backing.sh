#!/usr/bin/env bash
# tests/t-backing.sh: qcow2 backing chains whose read-only parts are remote.
#
#  1. A local writable qcow2 overlay on a remote qcow2 base: qemu-io writes
#     into the overlay (aligned, unaligned so that qemu copies the rest of the
#     cluster up from the remote base, zeroes), and everything reads back right,
#     both the written data and the base's.
#  2. A remote mid.qcow2 whose backing file is the remote base.qcow2 (named
#     relative to mid, as qemu-img create writes it), under a local top.
#  3. Committing into the remote base is refused and changes nothing.
# The expected contents are computed independently (python) from the base's
# raw data and the list of writes; the origin must see only GET and HEAD.
. "$(dirname "$0")/lib.sh"
require qemu-img qemu-io python3 curl cmp
V=/remote
skip_if_qemu_hangs
M=$((1 << 20))
mkdir -p "$T/origin" "$T/out"

make_file "$T/base.raw" $((32 * M))
# A hole in the base: 2 MiB of zeroes at 24 MiB.
dd if=/dev/zero of="$T/base.raw" bs=1M seek=24 count=2 conv=notrunc status=none
qemu-img convert -f raw -O qcow2 "$T/base.raw" "$T/origin/base.qcow2"
# mid.qcow2 names its backing file relative to itself, as usual.
(cd "$T/origin" && qemu-img create -q -f qcow2 -F qcow2 -b base.qcow2 mid.qcow2)
qemu-io -f qcow2 -c 'write -P 0x33 4M 1M' -c 'write -P 0x44 20M 64k' \
    -c 'write -z 8M 512k' -c 'write -P 0x55 1234567 4321' "$T/origin/mid.qcow2" >/dev/null

# expect OUT BASE [OFF LEN BYTE]...: BASE with each range set to BYTE.
expect() {
    python3 - "$@" <<'PY'
import sys
out, base, ops = sys.argv[1], sys.argv[2], sys.argv[3:]
data = bytearray(open(base, "rb").read())
for i in range(0, len(ops), 3):
    off, n, b = (int(x, 0) for x in ops[i:i + 3])
    data[off:off + n] = bytes([b]) * n
open(out, "wb").write(data)
PY
}
MID_OPS=($((4*M)) $M 0x33  $((20*M)) 65536 0x44  $((8*M)) $((512*1024)) 0  1234567 4321 0x55)
expect "$T/mid.expected" "$T/base.raw" "${MID_OPS[@]}"

start_nginx "$T/origin"
export REMOTEIO_MAP="$V/=$ORIGIN/"
export REMOTEIO_LOG=${REMOTEIO_LOG:-warn}
Q() { timeout -k 5 120 env LD_PRELOAD="$SHIM" "$@"; }
# qio NAME CMD...: run under the shim; pass when it exits 0 and reports no error.
qio() {
    local name=$1 out; shift
    if out=$(Q "$@" 2>&1) && ! grep -qE 'verification failed|[Ff]ailed|[Ee]rror[ :]|mismatch' <<<"$out"; then ok "$name"
    else fail "$name" "$(head -5 <<<"$out" | tr '\n' ' ')"; fi
}

# --- 1. local overlay on the remote base -----------------------------------
ov=$T/overlay.qcow2
if out=$(Q qemu-img create -q -f qcow2 -F qcow2 -b "$V/base.qcow2" "$ov" 2>&1) && [ -f "$ov" ]; then
    ok "create overlay on $V/base.qcow2"
else
    fail "create overlay on $V/base.qcow2" "$out"
fi
if out=$(Q qemu-img info --output=json -U "$ov" 2>&1) &&
   grep -q "\"backing-filename\": \"$V/base.qcow2\"" <<<"$out" &&
   grep -q '"virtual-size": 33554432' <<<"$out"; then
    ok "overlay info: backing file and size from the remote base"
else
    fail "overlay info: backing file and size from the remote base" "$(tr '\n' ' ' <<<"$out" | head -c 300)"
fi
OV_OPS=($M 65536 0xab  $((10*M + 512)) 4096 0xcd  $((16*M)) $M 0  $((32*M - 3000)) 3000 0xef)
qio "qemu-io writes into the overlay" qemu-io -f qcow2 \
    -c "write -P 0xab $M 65536" \
    -c "write -P 0xcd $((10*M + 512)) 4096" \
    -c "write -z $((16*M)) $M" \
    -c "write -P 0xef $((32*M - 3000)) 3000" "$ov"
qio "qemu-io reads back the written data" qemu-io -r -f qcow2 \
    -c "read -P 0xab $M 65536" \
    -c "read -P 0xcd $((10*M + 512)) 4096" \
    -c "read -P 0 $((16*M)) $M" \
    -c "read -P 0xef $((32*M - 3000)) 3000" \
    -c "read -P 0 $((24*M)) $((2*M))" "$ov"
expect "$T/overlay.expected" "$T/base.raw" "${OV_OPS[@]}"
rm -f "$T/out/ov.raw"
if out=$(Q qemu-img convert -f qcow2 -O raw "$ov" "$T/out/ov.raw" 2>&1); then
    same_bytes "overlay reads = base + writes (byte-exact)" "$T/out/ov.raw" "$T/overlay.expected"
else
    fail "overlay reads = base + writes (byte-exact)" "$out"
fi
# The clusters around the unaligned write were copied up from the remote base.
if out=$(Q qemu-img compare -f qcow2 -F raw "$ov" "$T/overlay.expected" 2>&1); then
    ok "compare overlay with the expected image"
else
    fail "compare overlay with the expected image" "$out"
fi
qio "check overlay" qemu-img check -f qcow2 "$ov"

# --- 2. remote mid.qcow2 -> remote base.qcow2 ------------------------------
if out=$(Q qemu-img info --output=json --backing-chain "$V/mid.qcow2" 2>&1) &&
   python3 -c '
import json, sys
chain = json.loads(sys.argv[1])
assert [c["format"] for c in chain] == ["qcow2", "qcow2"], chain
assert chain[0]["backing-filename"] == "base.qcow2", chain[0]
assert chain[0]["full-backing-filename"] == sys.argv[2] + "/base.qcow2", chain[0]
' "$out" "$V" 2>"$T/out/py.err"; then
    ok "info --backing-chain $V/mid.qcow2 resolves $V/base.qcow2"
else
    fail "info --backing-chain $V/mid.qcow2 resolves $V/base.qcow2" "$(tail -1 "$T/out/py.err") $(head -c 200 <<<"$out")"
fi
rm -f "$T/out/mid.raw"
if out=$(Q qemu-img convert -f qcow2 -O raw "$V/mid.qcow2" "$T/out/mid.raw" 2>&1); then
    same_bytes "remote chain mid->base reads right (byte-exact)" "$T/out/mid.raw" "$T/mid.expected"
else
    fail "remote chain mid->base reads right (byte-exact)" "$out"
fi
qio "check $V/mid.qcow2" qemu-img check -f qcow2 "$V/mid.qcow2"

top=$T/top.qcow2
Q qemu-img create -q -f qcow2 -F qcow2 -b "$V/mid.qcow2" "$top" >/dev/null 2>&1
# This write straddles the end of mid's 0x33 region into base-only data.
TOP_OPS=($((5*M - 4096)) 8192 0xee)
qio "write into a local top over the remote chain" qemu-io -f qcow2 -c "write -P 0xee $((5*M - 4096)) 8192" "$top"
qio "qemu-io reads through three layers" qemu-io -r -f qcow2 \
    -c "read -P 0x33 $((4*M)) $((M - 4096))" \
    -c "read -P 0xee $((5*M - 4096)) 8192" \
    -c "read -P 0x44 $((20*M)) 65536" \
    -c "read -P 0 $((8*M)) $((512*1024))" \
    -c "read -P 0x55 1234567 4321" "$top"
expect "$T/top.expected" "$T/mid.expected" "${TOP_OPS[@]}"
rm -f "$T/out/top.raw"
if out=$(Q qemu-img convert -f qcow2 -O raw "$top" "$T/out/top.raw" 2>&1); then
    same_bytes "top -> remote mid -> remote base (byte-exact)" "$T/out/top.raw" "$T/top.expected"
else
    fail "top -> remote mid -> remote base (byte-exact)" "$out"
fi

# --- 3. the remote images cannot be written --------------------------------
sum_before=$(cat "$T/origin/base.qcow2" "$T/origin/mid.qcow2" | sha256sum)
if out=$(Q qemu-img commit -f qcow2 "$ov" 2>&1); then
    fail "commit into the remote base is refused" "exit 0: $out"
else
    ok "commit into the remote base is refused"
    echo "# $(head -1 <<<"$out")"
fi
if out=$(Q qemu-img rebase -f qcow2 -F qcow2 -b "" "$V/mid.qcow2" 2>&1); then
    fail "rebase of a remote image is refused" "exit 0: $out"
else
    ok "rebase of a remote image is refused"
fi
[ "$sum_before" = "$(cat "$T/origin/base.qcow2" "$T/origin/mid.qcow2" | sha256sum)" ] &&
    ok "remote images unchanged" || fail "remote images unchanged" "origin files were modified"
rm -f "$T/out/ov2.raw"
if Q qemu-img convert -f qcow2 -O raw "$ov" "$T/out/ov2.raw" >/dev/null 2>&1; then
    same_bytes "overlay still reads right after the refused commit" "$T/out/ov2.raw" "$T/overlay.expected"
else
    fail "overlay still reads right after the refused commit" "convert failed"
fi

# --- the origin saw only GET/HEAD ------------------------------------------
sleep 0.2
bad=$(awk -F'"' '{ split($4, r, " "); if (r[1] != "GET" && r[1] != "HEAD") print $4 }' "$NGINX_LOG" | sort | uniq -c | head -5)
if [ -z "$bad" ] && [ -s "$NGINX_LOG" ]; then ok "origin saw only GET/HEAD ($(wc -l < "$NGINX_LOG") requests)"
else fail "origin saw only GET/HEAD" "${bad:-empty access log}"; fi
finish
