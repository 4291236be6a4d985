#!/usr/bin/env bash
# tests/t-errors-local.sh: descriptors and files the shim does not serve keep working.
#
# A virtual fd closed by a raw syscall cannot be read through; the number, reused by an
# ordinary open, reads its own file; ordinary files (create, append, pwrite, truncate,
# rename, shell redirects, cp, pipes) behave as without the shim.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/lib-errors.sh"

# a virtual fd closed by a raw syscall, its number reused by an ordinary open
raw_close() {
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
}

# ordinary files are untouched by the shim
ordinary_files() {
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
}

scenario raw raw_close
scenario local ordinary_files
finish
