# libmm: the allocator core (mm/), its hosted build, our kernel, and the tests.
# Every target is documented in README.md.  Output goes to build/.
#
#   make host | test-host | test | run | lib | kernel | iso | test-kernel | test-port | bench | debug
#
# Variables: ARCH=x86_64|x86 (kernel and lib), CC=gcc|clang, DEBUG=1.

ARCH  ?= x86_64
ifeq ($(origin CC),default)
CC := gcc
endif
DEBUG ?= 0
B     := build

# The portable core is exactly mm/*.c, one file per design noun.  Its hosts live
# in folders of their own: mm/hosted (the Sys layer on mmap), mm/preload (the
# drop-in malloc), mm/liballoc (the liballoc adapter).
MM_CORE := $(notdir $(basename $(wildcard mm/*.c)))
MM_HOSTED := hosted/sys hosted/thread

# $(call variant,DEBUG,CC): a build variant's suffix: -debug, -clang, -debug-clang or none.
# Every build directory below is named with it.
variant = $(if $(filter 1,$(1)),-debug)$(if $(filter clang,$(notdir $(2))),-clang)
VARIANT := $(call variant,$(DEBUG),$(CC))

WARN    := -Wall -Wextra -Werror -std=c11 -fno-strict-aliasing
DBGFLAG := $(if $(filter 1,$(DEBUG)),-DMM_DEBUG=1 -O1 -g,-O2 -g)

# ---- hosted build -------------------------------------------------------------
# Variants live inside build/host/ (debug, clang, debug-clang; tests add m32): every
# hosted archive stays apart from the freestanding build/<arch>/ ones.
host_dir = $(B)/host$(if $(1),/$(patsubst -%,%,$(1)))
HOST_DIR    := $(call host_dir,$(VARIANT))
HOST_CFLAGS := $(WARN) $(DBGFLAG) -fPIC -fno-tree-loop-distribute-patterns -D_GNU_SOURCE \
               -fno-builtin-malloc -pthread -fvisibility=hidden -DMM_SYS_INLINE='"hosted/hosted.h"'
HOST_CFLAGS := $(filter-out $(if $(filter clang,$(notdir $(CC))),-fno-tree-loop-distribute-patterns),$(HOST_CFLAGS))
HOST_OBJS   := $(MM_CORE:%=$(HOST_DIR)/%.o) $(MM_HOSTED:%=$(HOST_DIR)/%.o)
MALLOC_SO   := $(HOST_DIR)/libmm-malloc.so

.PHONY: all host test-host test deps clean
all: host

host: $(HOST_DIR)/libmm.a $(MALLOC_SO)

$(HOST_DIR)/%.o: mm/%.c mm/*.h mm/hosted/*.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -Imm -c $< -o $@

$(HOST_DIR)/libmm.a: $(HOST_OBJS)
	rm -f $@ && ar rcs $@ $^

$(MALLOC_SO): $(HOST_OBJS) $(HOST_DIR)/preload/preload.o
	$(CC) -shared -pthread -Wl,-z,nodelete -o $@ $^

# ---- freestanding build (kernels): build/<arch>/libmm.a, only mm/ core ----------------
# Flags a kernel needs: no libc, no red zone, no SSE, no PIC, no stack protector.
# A higher-half kernel builds its lib with MCMODEL=kernel.
MCMODEL ?= small
KARCH_x86_64 := -m64 -mno-red-zone -mgeneral-regs-only -mcmodel=$(MCMODEL)
KARCH_x86    := -m32 -mgeneral-regs-only
KCFLAGS := $(WARN) $(DBGFLAG) -ffreestanding -fno-builtin -nostdlib -fno-pic -fno-pie \
           -fno-stack-protector -fno-omit-frame-pointer $(KARCH_$(ARCH))
KCFLAGS += $(if $(filter clang,$(notdir $(CC))),,-fno-tree-loop-distribute-patterns)
lib_dir   = $(B)/$(ARCH)$(if $(filter kernel,$(MCMODEL)),-kernel)$(1)
LIB_DIR  := $(call lib_dir,$(VARIANT))
LIB_OBJS := $(MM_CORE:%=$(LIB_DIR)/mm/%.o)

.PHONY: lib
lib: $(LIB_DIR)/libmm.a

$(LIB_DIR)/mm/%.o: mm/%.c mm/*.h
	@mkdir -p $(dir $@)
	$(CC) $(KCFLAGS) -c $< -o $@

# The archive holds one object, libmm.o: the core linked with `ld -r`, so that `nm -u`
# on the archive lists exactly the hooks of mm/sys.h and nothing the members share.
$(LIB_DIR)/libmm.o: $(LIB_OBJS)
	$(CC) $(filter -m32 -m64,$(KARCH_$(ARCH))) -nostdlib -r -o $@ $^

$(LIB_DIR)/libmm.a: $(LIB_DIR)/libmm.o
	rm -f $@ && ar rcs $@ $^

# set-up: installs whatever is missing (QEMU, GRUB, xorriso, mtools, Check, multilib)
deps:
	@bash .ci/deps

# `make run` installs what is missing before it builds (`make test` does the same).
.PHONY: run
run: deps

-include tests/tests.mk
-include tests/preload/preload.mk
-include tests/port/port.mk
-include tests/port/xv6/xv6.mk
-include tests/bench/bench.mk
-include kernel/kernel.mk

clean:
	rm -rf $(B)
