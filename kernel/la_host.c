/*
 * la_host.c - our kernel as the host of the liballoc-like baseline
 * (tests/lib/liballoc_like.c), which the shell's `bench` measures kmalloc
 * against.  Independent of libmm: its pages are frames from pmm_alloc,
 * mapped into a VA window of its own (reserved once from vm.c, then
 * managed here with a page bitmap), under the page tables' lock; unmapped
 * frames go through the TLB shootdown like the heap's.  Its lock is a
 * spinlock; a bad pointer panics.
 */
#include "kernel.h"
#include "x86.h"
#include "sys.h"
#include "liballoc_like.h"

#define WINDOW_PAGES (32 * 1024) /* 128 MiB of VA for all majors */

static uintptr_t window; /* WINDOW_PAGES pages of VA, 0 until the first call */
static uint32_t used_pages[WINDOW_PAGES / 32];
static struct spinlock la_lock;

void la_host_lock(void) { spin_lock(&la_lock); }
void la_host_unlock(void) { spin_unlock(&la_lock); }

int la_host_owns(const void *p)
{
	return window && (uintptr_t)p >= window && (uintptr_t)p < window + (uintptr_t)WINDOW_PAGES * PAGE_SIZE;
}

void la_host_bad_pointer(const char *who, const void *p, const char *why)
{
	panic("%s(%p): %s", who, p, why);
}

/* Unmap n pages (the page tables' lock held); their frames go through the
 * TLB shootdown. */
static void unmap_pages(uintptr_t va, size_t n)
{
	for (size_t i = 0; i < n; i++, va += PAGE_SIZE) {
		pte_t *pte = arch_pte(va, 0);
		if (!pte || !(*pte & PTE_P))
			continue;
		uintptr_t pa = *pte & PTE_ADDR;
		*pte = 0;
		invlpg(va);
		tlb_defer_frame(pa);
	}
	tlb_shootdown();
}

static void mark(size_t first, size_t n, int used)
{
	for (size_t i = first; i < first + n; i++) {
		if (used)
			used_pages[i / 32] |= 1u << (i % 32);
		else
			used_pages[i / 32] &= ~(1u << (i % 32));
	}
}

/* n pages of fresh memory (not zeroed), first fit in the window; NULL if none.
 * Called with la_lock held. */
void *la_host_pages(size_t n)
{
	if (!window) {
		window = (uintptr_t)mm_sys_reserve(NULL, (size_t)WINDOW_PAGES * PAGE_SIZE);
		if (!window)
			return NULL;
	}
	size_t run = 0, i;
	for (i = 0; i < WINDOW_PAGES && run < n; i++) {
		if (run == 0 && i % 32 == 0 && used_pages[i / 32] == 0xFFFFFFFFu) {
			i += 31;
			continue;
		}
		run = (used_pages[i / 32] >> (i % 32)) & 1 ? 0 : run + 1;
	}
	if (run < n)
		return NULL;
	size_t first = i - n;
	uintptr_t va = window + first * PAGE_SIZE;
	uintptr_t f = vm_lock();
	for (size_t k = 0; k < n; k++) {
		pte_t *pte = arch_pte(va + k * PAGE_SIZE, 1);
		uintptr_t pa = pte ? pmm_alloc() : 0;
		if (!pa) {
			unmap_pages(va, k);
			vm_unlock(f);
			return NULL;
		}
		*pte = pa | PTE_P | PTE_W | PTE_NX;
		invlpg(va + k * PAGE_SIZE);
	}
	vm_unlock(f);
	mark(first, n, 1);
	return (void *)va;
}

void la_host_unpages(void *p, size_t n)
{
	uintptr_t va = (uintptr_t)p, f = vm_lock();
	unmap_pages(va, n);
	vm_unlock(f);
	mark((va - window) / PAGE_SIZE, n, 0);
}
