/*
 * scavenge.c - the scavenger: gives the pages of free spans back to the
 * system (mm_sys_unused), keeping heap_released == sum of npreleased over
 * free spans.  A fully released span is never advised again; a span only
 * partly released (coalesced from released and unreleased parts) is advised
 * whole, which the hook contract allows.
 *
 * Two policies decide which spans go back:
 *   idle limit  a pass releases every span free for longer than a limit.
 *               Hosts decide when passes run: an explicit call (our kernel's
 *               idle loop; a hosted background thread; malloc_trim), or
 *               mm_auto_scavenge, which lets the heap run one when it frees a
 *               span and half the limit has gone by since the last (hosted).
 *               An explicit call first puts central's parked batches back
 *               into their spans (mm_central_drain), so that spans they
 *               pinned can go back to the heap and be released.
 *   idle bound  (mm_scavenge_bound) backed idle pages may not exceed a floor
 *               plus a percentage of the pages in use.  A free that passes
 *               the bound releases the largest free spans first (the oldest
 *               first among spans of one list), until backed idle pages are
 *               down to half the floor plus the percentage: a heap that
 *               shrank a lot gives most of it back at once, while a heap
 *               that churns within the floor never pays for a release, and
 *               the half-floor slack keeps passes rare.  Large spans go
 *               first: one call gives the most back, and they are the
 *               slowest to be needed again whole.
 */
#include "internal.h"

/* Release free span s's backed pages; returns how many. */
static uintptr_t release(struct mm_span *s)
{
	uintptr_t n = s->npages - s->npreleased;
	if (n == 0)
		return 0;
	int zeroes = mm_sys_unused((void *)mm_span_base(s), s->npages << MM_PAGE_SHIFT);
	mm_heap.pages_released += n;
	s->npreleased = s->npages;
	s->needzero = !zeroes;
	return n;
}

/* ---- the idle limit ---- */

struct pass {
	uint64_t now, idle;
	uintptr_t released; /* pages */
};

static void scavenge_span(struct mm_span *s, void *arg)
{
	struct pass *p = arg;
	if (p->idle && (p->now < s->unused_since || p->now - s->unused_since < p->idle))
		return;
	p->released += release(s);
}

uint64_t mm_scavenge_locked(uint64_t now, uint64_t idle_ns)
{
	struct pass p = { now, idle_ns, 0 };
	mm_heap_flush_kept(); /* kept spans join the free structure (idle from now) */
	mm_heap_walk_free(scavenge_span, &p);
	mm_heap.nscavenge++;
	mm_heap.released_idle += p.released;
	mm_heap.last_pass = now;
	return (uint64_t)p.released << MM_PAGE_SHIFT;
}

/* ---- the idle bound ---- */

/* Backed idle pages allowed now, and the level a bound pass brings them down to. */
static uintptr_t bound_pages(uintptr_t floor)
{
	return floor + mm_heap.pages_inuse / 100 * mm_heap.retain_pct +
	       mm_heap.pages_inuse % 100 * mm_heap.retain_pct / 100;
}

struct bound {
	uintptr_t over;     /* pages still to release */
	uintptr_t released; /* pages released so far */
};

/* Release s (a free span) toward the bound. */
static void bound_span(struct mm_span *s, struct bound *b)
{
	uintptr_t n = release(s);
	b->released += n;
	b->over = n >= b->over ? 0 : b->over - n;
}

/* The same for the treap's walk: stop once the bound is met. */
static int bound_large(struct mm_span *s, void *b)
{
	bound_span(s, b);
	return ((struct bound *)b)->over == 0;
}

/* Release the largest free spans until at least `over` pages were released. */
static void bound_pass(uintptr_t over)
{
	struct bound b = { over, 0 };
	if (b.over)
		mm_heap_walk_large(1, bound_large, &b); /* the largest spans first */
	for (int i = MM_HEAP_LISTS - 1; i > 0 && b.over; i--) {
		/* lists hold the newest span first: walk from the back, oldest first */
		for (struct mm_span *s = mm_span_list_last(&mm_heap.free[i]); s != &mm_heap.free[i] && b.over;
		     s = s->prev)
			bound_span(s, &b);
	}
	mm_heap.nbound++;
	mm_heap.released_bound += b.released;
}

/* Are backed idle pages over the idle bound (heap locked)?  A kept span's free asks this alone. */
int mm_scavenge_over_bound(void)
{
	uintptr_t backed = mm_heap.pages_idle - mm_heap.pages_released;
	/* the bound is at least the floor: below it, no division */
	return mm_heap.bound_on && backed > mm_heap.retain_floor &&
	       backed > bound_pages(mm_heap.retain_floor);
}

/*
 * Read without the heap lock: does the heap hold more backed idle pages
 * than pages in use (and more than MM_CACHE_LARGE_BYTES)?  A hint for a
 * cache deciding whether to hold a large span: not while the heap has
 * shrunk a lot, so that the span reaches the heap, whose passes then run,
 * and free spans coalesce whole rather than around spans held in caches.
 */
int mm_scavenge_shrinking_hint(void)
{
	uintptr_t idle = __atomic_load_n(&mm_heap.pages_idle, __ATOMIC_RELAXED);
	uintptr_t backed = idle - __atomic_load_n(&mm_heap.pages_released, __ATOMIC_RELAXED);
	return backed <= idle && backed > MM_CACHE_LARGE_BYTES >> MM_PAGE_SHIFT &&
	       backed > __atomic_load_n(&mm_heap.pages_inuse, __ATOMIC_RELAXED);
}

/* Called by the heap after it freed a span (heap locked): run what is due. */
void mm_scavenge_policy_locked(uint64_t now)
{
	if (mm_heap.auto_idle_ns && now - mm_heap.last_pass >= mm_heap.auto_idle_ns / 2)
		mm_scavenge_locked(now, mm_heap.auto_idle_ns);
	if (mm_scavenge_over_bound()) {
		mm_heap_flush_kept(); /* so that the largest spans can go first */
		bound_pass(mm_heap.pages_idle - mm_heap.pages_released - bound_pages(mm_heap.retain_floor / 2));
	}
}

/* Bound backed idle memory to floor_bytes + percent % of the heap in use (0, 0: none). */
void mm_scavenge_bound(uint64_t floor_bytes, uint32_t percent)
{
	if (mm_init_once() < 0)
		return;
	if (percent > 1000)
		percent = 1000;
	uint64_t floor = floor_bytes >> MM_PAGE_SHIFT;
	mm_sys_lock(&mm_heap.lock);
	mm_heap.retain_floor = floor > UINTPTR_MAX / 2 ? UINTPTR_MAX / 2 : (uintptr_t)floor;
	mm_heap.retain_pct = percent;
	mm_heap.bound_on = floor_bytes != 0 || percent != 0;
	mm_sys_unlock(&mm_heap.lock);
}

/* The bound now, in bytes (0: none); heap locked. */
uint64_t mm_scavenge_bound_bytes(void)
{
	if (!mm_heap.bound_on)
		return 0;
	return (uint64_t)bound_pages(mm_heap.retain_floor) << MM_PAGE_SHIFT;
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

/*
 * Release every span idle for longer than idle_ns (0: all); returns bytes
 * released.  The caller's cache gives back the large spans it holds first
 * (other contexts' caches cannot be touched from here).
 */
uint64_t mm_scavenge(uint64_t idle_ns)
{
	if (!mm_inited)
		return 0;
	struct mm_cache *c = mm_sys_cache_peek();
	if ((MM_CACHE_NEVER_NULL || c != 0) && c != &mm_cache_none)
		mm_cache_large_flush(c);
	mm_sys_cache_put(c);
	mm_central_drain(); /* parked batches back into their spans: whole ones can go */
	uint64_t now = mm_sys_nanotime();
	mm_sys_lock(&mm_heap.lock);
	uint64_t r = mm_scavenge_locked(now, idle_ns);
	mm_sys_unlock(&mm_heap.lock);
	return r;
}
