/*
 * smptest.c - the self-tests that need several CPUs (run with -smp 4):
 *
 *  smp        every CPU at once runs the shadow-model stress, its local
 *             APIC timer handler allocates and frees (the interrupt-context
 *             cache on every CPU), and CPU 0 runs scavenger passes between
 *             its own stress rounds, so pages are unmapped (and shot down)
 *             while the others allocate.  Then: no pattern error anywhere,
 *             mm_check, the stats add up, no frame left waiting for a
 *             shootdown, and the frames mapped minus those unmapped equal
 *             the bytes the heap holds from the system (sys - released).
 *  shootdown  CPU 1 reads every page of a 64 KiB block over and over (its
 *             TLB holds them); meanwhile CPU 0 frees it, the scavenger
 *             releases it, and CPU 0 takes every free frame and fills it
 *             with 0xEE; CPU 1 must fault ("released by the scavenger"),
 *             never read the reused frames.
 */
#include "kernel.h"
#include "x86.h"
#include "mm.h"
#include "ktest.h"

/* ---- the timer handler's objects, per CPU -------------------------------- */

#define HOOK_SLOTS 16
static struct hobj {
	unsigned char *p;
	size_t size;
	unsigned char tag;
} hobj[NCPU][HOOK_SLOTS];
static volatile unsigned long h_allocs[NCPU], h_errors[NCPU], h_nulls[NCPU];
static uint32_t h_rand[NCPU];

/* Local APIC timer, any CPU: check and free one of this CPU's objects, allocate another. */
static void smp_hook(int cpu)
{
	struct hobj *o = &hobj[cpu][wl_rand(&h_rand[cpu]) % HOOK_SLOTS];
	if (o->p) {
		for (size_t j = 0; j < o->size; j++)
			if (o->p[j] != (unsigned char)(o->tag + j)) {
				h_errors[cpu]++;
				break;
			}
		mm_free(o->p);
		o->p = NULL;
	}
	size_t size = wl_rand(&h_rand[cpu]) % 16 == 0 ? 20 * KiB : 8 + wl_rand(&h_rand[cpu]) % 1024;
	unsigned char *p = mm_malloc(size);
	if (!p) {
		h_nulls[cpu]++;
		return;
	}
	o->tag = (unsigned char)wl_rand(&h_rand[cpu]);
	for (size_t j = 0; j < size; j++)
		p[j] = (unsigned char)(o->tag + j);
	o->p = p;
	o->size = size;
	h_allocs[cpu]++;
}

/* Stop the hook and wait until every CPU has taken a tick since (none is inside it). */
static void hook_off(void)
{
	unsigned long seen[NCPU];
	cpu_timer_hook = NULL;
	for (int i = 0; i < ncpu; i++)
		seen[i] = cpus[i].ticks;
	for (int i = 0; i < ncpu; i++)
		while (cpus[i].ticks < seen[i] + 2)
			cpu_relax();
}

/* ---- stress on every CPU, scavenging on CPU 0 ---------------------------- */

#define SMP_OPS 15000
static volatile int stressers_left;
static int s_failed[NCPU];
static long s_ops[NCPU];
static char s_msg[NCPU][160];
static unsigned long scav_passes;
static uint64_t scav_bytes;
static uint32_t round_seed;

static void smp_work(int cpu)
{
	uint32_t seed = round_seed + 0x9E3779B9u * (uint32_t)cpu;
	if (cpu != 0) {
		s_failed[cpu] += stress_here(SMP_OPS, seed, s_msg[cpu], sizeof(s_msg[cpu]), &s_ops[cpu]) < 0;
		__atomic_sub_fetch(&stressers_left, 1, __ATOMIC_RELEASE);
		return;
	}
	do { /* CPU 0: scavenger passes between short stress rounds, until the others are done */
		scav_bytes += mm_scavenge(0);
		scav_passes++;
		s_failed[0] += stress_here(SMP_OPS / 8, seed++, s_msg[0], sizeof(s_msg[0]), &s_ops[0]) < 0;
	} while (__atomic_load_n(&stressers_left, __ATOMIC_ACQUIRE) > 0);
}

static int hooks_done(unsigned long min)
{
	for (int i = 0; i < ncpu; i++)
		if (h_allocs[i] < min)
			return 0;
	return 1;
}

void case_smp(void)
{
	struct mm_stats st0, st;
	size_t deferred0 = tlb_frames_deferred;
	int rounds = 0;

	CHECK(ncpu >= 2, "only %d CPU running (boot with -smp 2 or more)", ncpu);
	if (ktest_failures)
		return;
	mm_read_stats(&st0);
	for (int i = 0; i < ncpu; i++)
		h_rand[i] = 0x1234567u * (uint32_t)(i + 1);
	cpu_timer_hook = smp_hook;
	while (rounds < 12 && (rounds < 2 || !hooks_done(100))) {
		stressers_left = ncpu - 1;
		round_seed = 1000u + (uint32_t)rounds * 77u;
		smp_run_all(smp_work, ncpu);
		rounds++;
	}
	hook_off();
	for (int i = 0; i < ncpu; i++) {
		kprintf("  cpu%d: %ld stress operations%s%s; timer handler %lu mallocs, %lu NULL, %lu corrupt\n", i,
			s_ops[i], s_failed[i] ? ": " : ", patterns ok", s_failed[i] ? s_msg[i] : "", h_allocs[i],
			h_nulls[i], h_errors[i]);
		CHECK(!s_failed[i], "cpu%d's stress failed: %s", i, s_msg[i]);
		CHECK(h_errors[i] == 0 && h_nulls[i] == 0, "cpu%d's timer handler: %lu corrupt, %lu NULL", i,
		      h_errors[i], h_nulls[i]);
		CHECK(h_allocs[i] >= 100, "cpu%d's timer handler allocated only %lu times", i, h_allocs[i]);
		for (int k = 0; k < HOOK_SLOTS; k++) { /* freed here, on CPU 0: frees cross CPUs */
			mm_free(hobj[i][k].p);
			hobj[i][k].p = NULL;
		}
	}
	kprintf("  %d rounds; cpu0 ran %lu scavenger passes meanwhile, %llu bytes released; %lu frames went "
		"through the shootdown\n", rounds, scav_passes, (unsigned long long)scav_bytes,
		(unsigned long)(tlb_frames_deferred - deferred0));
	CHECK(scav_passes >= 2 && scav_bytes > 0, "scavenger: %lu passes, %llu bytes", scav_passes,
	      (unsigned long long)scav_bytes);
	CHECK(tlb_frames_deferred - deferred0 >= scav_bytes / PAGE_SIZE, "only %lu frames deferred for %llu pages released",
	      (unsigned long)(tlb_frames_deferred - deferred0), (unsigned long long)(scav_bytes / PAGE_SIZE));

	/* Exact stats once every CPU is idle. */
	tlb_sync();
	mm_read_stats(&st);
	CHECK(st.heap_objects == st0.heap_objects, "live objects: %llu before, %llu after",
	      (unsigned long long)st0.heap_objects, (unsigned long long)st.heap_objects);
	CHECK(tlb_pending() == 0, "%lu frames still wait for a shootdown after tlb_sync", (unsigned long)tlb_pending());
	uint64_t held = (uint64_t)(vm_frames_mapped - vm_frames_released - vm_frames_freed) * PAGE_SIZE;
	kprintf("  frames mapped - unmapped: %llu bytes; heap sys - released: %llu bytes\n", (unsigned long long)held,
		(unsigned long long)(st.sys - st.heap_released));
	CHECK(held == st.sys - st.heap_released, "the page tables hold %llu bytes, the heap says %llu",
	      (unsigned long long)held, (unsigned long long)(st.sys - st.heap_released));
	for (int i = 0; i < ncpu; i++)
		CHECK(cpus[i].tlb_gen == cpus[0].tlb_gen, "cpu%d at TLB generation %u, cpu0 at %u", i,
		      (unsigned)cpus[i].tlb_gen, (unsigned)cpus[0].tlb_gen);
	ktest_check_heap("after smp");
}

/* ---- shootdown ----------------------------------------------------------- */

static volatile unsigned char *sd_block;
static volatile unsigned sd_sum;
static volatile unsigned long sd_loops;
static volatile int sd_stop;
static uintptr_t sd_frames; /* the frames taken from the frame allocator, chained */
static size_t sd_taken;

static unsigned sd_read(void)
{
	unsigned sum = 0;
	for (size_t off = 0; off < 64 * KiB; off += PAGE_SIZE)
		sum += sd_block[off];
	return sum;
}

/* CPU 1 reads the block over and over; CPU 0 meanwhile frees it, has the
 * scavenger release it and hands every free frame 0xEE.  Then CPU 1 reads
 * once more. */
static void sd_race(int cpu)
{
	if (cpu == 1) {
		while (!sd_stop) {
			sd_sum = sd_read();
			sd_loops++;
		}
		sd_sum = sd_read(); /* must fault */
		return;
	}
	if (cpu != 0)
		return;
	while (sd_loops < 3)
		cpu_relax();
	unsigned char *p = (unsigned char *)sd_block;
	unsigned long flushes = cpus[1].flushes;
	mm_free(p);
	uint64_t r = mm_scavenge(0);
	CHECK(vm_is_released((uintptr_t)p), "%p not released by the scavenger (%llu bytes released)", (void *)p,
	      (unsigned long long)r);
	tlb_sync(); /* the frames are back, so cpu1 has flushed */
	CHECK(cpus[1].flushes > flushes && cpus[1].tlb_gen == cpus[0].tlb_gen,
	      "cpu1 did not flush its TLB (flushes %lu -> %lu, generation %u, cpu0 %u)", flushes, cpus[1].flushes,
	      (unsigned)cpus[1].tlb_gen, (unsigned)cpus[0].tlb_gen);
	uintptr_t pa;
	while ((pa = pmm_alloc()) != 0) {
		memset((void *)pa, 0xEE, PAGE_SIZE);
		*(uintptr_t *)pa = sd_frames;
		sd_frames = pa;
		sd_taken++;
	}
	kprintf("  cpu0: freed and released %p while cpu1 read it %lu times; all %lu free frames now hold 0xEE\n",
		(void *)p, sd_loops, (unsigned long)sd_taken);
	kprintf("  cpu1 reads %p again\n", (void *)p);
	sd_stop = 1;
}

void case_shootdown(void)
{
	CHECK(ncpu >= 2, "only %d CPU running (boot with -smp 2 or more)", ncpu);
	unsigned char *p = mm_malloc(64 * KiB);
	CHECK(p, "malloc(64 KiB) failed");
	if (ktest_failures)
		return;
	memset(p, 0x11, 64 * KiB);
	sd_block = p;
	panic_expected = "released by the scavenger (cpu1)";
	panic_expected_case = "shootdown";
	kprintf("  cpu1 reads the 16 pages of %p over and over while cpu0 frees the block\n", (void *)p);
	smp_run_all(sd_race, 2);
	panic_expected = NULL;
	CHECK(0, "cpu1 read the released pages without a fault (sum %u: %s)", sd_sum,
	      sd_sum >= 0xEE ? "reused frames through a stale TLB entry" : "stale");
	while (sd_frames) {
		uintptr_t next = *(uintptr_t *)sd_frames;
		pmm_free(sd_frames);
		sd_frames = next;
	}
}
