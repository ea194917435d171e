/*
 * t_sizeclass.c - the size-class table, seen through mm_stats.by_class and
 * through what mm_malloc hands out: monotone, bounded waste, 16-byte
 * alignment from 16 B, every size 1..32 KiB served by the smallest class that
 * fits, and large sizes rounded to whole pages.
 */
#include "testutil.h"

START_TEST(class_table_is_monotone_from_two_words_to_32_kib)
{
	struct mm_stats st = stats();
	ck_assert_int_ge(st.nclasses, 30);
	ck_assert_int_le(st.nclasses, MM_NUM_CLASSES_MAX);
	ck_assert_uint_eq(st.by_class[1].size, 2 * sizeof(void *)); /* a free object's link and key */
	ck_assert_uint_eq(st.by_class[SIZED(&st) - 1].size, MAX_SMALL);
	ck_assert_uint_eq(st.by_class[SIZED(&st)].size, 16); /* the zero class, out of order */
	for (int c = 1; c < SIZED(&st); c++) {
		REQUIRE(st.by_class[c].npages >= 1, "class %d has no pages", c);
		REQUIRE((size_t)st.by_class[c].npages * PAGE >= st.by_class[c].size,
			      "class %d (%u B): span of %u pages holds no object", c,
			      st.by_class[c].size, st.by_class[c].npages);
		if (c > 1)
			REQUIRE(st.by_class[c].size > st.by_class[c - 1].size,
				      "class %d (%u B) not above class %d (%u B)", c,
				      st.by_class[c].size, c - 1, st.by_class[c - 1].size);
	}
}
END_TEST

START_TEST(class_sizes_from_16_bytes_are_16_byte_aligned)
{
	struct mm_stats st = stats();
	for (int c = 1; c < st.nclasses; c++) {
		uint32_t s = st.by_class[c].size;
		if (s >= 16)
			REQUIRE(s % 16 == 0, "class %d: size %u not a multiple of 16", c, s);
		else
			REQUIRE(s % 8 == 0, "class %d: size %u not a multiple of 8", c, s);
	}
}
END_TEST

/* A span's tail after cutting objects wastes at most 1/8 of the span. */
START_TEST(span_tail_waste_is_at_most_one_eighth)
{
	struct mm_stats st = stats();
	for (int c = 1; c < st.nclasses; c++) {
		size_t span = (size_t)st.by_class[c].npages * PAGE, s = st.by_class[c].size;
		REQUIRE(span % s <= span / 8,
			      "class %d (%zu B, %u pages): tail waste %zu of %zu B > 12.5%%", c, s,
			      st.by_class[c].npages, span % s, span);
	}
}
END_TEST

/* free's class map records one-page spans only: every class it serves has one. */
START_TEST(classes_up_to_1024_bytes_have_one_page_spans)
{
	struct mm_stats st = stats();
	for (int c = 1; c < st.nclasses; c++)
		if (st.by_class[c].size <= 1024)
			REQUIRE(st.by_class[c].npages == 1, "class %d (%zu B) has %u pages", c,
				(size_t)st.by_class[c].size, st.by_class[c].npages);
}
END_TEST

/* Each class's span is the fewest pages whose leftover is at most 1/8. */
START_TEST(span_is_the_fewest_pages_within_the_waste_bound)
{
	struct mm_stats st = stats();
	for (int c = 1; c < st.nclasses; c++) {
		size_t s = st.by_class[c].size;
		for (size_t np = 1; np < st.by_class[c].npages; np++) {
			size_t span = np * PAGE;
			REQUIRE(span < s || span % s > span / 8,
				      "class %d (%zu B) uses %u pages but %zu already fit the bound",
				      c, s, st.by_class[c].npages, np);
		}
	}
}
END_TEST

/* The fewest pages whose leftover after cutting objects of size t is at most 1/8
 * (one page up to 1024 B: free's class map records one-page spans only). */
static size_t pages_for(size_t t)
{
	size_t np = 1;
	while (t > 1024 && (np * PAGE) % t > np * PAGE / 8)
		np++;
	return np;
}

/*
 * From 128 B the sizes step by size/8 (a power of two, 256 from 2 KiB), so
 * rounding a request up to the next step wastes at most 1/8.  A class may
 * be larger than the next step only where the step was merged into it (same
 * pages, same objects a span): then rounding to it costs no memory beyond
 * what the step would have cost.  (With one-page spans up to 1024 B, the
 * steps 704 and 832 cost what 768 and 896 do, so requests of 641-704 and
 * 769-832 B may lose up to 1/6 to rounding.)
 */
START_TEST(rounding_waste_is_at_most_one_eighth_from_128_bytes)
{
	struct mm_stats st = stats();
	for (int c = 2; c < SIZED(&st); c++) {
		size_t prev = st.by_class[c - 1].size, s = st.by_class[c].size;
		if (prev < 128)
			continue;
		size_t p2 = 128;
		while (p2 * 2 <= prev)
			p2 *= 2;
		size_t step = p2 / 8 < 256 ? p2 / 8 : 256;
		size_t t = prev + step; /* the next step after prev */
		REQUIRE((t - prev - 1) * 8 <= t, "step after %zu B wastes more than 1/8", prev);
		REQUIRE(s >= t, "class %d (%zu B) is below the step %zu after %zu", c, s, t, prev);
		if (s == t)
			continue;
		/* merged: bytes of span per object must be no more than the step's */
		size_t cs = (size_t)st.by_class[c].npages * PAGE, ts = pages_for(t) * PAGE;
		double per_c = (double)cs / (double)(cs / s), per_t = (double)ts / (double)(ts / t);
		REQUIRE(per_c <= per_t,
			      "class %d (%zu B) replaced the step %zu B after %zu B but costs %.1f B an "
			      "object instead of %.1f: request %zu wastes %.1f%%",
			      c, s, t, prev, per_c, per_t, prev + 1, 100.0 * (double)(s - prev - 1) / (double)s);
	}
}
END_TEST

/* A class with the same pages and object count as the one below would be redundant. */
START_TEST(no_two_classes_share_pages_and_object_count)
{
	struct mm_stats st = stats();
	for (int c = 2; c < SIZED(&st); c++) {
		uint32_t np = st.by_class[c].npages, npp = st.by_class[c - 1].npages;
		size_t n = np * PAGE / st.by_class[c].size, nprev = npp * PAGE / st.by_class[c - 1].size;
		REQUIRE(!(np == npp && n == nprev),
			      "classes %d (%u B) and %d (%u B) both cut %zu objects from %u pages",
			      c - 1, st.by_class[c - 1].size, c, st.by_class[c].size, n, np);
	}
}
END_TEST

START_TEST(every_size_up_to_32_kib_gets_the_smallest_class_that_fits)
{
	struct mm_stats st = stats();
	for (size_t n = 1; n <= MAX_SMALL; n++) {
		void *p = mm_malloc(n);
		REQUIRE(p != NULL, "malloc(%zu) = NULL", n);
		size_t slot = n + GUARD_BYTES(n), got = mm_usable_size(p);
		size_t want = slot > MAX_SMALL ? (n + PAGE - 1) / PAGE * PAGE : /* large */
			      GUARD_BYTES(n) ? n : smallest_class_fitting(&st, n);
		REQUIRE(got == want, "malloc(%zu): usable size %zu, want %zu", n, got, want);
		if (slot <= MAX_SMALL) {
			struct mm_stats b = stats();
			int c = class_of_size(&st, slot);
			REQUIRE(b.by_class[c].nmalloc - b.by_class[c].nfree == st.by_class[c].nmalloc - st.by_class[c].nfree + 1,
				"malloc(%zu) is not out of class %d (%u B), the smallest that fits %zu", n, c,
				st.by_class[c].size, slot);
		}
		mm_free(p);
	}
	STEP();
}
END_TEST

/* The allocation is counted in the class that fits, at each class boundary. */
START_TEST(allocations_are_counted_in_their_class)
{
	struct mm_stats st0 = stats();
	for (int c = 1; c < SIZED(&st0); c++) {
		size_t lo = c > 1 ? st0.by_class[c - 1].size + 1 : 1, hi = st0.by_class[c].size;
		size_t sizes[2] = {lo, hi};
		for (int i = 0; i < 2; i++) {
			/* guarded: the request whose slot is that size (none for slots of 1025 to 1040) */
			if (sizes[i] > 1024 + GUARD_BYTES(sizes[i]))
				sizes[i] -= GUARD_BYTES(sizes[i]);
			else if (GUARD_BYTES(sizes[i]))
				continue;
			struct mm_stats a = stats();
			void *p = mm_malloc(sizes[i]);
			struct mm_stats b = stats();
			REQUIRE(b.by_class[c].nmalloc == a.by_class[c].nmalloc + 1,
				      "malloc(%zu) not counted in class %d (%u B)", sizes[i], c,
				      st0.by_class[c].size);
			ck_assert_uint_eq(b.nmalloc, a.nmalloc + 1);
			mm_free(p);
			struct mm_stats d = stats();
			REQUIRE(d.by_class[c].nfree == b.by_class[c].nfree + 1,
				      "free of a %zu-byte object not counted in class %d", sizes[i], c);
			ck_assert_uint_eq(d.nfree, b.nfree + 1);
		}
	}
	STEP();
}
END_TEST

START_TEST(small_objects_are_aligned_to_their_class)
{
	void *keep[64];
	for (size_t n = 1; n <= 4096; n += (n < 64 ? 1 : 37)) {
		for (int i = 0; i < 64; i++) {
			keep[i] = mm_malloc(n);
			uintptr_t a = (uintptr_t)keep[i];
			REQUIRE(a % 8 == 0, "malloc(%zu) = %p not 8-aligned", n, keep[i]);
			if (n > 8)
				REQUIRE(a % 16 == 0, "malloc(%zu) = %p not 16-aligned", n, keep[i]);
		}
		for (int i = 0; i < 64; i++)
			mm_free(keep[i]);
	}
	STEP();
}
END_TEST

START_TEST(large_sizes_round_up_to_whole_pages)
{
	size_t sizes[] = {MAX_SMALL + 1, 33 * KiB, 40 * KiB - 1, 64 * KiB, 100 * KiB + 3, MiB, 3 * MiB + 5};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		struct mm_stats a = stats();
		void *p = mm_malloc(sizes[i]);
		ck_assert_ptr_nonnull(p);
		size_t want = (sizes[i] + PAGE - 1) / PAGE * PAGE;
		REQUIRE(mm_usable_size(p) == want, "malloc(%zu): usable %zu, want %zu",
			      sizes[i], mm_usable_size(p), want);
		REQUIRE((uintptr_t)p % PAGE == 0, "large object %p not page aligned", p);
		struct mm_stats b = stats();
		REQUIRE(b.heap_inuse == a.heap_inuse + want,
			      "malloc(%zu): heap_inuse grew by %llu, want %zu", sizes[i],
			      (unsigned long long)(b.heap_inuse - a.heap_inuse), want);
		STEP();
		mm_free(p);
		struct mm_stats c = stats();
		/* up to 32 pages, the thread's cache holds the span whole, still in use */
		size_t held = want / PAGE <= 32 ? want : 0;
		REQUIRE(c.cache_large_bytes == a.cache_large_bytes + held,
			"free(malloc(%zu)): the cache holds %llu B of large spans, want %zu more than %llu",
			sizes[i], (unsigned long long)c.cache_large_bytes, held,
			(unsigned long long)a.cache_large_bytes);
		ck_assert_uint_eq(c.heap_inuse, a.heap_inuse + held);
		STEP();
		if (held) { /* and the next request of that size takes it back */
			void *q = mm_malloc(sizes[i]);
			REQUIRE(q == p, "malloc(%zu) = %p after free: the held span is at %p", sizes[i], q, p);
			ck_assert_uint_eq(stats().cache_large_bytes, a.cache_large_bytes);
			mm_free(q);
			mm_scavenge(0); /* which has the cache give it back: the next size starts afresh */
			ck_assert_uint_eq(stats().cache_large_bytes, 0);
		}
	}
}
END_TEST

Suite *sizeclass_suite(void)
{
	return SUITE_OF("sizeclass",
		TCASE("table", 60,
			class_table_is_monotone_from_two_words_to_32_kib,
			class_sizes_from_16_bytes_are_16_byte_aligned,
			span_tail_waste_is_at_most_one_eighth,
			classes_up_to_1024_bytes_have_one_page_spans,
			span_is_the_fewest_pages_within_the_waste_bound,
			rounding_waste_is_at_most_one_eighth_from_128_bytes,
			no_two_classes_share_pages_and_object_count),
		TCASE("lookup", 120,
			every_size_up_to_32_kib_gets_the_smallest_class_that_fits,
			allocations_are_counted_in_their_class,
			small_objects_are_aligned_to_their_class,
			large_sizes_round_up_to_whole_pages));
}
