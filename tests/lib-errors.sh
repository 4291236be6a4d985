# tests/lib-errors.sh: what the t-errors-*.sh scripts share: an nginx origin whose
# locations answer 403, 401, 500, ignore Range or send no validator, REMOTEIO_MAP over
# them, and the helpers below.  Source it after lib.sh.
#   expect NAME WANT OP PATH [ENV=VALUE...]   the op (see op.py) gives WANT (a|b|c)
#   only_remoteio_lines NAME                  everything on stderr is the shim's own lines
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
