/*
 * cache.c - per-thread (hosted) or per-CPU (kernel) caches: a free list per
 * size class, used without a lock by one context at a time.  The fast paths
 * (mm_cache_alloc, mm_cache_free) are inline in malloc.h; this file holds
 * the slow ones: refill from central, give back when a list is longer than
 * its limit or the cache holds more than MM_CACHE_MAX_BYTES, and creating
 * and releasing caches.  Statistics are counted per list and folded into
 * the heap's totals when a cache is released.
 */
#include "malloc.h"

/* The list for cl is empty: fetch a batch from central, return one object. */
void *mm_cache_refill(struct mm_cache *c, uint32_t cl)
{
	struct mm_cachelist *l = &c->list[cl];
	void *head;
	uint32_t got = mm_central_alloc(cl, mm_class_batch[cl], &head);
	if (!got)
		return 0;
	l->head = *(void **)head;
	l->n += got - 1;
	l->nmalloc++;
	c->size += (uintptr_t)(got - 1) * mm_class_size[cl];
	return head;
}

/* Move n objects from the front of list cl to central. */
static void release(struct mm_cache *c, uint32_t cl, uint32_t n)
{
	struct mm_cachelist *l = &c->list[cl];
	if (n == 0)
		return;
	void *head = l->head, *v = head;
	for (uint32_t i = 1; i < n; i++)
		v = *(void **)v;
	l->head = *(void **)v;
	*(void **)v = 0;
	l->n -= n;
	c->size -= (uintptr_t)n * mm_class_size[cl];
	mm_central_free(cl, head);
}

/* A list went over its limit, or the whole cache over MM_CACHE_MAX_BYTES. */
void mm_cache_overflow(struct mm_cache *c, uint32_t cl)
{
	struct mm_cachelist *l = &c->list[cl];
	if (l->n > l->max)
		release(c, cl, l->n - l->max / 2);
	if (c->size > MM_CACHE_MAX_BYTES)
		for (int i = 1; i < mm_nclasses; i++)
			release(c, (uint32_t)i, (c->list[i].n + 1) / 2);
}

struct mm_cache *mm_cache_new(void)
{
	if (mm_init_once() < 0)
		return 0;
	mm_sys_lock(&mm_heap.lock);
	struct mm_cache *c = mm_fixalloc_alloc(&mm_heap.caches);
	if (c) {
		for (int i = 0; i < MM_NCLASS_MAX; i++)
			c->list[i].max = MM_CACHE_LIST_MAX;
		c->next = mm_heap.allcaches;
		c->prev = 0;
		if (c->next)
			c->next->prev = c;
		mm_heap.allcaches = c;
	}
	mm_sys_unlock(&mm_heap.lock);
	return c;
}

void mm_cache_flush(struct mm_cache *c)
{
	for (int i = 1; i < mm_nclasses; i++)
		release(c, (uint32_t)i, c->list[i].n);
}

void mm_cache_release(struct mm_cache *c)
{
	if (!c)
		return;
	mm_cache_flush(c);
	mm_sys_lock(&mm_heap.lock);
	for (int i = 1; i < mm_nclasses; i++) {
		mm_heap.class_nmalloc[i] += c->list[i].nmalloc;
		mm_heap.class_nfree[i] += c->list[i].nfree;
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
