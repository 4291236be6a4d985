#!/usr/bin/env bash
# tests/t-errors-http.sh: the errno a program sees for each answer of the origin.
#
# A server that ignores Range or sends no validator -> EIO at open with one clear line
# (unversioned objects are read when REMOTEIO_ALLOW_UNVERSIONED=1), a missing object ->
# ENOENT, 401/403 -> EACCES, a persistent 500 -> EIO.  The shim's own messages start
# with "remoteio:".
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/lib-errors.sh"
first=$(ls "$W" | head -1)

# a server that ignores Range: refused at open, with one clear line
no_range() {
    expect "server ignoring Range: open -> EIO" EIO open "/norange/$first"
    grep -q "does not support range requests" "$T/err" && ok "server ignoring Range: the reason is logged" ||
        fail "server ignoring Range: the reason is logged" "$(head -2 "$T/err")"
    n=$(grep -c '"GET /norange/' "$NGINX_LOG")
    [ "$n" -le 1 ] && ok "server ignoring Range: not downloaded again and again ($n GET)" ||
        fail "server ignoring Range: requests" "$n GETs"
}

# no validator at all: a change could not be detected, so refused unless allowed
no_validator() {
    expect "no ETag nor Last-Modified: open -> EIO" EIO open "/nover/$first"
    grep -q "neither ETag nor Last-Modified" "$T/err" && ok "no validator: the reason is logged" ||
        fail "no validator: the reason is logged" "$(head -2 "$T/err")"
    expect "no validator, REMOTEIO_ALLOW_UNVERSIONED=1: read works" OK read "/nover/$first" \
        REMOTEIO_ALLOW_UNVERSIONED=1
}

# missing, forbidden
missing_forbidden() {
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
}

scenario range no_range
scenario validator no_validator
scenario missing missing_forbidden
finish
