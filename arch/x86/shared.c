/*
 * shared.c - the x86 C code both kernels build (arch/x86_64 too: see
 * shared.h): segment descriptors, and the page-table steps that are the
 * same at either width: the first 4 MiB in 4 KiB pages, and one step of
 * arch_pte's walk.  pte_t, the PTE_ bits and PT_SPAN are arch.h's.
 */
#include "kernel.h"
#include "x86.h"

extern char boot_stack_guard[];

uint64_t x86_segment(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (limit & 0xFFFF) | ((uint64_t)(base & 0xFFFFFF) << 16) | ((uint64_t)access << 40) |
	       ((uint64_t)((limit >> 16) & 0xF) << 48) | ((uint64_t)flags << 52) | ((uint64_t)(base >> 24) << 56);
}

/* Page 0 and the boot stack's guard page absent, kernel text read-only
 * (and executable), everything else writable (and NX where there is NX). */
void x86_map_low(pte_t *pt)
{
	uintptr_t text_end = (uintptr_t)_text_end;

	if ((uintptr_t)_kernel_end > 4 * MiB)
		panic("paging: kernel image ends at %p, past the 4 MiB mapped with small pages",
		      (void *)_kernel_end);
	for (uintptr_t i = 1; i < 1024; i++) {
		uintptr_t pa = i * PAGE_SIZE;
		int text = pa >= (uintptr_t)_kernel_start && pa < text_end;
		if (pa == (uintptr_t)boot_stack_guard)
			continue; /* absent: a stack overflow faults (then #DF) */
		pt[i] = pa | PTE_P | (text ? 0 : PTE_W | PTE_NX);
	}
}

pte_t *x86_next_table(pte_t *e, int create, uintptr_t va)
{
	if (!(*e & PTE_P)) {
		if (!create)
			return NULL;
		uintptr_t pa = pmm_alloc();
		if (!pa)
			return NULL;
		page_zero((void *)pa);
		*e = pa | PTE_P | PTE_W;
	}
	if (*e & PTE_PS)
		panic("arch_pte: %p lies in a %u MiB identity page", (void *)va, (unsigned)(PT_SPAN / MiB));
	return (pte_t *)(uintptr_t)(*e & PTE_ADDR);
}
