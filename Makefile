# libmm: the allocator core (mm/), its hosted build, our kernel, and the tests.
# Every target is documented in README.md.  Output goes to build/.
#
#   make host | test-host | test | run | lib | kernel | iso | test-kernel | test-port | bench | debug
#
# Variables: ARCH=x86_64|x86 (kernel and lib; lib also riscv64|aarch64), CC=gcc|clang,
# DEBUG=1, PAGE_SHIFT=12|14|16 (lib).

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
# Flags a kernel needs: no libc, no red zone, no FP/SIMD registers, no PIC, no stack
# protector, no compiler runtime.  A higher-half x86_64 kernel builds its lib with
# MCMODEL=kernel.  ARCH=riscv64 and ARCH=aarch64 cross-compile: gcc means Debian's
# riscv64-linux-gnu-gcc / aarch64-linux-gnu-gcc, clang means clang --target=...-elf.
#   riscv64: -march=rv64imac -mabi=lp64 is RISC-V's -mgeneral-regs-only (no F/D
#            extension, so no FP register is ever touched); -mcmodel=medany for a
#            kernel linked anywhere (xv6-riscv at 0x80000000, Linux in the top 2 GiB).
#   aarch64: -mgeneral-regs-only (no FP/SIMD), -mno-outline-atomics (otherwise gcc
#            calls libgcc's __aarch64_ldadd4_acq and friends for every atomic).
# PAGE_SHIFT=12|14|16 sets MM_PAGE_SHIFT (4, 16 or 64 KiB pages): the lib goes to
# build/<arch>-page16k/ and the like, and the host must build its hooks with the same
# -DMM_PAGE_SHIFT.
MCMODEL ?= small
PAGE_SHIFT ?= 12
KARCH_x86_64  := -m64 -mno-red-zone -mgeneral-regs-only -mcmodel=$(MCMODEL)
KARCH_x86     := -m32 -mgeneral-regs-only
# RISCV_MABI=lp64d (with -march=rv64gc) for a kernel built with the double-float ABI
# (xv6-riscv, riscv64-unknown-elf-gcc's default): objects of the two ABIs do not link
# together.  The core still uses no FP register (lib-check checks both builds).
RISCV_MABI ?= lp64
RISCV_MARCH := $(if $(filter lp64,$(RISCV_MABI)),rv64imac,rv64gc)
KARCH_riscv64 := -march=$(RISCV_MARCH) -mabi=$(RISCV_MABI) -mcmodel=medany
KARCH_aarch64 := -mgeneral-regs-only -mno-outline-atomics
# Cross tools: the compiler (gcc or clang), and the binutils prefix for ld -r / objdump.
KCROSS_riscv64 := riscv64-linux-gnu-
KCROSS_aarch64 := aarch64-linux-gnu-
KCLANG_riscv64 := --target=riscv64-unknown-elf
KCLANG_aarch64 := --target=aarch64-unknown-elf
KCROSS := $(KCROSS_$(ARCH))
KCC    := $(if $(KCROSS),$(if $(filter clang,$(notdir $(CC))),$(CC) $(KCLANG_$(ARCH)),$(KCROSS)gcc),$(CC))
KLD    := $(if $(KCROSS),$(KCROSS)ld -r,$(CC) $(filter -m32 -m64,$(KARCH_$(ARCH))) -nostdlib -r)
KPAGE  := $(if $(filter-out 12,$(PAGE_SHIFT)),-DMM_PAGE_SHIFT=$(PAGE_SHIFT))
KCFLAGS := $(WARN) $(DBGFLAG) -ffreestanding -fno-builtin -nostdlib -fno-pic -fno-pie \
           -fno-stack-protector -fno-omit-frame-pointer $(KARCH_$(ARCH)) $(KPAGE)
KCFLAGS += $(if $(filter clang,$(notdir $(CC))),,-fno-tree-loop-distribute-patterns)
# -fstack-usage (both compilers) and gcc's call graph: lib-check bounds the deepest stack.
KSTACK  := -fstack-usage $(if $(filter clang,$(notdir $(CC))),,-fcallgraph-info=su)
page_dir  = $(if $(filter-out 12,$(PAGE_SHIFT)),-page$(shell echo $$((1 << ($(PAGE_SHIFT) - 10))))k)
abi_dir   = $(if $(filter riscv64,$(ARCH)),$(if $(filter-out lp64,$(RISCV_MABI)),-$(RISCV_MABI)))
lib_dir   = $(B)/$(ARCH)$(abi_dir)$(if $(filter kernel,$(MCMODEL)),-kernel)$(page_dir)$(1)
LIB_DIR  := $(call lib_dir,$(VARIANT))
LIB_OBJS := $(MM_CORE:%=$(LIB_DIR)/mm/%.o)

.PHONY: lib
lib: $(LIB_DIR)/libmm.a

$(LIB_DIR)/mm/%.o: mm/%.c mm/*.h
	@mkdir -p $(dir $@)
	$(KCC) $(KCFLAGS) $(KSTACK) -c $< -o $@

# The archive holds one object, libmm.o: the core linked with `ld -r`, so that `nm -u`
# on the archive lists exactly the hooks of mm/sys.h and nothing the members share.
$(LIB_DIR)/libmm.o: $(LIB_OBJS)
	$(KLD) -o $@ $^

$(LIB_DIR)/libmm.a: $(LIB_DIR)/libmm.o
	rm -f $@ && ar rcs $@ $^

# set-up: installs whatever is missing (QEMU, GRUB, xorriso, mtools, Check, multilib)
deps:
	@bash .ci/deps

# `make run` installs what is missing before it builds (`make test` does the same).
.PHONY: run
run: deps

-include tests/tests.mk
-include tests/sanitize.mk
-include tests/fuzz/fuzz.mk
-include tests/preload/preload.mk
-include tests/port/port.mk
-include tests/port/xv6/xv6.mk
-include tests/bench/bench.mk
-include kernel/kernel.mk

clean:
	rm -rf $(B)
