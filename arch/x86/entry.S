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

	.section .bss
	.align 4096
	.globl boot_stack_guard, boot_stack
boot_stack_guard:		/* left unmapped by paging.c: an overflow faults */
	.space 4096
boot_stack:
	.space 16384
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
