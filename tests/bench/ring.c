/*
 * ring.c - the cache-hit workload of `make bench-instr`: a ring of 256 live
 * objects; each step frees the oldest and allocates a new one in its place.
 *
 *   ring SIZE STEPS
 *
 * Sizes cycle through SIZE-7 .. SIZE (one size class in every allocator
 * measured), so after the warm-up every step is a cache hit.  The same source
 * builds three programs:
 *   ring       calls malloc/free (the allocator comes from LD_PRELOAD)
 *   ring-mm    calls mm_malloc/mm_free, linked statically with libmm.a
 *   ring-noop  calls two empty out-of-line functions: the caller's loop
 * bench-instr.sh counts instructions (callgrind) for STEPS = N and 2N, so the
 * start-up and warm-up cancel out, and subtracts ring-noop's figure, so what
 * is left is the allocator's own instructions per malloc+free pair.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#if defined(RING_MM)
#include "mm.h"
#define ALLOC(n) mm_malloc(n)
#define FREE(p)  mm_free(p)
#elif defined(RING_NOOP)
static char pool[256][8];
static unsigned next_slot;
__attribute__((noinline)) static void *noop_alloc(size_t n)
{
	__asm__ volatile("" ::"r"(n));
	return pool[next_slot++ & 255];
}
__attribute__((noinline)) static void noop_free(void *p)
{
	__asm__ volatile("" ::"r"(p));
}
#define ALLOC(n) noop_alloc(n)
#define FREE(p)  noop_free(p)
#else
#define ALLOC(n) malloc(n)
#define FREE(p)  free(p)
#endif

enum { RING = 256, WARMUP = 4096 };

static void *ring[RING];

/* One step: free the oldest object, allocate its replacement, touch it. */
static inline void step(unsigned i, size_t size)
{
	unsigned k = i & (RING - 1);
	FREE(ring[k]);
	size_t n = size - (i & 7);
	unsigned char *p = ALLOC(n);
	if (p == NULL)
		exit(2);
	p[0] = (unsigned char)i;
	ring[k] = p;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: ring SIZE STEPS\n");
		return 2;
	}
	size_t size = (size_t)atol(argv[1]);
	long steps = atol(argv[2]);
	if (size < 8) {
		fprintf(stderr, "ring: SIZE must be at least 8\n");
		return 2;
	}
	for (unsigned k = 0; k < RING; k++)
		if ((ring[k] = ALLOC(size)) == NULL)
			return 2;
	for (unsigned i = 0; i < WARMUP; i++)
		step(i, size);
	for (long i = 0; i < steps; i++)
		step((unsigned)i, size);
	unsigned sum = 0;
	for (unsigned k = 0; k < RING; k++) {
		sum += *(unsigned char *)ring[k];
		FREE(ring[k]);
	}
	printf("%u\n", sum);
	return 0;
}
