/*
 * rng.h - the benchmark programs' deterministic generator (xorshift64):
 * the same seed gives every allocator the same sequence of requests.
 */
#ifndef BENCH_RNG_H
#define BENCH_RNG_H

#include <stdint.h>

struct rng {
	uint64_t s;
};

static inline uint64_t next(struct rng *r)
{
	uint64_t x = r->s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return r->s = x;
}

#endif
