/*
 * central.c - the central free lists: for each size class, the spans that
 * have free objects (nonempty) and those that have none (empty), under one
 * lock per class.  Caches take and give objects in batches; a span whose
 * objects have all come back is returned to the heap, unless the class
 * keeps it as a spare (keep_idle: one span, more up to a batch of objects
 * within a share of the heap, so that a class that empties and refills in
 * a loop, or whose spans hold one object each, does not go to the heap
 * every time).
 *
 * A span hands out objects from its free list first, then carves fresh
 * ones from index ncarved on.
 *
 * Transfer slots: a whole batch a cache gives back is parked as it is (one
 * pointer; its objects keep the free key) and handed whole to the next
 * cache that asks for a batch, so objects that pass from one thread to
 * another (a producer and a consumer), or go out to central and come back
 * (a structure built and freed), never go back into their spans.  At most
 * mm_class_transfer[cl] batches a class (MM_TRANSFER_SLOTS, MM_TRANSFER_BYTES)
 * and MM_TRANSFER_TOTAL bytes in all (mm_transfer_bytes, which every class
 * changes under its own lock: atomic).  mm_central_drain puts them all back
 * into their spans: a cache flush or release, mm_scavenge (malloc_trim), so
 * that memory no cache holds goes back where the heap and the scavenger can
 * see it.
 * Invariant: for a span on either list,
 *   ref + length(freelist) + (nelems - ncarved) == nelems,
 * and it is on nonempty exactly when it has an object to hand out.
 */
#include "internal.h"

struct mm_central mm_central[MM_NUM_CLASSES_MAX];
uintptr_t mm_transfer_bytes;
uintptr_t mm_spare_pages;

/* Bytes of one parked batch of class cl. */
static uintptr_t batch_bytes(uint32_t cl)
{
	return (uintptr_t)mm_class_batch[cl] * mm_class_size[cl];
}

/*
 * Nothing to do: a class's record is all zero until it is first used (its
 * lists are set up by their first insert, span.c; its class number by the
 * first take), so the pages of the classes a program never uses are never
 * touched.
 */
void mm_central_init(void)
{
}

static int has_free(const struct mm_span *s)
{
	return s->freelist || s->ncarved < s->nelems;
}

/* Take c's newest spare span off its idle list (c->nidle != 0).  c locked. */
static struct mm_span *take_spare(struct mm_central *c)
{
	struct mm_span *s = c->idle.next;
	mm_span_list_remove(s);
	c->nidle--;
	__atomic_fetch_sub(&mm_spare_pages, s->npages, __ATOMIC_RELAXED);
	return s;
}

/* Get a span for c: a spare one, else a new one from the heap.  c locked. */
static int central_grow(struct mm_central *c)
{
	uint32_t cl = c->sizeclass;
	if (c->nidle) {
		mm_span_list_insert(&c->nonempty, take_spare(c));
		return 0;
	}
	struct mm_span *s = mm_heap_alloc(mm_class_npages[cl], cl, 1);
	if (!s)
		return -1;
	mm_span_init_small(s, cl);
#ifdef MM_DEBUG
	mm_debug_new_span(s);
#endif
	mm_span_list_insert(&c->nonempty, s);
	c->nspans++;
	return 0;
}

/*
 * Take up to n objects into a list.  A run of a span's free list is cut off
 * as it is (its objects are already linked: one store for the run, its last
 * link); fresh objects are linked and given the free key as they are
 * carved, so that every object on any free list holds the key.  c locked.
 */
static uint32_t take(struct mm_central *c, uint32_t n, void **head)
{
	uint32_t got = 0;
	void *h = MM_LIST_END; /* the chain becomes a cache's list */
	while (got < n) {
		if (mm_span_list_empty(&c->nonempty) && central_grow(c) < 0)
			break;
		struct mm_span *s = c->nonempty.next;
		void *v = s->freelist;
		if (v) {
			void *first = v, *last;
			uint32_t k = 0, want = n - got;
			do {
				last = v;
				v = *(void **)v;
				if (mm_unlikely((uintptr_t)v & MM_LINK_MISALIGNED))
					mm_bad_link(last, v, s->elemsize);
			} while (++k < want && v);
			*(void **)last = h;
			h = first;
			s->freelist = v;
			s->ref += k;
			got += k;
		}
		if (got < n && s->ncarved < s->nelems) {
			uint32_t k = s->nelems - s->ncarved, size = s->elemsize;
			uintptr_t key = mm_free_key;
			if (k > n - got)
				k = n - got;
			char *o = (char *)mm_span_base(s) + (uintptr_t)s->ncarved * size;
			for (char *end = o + (uintptr_t)k * size; o != end; o += size) {
				((uintptr_t *)o)[1] = key;
				*(void **)o = h;
				h = o;
			}
			s->ncarved += k;
			s->ref += k;
			got += k;
		}
		if (!has_free(s)) {
			mm_span_list_remove(s);
			mm_span_list_insert_back(&c->empty, s);
		}
	}
	*head = h;
	return got;
}

uint32_t mm_central_alloc(uint32_t cl, uint32_t n, void **head)
{
	struct mm_central *c = &mm_central[cl];
	uint32_t got;
	mm_sys_lock(&c->lock);
	c->sizeclass = cl; /* a record first used here is all zero (mm_central_init) */
	if (n == mm_class_batch[cl] && c->ntransfer) {
		*head = c->transfer[--c->ntransfer];
		c->transfer[c->ntransfer] = 0;
		__atomic_fetch_sub(&mm_transfer_bytes, batch_bytes(cl), __ATOMIC_RELAXED);
		got = n;
	} else {
		got = take(c, n, head);
	}
	mm_sys_unlock(&c->lock);
	return got;
}

/* The span of object v of c's class, or a panic.  c locked. */
static struct mm_span *span_of(struct mm_central *c, void *v)
{
	struct mm_span *s = mm_pagemap_get((uintptr_t)v >> MM_PAGE_SHIFT);
	if (!s || s->state != MM_SPAN_SMALL || s->sizeclass != c->sizeclass)
		mm_throw("mm: central: object %p of class %u does not belong to a span of that class",
			 v, (uintptr_t)c->sizeclass);
	return s;
}

/*
 * Span s of c's class has no object out: keep it for the class, as new?
 * Its first spare, always (a class that empties and refills in a loop does
 * not go to the heap every time); more while its spares hold less than a
 * batch of objects (a class whose spans hold few: a 4 KiB object has a span
 * to itself), and all spares of all classes stay under 1/MM_SPARE_SHARE of
 * the heap's pages in use (so a small heap keeps little).  Spans of another
 * page count (aligned requests) go back.  mm_central_drain gives spares to
 * the heap.  c locked.
 */
static int keep_idle(const struct mm_central *c, const struct mm_span *s)
{
	uint32_t cl = c->sizeclass;
	if (s->npages != mm_class_npages[cl])
		return 0;
	return c->nidle == 0 ||
	       ((c->nidle + 1) * s->nelems <= mm_class_batch[cl] &&
		__atomic_load_n(&mm_spare_pages, __ATOMIC_RELAXED) + s->npages <=
			__atomic_load_n(&mm_heap.pages_inuse, __ATOMIC_RELAXED) / MM_SPARE_SHARE);
}

/*
 * Return k objects of span s, linked first .. last, to its free list: one
 * store (last's link) whatever k.  1: s went back to the heap.  c locked.
 */
static int put_run(struct mm_central *c, struct mm_span *s, void *first, void *last, uint32_t k)
{
	if (mm_unlikely(k > s->ref))
		mm_throw("mm: central: span %p of class %u gets back %u objects, only %u are out",
			 (void *)mm_span_base(s), (uintptr_t)c->sizeclass, (uintptr_t)k, (uintptr_t)s->ref);
	if (!has_free(s)) {
		mm_span_list_remove(s);
		mm_span_list_insert(&c->nonempty, s);
	}
	*(void **)last = s->freelist;
	s->freelist = first;
	s->ref -= k;
	if (s->ref == 0) {
		mm_span_list_remove(s);
		if (keep_idle(c, s)) {
			s->freelist = 0; /* as new */
			s->ncarved = 0;
			mm_span_list_insert(&c->idle, s);
			c->nidle++;
			__atomic_fetch_add(&mm_spare_pages, s->npages, __ATOMIC_RELAXED);
			return 0;
		}
		c->nspans--;
		mm_heap_free(s);
		return 1;
	}
	return 0;
}

/*
 * Return the first n objects of a list (each holds the free key already: a
 * cache list, a parked batch) and return what follows them.  Neighbours in
 * a list are often of one span: each run of them is looked up once and
 * spliced onto the span's free list whole, so an object costs a load of its
 * link and two compares.  c locked.
 */
static void *put_list(struct mm_central *c, void *head, uint32_t n)
{
	while (n) {
		struct mm_span *s = span_of(c, head);
		uintptr_t lo = mm_span_base(s), len = s->npages << MM_PAGE_SHIFT;
		void *last = head, *next = *(void **)head;
		uint32_t k = 1;
		while (k < n && (uintptr_t)next - lo < len) { /* 0 - lo >= len: NULL ends a run */
			last = next;
			next = *(void **)next;
			k++;
		}
		put_run(c, s, head, last, k);
		n -= k;
		head = next;
	}
	return head;
}

void *mm_central_free(uint32_t cl, void *head, uint32_t n, int park)
{
	struct mm_central *c = &mm_central[cl];
	mm_sys_lock(&c->lock);
	/* the total may pass its bound by a batch for each class parking at once */
	if (park && n == mm_class_batch[cl] && c->ntransfer < mm_class_transfer[cl] &&
	    __atomic_load_n(&mm_transfer_bytes, __ATOMIC_RELAXED) < MM_TRANSFER_TOTAL) {
		void *last = head;
		for (uint32_t i = 1; i < n; i++)
			last = *(void **)last;
		c->transfer[c->ntransfer++] = head;
		__atomic_fetch_add(&mm_transfer_bytes, batch_bytes(cl), __ATOMIC_RELAXED);
		head = *(void **)last;
		*(void **)last = MM_LIST_END; /* a parked batch is a cache's list to be */
	} else {
		head = put_list(c, head, n);
	}
	mm_sys_unlock(&c->lock);
	return head;
}

void mm_central_drain(void)
{
	for (int cl = 1; cl < mm_nclasses; cl++) {
		struct mm_central *c = &mm_central[cl];
		mm_sys_lock(&c->lock);
		while (c->ntransfer) {
			void *head = c->transfer[--c->ntransfer];
			c->transfer[c->ntransfer] = 0;
			__atomic_fetch_sub(&mm_transfer_bytes, batch_bytes((uint32_t)cl), __ATOMIC_RELAXED);
			put_list(c, head, mm_class_batch[cl]);
		}
		for (; c->nidle; c->nspans--)
			mm_heap_free(take_spare(c));
		mm_sys_unlock(&c->lock);
	}
}

void *mm_central_alloc_one(uint32_t cl)
{
	struct mm_central *c = &mm_central[cl];
	void *v;
	mm_sys_lock(&c->lock);
	c->sizeclass = cl;
	if (take(c, 1, &v)) {
		c->nmalloc++;
		((uintptr_t *)v)[1] = 0; /* handed out: no key */
	} else {
		v = 0;
	}
	mm_sys_unlock(&c->lock);
	return v;
}

/* Is v free in central's view?  c locked.  See mm_central_holds. */
static int holds(struct mm_central *c, void *v)
{
	struct mm_span *s = mm_pagemap_get((uintptr_t)v >> MM_PAGE_SHIFT);
	if (!s || s->state != MM_SPAN_SMALL || s->sizeclass != c->sizeclass)
		return 0;
	if (mm_span_index(s, (uintptr_t)v - mm_span_base(s)) >= s->ncarved)
		return 1; /* never handed out since the span was (re)carved */
	uint32_t n = 0;
	for (void *w = s->freelist; w && n <= s->nelems; w = *(void **)w, n++)
		if (w == v)
			return 1;
	for (uint32_t i = 0; i < c->ntransfer; i++) {
		n = 0;
		for (void *w = c->transfer[i]; w != MM_LIST_END && n <= mm_class_batch[c->sizeclass];
		     w = *(void **)w, n++)
			if (w == v)
				return 1;
	}
	return 0;
}

/*
 * The slow confirmation of a suspected double free (the key found in v):
 * is v on its span's free list, in a parked batch, or past the carved part
 * of its span?  Only a match in the lists (or an uncarved object) counts.
 */
int mm_central_holds(uint32_t cl, void *v)
{
	struct mm_central *c = &mm_central[cl];
	mm_sys_lock(&c->lock);
	int r = holds(c, v);
	mm_sys_unlock(&c->lock);
	return r;
}

void mm_central_free_one(uint32_t cl, void *v)
{
	struct mm_central *c = &mm_central[cl];
	mm_sys_lock(&c->lock);
	if (mm_unlikely(((uintptr_t *)v)[1] == mm_free_key) && holds(c, v)) {
		mm_sys_unlock(&c->lock);
		mm_double_free(v, mm_class_size[cl]);
	}
	c->nfree++;
	((uintptr_t *)v)[1] = mm_free_key;
	put_run(c, span_of(c, v), v, v, 1);
	mm_sys_unlock(&c->lock);
}
