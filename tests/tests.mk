# tests/tests.mk - the hosted test suites, included by the root Makefile.
#
#   make test-host        the Check suites against the hosted core, four ways:
#                         gcc, clang, DEBUG=1, and -m32 under qemu-i386-static;
#                         ends with one "N passed, N failed" line.
#   make test             make deps, then every suite the repo has (test-host's four,
#                         test-preload, test-misuse, test-port, test-kernel ARCH=x86
#                         and x86_64, test-xv6: libmm in MIT xv6 on 4 CPUs, SKIP without xv6),
#                         through tests/summary.sh: one final "N passed, N failed".
#   make test-host-gcc | test-host-clang | test-host-debug | test-host-m32
#                         one variant.
#   make test-host-page16k  check_fake with the core built for 16 KiB pages
#                         (MM_PAGE_SHIFT=14) on a fake host that counts every
#                         call not aligned to 16 KiB as a contract violation.  Each runs two binaries:
#     check_host  libmm.a (the real hosted Sys backend) + the Check suites
#     check_fake  the core objects (no mm/hosted) + tests/fakesys: the 32-bit
#                 arena in a simulated 4 GiB address space, refusals, panic hook,
#                 settable clock, explicit caches.  Not in the -m32 variant: a
#                 32-bit process cannot hold a simulated 4 GiB space.
#
# MM_STRESS_OPS sets the shadow-model stress length (default 1000000; the -m32
# variant under qemu-user uses MM_STRESS_OPS_M32, default 200000).

CHECK_LIBS   := $(shell pkg-config --cflags --libs check 2>/dev/null)
CHECK_LIBS32 := -lcheck -lsubunit -lm -lrt -pthread
LIBCHECK32   := /usr/lib/i386-linux-gnu/libcheck.a
QEMU_I386    ?= qemu-i386-static
MM_STRESS_OPS_M32 ?= 200000

TEST_DIR   := $(HOST_DIR)/tests
FAKE_DIR   := $(HOST_DIR)/fakesys
# Test code: the project's warnings and optimisation, the core's debug switch.
T_CFLAGS    = $(WARN) $(DBGFLAG) -D_GNU_SOURCE -pthread -fno-builtin-malloc -Imm -Itests/check -Itests/fakesys -Itests/lib
# The hosted binary sees internal.h exactly as libmm.a was built (inline cache hook).
T_HOST_DEFS := -DMM_SYS_INLINE='"hosted/hosted.h"'

T_HDRS      := $(wildcard tests/check/*.h tests/fakesys/*.h tests/lib/*.h) mm/mm.h mm/internal.h mm/sys.h
T_COMMON    := tests/check/testutil.c
T_HOST_SRCS := tests/check/main_host.c tests/check/t_sizeclass.c tests/check/t_heap.c \
               tests/check/t_cache.c tests/check/t_api.c tests/check/t_stats.c \
               tests/check/t_scavenge.c tests/check/t_errors.c tests/check/t_internal.c \
               tests/check/t_process.c tests/check/t_misuse.c \
               tests/stress/stress.c tests/lib/stress.c $(T_COMMON)
T_FAKE_SRCS := tests/check/main_fake.c tests/check/t_arena32.c tests/check/t_fake.c tests/check/t_port.c \
               tests/check/fakeutil.c tests/fakesys/fakesys.c $(T_COMMON)

# The core for the fake backend: HOST_CFLAGS without the inline cache hook, so
# the cache hooks are ordinary calls that tests/fakesys answers.
FAKE_CFLAGS := $(filter-out -DMM_SYS_INLINE=%,$(HOST_CFLAGS))
FAKE_OBJS   := $(MM_CORE:%=$(FAKE_DIR)/%.o)

.PHONY: test-host-gcc test-host-clang test-host-debug test-host-m32 test-host-run \
        test-host-m32-run test-host-build

test-host:
	@MAKE="$(MAKE)" bash tests/summary.sh test-host-gcc test-host-clang test-host-debug test-host-m32

test:
	@$(MAKE) --no-print-directory deps || echo "test: 'make deps' failed (see above); running the suites that can run"
	@MAKE="$(MAKE)" bash tests/summary.sh test-host-gcc test-host-clang test-host-debug \
		test-host-m32 test-host-page16k test-host-ubsan-gcc test-host-ubsan-clang test-host-asan \
		fuzz-host fuzz-fake fuzz-fake-chunks fuzz-threads \
		test-preload test-misuse test-port "test-kernel ARCH=x86" "test-kernel ARCH=x86_64" \
		test-xv6

test-host-gcc:
	@$(MAKE) --no-print-directory CC=gcc DEBUG=0 test-host-run
test-host-clang:
	@$(MAKE) --no-print-directory CC=clang DEBUG=0 test-host-run
test-host-debug:
	@$(MAKE) --no-print-directory CC=gcc DEBUG=1 test-host-run
test-host-m32:
	@$(MAKE) --no-print-directory CC=gcc DEBUG=0 test-host-m32-run

# One variant, as selected by CC and DEBUG: build both binaries, run both.
test-host-build: $(TEST_DIR)/check_host $(TEST_DIR)/check_fake

test-host-run: test-host-build
	@rc=0; for t in $(TEST_DIR)/check_host $(TEST_DIR)/check_fake; do \
		echo "== $$t ($(CC)$(if $(filter 1,$(DEBUG)), DEBUG=1))"; $$t || rc=1; done; exit $$rc

$(TEST_DIR)/check_host: $(T_HOST_SRCS) $(T_HDRS) $(HOST_DIR)/libmm.a | $(TEST_DIR)
	$(CC) $(T_CFLAGS) $(T_HOST_DEFS) -o $@ $(T_HOST_SRCS) $(HOST_DIR)/libmm.a $(CHECK_LIBS)

$(TEST_DIR)/check_fake: $(T_FAKE_SRCS) $(T_HDRS) $(FAKE_OBJS) | $(TEST_DIR)
	$(CC) $(T_CFLAGS) -o $@ $(T_FAKE_SRCS) $(FAKE_OBJS) $(CHECK_LIBS)

$(FAKE_DIR)/%.o: mm/%.c mm/*.h | $(FAKE_DIR)
	$(CC) $(FAKE_CFLAGS) -c $< -o $@

$(TEST_DIR) $(FAKE_DIR):
	mkdir -p $@

# ---- -m32: the hosted core and the suite as i386 code, run by qemu-user ----------
M32_DIR  := $(B)/host/m32
M32_OBJS := $(MM_CORE:%=$(M32_DIR)/%.o) $(MM_HOSTED:%=$(M32_DIR)/%.o)

# No $(MAKE) in these recipes: `make -n test-host-m32` (how tests/summary.sh asks
# whether a suite exists) must not build or run anything.
ifeq ($(wildcard $(LIBCHECK32)),)
test-host-m32-run:
	@echo "SKIP: test-host-m32: no 32-bit Check ($(LIBCHECK32)); 'make deps' installs check:i386"
else ifeq ($(shell command -v $(QEMU_I386)),)
test-host-m32-run:
	@echo "SKIP: test-host-m32: $(QEMU_I386) not found (Debian: qemu-user-static)"
else
test-host-m32-run: $(M32_DIR)/tests/check_host
	@echo "== $< (gcc -m32 under $(QEMU_I386); check_fake needs a 64-bit process)"
	@MM_STRESS_OPS=$(MM_STRESS_OPS_M32) CK_TIMEOUT_MULTIPLIER=$${CK_TIMEOUT_MULTIPLIER:-4} \
		$(QEMU_I386) $<
endif

$(M32_DIR)/%.o: mm/%.c mm/*.h mm/hosted/*.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -m32 -c $< -o $@

$(M32_DIR)/libmm.a: $(M32_OBJS)
	rm -f $@ && ar rcs $@ $^

$(M32_DIR)/tests/check_host: $(T_HOST_SRCS) $(T_HDRS) $(M32_DIR)/libmm.a
	@mkdir -p $(dir $@)
	$(CC) -m32 -static $(T_CFLAGS) $(T_HOST_DEFS) -o $@ $(T_HOST_SRCS) $(M32_DIR)/libmm.a $(CHECK_LIBS32)

-include tests/misuse/misuse.mk

# ---- 16 KiB pages: the core built with MM_PAGE_SHIFT=14, the fake Sys backend
# enforcing a 16 KiB granule (tests/fakesys: FAKE_GRANULE), the fake suites --------
P16_DIR  := $(B)/host/page16k
P16_DEFS := -DMM_PAGE_SHIFT=14 -DFAKE_GRANULE=16384
P16_OBJS := $(MM_CORE:%=$(P16_DIR)/%.o)

.PHONY: test-host-page16k
test-host-page16k: $(P16_DIR)/check_fake
	@echo "== $< ($(notdir $(CC)), MM_PAGE_SHIFT=14, host granule 16 KiB)"
	@$<

$(P16_DIR)/%.o: mm/%.c mm/*.h
	@mkdir -p $(dir $@)
	$(CC) $(FAKE_CFLAGS) $(P16_DEFS) -c $< -o $@

$(P16_DIR)/check_fake: $(T_FAKE_SRCS) $(T_HDRS) $(P16_OBJS)
	$(CC) $(T_CFLAGS) $(P16_DEFS) -o $@ $(T_FAKE_SRCS) $(P16_OBJS) $(CHECK_LIBS)
