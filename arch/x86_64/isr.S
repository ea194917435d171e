/*
 * isr.S (x86_64) - interrupt entry stubs for vectors 0-63 (exceptions, the
 * remapped PIC IRQs, the local APIC timer, the IPI and the spurious vector).  Each pushes a zero error code when the CPU does
 * not, then its vector, saves the general registers and calls
 * trap(struct trapframe *).  The frame keeps the stack 16-byte aligned.
 */
	.text
.macro ISR n
isr\n:
.if (\n == 8) || ((\n >= 10) && (\n <= 14)) || (\n == 17) || (\n == 21) || (\n == 29) || (\n == 30)
.else
	pushq $0
.endif
	pushq $\n
	jmp trap_common
.endm

.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63
	ISR \n
.endr

trap_common:
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	cld
	mov %rsp, %rdi
	call trap
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
	add $16, %rsp		/* vector and error code */
	iretq

	.section .rodata
	.globl isr_table
	.align 8
isr_table:
.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63
	.quad isr\n
.endr

	.section .note.GNU-stack, "", @progbits
