#!/usr/bin/env bash
# t-unit.sh: the standalone unit tests: the parsers' tables (build/tests/unit-parse) and
# the readahead policy (build/tests/unit-readahead).
. "$(dirname "$0")/lib.sh"
for name in unit-parse unit-readahead; do
    bin=$TOP/${REMOTEIO_TEST_BUILD:-build}/tests/$name
    [ -x "$bin" ] || skip "$bin is not built (make tests)"
    if out=$("$bin" 2>&1); then ok "$name: $(tail -1 <<<"$out")"; else echo "$out"; fail "$name"; fi
done
finish
