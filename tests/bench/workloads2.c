/*
 * workloads2.c - more allocation benchmarks for `make bench`, the ones issue
 * 11 found libmm slowest on (same conventions as workloads.c: plain
 * malloc/free, deterministic, a checksum printed at the end):
 *
 *   bulk      a binary tree of 2^16 nodes of 32 B built and freed, 30 times;
 *             then bursts of 1M small blocks freed in order and in reverse
 *   prodcons  2 producers and 2 consumers: blocks of 8 B..8 KiB (skewed to
 *             small) made on one thread and freed on another
 *   falseshr  4 threads each writing its own 64 B block in a tight loop
 *             (active: blocks each thread allocated itself; passive: blocks
 *             the main thread allocated, freed by the worker, which then
 *             allocates its own): slow when blocks share a cache line
 *   burst     RSS over time (`burst [MB]`): allocate MB (default 256) in
 *             64 KiB..4 MiB blocks, free them all, then run a small churn
 *             for 3 s; one line "ms rss_kb phase" every 50 ms on stdout
 *             (bench.sh plots it; the process never calls malloc_trim)
 *
 *   workloads2 NAME [scale]
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "rng.h"

static double scale = 1.0;
static uint64_t sum;

static long iters(long n)
{
	long v = (long)(n * scale);
	return v > 0 ? v : 1;
}


static void *xmalloc(size_t n)
{
	void *p = malloc(n);
	if (p == NULL) {
		fprintf(stderr, "workloads2: out of memory (%zu bytes)\n", n);
		exit(2);
	}
	return p;
}

/* ---- bulk: build and tear down ----------------------------------------------- */

struct tnode {
	struct tnode *kid[2];
	uint64_t key, val; /* 32 B on 64-bit */
};

/* A complete binary tree of depth d (2^d - 1 nodes), built depth first. */
static struct tnode *tree_build(int d, uint64_t key)
{
	if (d == 0)
		return NULL;
	struct tnode *t = xmalloc(sizeof *t);
	t->key = key;
	t->val = key * 2654435761u;
	t->kid[0] = tree_build(d - 1, key * 2);
	t->kid[1] = tree_build(d - 1, key * 2 + 1);
	return t;
}

static uint64_t tree_free(struct tnode *t)
{
	if (!t)
		return 0;
	uint64_t s = t->val + tree_free(t->kid[0]) + tree_free(t->kid[1]);
	free(t);
	return s;
}

static void w_bulk(void)
{
	long rounds = iters(30);
	for (long r = 0; r < rounds; r++)
		sum += tree_free(tree_build(16, 1));
	/* bursts: 1M blocks of 16..64 B, freed in allocation order, then in reverse */
	enum { BURST = 1 << 20 };
	void **p = xmalloc(BURST * sizeof *p);
	struct rng g = {77};
	long bursts = iters(4);
	for (long b = 0; b < bursts; b++) {
		for (long i = 0; i < BURST; i++) {
			size_t n = 16 + (size_t)(next(&g) % 49);
			p[i] = xmalloc(n);
			*(unsigned char *)p[i] = (unsigned char)i;
		}
		if (b & 1)
			for (long i = BURST - 1; i >= 0; i--) {
				sum += *(unsigned char *)p[i];
				free(p[i]);
			}
		else
			for (long i = 0; i < BURST; i++) {
				sum += *(unsigned char *)p[i];
				free(p[i]);
			}
	}
	free(p);
}

/* ---- prodcons: mixed sizes freed on other threads ------------------------------ */

enum { PC_PAIRS = 2, PC_BATCH = 256, PC_QUEUE = 16 };
struct pc_batch {
	int n;
	unsigned char *p[PC_BATCH];
	size_t len[PC_BATCH];
};
struct pc_queue {
	pthread_mutex_t lock;
	pthread_cond_t nonempty, nonfull;
	struct pc_batch *q[PC_QUEUE];
	unsigned head, tail;
	long n; /* blocks the producer makes */
	uint64_t seed, acc;
};

static void pc_put(struct pc_queue *q, struct pc_batch *b)
{
	pthread_mutex_lock(&q->lock);
	while (q->head - q->tail == PC_QUEUE)
		pthread_cond_wait(&q->nonfull, &q->lock);
	q->q[q->head++ % PC_QUEUE] = b;
	pthread_cond_signal(&q->nonempty);
	pthread_mutex_unlock(&q->lock);
}

static struct pc_batch *pc_get(struct pc_queue *q)
{
	pthread_mutex_lock(&q->lock);
	while (q->head == q->tail)
		pthread_cond_wait(&q->nonempty, &q->lock);
	struct pc_batch *b = q->q[q->tail++ % PC_QUEUE];
	pthread_cond_signal(&q->nonfull);
	pthread_mutex_unlock(&q->lock);
	return b;
}

/* Three in four blocks 8..256 B, the rest up to 8 KiB. */
static size_t pc_size(struct rng *r)
{
	uint64_t x = next(r);
	if (x % 4)
		return 8 + (size_t)((x >> 8) % 249);
	return 8 + (size_t)((x >> 8) % 8185);
}

static void *pc_producer(void *v)
{
	struct pc_queue *q = v;
	struct rng r = {q->seed};
	for (long i = 0; i < q->n; i += PC_BATCH) {
		struct pc_batch *b = xmalloc(sizeof *b);
		b->n = 0;
		for (int k = 0; k < PC_BATCH && i + k < q->n; k++) {
			size_t len = pc_size(&r);
			unsigned char *p = xmalloc(len);
			p[0] = (unsigned char)k;
			p[len - 1] = (unsigned char)len;
			b->p[b->n] = p;
			b->len[b->n++] = len;
		}
		pc_put(q, b);
	}
	pc_put(q, NULL);
	return NULL;
}

static void *pc_consumer(void *v)
{
	struct pc_queue *q = v;
	uint64_t acc = 0;
	struct pc_batch *b;
	while ((b = pc_get(q)) != NULL) {
		for (int k = 0; k < b->n; k++) {
			acc += b->p[k][0] + b->p[k][b->len[k] - 1];
			free(b->p[k]);
		}
		free(b);
	}
	q->acc = acc;
	return NULL;
}

static void w_prodcons(void)
{
	static struct pc_queue q[PC_PAIRS];
	pthread_t t[2 * PC_PAIRS];
	for (int i = 0; i < PC_PAIRS; i++) {
		pthread_mutex_init(&q[i].lock, NULL);
		pthread_cond_init(&q[i].nonempty, NULL);
		pthread_cond_init(&q[i].nonfull, NULL);
		q[i].n = iters(3000000);
		q[i].seed = 11 + (uint64_t)i;
		pthread_create(&t[2 * i], NULL, pc_producer, &q[i]);
		pthread_create(&t[2 * i + 1], NULL, pc_consumer, &q[i]);
	}
	for (int i = 0; i < 2 * PC_PAIRS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < PC_PAIRS; i++)
		sum ^= q[i].acc;
}

/* ---- falseshr: cache lines shared by threads ------------------------------------ */

enum { FS_THREADS = 4, FS_LINE = 64 };
struct fs_arg {
	long rounds, writes;
	volatile unsigned char *given; /* passive: the block from the main thread */
	uint64_t acc;
};

/* Each round: take a 64 B block, write every byte `writes` times, free it. */
static void *fs_thread(void *v)
{
	struct fs_arg *a = v;
	uint64_t acc = 0;
	if (a->given) /* passive: free the block we were handed, then use our own */
		free((void *)a->given);
	for (long r = 0; r < a->rounds; r++) {
		volatile unsigned char *p = xmalloc(FS_LINE);
		for (long w = 0; w < a->writes; w++)
			for (int k = 0; k < FS_LINE; k += 8)
				p[k] = (unsigned char)(p[k] + 1);
		acc += p[0];
		free((void *)p);
	}
	a->acc = acc;
	return NULL;
}

static void fs_run(int passive)
{
	pthread_t t[FS_THREADS];
	struct fs_arg a[FS_THREADS];
	for (int i = 0; i < FS_THREADS; i++) {
		a[i] = (struct fs_arg){iters(2000), 5000, NULL, 0};
		if (passive) /* neighbouring blocks handed to different threads */
			a[i].given = xmalloc(FS_LINE);
	}
	for (int i = 0; i < FS_THREADS; i++)
		pthread_create(&t[i], NULL, fs_thread, &a[i]);
	for (int i = 0; i < FS_THREADS; i++) {
		pthread_join(t[i], NULL);
		sum += a[i].acc;
	}
}

static void w_falseshr(void)
{
	fs_run(0);
	fs_run(1);
}

/* ---- burst: RSS over time ---------------------------------------------------- */

static double ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1e3 + (t.tv_nsec - t0->tv_nsec) / 1e6;
}

static long rss_kb(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void sample(const struct timespec *t0, double *due, const char *phase)
{
	double t = ms_since(t0);
	if (t >= *due) {
		printf("%.0f %ld %s\n", t, rss_kb(), phase);
		*due = t + 50;
	}
}

static void w_burst(long mb)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	double due = 0;
	struct rng r = {3};
	size_t total = (size_t)mb << 20, got = 0, nb = 0;
	void **blk = xmalloc((total / 65536 + 1) * sizeof *blk);
	sample(&t0, &due, "start");
	while (got < total) {
		size_t n = (size_t)65536 << (next(&r) % 7); /* 64 KiB .. 4 MiB */
		unsigned char *p = xmalloc(n);
		for (size_t off = 0; off < n; off += 4096)
			p[off] = (unsigned char)off;
		blk[nb++] = p;
		got += n;
		sample(&t0, &due, "alloc");
	}
	for (size_t i = 0; i < nb; i++) {
		free(blk[i]);
		sample(&t0, &due, "free");
	}
	free(blk);
	/* idle-ish: a small churn, as a program between requests would do */
	void *slot[64] = {0};
	double end = ms_since(&t0) + 3000;
	for (long i = 0; ms_since(&t0) < end; i++) {
		size_t k = next(&r) % 64;
		free(slot[k]);
		slot[k] = xmalloc(16 + next(&r) % 200);
		if ((i & 1023) == 0) {
			struct timespec nap = {0, 1000000};
			nanosleep(&nap, NULL);
			sample(&t0, &due, "idle");
		}
	}
	for (int k = 0; k < 64; k++)
		free(slot[k]);
	sample(&t0, &due, "end");
	printf("%.0f %ld end\n", ms_since(&t0), rss_kb());
}

/* ---- main ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: workloads2 bulk|prodcons|falseshr [scale] | burst [MB]\n");
		return 2;
	}
	const char *w = argv[1];
	if (strcmp(w, "burst") == 0) {
		w_burst(argc > 2 ? atol(argv[2]) : 256);
		return 0;
	}
	if (argc > 2)
		scale = atof(argv[2]);
	if (strcmp(w, "bulk") == 0)
		w_bulk();
	else if (strcmp(w, "prodcons") == 0)
		w_prodcons();
	else if (strcmp(w, "falseshr") == 0)
		w_falseshr();
	else {
		fprintf(stderr, "workloads2: no workload '%s'\n", w);
		return 2;
	}
	printf("%s %016llx\n", w, (unsigned long long)sum);
	return 0;
}
