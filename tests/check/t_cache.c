/*
 * t_cache.c - per-thread caches in the hosted build: a thread's frees stay
 * in its cache, a thread that exits gives its cache back (cache_bytes falls
 * to zero, the spans go back to the heap), objects freed on another thread
 * than the one that allocated them are fine, cache records are reused, and
 * a list of large objects holds at most 256 KiB (MM_CACHE_LIST_BYTES), and
 * a cache's bound on its bytes grows with the heap, and a cache holds freed
 * large spans of up to 32 pages whole for reuse, within 2 MiB.
 */
#include <pthread.h>
#include <string.h>

#include "testutil.h"

struct work {
	size_t size;
	int n;
	void **objs;
	int alloc, free;          /* what the thread does */
	struct mm_stats inside;   /* stats read by the thread before it exits */
};

static void *worker(void *arg)
{
	struct work *w = arg;
	if (w->alloc)
		for (int i = 0; i < w->n; i++) {
			w->objs[i] = mm_malloc(w->size);
			pattern_fill(w->objs[i], w->size, (uint32_t)i);
		}
	if (w->free)
		for (int i = 0; i < w->n; i++) {
			ck_assert_int_eq(pattern_check(w->objs[i], w->size, (uint32_t)i), -1);
			mm_free(w->objs[i]);
		}
	mm_read_stats(&w->inside);
	return NULL;
}

static void run(struct work *w)
{
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, worker, w), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
}

START_TEST(a_thread_keeps_its_freed_objects_in_its_cache)
{
	void *objs[100];
	struct work w = {64, 100, objs, 1, 1, {0}};
	run(&w);
	REQUIRE(w.inside.cache_bytes >= 100 * 64,
		      "after freeing 100 objects of 64 B the thread's cache holds %llu B",
		      (unsigned long long)w.inside.cache_bytes);
	ck_assert_uint_eq(w.inside.heap_objects, 0);
}
END_TEST

/*
 * A list's limit grows with its misses up to 256 KiB of objects: a thread
 * that allocates and frees 2 MiB of 16 KiB blocks keeps at most 256 KiB of
 * them (plus the batch a push may pass the limit by) and gives the rest back.
 */
START_TEST(a_list_of_16_kib_objects_keeps_at_most_256_kib)
{
	void *objs[128];
	struct work w = {16 * KiB, 128, objs, 1, 1, {0}};
	run(&w);
	REQUIRE(w.inside.cache_bytes <= 256 * KiB + 4 * 16 * KiB,
		"after freeing 2 MiB of 16 KiB blocks the thread's cache holds %llu B",
		(unsigned long long)w.inside.cache_bytes);
	REQUIRE(w.inside.cache_bytes >= 64 * KiB, "the cache kept only %llu B",
		(unsigned long long)w.inside.cache_bytes);
	ck_assert_uint_eq(w.inside.heap_objects, 0);
}
END_TEST

/*
 * A cache's bound grows with the heap (its share of 1/16 of the pages in
 * use, at least 1 MiB).  Twelve lists of guarded classes get about 2 MiB of
 * objects, then a 30 KiB class overflows again and again (slow paths, so
 * the cache counts its bytes and trims): in a small heap the cache trims
 * to about 1 MiB; next to a live 64 MiB block (a bound of 4 MiB) it keeps
 * nearly all of them.
 */
static uint64_t cache_after_churn(size_t live_bytes, uint64_t *before_churn)
{
	void *big = live_bytes ? mm_malloc(live_bytes) : NULL;
	static void *objs[12][16], *z[200];
	for (int j = 0; j < 12; j++) /* 2-13 KiB: 16 each, under every list's 256 KiB */
		for (int i = 0; i < 16; i++)
			objs[j][i] = mm_malloc(2 * KiB + (size_t)j * KiB);
	for (int j = 0; j < 12; j++)
		for (int i = 0; i < 16; i++)
			mm_free(objs[j][i]);
	uint64_t before = stats().cache_bytes;
	REQUIRE(before >= 1200 * KiB, "precondition: the lists hold %llu B", (unsigned long long)before);
	*before_churn = before;
	for (int i = 0; i < 200; i++)
		z[i] = mm_malloc(30 * KiB);
	for (int i = 0; i < 200; i++)
		mm_free(z[i]);
	uint64_t after = stats().cache_bytes;
	STEP();
	mm_free(big);
	return after;
}

START_TEST(a_small_heap_trims_its_cache_to_about_1_mib)
{
	uint64_t before, b = cache_after_churn(0, &before);
	REQUIRE(b <= MiB + 256 * KiB, "after the churn the cache holds %llu B, above its bound of 1 MiB",
		(unsigned long long)b);
}
END_TEST

START_TEST(a_cache_next_to_64_mib_in_use_keeps_more)
{
	uint64_t before, b = cache_after_churn(64 * MiB, &before);
	REQUIRE(b >= before / 4 * 3, "after the churn next to 64 MiB in use the cache holds only %llu B of %llu",
		(unsigned long long)b, (unsigned long long)before);
}
END_TEST

/*
 * Large spans held whole: a freed large block of up to 32 pages stays in
 * use for the heap, held by the thread's cache (cache_large_bytes), and
 * the next request of its page count, or of up to 1/8 fewer pages, gets it
 * back; the statistics count both calls, mm_check holds all along.  A
 * request none fits, which the heap could serve only from new pages, has
 * the cache give its spans back first.
 */
START_TEST(a_freed_large_block_is_held_by_the_cache_and_reused)
{
	char *p = mm_malloc(10 * PAGE - 100);
	memset(p, 0x5a, 10 * PAGE - 100);
	struct mm_stats st0 = stats();
	mm_free(p);
	STEP();
	struct mm_stats st1 = stats();
	ck_assert_uint_eq(st1.cache_large_bytes, st0.cache_large_bytes + 10 * PAGE);
	ck_assert_uint_eq(st1.heap_inuse, st0.heap_inuse);
	ck_assert_uint_eq(st1.heap_idle, st0.heap_idle);
	ck_assert_uint_eq(st1.nfree, st0.nfree + 1);
	ck_assert_uint_eq(st1.heap_objects, st0.heap_objects - 1);
	ck_assert_int_eq(mm_owns(p), 0); /* free memory, though its span is still in use */
	char *q = mm_malloc(10 * PAGE - 5000); /* the same page count */
	REQUIRE(q == p, "malloc(10 pages) = %p; the held span is at %p", (void *)q, (void *)p);
	ck_assert_int_eq(mm_owns(q), 1);
	STEP();
	struct mm_stats st2 = stats();
	ck_assert_uint_eq(st2.cache_large_bytes, st0.cache_large_bytes);
	ck_assert_uint_eq(st2.nmalloc, st0.nmalloc + 1);
	ck_assert_uint_eq(st2.heap_objects, st0.heap_objects);
	mm_free(q);
	char *r = mm_malloc(9 * PAGE); /* 9 pages: the 10-page span is within 1/8 */
	REQUIRE(r == p, "malloc(9 pages) = %p; the held 10-page span is at %p", (void *)r, (void *)p);
	ck_assert_uint_eq(mm_usable_size(r), 10 * PAGE);
	memset(r, 0x5b, 9 * PAGE);
	mm_free(r);
	char *z = mm_calloc(1, 10 * PAGE - 100); /* the held span, written before: zeroed */
	REQUIRE(z == p, "calloc(10 pages) = %p; the held span is at %p", (void *)z, (void *)p);
	for (size_t i = 0; i < 10 * PAGE - 100; i++)
		if (z[i] != 0)
			ck_abort_msg("calloc from a held span: byte %zu is 0x%02x", i, (unsigned char)z[i]);
	mm_free(z);
	STEP();
	/* 8 pages: 10 is more than 1/8 over, so the heap serves it: from pages it used
	 * before (the cache keeps its span), or, if it has none that fit, from the span the
	 * cache gives back first rather than from new pages */
	char *t = mm_malloc(8 * PAGE);
	uint64_t held = stats().cache_large_bytes;
	REQUIRE((held == 10 * PAGE && t != p) || (held == 0 && t == p),
		"malloc(8 pages) = %p with %llu B still held; the held span is at %p", (void *)t,
		(unsigned long long)held, (void *)p);
	ck_assert_uint_eq(mm_usable_size(t), 8 * PAGE);
	mm_free(t);
	STEP();
}
END_TEST

/* A thread frees 100 large blocks of 10 pages next to 16 MiB in use: its cache holds at most
 * 2 MiB of them, the rest go to the heap; at its exit (or at mm_scavenge in the main thread)
 * all go back.  Without the 16 MiB, the heap has shrunk a lot by the last frees (more backed
 * idle pages than pages in use): the cache then holds none, and they coalesce in the heap. */
static void *free_100_large(void *arg)
{
	struct mm_stats *inside = arg;
	static char *p[100];
	for (int i = 0; i < 100; i++)
		p[i] = mm_malloc(10 * PAGE);
	for (int i = 0; i < 100; i++) {
		mm_free(p[i]);
		REQUIRE(stats().cache_large_bytes <= 2 * MiB, "after %d frees the cache holds %llu B of large spans",
			i + 1, (unsigned long long)stats().cache_large_bytes);
	}
	*inside = stats();
	STEP();
	return NULL;
}

START_TEST(held_large_spans_stay_under_2_mib_and_go_back_at_thread_exit_and_scavenge)
{
	char *live = mm_malloc(16 * MiB);
	struct mm_stats st0 = stats(), inside;
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, free_100_large, &inside), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	REQUIRE(inside.cache_large_bytes >= MiB, "the thread's cache held only %llu B",
		(unsigned long long)inside.cache_large_bytes);
	struct mm_stats st1 = stats();
	ck_assert_uint_eq(st1.cache_large_bytes, st0.cache_large_bytes);
	ck_assert_uint_eq(st1.heap_inuse, st0.heap_inuse);
	ck_assert_uint_eq(st1.nmalloc - st0.nmalloc, st1.nfree - st0.nfree);
	char *p[20];
	for (int i = 0; i < 20; i++)
		p[i] = mm_malloc(10 * PAGE);
	for (int i = 0; i < 20; i++)
		mm_free(p[i]);
	struct mm_stats st2 = stats();
	ck_assert_uint_eq(st2.cache_large_bytes, 20 * 10 * PAGE);
	mm_scavenge(0);
	struct mm_stats st3 = stats();
	ck_assert_uint_eq(st3.cache_large_bytes, 0);
	ck_assert_uint_eq(st3.heap_inuse, st2.heap_inuse - 20 * 10 * PAGE);
	ck_assert_uint_ge(st3.heap_released, 20 * 10 * PAGE);
	ck_assert_uint_eq(st3.nmalloc, st2.nmalloc);
	ck_assert_uint_eq(st3.nfree, st2.nfree);
	mm_free(live);
	STEP();
}
END_TEST

START_TEST(a_heap_that_shrank_a_lot_gets_its_large_spans_back_at_once)
{
	struct mm_stats inside;
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, free_100_large, &inside), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	REQUIRE(inside.cache_large_bytes == 0, "after the heap shrank to nothing the cache still held %llu B",
		(unsigned long long)inside.cache_large_bytes);
	REQUIRE(inside.heap_idle - inside.heap_released >= 100 * 10 * PAGE,
		"the 100 freed spans are not idle in the heap: %llu B backed idle",
		(unsigned long long)(inside.heap_idle - inside.heap_released));
}
END_TEST

START_TEST(thread_exit_returns_the_cache_to_central_and_spans_to_the_heap)
{
	struct mm_stats st0 = stats();
	ck_assert_uint_eq(st0.cache_bytes, 0);
	static void *objs[3000];
	size_t sizes[] = {16, 64, 256, 1024, 4096, 20000};
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		struct work w = {sizes[k], 3000, objs, 1, 1, {0}};
		run(&w);
		ck_assert_uint_gt(w.inside.cache_bytes, 0);
		struct mm_stats st = stats();
		REQUIRE(st.cache_bytes == 0,
			      "size %zu: after the thread exited, cache_bytes is %llu", sizes[k],
			      (unsigned long long)st.cache_bytes);
		REQUIRE(st.heap_inuse <= st0.heap_inuse + spare_bytes(&st),
			      "size %zu: after the thread exited, heap_inuse %llu (was %llu): "
			      "central holds more than one spare span per class",
			      sizes[k], (unsigned long long)st.heap_inuse,
			      (unsigned long long)st0.heap_inuse);
		int c = class_of_size(&st, sizes[k] + GUARD_BYTES(sizes[k]));
		ck_assert_uint_eq(st.by_class[c].nmalloc - st0.by_class[c].nmalloc, 3000);
		ck_assert_uint_eq(st.by_class[c].nfree - st0.by_class[c].nfree, 3000);
		STEP();
	}
}
END_TEST

START_TEST(objects_freed_by_another_thread_than_the_allocating_one)
{
	static void *objs[5000];
	struct mm_stats st0 = stats();
	struct work a = {200, 5000, objs, 1, 0, {0}};
	run(&a);
	struct mm_stats st1 = stats();
	ck_assert_uint_eq(st1.heap_objects, st0.heap_objects + 5000);
	ck_assert_uint_eq(st1.cache_bytes, 0);
	STEP();
	struct work b = {200, 5000, objs, 0, 1, {0}};
	run(&b);
	struct mm_stats st2 = stats();
	ck_assert_uint_eq(st2.heap_objects, st0.heap_objects);
	ck_assert_uint_eq(st2.cache_bytes, 0);
	ck_assert_uint_le(st2.heap_inuse, st0.heap_inuse + spare_bytes(&st2));
	STEP();
}
END_TEST

/* The main thread frees what a worker allocated, and the reverse, while both live. */
static void *alloc_for_main(void *arg)
{
	void **objs = arg;
	for (int i = 0; i < 1000; i++) {
		objs[i] = mm_malloc(24 + (size_t)i % 500);
		pattern_fill(objs[i], 24 + (size_t)i % 500, (uint32_t)i);
	}
	return NULL;
}

START_TEST(main_thread_frees_objects_of_a_live_worker)
{
	static void *objs[1000];
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, alloc_for_main, objs), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	for (int i = 0; i < 1000; i++) {
		ck_assert_int_eq(pattern_check(objs[i], 24 + (size_t)i % 500, (uint32_t)i), -1);
		mm_free(objs[i]);
	}
	STEP();
	ck_assert_uint_eq(stats().heap_objects, 0);
}
END_TEST

START_TEST(cache_records_of_exited_threads_are_reused)
{
	void *objs[10];
	struct work w = {32, 10, objs, 1, 1, {0}};
	for (int i = 0; i < 3; i++)
		run(&w);
	uint64_t rec3 = stats().records_sys;
	for (int i = 0; i < 200; i++)
		run(&w);
	uint64_t rec203 = stats().records_sys;
	REQUIRE(rec203 == rec3,
		      "records_sys grew from %llu to %llu over 200 short-lived threads",
		      (unsigned long long)rec3, (unsigned long long)rec203);
	STEP();
}
END_TEST

Suite *cache_suite(void)
{
	return SUITE_OF("cache",
		TCASE("threads", 60,
			a_thread_keeps_its_freed_objects_in_its_cache,
			a_list_of_16_kib_objects_keeps_at_most_256_kib,
			a_small_heap_trims_its_cache_to_about_1_mib,
			a_cache_next_to_64_mib_in_use_keeps_more,
			a_freed_large_block_is_held_by_the_cache_and_reused,
			held_large_spans_stay_under_2_mib_and_go_back_at_thread_exit_and_scavenge,
			a_heap_that_shrank_a_lot_gets_its_large_spans_back_at_once,
			thread_exit_returns_the_cache_to_central_and_spans_to_the_heap,
			objects_freed_by_another_thread_than_the_allocating_one,
			main_thread_frees_objects_of_a_live_worker,
			cache_records_of_exited_threads_are_reused));
}
