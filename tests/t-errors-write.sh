#!/usr/bin/env bash
# tests/t-errors-write.sh: writing through the shim is refused with the errno a read-only file gives.
#
# Opening for writing -> EROFS (every flag, python's open, shell redirects), writing to a
# read descriptor -> EBADF, and the object stays as it was.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/lib-errors.sh"

# writing
writes_refused() {
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
}

scenario write writes_refused
finish
