/*
 * isr.S (i386) - interrupt entry stubs for vectors 0-63 (exceptions, the
 * remapped PIC IRQs, the local APIC timer, the IPI and the spurious vector):
 * shared.h's ISR_STUBS.  Each pushes a zero error code when the CPU does not,
 * then its vector; trap_common saves the registers and calls
 * trap(struct trapframe *).
 */
#include "shared.h"

	ISR_STUBS

trap_common:
	pushal
	cld
	push %esp
	call trap
	add $4, %esp
	popal
	add $8, %esp		/* vector and error code */
	iret

/* The double fault task starts here on df_stack, the error code on top. */
	.globl df_task_entry
df_task_entry:
	call df_task
	HALT_FOREVER

	.section .note.GNU-stack, "", @progbits
