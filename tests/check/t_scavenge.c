/*
 * t_scavenge.c - the scavenger on the real hosted backend: memory it
 * releases really leaves the process (RSS and mincore), heap_released
 * matches what it returned, released and unreleased neighbours coalesce
 * with exact accounting, splitting a partly released span keeps counting
 * its released pages, and the idle limit is respected; the idle bound
 * (mm_scavenge_bound) gives a heap that shrank back at free time, follows
 * the heap in use, and leaves churn within its floor alone.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static void *small_churn(void *arg)
{
	size_t total = *(size_t *)arg;
	size_t n = total / 4000;
	void **p = calloc(n, sizeof *p);
	for (size_t i = 0; i < n; i++) {
		p[i] = mm_malloc(4000);
		REQUIRE(p[i] != NULL, "malloc(4000) = NULL after %zu objects", i);
		memset(p[i], 1, 4000);
	}
	for (size_t i = 0; i < n; i++)
		mm_free(p[i]);
	free(p);
	return NULL;
}

/* The hosted defaults on (the first cache sets them up), then the idle bound off:
 * these tests look at the idle limit's passes alone. */
static void idle_limit_only(void)
{
	mm_free(mm_malloc(16));
	mm_scavenge_bound(0, 0);
	ck_assert_uint_eq(stats().idle_bound, 0);
}

START_TEST(scavenge_after_freeing_256_mib_really_drops_rss)
{
	idle_limit_only();
	enum { N = 256 };
	static char *blk[N];
	uint64_t rss0 = rss_bytes();
	for (int i = 0; i < N; i++) {
		blk[i] = mm_malloc(MiB);
		ck_assert_ptr_nonnull(blk[i]);
		memset(blk[i], 0x11, MiB);
	}
	/* and 16 MiB of small objects, freed by a thread that then exits */
	size_t small = 16 * MiB;
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, small_churn, &small), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	uint64_t rss1 = rss_bytes();
	REQUIRE(rss1 >= rss0 + 256 * MiB, "touching 256 MiB raised RSS only from %llu to %llu",
		      (unsigned long long)rss0, (unsigned long long)rss1);
	STEP();
	for (int i = 0; i < N; i++)
		mm_free(blk[i]);
	STEP();
	struct mm_stats st0 = stats();
	uint64_t rss2 = rss_bytes();
	uint64_t rel = mm_scavenge(0);
	struct mm_stats st1 = stats();
	uint64_t rss3 = rss_bytes();
	REQUIRE(rel >= 256 * MiB, "mm_scavenge(0) released %llu B after freeing 256 MiB",
		      (unsigned long long)rel);
	REQUIRE(st1.heap_released == st0.heap_released + rel,
		      "heap_released %llu != %llu before + %llu returned", (unsigned long long)st1.heap_released,
		      (unsigned long long)st0.heap_released, (unsigned long long)rel);
	REQUIRE(rel == st0.heap_idle - st0.heap_released,
		      "scavenge(0) released %llu B, but %llu B were idle and not yet released",
		      (unsigned long long)rel, (unsigned long long)(st0.heap_idle - st0.heap_released));
	ck_assert_uint_eq(st1.heap_released, st1.heap_idle);
	ck_assert_uint_eq(st1.nscavenge, st0.nscavenge + 1);
	REQUIRE(rss2 >= rss3 + 256 * MiB - 8 * MiB,
		      "RSS went only from %llu to %llu after releasing %llu B", (unsigned long long)rss2,
		      (unsigned long long)rss3, (unsigned long long)rel);
	for (int i = 0; i < N; i++)
		REQUIRE(resident_in(blk[i], MiB) == 0, "block %d (%p) still has %llu B resident", i,
			      (void *)blk[i], (unsigned long long)resident_in(blk[i], MiB));
	STEP();
	REQUIRE(mm_scavenge(0) == 0, "a second pass released pages again");
	ck_assert_uint_eq(stats().heap_released, st1.heap_released);
	STEP();
	/* reuse: released pages come back, zeroed, and stop counting as released */
	SKIP_UNDER_ASAN("the arena's regions are not contiguous there, so 200 MiB may not fit in what was freed");
	char *p = mm_calloc(1, 200 * MiB);
	ck_assert_ptr_nonnull(p);
	ck_assert(all_zero(p, 200 * MiB));
	struct mm_stats st2 = stats();
	REQUIRE(st2.heap_released <= st1.heap_released - 200 * MiB,
		      "reusing 200 MiB of released pages left heap_released at %llu (was %llu)",
		      (unsigned long long)st2.heap_released, (unsigned long long)st1.heap_released);
	STEP();
	mm_free(p);
	STEP();
}
END_TEST

START_TEST(released_and_unreleased_neighbours_coalesce_with_exact_accounting)
{
	idle_limit_only();
	size_t v = 64 * PAGE;
	char *s[3];
	released_sides(s, v);
	struct mm_stats st0 = stats();
	ck_assert_uint_eq(st0.heap_released, st0.heap_idle);
	STEP();
	mm_free(s[1]); /* unreleased middle joins two released neighbours */
	struct mm_stats st1 = stats();
	REQUIRE(st1.heap_released == st0.heap_released,
		      "coalescing changed heap_released from %llu to %llu (must add the parts)",
		      (unsigned long long)st0.heap_released, (unsigned long long)st1.heap_released);
	ck_assert_uint_eq(st1.heap_idle, st0.heap_idle + v);
	STEP();
	uint64_t rel = mm_scavenge(0);
	REQUIRE(rel == v, "scavenging the coalesced span released %llu B; only the middle %zu B were not released yet",
		      (unsigned long long)rel, v);
	struct mm_stats st2 = stats();
	ck_assert_uint_eq(st2.heap_released, st1.heap_released + v);
	ck_assert_uint_eq(resident_in(s[0], 3 * v), 0);
	STEP();
	char *p = mm_malloc(3 * v);
	REQUIRE(p == s[0], "malloc(3V) = %p, the coalesced span is at %p", (void *)p, (void *)s[0]);
	struct mm_stats st3 = stats();
	ck_assert_uint_eq(st3.heap_released, st2.heap_released - 3 * v);
	memset(p, 3, 3 * v);
	STEP();
	mm_free(p);
	STEP();
}
END_TEST

START_TEST(splitting_a_partly_released_span_keeps_its_released_pages_counted)
{
	idle_limit_only();
	size_t v = 64 * PAGE;
	char *s[3];
	released_sides(s, v);
	mm_free(s[1]);
	struct mm_stats st0 = stats();
	STEP();
	char *p = mm_malloc(v); /* split V off the 3V span with 2V released */
	REQUIRE(p >= s[0] && p + v <= s[0] + 3 * v, "malloc(V) did not split the coalesced span");
	struct mm_stats st1 = stats();
	REQUIRE(st1.heap_released >= st0.heap_released - v,
		      "after splitting V off a span with 2V released, heap_released fell from %llu to %llu",
		      (unsigned long long)st0.heap_released, (unsigned long long)st1.heap_released);
	ck_assert_uint_le(st1.heap_released, st0.heap_released);
	STEP();
	uint64_t rel = mm_scavenge(0);
	struct mm_stats st2 = stats();
	ck_assert_uint_eq(rel, st1.heap_idle - st1.heap_released);
	ck_assert_uint_eq(st2.heap_released, st2.heap_idle);
	memset(p, 1, v);
	mm_free(p);
	STEP();
}
END_TEST

START_TEST(scavenge_leaves_recently_freed_spans_alone)
{
	idle_limit_only();
	mm_scavenge(0);
	char *p = mm_malloc(8 * MiB);
	memset(p, 1, 8 * MiB);
	mm_free(p);
	struct mm_stats st0 = stats();
	uint64_t rel = mm_scavenge(60ull * 1000 * 1000 * 1000); /* idle > 60 s only */
	REQUIRE(rel == 0, "a span freed just now was released by a 60 s scavenge (%llu B)",
		      (unsigned long long)rel);
	ck_assert_uint_eq(stats().heap_released, st0.heap_released);
	ck_assert_uint_ge(resident_in(p, 8 * MiB), 8 * MiB - 64 * KiB);
	STEP();
	ck_assert_uint_ge(mm_scavenge(0), 8 * MiB);
	STEP();
}
END_TEST

/*
 * The hosted background scavenger: MM_SCAVENGE=1 (seconds of idleness) makes
 * a thread release idle spans on its own, and MM_TRACE=1 prints one line a
 * pass.  The variables are read when the first cache is made, so they are
 * set before this (forked, fresh) process allocates anything.
 */
START_TEST(background_scavenger_releases_idle_memory_and_traces_each_pass)
{
	char path[] = "/tmp/mm-trace-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	int saved = dup(2);
	dup2(fd, 2);
	setenv("MM_SCAVENGE", "1", 1);
	setenv("MM_TRACE", "1", 1);
	mm_free(mm_malloc(16)); /* the first small allocation sets the hosted backend up */
	char *p = mm_malloc(64 * MiB);
	memset(p, 1, 64 * MiB);
	mm_free(p);
	uint64_t released = 0;
	for (int i = 0; i < 100 && released < 64 * MiB; i++) {
		usleep(50 * 1000);
		released = stats().heap_released;
	}
	usleep(600 * 1000); /* let the pass finish its trace line */
	dup2(saved, 2);
	close(saved);
	char buf[4096] = {0};
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	close(fd);
	REQUIRE(released >= 64 * MiB, "the background scavenger released %llu B of 64 MiB idle for 5 s",
		(unsigned long long)released);
	REQUIRE(resident_in(p, 64 * MiB) == 0, "released pages still resident");
	REQUIRE(n > 0 && strstr(buf, "mm: scvg") && strstr(buf, "released:") && strstr(buf, "consumed:"),
		"no trace line on stderr: \"%s\"", buf);
	STEP();
}
END_TEST

/* Backed idle bytes: free pages not given back. */
static uint64_t backed_idle(const struct mm_stats *st)
{
	return st->heap_idle - st->heap_released;
}

START_TEST(idle_bound_is_on_by_default_in_the_hosted_build)
{
	mm_free(mm_malloc(16)); /* sets the hosted backend up */
	struct mm_stats st = stats();
	REQUIRE(st.idle_bound >= 64 * MiB, "hosted default idle bound %llu B, want 64 MiB + the heap in use",
		(unsigned long long)st.idle_bound);
	STEP();
}
END_TEST

START_TEST(idle_bound_gives_a_shrunken_heap_back_when_it_frees)
{
	enum { N = 128 };
	static char *blk[N];
	mm_free(mm_malloc(16));
	mm_scavenge_bound(8 * MiB, 100);
	for (int i = 0; i < N; i++) {
		blk[i] = mm_malloc(MiB + (size_t)i * PAGE); /* sizes vary: spans of many lengths */
		ck_assert_ptr_nonnull(blk[i]);
		memset(blk[i], 0x33, MiB);
	}
	struct mm_stats st0 = stats();
	uint64_t rss0 = rss_bytes();
	STEP();
	for (int i = 0; i < N; i++) {
		mm_free(blk[i]);
		struct mm_stats st = stats();
		REQUIRE(backed_idle(&st) <= st.idle_bound + MiB + (size_t)i * PAGE,
			"after free %d: %llu B idle and backed, over the bound %llu B", i,
			(unsigned long long)backed_idle(&st), (unsigned long long)st.idle_bound);
	}
	STEP(); /* no mm_scavenge call anywhere: the frees themselves gave memory back */
	struct mm_stats st1 = stats();
	uint64_t rss1 = rss_bytes();
	uint64_t given = st1.released_bound - st0.released_bound;
	REQUIRE(given >= 128 * MiB - 8 * MiB, "the bound released only %llu B of 128 MiB freed",
		(unsigned long long)given);
	REQUIRE(st1.nbound > st0.nbound, "no bound pass counted");
	REQUIRE(st1.nscavenge == st0.nscavenge, "an idle-limit pass ran (the limit is 300 s)");
	REQUIRE(rss0 >= rss1 + 128 * MiB - 16 * MiB, "RSS went only from %llu to %llu",
		(unsigned long long)rss0, (unsigned long long)rss1);
	uint64_t resident = 0;
	for (int i = 0; i < N; i++)
		resident += resident_in(blk[i], MiB);
	REQUIRE(resident <= 8 * MiB, "%llu B of the freed blocks still resident", (unsigned long long)resident);
	char buf[400];
	mm_trace_format(buf, sizeof buf, 0);
	REQUIRE(strstr(buf, "by bound: ") && strtoul(strstr(buf, "by bound: ") + 10, NULL, 10) >= 120,
		"trace line does not show the bound's releases: \"%s\"", buf);
	/* the pages come back zeroed when used again */
	char *p = mm_calloc(1, 64 * MiB);
	ck_assert_ptr_nonnull(p);
	ck_assert(all_zero(p, 64 * MiB));
	mm_free(p);
	STEP();
}
END_TEST

START_TEST(idle_bound_follows_the_heap_in_use)
{
	enum { N = 64 };
	static char *live[N], *tmp[N];
	mm_free(mm_malloc(16));
	mm_scavenge_bound(8 * MiB, 100);
	for (int i = 0; i < N; i++) {
		live[i] = mm_malloc(MiB);
		tmp[i] = mm_malloc(MiB / 2);
		ck_assert_ptr_nonnull(live[i]);
		ck_assert_ptr_nonnull(tmp[i]);
		memset(live[i], 1, MiB);
		memset(tmp[i], 2, MiB / 2);
	}
	struct mm_stats st0 = stats();
	for (int i = 0; i < N; i++)
		mm_free(tmp[i]); /* 32 MiB idle under 64 MiB in use: within 8 MiB + 100 % */
	struct mm_stats st1 = stats();
	REQUIRE(st1.released_bound == st0.released_bound,
		"freeing 32 MiB beside 64 MiB in use released %llu B",
		(unsigned long long)(st1.released_bound - st0.released_bound));
	ck_assert_uint_ge(resident_in(tmp[0], MiB / 2), MiB / 2 - 64 * KiB);
	STEP();
	for (int i = 0; i < N; i++)
		mm_free(live[i]); /* now the heap shrank to nothing */
	struct mm_stats st2 = stats();
	REQUIRE(backed_idle(&st2) <= 8 * MiB, "%llu B left backed after the heap shrank",
		(unsigned long long)backed_idle(&st2));
	REQUIRE(st2.released_bound - st1.released_bound >= 80 * MiB, "the bound released %llu B of 96 MiB",
		(unsigned long long)(st2.released_bound - st1.released_bound));
	STEP();
}
END_TEST

START_TEST(idle_bound_leaves_churn_within_the_floor_alone)
{
	mm_free(mm_malloc(16));
	mm_scavenge_bound(64 * MiB, 100);
	struct mm_stats st0 = stats();
	for (int r = 0; r < 20; r++) {
		char *p[32];
		for (int i = 0; i < 32; i++) {
			p[i] = mm_malloc(MiB);
			ck_assert_ptr_nonnull(p[i]);
			memset(p[i], r, MiB);
		}
		for (int i = 0; i < 32; i++)
			mm_free(p[i]);
	}
	struct mm_stats st1 = stats();
	REQUIRE(st1.released_bound == st0.released_bound && st1.nbound == st0.nbound,
		"churning 32 MiB under a 64 MiB floor started %llu bound passes",
		(unsigned long long)(st1.nbound - st0.nbound));
	ck_assert_uint_ge(backed_idle(&st1), 32 * MiB);
	STEP();
}
END_TEST

Suite *scavenge_suite(void)
{
	return SUITE_OF("scavenge",
		TCASE("scavenge", 120,
			scavenge_after_freeing_256_mib_really_drops_rss,
			released_and_unreleased_neighbours_coalesce_with_exact_accounting,
			splitting_a_partly_released_span_keeps_its_released_pages_counted,
			scavenge_leaves_recently_freed_spans_alone,
			background_scavenger_releases_idle_memory_and_traces_each_pass,
			idle_bound_is_on_by_default_in_the_hosted_build,
			idle_bound_gives_a_shrunken_heap_back_when_it_frees,
			idle_bound_follows_the_heap_in_use,
			idle_bound_leaves_churn_within_the_floor_alone));
}
