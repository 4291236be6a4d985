#!/usr/bin/env bash
# tests/run.sh: runs every tests/t-*.sh (the C programs in build/tests/ are run by the
# scripts that need them: t-unit, t-interpose, t-readahead...), each bounded by
# REMOTEIO_TEST_TIMEOUT seconds (600), then prints "N passed, N failed, N skipped".
# A script counts as one test: exit 0 passed, 77 skipped, anything else failed.
# Usage: tests/run.sh [PATTERN]   (only scripts whose name contains PATTERN; T_ONLY=NAME
#        in the environment runs only the scenarios whose name contains NAME)
set -u
cd "$(dirname "$0")/.."
pattern=${1:-}
passed=0 failed=0 skipped=0 failed_names=()
for t in tests/t-*.sh; do
    [ -n "$pattern" ] && [[ $t != *"$pattern"* ]] && continue
    echo "=== $t"
    start=$(date +%s)
    timeout -k 10 ${REMOTEIO_TEST_TIMEOUT:-600} bash "$t"
    rc=$?
    echo "=== $t: rc=$rc ($(( $(date +%s) - start ))s)"
    case $rc in
        0) passed=$((passed+1));;
        77) skipped=$((skipped+1));;
        *) failed=$((failed+1)); failed_names+=("$t");;
    esac
done
[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
