/*
 * workloads.c - allocation benchmarks for `make bench`: one program, one
 * workload per run (`workloads NAME [scale]`), calling plain malloc/free so
 * that LD_PRELOAD picks the allocator.  Built with -fno-builtin-malloc, and
 * every pointer feeds a checksum printed at the end, so the compiler cannot
 * drop an allocation.  Each workload is deterministic (xorshift, fixed seeds).
 *
 *   small     single thread, 8..128 B objects replaced at random in 4k slots
 *   mixed     single thread, 8 B..8 KiB skewed sizes, 20k slots
 *             (small, churn2, churn4, mixed and compiler are the shared
 *             workloads of tests/lib/workload.c, which our kernel's `bench`
 *             runs too; blocks carry a pattern checked before each free)
 *   large     single thread, 1..64 KiB blocks, 1k slots, pages touched
 *   realloc   strings and vectors grown by realloc, then freed
 *   xthread   producer/consumer: one thread mallocs bags of blocks, another frees them
 *   churn2    2 threads each running `small` on their own slots
 *   churn4    4 threads each running `small` (on 2 cores)
 *   compiler  phases of long-lived tree nodes plus short-lived temporaries
 *   larson    server-like: threads replace blocks in slots they inherit from
 *             threads that exited, so frees land on other threads' objects
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workload.h"
#include "rng.h"

static double scale = 1.0;

static long iters(long n)
{
	return (long)(n * scale);
}

/* ---- helpers --------------------------------------------------------------- */

/* Uniform in [lo, hi]. */
static inline size_t between(struct rng *r, size_t lo, size_t hi)
{
	return lo + (size_t)(next(r) % (hi - lo + 1));
}

/* The checksum every workload feeds; atomics because threads share it. */
static uint64_t sum;

static inline void note(uint64_t *acc, void *p, size_t n)
{
	*acc = (*acc * 31) ^ ((uintptr_t)p >> 4) ^ n;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);
	if (p == NULL) {
		fprintf(stderr, "workloads: out of memory (%zu bytes)\n", n);
		exit(2);
	}
	return p;
}

/* Fill the first and last bytes so the memory is really used. */
static inline void touch(void *p, size_t n, unsigned char v)
{
	unsigned char *c = p;
	c[0] = v;
	c[n - 1] = v;
}

/* ---- small, churn, mixed: the shared workloads (tests/lib/workload.c) ------- */

static void *lib_malloc(size_t n) { return malloc(n); }
static void lib_free(void *p) { free(p); }
static const struct bench_alloc libc_alloc = {"malloc", lib_malloc, lib_free, 0};

struct wl_arg {
	int which; /* 0 small, 1 mixed, 2 compiler */
	long n;
	int slots;
	uint64_t seed;
	unsigned long ops, errors;
};

/* One shared workload on its own slot table (a thread's when several run). */
static void *wl_run(void *v)
{
	struct wl_arg *a = v;
	struct wl_slot *slot = calloc((size_t)a->slots, sizeof *slot);
	struct wl_ctx c;
	if (slot == NULL) {
		fprintf(stderr, "workloads: out of memory for the slots\n");
		exit(2);
	}
	wl_init(&c, &libc_alloc, slot, a->slots, 0, (uint32_t)a->seed);
	if (a->which == 0)
		wl_small(&c, (unsigned long)a->n, a->slots);
	else if (a->which == 1)
		wl_mixed(&c, (unsigned long)a->n, a->slots, 0);
	else
		wl_compiler(&c, (unsigned long)a->n, a->slots);
	free(slot);
	a->ops = c.ops;
	a->errors = c.errors;
	return NULL;
}

static void run_wl(int which, int nthreads, long n, int slots)
{
	pthread_t t[8];
	struct wl_arg a[8];
	unsigned long errors = 0;
	for (int i = 0; i < nthreads; i++) {
		a[i] = (struct wl_arg){which, n / nthreads, slots, 0x9e3779b9u + (uint64_t)i * 0x6c8e9cf5u, 0, 0};
		if (nthreads == 1)
			wl_run(&a[i]);
		else
			pthread_create(&t[i], NULL, wl_run, &a[i]);
	}
	for (int i = 0; i < nthreads; i++) {
		if (nthreads > 1)
			pthread_join(t[i], NULL);
		sum = sum * 31 + a[i].ops;
		errors += a[i].errors;
	}
	if (errors) {
		fprintf(stderr, "workloads: %lu pattern mismatches or NULL returns\n", errors);
		exit(2);
	}
}

static void w_small(void) { run_wl(0, 1, iters(20000000), 4096); }
static void w_churn2(void) { run_wl(0, 2, iters(20000000), 4096); }
static void w_churn4(void) { run_wl(0, 4, iters(20000000), 4096); }
static void w_mixed(void) { run_wl(1, 1, iters(8000000), 20000); }

/* ---- large ----------------------------------------------------------------- */

static void w_large(void)
{
	enum { SLOTS = 1000 };
	static void *slot[SLOTS];
	static size_t len[SLOTS];
	struct rng r = {7};
	uint64_t acc = 0;
	long n = iters(1000000);
	for (long i = 0; i < n; i++) {
		size_t k = next(&r) % SLOTS;
		if (slot[k]) {
			acc += ((unsigned char *)slot[k])[len[k] - 1];
			free(slot[k]);
		}
		len[k] = between(&r, 1024, 65536);
		slot[k] = xmalloc(len[k]);
		unsigned char *c = slot[k];
		for (size_t off = 0; off < len[k]; off += 4096) /* every page, as a program would */
			c[off] = (unsigned char)i;
		c[len[k] - 1] = (unsigned char)i;
		note(&acc, slot[k], len[k]);
	}
	for (int k = 0; k < SLOTS; k++)
		free(slot[k]);
	sum ^= acc;
}

/* ---- realloc --------------------------------------------------------------- */

/* Grow 64 buffers a few bytes at a time (like string builders and vectors)
 * to random final sizes up to 64 KiB, then free them, over and over. */
static void w_realloc(void)
{
	enum { NBUF = 64 };
	struct rng r = {99};
	uint64_t acc = 0;
	long rounds = iters(400);
	for (long i = 0; i < rounds; i++) {
		char *buf[NBUF];
		size_t cap[NBUF], want[NBUF];
		for (int b = 0; b < NBUF; b++) {
			buf[b] = NULL;
			cap[b] = 0;
			want[b] = (size_t)1 << between(&r, 4, 16);
			want[b] += between(&r, 0, want[b]);
		}
		for (int live = NBUF; live;) {
			live = 0;
			for (int b = 0; b < NBUF; b++) {
				if (cap[b] >= want[b])
					continue;
				live++;
				/* half grow by a constant step, half by 1.5x, as real code does */
				size_t nc = b & 1 ? cap[b] + 16 + cap[b] / 2 : cap[b] + 64;
				char *q = realloc(buf[b], nc);
				if (q == NULL)
					exit(2);
				q[nc - 1] = (char)b;
				if (cap[b])
					acc += (unsigned char)q[cap[b] - 1];
				buf[b] = q;
				cap[b] = nc;
			}
		}
		for (int b = 0; b < NBUF; b++) {
			note(&acc, buf[b], cap[b]);
			free(buf[b]);
		}
	}
	sum ^= acc;
}

/* ---- xthread: producer / consumer ------------------------------------------ */

/*
 * The producer fills bags of 64 blocks and hands them over through a small
 * blocking queue; the consumer checks and frees every block (and the bag).
 * Blocking (not spinning) keeps the result from depending on how the two
 * threads happen to be scheduled on a busy machine.
 */
enum { BAG = 64, QBAGS = 32 };
struct bag {
	int n;
	unsigned char *p[BAG];
};
static struct {
	pthread_mutex_t lock;
	pthread_cond_t nonempty, nonfull;
	struct bag *q[QBAGS];
	unsigned head, tail; /* head: next to write; tail: next to read */
} xq = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 0};

static void xq_put(struct bag *b)
{
	pthread_mutex_lock(&xq.lock);
	while (xq.head - xq.tail == QBAGS)
		pthread_cond_wait(&xq.nonfull, &xq.lock);
	xq.q[xq.head++ % QBAGS] = b;
	pthread_cond_signal(&xq.nonempty);
	pthread_mutex_unlock(&xq.lock);
}

static struct bag *xq_get(void)
{
	pthread_mutex_lock(&xq.lock);
	while (xq.head == xq.tail)
		pthread_cond_wait(&xq.nonempty, &xq.lock);
	struct bag *b = xq.q[xq.tail++ % QBAGS];
	pthread_cond_signal(&xq.nonfull);
	pthread_mutex_unlock(&xq.lock);
	return b;
}

static void *producer(void *v)
{
	long n = *(long *)v;
	struct rng r = {5};
	for (long i = 0; i < n; i += BAG) {
		struct bag *b = xmalloc(sizeof *b);
		b->n = 0;
		for (int k = 0; k < BAG && i + k < n; k++) {
			size_t len = between(&r, 16, 256);
			unsigned char *p = xmalloc(len);
			p[0] = (unsigned char)len;
			p[len - 1] = (unsigned char)k;
			b->p[b->n++] = p;
		}
		xq_put(b);
	}
	xq_put(NULL);
	return NULL;
}

static void *consumer(void *v)
{
	(void)v;
	uint64_t acc = 0;
	struct bag *b;
	while ((b = xq_get()) != NULL) {
		for (int k = 0; k < b->n; k++) {
			acc += b->p[k][0];
			note(&acc, b->p[k], 0);
			free(b->p[k]);
		}
		free(b);
	}
	sum ^= acc;
	return NULL;
}

static void w_xthread(void)
{
	long n = iters(10000000);
	pthread_t p, c;
	pthread_create(&p, NULL, producer, &n);
	pthread_create(&c, NULL, consumer, NULL);
	pthread_join(p, NULL);
	pthread_join(c, NULL);
}

/* ---- compiler: long-lived and short-lived (tests/lib/workload.c) ------------ */

/* Trees of 150k long-lived nodes (like an AST or symbol table), each node
 * with 1..4 temporaries dropped right away; 25 trees. */
static void w_compiler(void) { run_wl(2, 1, iters(25) * 150000, 150000); }

/* ---- larson: server simulation --------------------------------------------- */

enum { LARSON_THREADS = 4, LARSON_SLOTS = 1000 };

struct lslot {
	void *p[LARSON_SLOTS];
	size_t n[LARSON_SLOTS];
};

struct larg {
	struct lslot *s;
	long rounds;
	uint64_t seed, acc;
};

/* One server thread: replace random blocks in slots it inherited. */
static void *larson_thread(void *v)
{
	struct larg *a = v;
	struct rng r = {a->seed};
	uint64_t acc = 0;
	for (long i = 0; i < a->rounds; i++) {
		size_t k = next(&r) % LARSON_SLOTS;
		if (a->s->p[k]) {
			acc += ((unsigned char *)a->s->p[k])[a->s->n[k] - 1];
			free(a->s->p[k]);
		}
		size_t n = between(&r, 16, 512);
		a->s->p[k] = xmalloc(n);
		a->s->n[k] = n;
		touch(a->s->p[k], n, (unsigned char)i);
		note(&acc, a->s->p[k], n);
	}
	a->acc = acc;
	return NULL;
}

static void w_larson(void)
{
	static struct lslot s[LARSON_THREADS];
	long gens = iters(100);
	long per = 40000;
	for (long g = 0; g < gens; g++) {
		pthread_t t[LARSON_THREADS];
		struct larg a[LARSON_THREADS];
		/* each generation's thread i takes over slots of thread (i + g) % N */
		for (int i = 0; i < LARSON_THREADS; i++) {
			a[i] = (struct larg){&s[(i + g) % LARSON_THREADS], per, (uint64_t)(g * 977 + i + 1), 0};
			pthread_create(&t[i], NULL, larson_thread, &a[i]);
		}
		for (int i = 0; i < LARSON_THREADS; i++) {
			pthread_join(t[i], NULL);
			sum ^= a[i].acc;
		}
	}
	for (int i = 0; i < LARSON_THREADS; i++)
		for (int k = 0; k < LARSON_SLOTS; k++)
			free(s[i].p[k]);
}

/* ---- main ------------------------------------------------------------------ */

static const struct {
	const char *name;
	void (*fn)(void);
} table[] = {
	{"small", w_small},     {"mixed", w_mixed},   {"large", w_large},
	{"realloc", w_realloc}, {"xthread", w_xthread}, {"churn2", w_churn2},
	{"churn4", w_churn4},   {"compiler", w_compiler}, {"larson", w_larson},
};

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: workloads NAME [scale]\nworkloads:");
		for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
			fprintf(stderr, " %s", table[i].name);
		fprintf(stderr, "\n");
		return 2;
	}
	if (argc > 2)
		scale = atof(argv[2]);
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		if (strcmp(argv[1], table[i].name) == 0) {
			table[i].fn();
			printf("%s %016llx\n", table[i].name, (unsigned long long)sum);
			return 0;
		}
	}
	fprintf(stderr, "workloads: no workload '%s'\n", argv[1]);
	return 2;
}
