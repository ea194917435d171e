/*
 * threads.c - a threaded program for `make test-preload`, run with and
 * without LD_PRELOAD=libmm-malloc.so; its output must be the same.
 *
 *  1. exchange: 8 threads allocate blocks (8 B .. 100 KiB) filled with a
 *     pattern, hand most of them to other threads through a shared queue;
 *     the receiver checks the pattern, grows some with realloc, and frees.
 *  2. thread churn: 150 short-lived threads each allocate, keep a few
 *     blocks for the next generation, and exit (their caches go back).
 *  3. fork under load: while 6 threads keep allocating and freeing, other
 *     threads fork; each child allocates, checks, and execs /bin/sh, which
 *     prints a line (so the exec'd program runs under the preload too).
 * Every check that fails prints "FAIL ..." and makes the exit status 1.
 * The output holds only counts and content checksums, never addresses.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void fail(const char *what, long a, long b)
{
	pthread_mutex_lock(&out_lock);
	printf("FAIL %s (%ld, %ld)\n", what, a, b);
	failures++;
	pthread_mutex_unlock(&out_lock);
}

static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* A block carries its size and a byte pattern derived from its tag. */
struct blk {
	size_t n;
	uint32_t tag;
	unsigned char data[];
};

static struct blk *make(size_t n, uint32_t tag)
{
	struct blk *b = malloc(sizeof *b + n);
	if (b == NULL) {
		fail("malloc returned NULL", (long)n, 0);
		exit(1);
	}
	b->n = n;
	b->tag = tag;
	for (size_t i = 0; i < n; i++)
		b->data[i] = (unsigned char)(tag + i * 7);
	return b;
}

/* Check the pattern; returns a checksum of the content. */
static uint64_t check(const struct blk *b, size_t upto)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < upto; i++) {
		if (b->data[i] != (unsigned char)(b->tag + i * 7)) {
			fail("pattern broken", (long)b->tag, (long)i);
			return 0;
		}
		sum += b->data[i];
	}
	return sum + b->n;
}

static size_t pick_size(uint64_t *s)
{
	uint64_t r = rnd(s);
	switch (r % 16) {
	case 0:
		return 32768 + r % 70000; /* large */
	case 1:
	case 2:
		return 1024 + r % 31000;
	default:
		return 8 + r % 500;
	}
}

/* ---- 1. exchange ----------------------------------------------------------- */

enum { NT = 8, PER = 10000, QCAP = 1024 };

static struct {
	pthread_mutex_t lock;
	struct blk *q[QCAP];
	int n;
} queue = {PTHREAD_MUTEX_INITIALIZER, {0}, 0};

static uint64_t exch_sum[NT];
static long exch_count[NT];

/* Take one block from the queue, or NULL. */
static struct blk *take(void)
{
	struct blk *b = NULL;
	pthread_mutex_lock(&queue.lock);
	if (queue.n > 0)
		b = queue.q[--queue.n];
	pthread_mutex_unlock(&queue.lock);
	return b;
}

/* Receive a block made elsewhere: check it, sometimes grow it, free it. */
static void consume(int id, struct blk *b)
{
	exch_sum[id] += check(b, b->n);
	exch_count[id]++;
	if (b->n % 3 == 0) {
		size_t old = b->n;
		struct blk *g = realloc(b, sizeof *b + old * 2 + 1);
		if (g == NULL) {
			fail("realloc grow", (long)old, 0);
			return;
		}
		g->n = old; /* the old bytes must have moved with it */
		exch_sum[id] += check(g, old) & 1;
		b = g;
	}
	free(b);
}

static void *exchanger(void *v)
{
	int id = (int)(intptr_t)v;
	uint64_t s = 0x1234567ull * (uint64_t)(id + 1);
	for (int i = 0; i < PER; i++) {
		struct blk *b = make(pick_size(&s), (uint32_t)(id * 1000003 + i));
		if (i % 4 == 0) { /* a quarter stays home */
			exch_sum[id] += check(b, b->n);
			exch_count[id]++;
			free(b);
			continue;
		}
		pthread_mutex_lock(&queue.lock);
		int full = queue.n == QCAP;
		if (!full)
			queue.q[queue.n++] = b;
		pthread_mutex_unlock(&queue.lock);
		if (full)
			consume(id, b);
		struct blk *o = take();
		if (o)
			consume(id, o);
	}
	return NULL;
}

static void exchange(void)
{
	pthread_t t[NT];
	for (int i = 0; i < NT; i++)
		pthread_create(&t[i], NULL, exchanger, (void *)(intptr_t)i);
	for (int i = 0; i < NT; i++)
		pthread_join(t[i], NULL);
	struct blk *b;
	while ((b = take()) != NULL)
		consume(0, b);
	uint64_t sum = 0;
	long count = 0;
	for (int i = 0; i < NT; i++) {
		sum += exch_sum[i];
		count += exch_count[i];
	}
	/* Who consumes which block varies from run to run; the sum does not. */
	printf("exchange: %ld blocks, content sum %llu\n", count, (unsigned long long)sum);
}

/* ---- 2. thread churn ----------------------------------------------------------- */

enum { GENS = 150, KEEP = 16 };
static struct blk *kept[KEEP];
static uint64_t churn_sum;

static void *generation(void *v)
{
	int g = (int)(intptr_t)v;
	uint64_t s = 77 + (uint64_t)g;
	for (int k = 0; k < KEEP; k++) { /* free what the last generation kept */
		if (kept[k]) {
			churn_sum += check(kept[k], kept[k]->n);
			free(kept[k]);
		}
		kept[k] = make(pick_size(&s) % 4000, (uint32_t)(g * 31 + k));
	}
	void *scratch[64];
	for (int i = 0; i < 64; i++)
		scratch[i] = make(pick_size(&s), (uint32_t)i);
	for (int i = 0; i < 64; i++)
		free(scratch[i]);
	return NULL;
}

static void thread_churn(void)
{
	for (int g = 0; g < GENS; g++) {
		pthread_t t;
		pthread_create(&t, NULL, generation, (void *)(intptr_t)g);
		pthread_join(t, NULL);
	}
	for (int k = 0; k < KEEP; k++) {
		churn_sum += check(kept[k], kept[k]->n);
		free(kept[k]);
	}
	printf("thread churn: %d generations, content sum %llu\n", GENS, (unsigned long long)churn_sum);
}

/* ---- 3. fork under load -------------------------------------------------------- */

enum { BUSY = 6, FORKERS = 2, FORKS = 10 };
static volatile int stop;

static void *busy(void *v)
{
	uint64_t s = 999 + (uint64_t)(intptr_t)v;
	struct blk *slot[32] = {0};
	while (!stop) {
		int k = (int)(rnd(&s) % 32);
		if (slot[k]) {
			check(slot[k], slot[k]->n < 64 ? slot[k]->n : 64);
			free(slot[k]);
		}
		slot[k] = make(pick_size(&s) % 3000, (uint32_t)k);
	}
	for (int k = 0; k < 32; k++)
		free(slot[k]);
	return NULL;
}

static int child_ok;
static pthread_mutex_t child_lock = PTHREAD_MUTEX_INITIALIZER;

static void *forker(void *v)
{
	int id = (int)(intptr_t)v;
	for (int i = 0; i < FORKS; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			fail("fork", id, i);
			continue;
		}
		if (pid == 0) {
			/* The child: the allocator must work although other threads
			 * were inside it at the moment of fork. */
			uint64_t s = 5;
			struct blk *b[100];
			for (int j = 0; j < 100; j++)
				b[j] = make(pick_size(&s), (uint32_t)j);
			for (int j = 0; j < 100; j++) {
				if (check(b[j], b[j]->n) == 0)
					_exit(3);
				free(b[j]);
			}
			execl("/bin/sh", "sh", "-c", "x=$(printf '%s' abc); [ \"$x\" = abc ] && exit 0; exit 4",
			      (char *)NULL);
			_exit(5);
		}
		int st;
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fail("child after fork", id, WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));
		else {
			pthread_mutex_lock(&child_lock);
			child_ok++;
			pthread_mutex_unlock(&child_lock);
		}
	}
	return NULL;
}

static void fork_under_load(void)
{
	pthread_t b[BUSY], f[FORKERS];
	for (int i = 0; i < BUSY; i++)
		pthread_create(&b[i], NULL, busy, (void *)(intptr_t)i);
	usleep(20000);
	for (int i = 0; i < FORKERS; i++)
		pthread_create(&f[i], NULL, forker, (void *)(intptr_t)i);
	for (int i = 0; i < FORKERS; i++)
		pthread_join(f[i], NULL);
	stop = 1;
	for (int i = 0; i < BUSY; i++)
		pthread_join(b[i], NULL);
	printf("fork under load: %d of %d children ran and exec'd\n", child_ok, FORKERS * FORKS);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	exchange();
	thread_churn();
	fork_under_load();
	return failures ? 1 : 0;
}
