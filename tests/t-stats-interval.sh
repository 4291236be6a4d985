#!/usr/bin/env bash
# tests/t-stats-interval.sh: REMOTEIO_STATS_INTERVAL.  Programs that end with _exit (fio's
# job processes) run no destructor, and programs that run for days (a VM) exit late: with
# an interval the stats lines are appended every interval and when the process closes its
# last virtual file, so the figures are written either way.  Each line gives the totals
# so far: the last line of a path is its final figure, and printing counts nothing twice.
. "$(dirname "$0")/lib.sh"
require python3 timeout
require_shim
W=$T/www
mkdir -p "$W"
SIZE=3000000
make_file "$W/f" $SIZE
start_nginx "$W"
unset REMOTEIO_CONFIG REMOTEIO_LOG REMOTEIO_LOG_FILE REMOTEIO_STATS REMOTEIO_STATS_INTERVAL
export REMOTEIO_MAP="/remote/=$ORIGIN/"

# py SCRIPT [ENV...]: python3 under the shim, bounded; stderr to $T/err.
py() { local script=$1; shift; timeout -k 5 60 env LD_PRELOAD="$SHIM" "$@" "$PY" -c "$script" 2>"$T/err"; }
# lines FILE: the stats lines of /remote/f in FILE
lines() { cat "$1" 2>/dev/null | grep -c '^remoteio: stats path=/remote/f '; }
# last_served FILE: bytes_served on the last line of /remote/f
last_served() { grep '^remoteio: stats path=/remote/f ' "$1" 2>/dev/null | tail -1 | sed -n 's/.* bytes_served=\([0-9]*\).*/\1/p'; }

READ_CLOSE_EXIT='
import os
with open("/remote/f", "rb") as f:
    n = len(f.read())
assert n == '$SIZE', n
os._exit(0)'
READ_SLEEP_EXIT='
import os, time
f = open("/remote/f", "rb")
n = len(f.read())
assert n == '$SIZE', n
time.sleep(2.6)
os._exit(0)'
READ_TWICE='
import time
for i in range(2):
    with open("/remote/f", "rb") as f:
        f.read()
        time.sleep(0.7)'

# Threads reading while the interval thread writes, and forked children (each with its
# own interval thread) that open the file themselves: every read right, every process's
# figures written.  preader is built with the shim's sanitizer, so this case also runs
# under make tsan (whose runtime must be told that a child may start threads).
PREADER=$(preader_path)
rm -f "$T/sp"
timeout -k 5 60 env LD_PRELOAD="$SHIM" REMOTEIO_STATS="$T/sp" REMOTEIO_STATS_INTERVAL=100ms \
    TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}die_after_fork=0" \
    "$PREADER" -t 4 -p 3 -F -m seq -w 1 -c "$W/f" /remote/f >"$T/out" 2>"$T/err"
rc=$?
procs=$(grep '^remoteio: stats path=/remote/f ' "$T/sp" 2>/dev/null | grep -c " bytes_served=$SIZE ")
[ $rc -eq 0 ] && [ "$procs" -ge 3 ] &&
    ok "3 processes x 4 threads at a 100 ms interval: reads right, $procs lines with bytes_served=$SIZE" ||
    fail "threads and processes" "rc=$rc, $procs full lines: $(head -3 "$T/err")"

# Programs that are not built with the sanitizer cannot start threads under TSan.
if ldd "${SHIM##* }" 2>/dev/null | grep -q libtsan; then
    echo "# a ThreadSanitizer build: the cases with python3 and fio are left out"
    finish
    exit
fi

# Without an interval, os._exit writes nothing (no destructor runs): what the knob is for.
rm -f "$T/s0"
py "$READ_CLOSE_EXIT" REMOTEIO_STATS="$T/s0"
[ "$(lines "$T/s0")" = 0 ] && ok "without an interval, a process that _exits prints no stats (as documented)" ||
    fail "no interval, _exit" "$(cat "$T/s0")"

# Read, close, os._exit: the last close wrote the figures.
rm -f "$T/s1"
py "$READ_CLOSE_EXIT" REMOTEIO_STATS="$T/s1" REMOTEIO_STATS_INTERVAL=1m
[ "$(last_served "$T/s1")" = $SIZE ] && ok "read, close, _exit: the last close wrote bytes_served=$SIZE" ||
    fail "read, close, _exit" "stats: $(cat "$T/s1" 2>/dev/null; head -3 "$T/err")"

# Read, keep the file open, run 2.6 s, os._exit: the interval wrote the figures, twice.
rm -f "$T/s2"
py "$READ_SLEEP_EXIT" REMOTEIO_STATS="$T/s2" REMOTEIO_STATS_INTERVAL=1s
n=$(lines "$T/s2")
[ "${n:-0}" -ge 2 ] && [ "$n" -le 3 ] && [ "$(last_served "$T/s2")" = $SIZE ] &&
    ok "file held open, 2.6 s, _exit: $n lines at a 1 s interval, the last with bytes_served=$SIZE" ||
    fail "interval lines" "$n lines: $(cat "$T/s2" 2>/dev/null; head -3 "$T/err")"

# The same to stderr (REMOTEIO_STATS=1).
py "$READ_SLEEP_EXIT" REMOTEIO_STATS=1 REMOTEIO_STATS_INTERVAL=500ms
n=$(lines "$T/err")
[ "${n:-0}" -ge 3 ] && [ "$(last_served "$T/err")" = $SIZE ] &&
    ok "REMOTEIO_STATS=1: $n lines on stderr at a 500 ms interval" ||
    fail "interval lines on stderr" "$n lines: $(head -5 "$T/err")"

# Lines on an interval count nothing twice: the final line at exit holds the same total
# as a run without the interval.
rm -f "$T/s3" "$T/s4"
py "$READ_TWICE" REMOTEIO_STATS="$T/s3"
py "$READ_TWICE" REMOTEIO_STATS="$T/s4" REMOTEIO_STATS_INTERVAL=200ms
want=$((2 * SIZE))
[ "$(lines "$T/s3")" = 1 ] && [ "$(last_served "$T/s3")" = $want ] &&
    ok "without an interval: one line at exit, bytes_served=$want" ||
    fail "one line at exit" "$(cat "$T/s3" 2>/dev/null)"
n=$(lines "$T/s4")
[ "${n:-0}" -ge 4 ] && [ "$(last_served "$T/s4")" = $want ] &&
    ok "with a 200 ms interval: $n lines, the last with the same bytes_served=$want" ||
    fail "interval totals" "$n lines: $(cat "$T/s4" 2>/dev/null)"

# A forked child has its own interval thread and its own figures.
rm -f "$T/s5"
py '
import os, time
pid = os.fork()
if pid == 0:
    f = open("/remote/f", "rb"); f.read(1000000); time.sleep(1.3); os._exit(0)
os.waitpid(pid, 0)
os._exit(0)' REMOTEIO_STATS="$T/s5" REMOTEIO_STATS_INTERVAL=500ms
[ "$(last_served "$T/s5")" -ge 1000000 ] 2>/dev/null &&
    ok "a forked child that _exits wrote its own figures on the interval" ||
    fail "forked child" "$(cat "$T/s5" 2>/dev/null; head -3 "$T/err")"

# fio's job processes end with _exit.
if command -v fio >/dev/null; then
    rm -f "$T/s6"
    whole=$((SIZE / 65536 * 65536)) # fio reads whole blocks
    timeout -k 5 60 env LD_PRELOAD="$SHIM" REMOTEIO_STATS="$T/s6" REMOTEIO_STATS_INTERVAL=10s \
        fio --name=seq --filename=/remote/f --readonly --rw=read --bs=64k --ioengine=psync \
        --size=$whole --output-format=terse >"$T/fio.out" 2>"$T/err"
    served=$(grep '^remoteio: stats path=/remote/f ' "$T/s6" 2>/dev/null |
             sed -n 's/.* bytes_served=\([0-9]*\).*/\1/p' | sort -n | tail -1)
    [ "${served:-0}" -ge $whole ] && ok "fio (job process ends with _exit): a line with bytes_served=$served" ||
        fail "fio stats" "$(cat "$T/s6" 2>/dev/null; head -3 "$T/err")"
else
    echo "# fio is not installed: its case is skipped"
fi

# A stats reader that stops reading holds up the interval thread's write, and nothing
# else: opens and closes of virtual files go on (they once waited for the write, which
# held the lock every open takes).  One file stays open, so that no close is the last one
# (which writes the lines itself, as a program's own write to stderr would).  100 paths make 100 lines a tick, so the pipe to
# stderr, which the parent reads only at the end, is full within a few ticks.
for i in $(seq 100); do make_file "$W/p$i" 4096; done
"$PY" - "$SHIM" <<'PY' >"$T/slow.out" 2>&1
import os, select, subprocess, sys
child = '''
import time
held = open("/remote/f", "rb")  # so that no close is the last (that one writes the lines)
end = time.time() + 2.5
while time.time() < end:
    for i in range(1, 101):
        with open("/remote/p%d" % i, "rb") as f:
            f.read(1)
    time.sleep(0.05)
print("done", flush=True)
'''
env = dict(os.environ, LD_PRELOAD=sys.argv[1], REMOTEIO_STATS="1", REMOTEIO_STATS_INTERVAL="100ms")
p = subprocess.Popen([sys.executable, "-c", child], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
ready, _, _ = select.select([p.stdout], [], [], 20)
line = p.stdout.readline().decode().strip() if ready else "(nothing in 20 s)"
p.stderr.read()  # drain: the exit's lines can be written now
p.wait(timeout=20)
print(line)
PY
[ "$(tail -1 "$T/slow.out")" = done ] &&
    ok "a stats reader that stops reading blocks no open or close of virtual files" ||
    fail "stats reader that stops" "$(tail -3 "$T/slow.out")"

# A bad interval is one line and the default (off).
py 'pass' REMOTEIO_STATS_INTERVAL=10ms
grep -q "REMOTEIO_STATS_INTERVAL: invalid value for stats_interval" "$T/err" && [ "$(grep -c remoteio: "$T/err")" = 1 ] && ok "an interval below 100 ms is refused with one line" ||
    fail "bad interval" "$(cat "$T/err")"
finish
