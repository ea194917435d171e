# tests/port/port.mk - porting to other kernels: the liballoc adapter, the
# freestanding-archive checks and the three foreign hosts.  Included by the root
# Makefile; uses its B, ARCH, CC, WARN, KCFLAGS, LIB_DIR and LIB_OBJS.
#
#   make liballoc   $(LIB_DIR)/liballoc_compat.o    malloc/free/calloc/realloc
#                   $(LIB_DIR)/liballoc_compat_k.o  kmalloc/kfree/kcalloc/krealloc
#                   $(LIB_DIR)/libmm-liballoc.a     liballoc_compat.o + the core
#                   $(LIB_DIR)/example_glue.o       the README's minimal port
#   make lib-check  both arches x both compilers: builds, nm -u only sys.h hooks
#   make test-port  lib-check, then the fixed-pool host, the liballoc host and the
#                   migration host (per-CPU caches under preemption, migrate_host.c),
#                   linked against the freestanding $(LIB_DIR)/libmm.a, and again
#                   against the DEBUG=1 archive
#                   (ARCH=x86 builds them -m32 and runs them under qemu-i386-static;
#                   CC=clang and DEBUG=1 use the matching archive)

PORT_DIR    := $(B)/port/$(notdir $(LIB_DIR))
PORT_M_x86_64 := -m64
PORT_M_x86    := -m32
PORT_RUN_x86  := $(shell command -v qemu-i386-static 2>/dev/null)
PORT_CFLAGS = $(WARN) -O2 -g -pthread $(PORT_M_$(ARCH)) $(KPAGE)
PORT_RUN     = $(PORT_RUN_$(ARCH))

.PHONY: liballoc lib-check test-port port-lib-dir
# Where `make lib` puts its archive for the given ARCH/CC/DEBUG/B (for lib-check.sh).
port-lib-dir:
	@echo $(LIB_DIR)

liballoc: $(LIB_DIR)/liballoc_compat.o $(LIB_DIR)/liballoc_compat_k.o $(LIB_DIR)/libmm-liballoc.a \
	$(if $(filter x86 x86_64,$(ARCH)),$(LIB_DIR)/example_glue.o)

# The README's minimal port, built as a kernel would (lib-check links it).
$(LIB_DIR)/example_glue.o: tests/port/example_glue.c mm/mm.h mm/sys.h mm/sys_ram.h
	@mkdir -p $(dir $@)
	$(KCC) $(KCFLAGS) -Imm -c $< -o $@

$(LIB_DIR)/liballoc_compat.o: mm/liballoc/liballoc.c mm/mm.h mm/sys.h mm/sys_ram.h
	@mkdir -p $(dir $@)
	$(KCC) $(KCFLAGS) -c $< -o $@

$(LIB_DIR)/liballoc_compat_k.o: mm/liballoc/liballoc.c mm/mm.h mm/sys.h mm/sys_ram.h
	@mkdir -p $(dir $@)
	$(KCC) $(KCFLAGS) -DMM_LIBALLOC_PREFIX=k -c $< -o $@

$(LIB_DIR)/libmm-liballoc.a: $(LIB_DIR)/liballoc_compat.o $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

# tests/port/stress.c includes the one stress driver, tests/lib/stress.c.
PORT_STRESS := tests/lib/stress.c tests/lib/stress.h tests/lib/tlib.h

# The hosts: hosted test drivers around the freestanding archive (no PIE:
# the archive is built -fno-pic, as a kernel's objects are).
$(PORT_DIR)/pool_host: tests/port/pool_host.c tests/port/stress.c tests/port/stress.h $(PORT_STRESS) \
		$(LIB_DIR)/libmm.a
	@mkdir -p $(dir $@)
	$(PORT_CC) $(PORT_CFLAGS) -no-pie tests/port/pool_host.c tests/port/stress.c $(LIB_DIR)/libmm.a -o $@

$(PORT_DIR)/liballoc_host: tests/port/liballoc_host.c tests/port/stress.c tests/port/stress.h $(PORT_STRESS) \
		$(LIB_DIR)/liballoc_compat_k.o $(LIB_DIR)/libmm.a
	@mkdir -p $(dir $@)
	$(PORT_CC) $(PORT_CFLAGS) -no-pie tests/port/liballoc_host.c tests/port/stress.c \
		$(LIB_DIR)/liballoc_compat_k.o $(LIB_DIR)/libmm.a -o $@

lib-check:
	@B="$(B)" MAKE="$(MAKE)" sh tests/port/run.sh

# The hosts run twice: against this build's archive and against the DEBUG=1 one
# (double-free tracking and poisoning inside the core catch more).
PORT_DIR_DEBUG := $(B)/port/$(notdir $(call lib_dir,$(call variant,1,$(CC))))
PORT_DIRS      := $(PORT_DIR) $(if $(filter 1,$(DEBUG)),,$(PORT_DIR_DEBUG))

# ---- the migration host (cache get/put under preemption and SMP) ----
$(PORT_DIR)/migrate_host: tests/port/migrate_host.c tests/port/stress.c tests/port/stress.h mm/sys_ram.h \
		$(LIB_DIR)/libmm.a
	@mkdir -p $(dir $@)
	$(CC) $(PORT_CFLAGS) -no-pie tests/port/migrate_host.c tests/port/stress.c $(LIB_DIR)/libmm.a -o $@
# ---- end of the migration host ----

.PHONY: port-hosts port-abi-check
port-hosts: port-abi-check $(PORT_DIR)/pool_host $(PORT_DIR)/liballoc_host $(PORT_DIR)/migrate_host

# Hosts for riscv64 link Debian's riscv64 libc, which uses the double-float ABI.
port-abi-check:
	@if [ "$(ARCH)" = riscv64 ] && [ "$(RISCV_MABI)" != lp64d ]; then \
		echo "test-port ARCH=riscv64: the hosts link Debian's lp64d libc; add RISCV_MABI=lp64d"; exit 1; fi

# ---- other architectures: the fixed-pool host under qemu-user ----------------------
# pool_host built with Debian's cross gcc, -static, linked against the riscv64 and
# aarch64 archives (riscv64: the lp64d build, since Debian's riscv64 libc uses the
# double-float ABI; a kernel chooses with RISCV_MABI), run by qemu-<arch>-static.
# `make test-port` runs them after the native hosts (PORT_CROSS= to skip).
PORT_CROSS ?= $(filter-out $(ARCH),riscv64 aarch64)
PORT_CC_riscv64 := riscv64-linux-gnu-gcc
PORT_CC_aarch64 := aarch64-linux-gnu-gcc
PORT_M_riscv64  := -static
PORT_M_aarch64  := -static
PORT_RUN_riscv64 := $(shell command -v qemu-riscv64-static 2>/dev/null)
PORT_RUN_aarch64 := $(shell command -v qemu-aarch64-static 2>/dev/null)
PORT_CC := $(or $(PORT_CC_$(ARCH)),$(CC))
# One token per cross host directory for run.sh: dir@runner.
port_cross_dir = $(B)/port/$(notdir $(call lib_dir_for,$(1)))
lib_dir_for = $(B)/$(1)$(if $(filter riscv64,$(1)),-lp64d)
PORT_CROSS_RUNS := $(foreach a,$(PORT_CROSS),$(if $(PORT_RUN_$(a)),$(call port_cross_dir,$(a))@$(PORT_RUN_$(a))))

.PHONY: port-cross-hosts
port-cross-hosts:
	@for a in $(PORT_CROSS); do \
		$(MAKE) -s --no-print-directory $(B)/port/$$a$$( [ $$a = riscv64 ] && echo -lp64d)/pool_host \
			ARCH=$$a CC=gcc DEBUG=0 $$( [ $$a = riscv64 ] && echo RISCV_MABI=lp64d) || exit 1; \
	done

test-port: port-hosts $(if $(PORT_CROSS_RUNS),port-cross-hosts)
	$(if $(filter 1,$(DEBUG)),,@$(MAKE) -s --no-print-directory port-hosts DEBUG=1)
	@B="$(B)" MAKE="$(MAKE)" sh tests/port/run.sh "$(PORT_DIRS) $(PORT_CROSS_RUNS)" "$(PORT_RUN)"
