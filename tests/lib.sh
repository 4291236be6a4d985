# tests/lib.sh: shared helpers for remoteio's shell tests.
#
# Source it from a test script. It provides:
#   skip REASON             skip the whole script: says why, exits 77
#   require CMD...          skip the whole script when a command is missing
#   start_nginx DIR [EXTRA] serve DIR on 127.0.0.1:<ephemeral>; sets ORIGIN (http://127.0.0.1:PORT)
#                           and NGINX_LOG (access log: "status bytes_sent range request");
#                           EXTRA is spliced into the server block (extra locations)
#                           ($NGINX_HTTP_EXTRA, if set, into the http block: a log_format)
#   start_fault_origin ROOT PORT ARGS...  the fault-injecting origin (tests/origin/) over
#                           ROOT on PORT (0: ephemeral); sets OPID, OPORT, OURL
#   make_file PATH SIZE     a file of SIZE bytes of pseudo-random data (deterministic per name)
#   shim CMD...             run CMD with the shim preloaded (REMOTEIO_MAP must be exported)
#   require_shim            skip when the library is not built
#   preader_path            the multi-threaded pread driver (built if need be)
#   skip_if_qemu_hangs      skip when qemu itself hangs under this LD_PRELOAD (sanitizers)
#   ok NAME / fail NAME MSG / check NAME CMD...   record results
#   scenario NAME FUNCTION  run FUNCTION, one scenario of the script, unless T_ONLY is set
#                           and NAME does not contain it (T_ONLY=stale bash tests/t-x.sh)
#   finish                  print "N passed, N failed" and exit accordingly (77 when
#                           T_ONLY matched no scenario)
# Everything started here is stopped by an EXIT trap; scratch space is $T.
set -u
# Loopback only: no test may reach the instance metadata service or a container agent
# (tests that exercise them point the endpoints at their own stubs on 127.0.0.1).
export AWS_EC2_METADATA_DISABLED=true AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:9/
unset AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_CREDENTIALS_FULL_URI
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# REMOTEIO_PRELOAD overrides what is preloaded (the sanitizer targets put their runtime first).
SHIM=${REMOTEIO_PRELOAD:-$TOP/build/libremoteio.so}
# The system python3 (a pyenv shim in front of it would be a bash script under the shim).
PY=$(command -v python3); [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/remoteio-test.XXXXXX")
chmod 755 "$T" # nginx workers run as another user
PASSED=0
FAILED=0
SCENARIOS_RUN=0
SCENARIOS_SKIPPED=0
_cleanup_cmds=()

at_exit() { _cleanup_cmds+=("$*"); }
_run_cleanup() {
    local i
    for ((i=${#_cleanup_cmds[@]}-1; i>=0; i--)); do eval "${_cleanup_cmds[i]}" >/dev/null 2>&1 || true; done
    rm -rf "$T"
}
trap _run_cleanup EXIT

skip() { echo "SKIP: $(basename "$0"): $*"; exit 77; }

require() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || skip "'$c' is not installed"
    done
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

nginx_bin() {
    command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; }
}

# start_nginx DIR [EXTRA_SERVER_CONFIG]
start_nginx() {
    local root=$1 extra=${2:-} port conf dir tries
    local ngx; ngx=$(nginx_bin) || true
    [ -n "$ngx" ] || skip "nginx is not installed"
    dir=$T/nginx.$RANDOM
    mkdir -p "$dir/tmp"
    local modules=""
    [ -f /usr/lib/nginx/modules/ngx_http_echo_module.so ] &&
        modules="load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;"
    for tries in 1 2 3 4 5; do
        port=$(free_port)
        conf=$dir/nginx.conf
        cat > "$conf" <<NGX
$modules
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
    log_format rio '\$status \$body_bytes_sent "\$http_range" "\$request" \$request_time';
    access_log $dir/access.log rio;
    ${NGINX_HTTP_EXTRA:-}
    client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp;
    fastcgi_temp_path $dir/tmp; uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
    sendfile on;
    keepalive_requests 100000;
    keepalive_timeout 120s;
    types { } default_type application/octet-stream;
    server {
        listen 127.0.0.1:$port;
        root $root;
        $extra
    }
}
NGX
        "$ngx" -c "$conf" -p "$dir" >"$dir/stderr" 2>&1 &
        local pid=$!
        local i
        for i in $(seq 1 50); do
            if curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then
                at_exit "kill $pid"
                ORIGIN=http://127.0.0.1:$port
                NGINX_LOG=$dir/access.log
                NGINX_DIR=$dir
                return 0
            fi
            kill -0 $pid 2>/dev/null || break
            sleep 0.1
        done
        kill $pid 2>/dev/null
    done
    echo "FATAL: nginx did not start: $(cat "$dir/stderr" "$dir/error.log" 2>/dev/null | tail -3)"
    exit 1
}

# start_fault_origin ROOT PORT ARGS...: see the top of this file
start_fault_origin() {
    local root=$1 port=$2 pf=$T/origin.port.$RANDOM i; shift 2
    "$PY" "$TOP/tests/origin/fault_origin.py" --root "$root" --port "$port" \
        --port-file "$pf" "$@" 2>>"$T/origin.err" &
    OPID=$!
    # only while it is still our running job (never a reused pid)
    at_exit "jobs -p | grep -qx $OPID && { kill -CONT $OPID; kill -9 $OPID; wait $OPID; }"
    for i in $(seq 1 100); do
        [ -s "$pf" ] && break
        kill -0 $OPID 2>/dev/null || break
        sleep 0.1
    done
    [ -s "$pf" ] || { echo "FATAL: fault origin did not start: $(tail -3 "$T/origin.err")"; exit 1; }
    OPORT=$(cat "$pf")
    OURL=http://127.0.0.1:$OPORT
}

# make_file PATH SIZE: deterministic pseudo-random content
make_file() {
    python3 - "$1" "$2" <<'PY'
import sys, hashlib, random
path, size = sys.argv[1], int(sys.argv[2])
rnd = random.Random(hashlib.sha256(path.encode()).digest())
with open(path, "wb") as f:
    left = size
    while left:
        n = min(left, 1 << 20)
        f.write(rnd.randbytes(n))
        left -= n
PY
}

shim() { LD_PRELOAD=$SHIM "$@"; }

require_shim() {
    [ -f "${SHIM##* }" ] || skip "${SHIM##* } is not built (make)"
}

preader_path() {
    local p=$TOP/${REMOTEIO_TEST_BUILD:-build}/tests/preader
    if [ ! -x "$p" ]; then
        p=$T/preader
        cc -D_GNU_SOURCE -std=gnu11 -O2 -pthread -o "$p" "$TOP/tests/c/preader.c" || exit 1
    fi
    echo "$p"
}

# Under a preloaded sanitizer runtime (make asan) qemu can deadlock in its exit handlers
# even on a local file, shim or not: then there is nothing to test.
skip_if_qemu_hangs() {
    timeout -k 2 15 env LD_PRELOAD="$SHIM" qemu-io -f raw -c quit "$T/no-such-image" >/dev/null 2>&1
    [ $? -ne 124 ] || skip "qemu hangs at exit under LD_PRELOAD='$SHIM' even without virtual files"
}

ok()   { PASSED=$((PASSED+1)); echo "ok   - $1"; }
fail() { FAILED=$((FAILED+1)); echo "FAIL - $1${2:+: $2}"; }
# check NAME CMD...: pass when CMD exits 0
check() { local n=$1; shift; if "$@"; then ok "$n"; else fail "$n" "command failed: $*"; fi; }
# same_bytes NAME FILE_A FILE_B
same_bytes() { if cmp -s "$2" "$3"; then ok "$1"; else fail "$1" "$(cmp "$2" "$3" 2>&1 | head -1)"; fi; }

scenario() {
    local name=$1; shift
    if [ -n "${T_ONLY:-}" ] && [[ $name != *"$T_ONLY"* ]]; then
        SCENARIOS_SKIPPED=$((SCENARIOS_SKIPPED+1))
        return 0
    fi
    SCENARIOS_RUN=$((SCENARIOS_RUN+1))
    echo "# scenario: $name"
    "$@"
}

finish() {
    local skipped=
    [ "$SCENARIOS_SKIPPED" -gt 0 ] && skipped=" ($SCENARIOS_SKIPPED scenarios left out by T_ONLY=$T_ONLY)"
    echo "$(basename "$0"): $PASSED passed, $FAILED failed$skipped"
    if [ "$SCENARIOS_RUN" -eq 0 ] && [ "$SCENARIOS_SKIPPED" -gt 0 ] && [ "$FAILED" -eq 0 ]; then
        skip "no scenario matches T_ONLY=$T_ONLY"
    fi
    [ "$FAILED" -eq 0 ]
}
