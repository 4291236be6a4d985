#!/usr/bin/env bash
# tests/t-fork-exec.sh: virtual descriptors across close sweeps, fork and exec.
#
# A program that closes every descriptor it does not know about (and so
# possibly the shim's own) must still read its virtual file; a shell opens
# a virtual file and an exec'd child reads it (cat < /remote/x, exec 3<),
# sharing the offset with the shell; a forked child reads the inherited
# descriptor; python's subprocess (vfork) and posix_spawn pass one on; and
# close-on-exec is honoured.
. "$(dirname "$0")/lib.sh"
require python3 timeout cmp dd sha256sum
W=$T/www
mkdir -p "$W"
make_file "$W/big" $((3 * 1048576 + 5))
make_file "$W/small" 10000
for i in $(seq 1 2000); do echo "line $i of the text file"; done > "$W/text"
start_nginx "$W"
export REMOTEIO_MAP="/remote/=$ORIGIN/"
export REMOTEIO_TIMEOUT=5 REMOTEIO_DEADLINE=30
unset REMOTEIO_CONFIG REMOTEIO_STATS REMOTEIO_LOG REMOTEIO_LOG_FILE

# sh_same NAME SCRIPT WANT_FILE: bash -c SCRIPT under the shim prints WANT_FILE's bytes.
sh_same() {
    local name=$1 script=$2 want=$3
    timeout -k 5 60 env LD_PRELOAD="$SHIM" bash -c "$script" >"$T/got" 2>"$T/err"
    local rc=$?
    if [ $rc -ne 0 ]; then fail "$name" "exit $rc: $(grep -v '^remoteio: stats' "$T/err" | head -3 | tr '\n' ' ')"
    else same_bytes "$name" "$T/got" "$want"; fi
}
# py_check NAME SCRIPT ARGS...: a python script under the shim printing ok/FAIL lines.
py_check() {
    local name=$1 script=$2; shift 2
    local out rc
    out=$(timeout -k 5 60 env LD_PRELOAD="$SHIM" "$PY" "$script" "$@" 2>"$T/err"); rc=$?
    echo "$out" | sed 's/^/    /'
    if [ $rc -eq 0 ] && grep -q '^ok' <<<"$out" && ! grep -q '^FAIL' <<<"$out"; then ok "$name"
    else fail "$name" "exit $rc: $(grep '^FAIL' <<<"$out" | tr '\n' ' ')$(grep -v '^remoteio: stats' "$T/err" | tail -3 | tr '\n' ' ')"; fi
}
head -c 1000 "$W/big" > "$T/big.head"
tail -c +1001 "$W/big" > "$T/big.rest"

# --- closing descriptors the program does not know about ---
cat > "$T/close.py" <<'PY'
import hashlib, os, sys
v, l = sys.argv[1], sys.argv[2]
want = open(l, "rb").read()
def check(name, cond): print(("ok   - " if cond else "FAIL - ") + name)
def read_all(fd):
    out = []
    while True:
        b = os.read(fd, 1 << 16)
        if not b: return b"".join(out)
        out.append(b)

# Open and read a little, so that the shim has whatever state it keeps.
fd = os.open(v, os.O_RDONLY)
check("read before the sweep", os.read(fd, 1000) == want[:1000])
os.closerange(3, fd)
os.closerange(fd + 1, 1024)
check("os.closerange around the virtual fd: rest of the file", read_all(fd) == want[1000:])
check("pread after the sweep", os.pread(fd, 5000, 2000000) == want[2000000:2005000])
os.close(fd)

fd = os.open(v, os.O_RDONLY)
for i in range(3, 1024):
    if i != fd:
        try: os.close(i)
        except OSError: pass
check("close() of every other fd one by one", read_all(fd) == want)
os.close(fd)

fd = os.open(v, os.O_RDONLY)
os.closerange(3, 1024)          # the virtual fd too
try:
    os.read(fd, 10); check("read on a swept virtual fd fails", False)
except OSError as e:
    check("read on a swept virtual fd fails with EBADF", e.errno == 9)
fd = os.open(v, os.O_RDONLY)
check("open and read after closing everything", read_all(fd) == want)
fd2 = os.open(v, os.O_RDONLY)
check("second descriptor after the sweep", os.pread(fd2, 100, 3000000) == want[3000000:3000100])
PY
py_check "python closes every fd it does not know" "$T/close.py" /remote/big "$W/big"

# --- the shell opens, the exec'd child reads ---
# (fd 3 as in the usual idiom; the other cases use fd 8, so that they check
# one thing each)
sh_same "cat < /remote/x" 'cat < /remote/big' "$W/big"
sh_same "exec 3< /remote/x; cat <&3" 'exec 3</remote/big; cat <&3' "$W/big"
sh_same "exec 7< /remote/x; python3 reads fd 7" \
    "exec 7</remote/big; $PY -c 'import os, sys
d = b\"\"
while True:
    b = os.read(7, 100000)
    if not b: break
    d += b
sys.stdout.buffer.write(d)'" "$W/big"
sh_same "offset shared by shell children: dd then cat" \
    'exec 8</remote/big; dd bs=4096 iflag=count_bytes count=1000 status=none <&8 > '"$T/part1"'; cat <&8' "$T/big.rest"
same_bytes "offset shared by shell children: dd's part" "$T/part1" "$T/big.head"
sh_same "subshell reads an inherited fd" 'exec 8</remote/small; ( cat <&8 )' "$W/small"
sh_same "pipeline: cat < /remote/x | cat" 'cat < /remote/big | cat' "$W/big"
sh_same "redirect in a loop" 'for i in 1 2 3; do cat < /remote/small; done' <(cat "$W/small" "$W/small" "$W/small")
sh_same "while read < /remote/x" 'n=0; while IFS= read -r l; do n=$((n+1)); done < /remote/text; echo $n' \
    <(echo 2000)
sh_same "sha256sum < /remote/x (stdio on stdin)" 'sha256sum < /remote/big | cut -d" " -f1' \
    <(sha256sum < "$W/big" | cut -d' ' -f1)
sh_same "exec'd child reads at the offset the read builtin left" \
    'exec 8</remote/text; read -r x <&8; read -r x <&8; cat <&8' <(tail -n +3 "$W/text")
sh_same "/dev/stdin of a redirected virtual file" 'cat /dev/stdin < /remote/small' "$W/small"

# --- fork, vfork (subprocess), posix_spawn ---
cat > "$T/fork.py" <<'PY'
import os, subprocess, sys, traceback
v, l = sys.argv[1], sys.argv[2]
want = open(l, "rb").read()
def check(name, cond): print(("ok   - " if cond else "FAIL - ") + name)
def step(name):
    # Runs the decorated step at once; an exception is a failed check.
    def run(f):
        try: f()
        except Exception as e: check("%s (%s: %s)" % (name, type(e).__name__, e), False)
    return run

@step("fork")
def _():
    fd = os.open(v, os.O_RDONLY)
    check("parent reads 1000", os.read(fd, 1000) == want[:1000])
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            good = os.read(fd, 5000) == want[1000:6000]
            good &= os.pread(fd, 100, len(want) - 100) == want[-100:]
            fd2 = os.open(v, os.O_RDONLY)
            good &= os.pread(fd2, 65536, 1000000) == want[1000000:1065536]
            os.write(w, b"1" if good else b"0")
        finally:
            os._exit(0)
    os.close(w)
    res = os.read(r, 1)
    os.waitpid(pid, 0)
    check("forked child reads the inherited fd, preads, opens anew", res == b"1")
    check("parent's offset moved by the child", os.lseek(fd, 0, os.SEEK_CUR) == 6000)
    check("parent reads on after the child", os.read(fd, 100) == want[6000:6100])
    os.close(fd)

@step("subprocess stdin=fd")
def _():
    # subprocess uses vfork: the child's dup2/close must not touch the parent.
    fd = os.open(v, os.O_RDONLY)
    os.lseek(fd, 10, os.SEEK_SET)
    p = subprocess.run(["cat"], stdin=fd, stdout=subprocess.PIPE, timeout=30)
    check("subprocess.run(cat, stdin=virtual fd)", p.stdout == want[10:])
    check("parent's own stdin unaffected by the child's dup2", sys.stdin.buffer.read() == b"local stdin\n")
    check("parent's virtual fd still usable after subprocess", os.pread(fd, 100, 5) == want[5:105])
    os.close(fd)

@step("subprocess pass_fds")
def _():
    fd = os.open(v, os.O_RDONLY)
    os.lseek(fd, 100, os.SEEK_SET)
    p = subprocess.run(["bash", "-c", "cat <&%d" % fd], pass_fds=[fd], stdout=subprocess.PIPE, timeout=30)
    check("subprocess with pass_fds: sh reads the fd at its offset", p.stdout == want[100:])
    # Opening /dev/fd/N of a regular file opens it anew, at offset 0.
    p = subprocess.run(["cat", "/dev/fd/%d" % fd], pass_fds=[fd], stdout=subprocess.PIPE, timeout=30)
    check("subprocess with pass_fds: cat /dev/fd/N", p.stdout == want)
    os.close(fd)

@step("posix_spawn")
def _():
    fd = os.open(v, os.O_RDONLY)
    os.lseek(fd, 7, os.SEEK_SET)
    r, w = os.pipe()
    pid = os.posix_spawnp("cat", ["cat"], os.environ,
                          file_actions=[(os.POSIX_SPAWN_DUP2, fd, 0), (os.POSIX_SPAWN_DUP2, w, 1)])
    os.close(w)
    out = b""
    while True:
        b = os.read(r, 1 << 16)
        if not b: break
        out += b
    os.waitpid(pid, 0)
    check("posix_spawn with the virtual fd dup2'ed onto stdin", out == want[7:])
    check("parent's virtual fd still usable after posix_spawn", os.pread(fd, 100, 5) == want[5:105])
    os.close(fd)

@step("close-on-exec")
def _():
    # python's fds are not inheritable by default.
    fd = os.open(v, os.O_RDONLY)
    p = subprocess.run(["bash", "-c", "cat <&%d" % fd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    check("a close-on-exec virtual fd is closed in the exec'd child", p.returncode != 0 and p.stdout == b"")
    p = subprocess.run(["bash", "-c", "cat <&%d" % fd], pass_fds=[fd], stdout=subprocess.PIPE, timeout=30)
    check("the same fd passed explicitly is readable", p.stdout == want)
    os.close(fd)
PY
printf 'local stdin\n' > "$T/stdin.txt"
py_check "fork, subprocess, posix_spawn" "$T/fork.py" /remote/big "$W/big" < "$T/stdin.txt"

finish
