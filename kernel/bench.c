/*
 * bench.c - the shell's `bench`: the shared workload (tests/lib/workload.c)
 * run on kmalloc (libmm), on the liballoc-like baseline and on a bump
 * allocator (the workload's own cost), timed phase by phase with clock.c;
 * then the small phase on 1, 2 and 4 CPUs at once, each CPU with its own
 * slots, for kmalloc's and the baseline's throughput.  bench_workload (the
 * three phases, untimed use) is shared with the self-tests.
 */
#include "kernel.h"
#include "mm.h"

/* The kernel's scale (the hosted `make bench` runs larger ones): */
#define BENCH_SLOTS 20000
#define BENCH_SMALL_SLOTS 4096 /* small: 4096 slots, n steps */
#define BENCH_MIXED_SLOTS 20000 /* mixed: 20000 slots, n / 2 steps, 1 in 64 big */
#define BENCH_BIG_ONE_IN 64
#define BENCH_NODES 20000       /* compiler: 20000-node trees, n / 2 nodes */

static struct wl_slot bslots[BENCH_SLOTS];

/* One phase (0 small, 1 mixed, 2 compiler) with its own seed, timed into r. */
static void bench_phase(const struct bench_alloc *a, int ph, unsigned long n, int full, struct bench_result *r)
{
	struct wl_ctx c;
	wl_init(&c, a, bslots, BENCH_SLOTS, full, 0x2545F491u + 0x9E3779B9u * (uint32_t)ph);
	uint64_t t0 = clock_nanos();
	if (ph == 0)
		wl_small(&c, n, BENCH_SMALL_SLOTS);
	else if (ph == 1)
		wl_mixed(&c, n / 2, BENCH_MIXED_SLOTS, BENCH_BIG_ONE_IN);
	else
		wl_compiler(&c, n / 2, BENCH_NODES);
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

/* ---- the small phase on several CPUs at once ------------------------------ */

static struct {
	const struct bench_alloc *a;
	unsigned long steps;
	struct wl_slot *slots[NCPU];
	unsigned long ops[NCPU], errors[NCPU];
} par;

static void par_small(int cpu)
{
	struct wl_ctx c;
	wl_init(&c, par.a, par.slots[cpu], BENCH_SMALL_SLOTS, 0, 0x2545F491u + 0x9E3779B9u * (uint32_t)cpu);
	wl_small(&c, par.steps, BENCH_SMALL_SLOTS);
	par.ops[cpu] = c.ops;
	par.errors[cpu] = c.errors;
}

/* Thousands of operations a second on n CPUs together; errors added to *errors. */
static uint64_t par_run(const struct bench_alloc *a, int n, unsigned long *errors)
{
	unsigned long ops = 0;
	par.a = a;
	uint64_t t0 = clock_nanos();
	smp_run_all(par_small, n);
	uint64_t ns = clock_nanos() - t0;
	for (int i = 0; i < n; i++) {
		ops += par.ops[i];
		*errors += par.errors[i];
	}
	return (uint64_t)ops * 1000000 / (ns ? ns : 1);
}

/* The small phase, `steps` steps per CPU, on 1, 2 and 4 CPUs (as many as run). */
static void bench_smp(unsigned long steps)
{
	static const int counts[3] = { 1, 2, 4 };
	const struct bench_alloc *who[2] = { &bench_libmm, &bench_la };
	unsigned long errors = 0;
	char buf[16], x[16];
	uint64_t one = 1;

	par.steps = steps;
	for (int i = 0; i < ncpu && i < NCPU; i++)
		par.slots[i] = mm_malloc(BENCH_SMALL_SLOTS * sizeof(struct wl_slot));
	for (int i = 0; i < ncpu && i < NCPU; i++)
		if (!par.slots[i]) {
			kprintf("bench: FAILED: no memory for cpu%d's slots\n", i);
			goto out;
		}
	kprintf("bench: smp small phase, %lu steps per CPU (own slots), clock on cpu0:", steps);
	for (int w = 0; w < 2; w++) {
		kprintf("%s %s", w ? ";" : "", who[w]->name);
		for (int k = 0; k < 3 && counts[k] <= ncpu; k++) {
			uint64_t kops = par_run(who[w], counts[k], &errors);
			ratio(buf, sizeof(buf), kops, 1000);
			if (k == 0) {
				one = kops ? kops : 1;
				kprintf(" 1 CPU %s Mops/s", buf);
			} else {
				ratio(x, sizeof(x), kops, one);
				kprintf(", %d CPUs %s Mops/s (%sx)", counts[k], buf, x);
			}
		}
	}
	kprintf("\n");
	if (errors || la_check())
		kprintf("bench: FAILED: %lu errors on several CPUs; la_check: %s\n", errors, la_check() ? la_check() : "ok");
out:
	for (int i = 0; i < ncpu && i < NCPU; i++) {
		mm_free(par.slots[i]);
		par.slots[i] = NULL;
	}
}

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
		char most[24];
		ratio(buf, sizeof(buf), rl.ns[ph], rm.ns[ph]);
		/* an allocator that cost nothing would still pay the workload's own loop */
		ratio(most, sizeof(most), rl.ns[ph], rb.ns[ph]);
		kprintf("bench: phase %-8s %8lu ops: libmm %lu ns/op, liballoc-like %lu ns/op (%sx); "
			"workload alone %lu ns/op (at most %sx)\n", names[ph], rm.phase_ops[ph],
			per_op(rm.ns[ph], rm.phase_ops[ph]), per_op(rl.ns[ph], rl.phase_ops[ph]), buf,
			per_op(rb.ns[ph], rb.phase_ops[ph]), most);
	}
	/* One line for scripts (bench-kernel KICOUNT=1): liballoc-like / libmm time per phase. */
	kprintf("bench: ratios");
	for (int ph = 0; ph < 3; ph++) {
		ratio(buf, sizeof(buf), rl.ns[ph], rm.ns[ph]);
		kprintf(" %s %s", names[ph], buf);
	}
	ratio(buf, sizeof(buf), total_ns(&rl), total_ns(&rm));
	kprintf(" total %s\n", buf);
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
	bench_smp(n / 2);
}

