/*
 * t_misuse.c - misuse the heap must catch, on the real hosted backend: each
 * case runs in a forked child that must die with a message naming the
 * address, the block's size and what was wrong.  Release builds: double
 * frees of small objects however they are interleaved (the free key in a
 * free object's second word, confirmed against the lists), and a free
 * list link broken by a write after free.  Debug builds also: the canary
 * after the size asked for, red zones of neighbours, poison checked on
 * reuse, and mm_check reporting a broken red zone.  Also what must not be
 * reported: a live object that happens to hold the key.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "internal.h"

#ifndef MM_DEBUG
#define MM_DEBUG 0
#endif

/* The child must die saying the address p and every word in words (case-insensitive). */
static void expect_report(void (*fn)(void *), void *p, const char *what, const char *const words[])
{
	char hex[32];
	struct died d = run_child(fn, p);
	const char *err = d.err;
	REQUIRE(d.signaled || d.status != 0, "%s: the process survived (stderr: \"%s\")", what, err);
	snprintf(hex, sizeof hex, "%lx", (unsigned long)(uintptr_t)p);
	REQUIRE(strstr(err, hex), "%s: the report does not name %p: \"%s\"", what, p, err);
	for (int i = 0; words[i]; i++)
		REQUIRE(strstr(err, words[i]), "%s: the report does not say \"%s\": \"%s\"", what, words[i],
			err);
}

/* ---- double frees (every build) ---------------------------------------------------- */

static void free_interleaved(void *p)
{
	void *q = mm_malloc(48);
	mm_free(p);
	mm_free(q);
	mm_free(p);
}

START_TEST(interleaved_double_free_is_caught_with_address_and_size)
{
	void *p = mm_malloc(48);
	static const char *const words[] = {"double free", "48-byte", NULL};
	expect_report(free_interleaved, p, "free(p); free(q); free(p)", words);
	mm_free(p);
	STEP();
}
END_TEST

/* p's first free is followed by enough frees of its class to push it out of the cache. */
static void free_then_flood(void *p)
{
	enum { N = 20000 };
	void **v = malloc(N * sizeof *v);
	for (int i = 0; i < N; i++)
		v[i] = mm_malloc(48);
	mm_free(p);
	for (int i = 0; i < N; i++)
		mm_free(v[i]);
	mm_free(p);
}

START_TEST(double_free_is_caught_after_the_object_went_back_to_central)
{
	void *p = mm_malloc(48);
	static const char *const words[] = {"double free", "48-byte", NULL};
	expect_report(free_then_flood, p, "free(p); 20000 frees; free(p)", words);
	mm_free(p);
	STEP();
}
END_TEST

static void free_after_reuse(void *p)
{
	mm_free(p);
	void *q = mm_malloc(200); /* p again, most likely */
	mm_free(q);
	mm_free(p);
}

START_TEST(double_free_after_the_block_was_reused_is_caught)
{
	void *p = mm_malloc(200);
	static const char *const words[] = {"double free", NULL};
	expect_report(free_after_reuse, p, "free(p); q = malloc; free(q); free(p)", words);
	mm_free(p);
	STEP();
}
END_TEST

/* The key is only a hint: a live object holding it by chance is freed, not reported. */
START_TEST(a_live_object_holding_the_key_is_freed_normally)
{
	uintptr_t *p = mm_malloc(64);
	p[0] = 12345;
	p[1] = mm_free_key;
	mm_free(p);
	uintptr_t *q = mm_malloc(64);
	ck_assert_ptr_eq(q, p); /* it went on the list like any object */
	ck_assert_uint_eq(q[1], 0); /* and lost the key when handed out again */
	mm_free(q);
	STEP();
}
END_TEST

START_TEST(smallest_class_holds_two_words_and_every_malloc_is_two_word_aligned)
{
	for (size_t n = 0; n <= 64; n++) {
		void *p = mm_malloc(n);
		REQUIRE(((uintptr_t)p & (2 * sizeof(void *) - 1)) == 0, "malloc(%zu) = %p", n, p);
		REQUIRE(mm_usable_size(p) >= (n || MM_DEBUG ? 2 * sizeof(void *) : 0), "malloc(%zu): usable %zu",
			n, mm_usable_size(p)); /* release: malloc(0) is a guarded zero-size block */
		mm_free(p);
	}
	STEP();
}
END_TEST

/* ---- writes after free ---------------------------------------------------------- */

static void write_after_free(void *p)
{
	mm_free(p);
	memset(p, 'F', 96);
	mm_free(mm_malloc(96));
	mm_free(mm_malloc(96));
}

START_TEST(write_after_free_is_caught_when_the_block_comes_back)
{
	void *keep = mm_malloc(96), *p = mm_malloc(96);
	static const char *const words[] = {"written after it was freed", "96-byte", NULL};
	expect_report(write_after_free, p, "free(p); memset(p); malloc", words);
	mm_free(p);
	mm_free(keep);
	STEP();
}
END_TEST

/* ---- debug builds: canary, red zones, poison ------------------------------------- */

static void overflow_by_one(void *p)
{
	((char *)p)[100] = 'x'; /* 100 asked for, the class has 112 */
	mm_free(p);
}

START_TEST(debug_overflow_inside_the_class_rounding_is_caught_at_free)
{
	void *p = mm_malloc(100);
	static const char *const words[] = {"overflow", "112-byte", "100 bytes asked", NULL};
	expect_report(overflow_by_one, p, "p[100] of malloc(100)", words);
	mm_free(p);
	STEP();
}
END_TEST

static void underflow_by_one(void *p)
{
	((char *)p)[-1] = 'x';
	mm_free(p);
}

START_TEST(debug_underflow_into_a_live_neighbour_is_caught_at_free)
{
	char *a = mm_malloc(100), *b = mm_malloc(100);
	char *hi = a > b ? a : b; /* the neighbour below it is live */
	ck_assert_uint_eq((size_t)(a > b ? a - b : b - a), 112);
	static const char *const words[] = {"free(", "112-byte", NULL};
	expect_report(underflow_by_one, hi, "p[-1]", words);
	mm_free(a);
	mm_free(b);
	STEP();
}
END_TEST

static void poison_write(void *p)
{
	mm_free(p);
	((char *)p)[150] = 'x'; /* past the list words: only the poison sees it */
	for (int i = 0; i < 4; i++)
		mm_malloc(200);
}

START_TEST(debug_write_after_free_is_caught_by_the_poison_on_reuse)
{
	void *keep = mm_malloc(200), *p = mm_malloc(200);
	static const char *const words[] = {"written after it was freed", "208-byte", NULL};
	expect_report(poison_write, p, "p[150] after free", words);
	mm_free(p);
	mm_free(keep);
	STEP();
}
END_TEST

START_TEST(debug_mm_check_reports_a_broken_canary_without_stopping)
{
	char *p = mm_malloc(24);
	ck_assert_int_eq(mm_check(), 0);
	p[24] = 'x';
	ck_assert_int_eq(mm_check(), -1);
	char hex[32];
	snprintf(hex, sizeof hex, "%lx", (unsigned long)(uintptr_t)p);
	REQUIRE(strstr(mm_check_error(), hex) && strstr(mm_check_error(), "overflow"),
		"mm_check: \"%s\"", mm_check_error());
	p[24] = (char)0xcb; /* the canary back */
	ck_assert_int_eq(mm_check(), 0);
	mm_free(p);
	STEP();
}
END_TEST

START_TEST(debug_usable_size_and_realloc_in_place_move_the_canary)
{
	char *p = mm_malloc(20);
	size_t u = mm_usable_size(p); /* the whole object may be used now */
	ck_assert_uint_ge(u, 20);
	memset(p, 'u', u);
	ck_assert_int_eq(mm_check(), 0);
	char *q = mm_realloc(p, 10); /* shrinks in place: the canary starts at 10 */
	ck_assert_ptr_eq(q, p);
	ck_assert_int_eq(mm_check(), 0);
	q = mm_realloc(q, 30); /* grows in place */
	ck_assert_ptr_eq(q, p);
	memset(q, 'g', 30);
	ck_assert_int_eq(mm_check(), 0);
	mm_free(q);
	STEP();
}
END_TEST

static void large_overflow(void *p)
{
	((char *)p)[100000 + 31] = 'x';
	mm_free(p);
}

START_TEST(debug_overflow_of_a_large_block_is_caught_at_free)
{
	char *p = mm_malloc(100000);
	memset(p, 1, 100000);
	ck_assert_int_eq(mm_check(), 0);
	static const char *const words[] = {"overflow", "large block", "100000 bytes asked", NULL};
	expect_report(large_overflow, p, "p[100031] of malloc(100000)", words);
	p = mm_realloc(p, 100100); /* in place: the canary moves */
	memset(p, 2, 100100);
	ck_assert_int_eq(mm_check(), 0);
	mm_free(p);
	STEP();
}
END_TEST

Suite *misuse_suite(void)
{
	Suite *s = suite_create("misuse");
	TCase *tc = tcase_new("caught", 60);
	tcase_add_test(tc, interleaved_double_free_is_caught_with_address_and_size);
	tcase_add_test(tc, double_free_is_caught_after_the_object_went_back_to_central);
	tcase_add_test(tc, double_free_after_the_block_was_reused_is_caught);
	tcase_add_test(tc, a_live_object_holding_the_key_is_freed_normally);
	tcase_add_test(tc, smallest_class_holds_two_words_and_every_malloc_is_two_word_aligned);
	tcase_add_test(tc, write_after_free_is_caught_when_the_block_comes_back);
	if (MM_DEBUG) {
		tcase_add_test(tc, debug_overflow_inside_the_class_rounding_is_caught_at_free);
		tcase_add_test(tc, debug_underflow_into_a_live_neighbour_is_caught_at_free);
		tcase_add_test(tc, debug_write_after_free_is_caught_by_the_poison_on_reuse);
		tcase_add_test(tc, debug_mm_check_reports_a_broken_canary_without_stopping);
		tcase_add_test(tc, debug_usable_size_and_realloc_in_place_move_the_canary);
		tcase_add_test(tc, debug_overflow_of_a_large_block_is_caught_at_free);
	}
	suite_add_tcase(s, tc);
	return s;
}
