# tests/port/port.mk - porting to other kernels: the liballoc adapter, the
# freestanding-archive checks and the two foreign hosts.  Included by the root
# Makefile; uses its B, ARCH, CC, WARN, KCFLAGS, LIB_DIR and LIB_OBJS.
#
#   make liballoc   $(LIB_DIR)/liballoc_compat.o    malloc/free/calloc/realloc
#                   $(LIB_DIR)/liballoc_compat_k.o  kmalloc/kfree/kcalloc/krealloc
#                   $(LIB_DIR)/libmm-liballoc.a     liballoc_compat.o + the core
#                   $(LIB_DIR)/example_glue.o       the README's minimal port
#   make lib-check  both arches x both compilers: builds, nm -u only sys.h hooks
#   make test-port  lib-check, then the fixed-pool host and the liballoc host,
#                   linked against the freestanding $(LIB_DIR)/libmm.a, and again
#                   against the DEBUG=1 archive
#                   (ARCH=x86 builds them -m32 and runs them under qemu-i386-static;
#                   CC=clang and DEBUG=1 use the matching archive)

PORT_DIR    := $(B)/port/$(notdir $(LIB_DIR))
PORT_M_x86_64 := -m64
PORT_M_x86    := -m32
PORT_RUN_x86  := $(shell command -v qemu-i386-static 2>/dev/null)
PORT_CFLAGS := $(WARN) -O2 -g -pthread $(PORT_M_$(ARCH))
PORT_RUN    := $(PORT_RUN_$(ARCH))

.PHONY: liballoc lib-check test-port port-lib-dir
# Where `make lib` puts its archive for the given ARCH/CC/DEBUG/B (for lib-check.sh).
port-lib-dir:
	@echo $(LIB_DIR)

liballoc: $(LIB_DIR)/liballoc_compat.o $(LIB_DIR)/liballoc_compat_k.o $(LIB_DIR)/libmm-liballoc.a \
	$(LIB_DIR)/example_glue.o

# The README's minimal port, built as a kernel would (lib-check links it).
$(LIB_DIR)/example_glue.o: tests/port/example_glue.c mm/mm.h mm/sys.h
	@mkdir -p $(dir $@)
	$(CC) $(KCFLAGS) -Imm -c $< -o $@

$(LIB_DIR)/liballoc_compat.o: mm/liballoc/liballoc.c mm/mm.h mm/sys.h
	@mkdir -p $(dir $@)
	$(CC) $(KCFLAGS) -c $< -o $@

$(LIB_DIR)/liballoc_compat_k.o: mm/liballoc/liballoc.c mm/mm.h mm/sys.h
	@mkdir -p $(dir $@)
	$(CC) $(KCFLAGS) -DMM_LIBALLOC_PREFIX=k -c $< -o $@

$(LIB_DIR)/libmm-liballoc.a: $(LIB_DIR)/liballoc_compat.o $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

# tests/port/stress.c includes the one stress driver, tests/lib/stress.c.
PORT_STRESS := tests/lib/stress.c tests/lib/stress.h tests/lib/tlib.h

# The hosts: hosted test drivers around the freestanding archive (no PIE:
# the archive is built -fno-pic, as a kernel's objects are).
$(PORT_DIR)/pool_host: tests/port/pool_host.c tests/port/stress.c tests/port/stress.h $(PORT_STRESS) \
		$(LIB_DIR)/libmm.a
	@mkdir -p $(dir $@)
	$(CC) $(PORT_CFLAGS) -no-pie tests/port/pool_host.c tests/port/stress.c $(LIB_DIR)/libmm.a -o $@

$(PORT_DIR)/liballoc_host: tests/port/liballoc_host.c tests/port/stress.c tests/port/stress.h $(PORT_STRESS) \
		$(LIB_DIR)/liballoc_compat_k.o $(LIB_DIR)/libmm.a
	@mkdir -p $(dir $@)
	$(CC) $(PORT_CFLAGS) -no-pie tests/port/liballoc_host.c tests/port/stress.c \
		$(LIB_DIR)/liballoc_compat_k.o $(LIB_DIR)/libmm.a -o $@

lib-check:
	@B="$(B)" MAKE="$(MAKE)" sh tests/port/run.sh

# The hosts run twice: against this build's archive and against the DEBUG=1 one
# (double-free tracking and poisoning inside the core catch more).
PORT_DIR_DEBUG := $(B)/port/$(notdir $(call lib_dir,$(call variant,1,$(CC))))
PORT_DIRS      := $(PORT_DIR) $(if $(filter 1,$(DEBUG)),,$(PORT_DIR_DEBUG))

.PHONY: port-hosts
port-hosts: $(PORT_DIR)/pool_host $(PORT_DIR)/liballoc_host

test-port: port-hosts
	$(if $(filter 1,$(DEBUG)),,@$(MAKE) -s --no-print-directory port-hosts DEBUG=1)
	@B="$(B)" MAKE="$(MAKE)" sh tests/port/run.sh "$(PORT_DIRS)" "$(PORT_RUN)"
