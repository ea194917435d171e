/*
 * t_api.c - the entry points around malloc/free: realloc keeps contents when
 * it grows and shrinks (in place while the class still fits), calloc returns
 * zeroes also for reused and released memory, aligned allocation for every
 * power of two from 8 B to 64 KiB, usable_size, owns, and the trace line.
 */
#include <stdio.h>
#include <string.h>

#include "testutil.h"

static const size_t steps[] = {1, 7, 8, 9, 16, 100, 128, 129, 500, 1024, 2000, 4096, 5000,
			       16384, 32768, 32769, 50000, 100000, 300000, 1100000};
#define NSTEPS (sizeof steps / sizeof steps[0])

/*
 * For every size of steps[]: allocate it, fill it, then realloc it through
 * each size after it (dir 1: the larger ones, in order) or before it (dir
 * -1: the smaller ones, down), checking after every step that the bytes both
 * sizes share are still there.
 */
static void realloc_through_steps(int dir)
{
	for (size_t k = 0; k < NSTEPS; k++) {
		size_t i = dir > 0 ? k : NSTEPS - 1 - k;
		size_t n = steps[i];
		uint32_t seed = (uint32_t)(i * 31 + n);
		char *p = mm_malloc(n);
		pattern_fill(p, n, seed);
		for (size_t j = i + (size_t)dir; j < NSTEPS; j += (size_t)dir) {
			size_t kept = n < steps[j] ? n : steps[j];
			char *q = mm_realloc(p, steps[j]);
			REQUIRE(q != NULL, "realloc(%zu -> %zu) = NULL", n, steps[j]);
			REQUIRE(pattern_check(q, kept, seed) == -1,
				"realloc(%zu -> %zu) lost the first %zu bytes at %ld", n, steps[j], kept,
				pattern_check(q, kept, seed));
			ck_assert_uint_ge(mm_usable_size(q), steps[j]);
			p = q;
		}
		mm_free(p);
		STEP();
	}
	ck_assert_uint_eq(stats().heap_objects, 0);
}

START_TEST(realloc_grow_keeps_contents)
{
	realloc_through_steps(1);
}
END_TEST

START_TEST(realloc_shrink_keeps_the_prefix)
{
	realloc_through_steps(-1);
}
END_TEST

START_TEST(realloc_within_the_usable_size_stays_in_place)
{
	size_t sizes[] = {1, 20, 100, 1000, 3000, 40000, 200000};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char *p = mm_malloc(sizes[i]);
		size_t u = mm_usable_size(p);
		pattern_fill(p, sizes[i], 7);
		char *q = mm_realloc(p, u);
		REQUIRE(q == p, "realloc(%zu -> usable %zu) moved %p to %p", sizes[i], u,
			      (void *)p, (void *)q);
		ck_assert_int_eq(pattern_check(q, sizes[i], 7), -1);
		mm_free(q);
	}
	STEP();
}
END_TEST

/*
 * A small block that realloc moves to grow gets room for twice what it
 * had (mm_realloc): the steps that follow stay in place until it
 * is used up, and the block still answers (and guards) the size asked for.
 */
START_TEST(realloc_growing_a_small_block_moves_it_with_room_for_the_next_steps)
{
	size_t sizes[] = {100, 600, 2000, 9000};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		size_t n0 = sizes[i], n = n0;
		char *p = mm_malloc(n0), *q = p;
		pattern_fill(p, n0, 3);
		while (q == p) { /* grow by 8 until the slot is used up and the block moves */
			n += 8;
			q = mm_realloc(p, n);
			REQUIRE(q != NULL, "realloc(%zu) = NULL", n);
			if (q == p)
				ck_assert_uint_ge(mm_usable_size(q), n);
		}
#ifndef MM_DEBUG
		if (n > 1024) /* a guarded block: its trailer follows the size asked for */
			REQUIRE(mm_usable_size(q) == n, "usable size %zu after realloc to %zu",
				mm_usable_size(q), n);
#endif
		/* it had at least n - 8 bytes: room now for twice that */
		size_t moved = n, room = 2 * (n - 8);
		for (; n <= room; n += 8) {
			char *r = mm_realloc(q, n);
			REQUIRE(r == q, "realloc(%zu -> %zu) moved again (room for %zu)", moved, n, room);
			ck_assert_uint_ge(mm_usable_size(r), n);
		}
		ck_assert_int_eq(pattern_check(q, n0, 3), -1);
		mm_free(q);
		STEP();
	}
}
END_TEST

START_TEST(realloc_of_null_allocates)
{
	char *p = mm_realloc(NULL, 100);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_ge(mm_usable_size(p), 100);
	mm_free(p);
	STEP();
}
END_TEST

/*
 * For each size n of the 0-terminated list: fill objects of size n with
 * garbage (nsmall of them for a small size, nlarge for a large one), free
 * them (released: then give their pages back with mm_scavenge), calloc the
 * same size: zeroes, every time.  The callocs alternate calloc(1, n) and
 * calloc(n, 1).
 */
static void calloc_after_reuse(const size_t sizes[], int nsmall, int nlarge, int released)
{
	void *p[256];
	for (size_t s = 0; sizes[s]; s++) {
		size_t n = sizes[s];
		int count = n > MAX_SMALL ? nlarge : nsmall;
		for (int i = 0; i < count; i++) {
			p[i] = mm_malloc(n);
			memset(p[i], 0xa5, n);
		}
		for (int i = 0; i < count; i++)
			mm_free(p[i]);
		if (released) {
			mm_scavenge(0);
			STEP();
		}
		for (int i = 0; i < count; i++) {
			p[i] = i % 2 ? mm_calloc(n, 1) : mm_calloc(1, n);
			REQUIRE(p[i] != NULL, "calloc of %zu bytes = NULL", n);
			REQUIRE(all_zero(p[i], n), "calloc of %zu bytes = %p after %s is not zero", n,
				p[i], released ? "release and reuse" : "reuse");
			memset(p[i], 0x77, n);
		}
		for (int i = 0; i < count; i++)
			mm_free(p[i]);
		STEP();
	}
}

START_TEST(calloc_is_zero_for_reused_small_objects)
{
	calloc_after_reuse((const size_t[]){8, 24, 48, 200, 1000, 4000, 9000, 32768, 0}, 256, 0, 0);
}
END_TEST

START_TEST(calloc_is_zero_for_reused_large_objects)
{
	calloc_after_reuse((const size_t[]){32769, 100000, MiB, 5 * MiB + 3, 0}, 0, 4, 0);
}
END_TEST

START_TEST(calloc_is_zero_after_release_and_reuse)
{
	calloc_after_reuse((const size_t[]){64, 4000, 100000, 3 * MiB, 0}, 64, 16, 1);
}
END_TEST

START_TEST(calloc_overflow_returns_null)
{
	ck_assert_ptr_null(mm_calloc(SIZE_MAX / 2, 3));
	ck_assert_ptr_null(mm_calloc((size_t)1 << (sizeof(size_t) * 4), (size_t)1 << (sizeof(size_t) * 4)));
	ck_assert_ptr_null(mm_calloc(SIZE_MAX, SIZE_MAX));
	void *p = mm_calloc(0, 100);
	mm_free(p);
	STEP();
}
END_TEST

START_TEST(aligned_alloc_honours_every_power_of_two_from_8_to_64_kib)
{
	void *junk = mm_malloc(24); /* so that nothing starts out accidentally aligned */
	for (size_t a = 8; a <= 64 * KiB; a *= 2) {
		size_t sizes[] = {1, a / 2 + 1, a - 1, a, a + 1, 3 * a, 40000, 100000};
		for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
			size_t n = sizes[i];
			void *p[8];
			for (int k = 0; k < 8; k++) {
				p[k] = mm_aligned_alloc(a, n);
				REQUIRE(p[k] != NULL, "aligned_alloc(%zu, %zu) = NULL", a, n);
				REQUIRE((uintptr_t)p[k] % a == 0, "aligned_alloc(%zu, %zu) = %p", a, n, p[k]);
				REQUIRE(mm_usable_size(p[k]) >= n, "aligned_alloc(%zu, %zu): usable %zu",
					      a, n, mm_usable_size(p[k]));
				REQUIRE(mm_owns(p[k]), "mm_owns(aligned_alloc(%zu, %zu))", a, n);
				pattern_fill(p[k], n, (uint32_t)(a + k));
			}
			for (int k = 0; k < 8; k++) {
				ck_assert_int_eq(pattern_check(p[k], n, (uint32_t)(a + k)), -1);
				mm_free(p[k]);
			}
		}
		STEP();
	}
	mm_free(junk);
	STEP();
	ck_assert_uint_eq(stats().heap_objects, 0);
}
END_TEST

START_TEST(usable_size_covers_the_request_and_null_is_zero)
{
	ck_assert_uint_eq(mm_usable_size(NULL), 0);
	mm_free(NULL);
	for (size_t n = 1; n < 200000; n = n * 3 / 2 + 1) {
		char *p = mm_malloc(n);
		size_t u = mm_usable_size(p);
		ck_assert_uint_ge(u, n);
		memset(p, 1, u); /* all of it is ours */
		mm_free(p);
	}
	STEP();
}
END_TEST

START_TEST(owns_answers_for_object_starts_only)
{
	int local;
	char *s = mm_malloc(100), *l = mm_malloc(100000);
	ck_assert_int_eq(mm_owns(s), 1);
	ck_assert_int_eq(mm_owns(l), 1);
	ck_assert_int_eq(mm_owns(l + 4096), 0);
	ck_assert_int_eq(mm_owns(&local), 0);
	ck_assert_int_eq(mm_owns(NULL), 0);
	mm_free(l);
	ck_assert_int_eq(mm_owns(l), 0);
	mm_free(s);
	STEP();
}
END_TEST

START_TEST(malloc_of_impossible_sizes_returns_null_and_heap_stays_whole)
{
	ck_assert_ptr_null(mm_malloc(SIZE_MAX));
	ck_assert_ptr_null(mm_malloc(SIZE_MAX - 4096));
	ck_assert_ptr_null(mm_aligned_alloc(4096, SIZE_MAX - 100));
	/* more than any arena can hold: 64-bit, half the address space; 32-bit, past the 2 GiB window */
	size_t huge = sizeof(size_t) == 4 ? (size_t)3 << 30 : SIZE_MAX / 2 + 1;
	ck_assert_ptr_null(mm_realloc(NULL, huge));
	ck_assert_ptr_null(mm_malloc(huge));
	/* a small, a guarded and a large block: n + the guard's trailer would wrap */
	static const size_t sizes[] = {100, 2000, 100000};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char *p = mm_malloc(sizes[i]);
		pattern_fill(p, sizes[i], 3);
		for (size_t k = 0; k <= 24; k++)
			REQUIRE(mm_realloc(p, SIZE_MAX - k) == NULL, "realloc(malloc(%zu), SIZE_MAX - %zu) is not NULL",
				sizes[i], k);
		ck_assert_int_eq(pattern_check(p, sizes[i], 3), -1); /* failed realloc leaves p alone */
		STEP();
		mm_free(p);
		STEP();
	}
}
END_TEST

START_TEST(trace_line_names_every_quantity)
{
	char *p = mm_malloc(10 * MiB);
	mm_free(p);
	uint64_t rel = mm_scavenge(0);
	char buf[256];
	size_t n = mm_trace_format(buf, sizeof buf, rel);
	ck_assert_uint_gt(n, 0);
	ck_assert_uint_lt(n, sizeof buf);
	const char *words[] = {"mm: scvg", "inuse:", "idle:", "sys:", "released:", "consumed:", "(MB)"};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		REQUIRE(strstr(buf, words[i]) != NULL, "trace line \"%s\" lacks \"%s\"", buf, words[i]);
	REQUIRE(strchr(buf, '\n') == NULL, "trace line has a newline: \"%s\"", buf);
	char tiny[8];
	mm_trace_format(tiny, sizeof tiny, rel);
	REQUIRE(memchr(tiny, 0, sizeof tiny) != NULL, "trace line overflows a small buffer");
}
END_TEST

Suite *api_suite(void)
{
	return SUITE_OF("api",
		TCASE("realloc", 60,
			realloc_grow_keeps_contents,
			realloc_shrink_keeps_the_prefix,
			realloc_within_the_usable_size_stays_in_place,
			realloc_growing_a_small_block_moves_it_with_room_for_the_next_steps,
			realloc_of_null_allocates),
		TCASE("calloc", 60,
			calloc_is_zero_for_reused_small_objects,
			calloc_is_zero_for_reused_large_objects,
			calloc_is_zero_after_release_and_reuse,
			calloc_overflow_returns_null),
		TCASE("aligned", 60,
			aligned_alloc_honours_every_power_of_two_from_8_to_64_kib),
		TCASE("misc", 60,
			usable_size_covers_the_request_and_null_is_zero,
			owns_answers_for_object_starts_only,
			malloc_of_impossible_sizes_returns_null_and_heap_stays_whole,
			trace_line_names_every_quantity));
}
