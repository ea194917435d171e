/*
 * stress.c - shadow-model stress of the whole allocator.  A model keeps every
 * live block (address, size, pattern seed); random malloc, calloc, realloc,
 * aligned_alloc and free of skewed sizes run against it.  Each block is
 * filled with a pattern that is checked when the block is freed or moved,
 * no two live blocks may overlap (an interval tree catches it at once), and
 * mm_check() and the stats invariants run every 100k operations.  A second
 * test runs four threads that also free each other's blocks.
 *
 * MM_STRESS_OPS sets the number of operations (default 1,000,000).
 */
#include <pthread.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check/testutil.h"

struct blk {
	char *p;
	size_t n;      /* bytes requested and filled */
	size_t extent; /* usable size: the range no other block may touch */
	uint32_t seed;
};

static long stress_ops(void)
{
	const char *e = getenv("MM_STRESS_OPS");
	long n = e ? atol(e) : 1000000;
	return n > 0 ? n : 1000000;
}

static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Skewed sizes: most small, some medium, a few large, rarely huge. */
static size_t skewed_size(uint64_t *s)
{
	uint64_t r = rnd(s) % 1000;
	if (r < 600)
		return 1 + rnd(s) % 64;
	if (r < 900)
		return 65 + rnd(s) % 960;
	if (r < 985)
		return 1025 + rnd(s) % (32 * KiB - 1024);
	if (r < 999)
		return 32 * KiB + 1 + rnd(s) % (224 * KiB);
	return 256 * KiB + rnd(s) % (768 * KiB);
}

/* ---- the interval tree: blocks compare equal when they overlap ---------- */

struct range {
	char *p;
	size_t extent;
};

static void *tree;
static pthread_mutex_t tree_mu = PTHREAD_MUTEX_INITIALIZER;

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	if (x->p + x->extent <= y->p)
		return -1;
	if (y->p + y->extent <= x->p)
		return 1;
	return 0;
}

/* Record b's range; fail if it overlaps a live block. */
static void tree_insert(const struct blk *b)
{
	struct range *r = malloc(sizeof *r);
	r->p = b->p;
	r->extent = b->extent;
	pthread_mutex_lock(&tree_mu);
	struct range **found = tsearch(r, &tree, cmp_range);
	/* read the node under the lock: other threads' deletions move keys between nodes */
	int fresh = found && *found == r;
	struct range o = found ? **found : *r;
	pthread_mutex_unlock(&tree_mu);
	REQUIRE(found != NULL, "tsearch: out of memory");
	REQUIRE(fresh, "live blocks overlap: new [%p, +%zu) and [%p, +%zu)", (void *)b->p,
		      b->extent, (void *)o.p, o.extent);
}

static void tree_delete(const struct blk *b)
{
	struct range key = {b->p, b->extent}, *stored = NULL;
	pthread_mutex_lock(&tree_mu);
	struct range **found = tfind(&key, &tree, cmp_range);
	if (found && (*found)->p == b->p && (*found)->extent == b->extent) {
		stored = *found;
		tdelete(&key, &tree, cmp_range);
	}
	pthread_mutex_unlock(&tree_mu);
	REQUIRE(stored != NULL, "block %p (+%zu) missing from the model", (void *)b->p, b->extent);
	free(stored);
}

/* ---- operations on one block ------------------------------------------- */

static void check_new(struct blk *b, size_t align)
{
	REQUIRE(b->p != NULL, "allocation of %zu B (align %zu) returned NULL", b->n, align);
	REQUIRE(align == 0 || (uintptr_t)b->p % align == 0, "aligned_alloc(%zu, %zu) = %p",
		      align, b->n, (void *)b->p);
	b->extent = mm_usable_size(b->p);
	REQUIRE(b->extent >= b->n, "usable size %zu < %zu requested at %p", b->extent, b->n,
		      (void *)b->p);
	tree_insert(b);
}

static void verify(const struct blk *b, const char *when)
{
	long bad = pattern_check(b->p, b->n, b->seed);
	REQUIRE(bad < 0, "%s: block %p (%zu B) corrupted at offset %ld", when, (void *)b->p,
		      b->n, bad);
}

static void op_alloc(struct blk *b, uint64_t *s, uint32_t seed)
{
	uint64_t k = rnd(s) % 45;
	size_t align = 0;
	b->n = skewed_size(s);
	b->seed = seed;
	if (k < 25) {
		b->p = mm_malloc(b->n);
	} else if (k < 35) {
		size_t cnt = 1 + rnd(s) % 4, sz = b->n / cnt + 1;
		b->n = cnt * sz;
		b->p = mm_calloc(cnt, sz);
		REQUIRE(b->p != NULL, "calloc(%zu, %zu) = NULL", cnt, sz);
		REQUIRE(all_zero(b->p, b->n), "calloc(%zu, %zu) = %p is not zero", cnt, sz,
			      (void *)b->p);
	} else {
		uint64_t r = rnd(s) % 100;
		unsigned sh = r < 70 ? 3 + (unsigned)(r % 6) : 3 + (unsigned)(rnd(s) % 14); /* 8 .. 64 KiB */
		align = (size_t)1 << sh;
		b->p = mm_aligned_alloc(align, b->n);
	}
	check_new(b, align);
	pattern_fill(b->p, b->n, b->seed);
}

static void op_free(struct blk *b)
{
	verify(b, "free");
	tree_delete(b);
	mm_free(b->p);
	b->p = NULL;
}

static void op_realloc(struct blk *b, uint64_t *s)
{
	uint64_t r = rnd(s) % 3;
	size_t n = r == 0 ? skewed_size(s) : r == 1 ? b->n * 2 + 1 : b->n / 2 + 1;
	verify(b, "realloc");
	tree_delete(b);
	char *q = mm_realloc(b->p, n);
	REQUIRE(q != NULL, "realloc(%p, %zu) = NULL", (void *)b->p, n);
	size_t keep = n < b->n ? n : b->n;
	b->p = q;
	long bad = pattern_check(q, keep, b->seed);
	REQUIRE(bad < 0, "realloc %zu -> %zu lost contents at offset %ld", b->n, n, bad);
	if (n > b->n)
		pattern_fill_at(q, b->n, n - b->n, b->seed);
	b->n = n;
	check_new(b, 0);
}

/* ---- single thread ----------------------------------------------------- */

#define MAXLIVE 8192

START_TEST(shadow_model_stress_one_thread)
{
	long ops = stress_ops();
	static struct blk live[MAXLIVE];
	int nlive = 0;
	uint64_t s = 0x9e3779b97f4a7c15ull;
	for (long i = 1; i <= ops; i++) {
		uint64_t r = rnd(&s) % 100;
		if (nlive == 0 || (r < 45 && nlive < MAXLIVE)) {
			op_alloc(&live[nlive++], &s, (uint32_t)i);
		} else if (r < 60) {
			op_realloc(&live[rnd(&s) % (uint64_t)nlive], &s);
		} else {
			int k = (int)(rnd(&s) % (uint64_t)nlive);
			op_free(&live[k]);
			live[k] = live[--nlive];
		}
		if (i % 100000 == 0)
			STEP();
	}
	STEP();
	while (nlive > 0)
		op_free(&live[--nlive]);
	STEP();
	struct mm_stats st = stats();
	ck_assert_uint_eq(st.heap_objects, 0);
	ck_assert_ptr_null(tree);
}
END_TEST

/* ---- four threads, frees on other threads ------------------------------ */

#define NTHREADS 4
#define MAILBOX 1024

static struct {
	pthread_mutex_t mu;
	struct blk b[MAILBOX];
	int n;
} mailbox = {PTHREAD_MUTEX_INITIALIZER, {{0}}, 0};

static pthread_barrier_t bar;
static long per_thread_ops, round_ops;

/* Hand b to whichever thread takes it next; 0 if the mailbox is full. */
static int post(const struct blk *b)
{
	int ok = 0;
	pthread_mutex_lock(&mailbox.mu);
	if (mailbox.n < MAILBOX) {
		mailbox.b[mailbox.n++] = *b;
		ok = 1;
	}
	pthread_mutex_unlock(&mailbox.mu);
	return ok;
}

static int take(struct blk *b)
{
	int ok = 0;
	pthread_mutex_lock(&mailbox.mu);
	if (mailbox.n > 0) {
		*b = mailbox.b[--mailbox.n];
		ok = 1;
	}
	pthread_mutex_unlock(&mailbox.mu);
	return ok;
}

static void *stress_thread(void *arg)
{
	long id = (long)arg;
	struct blk *live = calloc(MAXLIVE / NTHREADS, sizeof *live);
	int nlive = 0, cap = MAXLIVE / NTHREADS;
	uint64_t s = 0x243f6a8885a308d3ull * (uint64_t)(id + 1);
	for (long i = 1; i <= per_thread_ops; i++) {
		uint64_t r = rnd(&s) % 100;
		struct blk got;
		int k;
		if (nlive == 0 || (r < 45 && nlive < cap)) {
			op_alloc(&live[nlive++], &s, (uint32_t)(i * NTHREADS + id));
		} else if (r < 55) {
			op_realloc(&live[rnd(&s) % (uint64_t)nlive], &s);
		} else if (r < 75) {
			/* give a block of ours to another thread to free */
			k = (int)(rnd(&s) % (uint64_t)nlive);
			if (post(&live[k]))
				live[k] = live[--nlive];
		} else if (r < 90 && take(&got)) {
			op_free(&got); /* a block another thread allocated */
		} else {
			k = (int)(rnd(&s) % (uint64_t)nlive);
			op_free(&live[k]);
			live[k] = live[--nlive];
		}
		if (i % round_ops == 0) {
			pthread_barrier_wait(&bar);
			if (id == 0)
				STEP(); /* the others wait: nobody allocates during mm_check */
			pthread_barrier_wait(&bar);
		}
	}
	while (nlive > 0)
		op_free(&live[--nlive]);
	free(live);
	return NULL;
}

static void *drain_mailbox(void *arg)
{
	struct blk b;
	(void)arg;
	while (take(&b))
		op_free(&b);
	return NULL;
}

START_TEST(shadow_model_stress_four_threads_free_across_threads)
{
	long ops = stress_ops();
	per_thread_ops = ops / NTHREADS;
	round_ops = per_thread_ops / 10 > 0 ? per_thread_ops / 10 : 1;
	per_thread_ops = round_ops * 10;
	pthread_barrier_init(&bar, NULL, NTHREADS);
	pthread_t t[NTHREADS];
	for (long i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, stress_thread, (void *)i), 0);
	for (int i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	/* the blocks still in the mailbox are freed by a thread that then exits,
	 * so that no cache is left holding anything */
	pthread_t d;
	ck_assert_int_eq(pthread_create(&d, NULL, drain_mailbox, NULL), 0);
	ck_assert_int_eq(pthread_join(d, NULL), 0);
	STEP();
	struct mm_stats st = stats();
	ck_assert_uint_eq(st.heap_objects, 0);
	REQUIRE(st.cache_bytes == 0, "all threads exited, yet cache_bytes is %llu",
		      (unsigned long long)st.cache_bytes);
	ck_assert_ptr_null(tree);
}
END_TEST

Suite *stress_suite(void)
{
	Suite *s = suite_create("stress");
	TCase *tc = tcase_new("shadow model", 300);
	tcase_add_test(tc, shadow_model_stress_one_thread);
	tcase_add_test(tc, shadow_model_stress_four_threads_free_across_threads);
	suite_add_tcase(s, tc);
	return s;
}
