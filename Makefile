# flightdeck - build, run, test.
#   make          build ./flightdeck
#   make run      install what is missing, build, serve the demo migration on 127.0.0.1:8080
#   make test     install what is missing, build, run every test (unit, integration, browser)
#   make check    the same unit and integration tests under ASan + UBSan, with -Werror
#   make bench    benchmarks (numbers, never pass/fail)
#   make fuzz     build the libFuzzer targets (clang) and run each FUZZ_SECONDS (default 60)
#   make clean

# One list of Debian packages: scripts/deps.sh installs them, the Dockerfile names the same.
DEB_BUILD   := build-essential pkg-config libssl-dev libh2o-evloop-dev libsqlite3-dev \
               libjansson-dev libjwt-dev libcmocka-dev libcurl4-openssl-dev ca-certificates
DEB_RUNTIME := libh2o-evloop0.13 libjansson4 libjwt0 libsqlite3-0 libcurl4 ca-certificates
DEB_TEST    := curl chromium:chromium nodejs:node npm:npm
DEB_FUZZ    := clang libclang-rt-14-dev
DEB_BENCH   := wrk

PKGS := libh2o-evloop jansson libjwt sqlite3 libcurl libcrypto

BUILD   ?= build
CC      ?= cc
OPT     ?= -O2 -g
SAN     ?=
WERROR  ?=
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
CFLAGS  := -std=gnu11 -DH2O_USE_LIBUV=0 $(OPT) $(SAN) $(WARN) $(WERROR) -I. -MMD -MP \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
LDFLAGS := $(SAN)

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)

CORE_SRC   := $(sort $(wildcard core/*.c))
API_SRC    := $(sort $(wildcard api/*.c))
SERVER_SRC := $(filter-out server/main.c,$(sort $(wildcard server/*.c)))
GEN_SRC    := $(BUILD)/gen/migrations_embed.c $(BUILD)/gen/openapi_embed.c
LIB_OBJ    := $(patsubst %.c,$(BUILD)/%.o,$(CORE_SRC) $(API_SRC) $(SERVER_SRC)) \
              $(GEN_SRC:.c=.o)
LIB        := $(BUILD)/libflightdeck.a
BIN        := $(BUILD)/flightdeck

UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
INTEG_SRC  := $(sort $(wildcard tests/integration/test_*.c))
INTEG_BIN  := $(patsubst tests/integration/%.c,$(BUILD)/tests/%,$(INTEG_SRC))
INTEG_LIB  := $(patsubst %.c,$(BUILD)/%.o,$(filter-out $(INTEG_SRC),$(wildcard tests/integration/*.c)))
FUZZ_SRC   := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN   := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzzers/%,$(FUZZ_SRC))

.SECONDARY:
.PHONY: all run test check bench clean deps deps-test unit integration browser print-packages fmt FORCE

all: flightdeck

flightdeck: $(BIN)
	@ln -sf $(BIN) flightdeck

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/gen/migrations_embed.c: $(sort $(wildcard migrations/*.sql)) scripts/embed.sh
	@mkdir -p $(dir $@)
	scripts/embed.sh $@ fd_migrations $(sort $(wildcard migrations/*.sql))

$(BUILD)/gen/openapi_embed.c: schema/openapi.yaml scripts/embed.sh
	@mkdir -p $(dir $@)
	scripts/embed.sh $@ fd_openapi schema/openapi.yaml

$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	$(CC) $(CFLAGS) -Wno-missing-prototypes -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/server/main.o: CFLAGS += -DFD_VERSION='"$(VERSION)"'
# main.o is rebuilt when the version changes (a commit, or the tree turning clean or dirty),
# not only when main.c does: `flightdeck version` and bench/RESULTS.md name what was built
$(BUILD)/server/main.o: $(BUILD)/version.txt
$(BUILD)/version.txt: FORCE
	@mkdir -p $(dir $@)
	@echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' > $@
FORCE:

$(BIN): $(BUILD)/server/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS) -lcmocka

$(BUILD)/tests/%: tests/integration/%.c $(INTEG_LIB) $(LIB) $(BIN)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(INTEG_LIB) $(LIB) $(LDLIBS) -lcmocka

deps:
	@scripts/deps.sh $(DEB_BUILD)

deps-test: deps
	@scripts/deps.sh $(DEB_TEST)

print-packages:
	@echo "build:   $(DEB_BUILD)"
	@echo "runtime: $(DEB_RUNTIME)"

run: deps
	@$(MAKE) --no-print-directory flightdeck
	./flightdeck serve --dev --listen 127.0.0.1:8080 --db ./flightdeck.db --demo examples

# Each unit test binary is a cmocka group; its exit code is its failure count.
unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

integration: $(INTEG_BIN) $(BIN)
	@set -e; for t in $(INTEG_BIN); do echo "== $$t"; FLIGHTDECK_BIN=$(abspath $(BIN)) $$t; done

browser: $(BIN)
	@if [ -f tests/browser/run.sh ]; then FLIGHTDECK_BIN=$(abspath $(BIN)) sh tests/browser/run.sh; fi

test: deps-test
	@$(MAKE) --no-print-directory flightdeck
	@$(MAKE) --no-print-directory unit integration browser

# Sanitizer build in its own tree; LeakSanitizer suppresses exactly libh2o's known exit-time caches.
check: deps
	@$(MAKE) --no-print-directory BUILD=build/check OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" WERROR=-Werror \
	  unit integration \
	  ASAN_OPTIONS=detect_leaks=1 \
	  LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp):print_suppressions=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# libFuzzer targets (tests/fuzz/fuzz_*.c), clang only, in their own tree. Each runs FUZZ_SECONDS
# on a scratch copy of its committed corpus (tests/fuzz/corpus/<name>/); any crash fails the run.
FUZZ_SECONDS ?= 60
.PHONY: fuzz fuzz-build
fuzz: deps
	@scripts/deps.sh $(DEB_FUZZ)
	@$(MAKE) --no-print-directory -j2 BUILD=build/fuzz CC=clang OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined" fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) LSAN_SUPP=$(abspath tests/lsan.supp) sh tests/fuzz/run.sh build/fuzz/fuzzers

fuzz-build: $(FUZZ_BIN)

$(BUILD)/fuzzers/%: tests/fuzz/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB) $(LDLIBS)

# Benchmarks (bench/run.sh): a table of figures next to their targets, saved in bench/RESULTS.md.
# Numbers, never pass/fail. The tools link the library to build their databases.
BENCH_TOOLS := $(BUILD)/bench/fixture $(BUILD)/bench/sse_fanout $(BUILD)/bench/export_count
.PHONY: bench-build
bench: deps
	@scripts/deps.sh $(DEB_BENCH)
	@$(MAKE) --no-print-directory bench-build
	@FLIGHTDECK_BIN=$(abspath $(BIN)) BENCH_TOOLS=$(abspath $(BUILD)/bench) sh bench/run.sh

bench-build: $(BIN) $(BENCH_TOOLS)

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

fmt:
	clang-format -i $(CORE_SRC) $(API_SRC) $(wildcard server/*.c) $(wildcard core/*.h api/*.h server/*.h)

clean:
	rm -rf build flightdeck

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
