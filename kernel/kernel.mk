# kernel/kernel.mk - our x86 / x86_64 kernel: build, ISO, run, tests, debug.
# Included by the root Makefile (ARCH, CC, KCFLAGS and LIB_DIR come from there).
#
#   make kernel       build/<arch>[-clang]/kernel.elf (links $(LIB_DIR)/libmm.a)
#   make iso          build/<arch>[-clang]/kernel.iso (GRUB, Multiboot 1)
#   make run          boot kernel.iso in QEMU, serial console on this terminal
#                     (KMEM=1G, KARGS="mm.trace=1" adds to the kernel command line)
#   make test-kernel  the self-tests for ARCH, gcc and clang builds (tests/kernel/run.sh)
#   make debug        QEMU halted with a gdb stub; gdb -x build/<arch>/kernel.gdb
#   make bench-kernel boot kernel.iso with "bench" and "halt" piped in; print the
#                     shell's `bench` lines (kmalloc against the liballoc-like
#                     baseline); KBENCH_N=N for `bench N`.  Fails if QEMU does not
#                     halt cleanly or the workload found an error.
#   make bench-kernel-all   bench-kernel for ARCH=x86, then ARCH=x86_64

KDIR      := $(LIB_DIR)
KOBJ      := $(KDIR)/kobj
K_CFLAGS   = $(KCFLAGS) -Ikernel -Iarch/$(ARCH) -Imm -fno-asynchronous-unwind-tables -MMD -MP
K_SRCS    := $(wildcard kernel/*.c) $(wildcard arch/$(ARCH)/*.c)
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
K_QEMU     = $(K_QEMU_$(ARCH)) -m $(KMEM) -boot d -nic none -display none -serial stdio -no-reboot \
             -device isa-debug-exit,iobase=0xf4,iosize=0x04
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
K_BENCH_TIMEOUT ?= 300
# The log keeps the whole boot; the bench lines are printed with the arch in front.
bench-kernel: iso
	@echo "bench-kernel: $(ARCH), $(notdir $(CC)) build, $(K_QEMU_$(ARCH)) (TCG: no KVM), bench$(if $(KBENCH_N), $(KBENCH_N))"
	@printf 'bench$(if $(KBENCH_N), $(KBENCH_N))\nhalt\n' | timeout $(K_BENCH_TIMEOUT) $(K_QEMU) -monitor none \
		-cdrom $(KDIR)/kernel.iso $(K_FWCFG) > $(KDIR)/bench.log 2>&1; \
	rc=$$?; tr -d '\r' < $(KDIR)/bench.log | grep -a '^bench:' | sed 's/^/$(ARCH): /'; \
	if [ $$rc -ne 33 ]; then \
		echo "bench-kernel: QEMU exit status $$rc (33 = halt, 35 = panic or exception, 0 = triple fault, 124 = timeout); log $(KDIR)/bench.log"; \
		tr -d '\r' < $(KDIR)/bench.log | tail -15; exit 1; \
	fi; \
	if grep -aq '^bench: FAILED' $(KDIR)/bench.log || ! grep -aq '^bench: libmm .* faster' $(KDIR)/bench.log; then \
		echo "bench-kernel: the workload failed or printed no result; log $(KDIR)/bench.log"; exit 1; \
	fi

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
