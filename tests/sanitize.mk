# tests/sanitize.mk - the Check suites of tests/tests.mk (check_host, check_fake) built
# and run under the sanitizers, each variant in a build directory of its own.
#
#   make test-host-ubsan-gcc    gcc   -fsanitize=undefined           build/host/ubsan/
#   make test-host-ubsan-clang  clang -fsanitize=undefined           build/host/ubsan-clang/
#   make test-host-asan         gcc   -fsanitize=address,undefined   build/host/asan/
#   make test-host-san          the three, through tests/summary.sh
#
# Any report stops the test that made it (-fno-sanitize-recover), so it counts as
# failed.  ASan sees the harness's and libc's memory; the heap's own pages come from
# mmap and are not poisoned, so it checks the core's stack and static data, not the
# objects it hands out (the shadow-model checks of the suites and tests/fuzz do that).
# The stress runs SAN_STRESS_OPS operations (default 200000) instead of 1000000.
#
# How: the recursive make gets SAN=<kind> and HOST_DIR on its command line, so every
# rule of tests/tests.mk builds into that directory; the flags are added below.

SAN_STRESS_OPS ?= 200000
SAN_FLAGS_ubsan := -fsanitize=undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_FLAGS_asan  := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

ifneq ($(SAN),)
HOST_CFLAGS += $(SAN_FLAGS_$(SAN))
FAKE_CFLAGS += $(SAN_FLAGS_$(SAN))
T_CFLAGS    += $(SAN_FLAGS_$(SAN))
endif

.PHONY: test-host-san test-host-ubsan-gcc test-host-ubsan-clang test-host-asan

test-host-san:
	@MAKE="$(MAKE)" bash tests/summary.sh test-host-ubsan-gcc test-host-ubsan-clang test-host-asan

# $(1) compiler, $(2) sanitizer kind, $(3) directory under build/host/
define san_run
	+@MM_STRESS_OPS=$${MM_STRESS_OPS:-$(SAN_STRESS_OPS)} UBSAN_OPTIONS=print_stacktrace=1 \
		$(MAKE) --no-print-directory CC=$(1) DEBUG=0 SAN=$(2) HOST_DIR=$(call host_dir,-$(3)) test-host-run
endef

test-host-ubsan-gcc:
	$(call san_run,gcc,ubsan,ubsan)
test-host-ubsan-clang:
	$(call san_run,clang,ubsan,ubsan-clang)
test-host-asan:
	$(call san_run,gcc,asan,asan)
