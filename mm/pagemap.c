/*
 * pagemap.c - the radix tree from page number to span.
 *
 * 64-bit: three levels of 4096 entries cover 48-bit addresses (the page
 * number is taken modulo 2^36, which keeps the upper and lower canonical
 * halves apart); 32-bit: two levels of 1024 entries cover 4 GiB.  The root
 * is static; the other nodes come from fixalloc, only where the heap has
 * pages, so arenas need not be contiguous.  Lookups take no lock: nodes are
 * created before any span is published through them and never freed.
 *
 * Invariant (kept by heap.c): every page of a span in use maps to it; a
 * free span maps its first and last pages; other entries may be stale.
 */
#include "malloc.h"

struct mm_fixalloc mm_pm_nodes;

#if MM_PM_BITS == 36
struct mm_pm_mid *mm_pm_root[1 << MM_PM_LEVEL];

void mm_pagemap_init(void)
{
	mm_fixalloc_init(&mm_pm_nodes, sizeof(struct mm_pm_mid));
}

/* Create the nodes for pages [pn, pn+npages); -1 if out of memory. */
int mm_pagemap_ensure(uintptr_t pn, uintptr_t npages)
{
	const uintptr_t mask = ((uintptr_t)1 << MM_PM_LEVEL) - 1;
	uintptr_t end = pn + npages;
	for (uintptr_t p = pn & ~mask; p < end; p += mask + 1) {
		uintptr_t k = p & (((uintptr_t)1 << MM_PM_BITS) - 1);
		struct mm_pm_mid **midp = &mm_pm_root[k >> (2 * MM_PM_LEVEL)];
		if (!*midp && !(*midp = mm_fixalloc_alloc(&mm_pm_nodes)))
			return -1;
		struct mm_pm_leaf **leafp = &(*midp)->leaf[(k >> MM_PM_LEVEL) & mask];
		if (!*leafp && !(*leafp = mm_fixalloc_alloc(&mm_pm_nodes)))
			return -1;
	}
	return 0;
}

/* Map pages [pn, pn+npages) to s, a leaf at a time; the nodes must exist. */
void mm_pagemap_set(uintptr_t pn, uintptr_t npages, struct mm_span *s)
{
	const uintptr_t mask = ((uintptr_t)1 << MM_PM_LEVEL) - 1;
	while (npages) {
		uintptr_t k = pn & (((uintptr_t)1 << MM_PM_BITS) - 1);
		struct mm_span **e = mm_pm_root[k >> (2 * MM_PM_LEVEL)]->leaf[(k >> MM_PM_LEVEL) & mask]->span;
		uintptr_t i = k & mask, n = mask + 1 - i;
		if (n > npages)
			n = npages;
		for (uintptr_t j = 0; j < n; j++)
			e[i + j] = s;
		pn += n;
		npages -= n;
	}
}
#else
struct mm_pm_leaf *mm_pm_root[1 << MM_PM_LEVEL];

void mm_pagemap_init(void)
{
	mm_fixalloc_init(&mm_pm_nodes, sizeof(struct mm_pm_leaf));
}

int mm_pagemap_ensure(uintptr_t pn, uintptr_t npages)
{
	const uintptr_t mask = ((uintptr_t)1 << MM_PM_LEVEL) - 1;
	uintptr_t end = pn + npages;
	for (uintptr_t p = pn & ~mask; p < end; p += mask + 1) {
		struct mm_pm_leaf **leafp = &mm_pm_root[(p >> MM_PM_LEVEL) & mask];
		if (!*leafp && !(*leafp = mm_fixalloc_alloc(&mm_pm_nodes)))
			return -1;
	}
	return 0;
}

void mm_pagemap_set(uintptr_t pn, uintptr_t npages, struct mm_span *s)
{
	const uintptr_t mask = ((uintptr_t)1 << MM_PM_LEVEL) - 1;
	while (npages) {
		struct mm_span **e = mm_pm_root[(pn >> MM_PM_LEVEL) & mask]->span;
		uintptr_t i = pn & mask, n = mask + 1 - i;
		if (n > npages)
			n = npages;
		for (uintptr_t j = 0; j < n; j++)
			e[i + j] = s;
		pn += n;
		npages -= n;
	}
}
#endif
