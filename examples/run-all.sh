#!/usr/bin/env bash
# examples/run-all.sh: run every example against one local origin (make examples).
#
# Makes the samples (examples/make-samples.sh), serves them with nginx on
# 127.0.0.1 and runs each examples/*.sh with REMOTEIO_EXAMPLE_ORIGIN pointing
# there, each under a time limit. Prints one line per example and closes with
# "N passed, N failed, N skipped". An example exiting 77 is skipped.
#   examples/run-all.sh [NAME...]     (default: all of them)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/lib.sh"
"$here/make-samples.sh" "$T/samples" >/dev/null || { echo "cannot make the samples"; exit 1; }
start_nginx "$T/samples"
export REMOTEIO_EXAMPLE_ORIGIN=$ORIGIN/ REMOTEIO_EXAMPLE_SAMPLES=$T/samples

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for f in "$here"/*.sh; do
        case $(basename "$f") in common.sh|make-samples.sh|run-all.sh) continue;; esac
        names+=("$(basename "$f" .sh)")
    done
fi
passed=0 failed=0 skipped=0
for n in "${names[@]}"; do
    start=$(date +%s.%N)
    timeout -k 5 "${EXAMPLE_TIMEOUT:-360}" bash "$here/$n.sh" > "$T/$n.log" 2>&1
    rc=$?
    secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    case $rc in
        0) passed=$((passed + 1)); echo "pass  $n (${secs}s)";;
        77) skipped=$((skipped + 1)); echo "skip  $n: $(tail -1 "$T/$n.log")";;
        *) failed=$((failed + 1)); echo "FAIL  $n (exit $rc, ${secs}s):"; tail -15 "$T/$n.log" | sed 's/^/      /';;
    esac
    [ -n "${EXAMPLES_VERBOSE:-}" ] && sed 's/^/      | /' "$T/$n.log"
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
