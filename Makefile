# BEAT — one GNU Makefile. Sources are discovered: every daemon directory
# builds build/bin/beat-<dir> from its *.c (minus *_test.c); every *_test.c
# becomes a standalone unit-test program, in a plain and an ASan/UBSan build.
# BUILD=dir lets parallel work use separate trees.

SHELL   := /bin/bash
BUILD   ?= build
CC      := gcc
DAEMONS := inference receiver datastream supervisor actuator lighttrainer
TOOLS   := beat-kafka-dev beat-exsim beatctl
PKGS    := rdkafka libevent libevent_pthreads sqlite3 openblas libcjson libcurl \
           libcrypto zlib libxxhash

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS  := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -pthread -Icommon \
           $(PKG_CFLAGS) -MMD -MP
OPT     := -O2
SAN     := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
           -fno-sanitize-recover=undefined
LDLIBS  := $(PKG_LIBS) -lnng -lm -ldl -pthread

dir_src   = $(filter-out %_test.c,$(wildcard $(1)/*.c))
COMMON    := $(call dir_src,common)
TEST_SRC  := $(wildcard common/*_test.c $(addsuffix /*_test.c,$(DAEMONS) \
             $(addprefix tools/,$(TOOLS))))
BINS      := $(addprefix $(BUILD)/bin/beat-,$(DAEMONS)) $(addprefix $(BUILD)/bin/,$(TOOLS))
TESTS     := $(patsubst %.c,$(BUILD)/test/%,$(TEST_SRC))
ASAN_TESTS:= $(patsubst %.c,$(BUILD)/asan/test/%,$(TEST_SRC))
FUZZ_SRC  := $(wildcard fuzz/fuzz_*.c)
REPLAYS   := $(patsubst fuzz/%.c,$(BUILD)/asan/fuzz/%,$(FUZZ_SRC))
FUZZERS   := $(foreach f,$(FUZZ_SRC),$(BUILD)/fuzz/$(basename $(notdir $(f)))/$(basename $(notdir $(f))))
PROBE_SRC := $(wildcard bench/*.c)
PROBES    := $(patsubst %.c,$(BUILD)/%,$(PROBE_SRC))

.PHONY: all deps format format-check test unit asan-unit check bench bench-probes bench-slowhttp fuzz fuzz-targets \
        run demo demo-desk clean recovery
.DEFAULT_GOAL := all

all: $(BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(OPT) -c $< -o $@
$(BUILD)/asan/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -c $< -o $@

$(BUILD)/lib/libbeat.a: $(patsubst %.c,$(BUILD)/obj/%.o,$(COMMON))
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/asan/lib/libbeat.a: $(patsubst %.c,$(BUILD)/asan/obj/%.o,$(COMMON))
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# $(1) source dir, $(2) binary name
define bin_tpl
$(BUILD)/bin/$(2): $(patsubst %.c,$(BUILD)/obj/%.o,$(call dir_src,$(1))) $(BUILD)/lib/libbeat.a
	@mkdir -p $$(@D)
	$(CC) $(CFLAGS) $(OPT) -rdynamic -o $$@ $$^ $(LDLIBS)
endef
$(foreach d,$(DAEMONS),$(eval $(call bin_tpl,$(d),beat-$(d))))
$(foreach t,$(TOOLS),$(eval $(call bin_tpl,tools/$(t),$(t))))

# A unit test links its own file, the modules of its directory except main.c
# (common's come from libbeat), and libbeat. $(1) test source, $(2) variant
# prefix, $(3) flags.
test_mods = $(if $(filter common/,$(dir $(1))),,$(filter-out $(dir $(1))main.c,$(call dir_src,$(patsubst %/,%,$(dir $(1))))))
define test_tpl
$(BUILD)/$(2)test/$(basename $(1)): $(BUILD)/$(2)obj/$(basename $(1)).o $(patsubst %.c,$(BUILD)/$(2)obj/%.o,$(call test_mods,$(1))) $(BUILD)/$(2)lib/libbeat.a
	@mkdir -p $$(@D)
	$(CC) $(CFLAGS) $(3) -o $$@ $$^ $(LDLIBS)
endef
$(foreach t,$(TEST_SRC),$(eval $(call test_tpl,$(t),,$(OPT))))
$(foreach t,$(TEST_SRC),$(eval $(call test_tpl,$(t),asan/,$(SAN))))

# Each fuzz target also builds (gcc, ASan/UBSan) as a replayer of its corpus.
$(BUILD)/asan/fuzz/%: $(BUILD)/asan/obj/fuzz/%.o $(BUILD)/asan/obj/fuzz/replay.o $(BUILD)/asan/lib/libbeat.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS)

# Bench probes: the small C programs bench/*.py drive. Built here with the
# same flags as everything else (and by `make test`), so a probe that no
# longer compiles or links fails the build, not a bench run minutes in. A
# probe links its own file, libbeat, and every module except main.c (as a
# unit test does) of each daemon directory it includes a header from
# (`#include "../lighttrainer/model.h"`), so a module that starts needing
# another module of its directory needs no edit here.
probe_dirs = $(sort $(shell sed -n 's|^\#include "\.\./\([^/]*\)/.*|\1|p' $(1)))
probe_mods = $(foreach d,$(call probe_dirs,$(1)),$(filter-out $(d)/main.c,$(call dir_src,$(d))))
define probe_tpl
$(BUILD)/$(basename $(1)): $(BUILD)/obj/$(basename $(1)).o $(patsubst %.c,$(BUILD)/obj/%.o,$(call probe_mods,$(1))) $(BUILD)/lib/libbeat.a
	@mkdir -p $$(@D)
	$(CC) $(CFLAGS) $(OPT) -o $$@ $$^ $(LDLIBS)
endef
$(foreach p,$(PROBE_SRC),$(eval $(call probe_tpl,$(p))))

bench-probes: $(PROBES)

# libFuzzer targets (clang: gcc has no libFuzzer). libFuzzer needs every
# object of the program built by the same compiler with coverage, so
# libbeat's sources are compiled again, by clang, into $(BUILD)/clang/. A
# fuzz target #includes the daemon .c files it exercises, so it needs no
# daemon objects. Same CFLAGS (-Werror included) as gcc's build. Not part of
# `make test`: clang is a `make fuzz` dependency only. fuzz/run.sh runs them
# from their directory, so new crashes land in $(BUILD)/fuzz/<target>/.
CLANG       := clang
CLANG_FLAGS := $(CFLAGS) -O1 -fno-omit-frame-pointer -fno-sanitize-recover=undefined
$(BUILD)/clang/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CLANG) $(CLANG_FLAGS) -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@
$(BUILD)/clang/lib/libbeat.a: $(patsubst %.c,$(BUILD)/clang/obj/%.o,$(COMMON))
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^
define fuzz_tpl
$(BUILD)/fuzz/$(1)/$(1): $(BUILD)/clang/obj/fuzz/$(1).o $(BUILD)/clang/lib/libbeat.a
	@mkdir -p $$(@D)
	$(CLANG) $(CLANG_FLAGS) -fsanitize=fuzzer,address,undefined -o $$@ $$^ $(LDLIBS)
endef
$(foreach f,$(FUZZ_SRC),$(eval $(call fuzz_tpl,$(basename $(notdir $(f))))))

fuzz-targets: $(FUZZERS)

deps:
	@scripts/deps.sh build

# One style (.clang-format): `make format` applies it, `make test` checks it.
FORMAT_SRC = $(shell find common $(DAEMONS) tools fuzz bench -name '*.[ch]' 2>/dev/null)
format:
	@clang-format -i $(FORMAT_SRC)
format-check:
	@clang-format --dry-run -Werror $(FORMAT_SRC) && echo "format: clean"

unit: $(TESTS)
asan-unit: $(ASAN_TESTS) $(REPLAYS)

# Everything `make test` runs: build, unit tests (plain and sanitized),
# integration tests that start real processes. One summary line at the end.
check: all unit asan-unit bench-probes
	@BUILD=$(BUILD) tests/run_all.sh

test:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory format-check
	@$(MAKE) --no-print-directory -j2 all unit asan-unit bench-probes
	@BUILD=$(BUILD) tests/run_all.sh

recovery:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory -j2 all
	@rm -f run/recovery/report.md
	@BUILD=$(BUILD) python3 tests/run.py recovery-tests; rc=$$?; \
	  echo; cat run/recovery/report.md; exit $$rc

bench:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory -j2 all bench-probes
	@BUILD=$(BUILD) bench/run.sh

# The slow-client part of `make bench` alone (slowhttptest against every daemon).
bench-slowhttp:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory -j2 all
	@BUILD=$(BUILD) python3 bench/bench_slowhttp.py

fuzz:
	@scripts/deps.sh fuzz
	@BUILD=$(BUILD) fuzz/run.sh

run:
	@scripts/deps.sh build
	@$(MAKE) --no-print-directory -j2 all
	$(BUILD)/bin/beatctl up --campaigns docs/examples/campaigns.json

demo:
	@scripts/deps.sh demo
	@$(MAKE) --no-print-directory -j2 all
	@BUILD=$(BUILD) scripts/demo.sh

# A 3-day flight on a simulated clock, graded on the trading-desk controls.
demo-desk:
	@scripts/deps.sh demo
	@$(MAKE) --no-print-directory -j2 all
	@BUILD=$(BUILD) BEAT_DEMO_MODE=desk BEAT_DEMO_DIR=$${BEAT_DEMO_DIR:-$(CURDIR)/run/desk} \
	  scripts/demo.sh

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
