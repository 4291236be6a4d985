#!/usr/bin/env bash
# t-unit.sh: the parsers' table-driven unit tests (build/tests/unit-parse).
source "$(dirname "$0")/lib.sh"
bin=$TOP/${REMOTEIO_TEST_BUILD:-build}/tests/unit-parse
[ -x "$bin" ] || { echo "SKIP: $bin not built (make tests)"; exit 77; }
if out=$("$bin" 2>&1); then ok "unit-parse: $(tail -1 <<<"$out")"; else echo "$out"; fail "unit-parse"; fi
finish
