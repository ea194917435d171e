/*
 * workload.h - the one copy of the allocation benchmark workloads shared by
 * `make bench` (tests/bench/workloads.c, on the C library's malloc, which
 * LD_PRELOAD replaces) and our kernel's `bench` (kernel/bench.c, on kmalloc
 * and the liballoc-like baseline).  Deterministic (xorshift, the seed given
 * to wl_init).  Every block gets a pattern that is checked before its free:
 * every byte when `full`, else a word at each end.
 *
 *   wl_small     replace random slots with 8..128 B blocks
 *   wl_mixed     replace random slots with 8 B..8 KiB blocks skewed small,
 *                and 1 in big_one_in from 8 to 64 KiB (0: never)
 *   wl_compiler  trees of `tree` long-lived 32..104 B nodes, each node
 *                with 1..4 temporaries (skewed up to 2 KiB) freed at once,
 *                then the tree freed; `nodes` nodes in all
 * Each ends with every block freed.  The caller owns the slot table (at
 * least as many slots as the phase uses) and its context, so several
 * threads or CPUs can run phases at once.
 */
#ifndef TLIB_WORKLOAD_H
#define TLIB_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

/* The allocator under test; quiet: do not print mismatches. */
struct bench_alloc {
	const char *name;
	void *(*alloc)(size_t);
	void (*free)(void *);
	int quiet;
};

struct wl_slot {
	unsigned char *p;
	uint32_t size, seed;
};

struct wl_ctx {
	const struct bench_alloc *a;
	struct wl_slot *slots;
	int nslots;
	int full;
	uint32_t rs;
	unsigned long ops;    /* mallocs + frees */
	unsigned long errors; /* pattern mismatches and NULL returns */
};

void wl_init(struct wl_ctx *c, const struct bench_alloc *a, struct wl_slot *slots, int nslots, int full,
	     uint32_t seed);
void wl_small(struct wl_ctx *c, unsigned long steps, int slots);
void wl_mixed(struct wl_ctx *c, unsigned long steps, int slots, int big_one_in);
void wl_compiler(struct wl_ctx *c, unsigned long nodes, int tree);
uint32_t wl_rand(uint32_t *s);

#endif
