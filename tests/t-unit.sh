#!/usr/bin/env bash
# t-unit.sh: the standalone unit tests, every tests/c/unit-*.c (the parsers' tables, the
# readahead policy, the request builder, the display form of URLs, ...): each prints
# "N passed, N failed" and counts here as one check.
. "$(dirname "$0")/lib.sh"
for src in "$TOP"/tests/c/unit-*.c; do
    name=$(basename "$src" .c)
    bin=$TOP/${REMOTEIO_TEST_BUILD:-build}/tests/$name
    [ -x "$bin" ] || skip "$bin is not built (make tests)"
    if out=$("$bin" 2>&1); then ok "$name: $(tail -1 <<<"$out")"; else echo "$out"; fail "$name"; fi
done
finish
