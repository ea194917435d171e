/*
 * bench.c - the shell's `bench`: one deterministic allocation workload run
 * on kmalloc (libmm), on the liballoc-like baseline and on a bump allocator
 * (the workload's own cost), timed phase by phase with clock.c.  The
 * workload itself (bench_workload, bench_phase) is shared with the
 * self-tests.
 */
#include "kernel.h"
#include "mm.h"

/*
 * The workload, deterministic (xorshift, a fixed seed per phase), in three
 * phases like the hosted `make bench` ones (same slot counts as small and
 * mixed there; smaller trees than its compiler, and far fewer steps):
 *   small     4096 slots replaced at random with 8..128 B blocks, n steps
 *   mixed     20000 slots, sizes 8 B..8 KiB skewed small, 1 in 64 from 8
 *             to 64 KiB, n / 2 steps
 *   compiler  trees of 20000 long-lived nodes (32..104 B), each node with
 *             1..4 temporaries (skewed up to 2 KiB) freed right away, then
 *             the tree freed; n / 2 nodes in all
 * Each phase ends with every block freed.
 */
#define BENCH_SLOTS 20000
#define BENCH_SMALL_SLOTS 4096
#define BENCH_MIXED_SLOTS 20000
#define BENCH_NODES 20000

struct bslot {
	unsigned char *p;
	uint32_t size, seed;
};
static struct bslot bslots[BENCH_SLOTS];

struct bctx {
	const struct bench_alloc *a;
	int full;
	uint32_t rs;
	unsigned long ops, errors;
};

static unsigned char bpat(uint32_t seed, size_t i) { return (unsigned char)(seed + i * 131 + (i >> 8)); }

/* Write (check == 0) or check the block's pattern: every byte when full,
 * else a word at each end (blocks are at least 8 bytes).  Returns the
 * number of wrong bytes or words found when checking. */
static size_t pattern(const struct bslot *s, int full, int check)
{
	size_t n = s->size, bad = 0;
	if (!full) {
		uint32_t w0 = s->seed, w1 = s->seed ^ n, v0, v1;
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

static void balloc(struct bctx *c, struct bslot *s, size_t size)
{
	s->p = c->a->alloc(size);
	c->ops++;
	if (!s->p) {
		if (c->errors++ < 3 && !c->a->quiet)
			kprintf("bench: %s: allocation of %lu bytes returned NULL\n", c->a->name, (unsigned long)size);
		return;
	}
	s->size = (uint32_t)size;
	s->seed = krand(&c->rs);
	pattern(s, c->full, 0);
}

static void bfree(struct bctx *c, struct bslot *s)
{
	if (!s->p)
		return;
	if (pattern(s, c->full, 1) && c->errors++ < 3 && !c->a->quiet)
		kprintf("bench: %s: block %p (%u bytes) lost its pattern\n", c->a->name, (void *)s->p, s->size);
	c->a->free(s->p);
	c->ops++;
	s->p = NULL;
}

static void bfree_all(struct bctx *c, int nslots)
{
	for (int i = 0; i < nslots; i++)
		bfree(c, &bslots[i]);
}

/* Mostly under 256 B, a tail of every power of two up to max. */
static size_t skewed(uint32_t *rs, size_t max)
{
	uint32_t r = krand(rs);
	if ((r >> 28) & 3)
		return 8 + krand(rs) % 248;
	size_t top = (size_t)8 << (r % 11), lim = top < max ? top : max;
	return 8 + (r >> 8) % lim;
}

static void phase_small(struct bctx *c, unsigned long steps)
{
	for (unsigned long i = 0; i < steps; i++) {
		struct bslot *s = &bslots[krand(&c->rs) % BENCH_SMALL_SLOTS];
		bfree(c, s);
		balloc(c, s, 8 + krand(&c->rs) % 121);
	}
	bfree_all(c, BENCH_SMALL_SLOTS);
}

static void phase_mixed(struct bctx *c, unsigned long steps)
{
	for (unsigned long i = 0; i < steps; i++) {
		struct bslot *s = &bslots[krand(&c->rs) % BENCH_MIXED_SLOTS];
		bfree(c, s);
		if (krand(&c->rs) % 64 == 0)
			balloc(c, s, 8 * KiB + krand(&c->rs) % (56 * KiB + 1));
		else
			balloc(c, s, skewed(&c->rs, 8 * KiB));
	}
	bfree_all(c, BENCH_MIXED_SLOTS);
}

static void phase_compiler(struct bctx *c, unsigned long nodes)
{
	struct bslot tmp[4];
	while (nodes > 0) {
		int tree = nodes < BENCH_NODES ? (int)nodes : BENCH_NODES;
		for (int i = 0; i < tree; i++) {
			balloc(c, &bslots[i], 24 + 8 + krand(&c->rs) % 73);
			int ntmp = 1 + (int)(krand(&c->rs) % 4);
			for (int t = 0; t < ntmp; t++)
				balloc(c, &tmp[t], skewed(&c->rs, 2 * KiB));
			for (int t = ntmp - 1; t >= 0; t--)
				bfree(c, &tmp[t]);
		}
		bfree_all(c, tree);
		nodes -= (unsigned long)tree;
	}
}

/* One phase (0 small, 1 mixed, 2 compiler) with its own seed, timed into r. */
static void bench_phase(const struct bench_alloc *a, int ph, unsigned long n, int full, struct bench_result *r)
{
	struct bctx c = { a, full, 0x2545F491u + 0x9E3779B9u * (uint32_t)ph, 0, 0 };
	uint64_t t0 = clock_nanos();
	if (ph == 0)
		phase_small(&c, n);
	else if (ph == 1)
		phase_mixed(&c, n / 2);
	else
		phase_compiler(&c, n / 2);
	r->ns[ph] = clock_nanos() - t0;
	r->phase_ops[ph] = c.ops;
	r->ops += c.ops;
	r->errors += c.errors;
}

unsigned long bench_workload(const struct bench_alloc *a, unsigned long n, int full, struct bench_result *r)
{
	*r = (struct bench_result){ 0 };
	for (int ph = 0; ph < 3; ph++)
		bench_phase(a, ph, n, full, r);
	return r->errors;
}

static void *bench_mm_malloc(size_t n) { return mm_malloc(n); }
static void bench_mm_free(void *p) { mm_free(p); }

/* The workload's own cost: a bump allocator over a small buffer that wraps
 * around (blocks overlap, so its pattern checks fail and are not reported). */
static unsigned char bump_buf[256 * 1024];
static size_t bump_pos;

static void *bump_alloc(size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (bump_pos + n > sizeof(bump_buf))
		bump_pos = 0;
	void *p = bump_buf + bump_pos;
	bump_pos += n;
	return p;
}

static void bump_free(void *p) { (void)p; }

static const struct bench_alloc bench_libmm = { "libmm", bench_mm_malloc, bench_mm_free, 0 };
static const struct bench_alloc bench_la = { "liballoc-like", la_malloc, la_free, 0 };
static const struct bench_alloc bench_bump = { "bump", bump_alloc, bump_free, 1 };

static unsigned long per_op(uint64_t ns, unsigned long ops) { return ops ? (unsigned long)(ns / ops) : 0; }

/* "24.7": a / b with one decimal. */
static void ratio(char *buf, size_t n, uint64_t a, uint64_t b)
{
	uint64_t r = b ? (a * 10 + b / 2) / b : 0;
	ksnprintf(buf, n, "%lu.%lu", (unsigned long)(r / 10), (unsigned long)(r % 10));
}

static uint64_t total_ns(const struct bench_result *r) { return r->ns[0] + r->ns[1] + r->ns[2]; }

/*
 * bench N: the workload on a bump allocator (its own cost), on kmalloc
 * (libmm) and on the liballoc-like baseline; one line per phase, one for
 * the workload's own cost, and last the totals and the ratio.
 */
void bench_run(unsigned long n)
{
	static const char *const names[3] = { "small", "mixed", "compiler" };
	struct bench_result rb, rm, rl;
	char buf[24];

	clock_nanos(); /* calibrate first, outside the timed runs */
	kprintf("bench: N=%lu; phases small (%d slots, 8-128 B), mixed (%d slots, 8 B-8 KiB skewed, 1 in 64 "
		"8-64 KiB), compiler (%d-node trees, 1-4 temporaries each); clock ",
		n, BENCH_SMALL_SLOTS, BENCH_MIXED_SLOTS, BENCH_NODES);
	if (clock_tsc_khz())
		kprintf("TSC %lu MHz (calibrated against the PIT)\n", (unsigned long)(clock_tsc_khz() / 1000));
	else
		kprintf("PIT (no TSC), 1 ms steps\n");
	/* Phase by phase, the three allocators back to back, so that a change
	 * in the host's load falls on all of them alike. */
	rb = rm = rl = (struct bench_result){ 0 };
	for (int ph = 0; ph < 3; ph++) {
		bench_phase(&bench_bump, ph, n, 0, &rb);
		bench_phase(&bench_libmm, ph, n, 0, &rm);
		bench_phase(&bench_la, ph, n, 0, &rl);
	}
	for (int ph = 0; ph < 3; ph++) {
		ratio(buf, sizeof(buf), rl.ns[ph], rm.ns[ph]);
		kprintf("bench: phase %-8s %8lu ops: libmm %lu ns/op, liballoc-like %lu ns/op (%sx)\n", names[ph],
			rm.phase_ops[ph], per_op(rm.ns[ph], rm.phase_ops[ph]), per_op(rl.ns[ph], rl.phase_ops[ph]), buf);
	}
	uint64_t tb = total_ns(&rb), tm = total_ns(&rm), tl = total_ns(&rl);
	kprintf("bench: the workload alone (bump allocator, no frees) %lu ns/op", per_op(tb, rb.ops));
	if (tm > tb && tl > tb) {
		ratio(buf, sizeof(buf), tl - tb, tm - tb);
		kprintf("; above it: libmm %lu ns/op, liballoc-like %lu ns/op (%sx)\n", per_op(tm - tb, rm.ops),
			per_op(tl - tb, rl.ops), buf);
	} else {
		kprintf("; libmm is within it (noise)\n");
	}
	ratio(buf, sizeof(buf), tl, tm);
	kprintf("bench: libmm %lu ops %lu ms (%lu ns/op); liballoc-like %lu ops %lu ms (%lu ns/op); libmm is %sx faster\n",
		rm.ops, (unsigned long)(tm / 1000000), per_op(tm, rm.ops), rl.ops, (unsigned long)(tl / 1000000),
		per_op(tl, rl.ops), buf);
	const char *bad = la_check();
	if (rm.errors || rl.errors || rm.ops != rl.ops || bad)
		kprintf("bench: FAILED: %lu errors in libmm, %lu in liballoc-like, ops %lu vs %lu; la_check: %s\n",
			rm.errors, rl.errors, rm.ops, rl.ops, bad ? bad : "ok");
}

