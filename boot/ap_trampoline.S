/*
 * ap_trampoline.S - where a started CPU (an AP) begins: smp.c copies the
 * bytes between ap_trampoline and ap_trampoline_end to physical 0x8000 and
 * sends STARTUP with page 8, so the AP runs them in real mode at CS=0x0800,
 * IP=0.  They load a flat GDT, turn on protected mode and far-jump to
 * ap_start32 in the kernel image (arch/<arch>/entry.S), which enables
 * paging.  Position-independent in real mode: only offsets from
 * ap_trampoline, and absolute addresses of things that stay in the kernel.
 */
	.section .rodata
	.code16
	.globl ap_trampoline, ap_trampoline_end
ap_trampoline:
	cli
	cld
	mov %cs, %ax
	mov %ax, %ds
	lgdtl (ap_gdtr - ap_trampoline)
	mov %cr0, %eax
	or $1, %eax			/* PE */
	mov %eax, %cr0
	ljmpl $0x08, $ap_start32
	.align 8
ap_gdtr:
	.word ap_gdt_end - ap_gdt - 1
	.long ap_gdt
ap_trampoline_end:

	.align 8
ap_gdt:
	.quad 0
	.quad 0x00CF9A000000FFFF	/* 0x08: 32-bit code, flat */
	.quad 0x00CF92000000FFFF	/* 0x10: data, flat */
ap_gdt_end:

	.section .note.GNU-stack, "", @progbits
