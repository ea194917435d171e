/*
 * check.c - mm_check: walk every structure and verify the invariants the
 * rest of the core relies on.  Returns 0 when all hold; otherwise the first
 * violation is described by mm_check_error().  It takes every lock, but the
 * caches of other threads are read as they are: call it when no other
 * thread is allocating, or expect spurious reports about caches.
 */
#include "internal.h"

static char why[256];
static int bad;

#define FAIL(...) do { if (!bad++) mm_format(why, sizeof why, __VA_ARGS__); return; } while (0)

struct tally {
	uintptr_t idle, released, inuse;
	uint64_t refs[MM_NUM_CLASSES_MAX], cached[MM_NUM_CLASSES_MAX];
	uintptr_t held, held_pages; /* large spans held by caches: on the busy list, on caches' lists */
};

static void check_free_span(struct mm_span *s, void *arg)
{
	struct tally *t = arg;
	if (s->state != MM_SPAN_FREE)
		FAIL("free structure holds span %p in state %d", (void *)mm_span_base(s), s->state);
	if (s->npreleased > s->npages)
		FAIL("free span %p: %u pages released of %u", (void *)mm_span_base(s), s->npreleased, s->npages);
	if (mm_pagemap_get(s->start) != s || mm_pagemap_get(s->start + s->npages - 1) != s)
		FAIL("free span %p: pagemap does not map its first and last page to it", (void *)mm_span_base(s));
	struct mm_span *l = mm_pagemap_get(s->start - 1), *r = mm_pagemap_get(s->start + s->npages);
	if ((l && l->state == MM_SPAN_FREE && l->start + l->npages == s->start) ||
	    (r && r->state == MM_SPAN_FREE && r->start == s->start + s->npages))
		FAIL("free span %p has a free neighbour: not coalesced", (void *)mm_span_base(s));
	if (s->intree != (s->npages >= MM_HEAP_LISTS))
		FAIL("free span %p of %u pages is in the wrong structure", (void *)mm_span_base(s), s->npages);
	t->idle += s->npages;
	t->released += s->npreleased;
}

/*
 * The treap's order and priorities, without recursion: mm_heap_walk_free
 * visits its spans in order (after the lists), so each must sort after the
 * one before, and neither child may outrank it.
 */
static void check_treap_node(struct mm_span *n, void *arg)
{
	const struct mm_span **prev = arg;
	if (!n->intree)
		return;
	const struct mm_span *lo = *prev;
	*prev = n;
	if (lo && !(lo->npages < n->npages || (lo->npages == n->npages && lo->start < n->start)))
		FAIL("treap out of order at span %p", (void *)mm_span_base(n));
	if ((n->left && n->left->prio > n->prio) || (n->right && n->right->prio > n->prio))
		FAIL("treap priorities broken at span %p", (void *)mm_span_base(n));
}

static void check_pages(struct mm_span *s)
{
	for (uintptr_t i = 0; i < s->npages; i++)
		if (mm_pagemap_get(s->start + i) != s)
			FAIL("span %p in use: page %u does not map to it", (void *)mm_span_base(s), i);
}

/* What a span in use holds, small or large: its pages map to it, and (MM_DEBUG)
 * its red zones are whole.  Its pages count as in use. */
static void check_in_use(struct mm_span *s, struct tally *t)
{
	check_pages(s);
#ifdef MM_DEBUG
	if (mm_debug_check_span(s, why, sizeof why) && !bad++)
		return;
#endif
	t->inuse += s->npages;
}

static void check_small(struct mm_span *s, uint32_t cl, int onempty, struct tally *t)
{
	if (s->state != MM_SPAN_SMALL || s->sizeclass != cl)
		FAIL("central %u holds span %p of state %d class %u", (uintptr_t)cl,
		     (void *)mm_span_base(s), s->state, (uintptr_t)s->sizeclass);
	if (onempty != (s->freelist == 0 && s->ncarved == s->nelems))
		FAIL("span %p is on the wrong central list", (void *)mm_span_base(s));
	if (s->ncarved > s->nelems)
		FAIL("span %p: %u objects carved of %u", (void *)mm_span_base(s), (uintptr_t)s->ncarved,
		     (uintptr_t)s->nelems);
	uintptr_t base = mm_span_base(s), n = 0;
	for (void *v = s->freelist; v; v = *(void **)v) {
		uintptr_t off = (uintptr_t)v - base;
		if ((uintptr_t)v < base || off >= (uintptr_t)s->ncarved * s->elemsize ||
		    off % s->elemsize)
			FAIL("span %p: free list holds %p, not one of its objects", (void *)base, v);
		if (++n > s->nelems)
			FAIL("span %p: free list longer than the span (a cycle?)", (void *)base);
	}
	if (s->ref + n + (s->nelems - s->ncarved) != s->nelems)
		FAIL("span %p: %u objects out + %u free + %u not carved != %u", (void *)base,
		     (uintptr_t)s->ref, n, (uintptr_t)(s->nelems - s->ncarved), (uintptr_t)s->nelems);
	uintptr_t page = mm_classmap_wrong(s, mm_class_guarded(cl) ? 0 : cl);
	if (page)
		FAIL("span %p: class map entry of page %u is wrong", (void *)base, page - 1);
	check_in_use(s, t);
	t->refs[cl] += s->ref;
}

static void check_cache(struct mm_cache *c, struct tally *t)
{
	uintptr_t synced = 0;
	for (int cl = 1; cl < mm_nclasses; cl++) {
		uint32_t n = 0, len = mm_cachelist_len(&c->list[cl]);
		for (void *v = c->list[cl].head; v != MM_LIST_END; v = *(void **)v) {
			struct mm_span *s = mm_pagemap_get((uintptr_t)v >> MM_PAGE_SHIFT);
			if (!s || s->state != MM_SPAN_SMALL || s->sizeclass != cl)
				FAIL("cache %p list %d holds %p, not an object of that class", (void *)c, cl, v);
			if (++n > len)
				FAIL("cache %p list %d longer than its count %u", (void *)c, cl, (uintptr_t)len);
		}
		if (n != len)
			FAIL("cache %p list %d: %u objects, count says %u", (void *)c, cl, (uintptr_t)n,
			     (uintptr_t)len);
		const unsigned char *a = (const void *)&c->list[cl].starts, *b = (const void *)&mm_class_starts_at[cl];
		for (size_t i = 0; i < sizeof(struct mm_starts); i++)
			if (a[i] != b[i])
				FAIL("cache %p list %d: object-start test differs from its class's", (void *)c, cl);
		if (c->list[cl].lim > c->list[cl].nmalloc + c->max[cl])
			FAIL("cache %p list %d: room past its limit (a full list would pass)",
			     (void *)c, cl);
		synced += (uintptr_t)c->synced[cl] * mm_class_size[cl];
		t->cached[cl] += n;
	}
	if (synced != c->bytes)
		FAIL("cache %p counts %u bytes, its lists as last counted hold %u", (void *)c, c->bytes,
		     synced);
	uintptr_t n = 0, pages = 0;
	for (uintptr_t k = 1; k <= MM_CACHE_LARGE_PAGES; k++)
		for (struct mm_span *s = c->large[k]; s; s = s->left) {
			if (s->state != MM_SPAN_CACHED || s->npages != k ||
			    mm_pagemap_get(s->start) != s || mm_pagemap_get(s->start + k - 1) != s)
				FAIL("cache %p: large list %u holds span %p in state %d of %u pages", (void *)c, k,
				     (void *)mm_span_base(s), s->state, s->npages);
			if (++n > c->nlarge)
				FAIL("cache %p: large lists hold more than its count %u (a cycle?)", (void *)c,
				     (uintptr_t)c->nlarge);
			pages += k;
		}
	if (n != c->nlarge || pages != c->large_pages)
		FAIL("cache %p: large lists hold %u spans of %u pages, its counts say %u and %u", (void *)c, n,
		     pages, (uintptr_t)c->nlarge, c->large_pages);
	if (pages > MM_CACHE_LARGE_BYTES >> MM_PAGE_SHIFT)
		FAIL("cache %p holds %u pages of large spans, above the limit", (void *)c, pages);
	t->held -= n;
	t->held_pages -= pages;
}

/* The kept spans: each on the list of its page count and on the age list, its pages mapped to it. */
static void check_kept(struct tally *t)
{
	uintptr_t pages = 0, aged = 0;
	for (uintptr_t k = 1; k <= MM_KEEP_PAGES; k++)
		for (struct mm_span *s = mm_span_list_first(&mm_heap.kept[k]); s != &mm_heap.kept[k]; s = s->next) {
			if (s->state != MM_SPAN_KEPT || s->npages != k || s->npreleased)
				FAIL("kept list %u holds span %p in state %d of %u pages (%u released)", k,
				     (void *)mm_span_base(s), s->state, s->npages, s->npreleased);
			check_pages(s);
			if (bad)
				return;
			if (mm_heap_idle_beside(s))
				FAIL("kept span %p has a free or kept neighbour: not coalesced", (void *)mm_span_base(s));
			pages += k;
			if (pages > mm_heap.pages_kept)
				FAIL("kept lists hold more than pages_kept %u (a cycle?)", mm_heap.pages_kept);
		}
	for (struct mm_span *s = mm_heap.kept_oldest, *older = 0; s; older = s, s = s->right) {
		if (s->state != MM_SPAN_KEPT || s->left != older)
			FAIL("kept age list broken at span %p", (void *)mm_span_base(s));
		if ((aged += s->npages) > pages)
			FAIL("kept age list holds more than the kept lists (%u pages)", pages);
		if (!s->right && s != mm_heap.kept_newest)
			FAIL("kept age list does not end at its newest span");
	}
	if (pages != mm_heap.pages_kept || aged != pages)
		FAIL("kept lists hold %u pages, the age list %u, pages_kept says %u", pages, aged,
		     mm_heap.pages_kept);
	if (pages > MM_KEEP_BYTES >> MM_PAGE_SHIFT)
		FAIL("kept spans hold %u pages, above the limit", pages);
	t->idle += pages;
}

static void check_all(struct tally *t)
{
	mm_heap_walk_free(check_free_span, t);
	if (bad)
		return;
	check_kept(t);
	if (bad)
		return;
	const struct mm_span *prev = 0;
	mm_heap_walk_free(check_treap_node, &prev);
	for (uintptr_t i = 1; i < MM_HEAP_LISTS; i++)
		if ((int)(mm_heap.nonempty[i >> 5] >> (i & 31) & 1) == mm_span_list_empty(&mm_heap.free[i]))
			FAIL("free list %u: its bit in the nonempty map is wrong", i);
	if (t->idle != mm_heap.pages_idle)
		FAIL("free spans hold %u pages, heap_idle says %u", t->idle, mm_heap.pages_idle);
	if (t->released != mm_heap.pages_released)
		FAIL("free spans have %u pages released, heap_released says %u", t->released,
		     mm_heap.pages_released);
	if (mm_heap.pages_released > mm_heap.pages_idle)
		FAIL("heap_released %u pages > heap_idle %u", mm_heap.pages_released, mm_heap.pages_idle);
	if (mm_heap.pages_sys != mm_heap.pages_inuse + mm_heap.pages_idle)
		FAIL("heap_sys %u != inuse %u + idle %u pages", mm_heap.pages_sys, mm_heap.pages_inuse,
		     mm_heap.pages_idle);
	for (struct mm_span *s = mm_span_list_first(&mm_heap.busy); s != &mm_heap.busy; s = s->next) {
		if (s->state == MM_SPAN_CACHED) { /* free, held whole by a cache: no canary to check */
			t->held++;
			t->held_pages += s->npages;
		} else if (s->state != MM_SPAN_LARGE) {
			FAIL("large list holds span %p in state %d", (void *)mm_span_base(s), s->state);
		} else if (mm_check_large(s, why, sizeof why) && !bad++) { /* every build */
			return;
		}
		check_in_use(s, t);
	}
	uintptr_t parked = 0, spare = 0;
	for (uint32_t cl = 1; cl < (uint32_t)mm_nclasses && !bad; cl++) {
		struct mm_central *c = &mm_central[cl];
		uint64_t n = 0;
		for (struct mm_span *s = mm_span_list_first(&c->nonempty); s != &c->nonempty && !bad;
		     s = s->next, n++)
			check_small(s, cl, 0, t);
		for (struct mm_span *s = mm_span_list_first(&c->empty); s != &c->empty && !bad;
		     s = s->next, n++)
			check_small(s, cl, 1, t);
		uint32_t idle = 0;
		for (struct mm_span *s = mm_span_list_first(&c->idle); s != &c->idle && !bad;
		     s = s->next, n++, idle++) {
			check_small(s, cl, 0, t);
			spare += s->npages;
			if (!bad && (s->ref != 0 || s->ncarved != 0))
				FAIL("central %u: idle span %p has %u objects out, %u carved", (uintptr_t)cl,
				     (void *)mm_span_base(s), (uintptr_t)s->ref, (uintptr_t)s->ncarved);
		}
		if (!bad && idle != c->nidle)
			FAIL("central %u: %u idle spans, count says %u", (uintptr_t)cl, (uintptr_t)idle,
			     (uintptr_t)c->nidle);
		if (!bad && n != c->nspans)
			FAIL("central %u: %u spans on its lists, count says %u", (uintptr_t)cl, (uintptr_t)n,
			     (uintptr_t)c->nspans);
		for (uint32_t i = 0; i < c->ntransfer && !bad; i++) {
			uint32_t k = 0;
			for (void *v = c->transfer[i]; v != MM_LIST_END; v = *(void **)v, k++) {
				struct mm_span *s = mm_pagemap_get((uintptr_t)v >> MM_PAGE_SHIFT);
				if (!s || s->state != MM_SPAN_SMALL || s->sizeclass != cl || k >= mm_class_batch[cl])
					FAIL("central %u: transfer batch %u holds %p, not an object of the class",
					     (uintptr_t)cl, (uintptr_t)i, v);
			}
			if (k != mm_class_batch[cl])
				FAIL("central %u: transfer batch %u has %u objects", (uintptr_t)cl, (uintptr_t)i,
				     (uintptr_t)k);
			t->cached[cl] += k;
			parked += (uintptr_t)k * mm_class_size[cl];
		}
	}
	if (!bad && parked != mm_transfer_bytes)
		FAIL("transfer slots hold %u bytes, mm_transfer_bytes says %u", parked, mm_transfer_bytes);
	if (!bad && spare != mm_spare_pages)
		FAIL("central's spares hold %u pages, mm_spare_pages says %u", spare, mm_spare_pages);
	if (bad)
		return;
	if (t->inuse > mm_heap.pages_inuse)
		FAIL("spans in use hold %u pages, heap_inuse says %u", t->inuse, mm_heap.pages_inuse);
	for (struct mm_cache *c = mm_heap.allcaches; c && !bad; c = c->next)
		check_cache(c, t);
	if (!bad && (t->held != 0 || t->held_pages != 0))
		FAIL("held large spans on the busy list and on caches' lists differ (%d spans, %d pages)",
		     (int)t->held, (int)t->held_pages);
}

/* Every object out of a span is live or in a cache; the stats add up. */
static void check_counts(struct tally *t, struct mm_stats *st)
{
	mm_read_stats_locked(st);
	for (int cl = 1; cl < mm_nclasses; cl++) {
		uint64_t live = st->by_class[cl].nmalloc - st->by_class[cl].nfree;
		if (t->refs[cl] != live + t->cached[cl])
			FAIL("class %d: %u objects out of spans != %u live + %u cached", cl,
			     (uintptr_t)t->refs[cl], (uintptr_t)live, (uintptr_t)t->cached[cl]);
	}
	if (st->heap_sys != st->heap_inuse + st->heap_idle)
		FAIL("stats: heap_sys != heap_inuse + heap_idle");
	if (st->heap_objects != st->nmalloc - st->nfree)
		FAIL("stats: heap_objects != nmalloc - nfree");
}

int mm_check(void)
{
	static struct tally t;
	static struct mm_stats st;
	bad = 0;
	why[0] = 0;
	if (mm_init_once() < 0)
		return 0;
	mm_memset(&t, 0, sizeof t);
	mm_lock_all();
	check_all(&t);
	if (!bad)
		check_counts(&t, &st);
	mm_unlock_all();
	return bad ? -1 : 0;
}

const char *mm_check_error(void)
{
	return why;
}
