/*
 * tlb.c - the TLB shootdown: a frame that was mapped in the arena goes back
 * to the frame allocator only after every CPU has dropped the old
 * translation from its TLB.  Batching with a generation counter, never a
 * wait while a lock is held:
 *
 *  - whoever unmaps a page (vm.c, liballoc_like.c) clears the PTE, invlpg's
 *    it locally and hands the frame to tlb_defer_frame, which tags it with
 *    the next generation and queues it (linked through the frame itself,
 *    reached through the identity map);
 *  - tlb_shootdown then advances tlb_gen to that generation and sends
 *    VEC_IPI to every other CPU;
 *  - a CPU catches up (tlb_catch_up: reload CR3, then record the generation
 *    it read before the reload) on that IPI, on its local APIC timer and in
 *    its idle loop;
 *  - tlb_reclaim frees the queued frames whose generation every running CPU
 *    has reached.  tlb_sync (no lock held, interrupts on) waits for that.
 *
 * With one CPU the frame is freed at once: the local invlpg was enough.
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

/* After a batch of tlb_defer_frame: a new generation, every CPU told. */
void tlb_shootdown(void)
{
	if (ncpu == 1)
		return;
	__atomic_add_fetch(&tlb_gen, 1, __ATOMIC_ACQ_REL);
	lapic_ipi_others(VEC_IPI);
	tlb_catch_up();
	tlb_reclaim();
}

size_t tlb_pending(void) { return npending; }

/* Wait up to `spins` pause loops for every CPU to reach the newest
 * generation, then free what they have flushed; 1 if they all did. */
int tlb_wait(unsigned long spins)
{
	if (ncpu == 1)
		return 1;
	uint32_t g = __atomic_load_n(&tlb_gen, __ATOMIC_ACQUIRE);
	tlb_catch_up();
	unsigned long i = 0;
	while ((int32_t)(oldest_gen() - g) < 0 && i++ < spins) {
		if (i % 100000 == 1)
			lapic_ipi_others(VEC_IPI);
		cpu_relax();
	}
	tlb_reclaim();
	return (int32_t)(oldest_gen() - g) >= 0;
}

/* Every frame unmapped so far is back in the frame allocator (tests, the
 * shell): no lock held, interrupts on. */
void tlb_sync(void)
{
	while (!tlb_wait(100000000ul))
		;
}
