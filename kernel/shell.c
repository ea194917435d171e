/*
 * shell.c - the serial prompt: help, stats, stress N, grow, scavenge,
 * bench [N], trace on|off, halt.  Input is polled from COM1; while waiting,
 * the idle loop runs a scavenger pass when the timer has marked one due,
 * then halts until the next interrupt.  Also the `bench` workload (shared
 * with the self-tests) and its clock, the TSC calibrated against the PIT.
 */
#include "kernel.h"
#include "x86.h"
#include "mm.h"

#define BENCH_DEFAULT_N 500000ul

static void readline(char *buf, size_t n)
{
	size_t len = 0;
	for (;;) {
		int c = console_getc();
		if (c < 0) {
			kernel_scavenge_idle();
			sti_hlt();
			continue;
		}
		if (c == '\r' || c == '\n') {
			if (len == 0 && c == '\n')
				continue; /* the \n of a \r\n pair, or an empty line */
			console_putc('\n');
			buf[len] = 0;
			return;
		}
		if ((c == 8 || c == 127) && len > 0) {
			len--;
			kprintf("\b \b");
		} else if (c >= ' ' && c < 127 && len + 1 < n) {
			buf[len++] = (char)c;
			console_putc((char)c);
		}
	}
}

static void cmd_help(void)
{
	kprintf("commands:\n"
		"  help          this list\n"
		"  stats         heap statistics (mm_stats), arena, frames free/total, mm_check\n"
		"  stress N      N random mallocs/frees with pattern checks, then stats\n"
		"  grow          allocate large spans until the arena passes 256 and 512 MiB\n"
		"  scavenge      a scavenger pass with idle limit 0: bytes released, frames returned\n"
		"  bench [N]     the same workload (scale N, default %lu) on kmalloc and on the\n"
		"                liballoc-like baseline: ops, ms, ns/op each, and the ratio\n"
		"  trace on|off  one line per scavenger pass (mm_trace_format)\n"
		"  halt          leave QEMU (success exit code)\n",
		BENCH_DEFAULT_N);
}

static void cmd_scavenge(void)
{
	size_t before = pmm_free_count();
	uint64_t r = mm_scavenge(0);
	size_t after = pmm_free_count();
	kprintf("scavenge: released %llu bytes (%llu pages); frames returned %lu (free %lu -> %lu)\n",
		(unsigned long long)r, (unsigned long long)(r / PAGE_SIZE), (unsigned long)(after - before),
		(unsigned long)before, (unsigned long)after);
	if (mm_trace) {
		char line[160];
		mm_trace_format(line, sizeof(line), r);
		kprintf("%s\n", line);
	}
}

/*
 * Allocate `step`-byte blocks until the arena passes 256 and 512 MiB past
 * its start (i386: arena_end; x86_64, one 64 GiB reservation: arena_used),
 * printing the arena after each one; then free them all.
 */
static void cmd_grow(void)
{
	enum { MAXBLOCKS = 64 };
	static void *blocks[MAXBLOCKS];
	const size_t step = 32 * MiB;
	struct mm_stats st;
	int n = 0;

	mm_read_stats(&st);
	kprintf("grow: %s, blocks of %lu MiB; arena start %p end %p (%llu MiB)\n",
		st.arena_policy == MM_ARENA_32 ? "watching arena_end" : "watching arena_used",
		(unsigned long)(step / MiB), (void *)st.arena_start, (void *)st.arena_end,
		(unsigned long long)((st.arena_end - st.arena_start) / MiB));
	for (;;) {
		uintptr_t mark = st.arena_policy == MM_ARENA_32 ? st.arena_end : st.arena_used;
		if (mark - st.arena_start > 512 * MiB || n == MAXBLOCKS)
			break;
		void *p = mm_malloc(step);
		if (!p) {
			kprintf("grow: malloc(%lu MiB) returned NULL (frames free %lu)\n",
				(unsigned long)(step / MiB), (unsigned long)pmm_free_count());
			break;
		}
		((volatile char *)p)[0] = 1;
		((volatile char *)p)[step - 1] = 1;
		blocks[n++] = p;
		mm_read_stats(&st);
		kprintf("grow: block %2d at %p: arena_used %p (%4llu MiB) arena_end %p (%4llu MiB)\n", n, p,
			(void *)st.arena_used, (unsigned long long)((st.arena_used - st.arena_start) / MiB),
			(void *)st.arena_end, (unsigned long long)((st.arena_end - st.arena_start) / MiB));
	}
	while (n > 0)
		mm_free(blocks[--n]);
	kprintf("grow: freed the blocks\n");
	kernel_print_stats();
}

/* ---- bench: kmalloc against the liballoc-like baseline -------------------- */

/*
 * The clock: TSC ticks per millisecond, measured once against PIT channel
 * 2 (the speaker channel, counted down in mode 0 and polled through port
 * 0x61), not against the IRQ0 tick count: under a loaded host QEMU drops
 * timer interrupts, the PIT's counter itself keeps time.
 */
#define PIT_HZ 1193182u
#define PIT_CH2 0x42
#define PIT_CMD 0x43
#define PORT_B 0x61 /* bit 0: channel 2 gate, bit 1: speaker, bit 5: channel 2 output */
#define CAL_COUNT 59659u /* 50 ms */

static uint64_t tsc_khz, tsc_base;
static int clock_ready;

static int cpu_has_tsc(void)
{
	uint32_t a = 1, b, c = 0, d;
	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	return (d >> 4) & 1;
}

/* TSC ticks while PIT channel 2 counts CAL_COUNT down; 0 if it never ends. */
static uint64_t pit_window(void)
{
	uintptr_t f = irq_save();
	uint8_t portb = inb(PORT_B);
	outb(PORT_B, (uint8_t)((portb & ~0x02) | 0x01)); /* gate on, speaker off */
	outb(PIT_CMD, 0xB0);                              /* channel 2, lo/hi byte, mode 0 */
	outb(PIT_CH2, CAL_COUNT & 0xFF);
	outb(PIT_CH2, CAL_COUNT >> 8);
	uint64_t c0 = rdtsc(), c1;
	unsigned long spins = 0;
	while (!(inb(PORT_B) & 0x20) && ++spins < 100000000ul)
		;
	c1 = rdtsc();
	outb(PORT_B, portb);
	irq_restore(f);
	return spins < 100000000ul && c1 > c0 ? c1 - c0 : 0;
}

/* The fewest ticks of three windows: a host that deschedules QEMU can only
 * make a window look longer. */
static void clock_init(void)
{
	uint64_t best = 0;
	clock_ready = 1;
	if (!cpu_has_tsc())
		return;
	for (int i = 0; i < 3; i++) {
		uint64_t t = pit_window();
		if (t && (!best || t < best))
			best = t;
	}
	tsc_khz = best * PIT_HZ / ((uint64_t)CAL_COUNT * 1000);
	tsc_base = rdtsc();
}

uint64_t bench_nanos(void)
{
	if (!clock_ready)
		clock_init();
	if (!tsc_khz)
		return timer_nanos();
	uint64_t d = rdtsc() - tsc_base; /* split so that d * 10^6 cannot overflow */
	return d / tsc_khz * 1000000 + d % tsc_khz * 1000000 / tsc_khz;
}

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
	uint64_t t0 = bench_nanos();
	if (ph == 0)
		phase_small(&c, n);
	else if (ph == 1)
		phase_mixed(&c, n / 2);
	else
		phase_compiler(&c, n / 2);
	r->ns[ph] = bench_nanos() - t0;
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
static void cmd_bench(unsigned long n)
{
	static const char *const names[3] = { "small", "mixed", "compiler" };
	struct bench_result rb, rm, rl;
	char buf[24];

	bench_nanos(); /* calibrate first, outside the timed runs */
	kprintf("bench: N=%lu; phases small (%d slots, 8-128 B), mixed (%d slots, 8 B-8 KiB skewed, 1 in 64 "
		"8-64 KiB), compiler (%d-node trees, 1-4 temporaries each); clock ",
		n, BENCH_SMALL_SLOTS, BENCH_MIXED_SLOTS, BENCH_NODES);
	if (tsc_khz)
		kprintf("TSC %lu MHz (calibrated against the PIT)\n", (unsigned long)(tsc_khz / 1000));
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

void shell_run(void)
{
	char line[128];

	kprintf("type 'help' for commands\n");
	for (;;) {
		kprintf("libmm> ");
		readline(line, sizeof(line));
		const char *arg = line;
		while (*arg && *arg != ' ')
			arg++;
		while (*arg == ' ')
			arg++;
		if (!line[0])
			continue;
		if (!strcmp(line, "help")) {
			cmd_help();
		} else if (!strcmp(line, "stats")) {
			kernel_print_stats();
		} else if (!strncmp(line, "stress", 6) && (line[6] == 0 || line[6] == ' ')) {
			unsigned long n = *arg ? (unsigned long)katou(arg) : 10000;
			int bad = stress_run(n, (uint32_t)timer_ticks() | 1, 1);
			kprintf("stress: %lu operations, %d errors\n", n, bad);
			kernel_print_stats();
		} else if (!strncmp(line, "bench", 5) && (line[5] == 0 || line[5] == ' ')) {
			unsigned long n = *arg ? (unsigned long)katou(arg) : BENCH_DEFAULT_N;
			cmd_bench(n ? n : BENCH_DEFAULT_N);
		} else if (!strcmp(line, "grow")) {
			cmd_grow();
		} else if (!strcmp(line, "scavenge")) {
			cmd_scavenge();
		} else if (!strcmp(line, "trace on")) {
			mm_trace = 1;
			kprintf("trace on\n");
		} else if (!strcmp(line, "trace off")) {
			mm_trace = 0;
			kprintf("trace off\n");
		} else if (!strcmp(line, "halt")) {
			kprintf("halt\n");
			qemu_exit(EXIT_PASS);
		} else {
			kprintf("unknown command '%s' (try help)\n", line);
		}
	}
}
