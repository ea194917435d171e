/*
 * fuzz_threads.c - libFuzzer harness with two threads on the hosted core.
 * The first half of the input drives a second thread, created for each
 * input (so it has its own cache, made on its first allocation and given
 * back when it exits), the second half the main thread; both run the common
 * operations (fuzz.h) at the same time, and two more: give a block to the
 * other thread through a shared queue, or take one from it (its pattern is
 * checked, and its new owner may free it: a free from another thread's
 * cache).  Overlaps are caught across both threads by the shared registry.
 * mm_check and the exact object count wait until the second thread is gone.
 */
#include <pthread.h>
#include <string.h>

#include "fuzz.h"

#define GiB ((uint64_t)1 << 30)

enum { OP_GIVE = FZ_NOPS, OP_TAKE, NOPS };

static struct {
	pthread_mutex_t mu;
	struct fz_block b[FZ_SLOTS];
	int n;
} queue = { PTHREAD_MUTEX_INITIALIZER, {{0}}, 0 };

static void give(struct fz_world *w, struct fz_in *in)
{
	struct fz_block *b = &w->slot[fz_u8(in) % FZ_SLOTS];
	if (!b->p)
		return;
	pthread_mutex_lock(&queue.mu);
	if (queue.n < FZ_SLOTS) {
		queue.b[queue.n++] = *b;
		w->live--;
		w->live_bytes -= b->n;
		memset(b, 0, sizeof *b);
	}
	pthread_mutex_unlock(&queue.mu);
}

static void take(struct fz_world *w, struct fz_in *in)
{
	struct fz_block *b = &w->slot[fz_u8(in) % FZ_SLOTS];
	if (b->p)
		return;
	pthread_mutex_lock(&queue.mu);
	if (queue.n > 0) {
		*b = queue.b[--queue.n];
		w->live++;
		w->live_bytes += b->n;
	}
	pthread_mutex_unlock(&queue.mu);
	if (b->p)
		fz_verify(b, b->usable, "handed over from the other thread");
}

static void run(struct fz_world *w, struct fz_in *in)
{
	while (fz_more(in)) {
		unsigned op = fz_u8(in) % NOPS;
		if (op == OP_GIVE)
			give(w, in);
		else if (op == OP_TAKE)
			take(w, in);
		else
			fz_op(w, in, op);
	}
}

struct job {
	struct fz_world w;
	struct fz_in in;
};

static void *second(void *arg)
{
	struct job *j = arg;
	run(&j->w, &j->in);
	fz_free_all(&j->w);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fz_report_at_exit("threads");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_world main_w;
	static struct job other;
	struct fz_in in = { data + size / 2, size - size / 2, 0 };
	fz_world_begin(&main_w, 0, 2 * GiB, NULL);
	fz_world_begin(&other.w, 0, 2 * GiB, NULL);
	other.in = (struct fz_in){ data, size / 2, 0 };

	pthread_t th;
	if (pthread_create(&th, 0, second, &other) != 0)
		fz_fail("pthread_create failed");
	run(&main_w, &in);
	pthread_join(th, 0);

	/* Alone again: what is left in the queue is the main thread's to free. */
	for (int i = 0; i < queue.n; i++) {
		int s = 0;
		while (main_w.slot[s].p)
			s++; /* 64 slots, at most 64 queued, none of them live here: one is free */
		main_w.slot[s] = queue.b[i];
		main_w.live++;
		main_w.live_bytes += queue.b[i].n;
	}
	queue.n = 0;
	fz_free_all(&main_w);
	main_w.alone = 1;
	main_w.nmalloc += other.w.nmalloc;
	fz_check_heap(&main_w, "end of input, both threads done");
	return 0;
}
