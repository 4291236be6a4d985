#!/usr/bin/env bash
# tests/fuzz/run.sh SECONDS: builds the libFuzzer targets with clang (ASan+UBSan) into
# build-fuzz/ and runs each for SECONDS.  Exits non-zero on the first crash.
set -eu
cd "$(dirname "$0")/../.."
secs=${1:-30}
command -v clang >/dev/null || { echo "SKIP: clang is not installed"; exit 0; }
mkdir -p build-fuzz
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -D_GNU_SOURCE -Ishim -std=gnu11"
for t in config http request list; do
    case $t in
        config) src="shim/config.c shim/parse.c shim/path.c shim/log.c shim/url.c shim/http_request.c";;
        http) src="shim/http_parse.c";;
        request) src="shim/http_request.c";;
        list) src="shim/s3_list_xml.c";;
    esac
    clang $flags -o build-fuzz/fuzz-$t tests/fuzz/fuzz-$t.c $src
    mkdir -p build-fuzz/corpus-$t
    echo "fuzzing $t for ${secs}s"
    if ! build-fuzz/fuzz-$t -max_total_time="$secs" -max_len=4096 -print_final_stats=1 \
            build-fuzz/corpus-$t tests/fuzz/seeds-$t > build-fuzz/fuzz-$t.log 2>&1; then
        tail -40 build-fuzz/fuzz-$t.log
        echo "fuzz-$t: crash (input saved by libFuzzer in the current directory)"
        exit 1
    fi
    grep -E "^stat::number_of_executed_units" build-fuzz/fuzz-$t.log || true
done
echo "fuzzing: no crash"
