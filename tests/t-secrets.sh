#!/usr/bin/env bash
# tests/t-secrets.sh: no password, token, signature or presigned query ever shows.
#
# Distinct secrets are planted in every kind of entry (user:password@, X-Amz-Credential
# and X-Amz-Signature queries, sig=): good and rejected REMOTEIO_MAP entries, good and
# bad map lines of a configuration file, bad knob values and mapping options, a
# failing origin, a 404, a 500, a redirect to a presigned URL, an object that changes
# while it is open; with REMOTEIO_LOG=debug, a log file and a stats file.  Every line
# the shim printed (stderr, log file, stats file) and the wrapper's messages are then
# searched for each secret.
#
# Then descriptors: a program opens virtual files with O_CLOEXEC (or sets FD_CLOEXEC
# later) and starts a child with an empty environment and every descriptor closed: the
# child holds nothing of the shim's.  A child without the shim that does inherit a
# virtual descriptor finds no secret in anything it can read; a child with the shim
# reads it; a child whose configuration does not map the path gets a clear error.
. "$(dirname "$0")/lib.sh"
require python3 timeout
require_shim
W=$T/www
mkdir -p "$W/dir"
make_file "$W/obj" 300000
make_file "$W/obj2" 300000
make_file "$W/dir/a" 200000
make_file "$W/changing" 1048576
start_nginx "$W" '
    location = /err500 { return 500; }
    location = /redir { return 302 /obj?X-Amz-Signature=S3cretRedirSig; }
    location = /redir-clean { return 302 /obj; }
    location = /redir2 { return 302 /obj2?X-Amz-Signature=S3cretRedirSig; }
'
HP=${ORIGIN#http://}
DEAD=127.0.0.1:$(free_port) # nothing listens there

# name=value: every secret planted below; none may ever be printed or inherited.
SECRETS=(
    pwEnvGood1 AKIAcredEnvGood2 sigEnvGood3 pwEnvPrefix4 sigEnvPrefix5 pwEnvSpace6
    sigEnvSpace7 pwEnvFrag8 fragEnvFrag9 pwEnvRel10 sigEnvRel11 pwEnvNoEq12 sigEnvNoEq13
    pwEnvOrder14 sigEnvOrder15 pwCfgGood16 sigCfgGood17 pwCfgRel18 sigCfgRel19
    pwCfgOpt20 hdrCfgOpt21 pwCfgVal22 valCfgVal23 pwCfgNoMap24 sigCfgNoMap25
    pwCfgKnob26 sigCfgKnob27 pwDead28 sigDead29 pw40430 sig40431 pw50032 sig50033
    S3cretRedirSig pwRedir34 pwChange35 sigChange36 pwDir37 sigWrap38 pwWrap39
    pwPort40 sigPort41 TOKENlong45 sigLong46
)
# A virtual path too long to map, so that an entry's text outgrows any fixed buffer.
LONGV=/e/$(printf 'v%.0s' $(seq 1 5000))

export REMOTEIO_MAP="/e/good=http://u:pwEnvGood1@$HP/obj?X-Amz-Credential=AKIAcredEnvGood2&X-Amz-Signature=sigEnvGood3
/e/prefix/=http://u:pwEnvPrefix4@$HP/dir/?sig=sigEnvPrefix5
/e/space=http://u:pwEnvSpace6@$HP/o bj?X-Amz-Signature=sigEnvSpace7
/e/frag=http://u:pwEnvFrag8@$HP/obj#fragEnvFrag9
e/rel=http://u:pwEnvRel10@$HP/obj?sig=sigEnvRel11
http://u:pwEnvNoEq12@$HP/obj
http://u:pwEnvOrder14@$HP/obj?sig=sigEnvOrder15=/e/order
/e/port=http://u:pwPort40/x@$HP/obj?sig=sigPort41
/e/dead=http://u:pwDead28@$DEAD/obj?sig=sigDead29
/e/missing=http://u:pw40430@$HP/nothing?sig=sig40431
/e/err=http://u:pw50032@$HP/err500?sig=sig50033
/e/redir=http://u:pwRedir34@$HP/redir
/e/changing=http://u:pwChange35@$HP/changing?sig=sigChange36
/e/dir/=http://u:pwDir37@$HP/dir/
$LONGV=http://TOKENlong45@$HP/obj?sig=sigLong46"
cat > "$T/conf" <<CONF
map /c/good http://u:pwCfgGood16@$HP/obj?sig=sigCfgGood17 timeout=5
map c/rel http://u:pwCfgRel18@$HP/obj?sig=sigCfgRel19
map /c/opt http://u:pwCfgOpt20@$HP/obj header=Authorization:hdrCfgOpt21
map /c/val http://u:pwCfgVal22@$HP/obj timeout=valCfgVal23
/c/nomap http://u:pwCfgNoMap24@$HP/obj?sig=sigCfgNoMap25
cache_size = http://u:pwCfgKnob26@$HP/?sig=sigCfgKnob27
CONF
export REMOTEIO_CONFIG=$T/conf REMOTEIO_LOG=debug REMOTEIO_LOG_FILE=$T/log
export REMOTEIO_STATS=$T/stats REMOTEIO_RETRIES=1 REMOTEIO_DEADLINE=3 REMOTEIO_TIMEOUT=2
export REMOTEIO_READAHEAD=0 REMOTEIO_CHUNK_SIZE=64K

# Every kind of open, read and failure, in one program under the shim.
cat > "$T/use.py" <<'PY'
import os, sys
def attempt(path, n=4096, off=0):
    try:
        fd = os.open(path, os.O_RDONLY)
        try: os.pread(fd, n, off)
        finally: os.close(fd)
    except OSError: pass
for p in ["/e/good", "/e/prefix/a", "/e/space", "/e/frag", "/e/dead", "/e/missing",
          "/e/err", "/e/redir", "/e/port", "/e/dir/a", "/e/dir/nothing", "/c/good", "/c/opt", "/c/val"]:
    attempt(p)
    try: os.stat(p)
    except OSError: pass
# An object that changes while open: the next uncached read fails with ESTALE.
fd = os.open("/e/changing", os.O_RDONLY)
os.pread(fd, 4096, 0)
with open(sys.argv[1], "r+b") as f:
    f.write(b"changed!")
try: os.pread(fd, 4096, 900000)
except OSError: pass
os.close(fd)
PY
timeout -k 5 60 env LD_PRELOAD="$SHIM" "$PY" "$T/use.py" "$W/changing" 2>"$T/stderr"
# The same with messages on stderr (no log file).
REMOTEIO_LOG_FILE= timeout -k 5 60 env LD_PRELOAD="$SHIM" "$PY" "$T/use.py" "$W/changing" 2>>"$T/stderr"
# The wrapper's own messages.
"$TOP/build/remoteio" -m "rel=http://u:pwWrap39@$HP/obj?sig=sigWrap38" -- true 2>>"$T/stderr"
"$TOP/build/remoteio" -m "http://u:pwWrap39@$HP/obj?sig=sigWrap38" -- true 2>>"$T/stderr"

cat "$T/stderr" "$T/log" "$T/stats" > "$T/printed" 2>/dev/null
lines=$(wc -l < "$T/printed")
if [ "$lines" -ge 20 ] && grep -q 'GET\|cannot open' "$T/printed" && grep -q 'stats path=' "$T/printed"
then ok "the shim printed its lines ($lines: errors, debug, stats)"
else fail "the shim printed its lines" "only $lines lines"; fi
leaked=
for s in "${SECRETS[@]}"; do
    grep -q -- "$s" "$T/printed" && leaked="$leaked $s"
done
if [ -z "$leaked" ]; then ok "no secret in any printed line"
else
    fail "no secret in any printed line" "leaked:$leaked"
    for s in $leaked; do grep -h -- "$s" "$T/printed" | head -2 | sed 's/^/    /'; done
fi
# The lines still say what they are about.
check "a rejected entry is named (display form)" grep -q "http://$HP/o bj" "$T/printed"
check "an entry longer than any buffer is reported" grep -q "virtual path too long" "$T/printed"
check "the redirected object's stats line has its display URL" \
    grep -q "stats path=/e/redir url=http://$HP/obj " "$T/printed"

# --- descriptors and exec ---
unset REMOTEIO_CONFIG REMOTEIO_LOG_FILE REMOTEIO_STATS REMOTEIO_LOG
export REMOTEIO_MAP="/r/cred=http://u:pwExecCred42@$HP/obj?X-Amz-Credential=AKIAexec43&X-Amz-Signature=sigExec44
/r/redir=http://$HP/redir
/r/clean=http://$HP/redir-clean
/r/redir2=http://$HP/redir2"
SECRETS+=(pwExecCred42 AKIAexec43 sigExec44)
# The child: lists its descriptors, reads every memfd it holds, prints what it found.
cat > "$T/child.py" <<'PY'
import os, sys
secrets = sys.stdin.read().split()  # not argv: /proc/self/cmdline is searched too
found, memfds = [], 0
for name in os.listdir("/proc/self/fd"):
    fd = int(name)
    try: target = os.readlink("/proc/self/fd/%d" % fd)
    except OSError: continue
    data = target.encode()
    if target.startswith("/memfd:"):
        memfds += 1
        try:
            with open("/proc/self/fd/%d" % fd, "rb") as f: data += f.read()
        except OSError: pass
        try: data += os.pread(fd, 1 << 20, 0)
        except OSError: pass
    found += [s for s in secrets if s.encode() in data]
try: data = open("/proc/self/environ", "rb").read() + open("/proc/self/cmdline", "rb").read()
except OSError: data = b""
found += [s for s in secrets if s.encode() in data]
print("memfds=%d secrets=%s" % (memfds, ",".join(sorted(set(found))) or "none"))
PY
cat > "$T/parent.py" <<'PY'
import ctypes, fcntl, os, subprocess, sys, termios
py, child, secrets = sys.argv[1], sys.argv[2], sys.argv[3]
def check(name, cond, got=""):
    print(("ok   - " if cond else "FAIL - ") + name + ("" if cond else ": " + got))
def bare(fds=(), close_fds=True):  # an exec'd program without the shim, empty environment
    p = subprocess.run([py, child], env={}, close_fds=close_fds, pass_fds=fds, input=secrets.encode(),
                       stdout=subprocess.PIPE, timeout=30)
    return p.stdout.decode().strip()
def shim_reads(fd, env=None):  # an exec'd program with the shim reading fd
    p = subprocess.run([py, "-c", "import os,sys\ntry: print(len(os.pread(%d, 300000, 0)))\n"
                        "except OSError as e: print('errno', e.errno)" % fd],
                       env=env or dict(os.environ), pass_fds=(fd,), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    return p.stdout.decode().strip(), p.stderr.decode()
for path in ["/r/cred", "/r/redir", "/r/clean"]:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    os.pread(fd, 10, 0)
    got = bare()
    check(path + ": O_CLOEXEC, child without the shim holds nothing", got == "memfds=0 secrets=none", got)
    os.set_inheritable(fd, True)        # fcntl F_SETFD 0
    got = bare()
    check(path + ": inheritable again (F_SETFD 0): still no memfd in a closed-fds child", got == "memfds=0 secrets=none", got)
    got = bare((fd,))
    check(path + ": passed to a child without the shim: no secret", got.endswith("secrets=none") and got != "memfds=0 secrets=none", got)
    out, err = shim_reads(fd)
    check(path + ": passed to a child with the shim: it reads", out == "300000", out + err)
    fcntl.ioctl(fd, termios.FIOCLEX)
    check(path + ": ioctl FIOCLEX on a virtual fd", not os.get_inheritable(fd))
    got = bare()
    check(path + ": after FIOCLEX, child holds nothing", got == "memfds=0 secrets=none", got)
    fd2 = os.dup2(fd, 50, inheritable=True)
    out, err = shim_reads(fd2)
    check(path + ": dup2 onto an inheritable fd: a child with the shim reads it", out == "300000", out + err)
    os.close(fd2)
    fd3 = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 60)
    os.close(fd)
    got = bare()
    check(path + ": F_DUPFD_CLOEXEC copy left: child holds nothing", got == "memfds=0 secrets=none", got)
    os.set_inheritable(fd3, True)
    env = dict(os.environ, REMOTEIO_MAP="/other/=http://127.0.0.1:9/")
    out, err = shim_reads(fd3, env)
    check(path + ": a child whose configuration does not map it: EACCES and one line",
          out == "errno 13" and len([l for l in err.splitlines() if "remoteio:" in l]) == 1, out + err)
    os.close(fd3)
fd = os.open("/r/cred", os.O_RDONLY)
os.set_inheritable(fd, True)
got = bare(close_fds=False)
check("an inheritable fd and a child that closes nothing: it gets the record, no secret",
      got.startswith("memfds=1 ") and got.endswith("secrets=none"), got)
libc = ctypes.CDLL(None, use_errno=True)
check("close_range(CLOSE_RANGE_CLOEXEC) on it", libc.close_range(fd, fd, 4) == 0)
got = bare(close_fds=False)
check("after close_range(CLOSE_RANGE_CLOEXEC): the child holds nothing", got == "memfds=0 secrets=none", got)
os.close(fd)
# A redirect to a presigned URL is found again by the child: it must answer with the
# version the parent opened.
fd = os.open("/r/redir2", os.O_RDONLY)
os.pread(fd, 10, 0)
with open(sys.argv[4], "ab") as f: f.write(b"a new version")
os.set_inheritable(fd, True)
out, err = shim_reads(fd)
check("/r/redir2: the object changed before the child re-attached: ESTALE and one line",
      out == "errno 116" and len([l for l in err.splitlines() if "remoteio:" in l]) == 1, out + err)
PY
out=$(timeout -k 5 120 env LD_PRELOAD="$SHIM" "$PY" "$T/parent.py" "$PY" "$T/child.py" "${SECRETS[*]}" "$W/obj2" 2>"$T/err2")
echo "$out" | sed 's/^/    /'
n_ok=$(grep -c '^ok' <<<"$out"); n_fail=$(grep -c '^FAIL' <<<"$out")
if [ "$n_ok" -ge 31 ] && [ "$n_fail" -eq 0 ]; then ok "descriptors across exec carry no secret ($n_ok checks)"
else fail "descriptors across exec carry no secret" "$n_fail failed, $n_ok ok; $(tail -3 "$T/err2" | tr '\n' ' ')"; fi
leaked=
for s in "${SECRETS[@]}"; do grep -q -- "$s" "$T/err2" && leaked="$leaked $s"; done
if [ -z "$leaked" ]; then ok "no secret printed by the exec tests"; else fail "no secret printed by the exec tests" "$leaked"; fi

finish
