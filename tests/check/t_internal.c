/*
 * t_internal.c - tests that look inside through mm/internal.h: the size-class
 * lookup tables against the class sizes, batch sizes, the pagemap radix tree
 * across its levels and for ranges far apart, central's span counts
 * after a thread's cache has gone back, and the start-up footprint (the
 * list heads of classes and page counts never used stay untouched).
 */
#include <pthread.h>

#include "testutil.h"
#include "internal.h"

START_TEST(size_class_lookup_gives_the_smallest_fitting_class_for_every_size)
{
	mm_free(mm_malloc(1)); /* initialised */
	ck_assert_int_le(mm_nclasses, MM_NUM_CLASSES_MAX);
	for (size_t n = 1; n <= MM_MAX_SMALL; n++) {
		uint32_t c = mm_size_class(n);
		REQUIRE(c >= 1 && c < (uint32_t)mm_nclasses, "size %zu -> class %u", n, c);
		REQUIRE(mm_class_size[c] >= n, "size %zu -> class %u of %u B", n, c, mm_class_size[c]);
		REQUIRE(c == 1 || mm_class_size[c - 1] < n,
			      "size %zu -> class %u (%u B), but class %u (%u B) fits", n, c,
			      mm_class_size[c], c - 1, mm_class_size[c - 1]);
	}
}
END_TEST

START_TEST(batch_is_64_kib_of_objects_2_to_32_or_8_kib_of_tiny_ones_up_to_128)
{
	mm_free(mm_malloc(1));
	for (int c = 1; c < mm_nclasses; c++) {
		uint32_t b = 65536 / mm_class_size[c], tiny = 8192 / mm_class_size[c];
		b = b < 2 ? 2 : b > 32 ? 32 : b;
		if (tiny > b)
			b = tiny > 128 ? 128 : tiny;
		REQUIRE(mm_class_batch[c] == b, "class %d (%u B): batch %u, want %u", c,
			      mm_class_size[c], mm_class_batch[c], b);
	}
}
END_TEST

/* Object index by multiplication equals the division, for every object of every class. */
START_TEST(object_index_by_multiply_matches_division)
{
	mm_free(mm_malloc(1));
	for (int c = 1; c < mm_nclasses; c++) {
		uint32_t size = mm_class_size[c];
		uint32_t n = (uint32_t)(mm_class_npages[c] * MM_PAGE_SIZE / size);
		struct mm_span s = {0};
		s.divmul = mm_class_divmul[c];
		for (uint32_t i = 0; i < n; i++)
			REQUIRE(mm_span_index(&s, (uintptr_t)i * size) == i,
				      "class %d: object %u maps to index %u", c, i,
				      mm_span_index(&s, (uintptr_t)i * size));
	}
}
END_TEST

/* Map [pn, pn+n) to s in the real pagemap (nodes made as the heap would). */
static void pm_map(uintptr_t pn, uintptr_t n, struct mm_span *s)
{
	mm_sys_lock(&mm_heap.lock);
	int r = mm_pagemap_ensure(pn, n);
	if (r == 0)
		mm_pagemap_set(pn, n, s);
	mm_sys_unlock(&mm_heap.lock);
	REQUIRE(r == 0, "pagemap_ensure(%#lx, %lu) failed", (unsigned long)pn, (unsigned long)n);
}

/*
 * These tests write records of their own into the real pagemap, so they
 * keep to pages the heap can never use: outside the arena's window (2 GiB
 * from arena_start with the 32-bit policy, the reservation with 64).
 * outside(pn, n): [pn-1, pn+n] is clear of the window.  zone(): the larger
 * page range outside the window (32-bit: at least a quarter of the space).
 */
static void window(uintptr_t *lo, uintptr_t *hi)
{
	struct mm_stats st = stats();
	*lo = st.arena_start >> MM_PAGE_SHIFT;
	*hi = st.arena_policy == MM_ARENA_32 ? *lo + (MM_MAX_ARENA32 >> MM_PAGE_SHIFT)
					     : st.arena_end >> MM_PAGE_SHIFT;
}

static int outside(uintptr_t pn, uintptr_t n)
{
	uintptr_t lo, hi;
	window(&lo, &hi);
	return pn + n + 1 <= lo || pn >= hi + 1;
}

static __attribute__((unused)) void zone(uintptr_t *zlo, uintptr_t *zhi)
{
	uintptr_t lo, hi, space = (uintptr_t)1 << MM_PM_BITS;
	window(&lo, &hi);
	if (hi > space)
		hi = space;
	if (lo - 1 >= space - hi) {
		*zlo = 1;
		*zhi = lo - 1;
	} else {
		*zlo = hi + 1;
		*zhi = space;
	}
}

START_TEST(pagemap_finds_spans_across_every_level_boundary)
{
	mm_free(mm_malloc(1));
	static struct mm_span sp[8]; /* DEAD records: nothing else will look at them */
	const uintptr_t L = (uintptr_t)1 << MM_PM_LEVEL, top = ((uintptr_t)1 << MM_PM_BITS) - 1;
	/* ranges that straddle a leaf, a mid node (64-bit), and the ends of the space */
	uintptr_t n = 5;
#if MM_PM_BITS == 36
	/* the arena is far above these: leaf and mid-node boundaries, both ends of the space */
	uintptr_t at[] = {1, L - 2, L * L - 3, top - 4, L * 7 + 5};
#else
	/* two levels: leaf boundaries inside the part of the space the arena cannot use */
	uintptr_t zlo, zhi;
	zone(&zlo, &zhi);
	uintptr_t b = (zlo + L - 1) / L * L;
	uintptr_t at[] = {zlo + 1, b + L - 2, b + 5 * L - 2, zhi - 5, b + 7 * L + 5};
	(void)top;
#endif
	for (int i = 0; i < 5; i++)
		REQUIRE(outside(at[i], n), "test range %#lx is inside the arena", (unsigned long)at[i]);
	for (int i = 0; i < 5; i++)
		pm_map(at[i], n, &sp[i]);
	for (int i = 0; i < 5; i++) {
		for (uintptr_t k = 0; k < n; k++)
			REQUIRE(mm_pagemap_get(at[i] + k) == &sp[i],
				      "page %#lx: wrong span (range %d at %#lx)",
				      (unsigned long)(at[i] + k), i, (unsigned long)at[i]);
	}
	/* neighbours outside the ranges were never mapped */
	ck_assert_ptr_null(mm_pagemap_get(at[4] - 1));
	ck_assert_ptr_null(mm_pagemap_get(at[4] + n));
	ck_assert_ptr_null(mm_pagemap_get(at[1] - 1));
}
END_TEST

START_TEST(pagemap_keeps_far_apart_ranges_apart)
{
	mm_free(mm_malloc(1));
	static struct mm_span a, b, c;
#if UINTPTR_MAX > 0xffffffffu
	uintptr_t pa = (uintptr_t)0x00007ffffffff000 >> MM_PAGE_SHIFT;  /* top of the lower half */
	uintptr_t pb = (uintptr_t)0xffff800000000000 >> MM_PAGE_SHIFT;  /* bottom of the upper half */
	uintptr_t pc = (uintptr_t)0x0000100000000000 >> MM_PAGE_SHIFT;
#else
	uintptr_t zlo, zhi;
	zone(&zlo, &zhi);
	uintptr_t pa = zlo + 1, pb = zhi - 2, pc = zlo + (zhi - zlo) / 2;
#endif
	REQUIRE(outside(pa, 1) && outside(pb, 1) && outside(pc, 1), "test pages inside the arena");
	pm_map(pa, 1, &a);
	pm_map(pb, 1, &b);
	pm_map(pc, 1, &c);
	ck_assert_ptr_eq(mm_pagemap_get(pa), &a);
	ck_assert_ptr_eq(mm_pagemap_get(pb), &b);
	ck_assert_ptr_eq(mm_pagemap_get(pc), &c);
	ck_assert_ptr_null(mm_pagemap_get(pc + 1));
	ck_assert_ptr_null(mm_pagemap_get(pc - 1));
}
END_TEST

/* Every page of every object handed out maps to a span that contains it. */
START_TEST(pagemap_maps_every_page_of_live_objects)
{
	void *p[300];
	for (int i = 0; i < 300; i++) {
		size_t n = (size_t)(i % 10 == 0 ? 40000 + i * 5000 : 8 + i * 97);
		p[i] = mm_malloc(n);
		for (uintptr_t a = (uintptr_t)p[i]; a < (uintptr_t)p[i] + n; a += MM_PAGE_SIZE) {
			struct mm_span *s = mm_pagemap_get(a >> MM_PAGE_SHIFT);
			REQUIRE(s && s->start <= (a >> MM_PAGE_SHIFT) &&
					      (a >> MM_PAGE_SHIFT) < s->start + s->npages,
				      "object %p: page of %p not mapped to its span", p[i], (void *)a);
			ck_assert(s->state == MM_SPAN_SMALL || s->state == MM_SPAN_LARGE);
		}
	}
	for (int i = 0; i < 300; i++)
		mm_free(p[i]);
	STEP();
}
END_TEST

static void *use_classes(void *arg)
{
	void *p[500];
	(void)arg;
	for (int i = 0; i < 500; i++)
		p[i] = mm_malloc((size_t)(16 + (i % 20) * 48));
	for (int i = 0; i < 500; i++)
		mm_free(p[i]);
	return NULL;
}

/* After the thread's cache went back, central holds at most its one spare span a class. */
START_TEST(thread_exit_leaves_central_with_only_spare_spans)
{
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, use_classes, NULL), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	for (int c = 1; c < mm_nclasses; c++) {
		struct mm_central *ce = &mm_central[c];
		REQUIRE(ce->nspans <= 1, "class %d (%u B): central still holds %llu spans after the cache went back",
			      c, mm_class_size[c], (unsigned long long)ce->nspans);
		REQUIRE(mm_span_list_empty(&ce->empty), "class %d: a span with no free object is left", c);
		if (ce->nspans)
			REQUIRE(ce->nonempty.next->ref == 0, "class %d: the spare span has %u objects out",
				      c, ce->nonempty.next->ref);
	}
	STEP();
}
END_TEST

/*
 * Cache lists end at mm_list_end, whose link is odd: every list of a new
 * cache and of mm_cache_none starts there, a pop from it misses, a refilled
 * list is as long as its count and ends there, and a flush leaves it there.
 */
START_TEST(cache_lists_end_at_mm_list_end)
{
	ck_assert_uint_ne((uintptr_t)mm_list_end.link[0] & MM_LINK_MISALIGNED, 0);
	struct mm_cache *c = mm_cache_new();
	ck_assert_ptr_nonnull(c);
	for (int cl = 0; cl < mm_nclasses; cl++) {
		REQUIRE(c->list[cl].head == MM_LIST_END, "new cache: list %d does not start at the end", cl);
		REQUIRE(mm_cache_none.list[cl].head == MM_LIST_END, "mm_cache_none: list %d is not empty", cl);
		REQUIRE(mm_cachelist_pop(&c->list[cl]) == NULL, "list %d: a pop from an empty list hit", cl);
	}
	uint32_t cl = mm_size_class(64);
	void *v = mm_cache_alloc(c, cl);
	ck_assert_ptr_nonnull(v);
	uint32_t n = 0, len = mm_cachelist_len(&c->list[cl]);
	void *w = c->list[cl].head;
	for (; w != MM_LIST_END && n <= len; w = *(void **)w)
		n++;
	REQUIRE(w == MM_LIST_END && n == len && len > 0,
		"a refilled list of %u objects walks %u before its end", len, n);
	mm_cache_free(c, cl, v);
	mm_cache_flush(c);
	REQUIRE(c->list[cl].head == MM_LIST_END, "a flushed list does not end at mm_list_end");
	mm_cache_release(c);
	STEP();
}
END_TEST

/* Whole pages inside [p, p + n) that are resident (mincore). */
static uint64_t resident_pages_inside(const void *p, size_t n)
{
	uintptr_t lo = ((uintptr_t)p + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
	uintptr_t hi = ((uintptr_t)p + n) & ~(uintptr_t)(PAGE - 1);
	return hi > lo ? resident_in((void *)lo, hi - lo) / PAGE : 0;
}

/*
 * Start-up touches only what it uses: central's records and the heap's free
 * lists are all zero until their first use (zeroed list heads are empty
 * lists), so a process that allocates one small block leaves the records
 * of other classes, and the lists of page counts it never freed, on pages
 * that were never touched.  (Before any mm_check or stats: those read or
 * lock every record.)  The test process is forked fresh for this test.
 */
START_TEST(start_up_leaves_unused_central_records_and_heap_lists_untouched)
{
	mm_free(mm_malloc(24));
	uint32_t used = mm_size_class(24);
	/* classes 20 and up, far from 24's: more than two pages of records */
	uint32_t from = 20, to = (uint32_t)mm_nclasses - 1; /* the zero class (last) may be used at start */
	REQUIRE(used < from, "24 B is class %u", used);
	/* resident first: reading the records (all_zero) maps the zero page in */
	uint64_t r = resident_pages_inside(&mm_central[from], (to - from) * sizeof mm_central[0]);
	/* one small block: the heap grew, cut one span and freed nothing but treap-sized spans */
	uint64_t rh = resident_pages_inside(&mm_heap.free[8], (MM_HEAP_LISTS - 8) * sizeof mm_heap.free[0]);
	REQUIRE(r == 0, "%llu pages of unused central records are resident", (unsigned long long)r);
	REQUIRE(rh == 0, "%llu pages of unused heap lists are resident", (unsigned long long)rh);
	for (uint32_t c = from; c < to; c++)
		REQUIRE(all_zero(&mm_central[c], sizeof mm_central[c]), "central record %u (%u B) was written",
			c, mm_class_size[c]);
	for (int i = 8; i < MM_HEAP_LISTS; i++)
		REQUIRE(all_zero(&mm_heap.free[i], sizeof mm_heap.free[i]), "heap list %d was written", i);
	/* and the lists work from zero: a class far off, spans of many page counts */
	void *p[64];
	for (int i = 0; i < 64; i++)
		p[i] = mm_malloc(40000 + (size_t)i * 3 * PAGE);
	void *q = mm_malloc(20000);
	for (int i = 0; i < 64; i += 2)
		mm_free(p[i]);
	STEP();
	for (int i = 1; i < 64; i += 2)
		mm_free(p[i]);
	mm_free(q);
	STEP();
}
END_TEST

Suite *internal_suite(void)
{
	return SUITE_OF("internal",
		TCASE("tables", 60,
			size_class_lookup_gives_the_smallest_fitting_class_for_every_size,
			batch_is_64_kib_of_objects_2_to_32_or_8_kib_of_tiny_ones_up_to_128,
			object_index_by_multiply_matches_division),
		TCASE("pagemap", 60,
			pagemap_finds_spans_across_every_level_boundary,
			pagemap_keeps_far_apart_ranges_apart,
			pagemap_maps_every_page_of_live_objects),
		TCASE("central", 60,
			thread_exit_leaves_central_with_only_spare_spans,
			cache_lists_end_at_mm_list_end),
		TCASE("footprint", 60,
			start_up_leaves_unused_central_records_and_heap_lists_untouched));
}
