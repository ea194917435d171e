/*
 * testutil.c - the helpers of testutil.h.
 */

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

struct mm_stats stats(void)
{
	struct mm_stats st;
	memset(&st, 0xee, sizeof st);
	mm_read_stats(&st);
	return st;
}

void step_check(const char *file, int line)
{
	struct mm_stats st = stats();
	REQUIRE(st.heap_sys == st.heap_inuse + st.heap_idle,
		      "%s:%d: heap_sys %llu != heap_inuse %llu + heap_idle %llu", file, line,
		      (unsigned long long)st.heap_sys, (unsigned long long)st.heap_inuse,
		      (unsigned long long)st.heap_idle);
	REQUIRE(st.nfree <= st.nmalloc && st.heap_objects == st.nmalloc - st.nfree,
		      "%s:%d: heap_objects %llu != nmalloc %llu - nfree %llu", file, line,
		      (unsigned long long)st.heap_objects, (unsigned long long)st.nmalloc,
		      (unsigned long long)st.nfree);
	REQUIRE(st.heap_released <= st.heap_idle,
		      "%s:%d: heap_released %llu > heap_idle %llu", file, line,
		      (unsigned long long)st.heap_released, (unsigned long long)st.heap_idle);
	REQUIRE(st.heap_sys <= st.sys, "%s:%d: heap_sys %llu > sys %llu", file, line,
		      (unsigned long long)st.heap_sys, (unsigned long long)st.sys);
	REQUIRE(st.heap_sys % PAGE == 0 && st.heap_idle % PAGE == 0 &&
			      st.heap_released % PAGE == 0,
		      "%s:%d: heap byte counts not whole pages", file, line);
	uint64_t cm = 0, cf = 0;
	for (int c = 1; c < st.nclasses; c++) {
		cm += st.by_class[c].nmalloc;
		cf += st.by_class[c].nfree;
		REQUIRE(st.by_class[c].nfree <= st.by_class[c].nmalloc,
			      "%s:%d: class %d: nfree %llu > nmalloc %llu", file, line, c,
			      (unsigned long long)st.by_class[c].nfree,
			      (unsigned long long)st.by_class[c].nmalloc);
	}
	REQUIRE(cm <= st.nmalloc && cf <= st.nfree,
		      "%s:%d: per-class counts (%llu, %llu) exceed totals (%llu, %llu)", file,
		      line, (unsigned long long)cm, (unsigned long long)cf,
		      (unsigned long long)st.nmalloc, (unsigned long long)st.nfree);
	int bad = mm_check();
	REQUIRE(bad == 0, "%s:%d: mm_check() = %d: %s", file, line, bad,
		      mm_check_error() ? mm_check_error() : "(no message)");
}

int class_of_size(const struct mm_stats *st, size_t n)
{
	for (int c = 1; c < st->nclasses; c++)
		if (st->by_class[c].size >= n)
			return c;
	return 0;
}

size_t smallest_class_fitting(const struct mm_stats *st, size_t n)
{
	int c = class_of_size(st, n);
	return c ? st->by_class[c].size : 0;
}

uint64_t spare_bytes(const struct mm_stats *st)
{
	uint64_t b = 0;
	for (int c = 1; c < st->nclasses; c++) {
		if (!st->by_class[c].nmalloc)
			continue;
		/* a batch (64 KiB of objects, 2 to 32) in spares, one span at least */
		uint64_t size = st->by_class[c].size, span = (uint64_t)st->by_class[c].npages * PAGE;
		uint64_t batch = 65536 / size < 2 ? 2 : 65536 / size > 32 ? 32 : 65536 / size;
		uint64_t spares = batch / (span / size) > 1 ? batch / (span / size) : 1;
		b += spares * span;
	}
	return b;
}

/* Word w of a block filled with seed. */
static inline uint32_t pat(uint32_t seed, size_t w)
{
	return (seed ^ 0x5bd1e995u) + (uint32_t)w * 0x9e3779b1u;
}

static inline unsigned char patbyte(uint32_t seed, size_t off)
{
	return (unsigned char)(pat(seed, off / 4) >> (8 * (off % 4)));
}

void pattern_fill_at(void *p, size_t off, size_t n, uint32_t seed)
{
	unsigned char *b = p;
	size_t i = off, end = off + n;
	for (; i < end && i % 4; i++)
		b[i] = patbyte(seed, i);
	for (; i + 4 <= end; i += 4) {
		uint32_t v = pat(seed, i / 4);
		memcpy(b + i, &v, 4); /* little endian: same bytes as patbyte */
	}
	for (; i < end; i++)
		b[i] = patbyte(seed, i);
}

long pattern_check_at(const void *p, size_t off, size_t n, uint32_t seed)
{
	const unsigned char *b = p;
	size_t i = off, end = off + n;
	for (; i < end && i % 4; i++)
		if (b[i] != patbyte(seed, i))
			return (long)i;
	for (; i + 4 <= end; i += 4) {
		uint32_t v;
		memcpy(&v, b + i, 4);
		if (v != pat(seed, i / 4))
			break;
	}
	for (; i < end; i++)
		if (b[i] != patbyte(seed, i))
			return (long)i;
	return -1;
}

void pattern_fill(void *p, size_t n, uint32_t seed) { pattern_fill_at(p, 0, n, seed); }
long pattern_check(const void *p, size_t n, uint32_t seed) { return pattern_check_at(p, 0, n, seed); }

int all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

uint64_t rss_bytes(void)
{
	unsigned long size = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	REQUIRE(f != NULL, "cannot open /proc/self/statm");
	ck_assert_int_eq(fscanf(f, "%lu %lu", &size, &res), 2);
	fclose(f);
	return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

uint64_t resident_in(const void *p, size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = (uintptr_t)p & ~(pg - 1);
	size_t len = ((uintptr_t)p + n - a + pg - 1) & ~(pg - 1);
	size_t np = len / pg;
	unsigned char vec[4096];
	uint64_t k = 0;
	for (size_t i = 0; i < np; i += sizeof vec) {
		size_t m = np - i < sizeof vec ? np - i : sizeof vec;
		ck_assert_int_eq(mincore((void *)(a + i * pg), m * pg, vec), 0);
		for (size_t j = 0; j < m; j++)
			k += vec[j] & 1;
	}
	return k * pg;
}

TCase *tcase_of(const char *name, int timeout_s, const TTest *const tests[], size_t n)
{
	TCase *tc = tcase_create(name);
	tcase_set_timeout(tc, timeout_s);
	for (size_t i = 0; i < n; i++)
		if (tests[i])
			tcase_add_test(tc, tests[i]);
	return tc;
}

Suite *suite_of(const char *name, TCase *const tcases[], size_t n)
{
	Suite *s = suite_create(name);
	for (size_t i = 0; i < n; i++)
		if (tcases[i])
			suite_add_tcase(s, tcases[i]);
	return s;
}

int run_suites(Suite *const suites[])
{
	SRunner *sr = srunner_create(suites[0]);
	for (size_t i = 1; suites[i]; i++)
		srunner_add_suite(sr, suites[i]);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

char *free_region(size_t n)
{
	char *x = mm_malloc(n);
	ck_assert_ptr_nonnull(x);
	ck_assert_ptr_nonnull(mm_malloc(16 * PAGE)); /* guard */
	struct mm_stats st = stats();
	if (st.heap_idle > MAX_SMALL) {
		ck_assert_ptr_nonnull(mm_malloc(st.heap_idle));
		struct mm_stats st2 = stats();
		REQUIRE(st2.heap_sys == st.heap_sys,
			      "precondition: the %llu idle bytes after growth are not one span",
			      (unsigned long long)st.heap_idle);
	}
	STEP();
	mm_free(x);
	STEP();
	st = stats();
	REQUIRE(st.heap_idle >= n && st.heap_idle < n + 9 * PAGE,
		      "after freeing %zu B, heap_idle is %llu", n, (unsigned long long)st.heap_idle);
	return x;
}

void three_adjacent(char *s[3], size_t v)
{
	char *p[3];
	/* guards before and after: whichever end the heap splits from, the
	 * three are fenced in by objects in use */
	ck_assert_ptr_nonnull(mm_malloc(16 * PAGE));
	for (int i = 0; i < 3; i++)
		p[i] = mm_malloc(v);
	ck_assert_ptr_nonnull(mm_malloc(16 * PAGE));
	for (int i = 0; i < 3; i++)
		for (int j = i + 1; j < 3; j++)
			if (p[j] < p[i]) {
				char *t = p[i];
				p[i] = p[j];
				p[j] = t;
			}
	for (int i = 0; i < 3; i++)
		s[i] = p[i];
	REQUIRE(s[0] + v == s[1] && s[1] + v == s[2],
		      "precondition: three spans split from one free span are not adjacent: %p %p %p",
		      (void *)s[0], (void *)s[1], (void *)s[2]);
}

void released_sides(char *s[3], size_t v)
{
	free_region(16 * MiB);
	three_adjacent(s, v);
	for (int i = 0; i < 3; i++)
		memset(s[i], 0x22, v);
	mm_free(s[0]);
	mm_free(s[2]);
	mm_scavenge(0);
}

/* Run fn(arg) in a child; collect how it ended and what it wrote to stderr. */
struct died run_child(void (*fn)(void *), void *arg)
{
	int fd[2];
	struct died d;
	memset(&d, 0, sizeof d);
	ck_assert_int_eq(pipe(fd), 0);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fd[0]);
		dup2(fd[1], 2);
		fn(arg);
		_exit(0); /* survived: the parent fails the test */
	}
	close(fd[1]);
	size_t n = 0;
	ssize_t k;
	while ((k = read(fd[0], d.err + n, sizeof d.err - 1 - n)) > 0)
		n += (size_t)k;
	close(fd[0]);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	d.signaled = WIFSIGNALED(st);
	d.status = d.signaled ? WTERMSIG(st) : WEXITSTATUS(st);
	return d;
}
