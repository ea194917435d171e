/*
 * cache.c - per-thread (hosted) or per-CPU (kernel) caches: a free list per
 * size class, used without a lock by one context at a time.  The fast paths
 * (mm_cache_alloc, mm_cache_free) are inline in internal.h; this file holds
 * the slow ones: refill from central, give back when a list is longer than
 * its limit or the cache holds more than MM_CACHE_MAX_BYTES, and creating
 * and releasing caches.  Statistics: a list counts the allocations it
 * serves; the cache counts objects taken from and returned to central, so
 * frees need no count on the fast path (live = taken - returned - cached,
 * summed over caches; frees = allocations - live).  Counts are folded into
 * the heap's totals when a cache is released.
 */
#include "internal.h"

/*
 * The list for cl is empty: fetch a batch from central, return one object.
 * A miss also raises the list's limit by a batch (up to MM_CACHE_LIST_MAX):
 * a class allocated in bulk earns a longer list, so the frees that follow
 * stay in the cache.
 */
void *mm_cache_refill(struct mm_cache *c, uint32_t cl)
{
	struct mm_cachelist *l = &c->list[cl];
	void *head;
	uint32_t batch = mm_class_batch[cl];
	if (l->max < mm_class_listmax[cl])
		l->max = (uint16_t)(l->max + batch);
	uint32_t got = mm_central_alloc(cl, batch, &head);
	if (!got)
		return 0;
	l->head = *(void **)head;
	((uintptr_t *)head)[1] = 0; /* handed out: no key */
	l->n += got - 1;
	l->nmalloc++;
	c->taken[cl] += got;
	c->bytes += (uintptr_t)(got - 1) * l->objsize;
	return head;
}

/*
 * Move n objects from the front of list cl to central; with `park`, a
 * whole batch may wait in central's transfer slots for another cache.
 */
static void release(struct mm_cache *c, uint32_t cl, uint32_t n, int park)
{
	struct mm_cachelist *l = &c->list[cl];
	if (n > l->n)
		n = l->n;
	if (n == 0)
		return;
	void *head = l->head, *v = head;
	for (uint32_t i = 1; i < n; i++)
		v = *(void **)v;
	l->head = *(void **)v;
	*(void **)v = 0;
	l->n -= n;
	if (l->lowmark > l->n)
		l->lowmark = (uint16_t)l->n;
	c->returned[cl] += n;
	c->bytes -= (uintptr_t)n * l->objsize;
	mm_central_free(cl, head, park ? n : 0);
}

/*
 * free(v) found mm_free_key in v's second word: v is free already, or a
 * live object holds those bytes by chance.  Report only what is proven: v
 * on this cache's list for its class, or (under central's lock) on its
 * span's free list, in a parked batch, or never carved.  This misses a
 * double free whose first free put v in another thread's cache (those lists
 * cannot be read without a race), or on a list of this cache after v's span
 * went back to the heap and was cut into another class; the object is then
 * handed out twice later, as in builds without the key.  Not proven: v is
 * freed as usual.
 */
__attribute__((noinline)) void mm_cache_free_suspect(struct mm_cache *c, uint32_t cl, void *v)
{
	const struct mm_cachelist *l = &c->list[cl];
	uint32_t n = 0;
	for (void *w = l->head; w && n <= l->n; w = *(void **)w, n++)
		if (w == v)
			mm_double_free(v, mm_class_size[cl]);
	if (mm_central_holds(cl, v))
		mm_double_free(v, mm_class_size[cl]);
	mm_cache_push(c, cl, v); /* live after all */
}

uintptr_t mm_cache_bytes(const struct mm_cache *c)
{
	return c->bytes;
}

/*
 * A list went over its limit: a batch goes back, and may be parked whole in
 * central for another cache.  The whole cache went over its limit: every
 * list gives back half its low-water mark (objects it held all along since
 * the last trim, so not needed); if the cache is still above
 * MM_CACHE_MAX_BYTES, everything in it is in use, and the next trim waits
 * until it has grown by another quarter of that.
 */
void mm_cache_overflow(struct mm_cache *c, uint32_t cl)
{
	struct mm_cachelist *l = &c->list[cl];
	if (l->n > l->max)
		release(c, cl, l->n < mm_class_batch[cl] ? l->n : mm_class_batch[cl], 1);
	if (c->bytes > c->limit) {
		for (int i = 1; i < mm_nclasses; i++) {
			release(c, (uint32_t)i, c->list[i].lowmark / 2u, 0);
			c->list[i].lowmark = (uint16_t)c->list[i].n;
		}
		c->limit = MM_CACHE_MAX_BYTES;
		if (c->bytes > c->limit)
			c->limit = c->bytes + MM_CACHE_MAX_BYTES / 4;
	}
}

struct mm_cache *mm_cache_new(void)
{
	if (mm_init_once() < 0)
		return 0;
	mm_sys_lock(&mm_heap.lock);
	struct mm_cache *c = mm_fixalloc_alloc(&mm_heap.caches);
	if (c) {
		for (int i = 1; i < mm_nclasses; i++) {
			c->list[i].max = mm_class_batch[i];
			c->list[i].objsize = mm_class_size[i];
		}
		c->limit = MM_CACHE_MAX_BYTES;
		c->next = mm_heap.allcaches;
		c->prev = 0;
		if (c->next)
			c->next->prev = c;
		mm_heap.allcaches = c;
	}
	mm_sys_unlock(&mm_heap.lock);
	return c;
}

/* Give everything back into the spans, parked batches of other caches too. */
void mm_cache_flush(struct mm_cache *c)
{
	for (int i = 1; i < mm_nclasses; i++)
		release(c, (uint32_t)i, c->list[i].n, 0);
	mm_central_drain();
}

#ifndef MM_SYS_INLINE
/*
 * A host that defines no cache hooks gets these: no caches, every small
 * allocation goes to central under its lock.  Correct on any kernel, SMP
 * and preemptible included (eight hooks to write instead of ten); define
 * both for speed.
 */
__attribute__((weak)) struct mm_cache *mm_sys_cache_get(void)
{
	return 0;
}

__attribute__((weak)) void mm_sys_cache_put(struct mm_cache *c)
{
	(void)c;
}
#endif

void mm_cache_release(struct mm_cache *c)
{
	if (!c)
		return;
	mm_cache_flush(c);
	mm_sys_lock(&mm_heap.lock);
	for (int i = 1; i < mm_nclasses; i++) {
		mm_heap.class_nmalloc[i] += c->list[i].nmalloc;
		mm_heap.class_out[i] += c->taken[i] - c->returned[i];
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		mm_heap.allcaches = c->next;
	if (c->next)
		c->next->prev = c->prev;
	mm_fixalloc_free(&mm_heap.caches, c);
	mm_sys_unlock(&mm_heap.lock);
}
