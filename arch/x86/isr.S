/*
 * isr.S (i386) - interrupt entry stubs for vectors 0-63 (exceptions, the
 * remapped PIC IRQs, the local APIC timer, the IPI and the spurious vector).  Each pushes a zero error code when the CPU does not,
 * then its vector, saves the registers and calls trap(struct trapframe *).
 */
	.text
.macro ISR n
isr\n:
.if (\n == 8) || ((\n >= 10) && (\n <= 14)) || (\n == 17) || (\n == 21) || (\n == 29) || (\n == 30)
.else
	push $0
.endif
	push $\n
	jmp trap_common
.endm

.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63
	ISR \n
.endr

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
1:	cli
	hlt
	jmp 1b

	.section .rodata
	.globl isr_table
	.align 4
isr_table:
.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63
	.long isr\n
.endr

	.section .note.GNU-stack, "", @progbits
