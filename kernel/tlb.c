/*
 * tlb.c - the TLB shootdown: when a page of the arena is unmapped, another
 * CPU may still hold the old translation in its TLB.  Until every CPU has
 * dropped it, neither the frame (another user would share it) nor the
 * virtual page (the heap may map it again at once, and a stale CPU would
 * still reach the old frame) may be reused.  So the unmapping CPU waits:
 *
 *  - whoever unmaps pages (vm.c, la_host.c; the page tables' lock held)
 *    clears the PTEs, invlpg's them locally and hands each frame to
 *    tlb_defer_frame, which queues it (linked through the frame itself,
 *    reached through the identity map) tagged with the next generation;
 *  - tlb_shootdown advances the generation, sends an NMI to every other
 *    running CPU and waits until each has caught up; then the queued frames
 *    go back to the frame allocator (tlb_reclaim);
 *  - a CPU catches up (tlb_catch_up: reload CR3, then record the generation
 *    it read before the reload) in that NMI, on its local APIC timer, on
 *    any IPI and in its idle loop.
 *
 * The NMI is what makes waiting with locks held safe: a CPU spinning on a
 * lock with interrupts off (say, for the heap lock the unmapping CPU holds)
 * still takes it, so the wait always ends.  The NMI handler only flushes.
 * With one CPU the frames are freed at once: the local invlpg is enough.
 */
#include "kernel.h"
#include "x86.h"

struct pending {        /* at the start of a queued frame */
	uintptr_t next; /* physical address of the next one, 0 at the end */
	uint32_t gen;
};

static volatile uint32_t tlb_gen; /* the newest generation handed out */
static struct spinlock tlb_lock;
static uintptr_t head, tail;      /* the queue, oldest first */
static size_t npending;
size_t tlb_frames_deferred;       /* frames that went through the queue */
size_t tlb_shootdowns;            /* waits for every CPU */

/* Bring this CPU's TLB up to the current generation (any context). */
void tlb_catch_up(void)
{
	struct cpu *c = this_cpu();
	uint32_t g = __atomic_load_n(&tlb_gen, __ATOMIC_ACQUIRE);
	if (c->tlb_gen == g)
		return;
	tlb_flush_all();
	c->flushes++;
	__atomic_store_n(&c->tlb_gen, g, __ATOMIC_RELEASE);
}

/* The oldest generation some running CPU may still hold in its TLB. */
static uint32_t oldest_gen(void)
{
	uint32_t min = __atomic_load_n(&tlb_gen, __ATOMIC_ACQUIRE);
	for (int i = 0; i < ncpu; i++) {
		uint32_t g = __atomic_load_n(&cpus[i].tlb_gen, __ATOMIC_ACQUIRE);
		if ((int32_t)(g - min) < 0)
			min = g;
	}
	return min;
}

/* Free the queued frames every CPU has flushed. */
void tlb_reclaim(void)
{
	if (!npending)
		return;
	spin_lock(&tlb_lock);
	uint32_t done = oldest_gen();
	while (head) {
		struct pending *p = (struct pending *)head;
		if ((int32_t)(p->gen - done) > 0)
			break;
		uintptr_t pa = head;
		head = p->next;
		npending--;
		pmm_free(pa);
	}
	if (!head)
		tail = 0;
	spin_unlock(&tlb_lock);
}

/* pa was mapped at a VA whose PTE is now clear (and invlpg'd here). */
void tlb_defer_frame(uintptr_t pa)
{
	if (ncpu == 1) {
		pmm_free(pa);
		return;
	}
	spin_lock(&tlb_lock);
	struct pending *p = (struct pending *)pa;
	p->next = 0;
	p->gen = __atomic_load_n(&tlb_gen, __ATOMIC_ACQUIRE) + 1;
	if (tail)
		((struct pending *)tail)->next = pa;
	else
		head = pa;
	tail = pa;
	npending++;
	tlb_frames_deferred++;
	spin_unlock(&tlb_lock);
}

/* An NMI to every other running CPU (never to one not started: it would
 * take it before it has an IDT). */
static void nmi_others(void)
{
	int me = this_cpu()->id;
	for (int i = 0; i < ncpu; i++)
		if (i != me)
			lapic_nmi(cpus[i].apic_id);
}

/* Wait until every running CPU has reached generation g, re-sending the
 * NMI now and then (one may arrive while the CPU is still in the last). */
static void wait_for(uint32_t g)
{
	tlb_catch_up();
	nmi_others();
	for (unsigned long i = 1; (int32_t)(oldest_gen() - g) < 0; i++) {
		if (i % 1000000 == 0)
			nmi_others();
		cpu_relax();
	}
}

/* After a batch of tlb_defer_frame: a new generation, every CPU flushed,
 * the frames freed. */
void tlb_shootdown(void)
{
	if (ncpu == 1)
		return;
	wait_for(__atomic_add_fetch(&tlb_gen, 1, __ATOMIC_ACQ_REL));
	tlb_shootdowns++;
	tlb_reclaim();
}

size_t tlb_pending(void) { return npending; }

/* Every CPU at the newest generation, every unmapped frame back in the
 * frame allocator (tests, the shell). */
void tlb_sync(void)
{
	if (ncpu == 1)
		return;
	wait_for(__atomic_load_n(&tlb_gen, __ATOMIC_ACQUIRE));
	tlb_reclaim();
}
