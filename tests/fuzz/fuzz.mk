# tests/fuzz/fuzz.mk - libFuzzer harnesses on the core, included by the root Makefile.
#
#   make fuzz              every harness for FUZZ_TIME seconds each, through
#                          tests/summary.sh (one "N passed, N failed" line per run)
#   make fuzz-host | fuzz-fake | fuzz-fake-chunks | fuzz-threads
#                          one harness (tests/fuzz/run.sh: replay tests/fuzz/regress/<name>/,
#                          then fuzz; prints runs, operations, time, corpus size)
#   make fuzz-build        build/fuzz/fuzz_{host,fake,threads} only
#
# Variables: FUZZ_TIME (seconds a harness, default 15), FUZZ_CC (clang),
# FUZZ_SAN (sanitizers besides libFuzzer's coverage, default address,undefined),
# FUZZ_FLAGS (more libFuzzer options, e.g. -jobs=2 -workers=2).
# Working corpus: build/fuzz/corpus/<name>/ (seeded from tests/fuzz/corpus/<name>/),
# crashes: build/fuzz/crashes/<name>-crash-<sha1>.

FUZZ_TIME  ?= 15
FUZZ_CC    ?= clang
FUZZ_SAN   ?= address,undefined
FUZZ_FLAGS ?=
FUZZ_DIR   := $(B)/fuzz
FUZZ_SANFLAGS = -fsanitize=$(FUZZ_SAN) -fno-sanitize-recover=all -fno-omit-frame-pointer
# The runtime libFuzzer links (Debian: libclang-rt-<version>-dev); evaluated only by the fuzz targets.
FUZZ_RT = $(shell $(FUZZ_CC) -print-runtime-dir 2>/dev/null)/libclang_rt.fuzzer-$(shell uname -m).a

# The core (and the hosted backend) as the other hosted builds compile it, plus coverage for
# libFuzzer and the sanitizers.  The fake backend's core has no inline cache hook (tests/tests.mk).
FUZZ_CORE_CFLAGS = $(filter-out -fno-tree-loop-distribute-patterns,$(HOST_CFLAGS)) \
                   -fsanitize=fuzzer-no-link $(FUZZ_SANFLAGS)
FUZZ_HOST_OBJS := $(MM_CORE:%=$(FUZZ_DIR)/host/%.o) $(MM_HOSTED:%=$(FUZZ_DIR)/host/%.o)
FUZZ_FAKE_OBJS := $(MM_CORE:%=$(FUZZ_DIR)/fake/%.o) $(FUZZ_DIR)/fake/fakesys.o
FUZZ_T_CFLAGS   = $(WARN) -O1 -g -D_GNU_SOURCE -pthread -fno-builtin-malloc -Imm -Itests/fakesys \
                  -fsanitize=fuzzer $(FUZZ_SANFLAGS)
FUZZ_COMMON    := tests/fuzz/shadow.c tests/fuzz/ops.c
FUZZ_HDRS      := tests/fuzz/fuzz.h mm/mm.h tests/fakesys/fakesys.h

.PHONY: fuzz fuzz-build fuzz-host fuzz-fake fuzz-fake-chunks fuzz-threads

fuzz:
	@MAKE="$(MAKE)" bash tests/summary.sh fuzz-host fuzz-fake fuzz-fake-chunks fuzz-threads

fuzz-build: $(FUZZ_DIR)/fuzz_host $(FUZZ_DIR)/fuzz_fake $(FUZZ_DIR)/fuzz_threads

$(FUZZ_DIR)/host/%.o: mm/%.c mm/*.h mm/hosted/*.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CORE_CFLAGS) -Imm -c $< -o $@

# No coverage for two files that teach libFuzzer nothing and, instrumented, took most of
# the time: mm_check (check.c, walking every page of every span every 16 operations) and
# the core's portable memset/memcpy loops (mem.c; the fake build has no libc ones).
FUZZ_NOCOV := $(FUZZ_DIR)/host/check.o $(FUZZ_DIR)/fake/check.o $(FUZZ_DIR)/fake/mem.o
$(FUZZ_NOCOV): FUZZ_CORE_CFLAGS := $(filter-out -fsanitize=fuzzer-no-link,$(FUZZ_CORE_CFLAGS))

$(FUZZ_DIR)/fake/%.o: mm/%.c mm/*.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(filter-out -DMM_SYS_INLINE=%,$(FUZZ_CORE_CFLAGS)) -c $< -o $@

# The fake backend is not under test: no coverage (its page-by-page loops would
# dominate the run and teach libFuzzer nothing about the core).
$(FUZZ_DIR)/fake/fakesys.o: tests/fakesys/fakesys.c tests/fakesys/fakesys.h mm/sys.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(filter-out -fsanitize=fuzzer,$(FUZZ_T_CFLAGS)) -O2 -c $< -o $@

$(FUZZ_DIR)/fuzz_host: tests/fuzz/fuzz_host.c $(FUZZ_COMMON) $(FUZZ_HDRS) $(FUZZ_HOST_OBJS)
	$(FUZZ_CC) $(FUZZ_T_CFLAGS) -o $@ $< $(FUZZ_COMMON) $(FUZZ_HOST_OBJS)

$(FUZZ_DIR)/fuzz_threads: tests/fuzz/fuzz_threads.c $(FUZZ_COMMON) $(FUZZ_HDRS) $(FUZZ_HOST_OBJS)
	$(FUZZ_CC) $(FUZZ_T_CFLAGS) -o $@ $< $(FUZZ_COMMON) $(FUZZ_HOST_OBJS)

$(FUZZ_DIR)/fuzz_fake: tests/fuzz/fuzz_fake.c $(FUZZ_COMMON) $(FUZZ_HDRS) $(FUZZ_FAKE_OBJS)
	$(FUZZ_CC) $(FUZZ_T_CFLAGS) -o $@ $< $(FUZZ_COMMON) $(FUZZ_FAKE_OBJS)

# One harness run: $(1) name, $(2) binary, $(3) environment.
define fuzz_run
	+@if [ ! -f "$(FUZZ_RT)" ]; then \
		echo "SKIP: fuzz-$(1): $(FUZZ_CC) has no libFuzzer runtime ($(FUZZ_RT)); Debian: libclang-rt-14-dev"; \
	else \
		$(MAKE) --no-print-directory $(2) && \
		$(3) FUZZ_FLAGS="$(FUZZ_FLAGS)" bash tests/fuzz/run.sh $(1) $(2) $(FUZZ_TIME) $(FUZZ_DIR); \
	fi
endef

fuzz-host:
	$(call fuzz_run,host,$(FUZZ_DIR)/fuzz_host,)
fuzz-fake:
	$(call fuzz_run,fake,$(FUZZ_DIR)/fuzz_fake,FUZZ_ARENA=32)
fuzz-fake-chunks:
	$(call fuzz_run,fake-chunks,$(FUZZ_DIR)/fuzz_fake,FUZZ_ARENA=chunks)
fuzz-threads:
	$(call fuzz_run,threads,$(FUZZ_DIR)/fuzz_threads,)
