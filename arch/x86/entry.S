/*
 * entry.S (i386) - where GRUB's multiboot loader jumps: 32-bit protected
 * mode, paging off, eax = multiboot magic, ebx = multiboot info.  Clear the
 * bss, switch to our stack and call kmain(magic, info).  The macros are
 * shared.h's (the x86_64 entry.S uses them too).
 */
#include "shared.h"

	.section .text.boot, "ax"
	.globl _start
_start:
	MULTIBOOT_ENTRY
	mov $boot_stack_top, %esp
	push %ebp
	push %esi
	call kmain
	HALT_FOREVER

/*
 * A started CPU arrives here from boot/ap_trampoline.S: 32-bit protected
 * mode, flat segments, paging off.  The boot CPU's page directory (with
 * 4 MiB pages, and CR0.WP as paging.c sets it), then ap_main on the stack
 * smp.c put in ap_stack_top.
 */
	.globl ap_start32
ap_start32:
	LOAD_DATA_SEGS 0x10, ds, es, ss, fs, gs
	mov %cr4, %eax
	or $0x10, %eax			/* PSE */
	mov %eax, %cr4
	mov $kpgdir, %eax
	mov %eax, %cr3
	mov %cr0, %eax
	or $0x80010000, %eax		/* PG, WP */
	mov %eax, %cr0
	mov ap_stack_top, %esp
	call ap_main
	HALT_FOREVER

	BOOT_STACK

	.section .note.GNU-stack, "", @progbits
