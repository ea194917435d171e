/*
 * workload.c - the allocation benchmark workloads (workload.h), compiled
 * for the host's `make bench` and for our kernel's `bench`.
 */
#include "tlib.h"
#include "workload.h"

/* xorshift32; also the kernel self-tests' deterministic random numbers. */
uint32_t wl_rand(uint32_t *s)
{
	uint32_t x = *s;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

void wl_init(struct wl_ctx *c, const struct bench_alloc *a, struct wl_slot *slots, int nslots, int full,
	     uint32_t seed)
{
	memset(slots, 0, (size_t)nslots * sizeof(*slots));
	*c = (struct wl_ctx){ a, slots, nslots, full, seed ? seed : 1, 0, 0 };
}

static unsigned char bpat(uint32_t seed, size_t i) { return (unsigned char)(seed + i * 131 + (i >> 8)); }

/* Write (check == 0) or check the block's pattern: every byte when full,
 * else a word at each end (blocks are at least 8 bytes).  Returns the
 * number of wrong bytes or words found when checking. */
static size_t pattern(const struct wl_slot *s, int full, int check)
{
	size_t n = s->size, bad = 0;
	if (!full) {
		uint32_t w0 = s->seed, w1 = s->seed ^ (uint32_t)n, v0, v1;
		if (!check) {
			__builtin_memcpy(s->p, &w0, 4);
			__builtin_memcpy(s->p + n - 4, &w1, 4);
			return 0;
		}
		__builtin_memcpy(&v0, s->p, 4);
		__builtin_memcpy(&v1, s->p + n - 4, 4);
		return (v0 != w0) + (v1 != w1);
	}
	for (size_t i = 0; i < n; i++) {
		if (!check)
			s->p[i] = bpat(s->seed, i);
		else if (s->p[i] != bpat(s->seed, i))
			bad++;
	}
	return bad;
}

static void balloc(struct wl_ctx *c, struct wl_slot *s, size_t size)
{
	s->p = c->a->alloc(size);
	c->ops++;
	if (!s->p) {
		if (c->errors++ < 3 && !c->a->quiet)
			tl_printf("bench: %s: allocation of %lu bytes returned NULL\n", c->a->name, (unsigned long)size);
		return;
	}
	s->size = (uint32_t)size;
	s->seed = wl_rand(&c->rs);
	pattern(s, c->full, 0);
}

static void bfree(struct wl_ctx *c, struct wl_slot *s)
{
	if (!s->p)
		return;
	if (pattern(s, c->full, 1) && c->errors++ < 3 && !c->a->quiet)
		tl_printf("bench: %s: block %p (%u bytes) lost its pattern\n", c->a->name, (void *)s->p, s->size);
	c->a->free(s->p);
	c->ops++;
	s->p = NULL;
}

static void bfree_all(struct wl_ctx *c, int nslots)
{
	for (int i = 0; i < nslots; i++)
		bfree(c, &c->slots[i]);
}

/* Mostly under 256 B, a tail of every power of two up to max. */
static size_t skewed(uint32_t *rs, size_t max)
{
	uint32_t r = wl_rand(rs);
	if ((r >> 28) & 3)
		return 8 + wl_rand(rs) % 248;
	size_t top = (size_t)8 << (r % 11), lim = top < max ? top : max;
	return 8 + (r >> 8) % lim;
}

static int clamp_slots(const struct wl_ctx *c, int slots) { return slots < c->nslots ? slots : c->nslots; }

void wl_small(struct wl_ctx *c, unsigned long steps, int slots)
{
	slots = clamp_slots(c, slots);
	for (unsigned long i = 0; i < steps; i++) {
		struct wl_slot *s = &c->slots[wl_rand(&c->rs) % (uint32_t)slots];
		bfree(c, s);
		balloc(c, s, 8 + wl_rand(&c->rs) % 121);
	}
	bfree_all(c, slots);
}

void wl_mixed(struct wl_ctx *c, unsigned long steps, int slots, int big_one_in)
{
	slots = clamp_slots(c, slots);
	for (unsigned long i = 0; i < steps; i++) {
		struct wl_slot *s = &c->slots[wl_rand(&c->rs) % (uint32_t)slots];
		bfree(c, s);
		if (big_one_in && wl_rand(&c->rs) % (uint32_t)big_one_in == 0)
			balloc(c, s, 8 * 1024 + wl_rand(&c->rs) % (56 * 1024 + 1));
		else
			balloc(c, s, skewed(&c->rs, 8 * 1024));
	}
	bfree_all(c, slots);
}

void wl_compiler(struct wl_ctx *c, unsigned long nodes, int tree_max)
{
	struct wl_slot tmp[4];
	tree_max = clamp_slots(c, tree_max);
	while (nodes > 0) {
		int tree = nodes < (unsigned long)tree_max ? (int)nodes : tree_max;
		for (int i = 0; i < tree; i++) {
			balloc(c, &c->slots[i], 24 + 8 + wl_rand(&c->rs) % 73);
			int ntmp = 1 + (int)(wl_rand(&c->rs) % 4);
			for (int t = 0; t < ntmp; t++)
				balloc(c, &tmp[t], skewed(&c->rs, 2 * 1024));
			for (int t = ntmp - 1; t >= 0; t--)
				bfree(c, &tmp[t]);
		}
		bfree_all(c, tree);
		nodes -= (unsigned long)tree;
	}
}
