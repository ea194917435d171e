/*
 * shared.h - what the i386 and the x86_64 kernel share.  arch/x86 holds the
 * i386 kernel and the x86 code common to both widths (this header and
 * shared.c); arch/x86_64 holds only what is 64-bit, includes this header
 * and builds shared.c too (kernel/kernel.mk).
 *
 * In C (through arch.h, after pte_t and the PTE_ bits): the interrupt
 * vectors and the local APIC, the operand of lgdt/lidt, segment descriptors
 * and the page-table steps of shared.c.  In assembler (entry.S and isr.S of
 * both): the multiboot entry, the boot stack and the interrupt stubs, as
 * macros; the same instructions assemble as 32- or 64-bit code.
 */
#ifndef ARCH_X86_SHARED_H
#define ARCH_X86_SHARED_H

/* Interrupt vectors: 32-47 the PIC's IRQs, then the local APIC's. */
#define NVECTORS        64
#define VEC_LAPIC_TIMER 48
#define VEC_IPI         49   /* TLB shootdown, work for the idle loop */
#define VEC_SPURIOUS    63

#ifndef __ASSEMBLER__

#include <stddef.h>
#include <stdint.h>

#define LAPIC_VA        0xFEE00000u /* the local APIC's registers (identity) */
#define LAPIC_HZ        1000

/* The operand of lgdt and lidt. */
struct table_ptr {
	uint16_t limit;
	uintptr_t base;
} __attribute__((packed));

static inline void lidt(const void *idt, size_t size)
{
	struct table_ptr p = { (uint16_t)(size - 1), (uintptr_t)idt };
	__asm__ volatile("lidt %0" : : "m"(p));
}

/* The stubs of isr.S, one per vector, for the IDT's gates. */
extern const uintptr_t isr_table[NVECTORS];

/* A GDT descriptor (on x86_64 the low half of a TSS's 16 bytes). */
uint64_t x86_segment(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags);

/* Fill pt[0..1023], the page tables of the first 4 MiB (kernel image below). */
void x86_map_low(pte_t *pt);

/* The table entry *e points to; made from a zeroed frame if absent and create. */
pte_t *x86_next_table(pte_t *e, int create, uintptr_t va);

#else /* __ASSEMBLER__ */

#ifdef __x86_64__
#define ASM_PTR .quad
#else
#define ASM_PTR .long
#endif

/* Multiboot's entry, in 32-bit code: interrupts off, esi = the magic,
 * ebp = the info, the bss zeroed. */
.macro MULTIBOOT_ENTRY
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
.endm

/* Load the data segment registers with selector sel. */
.macro LOAD_DATA_SEGS sel, regs:vararg
	mov $\sel, %ax
.irp r, \regs
	mov %ax, %\r
.endr
.endm

.macro HALT_FOREVER
1:	cli
	hlt
	jmp 1b
.endm

/* The boot CPU's stack, above a guard page that paging.c leaves unmapped
 * (an overflow faults, then #DF). */
.macro BOOT_STACK
	.section .bss
	.align 4096
	.globl boot_stack_guard, boot_stack, boot_stack_top
boot_stack_guard:
	.space 4096
boot_stack:
	.space 16384
boot_stack_top:
.endm

/* isr<n>: a zero where the CPU pushes no error code, then n (push is
 * 32-bit in 32-bit code, 64-bit in 64-bit code), then trap_common. */
.macro VECTOR_STUB n
isr\n:
.if !((\n == 8) || ((\n >= 10) && (\n <= 14)) || (\n == 17) || (\n == 21) || (\n == 29) || (\n == 30))
	push $0
.endif
	push $\n
	jmp trap_common
.endm

.macro VECTOR_ENTRY n
	ASM_PTR isr\n
.endm

/* m n for every vector n of the NVECTORS. */
.if NVECTORS != 64
.error "FOR_EACH_VECTOR lists 64 vectors"
.endif
.macro FOR_EACH_VECTOR m
.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63
	\m \n
.endr
.endm

/* The stubs (in .text) and isr_table, their addresses (in .rodata). */
.macro ISR_STUBS
	.text
	FOR_EACH_VECTOR VECTOR_STUB
	.pushsection .rodata
	.globl isr_table
	.balign 8
isr_table:
	FOR_EACH_VECTOR VECTOR_ENTRY
	.popsection
.endm

#endif /* __ASSEMBLER__ */

#endif
