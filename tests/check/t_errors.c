/*
 * t_errors.c - bad frees on the real hosted backend: each kind panics with a
 * message naming the address and the reason, and the process dies.  Each
 * bad free runs in a forked child whose stderr the test reads.  Out of
 * memory returns NULL instead (see t_fake.c for a refusing Sys).
 */
#include <ctype.h>
#include <signal.h>
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

/* Does text contain the address (hex digits, any case, with or without 0x)? */
static int names_address(const char *text, const void *p)
{
	char hex[32], low[2048];
	snprintf(hex, sizeof hex, "%lx", (unsigned long)(uintptr_t)p);
	size_t i;
	for (i = 0; text[i] && i < sizeof low - 1; i++)
		low[i] = (char)tolower((unsigned char)text[i]);
	low[i] = 0;
	return strstr(low, hex) != NULL;
}

static int mentions(const char *text, const char *word)
{
	char low[2048];
	size_t i;
	for (i = 0; text[i] && i < sizeof low - 1; i++)
		low[i] = (char)tolower((unsigned char)text[i]);
	low[i] = 0;
	return strstr(low, word) != NULL;
}

/* The child must die (signal or non-zero exit) and say address and one of the reasons. */
static void expect_panic(void (*fn)(void *), void *arg, const void *addr, const char *what,
			 const char *const reasons[])
{
	struct died d = run_child(fn, arg);
	REQUIRE(d.signaled || d.status != 0, "%s: the process survived (stderr: \"%s\")", what, d.err);
	REQUIRE(names_address(d.err, addr), "%s: panic message does not name %p: \"%s\"", what,
		      addr, d.err);
	int ok = 0;
	for (int i = 0; reasons[i]; i++)
		ok |= mentions(d.err, reasons[i]);
	REQUIRE(ok, "%s: panic message gives no recognisable reason (%s...): \"%s\"", what,
		      reasons[0], d.err);
}

static const char *const unknown_words[] = {"unknown", "not allocated", "foreign", "not owned", "outside", NULL};
static const char *const interior_words[] = {"interior", "inside", "not the start", "middle", NULL};
static const char *const freespan_words[] = {"free span", "double free", "already free", "not in use", NULL};
static const char *const double_words[] = {"double free", "already free", NULL};

static void do_free(void *p) { mm_free(p); }

static char *stack_addr;

static void free_stack_pointer(void *arg)
{
	char local[64];
	(void)arg;
	mm_free(mm_malloc(16)); /* the allocator is up */
	stack_addr = local;
	mm_free(local);
}

START_TEST(free_of_an_unknown_pointer_panics_naming_it)
{
	/* an address of this process that libmm never handed out */
	static char data[64];
	expect_panic(do_free, data + 16, data + 16, "free(static data)", unknown_words);
	void *libc = malloc(100);
	expect_panic(do_free, libc, libc, "free(libc malloc block)", unknown_words);
	free(libc);
	struct died d = run_child(free_stack_pointer, NULL);
	REQUIRE(d.signaled || d.status != 0, "free(stack address) survived");
	REQUIRE(mentions(d.err, "free"), "free(stack address): no message: \"%s\"", d.err);
}
END_TEST

static void *arena_addr(void)
{
	/* inside the arena's reservation but never allocated */
	mm_free(mm_malloc(16));
	struct mm_stats st;
	mm_read_stats(&st);
	return (void *)((st.arena_end - 64 * PAGE) & ~(PAGE - 1));
}

START_TEST(free_inside_the_arena_but_never_allocated_panics)
{
	mm_free(mm_malloc(16));
	void *p = arena_addr();
	expect_panic(do_free, p, p, "free(unallocated arena page)", unknown_words);
}
END_TEST

/* Freeing p + a and p + b, for a block of n bytes, panics naming an interior pointer. */
static void interior_frees(size_t n, size_t a, size_t b)
{
	char *p = mm_malloc(n), what[64];
	snprintf(what, sizeof what, "free(%zu-byte block + %zu)", n, a);
	expect_panic(do_free, p + a, p + a, what, interior_words);
	snprintf(what, sizeof what, "free(%zu-byte block + %zu)", n, b);
	expect_panic(do_free, p + b, p + b, what, interior_words);
	mm_free(p);
	STEP();
}

START_TEST(free_of_an_interior_pointer_of_a_large_object_panics)
{
	interior_frees(100000, 4096, 8);
}
END_TEST

/* A guarded block's interior pointer (free's guarded path checks the start first), warm cache or not. */
START_TEST(free_of_an_interior_pointer_of_a_guarded_block_panics)
{
	mm_free(mm_malloc(5000)); /* its list has an object: the next free takes the guarded path */
	interior_frees(5000, 16, 4096);
}
END_TEST

START_TEST(free_of_an_interior_pointer_of_a_small_object_panics_in_debug_builds)
{
	char *p = mm_malloc(256);
	expect_panic(do_free, p + 16, p + 16, "free(small + 16)", interior_words);
	mm_free(p);
}
END_TEST

static void free_twice(void *p)
{
	mm_free(p);
	mm_free(p);
}

START_TEST(double_free_of_a_large_object_panics_as_a_free_span)
{
	char *p = mm_malloc(MiB);
	expect_panic(free_twice, p, p, "free(large) twice", freespan_words);
	mm_free(p);
}
END_TEST

static const char *const held_words[] = {"held by a cache", NULL};
static const char *const kept_words[] = {"kept for reuse", NULL};

/* Free p, have the cache give back what it holds (the heap keeps p's span), free p again. */
static void free_flush_free(void *p)
{
	mm_free(p);
	mm_cache_flush(mm_hosted_cache);
	mm_free(p);
}

/* A freed large block of a few pages is held whole by the thread's cache, or, once the
 * cache gives it back, kept by the heap (its neighbours are in use): a second free in
 * either place, or one of the same block reused and freed, is a double free naming it. */
START_TEST(double_free_of_a_held_kept_or_reused_large_block_panics)
{
	char *s[3];
	three_adjacent(s, 10 * PAGE);
	expect_panic(free_twice, s[1], s[1], "free(held large) twice", held_words);
	expect_panic(free_flush_free, s[1], s[1], "free(kept large) twice", kept_words);
	mm_free(s[1]);
	char *q = mm_malloc(10 * PAGE);
	REQUIRE(q == s[1], "the held span at %p was not reused: malloc gave %p", (void *)s[1], (void *)q);
	expect_panic(free_twice, q, q, "free(reused large) twice", double_words);
	mm_free(q);
	STEP();
}
END_TEST

static void free_into_freed_span(void *p)
{
	mm_free(p);
	mm_free((char *)p + 16 * PAGE);
}

START_TEST(free_of_a_pointer_into_a_free_span_panics)
{
	char *p = mm_malloc(MiB);
	expect_panic(free_into_freed_span, p, p + 16 * PAGE, "free(inside a free span)", freespan_words);
	mm_free(p);
}
END_TEST

START_TEST(double_free_of_a_small_object_panics)
{
	char *p = mm_malloc(48);
	expect_panic(free_twice, p, p, "free(small) twice", double_words);
	mm_free(p);
}
END_TEST

/* Debug builds poison freed memory: a freed small object no longer holds its data. */
START_TEST(debug_builds_poison_freed_memory)
{
	char *p = mm_malloc(200);
	memset(p, 0, 200);
	char *q = mm_malloc(200); /* keeps the span in use */
	mm_free(p);
	REQUIRE(!all_zero(p + 16, 184), "freed object still reads as its old contents");
	mm_free(q);
}
END_TEST

Suite *errors_suite(void)
{
	return SUITE_OF("errors",
		/* release builds check large objects and foreign pointers only */
		TCASE("bad frees", 60,
			free_of_an_unknown_pointer_panics_naming_it,
			free_inside_the_arena_but_never_allocated_panics,
			free_of_an_interior_pointer_of_a_large_object_panics,
			free_of_an_interior_pointer_of_a_guarded_block_panics,
			MM_DEBUG ? free_of_an_interior_pointer_of_a_small_object_panics_in_debug_builds : NULL,
			double_free_of_a_large_object_panics_as_a_free_span,
			double_free_of_a_held_kept_or_reused_large_block_panics,
			free_of_a_pointer_into_a_free_span_panics,
			double_free_of_a_small_object_panics,
			MM_DEBUG ? debug_builds_poison_freed_memory : NULL));
}
