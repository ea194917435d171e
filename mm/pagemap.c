/*
 * pagemap.c - the radix tree from page number to span.
 *
 * 64-bit: three levels (a root, middle nodes and leaves of 4096 entries)
 * cover 48-bit addresses (the page number is taken modulo 2^MM_PM_BITS,
 * which keeps the upper and lower canonical halves of x86_64 apart); 32-bit:
 * two levels cover 4 GiB.  The root's size follows MM_PAGE_SHIFT (internal.h).
 * The root is static; the other nodes come from fixalloc, only where the
 * heap has pages, so arenas need not be contiguous.  Lookups take no lock:
 * nodes are created before any span is published through them and never freed.
 *
 * Invariant (kept by heap.c): every page of a span in use maps to it; a
 * free span maps its first and last pages; other entries may be stale.
 */
#include "internal.h"

struct mm_fixalloc mm_pm_nodes;

#define LEAF_MASK (((uintptr_t)1 << MM_PM_LEVEL) - 1)

#if UINTPTR_MAX > 0xffffffffu
struct mm_pm_mid *mm_pm_root[MM_PM_ROOT];

void mm_pagemap_init(void)
{
	mm_fixalloc_init(&mm_pm_nodes, sizeof(struct mm_pm_mid));
}

static struct mm_pm_mid **mid_slot(uintptr_t pn)
{
	return &mm_pm_root[(pn & (((uintptr_t)1 << MM_PM_BITS) - 1)) >> (2 * MM_PM_LEVEL)];
}

/* Where the leaf pointer for page pn lives; its middle node must exist. */
static struct mm_pm_leaf **leaf_slot(uintptr_t pn)
{
	return &(*mid_slot(pn))->leaf[(pn >> MM_PM_LEVEL) & LEAF_MASK];
}

/* Make the middle node above page pn; -1 if out of memory. */
static int make_mid(uintptr_t pn)
{
	struct mm_pm_mid **midp = mid_slot(pn);
	if (!*midp)
		*midp = mm_fixalloc_alloc(&mm_pm_nodes);
	return *midp ? 0 : -1;
}
#else
struct mm_pm_leaf *mm_pm_root[MM_PM_ROOT];

void mm_pagemap_init(void)
{
	mm_fixalloc_init(&mm_pm_nodes, sizeof(struct mm_pm_leaf));
}

static struct mm_pm_leaf **leaf_slot(uintptr_t pn)
{
	return &mm_pm_root[(pn >> MM_PM_LEVEL) & (MM_PM_ROOT - 1)];
}

static int make_mid(uintptr_t pn)
{
	(void)pn;
	return 0; /* two levels: the root is static */
}
#endif

/*
 * The leaf for page pn, made (with its parent) if missing; NULL if out of
 * memory.  Setting entries (mm_pagemap_set) only looks nodes up: no path
 * that allocates a record can call back into fixalloc through the pagemap.
 */
static struct mm_pm_leaf *leaf_make(uintptr_t pn)
{
	if (make_mid(pn) < 0)
		return 0;
	struct mm_pm_leaf **leafp = leaf_slot(pn);
	if (!*leafp)
		*leafp = mm_fixalloc_alloc(&mm_pm_nodes);
	return *leafp;
}

/* Create the nodes for pages [pn, pn+npages); -1 if out of memory. */
int mm_pagemap_ensure(uintptr_t pn, uintptr_t npages)
{
	for (uintptr_t p = pn & ~LEAF_MASK; p < pn + npages; p += LEAF_MASK + 1)
		if (!leaf_make(p))
			return -1;
	return 0;
}

/* Map pages [pn, pn+npages) to s, a leaf at a time; the nodes must exist. */
void mm_pagemap_set(uintptr_t pn, uintptr_t npages, struct mm_span *s)
{
	if (npages == 1) { /* a free span's ends: most calls */
		(*leaf_slot(pn))->span[pn & LEAF_MASK] = s;
		return;
	}
	while (npages) {
		struct mm_span **e = (*leaf_slot(pn))->span;
		uintptr_t i = pn & LEAF_MASK, n = LEAF_MASK + 1 - i;
		if (n > npages)
			n = npages;
		for (uintptr_t j = 0; j < n; j++)
			e[i + j] = s;
		pn += n;
		npages -= n;
	}
}
