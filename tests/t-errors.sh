#!/usr/bin/env bash
# tests/t-errors.sh: the errors a program sees through the shim.
#
# Missing object -> ENOENT, 401/403 -> EACCES, opening for writing -> EROFS,
# writing to a read descriptor -> EBADF, origin down or silent -> EIO within
# a bounded time, object replaced after open -> ESTALE for data not yet held
# (a new open sees the new object), and ordinary files keep working normally
# under the shim.  The shim's own messages start with "remoteio:".
. "$(dirname "$0")/lib.sh"
require python3 timeout
W=$T/www
mkdir -p "$W"
make_file "$W/x" 200000
make_file "$W/big" $((4 * 1048576))
start_nginx "$W" '
    location /secret/ { return 403; }
    location /auth/ { return 401; }
    location /broken/ { return 500; }
    location /norange/ { alias '"$W"'/; max_ranges 0; }
    location /nover/ { alias '"$W"'/; etag off; add_header Last-Modified ""; }'
export REMOTEIO_MAP="/remote/=$ORIGIN/;/secret/=$ORIGIN/secret/;/auth/=$ORIGIN/auth/;/broken/=$ORIGIN/broken/;/norange/=$ORIGIN/norange/;/nover/=$ORIGIN/nover/"
export REMOTEIO_TIMEOUT=2 REMOTEIO_DEADLINE=20
unset REMOTEIO_CONFIG REMOTEIO_STATS REMOTEIO_LOG REMOTEIO_LOG_FILE

# The helper prints "OK" or the errno name of the first failing step.
cat > "$T/op.py" <<'PY'
import errno, os, sys
op, path = sys.argv[1], sys.argv[2]
try:
    if op == "open":
        os.close(os.open(path, os.O_RDONLY))
    elif op == "read":
        fd = os.open(path, os.O_RDONLY); os.read(fd, 100); os.close(fd)
    elif op == "stat":
        os.stat(path)
    elif op == "open-wronly":
        os.close(os.open(path, os.O_WRONLY))
    elif op == "open-rdwr":
        os.close(os.open(path, os.O_RDWR))
    elif op == "open-trunc":
        os.close(os.open(path, os.O_WRONLY | os.O_TRUNC))
    elif op == "open-creat":
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o644))
    elif op == "open-append":
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND))
    elif op == "write":
        fd = os.open(path, os.O_RDONLY)
        try: os.write(fd, b"x")
        finally: os.close(fd)
    elif op == "pwrite":
        fd = os.open(path, os.O_RDONLY)
        try: os.pwrite(fd, b"x", 10)
        finally: os.close(fd)
    elif op == "ftruncate":
        fd = os.open(path, os.O_RDONLY)
        try: os.ftruncate(fd, 0)
        finally: os.close(fd)
    elif op == "pyopen-w":
        open(path, "wb").close()
    elif op == "pyopen-a":
        open(path, "ab").close()
    else:
        sys.exit("unknown op " + op)
    print("OK")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
PY

# expect NAME WANT OP PATH [ENV=VALUE...]: the op gives WANT (one of a|b|c).
expect() {
    local name=$1 want=$2 op=$3 p=$4 got; shift 4
    got=$(timeout -k 5 60 env "$@" LD_PRELOAD="$SHIM" "$PY" "$T/op.py" "$op" "$p" 2>"$T/err")
    if [[ "|$want|" == *"|$got|"* ]]; then ok "$name ($got)"
    else fail "$name" "got '$got', expected $want; stderr: $(head -3 "$T/err" | tr '\n' ' ')"; fi
}
# only_remoteio_lines NAME: everything on stderr is the shim's own lines
only_remoteio_lines() {
    local other; other=$(grep -v '^remoteio:' "$T/err" | head -3)
    [ -z "$other" ] && ok "$1" || fail "$1" "$other"
}

# --- a server that ignores Range: refused at open, with one clear line ---
first=$(ls "$W" | head -1)
expect "server ignoring Range: open -> EIO" EIO open "/norange/$first"
grep -q "does not support range requests" "$T/err" && ok "server ignoring Range: the reason is logged" ||
    fail "server ignoring Range: the reason is logged" "$(head -2 "$T/err")"
n=$(grep -c '"GET /norange/' "$NGINX_LOG")
[ "$n" -le 1 ] && ok "server ignoring Range: not downloaded again and again ($n GET)" ||
    fail "server ignoring Range: requests" "$n GETs"

# --- no validator at all: a change could not be detected, so refused unless allowed ---
expect "no ETag nor Last-Modified: open -> EIO" EIO open "/nover/$first"
grep -q "neither ETag nor Last-Modified" "$T/err" && ok "no validator: the reason is logged" ||
    fail "no validator: the reason is logged" "$(head -2 "$T/err")"
expect "no validator, REMOTEIO_ALLOW_UNVERSIONED=1: read works" OK read "/nover/$first" \
    REMOTEIO_ALLOW_UNVERSIONED=1

# --- a virtual fd closed by a raw syscall, its number reused by an ordinary open ---
out=$(timeout 30 env LD_PRELOAD="$SHIM" "$PY" - "/remote/x" "$T/l5" <<'PY' 2>&1
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
open(sys.argv[2], "wb").write(b"local bytes\n")
fd = os.open(sys.argv[1], os.O_RDONLY)
print("raw read:", libc.syscall(0, fd, ctypes.create_string_buffer(16), 16), ctypes.get_errno())
libc.syscall(3, fd)                      # SYS_close, behind the shim's back
for _ in range(64):                      # until the kernel hands that number out again
    fd2 = os.open(sys.argv[2], os.O_RDONLY)
    if fd2 == fd:
        break
print("same number:", fd2 == fd, "data:", os.read(fd2, 100))
PY
)
case $out in
    *"raw read: -1 9"*"same number: True data: b'local bytes\n'"*) ok "raw read fails (EBADF); a reused number reads its own file";;
    *) fail "raw syscalls on a virtual fd" "$out";;
esac

# --- missing, forbidden ---
expect "missing object: open -> ENOENT" ENOENT open /remote/missing
expect "missing object: stat -> ENOENT" ENOENT stat /remote/missing
expect "missing object in a missing directory -> ENOENT" ENOENT open /remote/no/such/dir/x
only_remoteio_lines "missing object: stderr has only remoteio: lines"
out=$(timeout 30 env LD_PRELOAD="$SHIM" cat /remote/missing 2>&1); rc=$?
[ $rc -ne 0 ] && [[ $out == *"No such file or directory"* ]] && ok "cat of a missing object says 'No such file or directory'" ||
    fail "cat of a missing object says 'No such file or directory'" "exit $rc: $out"
expect "403 -> EACCES on open" EACCES open /secret/x
expect "403 -> EACCES on stat" EACCES stat /secret/x
expect "401 -> EACCES on open" EACCES open /auth/x
expect "persistent 500 -> EIO" EIO open /broken/x REMOTEIO_RETRIES=1

# --- writing ---
expect "open O_WRONLY -> EROFS" EROFS open-wronly /remote/x
expect "open O_RDWR -> EROFS" EROFS open-rdwr /remote/x
expect "open O_WRONLY|O_TRUNC -> EROFS" EROFS open-trunc /remote/x
expect "open O_WRONLY|O_APPEND -> EROFS" EROFS open-append /remote/x
expect "open O_CREAT of an existing object -> EROFS" EROFS open-creat /remote/x
expect "open O_CREAT of a new name under the mapping -> EROFS" EROFS open-creat /remote/newfile
expect "python open(\"wb\") -> EROFS" EROFS pyopen-w /remote/x
expect "python open(\"ab\") -> EROFS" EROFS pyopen-a /remote/x
expect "write on a read fd -> EBADF" EBADF write /remote/x
expect "pwrite on a read fd -> EBADF" EBADF pwrite /remote/x
expect "ftruncate on a read fd -> EBADF or EINVAL" "EBADF|EINVAL" ftruncate /remote/x
out=$(timeout 30 env LD_PRELOAD="$SHIM" bash -c 'echo hi > /remote/x' 2>&1); rc=$?
[ $rc -ne 0 ] && [[ $out == *"Read-only file system"* ]] && ok "shell '>' redirect says 'Read-only file system'" ||
    fail "shell '>' redirect says 'Read-only file system'" "exit $rc: $out"
out=$(timeout 30 env LD_PRELOAD="$SHIM" bash -c 'echo hi >> /remote/x' 2>&1); rc=$?
[ $rc -ne 0 ] && ok "shell '>>' redirect fails" || fail "shell '>>' redirect fails" "exit $rc: $out"
cmp -s <(timeout 30 env LD_PRELOAD="$SHIM" cat /remote/x) "$W/x" && ok "object unchanged and readable after the refused writes" ||
    fail "object unchanged and readable after the refused writes"
[ "$(stat -c %s "$W/x")" = 200000 ] && ok "origin file untouched" || fail "origin file untouched" "size $(stat -c %s "$W/x")"

# --- origin down: nothing listens on the port ---
port=$(free_port)
start=$(date +%s.%N)
expect "origin down: open -> EIO" EIO open /down/x REMOTEIO_MAP="/down/=http://127.0.0.1:$port/"
elapsed=$(python3 -c "import time; print('%.1f' % (time.time() - $start))")
python3 -c "import sys; sys.exit(0 if $elapsed < 15 else 1)" && ok "origin down: failed within 15 s (${elapsed} s)" ||
    fail "origin down: failed within 15 s" "took ${elapsed} s"
only_remoteio_lines "origin down: stderr has only remoteio: lines"
expect "origin down: stat -> EIO" EIO stat /down/x REMOTEIO_MAP="/down/=http://127.0.0.1:$port/"

# --- origin silent: accepts connections, never answers ---
"$PY" - "$T/silent.port" <<'PY' &
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(64)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
conns = []
end = time.time() + 120
s.settimeout(1)
while time.time() < end:
    try: conns.append(s.accept()[0])
    except OSError: pass
PY
silent_pid=$!
at_exit "kill $silent_pid"
for i in $(seq 1 50); do [ -s "$T/silent.port" ] && break; sleep 0.1; done
sport=$(cat "$T/silent.port")
start=$(date +%s.%N)
# REMOTEIO_TIMEOUT=2 with one retry: given up after about 4 s, well before the deadline.
expect "silent origin: open -> EIO" EIO open /silent/x REMOTEIO_MAP="/silent/=http://127.0.0.1:$sport/" \
    REMOTEIO_RETRIES=1 REMOTEIO_DEADLINE=30
elapsed=$(python3 -c "import time; print('%.1f' % (time.time() - $start))")
python3 -c "import sys; sys.exit(0 if $elapsed < 15 else 1)" && ok "silent origin: failed within 15 s (${elapsed} s)" ||
    fail "silent origin: failed within 15 s (timeout 2 s, 1 retry, deadline 30 s)" "took ${elapsed} s"

# --- object replaced after open ---
cat > "$T/stale.py" <<'PY'
import errno, hashlib, os, sys, time
v, local = sys.argv[1], sys.argv[2]
old = open(local, "rb").read()
fd = os.open(v, os.O_RDONLY)
first = os.pread(fd, 65536, 0)
print("first read", "OK" if first == old[:65536] else "WRONG")
# Replace the object: other bytes, other size, other mtime.
new = hashlib.sha256(b"new").digest() * (len(old) // 32 + 100)
with open(local + ".tmp", "wb") as f: f.write(new)
t = time.time() + 1000
os.utime(local + ".tmp", (t, t))
os.rename(local + ".tmp", local)
try:
    data = os.pread(fd, 65536, 3 * 1048576)
    print("far read", "OLD" if data == old[3 * 1048576:3 * 1048576 + 65536] else
          "NEW" if data == new[3 * 1048576:3 * 1048576 + 65536] else "GARBAGE")
except OSError as e:
    print("far read", errno.errorcode.get(e.errno, e.errno))
try:
    data = os.pread(fd, 1000, 100)
    print("held read", "OLD" if data == old[100:1100] else "WRONG")
except OSError as e:
    print("held read", errno.errorcode.get(e.errno, e.errno))
os.close(fd)
fd = os.open(v, os.O_RDONLY)
print("new open", "NEW" if os.fstat(fd).st_size == len(new) and os.pread(fd, 100, 2000000) == new[2000000:2000100] else "WRONG")
os.close(fd)
PY
out=$(timeout -k 5 60 env REMOTEIO_READAHEAD=65536 REMOTEIO_CHUNK_SIZE=65536 LD_PRELOAD="$SHIM" \
      "$PY" "$T/stale.py" /remote/big "$W/big" 2>"$T/err")
echo "$out" | sed 's/^/    /'
grep -qx 'first read OK' <<<"$out" && ok "changed object: first read" || fail "changed object: first read" "$out"
grep -qx 'far read ESTALE' <<<"$out" && ok "changed object: read of data not held -> ESTALE" ||
    fail "changed object: read of data not held -> ESTALE" "$(grep 'far read' <<<"$out")"
grep -qE '^held read (OLD|ESTALE)$' <<<"$out" && ok "changed object: held data is old or ESTALE, never new" ||
    fail "changed object: held data is old or ESTALE, never new" "$(grep 'held read' <<<"$out")"
grep -qx 'new open NEW' <<<"$out" && ok "changed object: a new open sees the new object" ||
    fail "changed object: a new open sees the new object" "$(grep 'new open' <<<"$out") $(head -2 "$T/err")"

# --- ordinary files are untouched by the shim ---
cat > "$T/local.py" <<'PY'
import os, sys
d = sys.argv[1]
p = os.path.join(d, "local.txt")
with open(p, "w") as f: f.write("hello\n")
with open(p, "a") as f: f.write("world\n")
fd = os.open(p, os.O_RDWR)
os.pwrite(fd, b"J", 0); os.ftruncate(fd, 12); os.fsync(fd); os.close(fd)
assert open(p).read() == "Jello\nworld\n", open(p).read()
os.rename(p, p + ".2"); os.unlink(p + ".2")
print("OK")
PY
out=$(timeout 30 env LD_PRELOAD="$SHIM" "$PY" "$T/local.py" "$T" 2>"$T/err")
[ "$out" = OK ] && ok "ordinary files: create, append, pwrite, truncate, rename" || fail "ordinary files: create, append, pwrite, truncate, rename" "$out $(tail -2 "$T/err")"
timeout 30 env LD_PRELOAD="$SHIM" bash -c "echo abc > '$T/l1' && cat '$T/l1' '$T/l1' > '$T/l2' && cp '$T/l2' '$T/l3'"
[ "$(cat "$T/l3" 2>/dev/null)" = $'abc\nabc' ] && ok "ordinary files: shell redirects and cp" || fail "ordinary files: shell redirects and cp" "$(cat "$T/l3" 2>&1)"
expect "ordinary missing file -> ENOENT" ENOENT open "$T/nothing-here"
expect "ordinary file: open O_WRONLY works" OK open-wronly "$T/l1"
out=$(timeout 30 env LD_PRELOAD="$SHIM" sh -c "echo data | tee '$T/l4' >/dev/null; wc -c < '$T/l4'")
[ "$out" = 5 ] && ok "ordinary files: pipes and tee" || fail "ordinary files: pipes and tee" "$out"

finish
