/*
 * t_stats.c - the statistics add up after every step of a mixed workload,
 * and each quantity moves by exactly what a step should move it.
 */
#include <pthread.h>

#include "testutil.h"

START_TEST(stats_add_up_after_every_step)
{
	STEP();
	void *a = mm_malloc(10);
	STEP();
	void *b = mm_malloc(100000);
	STEP();
	void *c = mm_calloc(10, 1000);
	STEP();
	a = mm_realloc(a, 5000);
	STEP();
	b = mm_realloc(b, 10);
	STEP();
	void *d = mm_aligned_alloc(4096, 300);
	STEP();
	mm_free(c);
	STEP();
	mm_scavenge(0);
	STEP();
	mm_free(a);
	STEP();
	mm_free(b);
	STEP();
	mm_free(d);
	STEP();
	mm_scavenge(0);
	STEP();
	ck_assert_uint_eq(stats().heap_objects, 0);
}
END_TEST

START_TEST(nmalloc_nfree_and_heap_objects_count_each_call)
{
	enum { N = 1000 };
	static void *p[N];
	struct mm_stats st0 = stats();
	for (int i = 0; i < N; i++)
		p[i] = mm_malloc((size_t)(i % 3 == 0 ? 40000 + i : 16 + i));
	struct mm_stats st1 = stats();
	ck_assert_uint_eq(st1.nmalloc - st0.nmalloc, N);
	ck_assert_uint_eq(st1.heap_objects - st0.heap_objects, N);
	STEP();
	for (int i = 0; i < N; i += 2)
		mm_free(p[i]);
	struct mm_stats st2 = stats();
	ck_assert_uint_eq(st2.nfree - st1.nfree, N / 2);
	ck_assert_uint_eq(st2.heap_objects - st0.heap_objects, N / 2);
	STEP();
	for (int i = 1; i < N; i += 2)
		mm_free(p[i]);
	struct mm_stats st3 = stats();
	ck_assert_uint_eq(st3.heap_objects, st0.heap_objects);
	ck_assert_uint_eq(st3.nmalloc - st3.nfree, st0.nmalloc - st0.nfree);
	STEP();
}
END_TEST

START_TEST(heap_grows_only_by_what_is_mapped_and_sys_covers_it)
{
	struct mm_stats st0 = stats();
	void *p = mm_malloc(100 * MiB);
	struct mm_stats st1 = stats();
	ck_assert_uint_ge(st1.heap_sys - st0.heap_sys, 100 * MiB);
	ck_assert_uint_ge(st1.sys - st0.sys, st1.heap_sys - st0.heap_sys);
	ck_assert_uint_eq(st1.heap_inuse - st0.heap_inuse, 100 * MiB);
	STEP();
	mm_free(p);
	struct mm_stats st2 = stats();
	ck_assert_uint_eq(st2.heap_sys, st1.heap_sys);  /* freeing does not unmap */
	ck_assert_uint_eq(st2.heap_idle - st1.heap_idle, 100 * MiB);
	STEP();
}
END_TEST

START_TEST(every_object_lies_inside_the_arena)
{
	void *p[100];
	for (int i = 0; i < 100; i++)
		p[i] = mm_malloc((size_t)(i * 997) % 70000 + 1);
	struct mm_stats st = stats();
	ck_assert_uint_le(st.arena_start, st.arena_used);
	ck_assert_uint_le(st.arena_used, st.arena_end);
	for (int i = 0; i < 100; i++) {
		REQUIRE((uintptr_t)p[i] >= st.arena_start && (uintptr_t)p[i] < st.arena_end,
			      "%p outside the arena [%p, %p)", p[i], (void *)st.arena_start,
			      (void *)st.arena_end);
		mm_free(p[i]);
	}
	STEP();
}
END_TEST

START_TEST(arena_policy_follows_the_pointer_width)
{
	void *p = mm_malloc(1);
	struct mm_stats st = stats();
	ck_assert_int_eq(st.arena_policy, sizeof(void *) == 8 ? MM_ARENA_64 : MM_ARENA_32);
	mm_free(p);
}
END_TEST

static void *thread_churn(void *arg)
{
	(void)arg;
	for (int r = 0; r < 50; r++) {
		void *p[64];
		for (int i = 0; i < 64; i++)
			p[i] = mm_malloc((size_t)(r * 64 + i) % 3000 + 1);
		for (int i = 0; i < 64; i++)
			mm_free(p[i]);
	}
	return NULL;
}

START_TEST(stats_add_up_while_other_threads_allocate)
{
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, thread_churn, NULL), 0);
	for (int k = 0; k < 200; k++) {
		struct mm_stats st = stats();
		REQUIRE(st.heap_sys == st.heap_inuse + st.heap_idle,
			      "read %d: heap_sys %llu != inuse %llu + idle %llu while threads run", k,
			      (unsigned long long)st.heap_sys, (unsigned long long)st.heap_inuse,
			      (unsigned long long)st.heap_idle);
	}
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	STEP();
	ck_assert_uint_eq(stats().heap_objects, 0);
}
END_TEST

Suite *stats_suite(void)
{
	return SUITE_OF("stats",
		TCASE("stats", 60,
			stats_add_up_after_every_step,
			nmalloc_nfree_and_heap_objects_count_each_call,
			heap_grows_only_by_what_is_mapped_and_sys_covers_it,
			every_object_lies_inside_the_arena,
			arena_policy_follows_the_pointer_width,
			stats_add_up_while_other_threads_allocate));
}
