/*
 * t_fake.c - behaviour that needs a host the test controls (tests/fakesys):
 * bad frees caught by a panic hook, out of memory from a refusing Sys,
 * the scavenger against a settable clock and a host that knows which pages
 * are really backed (the idle limit and the idle bound), calloc over released pages that keep old data (Darwin
 * MADV_FREE), and explicit caches: refill, limits, flush and release, and
 * central's transfer slots (parked batches: refill, accounting, scavenge,
 * double frees).
 */
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "fakesys.h"
#include "fakeutil.h"
#include "internal.h"

#define SEC 1000000000ull

#ifndef MM_DEBUG
#define MM_DEBUG 0
#endif

/* A bad free panics naming the address and the reason, with no core lock held (sys.h). */
#define EXPECT_BAD_FREE(stmt, addr, reason)                                                  \
	do {                                                                                 \
		EXPECT_PANIC(stmt);                                                          \
		REQUIRE(fake.panic_held == 0, "%s: panicked with %d core locks held",       \
			      #stmt, fake.panic_held);                                         \
		REQUIRE(contains_hex(fake.panic_msg, (uintptr_t)(addr)), "%s: message does not name %p: \"%s\"", \
			      #stmt, (void *)(addr), fake.panic_msg);                          \
		REQUIRE(strstr(fake.panic_msg, reason) != NULL,                         \
			      "%s: message does not say \"%s\": \"%s\"", #stmt, reason, fake.panic_msg); \
		STEP();                                                                      \
	} while (0)

/* ---- errors ---------------------------------------------------------------- */

START_TEST(free_of_an_unknown_pointer_is_a_named_panic)
{
	static char data[64];
	mm_free(mm_malloc(16));
	EXPECT_BAD_FREE(mm_free(data + 8), data + 8, "unknown pointer");
	int local;
	EXPECT_BAD_FREE(mm_free(&local), &local, "unknown pointer");
	/* inside the arena's reservation, never handed out */
	char *never = (char *)fake_addr(SIM_START) + 200 * MiB;
	EXPECT_BAD_FREE(mm_free(never), never, "unknown pointer");
}
END_TEST

START_TEST(free_of_an_interior_pointer_is_a_named_panic)
{
	char *big = mm_malloc(100000), *small = mm_malloc(100);
	EXPECT_BAD_FREE(mm_free(big + 4096), big + 4096, "interior pointer");
	EXPECT_BAD_FREE(mm_free(big + 16), big + 16, "interior pointer");
	EXPECT_BAD_FREE(mm_free(small + 8), small + 8, "interior pointer");
	EXPECT_BAD_FREE(mm_realloc(big + 8, 10), big + 8, "interior pointer");
	/* the objects themselves are still fine */
	mm_free(big);
	mm_free(small);
	STEP();
	ck_assert_uint_eq(stats().heap_objects, 0);
}
END_TEST

START_TEST(double_free_of_a_large_object_is_a_named_panic)
{
	char *keep = mm_malloc(MiB); /* a neighbour in use, so the span stays where it is */
	char *p = mm_malloc(MiB);
	mm_free(p);
	EXPECT_BAD_FREE(mm_free(p), p, "double free");
	mm_free(keep);
	STEP();
}
END_TEST

START_TEST(free_inside_a_free_span_is_a_named_panic)
{
	char *keep = mm_malloc(MiB);
	char *p = mm_malloc(MiB);
	mm_free(p);
	EXPECT_PANIC(mm_free(p + MiB / 4));
	REQUIRE(fake.panic_held == 0, "panicked with %d core locks held", fake.panic_held);
	REQUIRE(contains_hex(fake.panic_msg, (uintptr_t)(p + MiB / 4)), "message does not name %p: \"%s\"",
		      (void *)(p + MiB / 4), fake.panic_msg);
	REQUIRE(strstr(fake.panic_msg, "is free") || strstr(fake.panic_msg, "free span") ||
			strstr(fake.panic_msg, "free memory"),
		"message does not say the memory is free: \"%s\"", fake.panic_msg);
	STEP();
	mm_free(keep);
	STEP();
}
END_TEST

START_TEST(double_free_of_a_small_object_is_a_named_panic)
{
	char *keep = mm_malloc(48), *p = mm_malloc(48);
	mm_free(p);
	EXPECT_BAD_FREE(mm_free(p), p, "double free");
	mm_free(keep);
	STEP();
}
END_TEST

/* ---- out of memory ----------------------------------------------------------- */

START_TEST(refusing_host_from_the_start_gives_null_and_a_whole_heap)
{
	refused_from_the_start();
}
END_TEST

START_TEST(map_refusal_gives_null_and_everything_allocated_survives)
{
	init_fake();
	enum { NS = 100 };
	char *s[NS];
	for (int i = 0; i < NS; i++) {
		s[i] = mm_malloc(200);
		pattern_fill(s[i], 200, (uint32_t)i);
	}
	fake.map_budget = fake.mapped + 8 * MiB;
	char *big[32];
	int nb = 0;
	while (nb < 32 && (big[nb] = mm_malloc(MiB)) != NULL) {
		pattern_fill(big[nb], MiB, (uint32_t)(1000 + nb));
		nb++;
	}
	REQUIRE(nb >= 1 && nb <= 8, "%d blocks of 1 MiB within an 8 MiB budget", nb);
	STEP();
	/* small objects until the budget is gone as well */
	static char *more[200000];
	int nm = 0;
	while (nm < 200000 && (more[nm] = mm_malloc(500)) != NULL)
		nm++;
	REQUIRE(nm < 200000, "small allocations never ran out");
	STEP();
	ck_assert_ptr_null(mm_malloc(MiB));
	ck_assert_ptr_null(mm_calloc(1, 3 * MiB));
	char *r = mm_realloc(s[0], 5 * MiB);
	ck_assert_ptr_null(r);
	STEP();
	for (int i = 0; i < NS; i++)
		ck_assert_int_eq(pattern_check(s[i], 200, (uint32_t)i), -1);
	for (int i = 0; i < nb; i++)
		ck_assert_int_eq(pattern_check(big[i], MiB, (uint32_t)(1000 + i)), -1);
	/* the host has memory again: so does the allocator */
	fake.map_budget = 0;
	char *after = mm_malloc(20 * MiB);
	ck_assert_ptr_nonnull(after);
	memset(after, 1, 20 * MiB);
	mm_free(after);
	for (int i = 0; i < nm; i++)
		mm_free(more[i]);
	for (int i = 0; i < nb; i++)
		mm_free(big[i]);
	for (int i = 0; i < NS; i++)
		mm_free(s[i]);
	STEP();
	ck_assert_uint_eq(stats().heap_objects, 0);
}
END_TEST

/* ---- scavenger ---------------------------------------------------------------- */

/* Bytes of [a, b) the host has not backed: what the scavenger really released. */
static uint64_t unmapped_in(uintptr_t a, uintptr_t b)
{
	uint64_t k = 0;
	for (uintptr_t v = a; v < b; v += PAGE)
		k += fake_is_mapped((void *)v, PAGE) ? 0 : PAGE;
	return k;
}

/* heap_released must be exactly what the host sees released inside the arena. */
#define RELEASED_IS_TRUE()                                                                     \
	do {                                                                                   \
		struct mm_stats st_ = stats();                                                 \
		uint64_t real_ = unmapped_in(st_.arena_start, st_.arena_used);                  \
		REQUIRE(st_.heap_released == real_,                                      \
			      "heap_released %llu B, but %llu B of the arena are not backed",    \
			      (unsigned long long)st_.heap_released, (unsigned long long)real_); \
	} while (0)

/* Did any unused call touch [p, p+n) after call index from? */
static int unused_touched(int from, const void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p;
	for (int i = from; i < fake.ncalls; i++)
		if (fake.calls[i].op == FAKE_UNUSED && fake.calls[i].v < a + n &&
		    a < fake.calls[i].v + fake.calls[i].n)
			return 1;
	return 0;
}

START_TEST(scavenge_releases_only_spans_idle_longer_than_the_limit)
{
	init_fake();
	fake.now = 1 * SEC;
	char *a = mm_malloc(8 * MiB), *g = mm_malloc(MiB), *b = mm_malloc(8 * MiB), *g2 = mm_malloc(MiB);
	mm_free(a);
	fake.now = 10 * SEC;
	mm_free(b);
	fake.now = 12 * SEC;
	int before = fake.ncalls;
	mm_scavenge(5 * SEC);
	REQUIRE(unused_touched(before, a, 8 * MiB), "span idle 11 s not released by a 5 s limit");
	REQUIRE(!unused_touched(before, b, 8 * MiB), "span idle 2 s released by a 5 s limit");
	ck_assert(!fake_is_mapped(a, 8 * MiB));
	ck_assert(fake_is_mapped(b, 8 * MiB));
	RELEASED_IS_TRUE();
	STEP();
	fake.now = 16 * SEC;
	before = fake.ncalls;
	mm_scavenge(5 * SEC);
	ck_assert(unused_touched(before, b, 8 * MiB));
	REQUIRE(!unused_touched(before, a, 8 * MiB), "a released span was advised again");
	RELEASED_IS_TRUE();
	STEP();
	mm_free(g);
	mm_free(g2);
	STEP();
}
END_TEST

START_TEST(coalesced_span_is_as_idle_as_its_newest_part)
{
	init_fake();
	char *x = free_region(16 * MiB);
	(void)x;
	size_t v = 64 * PAGE;
	char *s[3];
	three_adjacent(s, v);
	fake.now = 1 * SEC;
	mm_free(s[0]);
	fake.now = 10 * SEC;
	mm_free(s[1]); /* coalesces with s[0]: the whole is idle since 10 s */
	fake.now = 12 * SEC;
	int before = fake.ncalls;
	mm_scavenge(5 * SEC);
	REQUIRE(!unused_touched(before, s[0], 2 * v),
		      "a span coalesced 2 s ago was released by a 5 s limit (its old part's time was kept)");
	fake.now = 16 * SEC;
	before = fake.ncalls;
	mm_scavenge(5 * SEC);
	ck_assert(unused_touched(before, s[0], 2 * v));
	ck_assert(!fake_is_mapped(s[0], 2 * v));
	RELEASED_IS_TRUE();
	STEP();
}
END_TEST

START_TEST(second_pass_makes_no_calls_for_released_spans)
{
	init_fake();
	void *p[20];
	for (int i = 0; i < 20; i++)
		p[i] = mm_malloc((size_t)(i + 1) * 100 * KiB);
	for (int i = 0; i < 20; i += 2)
		mm_free(p[i]);
	ck_assert_uint_gt(mm_scavenge(0), 0);
	int before = fake.ncalls;
	ck_assert_uint_eq(mm_scavenge(0), 0);
	int again = 0;
	for (int i = before; i < fake.ncalls; i++)
		again += fake.calls[i].op == FAKE_UNUSED;
	REQUIRE(again == 0, "a second pass made %d unused calls for spans already released", again);
	RELEASED_IS_TRUE();
	STEP();
}
END_TEST

START_TEST(released_and_unreleased_parts_keep_true_accounting_through_coalesce_and_split)
{
	init_fake();
	size_t v = 64 * PAGE;
	char *s[3];
	released_sides(s, v);      /* left and right released */
	RELEASED_IS_TRUE();
	mm_free(s[1]);             /* middle (backed) joins them */
	RELEASED_IS_TRUE();
	STEP();
	char *a = mm_malloc(2 * v); /* split: left+middle out, right stays free */
	ck_assert_ptr_eq(a, s[0]);
	REQUIRE(fake_is_mapped(a, 2 * v), "pages handed out are not backed");
	RELEASED_IS_TRUE();
	STEP();
	char *b = mm_malloc(v);     /* the right part, released earlier */
	ck_assert_ptr_eq(b, s[2]);
	REQUIRE(fake_is_mapped(b, v),
		      "the core handed out %p..%p, released by the scavenger, without mapping it again",
		      (void *)b, (void *)(b + v));
	memset(a, 1, 2 * v);
	memset(b, 2, v);
	RELEASED_IS_TRUE();
	STEP();
}
END_TEST

START_TEST(idle_bound_releases_at_free_time_with_true_accounting)
{
	init_fake();
	mm_scavenge_bound(4 * MiB, 50);
	enum { N = 16 };
	char *p[N];
	for (int i = 0; i < N; i++) {
		p[i] = mm_malloc(2 * MiB + (size_t)i * PAGE);
		ck_assert_ptr_nonnull(p[i]);
		memset(p[i], i, 2 * MiB);
	}
	struct mm_stats st0 = stats();
	REQUIRE(st0.idle_bound <= 4 * MiB + st0.heap_inuse / 2 && st0.idle_bound + PAGE >= 4 * MiB + st0.heap_inuse / 2,
		"idle bound %llu B with %llu B in use; want 4 MiB + 50 %%", (unsigned long long)st0.idle_bound,
		(unsigned long long)st0.heap_inuse);
	for (int i = 0; i < N; i++) {
		mm_free(p[i]);
		struct mm_stats st = stats();
		REQUIRE(st.heap_idle - st.heap_released <= st.idle_bound,
			"after free %d: %llu B idle and backed, over the bound of %llu B", i,
			(unsigned long long)(st.heap_idle - st.heap_released), (unsigned long long)st.idle_bound);
		RELEASED_IS_TRUE();
	}
	STEP();
	struct mm_stats st1 = stats();
	REQUIRE(st1.nbound > st0.nbound && fake_count(FAKE_UNUSED) > 0, "no bound pass ran");
	REQUIRE(st1.nscavenge == st0.nscavenge, "an idle-limit pass ran without a limit set");
	REQUIRE(st1.released_bound - st0.released_bound == st1.heap_released - st0.heap_released,
		"the bound says it released %llu B, heap_released rose by %llu B",
		(unsigned long long)(st1.released_bound - st0.released_bound),
		(unsigned long long)(st1.heap_released - st0.heap_released));
	uint64_t gone = 0;
	for (int i = 0; i < N; i++)
		gone += !fake_is_mapped(p[i], 2 * MiB) ? 2 * MiB : 0;
	REQUIRE(gone >= 32 * MiB - 6 * MiB, "only %llu B of the 32 MiB freed are unmapped", (unsigned long long)gone);
	/* churn within the floor starts no bound pass.  (Each cycle still advises the
	 * 8 MiB once: the freed block coalesces with released neighbours, and a split
	 * of a partly released span releases its backed part first, see heap.c carve.) */
	mm_scavenge_bound(16 * MiB, 0);
	uint64_t nb = stats().nbound;
	for (int r = 0; r < 10; r++) {
		char *q = mm_malloc(8 * MiB);
		memset(q, r, 8 * MiB);
		mm_free(q);
	}
	REQUIRE(stats().nbound == nb, "churning 8 MiB under a 16 MiB floor ran %llu bound passes",
		(unsigned long long)(stats().nbound - nb));
	RELEASED_IS_TRUE();
	STEP();
}
END_TEST

START_TEST(calloc_is_zero_over_released_pages_that_keep_old_data)
{
	init_fake();
	fake.unused_keeps_data = 1; /* like Darwin's MADV_FREE */
	size_t sizes[] = {40 * KiB, MiB, 5 * MiB};
	for (size_t i = 0; i < 3; i++) {
		char *p = mm_malloc(sizes[i]);
		memset(p, 0xab, sizes[i]);
		mm_free(p);
		ck_assert_uint_gt(mm_scavenge(0), 0);
		char *q = mm_calloc(1, sizes[i]);
fprintf(stderr,"DBG i=%zu p=%p q=%p\n",i,(void*)p,(void*)q);
		/* pages of p come back (a spare span that mm_scavenge gave back may sit before them) */
		ck_assert(q < p + sizes[i] && p < q + sizes[i]);
		REQUIRE(all_zero(q, sizes[i]), "calloc(%zu) over released, not-zeroed pages is dirty",
			      sizes[i]);
		char *r = mm_calloc(sizes[i] / 4096 / 2 + 1, 4096); /* part of a split span */
		ck_assert(all_zero(r, (sizes[i] / 4096 / 2 + 1) * 4096));
		mm_free(r);
		mm_free(q);
		STEP();
	}
}
END_TEST

/* ---- caches -------------------------------------------------------------------- */

/* Central holds no span with objects out, and at most one spare a class. */
static void central_holds_only_spares(void)
{
	for (int cl = 1; cl < mm_nclasses; cl++) {
		struct mm_central *ce = &mm_central[cl];
		uint32_t nelems = (uint32_t)(mm_class_npages[cl] * PAGE / mm_class_size[cl]);
		REQUIRE(ce->nspans == ce->nidle, "class %d: central keeps %llu spans, %u of them idle", cl,
			      (unsigned long long)ce->nspans, ce->nidle);
		REQUIRE(ce->nidle <= 1 || ce->nidle * nelems <= mm_class_batch[cl],
			      "class %d: %u idle spans of %u objects, more than a batch (%u)", cl, ce->nidle,
			      nelems, mm_class_batch[cl]);
		for (struct mm_span *s = mm_span_list_first(&ce->idle); s != &ce->idle; s = s->next)
			REQUIRE(s->ref == 0, "class %d: spare span has %u objects out", cl, s->ref);
	}
}

static struct mm_cache *use_new_cache(void)
{
	struct mm_cache *c = mm_cache_new();
	ck_assert_ptr_nonnull(c);
	fake.cache = c;
	return c;
}

START_TEST(first_allocation_refills_one_batch_from_central)
{
	init_fake();
	struct mm_cache *c = use_new_cache();
	uint32_t cl = mm_size_class(64), batch = mm_class_batch[cl];
	ck_assert_uint_eq(batch, MM_BATCH_TINY_BYTES / 64); /* 128: a tiny class's batch is 8 KiB */
	void *p[MM_BATCH_TINY_MAX + 1];
	p[0] = mm_malloc(64);
	ck_assert_uint_eq(mm_cachelist_len(&c->list[cl]), batch - 1);
	ck_assert_uint_eq(stats().cache_bytes, (batch - 1) * 64);
	ck_assert_uint_eq(mm_central[cl].nspans, (batch * 64 + PAGE - 1) / PAGE); /* one-page spans */
	for (uint32_t i = 1; i < batch; i++)
		p[i] = mm_malloc(64);
	ck_assert_uint_eq(mm_cachelist_len(&c->list[cl]), 0);
	ck_assert_uint_eq(stats().cache_bytes, 0);
	p[batch] = mm_malloc(64); /* empty again: the next batch */
	ck_assert_uint_eq(mm_cachelist_len(&c->list[cl]), batch - 1);
	STEP();
	for (uint32_t i = 0; i <= batch; i++)
		mm_free(p[i]);
	ck_assert_uint_eq(mm_cachelist_len(&c->list[cl]), 2 * batch);
	ck_assert_uint_eq(stats().cache_bytes, 2 * batch * 64);
	STEP();
}
END_TEST

/*
 * A trim gives back half of each list's low-water mark; the mark must never
 * ask for more objects than the list holds, also after the lists were
 * emptied (mm_cache_flush, or a list that overflowed and gave a batch back
 * since the last trim).
 */
/* Fill cache y past 2 MiB and overflow one list often enough that it trims. */
static void overflow_past_2_mib(void)
{
	enum { K = 8 };
	static void *p[K][45], *q[200];
	for (int k = 0; k < K; k++) /* 256 KiB a class kept (MM_CACHE_LIST_BYTES): 2 MiB */
		for (int i = 0; i < 45; i++)
			p[k][i] = mm_malloc(9000 + (size_t)k * 2500);
	for (int k = 0; k < K; k++)
		for (int i = 0; i < 45; i++)
			mm_free(p[k][i]);
	for (int i = 0; i < 200; i++) /* one class overflowing again and again */
		q[i] = mm_malloc(16000);
	for (int i = 0; i < 200; i++)
		mm_free(q[i]);
}

START_TEST(trim_after_flush_gives_back_no_more_than_a_list_holds)
{
	init_fake();
	struct mm_cache *y = use_new_cache();
	uint32_t cd = mm_size_class(64);
	void *d[40];
	for (int i = 0; i < 40; i++)
		d[i] = mm_malloc(64);
	for (int i = 0; i < 40; i++)
		mm_free(d[i]);
	overflow_past_2_mib(); /* a trim: each list's low-water mark is now what it held */
	REQUIRE(mm_cache_lowmark(y, cd) > 0, "precondition: the cache was never trimmed (%lu B held)",
		(unsigned long)mm_cache_bytes(y));
	mm_cache_flush(y);     /* lists empty, marks from before */
	STEP();
	overflow_past_2_mib(); /* the next trim must not take from empty lists */
	for (int cl = 1; cl < mm_nclasses; cl++)
		REQUIRE(mm_cache_lowmark(y, (uint32_t)cl) <= mm_cachelist_len(&y->list[cl]),
			"class %d: low-water mark %u above the %u objects held", cl,
			mm_cache_lowmark(y, (uint32_t)cl), mm_cachelist_len(&y->list[cl]));
	STEP();
	mm_cache_flush(y);
	STEP();
	ck_assert_uint_eq(stats().heap_objects, 0);
}
END_TEST

/* free's object-start test (one multiply) agrees with the remainder at every offset of every class's span. */
START_TEST(object_start_test_matches_the_remainder)
{
	init_fake();
	for (uint32_t cl = 1; cl < (uint32_t)mm_nclasses; cl++) {
		uint32_t size = mm_class_size[cl], bad = 0;
		uintptr_t end = (uintptr_t)mm_class_npages[cl] << MM_PAGE_SHIFT;
		for (uintptr_t so = 0; so < end; so++)
			if (mm_class_starts(cl, so) != (so % size == 0) && bad++ == 0)
				ck_abort_msg("class %u (%u B): offset %lu: test says %d", cl, size,
					     (unsigned long)so, mm_class_starts(cl, so));
	}
}
END_TEST

/* A list's limit starts at one batch and grows by a batch a miss, up to the class's most. */
START_TEST(cache_list_limit_grows_with_misses_and_bounds_the_list)
{
	init_fake();
	struct mm_cache *c = use_new_cache();
	uint32_t cl = mm_size_class(32), batch = mm_class_batch[cl];
	struct mm_cachelist *l = &c->list[cl];
	uint32_t *lmax = &c->max[cl];
	ck_assert_uint_eq(*lmax, batch);
	static void *p[20000];
	for (int i = 0; i < 20000; i++) {
		uint32_t before = mm_cachelist_len(l), max = *lmax;
		p[i] = mm_malloc(32);
		if (before == 0) /* a miss */
			REQUIRE(*lmax == (max < mm_class_listmax[cl] ? max + batch : max),
				      "miss %d: limit %u -> %u (batch %u, most %u)", i, max, *lmax, batch,
				      mm_class_listmax[cl]);
	}
	ck_assert_uint_le(*lmax, mm_class_listmax[cl]);
	for (int i = 0; i < 20000; i++) {
		mm_free(p[i]);
		REQUIRE(mm_cachelist_len(l) <= *lmax, "after %d frees the list holds %u objects, limit %u",
			      i + 1, mm_cachelist_len(l), *lmax);
	}
	ck_assert_uint_le(stats().cache_bytes, (uint64_t)mm_class_listmax[cl] * 32);
	ck_assert_uint_le((uint64_t)mm_class_listmax[cl] * 32, MM_CACHE_LIST_BYTES);
	STEP();
}
END_TEST

/*
 * Over MM_CACHE_MAX_BYTES in total, every list gives back half its low-water mark: lists
 * that sat unused since the last trim shrink, so a cache does not hoard
 * memory for classes it no longer uses.
 */
START_TEST(cache_over_2_mib_trims_idle_lists_by_half_their_low_water_mark)
{
	init_fake();
	struct mm_cache *c = use_new_cache();
	size_t idle_sizes[3] = {2000, 2400, 2800}; /* 60 of each stay under MM_CACHE_MAX_BYTES */
	static void *p[200];
	for (int k = 0; k < 3; k++) {
		for (int i = 0; i < 60; i++)
			p[i] = mm_malloc(idle_sizes[k]);
		for (int i = 0; i < 60; i++)
			mm_free(p[i]);
	}
	uint32_t ca = mm_size_class(idle_sizes[0]);
	uint32_t held = mm_cachelist_len(&c->list[ca]);
	ck_assert_uint_gt(held, 4);
	ck_assert_uint_lt(60 * (2000 + 2400 + 2800), MM_CACHE_MAX_BYTES);
	/* now only four other classes are used, churning through the cache (each list keeps
	 * 256 KiB, MM_CACHE_LIST_BYTES: 1.4 MiB held in all, so trims) */
	for (int r = 0; r < 10; r++) { /* more than their lists may hold: they overflow */
		for (int i = 0; i < 200; i++)
			p[i] = mm_malloc(16000 + (size_t)(i % 4) * 4000);
		for (int i = 0; i < 200; i++)
			mm_free(p[i]);
	}
	REQUIRE(mm_cachelist_len(&c->list[ca]) <= held / 2 + 1,
		      "a list unused through the trims still holds %u of its %u objects", mm_cachelist_len(&c->list[ca]), held);
	STEP();
}
END_TEST

START_TEST(flush_returns_every_object_and_empty_spans_go_back)
{
	init_fake();
	struct mm_stats st0 = stats();
	struct mm_cache *c = use_new_cache();
	static void *p[3000];
	for (int i = 0; i < 3000; i++)
		p[i] = mm_malloc((size_t)(8 + (i % 40) * 24));
	for (int i = 0; i < 3000; i++)
		mm_free(p[i]);
	ck_assert_uint_gt(stats().cache_bytes, 0);
	mm_cache_flush(c);
	struct mm_stats st1 = stats();
	ck_assert_uint_eq(st1.cache_bytes, 0);
	for (int cl = 1; cl < mm_nclasses; cl++)
		ck_assert_uint_eq(mm_cachelist_len(&c->list[cl]), 0);
	central_holds_only_spares();
	ck_assert_uint_le(st1.heap_inuse, st0.heap_inuse + spare_bytes(&st1));
	ck_assert_uint_eq(st1.heap_objects, 0);
	STEP();
	/* the cache works on after a flush */
	void *q = mm_malloc(100);
	ck_assert_ptr_nonnull(q);
	mm_free(q);
	STEP();
}
END_TEST

START_TEST(release_keeps_the_counts_and_reuses_the_record)
{
	init_fake();
	struct mm_cache *c = use_new_cache();
	void *p[100];
	for (int i = 0; i < 100; i++)
		p[i] = mm_malloc(48);
	for (int i = 0; i < 50; i++)
		mm_free(p[i]);
	struct mm_stats st0 = stats();
	fake.cache = NULL;
	mm_cache_release(c);
	struct mm_stats st1 = stats();
	ck_assert_uint_eq(st1.nmalloc, st0.nmalloc);
	ck_assert_uint_eq(st1.nfree, st0.nfree);
	ck_assert_uint_eq(st1.heap_objects, 50);
	ck_assert_uint_eq(st1.cache_bytes, 0);
	STEP();
	uint64_t meta = st1.records_sys;
	for (int i = 0; i < 100; i++) {
		struct mm_cache *d = mm_cache_new();
		ck_assert_ptr_nonnull(d);
		mm_cache_release(d);
	}
	ck_assert_uint_eq(stats().records_sys, meta);
	for (int i = 50; i < 100; i++)
		mm_free(p[i]); /* no cache now: straight to central */
	STEP();
	ck_assert_uint_eq(stats().heap_objects, 0);
}
END_TEST

START_TEST(objects_move_between_caches)
{
	init_fake();
	struct mm_cache *a = use_new_cache(), *b = mm_cache_new();
	uint32_t cl = mm_size_class(300);
	void *p[100];
	for (int i = 0; i < 100; i++)
		p[i] = mm_malloc(300);
	fake.cache = b;
	for (int i = 0; i < 100; i++)
		mm_free(p[i]);
	ck_assert_uint_ge(mm_cachelist_len(&b->list[cl]), 1);
	STEP();
	mm_cache_release(b);
	fake.cache = a;
	mm_cache_flush(a);
	STEP();
	ck_assert_uint_eq(stats().heap_objects, 0);
	central_holds_only_spares();
}
END_TEST

/* The fast path: a cache hit, on malloc and on free, takes no lock. */
START_TEST(cache_hits_take_no_lock)
{
	init_fake();
	use_new_cache();
	size_t sizes[] = {8, 100, 1000, 5000, MAX_SMALL - GUARD_BYTES(MAX_SMALL)};
	void *p[16];
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		for (int i = 0; i < 16; i++) /* warm: the list holds objects now */
			p[i] = mm_malloc(sizes[k]);
		for (int i = 0; i < 16; i++)
			mm_free(p[i]);
		uint64_t before = fake.nlocks;
		for (int r = 0; r < 1000; r++) {
			void *q = mm_malloc(sizes[k]);
			mm_free(q);
		}
		REQUIRE(fake.nlocks == before, "%zu-byte malloc/free on a warm cache took %llu locks", sizes[k],
			(unsigned long long)(fake.nlocks - before));
	}
	STEP();
}
END_TEST

/*
 * A span whose objects have all come back stays with its class, as a spare:
 * as many as hold a batch where a span holds few objects (4 KiB: one a
 * span), one where it holds many (64 B); mm_scavenge gives them all back.
 */
START_TEST(central_keeps_a_batch_of_spare_spans)
{
	init_fake();
	size_t big = 4 * KiB - MM_GUARD_BYTES; /* with its trailer, 4 KiB: one object a span */
	uint32_t cl = mm_size_class(4 * KiB), small = mm_size_class(64);
	uint32_t per = (uint32_t)(mm_class_npages[cl] * PAGE / mm_class_size[cl]), batch = mm_class_batch[cl];
	ck_assert_uint_lt(per, batch); /* several spares to keep */
	uint32_t per_s = (uint32_t)(mm_class_npages[small] * PAGE / 64), keep_s = mm_class_batch[small] / per_s;
	keep_s = keep_s ? keep_s : 1; /* 64 B: a batch of 128 fills two spans, kept both */
	struct mm_central *c = &mm_central[cl], *cs = &mm_central[small];
	void *p[64], *q[256];
	uint32_t n = batch + 3;
	/* a small heap: spares past a class's first would pass 1/MM_SPARE_SHARE of it */
	for (uint32_t i = 0; i < n; i++)
		p[i] = mm_malloc(big);
	for (uint32_t i = 0; i < n; i++)
		mm_free(p[i]);
	ck_assert_uint_eq(c->nidle, 1);
	ck_assert_uint_eq(stats().spare_bytes, mm_class_npages[cl] * PAGE);
	/* a heap large enough for them all: a batch of objects in spares */
	size_t ballast = (size_t)MM_SPARE_SHARE *
			 ((batch / per) * mm_class_npages[cl] + keep_s * mm_class_npages[small] + 1) * PAGE;
	void *b = mm_malloc(ballast);
	struct mm_stats st0 = stats();
	for (uint32_t i = 0; i < n; i++)
		p[i] = mm_malloc(big);
	for (int i = 0; i < 256; i++) /* one or more spans of 64 B objects */
		q[i] = mm_malloc(64);
	for (uint32_t i = 0; i < n; i++)
		mm_free(p[i]);
	for (int i = 0; i < 256; i++)
		mm_free(q[i]);
	ck_assert_uint_eq(c->nidle, batch / per);
	ck_assert_uint_eq(c->nspans, c->nidle);
	ck_assert_uint_eq(cs->nidle, keep_s);
	ck_assert_uint_eq(cs->nspans, keep_s);
	uint64_t spans = ((uint64_t)c->nidle * mm_class_npages[cl] + keep_s * mm_class_npages[small]) * PAGE;
	struct mm_stats st1 = stats();
	ck_assert_uint_eq(st1.heap_objects, 1);
	ck_assert_uint_eq(st1.spare_bytes, spans);
	ck_assert_uint_eq(st1.heap_inuse, st0.heap_inuse - mm_class_npages[cl] * PAGE + spans);
	ck_assert_int_eq(mm_check(), 0);
	STEP();
	/* the spares are used again, before the heap is asked */
	struct mm_span *spare[64];
	uint32_t kept = 0;
	for (struct mm_span *s = mm_span_list_first(&c->idle); s != &c->idle; s = s->next)
		spare[kept++] = s;
	ck_assert_uint_eq(kept, c->nidle);
	void *again[64];
	for (uint32_t i = 0; i < kept * per; i++) {
		again[i] = mm_malloc(big);
		struct mm_span *s = mm_pagemap_get((uintptr_t)again[i] >> MM_PAGE_SHIFT);
		int found = 0;
		for (uint32_t j = 0; j < kept; j++)
			found |= s == spare[j];
		ck_assert_msg(found, "object %p is not from one of the spare spans", again[i]);
	}
	ck_assert_uint_eq(c->nidle, 0);
	ck_assert_uint_eq(stats().heap_inuse, st1.heap_inuse);
	for (uint32_t i = 0; i < kept * per; i++)
		mm_free(again[i]);
	ck_assert_uint_eq(c->nidle, kept);
	STEP();
	/* mm_scavenge gives every spare back to the heap, and so to the system */
	mm_free(b);
	mm_scavenge(0);
	ck_assert_uint_eq(c->nidle, 0);
	ck_assert_uint_eq(c->nspans, 0);
	ck_assert_uint_eq(cs->nspans, 0);
	struct mm_stats st2 = stats();
	ck_assert_uint_eq(st2.heap_inuse, 0);
	ck_assert_uint_eq(st2.spare_bytes, 0);
	ck_assert_uint_eq(st2.heap_released, st2.heap_idle);
	ck_assert_int_eq(mm_check(), 0);
	STEP();
}
END_TEST

START_TEST(without_a_cache_every_object_goes_through_central)
{
	init_fake();
	struct mm_stats st0 = stats();
	void *p[500];
	for (int i = 0; i < 500; i++)
		p[i] = mm_malloc((size_t)(1 + i * 13));
	struct mm_stats st1 = stats();
	ck_assert_uint_eq(st1.cache_bytes, 0);
	ck_assert_uint_eq(st1.nmalloc - st0.nmalloc, 500);
	STEP();
	for (int i = 0; i < 500; i++)
		mm_free(p[i]);
	struct mm_stats st2 = stats();
	ck_assert_uint_eq(st2.heap_objects, 0);
	ck_assert_uint_le(st2.heap_inuse, st0.heap_inuse + spare_bytes(&st2));
	central_holds_only_spares();
	STEP();
}
END_TEST

/*
 * Transfer slots: cache b, whose list limit is still one batch, frees what
 * cache a allocated, so every overflow gives a whole batch back; central
 * parks whole batches up to the class's slots and splices the rest into
 * their spans.  Returns the class; its slots are full; a is the current cache.
 */
enum { NPARK = 8000 }; /* more than a class's slots hold (32 batches of 128 objects of 64 B) */

static uint32_t park_batches(struct mm_cache **a, struct mm_cache **b)
{
	static void *p[NPARK];
	init_fake();
	*a = use_new_cache();
	*b = mm_cache_new();
	uint32_t cl = mm_size_class(64);
	for (int i = 0; i < NPARK; i++)
		p[i] = mm_malloc(64);
	fake.cache = *b;
	for (int i = 0; i < NPARK; i++)
		mm_free(p[i]);
	REQUIRE(mm_central[cl].ntransfer == mm_class_transfer[cl], "%u of %u slots hold a batch after %d frees",
		mm_central[cl].ntransfer, (unsigned)mm_class_transfer[cl], NPARK);
	fake.cache = *a;
	return cl;
}

/* Release b, flush a (which drains the slots): nothing is left anywhere. */
static void unpark(struct mm_cache *a, struct mm_cache *b)
{
	fake.cache = a;
	mm_cache_release(b);
	mm_cache_flush(a);
	for (int k = 1; k < mm_nclasses; k++)
		ck_assert_uint_eq(mm_central[k].ntransfer, 0);
	ck_assert_uint_eq(stats().transfer_bytes, 0);
	ck_assert_uint_eq(stats().heap_objects, 0);
	central_holds_only_spares();
	STEP();
}

START_TEST(whole_batches_given_back_are_parked_and_handed_to_the_next_refill)
{
	struct mm_cache *a, *b;
	uint32_t cl = park_batches(&a, &b), batch = mm_class_batch[cl];
	struct mm_central *ce = &mm_central[cl];
	uint64_t one = (uint64_t)batch * 64, parked = ce->ntransfer * one;
	ck_assert_uint_eq(stats().transfer_bytes, parked);
	ck_assert_uint_le(parked, MM_TRANSFER_BYTES);
	STEP(); /* mm_check: parked batches are whole, counted once, the stats add up */
	/* a new cache's first refill is the last batch parked, as it was */
	struct mm_cache *c = mm_cache_new();
	void *top = ce->transfer[ce->ntransfer - 1], *second = *(void **)top;
	fake.cache = c;
	void *q = mm_malloc(64);
	ck_assert_ptr_eq(q, top);
	ck_assert_ptr_eq(c->list[cl].head, second);
	ck_assert_uint_eq(mm_cachelist_len(&c->list[cl]), batch - 1);
	ck_assert_uint_eq(stats().transfer_bytes, parked - one);
	ck_assert_uint_eq(stats().heap_objects, 1);
	STEP();
	mm_free(q);
	mm_cache_release(c);
	unpark(a, b);
}
END_TEST

START_TEST(scavenge_drains_the_transfer_slots)
{
	struct mm_cache *a, *b;
	park_batches(&a, &b);
	struct mm_stats st0 = stats();
	ck_assert_uint_gt(st0.transfer_bytes, 0);
	uint64_t released = mm_scavenge(0);
	struct mm_stats st1 = stats();
	for (int k = 1; k < mm_nclasses; k++)
		ck_assert_uint_eq(mm_central[k].ntransfer, 0);
	ck_assert_uint_eq(st1.transfer_bytes, 0);
	REQUIRE(st1.heap_inuse < st0.heap_inuse, "the drained spans did not go back to the heap "
		"(in use %llu, was %llu)", (unsigned long long)st1.heap_inuse,
		(unsigned long long)st0.heap_inuse);
	REQUIRE(released > 0 && st1.heap_released >= st0.heap_released + (st0.heap_inuse - st1.heap_inuse),
		"the pass released %llu bytes (heap_released %llu, was %llu) after the drain freed %llu",
		(unsigned long long)released, (unsigned long long)st1.heap_released,
		(unsigned long long)st0.heap_released, (unsigned long long)(st0.heap_inuse - st1.heap_inuse));
	ck_assert_uint_eq(st1.nfree, st0.nfree); /* parked objects were free already */
	ck_assert_uint_eq(st1.heap_objects, 0);
	STEP();
	unpark(a, b);
}
END_TEST

START_TEST(double_free_of_a_parked_object_is_a_named_panic)
{
	struct mm_cache *a, *b;
	struct mm_central *ce = &mm_central[park_batches(&a, &b)];
	void *head = ce->transfer[0], *inner = *(void **)*(void **)head;
	EXPECT_BAD_FREE(mm_free(inner), inner, "double free");
	EXPECT_BAD_FREE(mm_free(head), head, "double free");
	fake.cache = b;
	EXPECT_BAD_FREE(mm_free(inner), inner, "double free");
	unpark(a, b);
}
END_TEST

Suite *fake_suite(void)
{
	return SUITE_OF("fakesys",
		FAKE_TCASE("errors", init_fake,
			free_of_an_unknown_pointer_is_a_named_panic,
			free_of_an_interior_pointer_is_a_named_panic,
			double_free_of_a_large_object_is_a_named_panic,
			free_inside_a_free_span_is_a_named_panic,
			double_free_of_a_small_object_is_a_named_panic),
		FAKE_TCASE("oom", NULL,
			refusing_host_from_the_start_gives_null_and_a_whole_heap,
			map_refusal_gives_null_and_everything_allocated_survives),
		FAKE_TCASE("scavenger", NULL,
			scavenge_releases_only_spans_idle_longer_than_the_limit,
			coalesced_span_is_as_idle_as_its_newest_part,
			second_pass_makes_no_calls_for_released_spans,
			released_and_unreleased_parts_keep_true_accounting_through_coalesce_and_split,
			calloc_is_zero_over_released_pages_that_keep_old_data,
			idle_bound_releases_at_free_time_with_true_accounting),
		FAKE_TCASE("caches", NULL,
			first_allocation_refills_one_batch_from_central,
			object_start_test_matches_the_remainder,
			cache_list_limit_grows_with_misses_and_bounds_the_list,
			cache_over_2_mib_trims_idle_lists_by_half_their_low_water_mark,
			trim_after_flush_gives_back_no_more_than_a_list_holds,
			flush_returns_every_object_and_empty_spans_go_back,
			release_keeps_the_counts_and_reuses_the_record,
			objects_move_between_caches,
			cache_hits_take_no_lock,
			without_a_cache_every_object_goes_through_central,
			central_keeps_a_batch_of_spare_spans,
			whole_batches_given_back_are_parked_and_handed_to_the_next_refill,
			scavenge_drains_the_transfer_slots,
			double_free_of_a_parked_object_is_a_named_panic));
}
