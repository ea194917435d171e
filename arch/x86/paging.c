/*
 * paging.c (i386) - the kernel's 2-level page tables.  Physical memory
 * below IDENT_END (1 GiB) is identity-mapped: the first 4 MiB with 4 KiB
 * pages (page 0 absent, kernel text read-only: shared.c's x86_map_low),
 * the rest with 4 MiB pages.  Above that, arch_pte creates page tables on
 * demand for vm.c (shared.c's x86_next_table); they come
 * from the frame allocator, so they sit below 1 GiB and are reached through
 * the identity map.  The 4 MiB at 0xFEC00000 (I/O APIC, local APIC) are
 * one uncached identity page.  No PAE, hence no NX on i386.
 */
#include "kernel.h"
#include "x86.h"

pte_t kpgdir[1024] __attribute__((aligned(4096))); /* also the #DF task's CR3 (cpu.c) */
static pte_t kpt0[1024] __attribute__((aligned(4096)));

int arch_has_nx(void) { return 0; }

void arch_paging_init(void)
{
	x86_map_low(kpt0);
	kpgdir[0] = (uint32_t)kpt0 | PTE_P | PTE_W;
	for (uint32_t i = 1; i < IDENT_END >> 22; i++)
		kpgdir[i] = (i << 22) | PTE_P | PTE_W | PTE_PS;

	/* The I/O APIC and local APIC page, uncached (PCD | PWT). */
	kpgdir[RESERVE_HI >> 22] = RESERVE_HI | PTE_P | PTE_W | PTE_PS | 0x18u;

	write_cr4(read_cr4() | CR4_PSE);
	write_cr3((uintptr_t)kpgdir);
	write_cr0(read_cr0() | CR0_PG | CR0_WP);
}

pte_t *arch_pte(uintptr_t va, int create)
{
	pte_t *pt = x86_next_table(&kpgdir[va >> 22], create, va);
	return pt ? &pt[(va >> 12) & 1023] : NULL;
}
