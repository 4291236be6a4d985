#!/usr/bin/env bash
# t-unit.sh: the standalone unit tests: the parsers' tables (build/tests/unit-parse),
# the readahead policy (build/tests/unit-readahead) and the chunk cache against a fake
# fetch (build/tests/unit-cache).
source "$(dirname "$0")/lib.sh"
for name in unit-parse unit-readahead unit-cache; do
    bin=$TOP/${REMOTEIO_TEST_BUILD:-build}/tests/$name
    [ -x "$bin" ] || { echo "SKIP: $bin not built (make tests)"; exit 77; }
    if out=$("$bin" 2>&1); then ok "$name: $(tail -1 <<<"$out")"; else echo "$out"; fail "$name"; fi
done
finish
