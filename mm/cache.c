/*
 * cache.c - per-thread (hosted) or per-CPU (kernel) caches: a free list per
 * size class, used without a lock by one context at a time.  The fast paths
 * (mm_cache_alloc, mm_cache_free) are inline in internal.h; this file holds
 * the slow ones: refill from central, give back when a list is longer than
 * its limit or the cache holds more than its bound (bound()), and creating
 * and releasing caches.  A cache also holds large spans freed by its
 * context whole (below), for the next large request of their size.
 * Statistics: a list counts the allocations it serves; the cache counts
 * objects taken from and returned to central, so frees need no count of
 * their own (live = taken - returned - cached, summed over caches; frees =
 * allocations - live).  Counts are folded into the heap's totals when a
 * cache is released.
 *
 * The fast paths keep no byte count and no low-water mark: the cache counts
 * its bytes every few slow paths (recount), and the low-water mark
 * since the last trim is bounded from below by the pops since then
 * (nmalloc), which the list counts anyway.
 */
#include "internal.h"

const struct mm_list_end mm_list_end = { { 1, 0 } }; /* an odd link: the pop misses */

/* No objects (every head is the end), room 0 (every push is "full"), starts 0 (no offset is an object). */
struct mm_cache mm_cache_none = { .list = { [0 ... MM_NUM_CLASSES_MAX - 1] = { .head = MM_LIST_END } } };

static void recount(struct mm_cache *c);

/* Bring list cl's room and its part of c->bytes up to date (a slow path; inlined: a recount runs it for every list). */
static inline __attribute__((always_inline)) void sync(struct mm_cache *c, uint32_t cl)
{
	struct mm_cachelist *l = &c->list[cl];
	uint32_t n = mm_cachelist_len(l);
	l->lim = l->nmalloc + c->max[cl];
	l->room = (int64_t)c->max[cl] - n;
	if (n != c->synced[cl]) { /* a recount writes only the lists that changed */
		c->bytes += ((uintptr_t)n - c->synced[cl]) * mm_class_size[cl];
		c->synced[cl] = n;
	}
}

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
	if (c->max[cl] < mm_class_listmax[cl])
		c->max[cl] += batch;
	c->trim_n[cl] = 0; /* the list ran empty: its low-water mark is 0 */
	uint32_t got = mm_central_alloc(cl, batch, &head);
	if (got) {
		l->head = *(void **)head;
		((uintptr_t *)head)[1] = 0; /* handed out: no key */
		l->room -= got;
		l->nmalloc++;
		c->taken[cl] += got;
	}
	sync(c, cl); /* the limit grew */
	if (!got)
		return 0;
	recount(c);
	return head;
}

/*
 * The fewest objects list cl can have held since the last trim: its length
 * then less the pops since (a refill sets it to 0, a release lowers it).
 * A lower bound of the true low-water mark, never above the length now.
 */
uint32_t mm_cache_lowmark(const struct mm_cache *c, uint32_t cl)
{
	const struct mm_cachelist *l = &c->list[cl];
	uint32_t pops = (uint32_t)l->nmalloc - c->trim_nmalloc[cl];
	uint32_t low = c->trim_n[cl] > pops ? c->trim_n[cl] - pops : 0, n = mm_cachelist_len(l);
	return low < n ? low : n;
}

/* Start a new trim period for list cl: its mark is what it holds now (at most). */
static void mark(struct mm_cache *c, uint32_t cl, uint32_t low)
{
	c->trim_n[cl] = low;
	c->trim_nmalloc[cl] = (uint32_t)c->list[cl].nmalloc;
}

/*
 * Move n objects from the front of list cl to central; with `park`, a
 * whole batch may wait in central's transfer slots for another cache.
 */
static void release(struct mm_cache *c, uint32_t cl, uint32_t n, int park)
{
	struct mm_cachelist *l = &c->list[cl];
	uint32_t len = mm_cachelist_len(l);
	if (n > len)
		n = len;
	if (n == 0)
		return;
	uint32_t low = mm_cache_lowmark(c, cl);
	l->head = mm_central_free(cl, l->head, n, park); /* central walks the n objects */
	l->room += n;
	mark(c, cl, low < len - n ? low : len - n);
	c->returned[cl] += n;
	sync(c, cl);
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
	uint32_t n = 0, len = mm_cachelist_len(l);
	for (void *w = l->head; w != MM_LIST_END && n <= len; w = *(void **)w, n++)
		if (w == v)
			mm_double_free(v, mm_class_size[cl]);
	if (mm_central_holds(cl, v))
		mm_double_free(v, mm_class_size[cl]);
	mm_cache_push(c, cl, v); /* live after all */
}

uintptr_t mm_cache_bytes(const struct mm_cache *c)
{
	uintptr_t bytes = 0;
	for (int i = 1; i < mm_nclasses; i++)
		bytes += (uintptr_t)mm_cachelist_len(&c->list[i]) * mm_class_size[i];
	return bytes;
}

/*
 * A cache's bound on the bytes in its lists: MM_CACHE_MAX_BYTES, or, in a
 * heap larger than MM_CACHE_SHARE times that, its share of 1/MM_CACHE_SHARE
 * of the heap's pages in use (read without the heap lock), so that a heap
 * of big blocks (16 KiB objects and more) is not trimmed every few slow
 * paths, while a small heap keeps its caches small.
 */
static uintptr_t bound(void)
{
	uintptr_t n = __atomic_load_n(&mm_heap.ncaches, __ATOMIC_RELAXED);
	uintptr_t b = (__atomic_load_n(&mm_heap.pages_inuse, __ATOMIC_RELAXED) << MM_PAGE_SHIFT) / MM_CACHE_SHARE;
	b /= n ? n : 1;
	return b > MM_CACHE_MAX_BYTES ? b : MM_CACHE_MAX_BYTES;
}

/*
 * After a slow path (refill, overflow): c->bytes counts each list as of its
 * last slow path.  Every MM_CACHE_RECOUNT slow paths (lists that grew by
 * hits alone), or every fourth while above its bound, every list is
 * counted (and the bound worked out again); if the cache is above its
 * bound, every list gives back half its low-water mark (objects it held
 * all along since the last trim, so not needed), and a new trim period
 * starts.
 */
static void recount(struct mm_cache *c)
{
	if (++c->nslow % (c->bytes > c->bound ? 4 : MM_CACHE_RECOUNT) != 0)
		return;
	c->bound = bound();
	for (int i = 1; i < mm_nclasses; i++)
		sync(c, (uint32_t)i);
	if (c->bytes <= c->bound)
		return;
	for (uint32_t cl = 1; cl < (uint32_t)mm_nclasses; cl++) {
		if (c->synced[cl] == 0) { /* empty (just synced): its low-water mark is 0 */
			c->trim_n[cl] = 0;
			continue;
		}
		uint32_t give = mm_cache_lowmark(c, cl) / 2u;
		if (give)
			release(c, cl, give, 0);
		mark(c, cl, mm_cachelist_len(&c->list[cl]));
	}
}

/* A list went over its limit: a batch goes back, and may be parked whole in central for another cache. */
void mm_cache_overflow(struct mm_cache *c, uint32_t cl)
{
	uint32_t len = mm_cachelist_len(&c->list[cl]);
	if (len > c->max[cl])
		release(c, cl, len < mm_class_batch[cl] ? len : mm_class_batch[cl], 1);
	else
		sync(c, cl); /* room ran out early: pops since the last slow path */
	recount(c);
}

struct mm_cache *mm_cache_new(void)
{
	if (mm_init_once() < 0)
		return 0;
	mm_sys_lock(&mm_heap.lock);
	struct mm_cache *c = mm_fixalloc_alloc(&mm_heap.caches);
	if (c) {
		for (int i = 0; i < mm_nclasses; i++) { /* list 0 too (the class map's "no span"): starts 0, room 0 */
			c->list[i].head = MM_LIST_END;
			c->list[i].starts = mm_class_starts_at[i];
			c->max[i] = mm_class_batch[i];
			sync(c, (uint32_t)i);
		}
		c->bound = MM_CACHE_MAX_BYTES;
		for (int k = 0; k <= MM_CACHE_LARGE_PAGES; k++)
			c->large[k] = 0;
		c->large_pages = 0;
		c->nlarge = 0;
		c->large_nmalloc = 0;
		mm_heap.ncaches++;
		c->next = mm_heap.allcaches;
		c->prev = 0;
		if (c->next)
			c->next->prev = c;
		mm_heap.allcaches = c;
	}
	mm_sys_unlock(&mm_heap.lock);
	return c;
}

/*
 * Large spans held whole.  free of a large block of up to
 * MM_CACHE_LARGE_PAGES pages puts its span (checked, still in use for the
 * heap, its pages mapped to it) on the cache's list of its page count;
 * malloc of a large size takes the newest span of its page count, or of up
 * to 1/8 more (what a size class may lose to rounding), so a program that
 * frees and allocates blocks of similar sizes takes no lock and touches no
 * heap structure.  Past MM_CACHE_LARGE_BYTES the older half of every list
 * (a list of one: that one) goes back to the heap under one lock; a flush
 * (thread exit, reclaim, mm_scavenge by the cache's context, a large
 * request that only new pages would serve: malloc.c) gives all back.  A
 * second free of a held block finds its span MM_SPAN_CACHED and panics.
 */
struct mm_span *mm_cache_large_take(struct mm_cache *c, uintptr_t npages)
{
	uintptr_t last = npages + npages / 8;
	for (uintptr_t k = npages; k <= last && k <= MM_CACHE_LARGE_PAGES; k++) {
		struct mm_span *s = c->large[k];
		if (s) {
			c->large[k] = s->left;
			s->left = 0;
			s->state = MM_SPAN_LARGE;
			c->large_pages -= k;
			c->nlarge--;
			c->large_nmalloc++;
			return s;
		}
	}
	return 0;
}

/* The older half of each list (with `half`) or all of it, unlinked and chained by `left`. */
static struct mm_span *large_cut(struct mm_cache *c, int half)
{
	struct mm_span *out = 0;
	for (uintptr_t k = 1; k <= MM_CACHE_LARGE_PAGES; k++) {
		uint32_t n = 0;
		for (struct mm_span *s = c->large[k]; s; s = s->left)
			n++;
		struct mm_span **pp = &c->large[k];
		for (uint32_t i = 0, keep = half ? n / 2 : 0; i < keep; i++) /* at most half the pages stay */
			pp = &(*pp)->left;
		struct mm_span *tail = *pp;
		*pp = 0;
		while (tail) {
			struct mm_span *next = tail->left;
			tail->left = out;
			out = tail;
			c->large_pages -= k;
			c->nlarge--;
			tail = next;
		}
	}
	return out;
}

int mm_cache_large_put(struct mm_cache *c, struct mm_span *s)
{
	uintptr_t k = s->npages;
	if (k > MM_CACHE_LARGE_PAGES)
		return 0;
	s->state = MM_SPAN_CACHED;
	s->needzero = 1;
	s->left = c->large[k];
	c->large[k] = s;
	c->large_pages += k;
	c->nlarge++;
	if (c->large_pages > MM_CACHE_LARGE_BYTES >> MM_PAGE_SHIFT)
		mm_heap_free_held(large_cut(c, 1), 0);
	return 1;
}

int mm_cache_large_flush(struct mm_cache *c)
{
	uint32_t n = c->nlarge;
	mm_heap_free_held(large_cut(c, 0), &c->large_nmalloc);
	return n != 0;
}

/* Give everything back into the spans, parked batches of other caches too, and the large spans held. */
void mm_cache_flush(struct mm_cache *c)
{
	for (int i = 1; i < mm_nclasses; i++) {
		release(c, (uint32_t)i, mm_cachelist_len(&c->list[i]), 0);
		mark(c, (uint32_t)i, 0);
	}
	mm_central_drain();
	mm_cache_large_flush(c);
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
	mm_heap.ncaches--;
	if (c->prev)
		c->prev->next = c->next;
	else
		mm_heap.allcaches = c->next;
	if (c->next)
		c->next->prev = c->prev;
	mm_fixalloc_free(&mm_heap.caches, c);
	mm_sys_unlock(&mm_heap.lock);
}
