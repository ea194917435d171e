/*
 * paging.c (x86_64) - the kernel's 4-level page tables.  entry.S mapped
 * the first 4 GiB with 2 MiB pages (boot_pml4 -> boot_pdpt -> boot_pd).
 * Here the first 4 MiB get 4 KiB pages (page 0 absent, kernel text
 * read-only and executable, everything else NX), every other 2 MiB page
 * gets NX, and CR0.WP makes read-only hold in ring 0.  arch_pte creates
 * page tables on demand for vm.c from frames below 4 GiB, which the
 * identity map reaches.
 */
#include "kernel.h"
#include "x86.h"

extern char boot_stack_guard[];

extern pte_t boot_pml4[512], boot_pdpt[512], boot_pd[4 * 512];
extern uint32_t boot_has_nx;
pte_t PTE_NX_VALUE;

static pte_t kpt_low[2][512] __attribute__((aligned(4096)));

int arch_has_nx(void) { return boot_has_nx != 0; }

void arch_paging_init(void)
{
	uintptr_t text_end = (uintptr_t)_text_end;

	PTE_NX_VALUE = arch_has_nx() ? PTE_NXBIT : 0;
	if ((uintptr_t)_kernel_end > 4 * MiB)
		panic("paging: kernel image ends at %p, past the 4 MiB mapped with small pages",
		      (void *)_kernel_end);
	for (uint64_t i = 1; i < 1024; i++) {
		uint64_t pa = i * PAGE_SIZE;
		int text = pa >= (uintptr_t)_kernel_start && pa < text_end;
		if (pa == (uintptr_t)boot_stack_guard)
			continue; /* absent: a stack overflow faults (then #DF) */
		kpt_low[i / 512][i % 512] = pa | PTE_P | (text ? 0 : PTE_W | PTE_NX);
	}
	boot_pd[0] = (uintptr_t)kpt_low[0] | PTE_P | PTE_W;
	boot_pd[1] = (uintptr_t)kpt_low[1] | PTE_P | PTE_W;
	for (int i = 2; i < 4 * 512; i++)
		boot_pd[i] |= PTE_NX;
	write_cr3((uintptr_t)boot_pml4); /* flush the TLB */
	write_cr0(read_cr0() | CR0_WP);
}

/* The table that entry *e points to, creating it when create. */
static pte_t *next_level(pte_t *e, int create, uintptr_t va)
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
		panic("arch_pte: %p lies in a 2 MiB identity page", (void *)va);
	return (pte_t *)(uintptr_t)(*e & PTE_ADDR);
}

pte_t *arch_pte(uintptr_t va, int create)
{
	pte_t *pdpt = next_level(&boot_pml4[(va >> 39) & 511], create, va);
	if (!pdpt)
		return NULL;
	pte_t *pd = next_level(&pdpt[(va >> 30) & 511], create, va);
	if (!pd)
		return NULL;
	pte_t *pt = next_level(&pd[(va >> 21) & 511], create, va);
	if (!pt)
		return NULL;
	return &pt[(va >> 12) & 511];
}
