/*
 * scavenge.c - the scavenger: gives the pages of spans that have been free
 * longer than an idle limit back to the system (mm_sys_unused), keeping
 * heap_released == sum of npreleased over free spans.  A fully released span
 * is never advised again; a span only partly released (coalesced from
 * released and unreleased parts) is advised whole, which the hook contract
 * allows.  Hosts decide when to run it: an explicit call (our kernel's idle
 * loop when the timer says a pass is due; a hosted background thread), or
 * mm_auto_scavenge, which lets the heap run a pass when it frees a span and
 * half the idle limit has gone by since the last one (the hosted default).
 */
#include "internal.h"

struct pass {
	uint64_t now, idle;
	uintptr_t released; /* pages */
};

static void scavenge_span(struct mm_span *s, void *arg)
{
	struct pass *p = arg;
	if (s->npreleased == s->npages)
		return;
	if (p->idle && (p->now < s->unused_since || p->now - s->unused_since < p->idle))
		return;
	int zeroes = mm_sys_unused((void *)mm_span_base(s), s->npages << MM_PAGE_SHIFT);
	p->released += s->npages - s->npreleased;
	mm_heap.pages_released += s->npages - s->npreleased;
	s->npreleased = s->npages;
	s->needzero = !zeroes;
}

uint64_t mm_scavenge_locked(uint64_t now, uint64_t idle_ns)
{
	struct pass p = { now, idle_ns, 0 };
	mm_heap_walk_free(scavenge_span, &p);
	mm_heap.nscavenge++;
	mm_heap.last_pass = now;
	return (uint64_t)p.released << MM_PAGE_SHIFT;
}

/* Passes from the heap's own slow path (a span freed), every idle_ns / 2; 0: none. */
void mm_auto_scavenge(uint64_t idle_ns)
{
	if (mm_init_once() < 0)
		return;
	mm_sys_lock(&mm_heap.lock);
	mm_heap.auto_idle_ns = idle_ns;
	mm_heap.last_pass = mm_sys_nanotime();
	mm_sys_unlock(&mm_heap.lock);
}

/* Release every span idle for longer than idle_ns (0: all); returns bytes released. */
uint64_t mm_scavenge(uint64_t idle_ns)
{
	if (!mm_inited)
		return 0;
	uint64_t now = mm_sys_nanotime();
	mm_sys_lock(&mm_heap.lock);
	uint64_t r = mm_scavenge_locked(now, idle_ns);
	mm_sys_unlock(&mm_heap.lock);
	return r;
}
