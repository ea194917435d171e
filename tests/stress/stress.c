/*
 * stress.c - the Check suite's shadow-model stress of the whole allocator,
 * through the one stress driver (tests/lib/stress.c): random malloc,
 * calloc, realloc, aligned_alloc and free of skewed sizes against a table
 * of every live block; patterns checked before each free or move, calloc
 * zeroed, alignment and usable size honoured.  At every 100,000 operations
 * (the one-thread test) or every tenth of the run (four threads, all
 * stopped at a barrier) all live blocks are re-checked and none may overlap
 * another, the stats add up and mm_check() finds nothing wrong (STEP).  The four threads also hand blocks to each other
 * through a mailbox, so frees land on other threads' objects.
 *
 * MM_STRESS_OPS sets the number of operations (default 1,000,000).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check/testutil.h"
#include "stress.h"

static long stress_ops(void)
{
	const char *e = getenv("MM_STRESS_OPS");
	long n = e ? atol(e) : 1000000;
	return n > 0 ? n : 1000000;
}

static void *s_malloc(size_t n) { return mm_malloc(n); }
static void s_free(void *p) { mm_free(p); }
static void *s_calloc(size_t c, size_t n) { return mm_calloc(c, n); }
static void *s_realloc(void *p, size_t n) { return mm_realloc(p, n); }
static void *s_aligned(size_t a, size_t n) { return mm_aligned_alloc(a, n); }
static size_t s_usable(const void *p) { return mm_usable_size((void *)p); }

/* ---- one thread --------------------------------------------------------- */

/* After the driver's own checks: the stats and mm_check. */
static int step(char *err, size_t len)
{
	(void)err, (void)len;
	STEP();
	return 0;
}

START_TEST(shadow_model_stress_one_thread)
{
	struct port_alloc a = {s_malloc, s_free, s_calloc, s_realloc, s_aligned, s_usable, step};
	struct port_stress_cfg cfg = {.seed = 0x9e3779b97f4a7c15ull, .nops = stress_ops(), .nslots = 8192,
				      .maxlarge = 1024 * KiB, .check_every = 100000};
	struct port_stress_result res;
	char err[256];
	REQUIRE(port_stress(&a, &cfg, &res, err, sizeof err) == 0, "%s", err);
	STEP();
	struct mm_stats st = stats();
	ck_assert_uint_eq(st.heap_objects, 0);
	REQUIRE(res.nalloc > 0 && res.nfree > 0 && res.nrealloc > 0, "%ld allocs, %ld frees, %ld reallocs",
		res.nalloc, res.nfree, res.nrealloc);
}
END_TEST

/* ---- four threads, frees on other threads --------------------------------- */

#define NTHREADS 4
#define MAILBOX 1024

static pthread_mutex_t mailbox_mu = PTHREAD_MUTEX_INITIALIZER;
static struct port_stress_parcel parcels[MAILBOX];
static void mb_lock(void *m) { pthread_mutex_lock(m); }
static void mb_unlock(void *m) { pthread_mutex_unlock(m); }
static struct port_stress_mailbox mailbox = {mb_lock, mb_unlock, &mailbox_mu, parcels, MAILBOX, 0};

static pthread_barrier_t bar;
static _Thread_local int thread_id;

/* Every thread reaches the same number of checks: all stop, thread 0 runs
 * STEP while nobody allocates, all go on. */
static int step_together(char *err, size_t len)
{
	(void)err, (void)len;
	pthread_barrier_wait(&bar);
	if (thread_id == 0)
		STEP();
	pthread_barrier_wait(&bar);
	return 0;
}

struct worker {
	long id, ops, taken, posted;
	int ok;
	char err[256];
};

static void *stress_thread(void *arg)
{
	struct worker *w = arg;
	struct port_alloc a = {s_malloc, s_free, s_calloc, s_realloc, s_aligned, s_usable, step_together};
	struct port_stress_cfg cfg = {.seed = 0x243f6a8885a308d3ull * (uint64_t)(w->id + 1), .nops = w->ops,
				      .nslots = 2048, .maxlarge = 1024 * KiB, .check_every = w->ops / 10,
				      .mailbox = &mailbox};
	struct port_stress_result res;
	thread_id = (int)w->id;
	w->ok = port_stress(&a, &cfg, &res, w->err, sizeof w->err) == 0;
	w->taken = res.ntaken;
	w->posted = res.nposted;
	return NULL;
}

/* The blocks still in the mailbox are freed by a thread that then exits,
 * so that no cache is left holding anything. */
static void *drain_mailbox(void *arg)
{
	struct port_alloc a = {s_malloc, s_free, s_calloc, s_realloc, s_aligned, s_usable, NULL};
	struct worker *w = arg;
	w->ok = port_stress_drain(&a, &mailbox, w->err, sizeof w->err) == 0;
	return NULL;
}

START_TEST(shadow_model_stress_four_threads_free_across_threads)
{
	struct worker w[NTHREADS + 1];
	long per_thread = stress_ops() / NTHREADS / 10 * 10, taken = 0, posted = 0;
	if (per_thread < 10)
		per_thread = 10;
	pthread_barrier_init(&bar, NULL, NTHREADS);
	pthread_t t[NTHREADS];
	for (long i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){.id = i, .ops = per_thread};
		ck_assert_int_eq(pthread_create(&t[i], NULL, stress_thread, &w[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
		REQUIRE(w[i].ok, "thread %d: %s", i, w[i].err);
		taken += w[i].taken;
		posted += w[i].posted;
	}
	pthread_t d;
	ck_assert_int_eq(pthread_create(&d, NULL, drain_mailbox, &w[NTHREADS]), 0);
	ck_assert_int_eq(pthread_join(d, NULL), 0);
	REQUIRE(w[NTHREADS].ok, "draining the mailbox: %s", w[NTHREADS].err);
	REQUIRE(taken > 0 && posted >= taken, "%ld blocks posted, %ld taken by other threads", posted, taken);
	STEP();
	struct mm_stats st = stats();
	ck_assert_uint_eq(st.heap_objects, 0);
	REQUIRE(st.cache_bytes == 0, "all threads exited, yet cache_bytes is %llu",
		(unsigned long long)st.cache_bytes);
}
END_TEST

Suite *stress_suite(void)
{
	return SUITE_OF("stress",
		TCASE("shadow model", 300,
			shadow_model_stress_one_thread,
			shadow_model_stress_four_threads_free_across_threads));
}
