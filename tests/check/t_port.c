/*
 * t_port.c - traps a port can fall into, made loud, on the fake Sys backend:
 * mm_init errors that name the mm_config field, a host that refuses the
 * first reservation (a fixed pool without MM_ARENA_CHUNKS), a chunk request
 * no reservation can hold, a host whose memory is not zeroed
 * (memory_not_zeroed), and the reclaim hook that lets a host make other
 * CPUs give their caches back when memory runs out.
 */
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "fakesys.h"
#include "fakeutil.h"
#include "internal.h"

static void says(const char *what, const char *want)
{
	const char *e = mm_last_error();
	REQUIRE(e && strstr(e, want), "%s: mm_last_error() should name \"%s\", is \"%s\"", what, want,
		e ? e : "(null)");
}

/* ---- mm_init ---- */

START_TEST(bad_config_fields_are_refused_by_name)
{
	fake_reset();
	struct mm_config bad_policy = {.arena_policy = 9};
	ck_assert_int_eq(mm_init(&bad_policy), -1);
	says("arena_policy 9", "mm_config.arena_policy is 9");
	struct mm_config bad_hint = {.arena_policy = MM_ARENA_32, .arena_hint = fake_addr(SIM_START) + 100};
	ck_assert_int_eq(mm_init(&bad_hint), -1);
	says("unaligned hint", "mm_config.arena_hint");
	struct mm_config bad_size = {.arena_policy = MM_ARENA_CHUNKS, .arena_size = MiB + 1};
	ck_assert_int_eq(mm_init(&bad_size), -1);
	says("unaligned size", "mm_config.arena_size");
	ck_assert_int_eq(fake_count(FAKE_RESERVE), 0); /* nothing was asked of the host */

	struct mm_config good = {.arena_policy = MM_ARENA_32, .arena_hint = fake_addr(SIM_START)};
	ck_assert_int_eq(mm_init(&good), 0);
	ck_assert_ptr_null(mm_last_error());
	void *p = mm_malloc(100);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(mm_init(&good), -1);
	says("second mm_init", "already set up");
	mm_free(p);
	STEP();
}
END_TEST

/* A fixed pool that forgot mm_init: every allocation NULL, and the reason says what to do. */
START_TEST(host_refusing_the_first_reservation_is_told_to_use_chunks)
{
	refused_from_the_start();
	says("allocations without a reservation", "MM_ARENA_CHUNKS");
	says("allocations without a reservation", "mm_sys_reserve refused");
	ck_assert_ptr_null(mm_malloc(MiB));
	says("large malloc without a reservation", "MM_ARENA_CHUNKS");
	fake.refuse_reserve = 0;
	struct mm_config cfg = {.arena_policy = MM_ARENA_CHUNKS};
	ck_assert_int_eq(mm_init(&cfg), 0);
	ck_assert_ptr_null(mm_last_error());
	void *p = mm_malloc(16);
	ck_assert_ptr_nonnull(p);
	mm_free(p);
	STEP();
}
END_TEST

/* A request larger than any free range of the host: NULL, and the request is named. */
START_TEST(chunk_request_no_reservation_can_hold_is_named)
{
	fake_reset();
	/* Leave the host 24 MiB of contiguous address space, the rest taken. */
	fake_take(0, FAKE_SPACE - 24 * MiB);
	struct mm_config cfg = {.arena_policy = MM_ARENA_CHUNKS, .arena_size = MiB};
	ck_assert_int_eq(mm_init(&cfg), 0);
	void *a = mm_malloc(4 * MiB);
	ck_assert_ptr_nonnull(a);
	pattern_fill(a, 4 * MiB, 1);
	ck_assert_ptr_null(mm_malloc(32 * MiB));
	char want[64];
	snprintf(want, sizeof want, "request of %lu pages", (unsigned long)(32 * MiB / MM_PAGE_SIZE));
	says("32 MiB from a 24 MiB host", want);
	says("32 MiB from a 24 MiB host", "MM_ARENA_CHUNKS");
	ck_assert_int_eq(pattern_check(a, 4 * MiB, 1), -1);
	void *b = mm_malloc(8 * MiB); /* what does fit still works */
	ck_assert_ptr_nonnull(b);
	mm_free(b);
	mm_free(a);
	STEP();
}
END_TEST

/* ---- memory that is not zeroed ---- */

START_TEST(host_memory_not_zeroed_is_cleared_where_the_core_relies_on_it)
{
	fake_reset();
	fake.dirty_maps = 1;
	fake.unused_keeps_data = 1;
	struct mm_config cfg = {.arena_policy = MM_ARENA_32, .arena_hint = fake_addr(SIM_START),
				.memory_not_zeroed = 1};
	ck_assert_int_eq(mm_init(&cfg), 0);
	struct mm_cache *c = mm_cache_new(); /* a record from dirty memory */
	ck_assert_ptr_nonnull(c);
	fake.cache = c;
	enum { N = 2000 };
	static void *p[N];
	for (int i = 0; i < N; i++) {
		size_t n = (size_t)1 + (size_t)(i * 7919) % (i % 10 ? 3000 : 300000);
		p[i] = i % 3 ? mm_malloc(n) : mm_calloc(1, n);
		ck_assert_ptr_nonnull(p[i]);
		if (i % 3 == 0)
			REQUIRE(all_zero(p[i], n), "calloc(1, %zu) = %p is not zero on dirty memory", n, p[i]);
		pattern_fill(p[i], n, (uint32_t)i);
	}
	STEP(); /* mm_check: span records, pagemap nodes and the class map read as they should */
	for (int i = 0; i < N; i += 2)
		mm_free(p[i]);
	void *big = mm_calloc(1, 5 * MiB); /* new pages, never mapped before: 0xdb from the host */
	ck_assert_ptr_nonnull(big);
	REQUIRE(all_zero(big, 5 * MiB), "calloc(5 MiB) on dirty memory is not zero");
	for (int i = 1; i < N; i += 2) {
		size_t n = (size_t)1 + (size_t)(i * 7919) % (i % 10 ? 3000 : 300000);
		REQUIRE(pattern_check(p[i], n, (uint32_t)i) == -1, "block %d changed", i);
		mm_free(p[i]);
	}
	mm_free(big);
	fake.cache = NULL;
	mm_cache_release(c);
	STEP();
}
END_TEST

/* ---- the reclaim hook ---- */

static struct mm_cache *other_cpu;
static int nreclaim, reclaim_flushes;

/* The host's hook: "IPI" the other CPU, which flushes its own cache. */
static int flush_other_cpu(size_t n)
{
	(void)n;
	nreclaim++;
	if (!reclaim_flushes)
		return 0;
	mm_cache_flush(other_cpu);
	return 1;
}

/*
 * The CPU whose cache is c fills 768 KiB with 256-byte objects and frees
 * them: 256 KiB stay in its cache (a list's most, MM_CACHE_LIST_BYTES), more
 * wait in central's transfer slots (fake.cache stays c).  The stats after.
 */
static struct mm_stats fill_cache(struct mm_cache *c)
{
	enum { N = 3072 };
	static void *p[N];
	ck_assert_ptr_nonnull(c);
	fake.cache = c;
	for (int i = 0; i < N; i++)
		ck_assert_ptr_nonnull(p[i] = mm_malloc(256));
	for (int i = 0; i < N; i++)
		mm_free(p[i]);
	struct mm_stats st = stats();
	ck_assert_uint_ge(st.cache_bytes, 192 * KiB);
	return st;
}

/*
 * With no memory beyond what is mapped: more than the heap has idle (st
 * from fill_cache) is served only if the caches' objects come back (how:
 * what says); then no cache holds any.  Leaves fake.cache NULL.
 */
static void gets_the_cached_memory(const struct mm_stats *st, const char *how)
{
	size_t n = st->heap_idle + st->cache_bytes / 4;
	void *q = mm_malloc(n);
	REQUIRE(q != NULL, "%lu bytes failed, though %s", (unsigned long)n, how);
	ck_assert_uint_eq(stats().cache_bytes, 0);
	mm_free(q);
	fake.cache = NULL;
}

START_TEST(reclaim_hook_gets_back_what_other_caches_hold)
{
	init_fake_with((struct mm_config){.reclaim = flush_other_cpu});
	other_cpu = mm_cache_new();
	struct mm_cache *this_cpu = mm_cache_new();
	ck_assert_ptr_nonnull(other_cpu);
	ck_assert_ptr_nonnull(this_cpu);

	struct mm_stats st = fill_cache(other_cpu);

	/* This CPU: no memory beyond what is mapped now. */
	fake.cache = this_cpu;
	fake.map_budget = fake.mapped;
	void *q = mm_malloc(st.heap_idle + st.cache_bytes / 4);
	ck_assert_ptr_null(q); /* the hook declined: the other CPU's objects pin their pages */
	ck_assert_int_ge(nreclaim, 1);
	reclaim_flushes = 1;
	gets_the_cached_memory(&st, "the hook flushes the other cache");
	mm_cache_release(this_cpu);
	mm_cache_release(other_cpu);
	STEP();
}
END_TEST

/* Without a hook the core still flushes the calling context's own cache and retries. */
START_TEST(own_cache_is_flushed_before_an_allocation_fails)
{
	init_fake();
	struct mm_cache *c = mm_cache_new();
	struct mm_stats st = fill_cache(c);
	fake.map_budget = fake.mapped;
	gets_the_cached_memory(&st, "the core gives the cache's own objects back first");
	mm_cache_release(c);
	STEP();
}
END_TEST

Suite *port_suite(void)
{
	return SUITE_OF("port",
		FAKE_TCASE("init", NULL,
			bad_config_fields_are_refused_by_name,
			host_refusing_the_first_reservation_is_told_to_use_chunks,
			chunk_request_no_reservation_can_hold_is_named),
		FAKE_TCASE("memory", NULL,
			host_memory_not_zeroed_is_cleared_where_the_core_relies_on_it,
			reclaim_hook_gets_back_what_other_caches_hold,
			own_cache_is_flushed_before_an_allocation_fails));
}
