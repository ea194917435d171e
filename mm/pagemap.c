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
#include "internal.h"

struct mm_fixalloc mm_pm_nodes;

#define LEAF_MASK (((uintptr_t)1 << MM_PM_LEVEL) - 1)

#if MM_PM_BITS == 36
struct mm_pm_mid *mm_pm_root[1 << MM_PM_LEVEL];

void mm_pagemap_init(void)
{
	mm_fixalloc_init(&mm_pm_nodes, sizeof(struct mm_pm_mid));
}

/* The leaf for page pn, made (with its parent) if `make`; NULL if missing or no memory. */
static struct mm_pm_leaf *leaf_of(uintptr_t pn, int make)
{
	uintptr_t k = pn & (((uintptr_t)1 << MM_PM_BITS) - 1);
	struct mm_pm_mid **midp = &mm_pm_root[k >> (2 * MM_PM_LEVEL)];
	if (!*midp && (!make || !(*midp = mm_fixalloc_alloc(&mm_pm_nodes))))
		return 0;
	struct mm_pm_leaf **leafp = &(*midp)->leaf[(k >> MM_PM_LEVEL) & LEAF_MASK];
	if (!*leafp && make)
		*leafp = mm_fixalloc_alloc(&mm_pm_nodes);
	return *leafp;
}
#else
struct mm_pm_leaf *mm_pm_root[1 << MM_PM_LEVEL];

void mm_pagemap_init(void)
{
	mm_fixalloc_init(&mm_pm_nodes, sizeof(struct mm_pm_leaf));
}

static struct mm_pm_leaf *leaf_of(uintptr_t pn, int make)
{
	struct mm_pm_leaf **leafp = &mm_pm_root[(pn >> MM_PM_LEVEL) & LEAF_MASK];
	if (!*leafp && make)
		*leafp = mm_fixalloc_alloc(&mm_pm_nodes);
	return *leafp;
}
#endif

/* Create the nodes for pages [pn, pn+npages); -1 if out of memory. */
int mm_pagemap_ensure(uintptr_t pn, uintptr_t npages)
{
	for (uintptr_t p = pn & ~LEAF_MASK; p < pn + npages; p += LEAF_MASK + 1)
		if (!leaf_of(p, 1))
			return -1;
	return 0;
}

/* Map pages [pn, pn+npages) to s, a leaf at a time; the nodes must exist. */
void mm_pagemap_set(uintptr_t pn, uintptr_t npages, struct mm_span *s)
{
	while (npages) {
		struct mm_span **e = leaf_of(pn, 0)->span;
		uintptr_t i = pn & LEAF_MASK, n = LEAF_MASK + 1 - i;
		if (n > npages)
			n = npages;
		for (uintptr_t j = 0; j < n; j++)
			e[i + j] = s;
		pn += n;
		npages -= n;
	}
}
