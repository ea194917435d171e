/*
 * testutil.h - helpers shared by the Check suites: the invariants every test
 * re-checks after each step (STEP), fill/verify patterns, RSS, heap layouts
 * the tests start from, a child that must die (run_child), building a suite
 * from lists (SUITE_OF, TCASE) and running suites (run_suites), and the
 * suite constructors each test file provides.
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../../mm/mm.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#ifdef MM_PAGE_SHIFT /* test-host-page16k builds everything with a larger page */
#define PAGE ((size_t)1 << MM_PAGE_SHIFT)
#else
#define PAGE ((size_t)4096)
#endif
#define MAX_SMALL (32 * KiB)
/*
 * Release builds guard requests of 0 and of more than 1024 bytes (the
 * guard, mm/internal.h): such a block's slot holds its size plus a trailer
 * of GUARD_BYTES(n), and its usable size is n.  malloc(0) has a class of
 * its own, the last of by_class (SIZED: the classes sizes map to).  A
 * request above MAX_SMALL - GUARD_BYTES(n) is a large object.
 */
#ifdef MM_DEBUG
#define GUARD_BYTES(n) ((size_t)0)
#else
#define GUARD_BYTES(n) ((n) == 0 || (n) > 1024 ? 8 + sizeof(uintptr_t) : 0)
#endif
#define SIZED(st) ((st)->nclasses - 1)

/*
 * STEP(): after every step of a test.  The stats add up (heap_sys ==
 * heap_inuse + heap_idle, heap_objects == nmalloc - nfree, heap_released <=
 * heap_idle, per-class counts sum to the totals' small part) and mm_check()
 * finds nothing wrong.  Reports the caller's file and line.
 */
#define STEP() step_check(__FILE__, __LINE__)

/*
 * REQUIRE(cond, fmt, ...): ck_assert_msg for hot loops.  Check's own
 * assertions report every passing check to the runner (one write() each),
 * which costs more than the allocator under test.
 */
#define REQUIRE(cond, ...)                        \
	do {                                      \
		if (!(cond))                      \
			ck_abort_msg(__VA_ARGS__); \
	} while (0)
void step_check(const char *file, int line);

/* A copy of the current stats. */
struct mm_stats stats(void);

/* Size of size class c (1..nclasses-1) and the smallest class size >= n. */
size_t smallest_class_fitting(const struct mm_stats *st, size_t n);
int class_of_size(const struct mm_stats *st, size_t n);

/*
 * Central keeps spans with no object out, as spares (mm/central.c:
 * keep_idle), so that a class allocated again soon does not go back to the
 * heap: one per class, or as many as hold a batch of objects where a span
 * holds fewer.  mm_scavenge gives them back.  spare_bytes: the most
 * heap_inuse such spares may hold, given the classes used so far.
 */
uint64_t spare_bytes(const struct mm_stats *st);

/* Fill [p, p+n) with a pattern derived from seed; verify returns the first
 * offset that differs, or -1.  The pattern depends on the offset, so a block
 * copied to the wrong place or overlapping another is caught. */
void pattern_fill(void *p, size_t n, uint32_t seed);
long pattern_check(const void *p, size_t n, uint32_t seed);
/* Same for a part [off, off+n) of a block filled with seed. */
void pattern_fill_at(void *p, size_t off, size_t n, uint32_t seed);
long pattern_check_at(const void *p, size_t off, size_t n, uint32_t seed);
/* 1 if all n bytes are zero. */
int all_zero(const void *p, size_t n);

/* Resident set size of this process in bytes (/proc/self/statm). */
uint64_t rss_bytes(void);
/* Resident bytes of [p, p+n) according to mincore. */
uint64_t resident_in(const void *p, size_t n);

/*
 * free_region(n): in a fresh heap, allocate n bytes and a guard after them,
 * take every other free span big enough for a large object, then free the n
 * bytes: the result is the start of the only free span that can serve large
 * requests.  three_adjacent(s, v): three adjacent v-byte spans carved from
 * it, sorted by address, with objects in use on both sides.
 */
char *free_region(size_t n);
void three_adjacent(char *s[3], size_t v);
/*
 * released_sides(s, v): in a fresh heap, three adjacent v-byte spans, all
 * written, then the outer two freed and released (mm_scavenge(0)): the
 * middle one, still in use, has a released free neighbour on either side.
 */
void released_sides(char *s[3], size_t v);

/*
 * Built with AddressSanitizer?  Its shadow memory takes terabytes of address
 * space, the range at the 64-bit arena's hint among it, so tests that measure
 * the address space or need the arena's regions to be contiguous skip there
 * (saying so).
 */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif
#define SKIP_UNDER_ASAN(why)                                                      \
	do {                                                                      \
		if (UNDER_ASAN) {                                                 \
			fprintf(stderr, "SKIP %s under ASan: %s\n", __func__, why); \
			return;                                                   \
		}                                                                 \
	} while (0)

/* How a child run by run_child ended, and what it wrote to stderr. */
struct died {
	int signaled, status;
	char err[2048];
};
/* Run fn(arg) in a child (it _exits 0 if fn returns); collect how it ended. */
struct died run_child(void (*fn)(void *), void *arg);

/*
 * Each t_*.c builds its suite as one expression:
 *   SUITE_OF(name, TCASE(name, timeout_s, test, ...), ...)
 * TCASE: a test case with that timeout (generous: the -m32 suite runs under
 * qemu-user) and the tests listed, in order.  SUITE_OF: a suite of the test
 * cases listed.  A NULL in either list is skipped (a test, or a test case,
 * only some builds run).
 */
/* LIST_OF: an array literal of type and its length, as two arguments. */
#define LIST_OF(type, ...) \
	(type const[]){__VA_ARGS__}, sizeof((type const[]){__VA_ARGS__}) / sizeof(type)
#define TCASE(name, timeout_s, ...) tcase_of((name), (timeout_s), LIST_OF(const TTest *, __VA_ARGS__))
#define SUITE_OF(name, ...) suite_of((name), LIST_OF(TCase *, __VA_ARGS__))
TCase *tcase_of(const char *name, int timeout_s, const TTest *const tests[], size_t n);
Suite *suite_of(const char *name, TCase *const tcases[], size_t n);

/* main: run the suites of the NULL-terminated list, each test in a fresh
 * process (every test needs a fresh allocator); EXIT_SUCCESS when all passed. */
int run_suites(Suite *const suites[]);

/* Suites. */
Suite *sizeclass_suite(void);
Suite *heap_suite(void);
Suite *cache_suite(void);
Suite *api_suite(void);
Suite *stats_suite(void);
Suite *scavenge_suite(void);
Suite *errors_suite(void);
Suite *stress_suite(void);
Suite *port_suite(void);
Suite *internal_suite(void);
Suite *process_suite(void); /* t_process.c: limits and neighbours of a real process */

Suite *arena32_suite(void);
Suite *fake_suite(void);

#endif
