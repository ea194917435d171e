/*
 * classmap.c - the class map: two bytes for each page of a fixed window of
 * the arena, where a cache keeps the list of the one-page small span's
 * class on that page (its byte offset in struct mm_cache; 0: none, and for
 * larger spans and the spans of guarded classes, internal.h).  free reads it, with
 * no lock and no pointer chasing, instead of walking the pagemap; pages
 * outside the window take the pagemap path.
 *
 * The map owns its reservation and its bounds: the window is fixed when
 * the arena makes its first region (mm_classmap_init), the map's address
 * space is reserved then, and it is mapped only as the arena grows inside
 * the window (mm_classmap_cover), never past what was reserved.
 * mm_classmap_bytes is how many bytes of the window the mapped part covers.
 * Written with the heap lock held, when central takes a span from the heap
 * and when it gives one back.
 */
#include "internal.h"

uint16_t *mm_classmap;
uintptr_t mm_classmap_base, mm_classmap_bytes;
static uintptr_t window; /* bytes of arena the reservation can describe */
static uintptr_t mapped; /* bytes of the map that are mapped */

/* Reserve a map for [base, base + size); without one, free uses the pagemap. */
void mm_classmap_init(uintptr_t base, uintptr_t size)
{
	uintptr_t bytes = (size >> MM_PAGE_SHIFT) * sizeof *mm_classmap;
	bytes = (bytes + MM_PAGE_SIZE - 1) & ~(MM_PAGE_SIZE - 1);
	mm_classmap = mm_sys_reserve(0, bytes);
	if (!mm_classmap)
		return;
	mm_classmap_base = base;
	window = (bytes / sizeof *mm_classmap) << MM_PAGE_SHIFT;
}

/* The arena is mapped up to end: map the part of the map that describes it. */
void mm_classmap_cover(uintptr_t end)
{
	if (!mm_classmap || end <= mm_classmap_base)
		return;
	uintptr_t cover = end - mm_classmap_base;
	if (cover > window)
		cover = window;
	uintptr_t want = (cover >> MM_PAGE_SHIFT) * sizeof *mm_classmap;
	want = (want + MM_PAGE_SIZE - 1) & ~(MM_PAGE_SIZE - 1);
	if (want <= mapped)
		return;
	if (mm_sys_map((char *)mm_classmap + mapped, want - mapped) < 0)
		return; /* it covers less: those pages take the pagemap path */
	if (mm_memory_dirty) /* 0: no small span on the page */
		mm_memset((char *)mm_classmap + mapped, 0, want - mapped);
	mm_heap.sys += want - mapped;
	mapped = want;
	mm_classmap_bytes = (mapped / sizeof *mm_classmap) << MM_PAGE_SHIFT;
}

/* Span s's first entry in the map, or NULL if it does not lie inside the map. */
static uint16_t *entries(const struct mm_span *s)
{
	uintptr_t off = mm_span_base(s) - mm_classmap_base;
	if (off >= mm_classmap_bytes || (s->npages << MM_PAGE_SHIFT) > mm_classmap_bytes - off)
		return 0;
	return mm_classmap + (off >> MM_PAGE_SHIFT);
}

_Static_assert(offsetof(struct mm_cache, list) + MM_NUM_CLASSES_MAX * sizeof(struct mm_cachelist) <= 0xffff,
	       "a list's offset fits an entry");

/* The entry for a span of class cl (0: none; spans of more pages than one are not recorded). */
static uint16_t entry(const struct mm_span *s, uint32_t cl)
{
	if (!cl || s->npages != 1)
		return 0;
	return (uint16_t)(offsetof(struct mm_cache, list) + cl * sizeof(struct mm_cachelist));
}

/* Record (cl != 0) or clear (cl == 0) small span s, if it lies inside the map. */
void mm_classmap_set(const struct mm_span *s, uint32_t cl)
{
	uint16_t *e = entries(s);
	for (uintptr_t i = 0; e && i < s->npages; i++)
		e[i] = entry(s, cl);
}

/*
 * mm_check: 0 if the map says of span s what mm_classmap_set(s, cl) wrote,
 * or nothing (a span made while that part of the map could not be mapped:
 * its frees take the pagemap path), else a wrong page + 1.
 */
uintptr_t mm_classmap_wrong(const struct mm_span *s, uint32_t cl)
{
	uint16_t *e = entries(s);
	for (uintptr_t i = 0; e && i < s->npages; i++)
		if (e[i] != entry(s, cl) && e[i] != 0) /* 0: made while the map could not be mapped */
			return i + 1;
	return 0;
}
