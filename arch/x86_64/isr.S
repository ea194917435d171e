/*
 * isr.S (x86_64) - interrupt entry stubs for vectors 0-63 (exceptions, the
 * remapped PIC IRQs, the local APIC timer, the IPI and the spurious vector):
 * arch/x86/shared.h's ISR_STUBS.  Each pushes a zero error code when the
 * CPU does not, then its vector; trap_common saves the general registers
 * and calls trap(struct trapframe *).  The frame keeps the stack 16-byte
 * aligned.
 */
#include "../x86/shared.h"

	ISR_STUBS

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

	.section .note.GNU-stack, "", @progbits
