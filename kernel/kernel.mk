# kernel/kernel.mk - our x86 / x86_64 kernel: build, ISO, run, tests, debug.
# Included by the root Makefile (ARCH, CC, KCFLAGS and LIB_DIR come from there).
#
#   make kernel       build/<arch>[-clang]/kernel.elf (links $(KDIR)/libmm-kernel.a: the core
#                     compiled with the inline cache hooks of kernel/kcache.h)
#   make iso          build/<arch>[-clang]/kernel.iso (GRUB, Multiboot 1)
#   make run          boot kernel.iso in QEMU, serial console on this terminal
#                     (KMEM=1G, SMP=2 CPUs, KARGS="mm.trace=1" adds to the kernel
#                     command line; QEMU runs each CPU on its own thread)
#   make test-kernel  the self-tests for ARCH, gcc and clang builds (tests/kernel/run.sh)
#   make debug        QEMU halted with a gdb stub; gdb -x build/<arch>/kernel.gdb
#   make bench-kernel boot kernel.iso with "bench" and "halt" piped in; print the
#                     shell's `bench` lines (kmalloc against the liballoc-like
#                     baseline); KBENCH_N=N for `bench N`.  Fails if QEMU does not
#                     halt cleanly or the workload found an error.  SMP=4 by
#                     default here (the 1, 2 and 4 CPU throughput line).
#                     KICOUNT=1: a second boot under -icount shift=0 (guest time
#                     counts instructions: deterministic, immune to host load),
#                     and a table of both ratios (liballoc-like / libmm) per phase.
#   make bench-kernel-all   bench-kernel for ARCH=x86, then ARCH=x86_64

KDIR      := $(LIB_DIR)
KOBJ      := $(KDIR)/kobj
K_CFLAGS   = $(KCFLAGS) -Ikernel -Iarch/$(ARCH) -Imm -Itests/lib -fno-asynchronous-unwind-tables -MMD -MP
# tests/lib: the test tools shared with the hosted builds (one copy each).
# arch/x86: the i386 kernel and the x86 code both widths share (shared.h, which
# the x86_64 files include, and shared.c); arch/x86_64: only what is 64-bit.
K_ARCH_SRCS_x86    := $(wildcard arch/x86/*.c)
K_ARCH_SRCS_x86_64 := $(wildcard arch/x86_64/*.c) arch/x86/shared.c
K_SRCS    := $(wildcard kernel/*.c) $(K_ARCH_SRCS_$(ARCH)) tests/lib/stress.c tests/lib/workload.c tests/lib/liballoc_like.c
K_ASRCS   := boot/multiboot.S boot/ap_trampoline.S $(wildcard arch/$(ARCH)/*.S)
K_OBJS    := $(K_SRCS:%.c=$(KOBJ)/%.o) $(K_ASRCS:%.S=$(KOBJ)/%.o)

K_LDEMU_x86    := elf_i386
K_LDEMU_x86_64 := elf_x86_64
K_QEMU_x86     := qemu-system-i386
K_QEMU_x86_64  := qemu-system-x86_64
# i386: 64-bit division in C becomes __udivdi3 and friends; take them from gcc's libgcc
# (clang on Debian has no i386 runtime of its own, and gcc's works for both).
K_LIBGCC_x86    = $(shell gcc -m32 -print-libgcc-file-name)
K_LIBGCC_x86_64 =

KMEM      ?= 1G
KARGS     ?=
SMP       ?= 2
# cores=1: one CPU per socket, so that even SeaBIOS's MP table would list them all
# (our kernel reads the ACPI MADT, which lists them either way).
K_ACCEL    = -accel tcg,thread=multi
K_ICOUNT   = -accel tcg,thread=single -icount shift=0
K_QEMU_BASE = $(K_QEMU_$(ARCH)) -m $(KMEM) -smp cpus=$(SMP),cores=1 -boot d -nic none -display none \
             -serial stdio -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04
K_QEMU     = $(K_QEMU_BASE) $(K_ACCEL)
K_GRUB_MODULES := multiboot normal iso9660 biosdisk
K_COMMA   := ,
# Extra kernel command line through QEMU fw_cfg (kernel/fwcfg.c reads it), no ISO rebuild.
K_FWCFG    = $(if $(KARGS),-fw_cfg "name=opt/libmm/cmdline$(K_COMMA)string=$(KARGS)")

.PHONY: kernel iso iso-test run test-kernel debug kernel-check-arch bench-kernel bench-kernel-all

kernel-check-arch:
	@case "$(ARCH)" in x86|x86_64) ;; *) echo "ARCH must be x86 or x86_64 (got $(ARCH))"; exit 1;; esac

kernel: kernel-check-arch $(KDIR)/kernel.elf
iso: kernel-check-arch $(KDIR)/kernel.iso
iso-test: kernel-check-arch $(KDIR)/kernel-test.iso

$(KOBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(K_CFLAGS) -c $< -o $@

$(KOBJ)/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(K_CFLAGS) -c $< -o $@

# The kernel's copy of the core: the same mm/ sources and flags as `make lib`, plus
# MM_SYS_INLINE="kcache.h", so the cache hooks are inline on the kmalloc fast path.
K_MM_OBJS := $(MM_CORE:%=$(KOBJ)/mm-inline/%.o)
$(KOBJ)/mm-inline/%.o: mm/%.c mm/*.h kernel/kcache.h
	@mkdir -p $(dir $@)
	$(CC) $(KCFLAGS) -Ikernel -DMM_SYS_INLINE='"kcache.h"' -c $< -o $@

$(KDIR)/libmm-kernel.a: $(K_MM_OBJS)
	rm -f $@ && ar rcs $@ $^



$(KDIR)/kernel.elf: $(K_OBJS) $(KDIR)/libmm-kernel.a linker.ld
	ld -m $(K_LDEMU_$(ARCH)) -T linker.ld -nostdlib -z max-page-size=0x1000 -z noexecstack \
		-o $@ $(K_OBJS) $(KDIR)/libmm-kernel.a $(K_LIBGCC_$(ARCH))

# $(call k_mkiso,iso,cmdline): a GRUB rescue ISO (BIOS) with the kernel and a grub.cfg.
define k_mkiso
	rm -rf $(1).d && mkdir -p $(1).d/boot/grub
	cp $(KDIR)/kernel.elf $(1).d/boot/kernel.elf
	sed 's|@CMDLINE@|$(2)|' boot/grub.cfg.in > $(1).d/boot/grub/grub.cfg
	grub-mkrescue -o $(1) $(1).d --install-modules="$(K_GRUB_MODULES)" \
		--locales= --fonts= --themes= > $(1).log 2>&1 || { cat $(1).log; exit 1; }
endef

$(KDIR)/kernel.iso: $(KDIR)/kernel.elf boot/grub.cfg.in
	$(call k_mkiso,$@,)

$(KDIR)/kernel-test.iso: $(KDIR)/kernel.elf boot/grub.cfg.in
	$(call k_mkiso,$@,mode=test)

# Exit status 33 is the kernel's `halt` (isa-debug-exit code 0x10); anything else is a failure.
run: iso
	@$(K_QEMU) -cdrom $(KDIR)/kernel.iso $(K_FWCFG); \
	rc=$$?; [ $$rc -eq 33 ] && exit 0; \
	echo "run: QEMU exit status $$rc (33 = halt, 35 = panic or exception, 0 = triple fault)"; exit 1

KBENCH_N  ?=
KICOUNT   ?= 0
K_BENCH_TIMEOUT ?= 300
# $(call k_bench,log,accel options,mode): one boot running `bench`, its bench lines
# printed with the arch (and the mode) in front; fails unless it halted cleanly with
# a result and no FAILED line.
define k_bench
	@printf 'bench$(if $(KBENCH_N), $(KBENCH_N))\nhalt\n' | timeout $(K_BENCH_TIMEOUT) $(K_QEMU_BASE) $(2) -monitor none \
		-cdrom $(KDIR)/kernel.iso $(K_FWCFG) > $(1) 2>&1; \
	rc=$$?; tr -d '\r' < $(1) | grep -a '^bench:' | sed 's/^/$(ARCH)$(3): /'; \
	if [ $$rc -ne 33 ]; then \
		echo "bench-kernel: QEMU exit status $$rc (33 = halt, 35 = panic or exception, 0 = triple fault, 124 = timeout); log $(1)"; \
		tr -d '\r' < $(1) | tail -15; exit 1; \
	fi; \
	if grep -aq '^bench: FAILED' $(1) || ! grep -aq '^bench: libmm .* faster' $(1); then \
		echo "bench-kernel: the workload failed or printed no result; log $(1)"; exit 1; \
	fi
endef

# The kernel prints "bench: ratios small R mixed R compiler R total R"; KICOUNT=1 puts
# the wall-clock and the instruction-count figures side by side.
bench-kernel: SMP = 4
bench-kernel: iso
	@echo "bench-kernel: $(ARCH), $(notdir $(CC)) build, $(K_QEMU_$(ARCH)) (TCG: no KVM), $(SMP) CPUs, bench$(if $(KBENCH_N), $(KBENCH_N))"
	$(call k_bench,$(KDIR)/bench.log,$(K_ACCEL),)
ifeq ($(KICOUNT),1)
	$(call k_bench,$(KDIR)/bench-icount.log,$(K_ICOUNT), icount)
	@w=$$(tr -d '\r' < $(KDIR)/bench.log | grep -a '^bench: ratios'); \
	i=$$(tr -d '\r' < $(KDIR)/bench-icount.log | grep -a '^bench: ratios'); \
	echo "$(ARCH): liballoc-like / libmm per phase    wall-clock    instruction count (-icount shift=0)"; \
	for ph in small mixed compiler total; do \
		printf '$(ARCH):   %-10s %31sx %15sx\n' $$ph \
			"$$(echo "$$w" | sed -n "s/.* $$ph \([0-9.]*\).*/\1/p")" \
			"$$(echo "$$i" | sed -n "s/.* $$ph \([0-9.]*\).*/\1/p")"; \
	done
endif

bench-kernel-all:
	@$(MAKE) --no-print-directory bench-kernel ARCH=x86
	@$(MAKE) --no-print-directory bench-kernel ARCH=x86_64

test-kernel: kernel-check-arch
	@bash tests/kernel/run.sh $(ARCH)

debug: iso
	@printf '%s\n' "file $(KDIR)/kernel.elf" "target remote localhost:1234" \
		$(if $(filter x86_64,$(ARCH)),"set architecture i386:x86-64") \
		"hbreak kmain" "continue" > $(KDIR)/kernel.gdb
	@echo "debug: QEMU is halted with a gdb stub on :1234; in another terminal: gdb -x $(KDIR)/kernel.gdb"
	$(K_QEMU) -cdrom $(KDIR)/kernel.iso $(K_FWCFG) -s -S

-include $(K_OBJS:.o=.d)
