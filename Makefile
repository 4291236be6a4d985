# remoteio: build the preload library, its wrapper, its tests and tools.
#
#   make            build/libremoteio.so and build/remoteio
#   make check      the whole test suite (tests/run.sh), after installing what it needs
#   make deps       install the build and test dependencies (Debian 12; root or sudo)
#   make asan       the suite against an ASan+UBSan build (build-asan/)
#   make tsan       the concurrency tests against a TSan build (build-tsan/); T=NAME picks
#                   the tests (tests/run.sh's pattern), as for make asan
#   make fuzz       short libFuzzer runs of the parsers (FUZZ_SECONDS each)
#   make bench      the benchmark (tests/bench/), not part of the suite
#   make soak       the long fault-injection run (minutes), not part of the suite
#   make examples   run examples/ against a local origin
#   make demo       the README's first command

CC       ?= cc
BUILD    ?= build
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wno-unused-parameter
CPPFLAGS := -D_GNU_SOURCE -Ishim
SHIM_CFLAGS := -std=gnu11 -fPIC -fvisibility=hidden -pthread $(WARN)
LIBS     := -ldl -pthread

SHIM_SRC := $(sort $(wildcard shim/*.c))
SHIM_OBJ := $(SHIM_SRC:shim/%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(sort $(wildcard tests/c/*.c))
TEST_BIN := $(TEST_SRC:tests/c/%.c=$(BUILD)/tests/%)
# The disk tier (raw syscalls, no hooks): linked by its unit and multi-process tests.
DISK_OBJ := $(BUILD)/obj/disk_cache.o $(BUILD)/obj/disk_open.o $(BUILD)/obj/disk_hash.o
# Objects the standalone unit tests may link (no interposition in them: real.o is only
# the table of libc functions, which unit-cache fills itself).
UNIT_OBJ := $(BUILD)/obj/parse.o $(BUILD)/obj/config.o $(BUILD)/obj/path.o \
            $(BUILD)/obj/http_parse.o $(BUILD)/obj/log.o $(BUILD)/obj/readahead.o \
            $(BUILD)/obj/http_request.o $(BUILD)/obj/url.o \
            $(BUILD)/obj/crypto.o $(BUILD)/obj/sigv4.o $(BUILD)/obj/s3_list_xml.o \
            $(BUILD)/obj/cache.o $(BUILD)/obj/clock.o $(BUILD)/obj/real.o $(DISK_OBJ) \
            $(BUILD)/obj/trace_file.o $(BUILD)/obj/trace_replay.o $(BUILD)/obj/thread.o

# The AWS credential chain and what it needs beyond UNIT_OBJ: linked by its unit test and
# its probe, which stand in for the shim's lifecycle (tests/c/aws-creds-stubs.h).
AWS_CREDS_OBJ := $(patsubst %,$(BUILD)/obj/%.o,aws_ini aws_creds aws_creds_chain aws_creds_json \
                   aws_creds_process aws_creds_http child_env libcurl fdtable)

all: $(BUILD)/libremoteio.so $(BUILD)/remoteio $(BUILD)/remoteio-cache $(BUILD)/remoteio-trace

$(BUILD)/obj/%.o: shim/%.c $(wildcard shim/*.h) | $(BUILD)/obj
	$(CC) $(CPPFLAGS) $(SHIM_CFLAGS) $(CFLAGS) -c -o $@ $<

# Under TSan the runtime initialises itself by calling mmap and friends, which reach our
# hooks before it can track anything: the hooks and the symbol table stay uninstrumented
# (everything below them, where the shim's threads meet, is checked).
ifdef HOOKS_UNINSTRUMENTED
$(BUILD)/obj/hooks_%.o $(BUILD)/obj/real.o: override CFLAGS := $(filter-out -fsanitize=%,$(CFLAGS))
endif

$(BUILD)/libremoteio.so: $(SHIM_OBJ)
	$(CC) -shared $(SHIM_CFLAGS) $(CFLAGS) -o $@ $^ $(LIBS) -Wl,-z,nodelete

# `remoteio cache ...`: the disk tier's tool, linked with the same objects as its tests.
$(BUILD)/remoteio-cache: tools/remoteio-cache.c $(UNIT_OBJ) | $(BUILD)
	$(CC) $(CPPFLAGS) -std=gnu11 $(WARN) $(CFLAGS) -pthread -o $@ $^ $(LIBS)

# `remoteio trace ...`: export and import learned-prefetch traces.
$(BUILD)/remoteio-trace: tools/remoteio-trace.c $(UNIT_OBJ) | $(BUILD)
	$(CC) $(CPPFLAGS) -std=gnu11 $(WARN) $(CFLAGS) -pthread -o $@ $^ $(LIBS)

$(BUILD)/remoteio: tools/remoteio.in | $(BUILD)
	sed 's|@LIBDIR@|$(abspath $(BUILD))|' $< > $@ && chmod +x $@

# Unit tests (unit-*.c) link the parser objects; the others are plain programs
# run under the shim by the shell tests.
$(BUILD)/tests/unit-%: tests/c/unit-%.c $(UNIT_OBJ) | $(BUILD)/tests
	$(CC) $(CPPFLAGS) -std=gnu11 $(WARN) $(CFLAGS) -pthread -o $@ $^ $(LIBS)
$(BUILD)/tests/unit-aws-creds $(BUILD)/tests/aws-creds-probe: $(BUILD)/tests/%: tests/c/%.c \
		tests/c/aws-creds-stubs.h $(UNIT_OBJ) $(AWS_CREDS_OBJ) | $(BUILD)/tests
	$(CC) $(CPPFLAGS) -std=gnu11 $(WARN) $(CFLAGS) -pthread -o $@ $(filter-out %.h,$^) $(LIBS)
$(BUILD)/tests/disk-cache-stress: tests/c/disk-cache-stress.c $(UNIT_OBJ) | $(BUILD)/tests
	$(CC) $(CPPFLAGS) -std=gnu11 $(WARN) $(CFLAGS) -pthread -o $@ $^ $(LIBS)
$(BUILD)/tests/%: tests/c/%.c | $(BUILD)/tests
	$(CC) -D_GNU_SOURCE -std=gnu11 $(WARN) $(CFLAGS) -pthread -o $@ $<
$(BUILD)/tests/%-fo64: tests/c/%.c | $(BUILD)/tests
	$(CC) -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -D_FORTIFY_SOURCE=2 -std=gnu11 $(WARN) $(CFLAGS) -O2 -pthread -o $@ $<

tests: $(TEST_BIN) $(BUILD)/tests/interpose-fo64

$(BUILD) $(BUILD)/obj $(BUILD)/tests:
	mkdir -p $@

# deps: what building and testing need, installed from Debian's packages (idempotent).
deps:
	tests/deps.sh

check: deps
	$(MAKE) all tests
	tests/run.sh

# Sanitizer builds: the runtime must come first in LD_PRELOAD.
ASAN_RT = $(shell $(CC) -print-file-name=libasan.so)
UBSAN_RT = $(shell $(CC) -print-file-name=libubsan.so)
asan:
	$(MAKE) BUILD=build-asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" all tests
	REMOTEIO_PRELOAD="$(ASAN_RT) $(UBSAN_RT) $(abspath build-asan)/libremoteio.so" \
	ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0:abort_on_error=0:exitcode=86 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=86 \
	REMOTEIO_TEST_BUILD=build-asan tests/run.sh $(T)
# The TSan runtime is preloaded first, as ASan's is: an uninstrumented program (dd,
# python3) would otherwise load it late, as the shim's dependency, and crash in it.
TSAN_RT = $(shell $(CC) -print-file-name=libtsan.so)
tsan:
	$(MAKE) BUILD=build-tsan CFLAGS="-O1 -g -fsanitize=thread" HOOKS_UNINSTRUMENTED=1 all tests
	REMOTEIO_PRELOAD="$(TSAN_RT) $(abspath build-tsan)/libremoteio.so" \
	TSAN_OPTIONS=halt_on_error=1:exitcode=86:report_signal_unsafe=0 \
	REMOTEIO_TEST_BUILD=build-tsan tests/run.sh $(or $(T),concurrency)

FUZZ_SECONDS ?= 30
fuzz:
	tests/fuzz/run.sh $(FUZZ_SECONDS)

bench: all
	tests/bench/run.sh
soak: all
	tests/soak.sh
examples: all
	examples/run-all.sh
demo: deps
	$(MAKE) all
	./demo.sh

clean:
	rm -rf build build-asan build-tsan build-fuzz

.PHONY: all deps tests check asan tsan fuzz bench soak examples demo clean
