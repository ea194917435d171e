/*
 * entry.S (i386) - where GRUB's multiboot loader jumps: 32-bit protected
 * mode, paging off, eax = multiboot magic, ebx = multiboot info.  Clear the
 * bss, switch to our stack and call kmain(magic, info).
 */
	.section .text.boot, "ax"
	.globl _start
_start:
	cli
	cld
	mov %eax, %esi
	mov %ebx, %ebp
	mov $_bss_start, %edi
	mov $_kernel_end, %ecx
	sub %edi, %ecx
	shr $2, %ecx
	xor %eax, %eax
	rep stosl
	mov $boot_stack_top, %esp
	push %ebp
	push %esi
	call kmain
1:	cli
	hlt
	jmp 1b

/*
 * A started CPU arrives here from boot/ap_trampoline.S: 32-bit protected
 * mode, flat segments, paging off.  The boot CPU's page directory (with
 * 4 MiB pages, and CR0.WP as paging.c sets it), then ap_main on the stack
 * smp.c put in ap_stack_top.
 */
	.globl ap_start32
ap_start32:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %ax, %fs
	mov %ax, %gs
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
2:	cli
	hlt
	jmp 2b

	.section .bss
	.align 4096
	.globl boot_stack_guard, boot_stack, boot_stack_top
boot_stack_guard:		/* left unmapped by paging.c: an overflow faults */
	.space 4096
boot_stack:
	.space 16384
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
