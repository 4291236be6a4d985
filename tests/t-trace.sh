#!/usr/bin/env bash
# tests/t-trace.sh: learned prefetch (shim/trace.h).  A program reads a fixed scattered
# pattern (16 clusters of 8 chunks, one cluster every 0.4 s) from a 64 MiB object; its
# first run records the trace, a second one on an empty cache replays it:
#   - right bytes; the origin sees the clusters as 16 large ranges (one per cluster) and
#     at most a third of the recording run's requests, and the program's reads are no
#     longer on the critical path (demand misses from the stats line: at most 4, against
#     over 100 in the recording run); from a second access log with each response's end
#     time ($msec) and the program's own read times: the origin served >= 90% of the
#     traced chunks before the program's first read of each, and the responses done while
#     the program waited for them fall from over 64 to at most 8;
#   - qemu-img info on a qcow2 image whose trace is a whole 64 MiB read: at most 4 MiB
#     fetched (the open's lead), and the trace left whole;
#   - 8 threads reading at random while a trace replays and records: right bytes, the
#     trace refined (the recording's locking under make tsan);
#   - trace_chunks_replayed = used = 128, wasted = 0;
#   - a program reading other chunks (divergent): replay stops, replayed chunks < the
#     trace's, wasted <= what the lead allows when it diverges (3 s, a burst's 1 s and the
#     0.8 s the program takes to read 32 chunks: 12 clusters = 96 chunks);
#   - a corrupt trace, a trace for another object, a trace bigger than the cache: ignored
#     or clipped, with one log line each;
#   - remoteio trace export / import carry a trace to another directory, where it
#     replays; a junk trace or one for another object is refused; with
#     REMOTEIO_TRACE_ORIGIN=1 a trace at the origin (URL.remoteio-trace) replays on a
#     host with none, and a 404 there is quiet;
#   - a stat() starts no replay; with the disk cache on, traces live beside it, and
#     remoteio cache clear drops them with the chunks;
#   - the tests/vm guest: a recorded boot, then a replaying one on an empty cache (left
#     out when qemu cannot boot a guest here).
. "$(dirname "$0")/lib.sh"
require python3
require_shim
MIB=1048576
mkdir -p "$T/www" "$T/traces"
make_file "$T/www/img" $((64 * MIB))
make_file "$T/www/other" $((64 * MIB))
# a second access log with the time each response was done ($msec) and its range
NGINX_HTTP_EXTRA="log_format rio_ms '\$msec \$status \$body_bytes_sent \"\$http_range\" \"\$request\"'; access_log $T/timed.log rio_ms;" \
    start_nginx "$T/www"
TIMED_LOG=$T/timed.log
export REMOTEIO_MAP="/remote/=$ORIGIN/"
export REMOTEIO_TRACE_DIR=$T/traces
unset REMOTEIO_CACHE_DIR

# chunks FILE: the chunk indices of a trace file, one a line (shim/trace_file.h's format)
chunks() {
    "$PY" - "$1" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
n, v = struct.unpack_from("<I", b, 44)[0], struct.unpack_from("<H", b, 48)[0]
for i in range(n):
    c, k, t = struct.unpack_from("<QII", b, 64 + v + 16 * i)
    for x in range(c, c + k):
        print(x)
PY
}
stat_of() { sed -n "s/.* $2=\([0-9]*\).*/\1/p" "$1" | awk '{ s += $1 } END { print s + 0 }'; }
lines() { wc -l < "$NGINX_LOG"; }
tlines() { wc -l < "$TIMED_LOG"; }
# timing MARK READS TRACE: from the timed access log past line MARK and the reader's READS,
# "AHEAD OF WAITED": of the TRACE's chunks the program read, how many the origin had served
# (a response covering the read's bytes done) before the program's first read of them;
# and how many responses were done while the program waited for a read they cover (the
# requests on its critical path)
timing() {
    "$PY" - "$TIMED_LOG" "$1" "$2" "$3" <<'PY'
import re, struct, sys
logf, mark, readsf, tracef = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
served = []  # (done, first, last)
for line in open(logf).read().splitlines()[mark:]:
    m = re.match(r'([0-9.]+) 20[06] [0-9]+ "bytes=([0-9]+)-([0-9]+)" "GET /img ', line)
    if m:
        served.append((float(m.group(1)), int(m.group(2)), int(m.group(3))))
reads = [tuple(float(x) for x in l.split()) for l in open(readsf)]
b = open(tracef, "rb").read()
n, v = struct.unpack_from("<I", b, 44)[0], struct.unpack_from("<H", b, 48)[0]
trace = set()
for i in range(n):
    c, k, t = struct.unpack_from("<QII", b, 64 + v + 16 * i)
    trace.update(range(c, c + k))
first = {}
for t0, t1, off in reads:
    first.setdefault(int(off) >> 16, (t0, int(off)))
covers = lambda s, off: s[1] <= off and s[2] >= off + 4095
ahead = total = 0
for c, (t0, off) in first.items():
    if c not in trace:
        continue
    total += 1
    done = [s[0] for s in served if covers(s, off)]
    ahead += bool(done) and min(done) <= t0
waited = sum(1 for s in served
             if any(t0 - 0.001 <= s[0] <= t1 + 0.005 and covers(s, int(off)) for t0, t1, off in reads))
print(ahead, total, waited)
PY
}
# gets_since LINE [MIN]: range GETs after LINE (of at least MIN bytes)
gets_since() { tail -n +$(($1 + 1)) "$NGINX_LOG" | awk -v m="${2:-0}" '/"GET / && $1 ~ /^2/ && $2 >= m { n++ } END { print n + 0 }'; }

# reader NAME SEED GAP: reads 4 KiB in each chunk of 16 clusters of 8 chunks (bases from
# SEED, 16 chunks apart, plus SHIFT), a cluster every GAP seconds, and checks every byte
# against the local file.  With READ_LOG, each read's "start end offset" (wall clock)
# goes there.
reader() {
    "$PY" - "$T/www/$1" "/remote/$1" "$2" "$3" "${SHIFT:-0}" "${READ_LOG:-}" <<'PY'
import os, sys, time, random
local, virt, seed, gap, shift = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
log = open(sys.argv[6], "w") if sys.argv[6] else None
rnd = random.Random(seed)
bases = [16 * b + shift for b in rnd.sample(range(0, 62), 16)]  # 64 KiB chunks of 64 MiB, apart
want = open(local, "rb")
fd = os.open(virt, os.O_RDONLY)
time.sleep(0.3)                                   # the "kernel": nothing read yet
bad = 0
for b in bases:
    chunks = list(range(b, b + 8)); rnd.shuffle(chunks)
    for c in chunks:
        off = c * 65536 + 100
        t0 = time.time()
        got = os.pread(fd, 4096, off)
        if log:
            log.write("%.6f %.6f %d\n" % (t0, time.time(), off))
        want.seek(off)
        bad += got != want.read(4096)
    time.sleep(gap)
print("reads done, bad=%d" % bad)
PY
}

run() { # run NAME SEED GAP STATS [ENV...]: the reader under the shim
    local name=$1 seed=$2 gap=$3 st=$4; shift 4
    : > "$st"
    env REMOTEIO_STATS="$st" "$@" LD_PRELOAD="$SHIM" bash -c 'reader "$@"' _ "$name" "$seed" "$gap" 2>"$st.err"
}
export -f reader; export T PY SHIFT=0

record_replay() {
    mark=$(lines) tmark=$(tlines)
    out=$(READ_LOG=$T/reads.rec run img 1 0.4 "$T/st.rec")
    n_rec=$(gets_since $mark)
    sleep 0.2
    tm_rec=$(timing $tmark "$T/reads.rec" "$T/traces/$(ls "$T/traces" | grep '\.trace$' | head -1)")
    miss_rec=$(stat_of "$T/st.rec" cache_misses)
    ntr=$(ls "$T/traces" | grep -c '\.trace$')
    [ "$out" = "reads done, bad=0" ] && [ "$ntr" = 1 ] &&
        ok "recording run: right bytes, one trace written ($n_rec requests, $miss_rec demand misses)" ||
        fail "recording run" "$out; traces: $(ls -a "$T/traces"); $(cat "$T/st.rec.err")"
    TRACE_NAME=$(ls "$T/traces" | grep '\.trace$')
    cp "$T/traces/$TRACE_NAME" "$T/img.trace"
    mark=$(lines) tmark=$(tlines)
    out=$(READ_LOG=$T/reads.rep run img 1 0.4 "$T/st.rep")
    n_rep=$(gets_since $mark)
    sleep 0.2
    read -r ahead total waited <<<"$(timing $tmark "$T/reads.rep" "$T/img.trace")"
    waited_rec=${tm_rec##* }
    big=$(gets_since $mark $((512 * 1024)))
    miss=$(stat_of "$T/st.rep" cache_misses)
    rep=$(stat_of "$T/st.rep" trace_chunks_replayed)
    used=$(stat_of "$T/st.rep" trace_chunks_used)
    wasted=$(stat_of "$T/st.rep" trace_chunks_wasted)
    [ "$out" = "reads done, bad=0" ] && ok "replay run: right bytes" || fail "replay run: bytes" "$out"
    # the clusters come as 16 ranges of 512 KiB; the others are the readahead the
    # program's own reads start past a cluster (the recording run had them too)
    [ "$big" = 16 ] && [ "$n_rep" -le $((n_rec / 3)) ] &&
        ok "replay run: the origin saw $n_rep range requests (recording: $n_rec), the 16 clusters as ranges of 512 KiB" ||
        fail "replay run: ranges" "$n_rep requests, $big >= 512 KiB (16 wanted); $(tail -n +$((mark + 1)) "$NGINX_LOG" | head -40)"
    [ "$miss_rec" -ge 100 ] && [ "$miss" -le 4 ] &&
        ok "replay run: demand misses $miss_rec -> $miss (<= 4)" ||
        fail "replay run: demand misses" "recording $miss_rec, replay $miss (<= 4 wanted)"
    # from the origin's own timed log and the program's read times
    [ "$total" = 128 ] && [ $((ahead * 10)) -ge $((total * 9)) ] &&
        ok "replay run: the origin served $ahead of the $total traced chunks before the program's first read of each (>= 90%)" ||
        fail "replay run: served ahead" "$ahead of $total served before the program read them (>= 90% wanted)"
    [ "$waited_rec" -ge 64 ] && [ "$waited" -le 8 ] &&
        ok "replay run: requests on the critical path (done while the program waited for them) $waited_rec -> $waited (<= 8)" ||
        fail "replay run: critical path" "recording $waited_rec, replay $waited requests done while the program waited (<= 8 wanted)"
    [ "$rep" = 128 ] && [ "$used" = 128 ] && [ "$wasted" = 0 ] &&
        ok "replay run: trace_chunks_replayed=$rep used=$used wasted=$wasted" ||
        fail "replay run: trace counters" "replayed=$rep used=$used wasted=$wasted (128 128 0 wanted)"
}

divergent() {
    [ -n "${TRACE_NAME:-}" ] || record_replay # the trace it starts from
    cp "$T/img.trace" "$T/traces/$TRACE_NAME"
    out=$(run img 2 0.05 "$T/st.div" REMOTEIO_LOG=info SHIFT=8) # none of the trace's chunks
    rep=$(stat_of "$T/st.div" trace_chunks_replayed)
    wasted=$(stat_of "$T/st.div" trace_chunks_wasted)
    [ "$out" = "reads done, bad=0" ] && grep -q "trace replay stopped (the reads diverged" "$T/st.div.err" &&
        [ "$rep" -lt 128 ] && [ "$wasted" -le 96 ] &&
        ok "divergent reads: replay stopped after $rep of 128 chunks, $wasted wasted (<= 96)" ||
        fail "divergent reads" "$out; replayed=$rep wasted=$wasted; $(cat "$T/st.div.err")"
    # refinement: the new trace is this run's 128 chunks, then those of the old one it
    # neither replayed nor reached; the replayed ones it never read dropped out
    chunks "$T/img.trace" | sort > "$T/old.chunks"
    chunks "$T/traces/$TRACE_NAME" | sort > "$T/new.chunks"
    kept=$(comm -12 "$T/old.chunks" "$T/new.chunks" | wc -l) all=$(wc -l < "$T/new.chunks")
    [ "$all" = $((128 + kept)) ] && [ "$kept" -le $((128 - rep)) ] && [ "$kept" -gt 0 ] &&
        ok "refined trace: this run's 128 chunks and $kept of the old one's (none of the $rep replayed and unread)" ||
        fail "refined trace" "$all chunks, $kept of the old trace's; $rep were replayed and not read"
}

# bad_trace NAME WHAT PATTERN [ENV...]: run the reader with the trace in place; one log
# line matching PATTERN, right bytes
bad_trace() {
    local what=$1 pat=$2; shift 2
    out=$(run img 1 0 "$T/st.bad" REMOTEIO_TRACE=replay "$@")
    n=$(grep -c "$pat" "$T/st.bad.err")
    # (REMOTEIO_LOG=info may add lines of other modules: those about traces are counted)
    all=$(grep -i trace "$T/st.bad.err" | grep -vc "info: .*replaying its trace of")
    [ "$out" = "reads done, bad=0" ] && [ "$n" = 1 ] && [ "$all" = 1 ] &&
        ok "$what: right bytes, one log line ($(head -c 160 "$T/st.bad.err"))" ||
        fail "$what" "$out; $n matching of $all lines; log: $(cat -A "$T/st.bad.err" | head -5)"
}

bad_traces() {
    [ -n "${TRACE_NAME:-}" ] || record_replay # the trace it starts from
    f=$T/traces/$TRACE_NAME
    cp "$T/img.trace" "$f"
    printf '\xff' | dd of="$f" bs=1 seek=100 conv=notrunc status=none
    bad_trace "corrupt trace" "ignored: checksum mismatch"
    head -c 10 /dev/urandom > "$f"
    bad_trace "foreign file" "ignored: not a remoteio trace"
    # the name of other's trace: record one read of it
    rm -f "$T/traces/"*.trace
    REMOTEIO_TRACE=record LD_PRELOAD="$SHIM" "$PY" -c 'import os; os.pread(os.open("/remote/other", os.O_RDONLY), 10, 0)'
    g=$(ls "$T/traces/"*.trace)
    cp "$T/img.trace" "$g"
    out=$(REMOTEIO_TRACE=replay LD_PRELOAD="$SHIM" "$PY" -c 'import os; os.pread(os.open("/remote/other", os.O_RDONLY), 10, 0)' 2>&1)
    [ "$(grep -c 'ignored: it was recorded for another object' <<<"$out")" = 1 ] &&
        ok "a trace for another object: ignored, one log line" || fail "a trace for another object" "$out"
    rm -f "$g"
    cp "$T/img.trace" "$T/traces/$TRACE_NAME"
    bad_trace "a trace bigger than the cache" "larger than the cache's budget; replaying 2 MiB" REMOTEIO_CACHE_SIZE=2M REMOTEIO_LOG=info
    rep=$(stat_of "$T/st.bad" trace_chunks_replayed)
    [ "$rep" -le 32 ] && ok "a trace bigger than the cache: $rep chunks replayed (<= 32)" ||
        fail "a trace bigger than the cache" "$rep chunks replayed"
}

# remoteio trace export / import: a trace carried to an empty directory replays there
export_import() {
    [ -n "${TRACE_NAME:-}" ] || record_replay # the trace it starts from
    RIO=$TOP/build/remoteio
    "$RIO" trace export /remote/img > "$T/exported" &&
        cmp -s "$T/exported" "$T/traces/$TRACE_NAME" && ok "trace export: the stored trace, byte for byte" ||
        fail "trace export" "$(ls -l "$T/exported" "$T/traces/$TRACE_NAME")"
    mkdir -p "$T/host2"
    REMOTEIO_TRACE_DIR=$T/host2 "$RIO" trace import /remote/img < "$T/exported" &&
        cmp -s "$T/host2/$TRACE_NAME" "$T/exported" && ok "trace import: installed under the object's name" ||
        fail "trace import" "$(ls -la "$T/host2")"
    mark=$(lines)
    out=$(run img 1 0.4 "$T/st.imp" REMOTEIO_TRACE_DIR=$T/host2 REMOTEIO_TRACE=replay)
    big=$(gets_since $mark $((512 * 1024)))
    [ "$out" = "reads done, bad=0" ] && [ "$big" = 16 ] && [ "$(stat_of "$T/st.imp" trace_chunks_used)" = 128 ] &&
        ok "an imported trace replays: 16 ranges of 512 KiB, 128 chunks used" ||
        fail "an imported trace replays" "$out, $big large ranges; $(cat "$T/st.imp")"
    err=$(REMOTEIO_TRACE_DIR=$T/host2 "$RIO" trace import /remote/other < "$T/exported" 2>&1); rc=$?
    [ $rc = 1 ] && [[ $err == *"recorded for another object"* ]] && [ "$(ls "$T/host2" | wc -l)" = 1 ] &&
        ok "trace import for another object: refused ($err)" || fail "trace import for another object" "rc=$rc $err; $(ls "$T/host2")"
    head -c 300 /dev/urandom > "$T/junk"
    err=$(REMOTEIO_TRACE_DIR=$T/host2 "$RIO" trace import /remote/img < "$T/junk" 2>&1); rc=$?
    [ $rc = 1 ] && [[ $err == *"not a remoteio trace"* ]] && cmp -s "$T/host2/$TRACE_NAME" "$T/exported" &&
        ok "trace import of junk: refused, the trace in place kept ($err)" || fail "trace import of junk" "rc=$rc $err"
}

# The tests/vm guest (t-vm-boot.sh's): a recorded boot, then a new qemu on an empty
# cache replaying it: the guest checks every file (PASS), the origin sees fewer and larger
# requests, and fewer of the guest's reads wait for the network (demand misses).
vm_boot_replay() {
    . "$TOP/tests/vm/guest.sh"
    VM_TIMEOUT=${VM_TIMEOUT_TRACE:-180}
    if ! command -v qemu-system-x86_64 >/dev/null || ! command -v mke2fs >/dev/null; then
        echo "# vm scenario left out: qemu-system-x86_64 or mke2fs missing"; return
    fi
    vm_prepare "$T/vm" || { echo "# vm scenario left out: $VM_WHY"; return; }
    vm_make_disk "$T/www/disk.img" 64 40
    qemu_under_shim "$T/www/disk.img" || { echo "# vm scenario left out: qemu-img fails under $SHIM"; return; }
    local drive=(-drive "file=/remote/disk.img,format=raw,if=virtio,readonly=on")
    mark=$(lines)
    VM_PREFIX=(env LD_PRELOAD="$SHIM" REMOTEIO_TRACE_DIR="$T/vmtraces" REMOTEIO_STATS="$T/vm.rec.st")
    vm_boot "$T/vm.rec.serial" "${drive[@]}"; v1=$VM_VERDICT s1=$VM_SECS
    n1=$(gets_since $mark) m1=$(stat_of "$T/vm.rec.st" cache_misses)
    sleep 0.3; mark=$(lines)
    VM_PREFIX=(env LD_PRELOAD="$SHIM" REMOTEIO_TRACE_DIR="$T/vmtraces" REMOTEIO_STATS="$T/vm.rep.st")
    vm_boot "$T/vm.rep.serial" "${drive[@]}"; v2=$VM_VERDICT s2=$VM_SECS
    sleep 0.3
    n2=$(gets_since $mark) big2=$(gets_since $mark $((4 * MIB))) m2=$(stat_of "$T/vm.rep.st" cache_misses)
    rep=$(stat_of "$T/vm.rep.st" trace_chunks_replayed) used=$(stat_of "$T/vm.rep.st" trace_chunks_used)
    wasted=$(stat_of "$T/vm.rep.st" trace_chunks_wasted)
    echo "#   recording boot ${s1}s: $n1 requests, $m1 demand misses; replay boot ${s2}s: $n2 requests ($big2 >= 4 MiB), $m2 demand misses, replayed=$rep used=$used wasted=$wasted"
    [[ $v1 == PASS* ]] && [[ $v2 == PASS* ]] && ok "vm: both boots checked every file ($v2)" ||
        fail "vm: boots" "recording: $v1; replay: $v2"
    [ "$n2" -lt "$n1" ] && [ "$big2" -ge 1 ] &&
        ok "vm: the replay boot made $n2 requests ($big2 of at least 4 MiB) against $n1" ||
        fail "vm: requests" "$n2 requests ($big2 >= 4 MiB) against $n1 recording"
    [ "$m2" -le $((m1 / 2)) ] && ok "vm: demand misses $m1 -> $m2" ||
        fail "vm: demand misses" "$m1 -> $m2 (at most half wanted)"
    [ "$rep" -gt 0 ] && [ "$wasted" -le $((rep / 10)) ] &&
        ok "vm: $rep chunks replayed, $used used, $wasted wasted (<= 10%)" ||
        fail "vm: trace counters" "replayed=$rep used=$used wasted=$wasted"
}

# With the disk cache on and no REMOTEIO_TRACE_DIR, traces live beside it (DIR.traces),
# not in it; a trace directory others can write is refused with one line.
beside_disk_cache() {
    local env=(REMOTEIO_TRACE_DIR= REMOTEIO_CACHE_DIR="$T/cd" REMOTEIO_DISK_CACHE_SIZE=64M)
    out=$(run img 3 0 "$T/st.cd1" "${env[@]}")
    inside=$(find "$T/cd" -name '*.trace' | wc -l)
    rm -rf "$T/cd" # a cold cache; the trace beside it stays
    out2=$(run img 3 0 "$T/st.cd2" "${env[@]}")
    n=$(ls "$T/cd.traces" 2>/dev/null | grep -c '\.trace$')
    [ "$out" = "reads done, bad=0" ] && [ "$out2" = "reads done, bad=0" ] && [ "$n" = 1 ] && [ "$inside" = 0 ] &&
        [ "$(stat_of "$T/st.cd2" trace_chunks_replayed)" -gt 0 ] &&
        ok "disk cache on: the trace is in $(basename "$T/cd.traces"), beside the cache, and replays" ||
        fail "disk cache on" "$out / $out2; $n traces beside, $inside inside; $(cat "$T/st.cd2" "$T/st.cd2.err")"
    # Warm: every traced chunk is on disk, so nothing is replayed (one line says so).
    out3=$(run img 3 0 "$T/st.cd3" "${env[@]}" REMOTEIO_LOG=info)
    [ "$out3" = "reads done, bad=0" ] && [ "$(stat_of "$T/st.cd3" trace_chunks_replayed)" = 0 ] &&
        [ "$(grep -c 'are in the disk cache: no replay' "$T/st.cd3.err")" = 1 ] &&
        ok "disk cache warm: no replay, one line" ||
        fail "disk cache warm" "$out3; $(cat "$T/st.cd3" "$T/st.cd3.err")"
    chmod 777 "$T/cd.traces"
    out=$(run img 3 0 "$T/st.cd3" "${env[@]}")
    [ "$out" = "reads done, bad=0" ] && [ "$(grep -c 'not a directory only this user can write' "$T/st.cd3.err")" = 1 ] &&
        [ "$(stat_of "$T/st.cd3" trace_chunks_replayed)" = 0 ] &&
        ok "a trace directory others can write: refused, one line" ||
        fail "a trace directory others can write" "$out; $(cat "$T/st.cd3.err")"
    # remoteio cache clear PATH drops the object's trace with its chunks; clear, all
    chmod 700 "$T/cd.traces"
    out=$(REMOTEIO_TRACE_DIR= "$TOP/build/remoteio" cache -d "$T/cd" clear /remote/img 2>&1)
    n=$(ls "$T/cd.traces" | grep -c '\.trace$')
    [[ $out == *": cleared "*" chunks" ]] && [ "$n" = 0 ] && ok "cache clear PATH: its trace too ($out)" ||
        fail "cache clear PATH" "$out; $n traces left"
    run img 3 0 "$T/st.cd4" "${env[@]}" >/dev/null
    m=$(ls "$T/cd.traces" | grep -c '\.trace$')
    out=$(REMOTEIO_TRACE_DIR= "$TOP/build/remoteio" cache -d "$T/cd" clear 2>&1)
    n=$(ls "$T/cd.traces" | grep -c '\.trace$')
    [ "$m" = 1 ] && [[ $out == "cleared "*" chunks" ]] && [ "$n" = 0 ] && ok "cache clear: every trace too ($out)" ||
        fail "cache clear" "$out; $n traces left"
}

# A stat() makes an object but is no open: no replay (no range request), nothing written.
stat_only() {
    [ -n "${TRACE_NAME:-}" ] || record_replay # the trace it starts from
    cp "$T/img.trace" "$T/traces/$TRACE_NAME"
    mark=$(lines)
    LD_PRELOAD="$SHIM" "$PY" -c 'import os, time; os.stat("/remote/img"); time.sleep(1)'
    sleep 0.3
    [ "$(gets_since $mark)" = 0 ] && cmp -s "$T/img.trace" "$T/traces/$TRACE_NAME" &&
        ok "a stat() with a trace present: no range request, the trace unchanged" ||
        fail "a stat() with a trace present" "$(gets_since $mark) range requests"
}

# REMOTEIO_TRACE_ORIGIN=1: the trace published beside the object at the origin replays
# on a host with none; an object without one (a 404) is quiet.
origin_trace() {
    [ -n "${TRACE_NAME:-}" ] || record_replay # the trace it starts from
    cp "$T/img.trace" "$T/www/img.remoteio-trace"
    chmod 644 "$T/www/img.remoteio-trace"
    mkdir -p "$T/host3"
    mark=$(lines)
    out=$(run img 1 0.4 "$T/st.org" REMOTEIO_TRACE_DIR="$T/host3" REMOTEIO_TRACE_ORIGIN=1)
    big=$(gets_since $mark $((512 * 1024)))
    asked=$(tail -n +$((mark + 1)) "$NGINX_LOG" | grep -c 'img.remoteio-trace')
    [ "$out" = "reads done, bad=0" ] && [ "$big" = 16 ] && [ "$asked" -ge 1 ] &&
        [ "$(stat_of "$T/st.org" trace_chunks_used)" = 128 ] && [ ! -s "$T/st.org.err" ] &&
        ok "a trace at the origin replays on a host with none: 16 ranges of 512 KiB, 128 chunks used" ||
        fail "a trace at the origin" "$out; $big large ranges, asked $asked times; $(cat "$T/st.org" "$T/st.org.err")"
    [ -s "$T/host3/$TRACE_NAME" ] && ok "the run's recording is kept here" ||
        fail "the run's recording" "nothing in $T/host3"
    out=$(REMOTEIO_TRACE_DIR="$T/host3" REMOTEIO_TRACE_ORIGIN=1 LD_PRELOAD="$SHIM" "$PY" -c 'import os; print(len(os.pread(os.open("/remote/other", os.O_RDONLY), 10, 0)))' 2>&1)
    [ "$out" = 10 ] && tail -n 5 "$NGINX_LOG" | grep -q '^404 .*other.remoteio-trace' &&
        ok "no trace at the origin (404): quiet" || fail "no trace at the origin" "$out; $(tail -n 5 "$NGINX_LOG")"
    rm -f "$T/www/img.remoteio-trace"
}

# qemu_under_shim IMAGE: qemu-img opens a local IMAGE with the shim preloaded (not under
# a sanitizer's runtime, whose longjmp checks break qemu's coroutines)
qemu_under_shim() { timeout -k 2 20 env LD_PRELOAD="$SHIM" qemu-img info "$1" >/dev/null 2>&1; }

# A short-lived program (qemu-img info) opening an image whose trace is a whole read of
# it: the replay's lead stays at the open's 2 MiB until the program reads 4 of the
# trace's chunks, so it fetches little (before: the whole 64 MiB lead); the trace is
# left whole for the next long run.
short_lived() {
    command -v qemu-img >/dev/null || { echo "# short-lived scenario left out: no qemu-img"; return; }
    qemu-img convert -f raw -O qcow2 "$T/www/img" "$T/www/q.qcow2" && chmod 644 "$T/www/q.qcow2"
    qemu_under_shim "$T/www/q.qcow2" || { echo "# short-lived scenario left out: qemu-img fails under $SHIM"; return; }
    LD_PRELOAD="$SHIM" qemu-img convert -f qcow2 -O raw /remote/q.qcow2 "$T/q.raw"
    qtrace=$(ls -t "$T/traces/"*.trace | head -1)
    nrec=$(chunks "$qtrace" | wc -l)
    cmp -s "$T/q.raw" "$T/www/img" && [ "$nrec" -ge 1000 ] &&
        ok "qemu-img convert of a qcow2 image: right bytes, a trace of $nrec chunks" ||
        fail "qemu-img convert" "$nrec chunks in $qtrace"
    : > "$T/st.qi"
    out=$(REMOTEIO_STATS="$T/st.qi" LD_PRELOAD="$SHIM" qemu-img info /remote/q.qcow2 2>&1)
    got=$(stat_of "$T/st.qi" bytes_fetched)
    nafter=$(chunks "$qtrace" | wc -l)
    [[ $out == *"file format: qcow2"* ]] && [ "$got" -le $((4 * MIB)) ] && [ "$got" -gt 0 ] &&
        ok "qemu-img info with a trace of $((nrec / 16)) MiB: $((got / 1024)) KiB fetched (<= 4 MiB)" ||
        fail "qemu-img info" "bytes_fetched=$got (<= 4 MiB wanted); $out"
    [ "$nafter" -ge "$nrec" ] && ok "qemu-img info left the trace whole ($nafter chunks)" ||
        fail "qemu-img info and the trace" "$nrec chunks before, $nafter after"
}

# 8 threads reading at random while the trace replays and the run records (the recording
# takes a trace's own lock for a chunk read for the first time, none for a re-read): right
# bytes, and a trace written (under make tsan: no race reported)
threads() {
    [ -n "${TRACE_NAME:-}" ] || record_replay # the trace it starts from
    cp "$T/img.trace" "$T/traces/$TRACE_NAME"
    local pr; pr=$(preader_path)
    : > "$T/st.thr"
    out=$(REMOTEIO_STATS="$T/st.thr" LD_PRELOAD="$SHIM" "$pr" -t 8 -m rand -n 300 -b 16K -c "$T/www/img" /remote/img 2>&1); rc=$?
    [ $rc = 0 ] && [[ $out == *"mismatches=0"* ]] && ! cmp -s "$T/img.trace" "$T/traces/$TRACE_NAME" &&
        ok "8 random-read threads with a trace replaying and recording: right bytes, the trace refined (${out##*secs=})" ||
        fail "8 random-read threads" "rc=$rc $out"
}

scenario record-replay record_replay
scenario threads threads
scenario short-lived short_lived
scenario origin-trace origin_trace
scenario stat-only stat_only
scenario beside-disk-cache beside_disk_cache
scenario export-import export_import
scenario divergent divergent
scenario bad-traces bad_traces
scenario vm vm_boot_replay
finish
