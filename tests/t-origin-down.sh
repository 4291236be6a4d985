#!/usr/bin/env bash
# tests/t-origin-down.sh: the origin goes away and comes back under an open file.
#
# A program opens a virtual file and reads some of it.  The origin is killed:
# reads of data not held fail with EIO within REMOTEIO_DEADLINE, data held is
# still served.  The origin is restarted on the same port: later reads through
# the same descriptor succeed.  Then the origin is frozen (SIGSTOP: connections
# are accepted but never answered): reads fail with EIO in bounded time, and
# succeed again once it is resumed.  The program must exit normally.
. "$(dirname "$0")/lib.sh"
require python3 curl timeout

# wait_for FILE: until the reader reaches a step (bounded)
wait_for() {
    local i
    for i in $(seq 1 600); do
        [ -e "$T/$1" ] && return 0
        kill -0 $RPID 2>/dev/null || { [ -e "$T/$1" ]; return; }
        sleep 0.1
    done
    return 1
}
val() { grep -o "\b$1=[^ ]*" "$2" 2>/dev/null | head -1 | cut -d= -f2-; }

MB=$((1 << 20))
mkdir -p "$T/root"
make_file "$T/root/obj" $((16 * MB))
start_fault_origin "$T/root" 0
PORT=$OPORT

cat >"$T/reader.py" <<'PY'
# Reads a virtual file in steps, waiting for the test to change the origin
# between steps.  Prints one key=value line per observation.
import errno, os, sys, time
path, truth_path, sync = sys.argv[1:4]
truth = open(truth_path, "rb").read()
MB = 1 << 20
def step(name):
    open(os.path.join(sync, name), "w").close()
def wait(name):
    end = time.monotonic() + 60
    while not os.path.exists(os.path.join(sync, name)):
        if time.monotonic() > end:
            print("timeout_waiting=%s" % name, flush=True)
            sys.exit(2)
        time.sleep(0.05)
def read(tag, fd, off, n):
    t0 = time.monotonic()
    try:
        b = os.pread(fd, n, off)
        r = "ok" if b == truth[off:off + n] else "WRONG"
    except OSError as e:
        r = errno.errorcode.get(e.errno, str(e.errno))
    print("%s=%s %s_time=%.2f" % (tag, r, tag, time.monotonic() - t0), flush=True)
    return r
def read_retry(tag, fd, off, n, tries=4):
    for i in range(1, tries + 1):
        r = read("%s_try%d" % (tag, i), fd, off, n)
        if r == "ok":
            break
        time.sleep(1)
    print("%s=%s %s_tries=%d" % (tag, r, tag, i), flush=True)

fd = os.open(path, os.O_RDONLY)
ok = all(read("warm%d" % i, fd, i * 65536, 65536) == "ok" for i in range(4))
print("warm=%s" % ("ok" if ok else "bad"), flush=True)
step("warm")
wait("killed")
read("held_down", fd, 65536, 65536)
for i, off in enumerate((8 * MB, 10 * MB, 12 * MB)):
    read("down%d" % i, fd, off, 65536)
    time.sleep(0.3)
step("down")
wait("restarted")
read_retry("back", fd, 8 * MB, 65536)
read("back_more", fd, 14 * MB + 12345, 200000)
step("back")
wait("stopped")
read("frozen", fd, 4 * MB, 65536)
step("frozen")
wait("resumed")
read_retry("thawed", fd, 4 * MB, 65536)
read("held_end", fd, 0, 4 * 65536)
os.close(fd)
print("exit=normal", flush=True)
PY

export REMOTEIO_MAP="/remote/=$OURL/"
export REMOTEIO_TIMEOUT=1 REMOTEIO_DEADLINE=5 REMOTEIO_CHUNK_SIZE=65536 \
       REMOTEIO_READAHEAD=131072 REMOTEIO_LOG=warn REMOTEIO_LOG_FILE=$T/shim.log
timeout -k 5 120 env LD_PRELOAD="$SHIM" "$PY" "$T/reader.py" /remote/obj "$T/root/obj" "$T" \
    >"$T/reader.out" 2>"$T/reader.err" &
RPID=$!

stepfail() { fail "$1" "reader did not reach step: $(tail -3 "$T/reader.out" "$T/reader.err" | tr '\n' ' ')"; }
if wait_for warm; then
    kill -9 $OPID; wait $OPID 2>/dev/null
    touch "$T/killed"
    if wait_for down; then
        start_fault_origin "$T/root" $PORT
        touch "$T/restarted"
        if wait_for back; then
            kill -STOP $OPID
            touch "$T/stopped"
            wait_for frozen || stepfail "reader survived a frozen origin"
            kill -CONT $OPID
            touch "$T/resumed"
        else stepfail "reader recovered"; fi
    else stepfail "reader saw the origin down"; fi
else stepfail "reader started"; fi
wait $RPID
rc=$?
out=$T/reader.out
echo "  reader (rc=$rc): $(grep -v '_try' "$out" | tr '\n' ' ')"
[ -s "$T/reader.err" ] && head -5 "$T/reader.err" | sed 's/^/  stderr| /'

[ "$(val warm "$out")" = ok ] && ok "initial reads" || fail "initial reads" "$(val warm "$out")"
[ "$(val held_down "$out")" = ok ] && ok "held data served while the origin is down" ||
    fail "held data served while the origin is down" "$(val held_down "$out")"
# eio_bounded TAG LIMIT NAME: the read TAG failed with EIO in under LIMIT seconds
eio_bounded() {
    local tag=$1 limit=$2 r t
    r=$(val "$tag" "$out"); t=$(val "${tag}_time" "$out")
    if [ "$r" = EIO ] && awk -v t="${t:-999}" -v l="$limit" 'BEGIN {exit !(t < l)}'; then
        ok "$3: EIO after ${t}s"
    else
        fail "$3: EIO in < ${limit}s" "got ${r:-nothing} after ${t:-?}s"
    fi
}
eio_bounded down0 8 "origin killed, read 1"
eio_bounded down1 8 "origin killed, read 2"
eio_bounded down2 8 "origin killed, read 3"
r=$(val back "$out"); n=$(val back_tries "$out")
if [ "$r" = ok ] && [ "$n" = 1 ]; then ok "origin restarted: next read on the same fd succeeds"
elif [ "$r" = ok ]; then fail "origin restarted: next read on the same fd succeeds" "needed $n tries ($(grep -o 'back_try[0-9]=[A-Z]*' "$out" | tr '\n' ' '))"
else fail "origin restarted: reads on the same fd succeed" "got ${r:-nothing} after ${n:-?} tries"; fi
[ "$(val back_more "$out")" = ok ] && ok "more reads after restart" || fail "more reads after restart" "$(val back_more "$out")"
eio_bounded frozen 8 "origin frozen (SIGSTOP)"
r=$(val thawed "$out"); n=$(val thawed_tries "$out")
[ "$r" = ok ] && ok "origin resumed: reads succeed again (try $n)" || fail "origin resumed: reads succeed again" "got ${r:-nothing}"
[ "$(val held_end "$out")" = ok ] && ok "held data still right at the end" || fail "held data still right at the end" "$(val held_end "$out")"
[ $rc -eq 0 ] && [ "$(val exit "$out")" = normal ] && ok "reader exited normally" ||
    fail "reader exited normally" "rc=$rc"

finish
