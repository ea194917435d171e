/*
 * entry.S (x86_64) - GRUB's multiboot loader jumps here in 32-bit protected
 * mode with paging off (eax = magic, ebx = info).  We clear the bss, check
 * CPUID for long mode (and NX), identity-map the first 4 GiB with 2 MiB
 * pages, then enter_long_mode (the started CPUs' way in too): PAE,
 * EFER.LME (and EFER.NXE when the CPU has NX), paging, a 64-bit GDT and a
 * far jump into 64-bit code, which goes on where edi says; for the boot CPU
 * that calls kmain(magic, info).  arch/x86_64/paging.c refines the map
 * later (4 KiB pages for the kernel image, NX on everything that is not
 * text).  The macros are arch/x86/shared.h's (the i386 entry.S uses them).
 */
#include "../x86/shared.h"

#define COM1       0x3f8
#define EXIT_PORT  0xf4
#define EXIT_FAIL  0x11
#define EFER       0xC0000080

/* count 8-byte entries at table (below 4 GiB): first, first + step, ... */
.macro FILL_TABLE table, first, step, count
	mov $\first, %eax
	mov $\table, %edi
	mov $\count, %ecx
1:	mov %eax, (%edi)
	add $\step, %eax
	add $8, %edi
	loop 1b
.endm

	.section .text.boot, "ax"
	.code32
	.globl _start
_start:
	MULTIBOOT_ENTRY
	mov %esi, boot_magic		/* multiboot magic */
	mov %ebp, boot_info		/* multiboot info */
	mov $boot_stack_top, %esp

	/* Long mode?  CPUID 0x80000001 EDX bit 29; NX is bit 20. */
	mov $0x80000000, %eax
	cpuid
	cmp $0x80000001, %eax
	jb no_long_mode
	mov $0x80000001, %eax
	cpuid
	bt $29, %edx
	jnc no_long_mode
	xor %eax, %eax
	bt $20, %edx
	adc $0, %eax
	mov %eax, boot_has_nx

	/* pml4[0] -> pdpt; pdpt[0..3] -> pd[0..3]; pd: 2048 2 MiB pages */
	FILL_TABLE boot_pml4, boot_pdpt+3, 0, 1
	FILL_TABLE boot_pdpt, boot_pd+3, 4096, 4
	FILL_TABLE boot_pd, 0x83, 0x200000, 2048	/* present, writable, 2 MiB */

	mov $bsp_long_mode, %edi
	jmp enter_long_mode

/*
 * A started CPU arrives here from boot/ap_trampoline.S: 32-bit protected
 * mode, flat segments, paging off.  The boot CPU's page tables (paging.c
 * refined them), long mode as for the boot CPU, then ap_main on the stack
 * smp.c put in ap_stack_top.
 */
	.globl ap_start32
ap_start32:
	LOAD_DATA_SEGS 0x10, ds, es, ss
	mov $ap_long_mode, %edi

/* Both CPUs' way into long mode; edi: the 64-bit code to go on at.  CR0.WP
 * at once (the boot CPU's first page tables map everything writable). */
enter_long_mode:
	mov %cr4, %eax
	or $(1 << 5), %eax		/* PAE */
	mov %eax, %cr4
	mov $boot_pml4, %eax
	mov %eax, %cr3
	mov $EFER, %ecx
	rdmsr
	or $(1 << 8), %eax		/* LME */
	cmpl $0, boot_has_nx
	je 3f
	or $(1 << 11), %eax		/* NXE */
3:	wrmsr
	mov %cr0, %eax
	or $0x80010001, %eax		/* PG, WP, PE */
	mov %eax, %cr0
	lgdt gdt64_ptr
	ljmp $0x08, $long_mode

no_long_mode:
	mov $no_long_msg, %esi
	mov $0xb8000, %edi
4:	lodsb
	test %al, %al
	jz 5f
	mov $COM1, %dx
	out %al, %dx
	movb %al, (%edi)
	movb $0x4f, 1(%edi)
	add $2, %edi
	jmp 4b
5:	mov $EXIT_FAIL, %eax
	mov $EXIT_PORT, %dx
	out %eax, %dx
6:	hlt
	jmp 6b

	.code64
long_mode:
	LOAD_DATA_SEGS 0x10, ds, es, ss
	LOAD_DATA_SEGS 0, fs, gs
	mov %edi, %edi			/* zero-extended: the upper halves are undefined */
	jmp *%rdi

bsp_long_mode:
	mov $boot_stack_top, %rsp
	mov boot_magic(%rip), %edi
	mov boot_info(%rip), %esi
	call kmain
	HALT_FOREVER

ap_long_mode:
	mov ap_stack_top(%rip), %rsp
	call ap_main
	HALT_FOREVER

	.section .rodata
no_long_msg:
	.asciz "libmm: this CPU has no long mode (CPUID 0x80000001 EDX bit 29); use qemu-system-x86_64\r\n"
	.align 8
gdt64:
	.quad 0
	.quad 0x00AF9A000000FFFF	/* 0x08: 64-bit code */
	.quad 0x00CF92000000FFFF	/* 0x10: data */
gdt64_ptr:
	.word gdt64_ptr - gdt64 - 1
	.long gdt64

	.section .data
	.align 4
boot_magic:	.long 0
boot_info:	.long 0
	.globl boot_has_nx
boot_has_nx:	.long 0

	.section .bss
	.align 4096
	.globl boot_pml4, boot_pdpt, boot_pd
boot_pml4:	.space 4096
boot_pdpt:	.space 4096
boot_pd:	.space 4 * 4096

	BOOT_STACK

	.section .note.GNU-stack, "", @progbits
