/*
 * t_heap.c - the page heap through large objects (> 32 KiB), which come
 * straight from it: a free span is split and its rest stays free, the best
 * (smallest) fitting free span is chosen, a freed span coalesces with free
 * neighbours on either side, and very large spans work.  A freed large span
 * of a few pages whose neighbours are in use is kept whole for the next
 * request of its page count (heap_kept), up to 1 MiB, and given back by the
 * scavenger.  A thread's cache would hold such spans itself (t_cache), so
 * these tests free with heap_free, which has the cache give them back at
 * once: the heap then sees every free as in a process without caches.
 *
 * Each test starts from a fresh process (Check forks).  setup_region() makes
 * one big free span X whose only free company is too small to matter (see
 * free_region in testutil.c), so the tests know which free spans exist.
 */
#include <pthread.h>

#include "testutil.h"
#include "internal.h"

#define U (16 * PAGE)         /* unit of these tests: 64 KiB, a large object */
#define XSIZE (64 * MiB)

static char *X;                /* the free region, [X, X+XSIZE) */

static int in_x(const void *p, size_t n)
{
	return (const char *)p >= X && (const char *)p + n <= X + XSIZE;
}

static void setup_region(void) { X = free_region(XSIZE); }

/* mm_free(p), then the calling thread's cache gives back the large spans it holds. */
static void heap_free(void *p)
{
	mm_free(p);
	if (mm_hosted_cache)
		mm_cache_large_flush(mm_hosted_cache);
}

START_TEST(split_serves_from_a_free_span_and_keeps_the_rest_free)
{
	setup_region();
	struct mm_stats st0 = stats();
	char *a = mm_malloc(3 * U);
	REQUIRE(in_x(a, 3 * U), "malloc(3U) = %p, outside the free span %p", (void *)a, (void *)X);
	struct mm_stats st1 = stats();
	ck_assert_uint_eq(st1.heap_sys, st0.heap_sys);
	ck_assert_uint_eq(st1.heap_idle, st0.heap_idle - 3 * U);
	ck_assert_uint_eq(st1.heap_inuse, st0.heap_inuse + 3 * U);
	STEP();
	/* the rest is exactly one free span: it serves the remaining bytes at once */
	char *b = mm_malloc(XSIZE - 3 * U);
	REQUIRE(in_x(b, XSIZE - 3 * U), "rest of the split span not reused: %p", (void *)b);
	REQUIRE(b + (XSIZE - 3 * U) <= a || a + 3 * U <= b, "split parts overlap");
	struct mm_stats st2 = stats();
	ck_assert_uint_eq(st2.heap_sys, st0.heap_sys);
	ck_assert_uint_eq(st2.heap_idle, st0.heap_idle - XSIZE);
	STEP();
	heap_free(a);
	STEP();
	heap_free(b);
	STEP();
	ck_assert_uint_eq(stats().heap_idle, st0.heap_idle);
}
END_TEST

START_TEST(best_fit_chooses_the_smallest_free_span_that_fits)
{
	setup_region();
	struct mm_stats st0 = stats();
	char *A = mm_malloc(10 * U), *g1 = mm_malloc(U);
	char *B = mm_malloc(5 * U), *g2 = mm_malloc(U);
	char *C = mm_malloc(7 * U), *g3 = mm_malloc(U);
	ck_assert(in_x(A, 10 * U) && in_x(B, 5 * U) && in_x(C, 7 * U));
	heap_free(A);
	heap_free(B);
	heap_free(C);
	STEP();
	char *p = mm_malloc(6 * U);
	REQUIRE(p >= C && p + 6 * U <= C + 7 * U,
		      "malloc(6U) = %p; best fit is the 7U span at %p (10U at %p, 5U at %p)",
		      (void *)p, (void *)C, (void *)A, (void *)B);
	char *q = mm_malloc(5 * U);
	REQUIRE(q == B, "malloc(5U) = %p; the exact 5U span is at %p", (void *)q, (void *)B);
	char *r = mm_malloc(9 * U);
	REQUIRE(r >= A && r + 9 * U <= A + 10 * U, "malloc(9U) = %p; best fit is the 10U span at %p",
		      (void *)r, (void *)A);
	ck_assert_uint_eq(stats().heap_sys, st0.heap_sys);
	STEP();
	heap_free(p);
	heap_free(q);
	heap_free(r);
	heap_free(g1);
	heap_free(g2);
	heap_free(g3);
	STEP();
	ck_assert_uint_eq(stats().heap_idle, st0.heap_idle);
}
END_TEST

/* Many free spans above the exact-size lists: each request gets its exact span. */
START_TEST(best_fit_among_many_large_free_spans)
{
	setup_region();
	enum { N = 60 };
	char *span[N], *g[N];
	size_t pages[N];
	for (int i = 0; i < N; i++) {
		pages[i] = 129 + 2 * (size_t)((i * 37) % N); /* distinct sizes, shuffled */
		span[i] = mm_malloc(pages[i] * PAGE);
		g[i] = mm_malloc(U);
		ck_assert_ptr_nonnull(span[i]);
		ck_assert_ptr_nonnull(g[i]);
	}
	for (int i = 0; i < N; i++)
		heap_free(span[i]);
	STEP();
	struct mm_stats st0 = stats();
	for (int k = 0; k < N; k++) {
		int i = (k * 53) % N;
		char *p = mm_malloc(pages[i] * PAGE);
		REQUIRE(p == span[i], "malloc(%zu pages) = %p; the exact free span is at %p",
			      pages[i], (void *)p, (void *)span[i]);
		span[i] = p;
	}
	ck_assert_uint_eq(stats().heap_sys, st0.heap_sys);
	STEP();
	for (int i = 0; i < N; i++) {
		heap_free(span[i]);
		heap_free(g[i]);
	}
	STEP();
}
END_TEST

/*
 * Three adjacent v-byte spans s[0..2]: free the ones in first[] (nfirst of
 * them), then s[last], which must coalesce with every free neighbour: a
 * request for the joined size is served at s[start], without new memory.
 */
static void coalesce_case(size_t v, const int *first, int nfirst, int last, int start)
{
	setup_region();
	char *s[3];
	three_adjacent(s, v);
	int nfree = nfirst + 1;
	struct mm_stats st0 = stats();
	for (int i = 0; i < nfirst; i++)
		heap_free(s[first[i]]);
	STEP();
	heap_free(s[last]);
	STEP();
	ck_assert_uint_eq(stats().heap_idle, st0.heap_idle + (uint64_t)nfree * v);
	char *p = mm_malloc((size_t)nfree * v);
	REQUIRE(p == s[start], "freed s[%d] after %d neighbour(s): malloc(%d * V) = %p; the coalesced span starts at s[%d] %p",
		last, nfirst, nfree, (void *)p, start, (void *)s[start]);
	ck_assert_uint_eq(stats().heap_sys, st0.heap_sys);
	STEP();
}

START_TEST(freed_span_coalesces_with_free_neighbours_on_both_sides)
{
	coalesce_case(3 * U, (const int[]){0, 2}, 2, 1, 0); /* the middle joins left and right */
}
END_TEST

START_TEST(freed_span_coalesces_with_a_free_right_neighbour)
{
	coalesce_case(2 * U, (const int[]){1}, 1, 0, 0); /* the left one: its right neighbour is free */
}
END_TEST

START_TEST(freed_span_coalesces_with_a_free_left_neighbour)
{
	coalesce_case(2 * U, (const int[]){1}, 1, 2, 1); /* the right one: its left neighbour is free */
}
END_TEST

START_TEST(large_realloc_grows_in_place_into_a_free_right_neighbour)
{
	setup_region();
	char *p = mm_malloc(MiB);
	ck_assert_ptr_eq(p, X); /* the front of the free region: free pages follow */
	pattern_fill(p, MiB, 5);
	struct mm_stats st0 = stats();
	char *q = mm_realloc(p, 4 * MiB);
	REQUIRE(q == p, "realloc(1 MiB -> 4 MiB) moved %p to %p though the next 3 MiB are free",
		(void *)p, (void *)q);
	ck_assert_int_eq(pattern_check(q, MiB, 5), -1);
	ck_assert_uint_eq(mm_usable_size(q), 4 * MiB);
	struct mm_stats st1 = stats();
	ck_assert_uint_eq(st1.heap_inuse, st0.heap_inuse + 3 * MiB);
	ck_assert_uint_eq(st1.heap_sys, st0.heap_sys);
	memset(q + MiB, 7, 3 * MiB);
	STEP();
	heap_free(q);
	STEP();
}
END_TEST

/*
 * A large block that must move to grow (the pages after it are in use)
 * moves to room for twice what it had, its canary at the size asked for; the
 * next steps grow into that room in place, then it moves again.
 */
START_TEST(large_realloc_that_moves_leaves_room_for_the_next_steps)
{
	setup_region();
	size_t n = 100 * KiB;
	char *p = mm_malloc(n);
	char *wall = mm_malloc(64 * KiB); /* in use right after p: p cannot grow in place */
	ck_assert_ptr_eq(wall, p + n);
	pattern_fill(p, n, 8);
	char *q = mm_realloc(p, n + 1000);
	ck_assert_ptr_ne(q, p);
	ck_assert_int_eq(pattern_check(q, n, 8), -1);
	size_t room = (2 * n + PAGE - 1) / PAGE * PAGE; /* twice what it had, whole pages */
	char *wall2 = mm_malloc(64 * KiB); /* right after q's span: the room is all it may grow into */
	REQUIRE(wall2 == q + room, "the block after q is at %p, not %p", (void *)wall2, (void *)(q + room));
	for (size_t m = n + 1000; m <= room; m += 4000) {
		char *r = mm_realloc(q, m);
		REQUIRE(r == q, "realloc(%zu -> %zu) moved %p to %p (room for %zu)", n, m, (void *)q, (void *)r,
			room);
		r[m - 1] = 1;
		REQUIRE(mm_check() == 0, "mm_check after realloc to %zu: %s", m, mm_check_error());
	}
	ck_assert_int_eq(pattern_check(q, n, 8), -1);
	/* an overflow past the size asked for is still caught at the canary */
	char *r = mm_realloc(q, room - 100);
	ck_assert_ptr_eq(r, q);
	ck_assert_int_eq(mm_check(), 0);
	r[room - 100] = 0;
	ck_assert_int_eq(mm_check(), -1);
	r[room - 100] = (char)0xcb; /* the canary's byte again */
	ck_assert_int_eq(mm_check(), 0);
	STEP();
	char *t = mm_realloc(r, room + 1); /* past the room: it moves again */
	ck_assert_ptr_ne(t, r);
	ck_assert_int_eq(pattern_check(t, n, 8), -1);
	heap_free(t);
	heap_free(wall);
	heap_free(wall2);
	STEP();
}
END_TEST

START_TEST(large_realloc_shrinks_in_place_and_gives_the_tail_back)
{
	setup_region();
	char *p = mm_malloc(4 * MiB);
	pattern_fill(p, 4 * MiB, 6);
	struct mm_stats st0 = stats();
	char *q = mm_realloc(p, 300 * KiB);
	REQUIRE(q == p, "realloc(4 MiB -> 300 KiB) moved %p to %p", (void *)p, (void *)q);
	ck_assert_int_eq(pattern_check(q, 300 * KiB, 6), -1);
	size_t kept = (300 * KiB + PAGE - 1) / PAGE * PAGE;
	ck_assert_uint_eq(mm_usable_size(q), kept);
	struct mm_stats st1 = stats();
	ck_assert_uint_eq(st1.heap_inuse, st0.heap_inuse - (4 * MiB - kept));
	ck_assert_uint_eq(st1.heap_idle, st0.heap_idle + (4 * MiB - kept));
	STEP();
	/* the tail went back whole: a request for it fits right after q */
	char *r = mm_malloc(4 * MiB - kept);
	ck_assert_ptr_eq(r, q + kept);
	STEP();
	heap_free(r);
	heap_free(q);
	STEP();
}
END_TEST

static void *churn_small(void *arg)
{
	enum { N = 20000 };
	static void *p[N];
	(void)arg;
	for (int i = 0; i < N; i++)
		p[i] = mm_malloc(48 + (i % 7) * 100);
	for (int i = 0; i < N; i++)
		heap_free(p[i]);
	return NULL;
}

/* When every object of a span is free (and no cache holds one), the span goes
 * back to the heap; central may keep one spare span per class. */
START_TEST(small_object_spans_return_to_the_heap_when_all_objects_are_free)
{
	struct mm_stats st0 = stats();
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, churn_small, NULL), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	STEP();
	struct mm_stats st1 = stats();
	ck_assert_uint_eq(st1.heap_objects, st0.heap_objects);
	REQUIRE(st1.heap_inuse <= st0.heap_inuse + spare_bytes(&st1),
		      "after the thread freed all its small objects and exited, heap_inuse is %llu "
		      "(was %llu; one spare span per class allows %llu more)",
		      (unsigned long long)st1.heap_inuse, (unsigned long long)st0.heap_inuse,
		      (unsigned long long)spare_bytes(&st1));
	ck_assert_uint_ge(st1.heap_idle, st0.heap_idle);
}
END_TEST

START_TEST(very_large_spans_are_served_and_returned)
{
	size_t sizes[] = {256 * MiB, 512 * MiB + 3 * PAGE + 1};
	for (size_t i = 0; i < 2; i++) {
		struct mm_stats st0 = stats();
		char *p = mm_malloc(sizes[i]);
		REQUIRE(p != NULL, "malloc(%zu) = NULL", sizes[i]);
		p[0] = 1;
		p[sizes[i] - 1] = 2;
		p[sizes[i] / 2] = 3;
		struct mm_stats st1 = stats();
		ck_assert_uint_ge(st1.heap_inuse, st0.heap_inuse + sizes[i]);
		ck_assert_uint_eq(mm_usable_size(p), (sizes[i] + PAGE - 1) / PAGE * PAGE);
		REQUIRE((uintptr_t)p >= st1.arena_start && (uintptr_t)p + sizes[i] <= st1.arena_end,
			      "%p not inside the arena [%p, %p)", (void *)p, (void *)st1.arena_start,
			      (void *)st1.arena_end);
		STEP();
		ck_assert(p[0] == 1 && p[sizes[i] - 1] == 2 && p[sizes[i] / 2] == 3);
		heap_free(p);
		STEP();
		ck_assert_uint_eq(stats().heap_inuse, st0.heap_inuse);
	}
}
END_TEST

#define KV (10 * PAGE)         /* a large object that is kept when freed */

START_TEST(kept_span_is_reused_by_the_next_request_of_its_page_count)
{
	setup_region();
	char *s[3];
	three_adjacent(s, KV);
	struct mm_stats st0 = stats();
	ck_assert_uint_eq(st0.heap_kept, 0);
	heap_free(s[1]); /* its neighbours are in use: kept */
	STEP();
	struct mm_stats st1 = stats();
	ck_assert_uint_eq(st1.heap_kept, KV);
	ck_assert_uint_eq(st1.heap_idle, st0.heap_idle + KV);
	ck_assert_uint_eq(st1.heap_inuse, st0.heap_inuse - KV);
	ck_assert_uint_eq(st1.nfree, st0.nfree + 1);
	ck_assert_uint_eq(st1.heap_objects, st0.heap_objects - 1);
	char *p = mm_malloc(KV - PAGE + 1); /* the same page count */
	REQUIRE(p == s[1], "malloc(%zu pages) = %p; the kept span is at %p", (size_t)(KV / PAGE),
		(void *)p, (void *)s[1]);
	STEP();
	struct mm_stats st2 = stats();
	ck_assert_uint_eq(st2.heap_kept, 0);
	ck_assert_uint_eq(st2.heap_idle, st0.heap_idle);
	ck_assert_uint_eq(st2.heap_inuse, st0.heap_inuse);
	ck_assert_uint_eq(st2.heap_sys, st0.heap_sys);
	ck_assert_uint_eq(st2.nmalloc, st0.nmalloc + 1);
	ck_assert_uint_eq(st2.heap_objects, st0.heap_objects);
	memset(p, 0x5a, KV - PAGE + 1); /* and its canary is whole again */
	heap_free(p);
	STEP();
	/* another page count does not take it: it comes from the free structure */
	char *q = mm_malloc(KV + PAGE);
	ck_assert_ptr_ne(q, s[1]);
	ck_assert_uint_eq(stats().heap_kept, KV);
	heap_free(q);
	STEP();
}
END_TEST

START_TEST(kept_span_coalesces_when_a_neighbour_is_freed)
{
	setup_region();
	char *s[3];
	three_adjacent(s, KV);
	struct mm_stats st0 = stats();
	heap_free(s[1]);
	ck_assert_uint_eq(stats().heap_kept, KV);
	heap_free(s[0]); /* next to a kept span: both join the free structure */
	STEP();
	struct mm_stats st1 = stats();
	ck_assert_uint_eq(st1.heap_kept, 0);
	ck_assert_uint_eq(st1.heap_idle, st0.heap_idle + 2 * KV);
	char *p = mm_malloc(2 * KV);
	REQUIRE(p == s[0], "malloc(2 * KV) = %p; the coalesced span starts at %p", (void *)p, (void *)s[0]);
	STEP();
	heap_free(p);
	STEP();
}
END_TEST

START_TEST(kept_spans_stay_under_their_byte_limit_and_the_scavenger_gives_them_back)
{
	enum { N = 64 };
	setup_region();
	char *p[N], *g[N];
	for (int i = 0; i < N; i++) { /* each between objects in use */
		p[i] = mm_malloc(KV);
		g[i] = mm_malloc(KV + PAGE);
	}
	struct mm_stats st0 = stats();
	for (int i = 0; i < N; i++) {
		heap_free(p[i]);
		struct mm_stats st = stats();
		REQUIRE(st.heap_kept <= MiB, "after %d frees, %llu bytes kept: above 1 MiB", i + 1,
			(unsigned long long)st.heap_kept);
	}
	STEP();
	struct mm_stats st1 = stats();
	ck_assert_uint_gt(st1.heap_kept, MiB - KV);
	ck_assert_uint_eq(st1.heap_idle, st0.heap_idle + N * KV);
	uint64_t r = mm_scavenge(0);
	STEP();
	struct mm_stats st2 = stats();
	ck_assert_uint_eq(st2.heap_kept, 0);
	ck_assert_uint_eq(st2.heap_idle, st1.heap_idle);
	ck_assert_uint_eq(st2.heap_released, st2.heap_idle);
	ck_assert_uint_ge(r, st1.heap_kept);
	for (int i = 0; i < N; i++)
		heap_free(g[i]);
	STEP();
}
END_TEST

Suite *heap_suite(void)
{
	return SUITE_OF("heap",
		TCASE("spans", 120,
			split_serves_from_a_free_span_and_keeps_the_rest_free,
			best_fit_chooses_the_smallest_free_span_that_fits,
			best_fit_among_many_large_free_spans,
			freed_span_coalesces_with_free_neighbours_on_both_sides,
			freed_span_coalesces_with_a_free_right_neighbour,
			freed_span_coalesces_with_a_free_left_neighbour,
			large_realloc_grows_in_place_into_a_free_right_neighbour,
			large_realloc_shrinks_in_place_and_gives_the_tail_back,
			large_realloc_that_moves_leaves_room_for_the_next_steps,
			small_object_spans_return_to_the_heap_when_all_objects_are_free,
			very_large_spans_are_served_and_returned),
		TCASE("kept", 60,
			kept_span_is_reused_by_the_next_request_of_its_page_count,
			kept_span_coalesces_when_a_neighbour_is_freed,
			kept_spans_stay_under_their_byte_limit_and_the_scavenger_gives_them_back));
}
