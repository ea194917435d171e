/*
 * paging.c (x86_64) - the kernel's 4-level page tables.  entry.S mapped
 * the first 4 GiB with 2 MiB pages (boot_pml4 -> boot_pdpt -> boot_pd).
 * Here the first 4 MiB get 4 KiB pages (page 0 absent, kernel text
 * read-only and executable, everything else NX: shared.c's x86_map_low),
 * every other 2 MiB page gets NX, and CR0.WP makes read-only hold in ring
 * 0.  arch_pte creates page tables on demand for vm.c (shared.c's
 * x86_next_table) from frames below 4 GiB, which the identity map reaches.
 */
#include "kernel.h"
#include "x86.h"

extern pte_t boot_pml4[512], boot_pdpt[512], boot_pd[4 * 512];
extern uint32_t boot_has_nx;
pte_t PTE_NX_VALUE;

static pte_t kpt_low[1024] __attribute__((aligned(4096))); /* the first 4 MiB */

int arch_has_nx(void) { return boot_has_nx != 0; }

void arch_paging_init(void)
{
	PTE_NX_VALUE = arch_has_nx() ? PTE_NXBIT : 0;
	x86_map_low(kpt_low);
	boot_pd[0] = (uintptr_t)kpt_low | PTE_P | PTE_W;
	boot_pd[1] = (uintptr_t)(kpt_low + 512) | PTE_P | PTE_W;
	for (int i = 2; i < 4 * 512; i++)
		boot_pd[i] |= PTE_NX;
	write_cr3((uintptr_t)boot_pml4); /* flush the TLB */
	write_cr0(read_cr0() | CR0_WP);
}

/* Three steps down from the PML4 (9 bits of va each), then the PTE. */
pte_t *arch_pte(uintptr_t va, int create)
{
	pte_t *t = boot_pml4;
	for (int shift = 39; t && shift > 12; shift -= 9)
		t = x86_next_table(&t[(va >> shift) & 511], create, va);
	return t ? &t[(va >> 12) & 511] : NULL;
}
