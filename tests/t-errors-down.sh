#!/usr/bin/env bash
# tests/t-errors-down.sh: an origin that is down or silent gives EIO within a bounded time.
#
# Nothing listening -> EIO within 15 s on open and stat; an origin that accepts
# connections and never answers -> EIO after the timeout and its retries, well before
# the deadline.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/lib-errors.sh"

# origin down: nothing listens on the port
origin_down() {
    port=$(free_port)
    start=$(date +%s.%N)
    expect "origin down: open -> EIO" EIO open /down/x REMOTEIO_MAP="/down/=http://127.0.0.1:$port/"
    elapsed=$(python3 -c "import time; print('%.1f' % (time.time() - $start))")
    python3 -c "import sys; sys.exit(0 if $elapsed < 15 else 1)" && ok "origin down: failed within 15 s (${elapsed} s)" ||
        fail "origin down: failed within 15 s" "took ${elapsed} s"
    only_remoteio_lines "origin down: stderr has only remoteio: lines"
    expect "origin down: stat -> EIO" EIO stat /down/x REMOTEIO_MAP="/down/=http://127.0.0.1:$port/"
}

# origin silent: accepts connections, never answers
origin_silent() {
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
}

scenario down origin_down
scenario silent origin_silent
finish
