#!/usr/bin/env bash
# tests/t-s3-tools.sh: every program of t-tools.sh and t-qemu-img.sh, and t-vm-boot.sh's
# VM boots, reading s3:// objects from a real S3 server (radosgw, tests/s3/server.sh,
# which checks every signature) instead of nginx.
#
# Each of those scripts runs as it is, with REMOTEIO_TEST_ORIGIN=s3: its files become
# objects of a private bucket (s3_serve), /remote/ a prefix mapping onto it signed with
# the user's credentials from the environment, and each compares every program's output
# with the local file's as it does for nginx (right bytes), then checks that the server's
# request log, after the uploads, holds only signed GET/HEAD of the user, some of them
# ranged GETs (s3_check_signed_reads).  Their checks are counted here one by one.
# T_ONLY=tools|qemu-img|vm-boot runs one of them.
. "$(dirname "$0")/lib.sh"
require_shim
unset REMOTEIO_MAP REMOTEIO_CONFIG AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3

# run_on_s3 TEST: tests/TEST.sh on s3://, its lines shown, its ok/FAIL lines counted here
run_on_s3() {
    local t=$1 out=$T/$1.out rc t0
    t0=$(date +%s)
    REMOTEIO_TEST_ORIGIN=s3 bash "$TOP/tests/$t.sh" > "$out" 2>&1
    rc=$?
    while IFS= read -r line; do
        case $line in
            "ok   - "*) ok "$t: ${line#ok   - }" ;;
            "FAIL - "*) fail "$t: ${line#FAIL - }" ;;
            "SKIP: "*|"#"*) echo "# $t: ${line#\# }" ;;
        esac
    done < "$out"
    case $rc in
        0) echo "# $t on s3:// passed in $(( $(date +%s) - t0 )) s" ;;
        77) echo "# $t on s3:// skipped: $(grep -m1 '^SKIP' "$out")" ;;
        *) grep -q '^FAIL - ' "$out" ||
               fail "$t on s3://" "exit $rc: $(grep -v '^ok ' "$out" | tail -5 | tr '\n' ' ')" ;;
    esac
}

scenario tools run_on_s3 t-tools
scenario qemu-img run_on_s3 t-qemu-img
scenario vm-boot run_on_s3 t-vm-boot
[ $((PASSED + FAILED)) -gt 0 ] || [ "$SCENARIOS_RUN" = 0 ] || skip "each script skipped itself"
finish
