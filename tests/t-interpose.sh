#!/usr/bin/env bash
# tests/t-interpose.sh: every interposed call, checked by tests/c/interpose.c.
#
# nginx serves files of awkward sizes; build/tests/interpose (and its
# _FILE_OFFSET_BITS=64 + FORTIFY build, interpose-fo64) runs under the shim
# on /remote/NAME and compares everything against the file nginx serves.
# The same program also runs without the shim on the local file (which
# validates the checks), and under the shim on an ordinary file (which must
# behave exactly as without it).  One run uses a tiny chunk size and cache
# so that reads cross many chunks and the cache evicts.
. "$(dirname "$0")/lib.sh"
require python3 timeout cmp
B=${REMOTEIO_TEST_BUILD:-build}; [[ $B = /* ]] || B=$TOP/$B
for prog in interpose interpose-fo64; do
    [ -x "$B/tests/$prog" ] || skip "$B/tests/$prog is not built (make tests)"
done
require_shim

W=$T/www
mkdir -p "$W"
SIZES="0 1 4095 4096 65535 65536 65537 $((3 * 1048576 + 17))"
for s in $SIZES; do make_file "$W/f$s" "$s"; done
printf 'first line\nsecond line\n\nlast line without newline' > "$W/text"
start_nginx "$W"
export REMOTEIO_MAP="/remote/=$ORIGIN/"
export REMOTEIO_TIMEOUT=5 REMOTEIO_DEADLINE=30

SECTIONS="open readonly stdio read vectored lseek stat access fds writes mmap copy fork threads errno raw"
# run NAME CMD...: one run of the program; passes when it exits 0 with a
# closing "N passed, 0 failed"; on failure shows its failed checks, and when
# it crashed or hung, runs each section alone to show which ones do.
run() {
    local name=$1 out=$T/out.$RANDOM rc sec; shift
    [ "$1" = shim ] && set -- env LD_PRELOAD="$SHIM" "${@:2}"
    timeout -k 5 120 "$@" >"$out" 2>"$out.err"
    rc=$?
    local last; last=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -1)
    if [ $rc -eq 0 ] && [[ $last == *" 0 failed" ]]; then
        ok "$name ($last)"
        return
    fi
    fail "$name" "exit $rc${last:+, $last}"
    grep -E '^(FAIL|Bail)' "$out" | sed 's/^/    /' | head -60
    grep -v '^remoteio: stats' "$out.err" | sed 's/^/    stderr: /' | head -10
    if [ -n "$last" ] && [ $rc -ge 124 ]; then
        echo "    every check ran, then the process hung or died at exit (exit $rc)"
        return
    fi
    [ $rc -ge 124 ] || [ -z "$last" ] || return
    echo "    after '$(grep '^# section' "$out" | tail -1 | cut -c3-)' it died or hung (exit $rc); section by section:"
    for sec in $SECTIONS; do
        timeout -k 5 30 "$@" "$sec" >"$out.$sec" 2>&1
        rc=$?
        last=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out.$sec" | tail -1)
        if [ $rc -ge 124 ] || [ -z "$last" ]; then
            echo "      section $sec: died or hung (exit $rc) after: $(grep -E '^(ok|FAIL)' "$out.$sec" | tail -1)"
            [ $rc -eq 124 ] && { echo "      (hung: the remaining sections are not tried)"; break; }
        elif [ $rc -ne 0 ]; then
            echo "      section $sec: $last"
            grep -E '^(FAIL|Bail)' "$out.$sec" | sed 's/^/        /' | head -20
        fi
    done
}

for s in $SIZES text; do
    f=f$s; [ $s = text ] && f=text
    run "interpose without the shim: $f" "$B/tests/interpose" "$W/$f" "$W/$f"
    run "interpose: /remote/$f" shim "$B/tests/interpose" "/remote/$f" "$W/$f"
    run "interpose-fo64: /remote/$f" shim "$B/tests/interpose-fo64" "/remote/$f" "$W/$f"
done

# An ordinary file under the shim behaves as without it.
cp "$W/f65537" "$T/plain"
run "interpose under the shim on an ordinary file" shim "$B/tests/interpose" "$T/plain" "$T/plain"
run "interpose-fo64 under the shim on an ordinary file" shim "$B/tests/interpose-fo64" "$T/plain" "$T/plain"

# Small chunks and a small cache: reads span chunks, the cache evicts.
f=f$((3 * 1048576 + 17))
REMOTEIO_CHUNK_SIZE=16384 REMOTEIO_CACHE_SIZE=1048576 REMOTEIO_READAHEAD=262144 \
    run "interpose with 16K chunks and a 1M cache: /remote/$f" \
    shim "$B/tests/interpose" "/remote/$f" "$W/$f"

# The shim really fetched from the origin (not from some local file).
n=$(grep -c '"GET /f65537 ' "$NGINX_LOG" || true)
if [ "${n:-0}" -gt 0 ]; then ok "origin served /f65537 ($n GETs)"; else fail "origin served /f65537" "no GET in the access log"; fi
bad=$(awk '$1 >= 500' "$NGINX_LOG" | head -3)
if [ -z "$bad" ]; then ok "no 5xx from the origin"; else fail "no 5xx from the origin" "$bad"; fi

finish
