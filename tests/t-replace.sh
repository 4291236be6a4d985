#!/usr/bin/env bash
# tests/t-replace.sh: the object changes under an open file.
#
# The origin replaces the object with different bytes of the same size (new
# ETag, later Last-Modified).  Through the already open descriptor the shim must
# never return a byte of the new content: data it already holds is still served,
# data it does not hold fails with ESTALE.  It must log the change.
# Part 1 is scripted (replace on demand between reads); part 2 lets the origin
# replace the object after N range requests while 8 threads read at random;
# part 3 repeats part 1 with a weak ETag and with no ETag at all.
. "$(dirname "$0")/lib.sh"
require python3 curl timeout

ostat() { curl -s --max-time 5 "$OURL/__stats" | "$PY" -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
# val KEY FILE: the value of KEY=... in FILE
val() { grep -o "\b$1=[^ ]*" "$2" 2>/dev/null | head -1 | cut -d= -f2-; }

SIZE=$((16 << 20))
mkdir -p "$T/root"
make_file "$T/truth" $SIZE
cp "$T/truth" "$T/root/obj"

export REMOTEIO_CHUNK_SIZE=65536 REMOTEIO_READAHEAD=262144 REMOTEIO_TIMEOUT=5 \
       REMOTEIO_LOG=warn REMOTEIO_LOG_FILE=$T/shim.log

# -- 1: replace between reads -------------------------------------------------
start_fault_origin "$T/root" 0 --log "$T/origin.log"
export REMOTEIO_MAP="/remote/=$OURL/"
cat >"$T/phase.py" <<'PY'
# Reads, has the origin replace the object, reads again through the same fd.
import errno, os, sys, time, urllib.request
path, truth_path, url = sys.argv[1:4]
truth = open(truth_path, "rb").read()
MB = 1 << 20
def rd(fd, off, n):
    try:
        return os.pread(fd, n, off), None
    except OSError as e:
        return None, e.errno
def region(fd, off, n, step=65536):
    """Read [off, off+n) in steps; return ('ok'|'wrong'|errno name, wrong reads)."""
    bad = 0
    for o in range(off, off + n, step):
        b, err = rd(fd, o, step)
        if err is not None:
            return errno.errorcode.get(err, str(err)), bad
        if b != truth[o:o + step]:
            bad += 1
    return ("ok" if bad == 0 else "wrong"), bad
fd = os.open(path, os.O_RDONLY)
print("before=%s" % region(fd, 0, MB)[0], flush=True)
time.sleep(0.5)                     # let any readahead finish
with urllib.request.urlopen(url + "/__replace?path=/obj", timeout=10) as r:
    print("replaced=%s" % r.read().decode().strip().replace(" ", ""), flush=True)
print("cached_after=%s" % region(fd, 0, MB)[0], flush=True)
t0 = time.monotonic()
b, err = rd(fd, 12 * MB, 65536)
dt = time.monotonic() - t0
if err is not None:
    print("far_read=%s far_errno=%d far_time=%.2f" % (errno.errorcode.get(err, err), err, dt))
else:
    same = b == truth[12 * MB:12 * MB + 65536]
    print("far_read=%s far_errno=0 far_time=%.2f" % ("old_bytes" if same else "NEW_BYTES", dt))
b, err = rd(fd, 12 * MB + 3 * 65536, 100)
print("far_again=%s" % ("ok_old" if err is None and b == truth[12*MB+3*65536:12*MB+3*65536+100]
                        else errno.errorcode.get(err, "wrong")))
print("cached_again=%s" % region(fd, 0, MB, 4096)[0])
print("fstat_size=%d" % os.fstat(fd).st_size)
os.close(fd)
# A new open may see the new object; report what it sees (not asserted).
try:
    fd = os.open(path, os.O_RDONLY)
    b, err = rd(fd, 12 * MB, 4096)
    inv = bytes(255 - x for x in truth[12 * MB:12 * MB + 4096])
    print("reopen=%s" % ("new" if b == inv else "old" if b == truth[12*MB:12*MB+4096]
                         else errno.errorcode.get(err, "other")))
    os.close(fd)
except OSError as e:
    print("reopen=open_%s" % errno.errorcode.get(e.errno, e.errno))
PY
timeout -k 5 60 env LD_PRELOAD="$SHIM" "$PY" "$T/phase.py" /remote/obj "$T/truth" "$OURL" \
    >"$T/phase.out" 2>"$T/phase.err"
rc=$?
echo "  phase 1 (rc=$rc): $(tr '\n' ' ' <"$T/phase.out")"
[ $rc -eq 0 ] || { echo "  stderr:"; head -10 "$T/phase.err" | sed 's/^/  | /'; }
[ "$(val before "$T/phase.out")" = ok ] && ok "read before the change" || fail "read before the change" "$(val before "$T/phase.out")"
[ "$(val cached_after "$T/phase.out")" = ok ] && ok "data held before the change is still served" ||
    fail "data held before the change is still served" "got $(val cached_after "$T/phase.out")"
fr=$(val far_read "$T/phase.out")
case $fr in
    ESTALE) ok "read of data not held fails with ESTALE (errno $(val far_errno "$T/phase.out"), $(val far_time "$T/phase.out")s)";;
    NEW_BYTES) fail "read of data not held fails with ESTALE" "returned bytes of the NEW object";;
    *) fail "read of data not held fails with ESTALE" "got ${fr:-nothing}";;
esac
[ "$(val far_again "$T/phase.out")" = ESTALE ] && ok "and keeps failing with ESTALE" ||
    fail "and keeps failing with ESTALE" "got $(val far_again "$T/phase.out")"
[ "$(val cached_again "$T/phase.out")" = ok ] && ok "held data still served after ESTALE" ||
    fail "held data still served after ESTALE" "got $(val cached_again "$T/phase.out")"
[ "$(val fstat_size "$T/phase.out")" = $SIZE ] && ok "fstat size unchanged" ||
    fail "fstat size unchanged" "$(val fstat_size "$T/phase.out")"
echo "  reopen after change sees: $(val reopen "$T/phase.out")"
if grep -a 'remoteio:' "$T/shim.log" "$T/phase.err" 2>/dev/null |
        grep -qiE 'chang|stale|etag|modif|replac|412|precondition'; then
    ok "shim logged the change: $(grep -ahiE 'chang|stale|etag|modif|replac|412|precondition' "$T/shim.log" "$T/phase.err" | grep remoteio: | head -1)"
else
    fail "shim logged the change" "log: $(head -3 "$T/shim.log" 2>/dev/null)"
fi
pf=$(ostat 'd["precondition_failed"]')
[ "${pf:-0}" -ge 1 ] && ok "origin answered 412 to the stale validator ($pf times)" ||
    fail "shim sent a validator the origin rejected" "precondition_failed=${pf:-?}"
kill -9 $OPID 2>/dev/null; wait $OPID 2>/dev/null

# -- 2: replaced after N range requests, 8 threads ----------------------------
cp "$T/truth" "$T/root/obj"
start_fault_origin "$T/root" 0 --replace-after 40
export REMOTEIO_MAP="/remote/=$OURL/"
: >"$T/shim.log"
timeout -k 5 120 env LD_PRELOAD="$SHIM" "$PY" "$TOP/tests/verify.py" /remote/obj "$T/truth" \
    --threads 8 --reads 800 --sequential-passes 1 --seed 11 --expect-errno ESTALE \
    --time-limit 110 >"$T/verify.out" 2>&1
rc=$?
echo "  verify (rc=$rc): $(grep 'result=' "$T/verify.out")"
echo "  origin: range_get=$(ostat 'd["range_get"]') 412=$(ostat 'd["status"].get("412",0)') replacements=$(ostat 'len(d["replacements"])')"
[ $rc -eq 0 ] && ok "no wrong bytes; reads failed only with ESTALE" ||
    { fail "no wrong bytes; reads failed only with ESTALE" "rc=$rc"; grep -v 'reads_ok=' "$T/verify.out" | head -10 | sed 's/^/  | /'; }
grep -q 'wrong_bytes=0 ' "$T/verify.out" && ok "0 wrong bytes" || fail "0 wrong bytes" "$(val wrong_bytes "$T/verify.out")"
nstale=$(grep -o 'ESTALE:[0-9]*' "$T/verify.out" | cut -d: -f2)
[ "${nstale:-0}" -gt 0 ] && ok "$nstale reads failed with ESTALE" || fail "some reads failed with ESTALE" "none did"
nok=$(val reads_ok "$T/verify.out")
[ "${nok:-0}" -gt 0 ] && ok "$nok reads succeeded" || fail "some reads succeeded" "${nok:-0}"
[ "$(ostat 'len(d["replacements"])')" = 1 ] && ok "origin replaced the object" || fail "origin replaced the object"

# -- 3: weak or no ETag: Last-Modified is the validator -----------------------
# A weak ETag never satisfies If-Match (strong comparison), so a shim that sent
# it would see 412 on every read; with no ETag only If-Unmodified-Since is left.
for mode in weak none; do
    cp "$T/truth" "$T/root/obj"
    touch -d '-1 hour' "$T/root/obj"
    start_fault_origin "$T/root" 0 --etag $mode
    export REMOTEIO_MAP="/remote/=$OURL/"
    timeout -k 5 60 env LD_PRELOAD="$SHIM" "$PY" "$T/phase.py" /remote/obj "$T/truth" "$OURL" \
        >"$T/phase.out" 2>"$T/phase.err"
    rc=$?
    echo "  $mode ETag (rc=$rc): $(tr '\n' ' ' <"$T/phase.out")"
    [ "$(val before "$T/phase.out")" = ok ] && ok "$mode ETag: reads work" ||
        fail "$mode ETag: reads work" "got $(val before "$T/phase.out"); $(grep -h remoteio: "$T/phase.err" "$T/shim.log" | tail -1)"
    [ "$(val cached_after "$T/phase.out")" = ok ] && ok "$mode ETag: held data served after the change" ||
        fail "$mode ETag: held data served after the change" "got $(val cached_after "$T/phase.out")"
    [ "$(val far_read "$T/phase.out")" = ESTALE ] && ok "$mode ETag: change detected (ESTALE)" ||
        fail "$mode ETag: change detected (ESTALE)" "got $(val far_read "$T/phase.out")"
    echo "  origin: range_get=$(ostat 'd["range_get"]') with_if_match=$(ostat 'd["range_get_with_if_match"]') with_ius=$(ostat 'd["range_get_with_if_unmodified_since"]') 412=$(ostat 'd["status"].get("412",0)')"
    kill -9 $OPID 2>/dev/null; wait $OPID 2>/dev/null
done

finish
