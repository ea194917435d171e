/*
 * selftest.c - the kernel's self-tests, run with "mode=test" on the kernel
 * command line and "case=NAME" (tests/kernel/run.sh passes it through QEMU
 * fw_cfg).  Each case prints "CASE name: PASS" or "CASE name: FAIL ...";
 * the run ends with "TESTS DONE: N passed, M failed" and exits QEMU with
 * the pass code only if nothing failed.
 *
 *  stress          shadow-model stress; mm_check; stats add up
 *  scavenge        frames freed == pages released; reused pages read zero
 *  irq             the timer handler allocates and frees during stress
 *  growth          i386: arena_end 256 -> 512 -> 768 MiB, NULL past the
 *                  window and with the window full; x86_64: large spans in
 *                  the one reservation
 *  exhaust         out of frames (-m 32M): NULL, mm_check, memory reusable
 *  fault           touching a page the scavenger released panics (expected)
 *  fault-unmapped  touching a reserved, never-mapped arena page panics
 *  idle            the timer marks passes due, the idle loop runs them; a
 *                  freed block is released only after the idle limit
 *                  (run with mm.scvg_period_ms=50 mm.scvg_idle_ms=300)
 *  exception       ud2: the exception report, then the failure exit code
 *  nx              x86_64: calling code in a heap object faults (NX)
 *  stack-overflow  unbounded recursion hits the guard page below the stack:
 *                  a double fault, reported on its own stack
 *  smp             (smptest.c) every CPU at once: stress, its timer handler
 *                  allocating and freeing, scavenger passes meanwhile; then
 *                  exact stats and frame accounting
 *  shootdown       (smptest.c) a CPU that touched a page faults on it after
 *                  the scavenger released it (expected panic)
 *  liballoc        the `bench` workload with every byte pattern-checked, on
 *                  kmalloc and on the liballoc-like baseline: no mismatch,
 *                  la_check consistent, everything freed; and the checks do
 *                  catch two live blocks sharing memory (correctness only,
 *                  nothing is timed)
 *  all             stress, scavenge, irq
 */
#include "kernel.h"
#include "x86.h"
#include "mm.h"
#include "sys.h"
#include "ktest.h"

static void case_stress(void)
{
	struct mm_stats st0, st1;
	mm_read_stats(&st0);
	CHECK(stress_run(20000, 12345, 1) == 0, "stress found corrupt objects");
	mm_read_stats(&st1);
	CHECK(st1.heap_objects == st0.heap_objects, "live objects %llu before, %llu after freeing all",
	      (unsigned long long)st0.heap_objects, (unsigned long long)st1.heap_objects);
	CHECK(st1.nmalloc >= st0.nmalloc + 10000, "nmalloc grew by only %llu",
	      (unsigned long long)(st1.nmalloc - st0.nmalloc));
	ktest_check_heap("after stress");
}

#define NLARGE 48
#define LARGE (64 * KiB)
#define NSMALL 1500

static void case_scavenge(void)
{
	static unsigned char *large[NLARGE];
	static void *small[NSMALL];

	for (int i = 0; i < NLARGE; i++) {
		large[i] = mm_malloc(LARGE);
		CHECK(large[i], "malloc(64 KiB) failed");
		if (large[i])
			memset(large[i], 0xA5, LARGE);
	}
	for (int i = 0; i < NSMALL; i++) {
		small[i] = mm_malloc(16 + (size_t)(i % 64) * 32);
		if (small[i])
			memset(small[i], 0x5A, 16);
	}
	for (int i = 0; i < NLARGE; i++)
		mm_free(large[i]);
	for (int i = 0; i < NSMALL; i++)
		mm_free(small[i]);

	struct mm_stats st0, st1, st2;
	mm_read_stats(&st0);
	tlb_sync();
	size_t free0 = pmm_free_count(), rel0 = vm_frames_released;
	uint64_t r = mm_scavenge(0);
	tlb_sync(); /* with several CPUs the frames return once every CPU has flushed */
	size_t free1 = pmm_free_count();
	mm_read_stats(&st1);
	kprintf("  scavenge(0): released %llu bytes; frames free %lu -> %lu\n", (unsigned long long)r,
		(unsigned long)free0, (unsigned long)free1);
	CHECK(r >= (uint64_t)NLARGE * LARGE, "released only %llu bytes, %llu freed in large objects alone",
	      (unsigned long long)r, (unsigned long long)NLARGE * LARGE);
	CHECK((uint64_t)(free1 - free0) * PAGE_SIZE == r, "frame allocator gained %lu frames, scavenger released %llu pages",
	      (unsigned long)(free1 - free0), (unsigned long long)(r / PAGE_SIZE));
	CHECK((vm_frames_released - rel0) * PAGE_SIZE == r, "mm_sys_unused unmapped %lu pages, scavenger says %llu",
	      (unsigned long)(vm_frames_released - rel0), (unsigned long long)(r / PAGE_SIZE));
	CHECK(st1.heap_released - st0.heap_released == r, "heap_released rose by %llu, pass returned %llu",
	      (unsigned long long)(st1.heap_released - st0.heap_released), (unsigned long long)r);
	CHECK(mm_scavenge(0) == 0, "a second pass released more (already released pages counted twice)");
	CHECK(pmm_free_count() == free1, "a second pass changed the free frame count");
	ktest_check_heap("after scavenge");

	/* Reuse: the same allocations come back on released pages, which must read as zero. */
	int nonzero = 0, remapped = 0;
	for (int i = 0; i < NLARGE; i++) {
		large[i] = mm_malloc(LARGE);
		CHECK(large[i], "malloc(64 KiB) after scavenge failed");
		if (!large[i])
			continue;
		remapped += vm_is_mapped((uintptr_t)large[i]);
		for (size_t j = 0; j < LARGE; j++)
			if (large[i][j]) {
				nonzero++;
				break;
			}
	}
	mm_read_stats(&st2);
	CHECK(nonzero == 0, "%d reused large objects hold old bytes", nonzero);
	CHECK(remapped == NLARGE, "only %d of %d reused objects are mapped", remapped, NLARGE);
	CHECK(pmm_free_count() < free1, "reuse took no frames (free %lu)", (unsigned long)pmm_free_count());
	CHECK(st2.heap_released < st1.heap_released, "heap_released did not drop on reuse");
	for (int i = 0; i < NLARGE; i++)
		mm_free(large[i]);
	ktest_check_heap("after reuse");
}

/* irq: the timer handler keeps its own set of objects alive. */
#define IRQ_SLOTS 32
static struct {
	unsigned char *p;
	size_t size;
	unsigned char tag;
} irq_obj[IRQ_SLOTS];
static volatile unsigned long irq_allocs, irq_frees, irq_errors, irq_nulls;
static uint32_t irq_rand = 0x9e3779b9;

static void irq_hook(void)
{
	int i = wl_rand(&irq_rand) % IRQ_SLOTS;
	if (irq_obj[i].p) {
		for (size_t j = 0; j < irq_obj[i].size; j++)
			if (irq_obj[i].p[j] != (unsigned char)(irq_obj[i].tag + j)) {
				irq_errors++;
				break;
			}
		mm_free(irq_obj[i].p);
		irq_obj[i].p = NULL;
		irq_frees++;
	}
	size_t size = (wl_rand(&irq_rand) % 8 == 0) ? 40 * KiB : 8 + wl_rand(&irq_rand) % 2048;
	unsigned char *p = mm_malloc(size);
	if (!p) {
		irq_nulls++;
		return;
	}
	unsigned char tag = (unsigned char)wl_rand(&irq_rand);
	for (size_t j = 0; j < size; j++)
		p[j] = (unsigned char)(tag + j);
	irq_obj[i].p = p;
	irq_obj[i].size = size;
	irq_obj[i].tag = tag;
	irq_allocs++;
}

/*
 * Phase 2: the timer at 20 kHz, handler and main loop both hammering one
 * small size class, so interrupts land inside the main loop's cache fast
 * path.  If both contexts shared a cache, an object would be handed out
 * twice and one side would find the other's tag in it.
 */
#define TIGHT_SIZE 32
static volatile unsigned long tight_irq_ops, tight_irq_bad;
static uint32_t *tight_irq_obj[4];

static void irq_hook_tight(void)
{
	for (int i = 0; i < 4; i++) {
		/* Allocate before freeing, so the handler pops what the main loop
		 * may be about to pop (free-then-malloc would get its own object back). */
		uint32_t *p = mm_malloc(TIGHT_SIZE), *old = tight_irq_obj[i];
		if (p)
			for (int j = 0; j < TIGHT_SIZE / 4; j++)
				p[j] = 0x1AAA0000u + (uint32_t)i;
		if (old) {
			for (int j = 0; j < TIGHT_SIZE / 4; j++)
				if (old[j] != 0x1AAA0000u + (uint32_t)i)
					tight_irq_bad++;
			mm_free(old);
		}
		tight_irq_obj[i] = p;
		tight_irq_ops++;
	}
}

static unsigned long tight_main(unsigned long rounds)
{
	uint32_t *obj[8];
	unsigned long bad = 0;
	for (unsigned long r = 0; r < rounds; r++) {
		for (int i = 0; i < 8; i++) {
			obj[i] = mm_malloc(TIGHT_SIZE);
			if (obj[i])
				for (int j = 0; j < TIGHT_SIZE / 4; j++)
					obj[i][j] = (uint32_t)(r * 8 + (unsigned long)i);
		}
		for (int i = 0; i < 8; i++) {
			if (!obj[i]) {
				bad++;
				continue;
			}
			for (int j = 0; j < TIGHT_SIZE / 4; j++)
				if (obj[i][j] != (uint32_t)(r * 8 + (unsigned long)i))
					bad++;
			mm_free(obj[i]);
		}
	}
	return bad;
}

static void case_irq(void)
{
	int bad = 0, rounds = 0;
	timer_hook = irq_hook;
	while (rounds < 20 && (rounds < 2 || irq_allocs < 300)) {
		bad += stress_run(5000, 777u + (unsigned)rounds, 1);
		rounds++;
	}
	timer_hook = NULL;
	kprintf("  %d stress rounds; in the timer handler: %lu mallocs, %lu frees, %lu NULL\n", rounds,
		irq_allocs, irq_frees, irq_nulls);
	CHECK(bad == 0, "main-loop stress found %d corrupt objects", bad);
	CHECK(irq_errors == 0, "the interrupt handler found %lu corrupt objects", irq_errors);
	CHECK(irq_allocs >= 300, "only %lu allocations ran in the timer handler", irq_allocs);
	CHECK(irq_nulls == 0, "%lu allocations in the handler returned NULL", irq_nulls);
	for (int i = 0; i < IRQ_SLOTS; i++) {
		mm_free(irq_obj[i].p); /* objects from the irq cache, freed in normal context */
		irq_obj[i].p = NULL;
	}

	timer_set_hz(20000);
	timer_hook = irq_hook_tight;
	unsigned long tbad = 0, trounds = 0;
	while (trounds < 2000000 && tight_irq_ops < 20000) {
		tbad += tight_main(1000);
		trounds += 1000;
	}
	timer_hook = NULL;
	timer_set_hz(TIMER_HZ);
	for (int i = 0; i < 4; i++) {
		mm_free(tight_irq_obj[i]);
		tight_irq_obj[i] = NULL;
	}
	kprintf("  tight: %lu main-loop rounds of 8 x %d bytes against %lu handler allocations at 20 kHz\n",
		trounds, TIGHT_SIZE, tight_irq_ops);
	CHECK(tbad == 0 && tight_irq_bad == 0, "one %d-byte object used by both contexts (main saw %lu, handler %lu)",
	      TIGHT_SIZE, tbad, tight_irq_bad);
	CHECK(tight_irq_ops >= 20000, "only %lu handler allocations", tight_irq_ops);
	ktest_check_heap("after irq");
}

#define MAXBLOCKS 96

static void case_growth(void)
{
	static void *blocks[MAXBLOCKS];
	struct mm_stats st;
	int n = 0;
	mm_read_stats(&st);
	uintptr_t start = st.arena_start;
	CHECK(start == ARENA_HINT, "arena starts at %p, not at the hint %p", (void *)start, (void *)(uintptr_t)ARENA_HINT);

	if (st.arena_policy == MM_ARENA_32) {
		uintptr_t seen[8];
		int nseen = 0;
		seen[nseen++] = st.arena_end - start;
		kprintf("  arena_end %p (+%lu MiB) at the start\n", (void *)st.arena_end, (unsigned long)(seen[0] / MiB));
		while (st.arena_end - start <= 512 * MiB && n < MAXBLOCKS) {
			void *p = mm_malloc(32 * MiB);
			CHECK(p, "malloc(32 MiB) failed at arena_end +%lu MiB", (unsigned long)((st.arena_end - start) / MiB));
			if (!p)
				break;
			blocks[n++] = p;
			mm_read_stats(&st);
			if (st.arena_end - start != seen[nseen - 1] && nseen < 8) {
				seen[nseen++] = st.arena_end - start;
				kprintf("  arena_end %p (+%lu MiB) after %d blocks of 32 MiB\n", (void *)st.arena_end,
					(unsigned long)((st.arena_end - start) / MiB), n);
			}
		}
		CHECK(nseen == 3 && seen[0] == 256 * MiB && seen[1] == 512 * MiB && seen[2] == 768 * MiB,
		      "arena_end steps: %d values, %lu, %lu, %lu MiB", nseen, (unsigned long)(seen[0] / MiB),
		      (unsigned long)(nseen > 1 ? seen[1] / MiB : 0), (unsigned long)(nseen > 2 ? seen[2] / MiB : 0));
		/* A request that cannot fit inside [start, start + 2 GiB). */
		uintptr_t end0 = st.arena_end;
		void *p = mm_malloc(1536 * MiB);
		mm_read_stats(&st);
		CHECK(p == NULL, "malloc(1.5 GiB) past the window returned %p", p);
		CHECK(st.arena_end == end0, "arena_end moved from %p to %p on a refused request", (void *)end0,
		      (void *)st.arena_end);
		CHECK(st.arena_end - start <= 2 * GiB, "arena_end %p past MaxArena32", (void *)st.arena_end);
		kprintf("  malloc(1536 MiB) past the window: %p; arena_end still %p\n", p, (void *)st.arena_end);
		/* Fill the rest of the window with someone else's reservation: the
		 * arena cannot extend at arena_end, memory elsewhere lies outside
		 * the window, so the next growth must fail cleanly. */
		uintptr_t wend = start + 2 * GiB;
		void *other = mm_sys_reserve((void *)st.arena_end, wend - st.arena_end);
		CHECK(other == (void *)st.arena_end, "could not reserve the rest of the window (%p)", other);
		void *q = mm_malloc(300 * MiB);
		mm_read_stats(&st);
		CHECK(q == NULL, "malloc(300 MiB) with the window full returned %p", q);
		CHECK(st.arena_end == end0, "arena_end moved to %p with the window full", (void *)st.arena_end);
		kprintf("  window full (%p-%p reserved by another user): malloc(300 MiB) = %p, arena_end %p\n",
			other, (void *)wend, q, (void *)st.arena_end);
		void *small = mm_malloc(100);
		CHECK(small != NULL, "a small allocation failed with the window full");
		mm_free(small);
		if (other)
			mm_sys_free(other, wend - end0);
	} else {
		uintptr_t end0 = st.arena_end;
		int passed256 = 0;
		while (st.arena_used - start <= 512 * MiB && n < MAXBLOCKS) {
			void *p = mm_malloc(64 * MiB);
			CHECK(p, "malloc(64 MiB) failed at arena_used +%lu MiB", (unsigned long)((st.arena_used - start) / MiB));
			if (!p)
				break;
			CHECK((uintptr_t)p >= start && (uintptr_t)p + 64 * MiB <= st.arena_end, "block %p outside the arena", p);
			blocks[n++] = p;
			mm_read_stats(&st);
			if (!passed256 && st.arena_used - start > 256 * MiB) {
				passed256 = 1;
				kprintf("  arena_used passed 256 MiB after %d blocks: %p\n", n, (void *)st.arena_used);
			}
		}
		kprintf("  arena_used %p (+%lu MiB), arena_end %p (+%lu GiB)\n", (void *)st.arena_used,
			(unsigned long)((st.arena_used - start) / MiB), (void *)st.arena_end,
			(unsigned long)((st.arena_end - start) / GiB));
		CHECK(st.arena_used - start > 512 * MiB, "arena_used only +%lu MiB", (unsigned long)((st.arena_used - start) / MiB));
		CHECK(st.arena_end == end0, "the 64 GiB reservation moved: %p -> %p", (void *)end0, (void *)st.arena_end);
		void *p = mm_malloc((size_t)(sizeof(size_t) == 8 ? 100 * GiB : GiB)); /* more than all RAM */
		CHECK(p == NULL, "malloc(100 GiB) returned %p", p);
	}
	ktest_check_heap("after growth");
	while (n > 0)
		mm_free(blocks[--n]);
	ktest_check_heap("after freeing the blocks");
}

/* exhaust: allocate until NULL, keeping the blocks on a list threaded through them. */
static size_t fill_memory(size_t size, void **list)
{
	size_t n = 0;
	for (;;) {
		void **p = mm_malloc(size);
		if (!p)
			return n;
		p[0] = *list;
		p[1] = (void *)(uintptr_t)0xC0FFEE;
		*list = p;
		n++;
	}
}

static size_t free_list(void **list, int *bad)
{
	size_t n = 0;
	for (void **p = *list; p;) {
		void **next = p[0];
		if (p[1] != (void *)(uintptr_t)0xC0FFEE)
			(*bad)++;
		mm_free(p);
		p = next;
		n++;
	}
	*list = NULL;
	return n;
}

static void case_exhaust(void)
{
	void *big = NULL, *small = NULL;
	int bad = 0;

	size_t nbig = fill_memory(256 * KiB, &big);
	size_t nsmall = fill_memory(48, &small);
	kprintf("  out of frames after %lu blocks of 256 KiB and %lu of 48 bytes; frames free %lu of %lu\n",
		(unsigned long)nbig, (unsigned long)nsmall, (unsigned long)pmm_free_count(),
		(unsigned long)pmm_total_count());
	CHECK(nbig > 0 && nsmall > 0, "nothing could be allocated");
	CHECK(mm_malloc(256 * KiB) == NULL, "malloc succeeded right after failing");
	CHECK(pmm_free_count() < 64, "%lu frames still free after exhaustion", (unsigned long)pmm_free_count());
	ktest_check_heap("exhausted");
	CHECK(free_list(&big, &bad) == nbig && free_list(&small, &bad) == nsmall && bad == 0,
	      "the blocks did not come back intact (%d)", bad);
	ktest_check_heap("after freeing");
	mm_scavenge(0);
	size_t again = fill_memory(256 * KiB, &big);
	kprintf("  after freeing: %lu blocks of 256 KiB fit again\n", (unsigned long)again);
	CHECK(again + again / 8 >= nbig, "only %lu blocks fit again, %lu before", (unsigned long)again, (unsigned long)nbig);
	free_list(&big, &bad);
	CHECK(bad == 0, "blocks corrupt on the second round");
	ktest_check_heap("after the second round");
}

static void case_fault(int released)
{
	if (released) {
		unsigned char *p = mm_malloc(64 * KiB);
		CHECK(p, "malloc failed");
		if (!p)
			return;
		memset(p, 1, 64 * KiB);
		mm_free(p);
		mm_scavenge(0);
		CHECK(vm_is_released((uintptr_t)p), "page %p not marked released after the scavenger", (void *)p);
		panic_expected = "released by the scavenger";
		panic_expected_case = "fault";
		kprintf("  touching %p, which the scavenger released\n", (void *)p);
		if (ktest_failures == 0)
			p[100] = 2;
	} else {
		struct mm_stats st;
		mm_read_stats(&st);
		volatile char *p = (volatile char *)(st.arena_end - PAGE_SIZE);
		CHECK(!vm_is_mapped((uintptr_t)p) && !vm_is_released((uintptr_t)p), "%p is mapped or released", (void *)p);
		panic_expected = "never mapped";
		panic_expected_case = "fault-unmapped";
		kprintf("  touching %p, reserved but never mapped\n", (void *)p);
		if (ktest_failures == 0)
			p[0] = 2;
	}
	panic_expected = NULL;
	CHECK(0, "the touch did not fault");
}

static void case_idle(void)
{
	struct mm_stats st0, st;
	const size_t size = 1 * MiB;

	CHECK(scavenge_period_ns <= 1000000000ull && scavenge_idle_ns <= 2000000000ull,
	      "boot with small mm.scvg_period_ms and mm.scvg_idle_ms (period %llu ms, idle %llu ms)",
	      (unsigned long long)(scavenge_period_ns / 1000000), (unsigned long long)(scavenge_idle_ns / 1000000));
	if (ktest_failures)
		return;
	unsigned char *p = mm_malloc(size);
	CHECK(p, "malloc(1 MiB) failed");
	if (!p)
		return;
	memset(p, 0x77, size);
	mm_read_stats(&st0);
	/* the clock before the free: the span's idle time starts inside it, and a
	 * tick (1 ms) between the two would make the release look early */
	uint64_t t_free = timer_nanos(), t_rel = 0;
	mm_free(p);
	unsigned long passes_before = 0;
	while (timer_nanos() - t_free < 5000000000ull) {
		uint64_t n = st0.nscavenge;
		idle_scavenge(); /* what the shell's idle loop does */
		mm_read_stats(&st);
		if (vm_is_released((uintptr_t)p)) {
			t_rel = timer_nanos();
			break;
		}
		passes_before = (unsigned long)(st.nscavenge - n);
		sti_hlt();
	}
	kprintf("  released %llu ms after the free, after %lu passes that left it alone (idle limit %llu ms)\n",
		(unsigned long long)((t_rel - t_free) / 1000000), passes_before,
		(unsigned long long)(scavenge_idle_ns / 1000000));
	CHECK(t_rel != 0, "the idle loop never released the freed block");
	CHECK(t_rel - t_free >= scavenge_idle_ns, "released after %llu ms, before the idle limit",
	      (unsigned long long)((t_rel - t_free) / 1000000));
	CHECK(passes_before >= 2, "only %lu passes ran before the release", passes_before);
	CHECK(st.heap_released >= st0.heap_released + size, "heap_released rose by %llu only",
	      (unsigned long long)(st.heap_released - st0.heap_released));
	ktest_check_heap("after idle scavenging");
}

/* liballoc: a wrapper that hands out one buffer twice in a row every 1000
 * calls, so two live blocks overlap; the workload's checks must notice. */
static unsigned char shared_block[64 * 1024];
static unsigned long evil_calls;

static void *evil_alloc(size_t n)
{
	evil_calls++;
	if (evil_calls % 1000 < 2 && n <= sizeof(shared_block))
		return shared_block;
	return la_malloc(n);
}

static void evil_free(void *p)
{
	if (p != shared_block)
		la_free(p);
}

#define LA_N 20000

static void case_liballoc(void)
{
	static void *p[64];
	const struct bench_alloc mm = { "libmm", mm_malloc, mm_free, 0 };
	const struct bench_alloc la = { "liballoc-like", la_malloc, la_free, 0 };
	const struct bench_alloc evil = { "overlapping", evil_alloc, evil_free, 1 };
	struct bench_result r;
	struct la_stats st;
	const char *bad;

	/* The basics: alignment, usable size, distinct blocks, reuse after free. */
	for (int i = 0; i < 64; i++) {
		size_t n = 1 + (size_t)i * 97;
		p[i] = la_malloc(n);
		CHECK(p[i] && (uintptr_t)p[i] % 16 == 0, "la_malloc(%lu) = %p", (unsigned long)n, p[i]);
		if (!p[i])
			return;
		CHECK(la_usable_size(p[i]) >= n, "la_usable_size %lu < %lu", (unsigned long)la_usable_size(p[i]),
		      (unsigned long)n);
		memset(p[i], i, n);
	}
	for (int i = 0; i < 64; i++) {
		unsigned char *c = p[i];
		size_t n = 1 + (size_t)i * 97, j = 0;
		while (j < n && c[j] == (unsigned char)i)
			j++;
		CHECK(j == n, "block %d (%lu bytes) overwritten at +%lu", i, (unsigned long)n, (unsigned long)j);
	}
	void *big = la_malloc(300 * KiB); /* more than one major's worth */
	CHECK(big != NULL, "la_malloc(300 KiB) failed");
	if (big)
		memset(big, 0x5A, 300 * KiB);
	la_read_stats(&st);
	CHECK(st.objects == 65 && st.majors >= 2, "%lu objects in %lu majors, want 65 in >= 2", (unsigned long)st.objects,
	      (unsigned long)st.majors);
	CHECK((bad = la_check()) == NULL, "la_check with 65 blocks: %s", bad);
	la_free(big);
	for (int i = 0; i < 64; i += 2)
		la_free(p[i]);
	/* First fit inside the best bet: the gap of a freed block, not fresh space. */
	void *again = la_malloc(1 + 2 * 97);
	int reused = 0;
	for (int i = 2; i < 64; i += 2)
		reused |= again == p[i];
	CHECK(reused, "la_malloc(195) = %p, not the place of a freed block of 195 bytes or more", again);
	la_free(again);
	for (int i = 1; i < 64; i += 2)
		la_free(p[i]);
	la_read_stats(&st);
	CHECK(st.objects == 0 && st.bytes == 0 && st.majors == 1, "after freeing all: %lu objects, %lu bytes, %lu majors",
	      (unsigned long)st.objects, (unsigned long)st.bytes, (unsigned long)st.majors);

	/* The bench workload, every byte of every block checked before its free. */
	unsigned long e = bench_workload(&mm, LA_N, 1, &r);
	kprintf("  libmm: %lu ops, %lu mismatches\n", r.ops, e);
	CHECK(e == 0 && r.ops > 4 * LA_N, "libmm: %lu errors in %lu ops", e, r.ops);
	unsigned long mm_ops = r.ops;
	e = bench_workload(&la, LA_N, 1, &r);
	la_read_stats(&st);
	kprintf("  liballoc-like: %lu ops, %lu mismatches; %lu majors (%lu pages) left, %llu mallocs\n", r.ops, e,
		(unsigned long)st.majors, (unsigned long)st.pages, (unsigned long long)st.nmalloc);
	CHECK(e == 0 && r.ops == mm_ops, "liballoc-like: %lu errors in %lu ops (libmm %lu)", e, r.ops, mm_ops);
	CHECK((bad = la_check()) == NULL, "la_check after the workload: %s", bad);
	CHECK(st.objects == 0 && st.majors == 1 && st.pages == 16 && st.nmalloc == st.nfree,
	      "not all given back: %lu objects, %lu majors, %lu pages, %llu mallocs, %llu frees", (unsigned long)st.objects,
	      (unsigned long)st.majors, (unsigned long)st.pages, (unsigned long long)st.nmalloc,
	      (unsigned long long)st.nfree);

	/* The checks can fail: overlapping blocks are caught. */
	e = bench_workload(&evil, LA_N, 1, &r);
	kprintf("  overlapping blocks every 1000 calls: %lu mismatches found\n", e);
	CHECK(e > 0, "the workload's checks missed blocks sharing memory");
	CHECK((bad = la_check()) == NULL, "la_check after the overlap run: %s", bad);
	ktest_check_heap("after liballoc");
}

static volatile unsigned recursion_stop; /* never reached: the compiler cannot know */

static unsigned recurse(unsigned depth)
{
	volatile char frame[256];
	frame[0] = (char)depth;
	if (depth == recursion_stop + 0xFFFFFFFFu)
		return 0;
	return recurse(depth + 1) + (unsigned)frame[0];
}

/* These end the boot from the exception handler with the failure code; the
 * runner expects that status and the EXCEPTION line. */
static void case_exception(int nx)
{
	if (!nx) {
		kprintf("  executing ud2\n");
		__asm__ volatile("ud2");
	} else {
		unsigned char *code = mm_malloc(64);
		void (*fn)(void);
		CHECK(code, "malloc failed");
		if (!code)
			return;
		code[0] = 0xC3; /* ret */
		memcpy(&fn, &code, sizeof(fn));
		kprintf("  calling heap object %p (NX %s)\n", (void *)code, arch_has_nx() ? "on" : "off");
		fn();
	}
	CHECK(0, "no exception");
}

static const struct {
	const char *name;
	void (*fn)(void);
} cases[] = {
	{ "stress", case_stress },
	{ "scavenge", case_scavenge },
	{ "irq", case_irq },
	{ "growth", case_growth },
	{ "exhaust", case_exhaust },
	{ "idle", case_idle },
	{ "liballoc", case_liballoc },
	{ "smp", case_smp },
};

void selftest_run(const char *which)
{
	int passed = 0, failed = 0, ran = 0;
	kprintf("selftest: case %s\n", which);
	/* Cases that must end the boot from a fault handler; coming back is a failure. */
	int fatal = 1;
	if (!strcmp(which, "stack-overflow")) {
		kprintf("  recursing until the stack runs into its guard page\n");
		kprintf("  returned %u\n", recurse(0));
	} else if (!strcmp(which, "exception") || !strcmp(which, "nx")) {
		case_exception(!strcmp(which, "nx"));
	} else if (!strcmp(which, "fault") || !strcmp(which, "fault-unmapped")) {
		case_fault(!strcmp(which, "fault"));
	} else if (!strcmp(which, "shootdown")) {
		case_shootdown();
	} else {
		fatal = 0;
	}
	if (fatal) {
		kprintf("CASE %s: FAIL (no fault)\n", which);
		kprintf("TESTS DONE: 0 passed, 1 failed\n");
		qemu_exit(EXIT_FAIL);
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int in_all = i < 3;
		if (strcmp(which, cases[i].name) && !(in_all && !strcmp(which, "all")))
			continue;
		ktest_failures = 0;
		ran++;
		kprintf("case %s:\n", cases[i].name);
		cases[i].fn();
		if (ktest_failures) {
			failed++;
			kprintf("CASE %s: FAIL (%d checks)\n", cases[i].name, ktest_failures);
		} else {
			passed++;
			kprintf("CASE %s: PASS\n", cases[i].name);
		}
	}
	if (!ran) {
		kprintf("selftest: no case named '%s'\n", which);
		failed++;
	}
	stats_print();
	kprintf("TESTS DONE: %d passed, %d failed\n", passed, failed);
	qemu_exit(failed ? EXIT_FAIL : EXIT_PASS);
}
