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
#define EXPECT_REPORT(fn, p, what, ...) \
	expect_report((fn), (p), (what), (const char *const[]){__VA_ARGS__, NULL})

/*
 * The same for p, a fresh n-byte block (allocated after a live one of its
 * size if keep); p is still live in this process, and freed normally.
 */
static void caught_on_a_block(size_t n, int keep, void (*fn)(void *), const char *what,
			      const char *const words[])
{
	void *k = keep ? mm_malloc(n) : NULL, *p = mm_malloc(n);
	expect_report(fn, p, what, words);
	mm_free(p);
	mm_free(k);
	STEP();
}
#define CAUGHT_ON_A_BLOCK(n, keep, fn, what, ...) \
	caught_on_a_block((n), (keep), (fn), (what), (const char *const[]){__VA_ARGS__, NULL})

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
	CAUGHT_ON_A_BLOCK(48, 0, free_interleaved, "free(p); free(q); free(p)", "double free", "48-byte");
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
	CAUGHT_ON_A_BLOCK(48, 0, free_then_flood, "free(p); 20000 frees; free(p)", "double free", "48-byte");
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
	CAUGHT_ON_A_BLOCK(200, 0, free_after_reuse, "free(p); q = malloc; free(q); free(p)", "double free");
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
	CAUGHT_ON_A_BLOCK(96, 1, write_after_free, "free(p); memset(p); malloc",
			  "written after it was freed", "96-byte");
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
	CAUGHT_ON_A_BLOCK(100, 0, overflow_by_one, "p[100] of malloc(100)", "overflow", "112-byte",
			  "100 bytes asked");
}
END_TEST

static void underflow_by_one(void *p)
{
	((char *)p)[-1] = 'x';
	mm_free(p);
}

START_TEST(debug_underflow_into_a_live_neighbour_is_caught_at_free)
{
	char *p[8], *hi = 0; /* two neighbours in one span: a batch may end a span's objects */
	for (int i = 0; i < 8; i++)
		p[i] = mm_malloc(100);
	for (int i = 0; i < 8 && !hi; i++)
		for (int j = 0; j < 8 && !hi; j++)
			if (p[j] == p[i] + 112)
				hi = p[j]; /* the neighbour below it, p[i], is live */
	ck_assert_ptr_nonnull(hi);
	EXPECT_REPORT(underflow_by_one, hi, "p[-1]", "free(", "112-byte");
	for (int i = 0; i < 8; i++)
		mm_free(p[i]);
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
	CAUGHT_ON_A_BLOCK(200, 1, poison_write, "p[150] after free", "written after it was freed",
			  "208-byte");
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

static void large_overflow_then_realloc(void *p)
{
	((char *)p)[100000] = 'x';
	mm_realloc(p, 100100); /* would stay in place: its own pages */
}

START_TEST(overflow_of_a_large_block_is_caught_at_free)
{
	char *p = mm_malloc(100000);
	memset(p, 1, 100000);
	ck_assert_int_eq(mm_check(), 0);
	EXPECT_REPORT(large_overflow, p, "p[100031] of malloc(100000)", "overflow", "large block",
		      "100000 bytes asked");
	EXPECT_REPORT(large_overflow_then_realloc, p, "p[100000] of malloc(100000), then realloc(p, 100100)",
		      "realloc(", "overflow", "large block", "100000 bytes asked");
	p = mm_realloc(p, 100100); /* in place: the canary moves */
	memset(p, 2, 100100);
	ck_assert_int_eq(mm_check(), 0);
	mm_free(p);
	STEP();
}
END_TEST

/* ---- the guard (release builds): blocks of 0 and above 1024 bytes ----------------- */

static size_t over_n, over_k; /* set before the fork: the child writes over_k bytes at p + over_n */

static void overflow_and_free(void *p)
{
	memset((char *)p + over_n, 'O', over_k);
	mm_free(p);
}

/* The child writes k bytes past the end of p (n bytes): free(p) must say so. */
static void expect_overflow(void *p, size_t n, size_t k, const char *what)
{
	char size[48];
	snprintf(size, sizeof size, "block of %zu bytes", n);
	const char *const words[] = {size, "after its end", "overflow", NULL};
	const char *const marker[] = {"end marker", "overwritten", "overflow past its end", NULL};
	size_t slot = mm_pagemap_get((uintptr_t)p >> MM_PAGE_SHIFT)->elemsize;
	over_n = n;
	over_k = k;
	/* past the canary up to the slot's last word: that word is checked first */
	expect_report(overflow_and_free, p, what, n + k > slot - sizeof(uintptr_t) ? marker : words);
}

START_TEST(guard_overflow_by_1_and_32_is_caught_at_free)
{
	static const size_t sizes[] = {5000, 2000, 1025, MAX_SMALL - GUARD_BYTES(MAX_SMALL)};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char *p = mm_malloc(sizes[i]);
		memset(p, 'a', sizes[i]);
		expect_overflow(p, sizes[i], 1, "p[n] = x");
		expect_overflow(p, sizes[i], MM_GUARD_CANARY, "8 bytes past the end");
		expect_overflow(p, sizes[i], 32, "32 bytes past the end");
		mm_free(p); /* the parent's block is whole */
	}
	STEP();
}
END_TEST

static void underflow_and_free_below(void *p)
{
	memset((char *)p - over_k, 'U', over_k);
	mm_free(p);                      /* its own trailer is whole */
	mm_free((char *)p - over_n);     /* the block below: its end marker is not */
}

START_TEST(guard_underflow_breaks_the_end_marker_of_the_block_before)
{
	char *v[8], *hi = NULL;
	for (int i = 0; i < 8; i++)
		v[i] = mm_malloc(2000);
	uint32_t slot = mm_class_size[mm_size_class(2000 + MM_GUARD_BYTES)]; /* after init */
	for (int i = 0; i < 8 && !hi; i++) /* a block whose neighbour below is live */
		for (int j = 0; j < 8; j++)
			if (v[i] == v[j] + slot)
				hi = v[i];
	ck_assert_ptr_nonnull(hi);
	static const char *const words[] = {"end marker", "underflow of the block after it", NULL};
	over_n = slot;
	over_k = 1;
	expect_report(underflow_and_free_below, hi, "p[-1] = x", words);
	over_k = 32;
	expect_report(underflow_and_free_below, hi, "p[-32..-1] = x", words);
	for (int i = 0; i < 8; i++)
		mm_free(v[i]);
	STEP();
}
END_TEST

START_TEST(guard_write_into_a_zero_size_block_is_caught_at_free)
{
	static const size_t ks[] = {1, 8, 16};
	for (size_t i = 0; i < 3; i++) {
		void *p = mm_malloc(0);
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq(mm_usable_size(p), 0);
		static const char *const words[] = {"write into a zero-size block", NULL};
		over_n = 0;
		over_k = ks[i];
		expect_report(overflow_and_free, p, "malloc(0)[0..k-1] = x", words);
		mm_free(p);
	}
	void *a = mm_malloc(0), *b = mm_malloc(0); /* unique, freed without a word */
	ck_assert_ptr_ne(a, b);
	mm_free(a);
	mm_free(b);
	STEP();
}
END_TEST

/* Each guarded class's exact size, and sizes around the limits: usable == asked, all writable. */
START_TEST(guard_usable_size_is_the_request_and_all_of_it_may_be_written)
{
	size_t sizes[80], n = 0;
	sizes[n++] = 1025;
	sizes[n++] = MAX_SMALL - GUARD_BYTES(MAX_SMALL);
	for (uint32_t c = mm_guard_class; c < mm_zero_class; c++)
		if (mm_class_size[c] <= MM_MAX_SMALL - MM_GUARD_BYTES)
			sizes[n++] = mm_class_size[c];
	for (size_t i = 0; i < n; i++) {
		char *p = mm_malloc(sizes[i]);
		ck_assert_ptr_nonnull(p);
		REQUIRE(mm_usable_size(p) == sizes[i], "malloc(%zu): usable %zu", sizes[i], mm_usable_size(p));
		memset(p, 0xff, sizes[i]);
		ck_assert_int_eq(mm_check(), 0);
		ck_assert_uint_eq(mm_usable_size(p), sizes[i]);
		mm_free(p);
	}
	char *p = mm_malloc(1024); /* the fast path's largest: no trailer, the whole class */
	ck_assert_uint_eq(mm_usable_size(p), 1024);
	mm_free(p);
	STEP();
}
END_TEST

static void fill(char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (char)(seed + i * 7);
}

static int filled(const char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (char)(seed + i * 7))
			return 0;
	return 1;
}

static void guard_overflow_then_realloc(void *p)
{
	((char *)p)[2000] = 'x';
	mm_realloc(p, 2010); /* would stay in place: the same slot */
}

START_TEST(guard_realloc_keeps_contents_and_trailer_in_place_and_moving)
{
	char *p = mm_malloc(2000), *q;
	fill(p, 2000, 1);
	q = mm_realloc(p, 2010); /* same slot (2048): in place, the trailer moves */
	ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(mm_usable_size(q), 2010);
	ck_assert(filled(q, 2000, 1));
	fill(q, 2010, 2);
	expect_overflow(q, 2010, 1, "p[2010] after realloc(p, 2010)");
	q = mm_realloc(q, 2000);
	EXPECT_REPORT(guard_overflow_then_realloc, q, "p[2000] of a 2000-byte block, then realloc(p, 2010)",
		      "realloc(", "block of 2000 bytes", "overflow");
	q = mm_realloc(q, 1900); /* shrinks in place */
	ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(mm_usable_size(q), 1900);
	expect_overflow(q, 1900, 1, "p[1900] after realloc(p, 1900)");
	p = mm_realloc(q, 5000); /* moves to a larger class */
	ck_assert_ptr_ne(p, q);
	ck_assert(filled(p, 1900, 2));
	ck_assert_uint_eq(mm_usable_size(p), 5000);
	fill(p, 5000, 3);
	expect_overflow(p, 5000, 1, "p[5000] after realloc(p, 5000)");
	q = mm_realloc(p, 100); /* moves to an unguarded class */
	ck_assert(filled(q, 100, 3));
	ck_assert_uint_ge(mm_usable_size(q), 100);
	p = mm_realloc(q, 3000); /* and back */
	ck_assert(filled(p, 100, 3));
	ck_assert_uint_eq(mm_usable_size(p), 3000);
	fill(p, 3000, 4);
	q = mm_realloc(p, 40000); /* large */
	ck_assert(filled(q, 3000, 4));
	p = mm_realloc(q, 4000); /* small again */
	ck_assert(filled(p, 3000, 4));
	ck_assert_uint_eq(mm_usable_size(p), 4000);
	q = mm_realloc(mm_malloc(0), 1500); /* a zero-size block grows */
	ck_assert_uint_eq(mm_usable_size(q), 1500);
	ck_assert_int_eq(mm_check(), 0);
	mm_free(p);
	mm_free(q);
	STEP();
}
END_TEST

START_TEST(guard_calloc_and_aligned_alloc_are_guarded)
{
	char *p = mm_calloc(3, 1000);
	ck_assert_uint_eq(mm_usable_size(p), 3000);
	for (int i = 0; i < 3000; i++)
		ck_assert_int_eq(p[i], 0);
	expect_overflow(p, 3000, 1, "calloc(3, 1000)[3000]");
	mm_free(p);
	static const size_t aligns[] = {32, 64, 256, 1024, 4096};
	for (size_t i = 0; i < 5; i++) {
		p = mm_aligned_alloc(aligns[i], 2000);
		REQUIRE((uintptr_t)p % aligns[i] == 0, "aligned_alloc(%zu, 2000) = %p", aligns[i], (void *)p);
		ck_assert_uint_eq(mm_usable_size(p), 2000);
		memset(p, 'a', 2000);
		expect_overflow(p, 2000, 1, "aligned_alloc(a, 2000)[2000]");
		mm_free(p);
	}
	p = mm_aligned_alloc(2048, 100); /* a guarded class for a small request */
	ck_assert_uint_eq((uintptr_t)p % 2048, 0);
	ck_assert_uint_eq(mm_usable_size(p), 100);
	expect_overflow(p, 100, 1, "aligned_alloc(2048, 100)[100]");
	mm_free(p);
	STEP();
}
END_TEST

static void free_twice(void *p)
{
	mm_free(p);
	mm_free(p);
}

START_TEST(guard_double_frees_are_still_double_frees)
{
	static const char *const words[] = {"double free", NULL};
	void *p = mm_malloc(5000), *z = mm_malloc(0);
	expect_report(free_twice, p, "free(p); free(p) of malloc(5000)", words);
	expect_report(free_twice, z, "free(p); free(p) of malloc(0)", words);
	mm_free(p);
	mm_free(z);
	STEP();
}
END_TEST

Suite *misuse_suite(void)
{
	return SUITE_OF("misuse",
		TCASE("caught", 60,
			interleaved_double_free_is_caught_with_address_and_size,
			double_free_is_caught_after_the_object_went_back_to_central,
			double_free_after_the_block_was_reused_is_caught,
			a_live_object_holding_the_key_is_freed_normally,
			smallest_class_holds_two_words_and_every_malloc_is_two_word_aligned,
			write_after_free_is_caught_when_the_block_comes_back,
			overflow_of_a_large_block_is_caught_at_free),
		/* canaries, red zones and poison: DEBUG=1 builds only */
		!MM_DEBUG ? NULL : TCASE("debug", 60,
			debug_overflow_inside_the_class_rounding_is_caught_at_free,
			debug_underflow_into_a_live_neighbour_is_caught_at_free,
			debug_write_after_free_is_caught_by_the_poison_on_reuse,
			debug_mm_check_reports_a_broken_canary_without_stopping,
			debug_usable_size_and_realloc_in_place_move_the_canary),
		/* the guard of blocks above 1 KiB and of malloc(0): release builds only */
		MM_DEBUG ? NULL : TCASE("guard", 60,
			guard_overflow_by_1_and_32_is_caught_at_free,
			guard_underflow_breaks_the_end_marker_of_the_block_before,
			guard_write_into_a_zero_size_block_is_caught_at_free,
			guard_usable_size_is_the_request_and_all_of_it_may_be_written,
			guard_realloc_keeps_contents_and_trailer_in_place_and_moving,
			guard_calloc_and_aligned_alloc_are_guarded,
			guard_double_frees_are_still_double_frees));
}
