/*
 * stats.c - mm_read_stats and the scavenger's trace line.  Counts kept per
 * cache (per class) are summed here with those folded in from released
 * caches, the no-cache path and large objects.  Live caches of other
 * threads are read without stopping them, so their counts may lag a little.
 */
#include "internal.h"

/* Fill st; the heap lock is held (and, from mm_check, every other lock). */
void mm_read_stats_locked(struct mm_stats *st)
{
	mm_memset(st, 0, sizeof *st);
	st->nclasses = mm_nclasses;
	static uint64_t live[MM_NUM_CLASSES_MAX]; /* heap lock held */
	for (int i = 1; i < mm_nclasses; i++) {
		st->by_class[i].size = mm_class_size[i];
		st->by_class[i].npages = mm_class_npages[i];
		st->by_class[i].nmalloc = mm_heap.class_nmalloc[i] + mm_central[i].nmalloc;
		live[i] = mm_heap.class_out[i] + mm_central[i].nmalloc - mm_central[i].nfree;
	}
	/* large: the heap's spans out, less those caches hold; the caches' hits are allocations too */
	uint64_t large_nmalloc = mm_heap.large_nmalloc, large_live = mm_heap.large_nmalloc - mm_heap.large_nfree;
	for (struct mm_cache *c = mm_heap.allcaches; c; c = c->next) {
		for (int i = 1; i < mm_nclasses; i++) {
			st->by_class[i].nmalloc += c->list[i].nmalloc;
			live[i] += c->taken[i] - c->returned[i] - mm_cachelist_len(&c->list[i]);
		}
		st->cache_bytes += mm_cache_bytes(c);
		st->cache_large_bytes += (uint64_t)c->large_pages << MM_PAGE_SHIFT;
		large_nmalloc += c->large_nmalloc;
		large_live -= c->nlarge;
	}
	for (int i = 1; i < mm_nclasses; i++)
		st->by_class[i].nfree = st->by_class[i].nmalloc - live[i];
	st->transfer_bytes = __atomic_load_n(&mm_transfer_bytes, __ATOMIC_RELAXED);
	st->spare_bytes = (uint64_t)__atomic_load_n(&mm_spare_pages, __ATOMIC_RELAXED) << MM_PAGE_SHIFT;
	st->nmalloc = large_nmalloc;
	st->nfree = large_nmalloc - large_live;
	for (int i = 1; i < mm_nclasses; i++) {
		st->nmalloc += st->by_class[i].nmalloc;
		st->nfree += st->by_class[i].nfree;
	}
	st->heap_objects = st->nmalloc - st->nfree;
	st->sys = mm_heap.sys;
	st->heap_sys = (uint64_t)mm_heap.pages_sys << MM_PAGE_SHIFT;
	st->heap_inuse = (uint64_t)mm_heap.pages_inuse << MM_PAGE_SHIFT;
	st->heap_idle = (uint64_t)mm_heap.pages_idle << MM_PAGE_SHIFT;
	st->heap_released = (uint64_t)mm_heap.pages_released << MM_PAGE_SHIFT;
	st->heap_kept = (uint64_t)mm_heap.pages_kept << MM_PAGE_SHIFT;
	st->records_sys = st->sys - st->heap_sys;
	st->nscavenge = mm_heap.nscavenge;
	st->released_idle = mm_heap.released_idle << MM_PAGE_SHIFT;
	st->released_bound = mm_heap.released_bound << MM_PAGE_SHIFT;
	st->nbound = mm_heap.nbound;
	st->idle_bound = mm_scavenge_bound_bytes();
	mm_arena_stats(st);
}

void mm_read_stats(struct mm_stats *st)
{
	if (mm_init_once() < 0) {
		mm_memset(st, 0, sizeof *st);
		return;
	}
	mm_sys_lock(&mm_heap.lock);
	mm_read_stats_locked(st);
	mm_sys_unlock(&mm_heap.lock);
}

/* The last non-fatal error (an arena refusal), or NULL. */
const char *mm_last_error(void)
{
	return mm_heap.error;
}

static uintptr_t mb(uint64_t bytes)
{
	return (uintptr_t)(bytes >> 20);
}

/*
 * One trace line for a scavenger pass that released `released` bytes.  Reads
 * the heap's counters under its lock rather than filling a struct mm_stats
 * (2 KiB) on the caller's stack: a kernel calls this on a small stack.
 */
size_t mm_trace_format(char *buf, size_t len, uint64_t released)
{
	uint64_t n = 0, inuse = 0, idle = 0, sys = 0, rel = 0, by_idle = 0, by_bound = 0, nbound = 0;
	uint64_t bound = 0;
	if (mm_init_once() == 0) {
		mm_sys_lock(&mm_heap.lock);
		n = mm_heap.nscavenge;
		inuse = (uint64_t)mm_heap.pages_inuse << MM_PAGE_SHIFT;
		idle = (uint64_t)mm_heap.pages_idle << MM_PAGE_SHIFT;
		sys = mm_heap.sys;
		rel = (uint64_t)mm_heap.pages_released << MM_PAGE_SHIFT;
		by_idle = mm_heap.released_idle << MM_PAGE_SHIFT;
		by_bound = mm_heap.released_bound << MM_PAGE_SHIFT;
		nbound = mm_heap.nbound;
		bound = mm_scavenge_bound_bytes();
		mm_sys_unlock(&mm_heap.lock);
	}
	return mm_format(buf, len,
			 "mm: scvg %u: %u MB released; inuse: %u, idle: %u, sys: %u, released: %u, consumed: %u (MB); "
			 "by limit: %u, by bound: %u in %u passes, bound: %u (MB)",
			 (uintptr_t)n, mb(released), mb(inuse), mb(idle), mb(sys), mb(rel), mb(sys - rel),
			 mb(by_idle), mb(by_bound), (uintptr_t)nbound, mb(bound));
}
