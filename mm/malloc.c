/*
 * malloc.c - the public entry points: mm_malloc, mm_free, mm_calloc,
 * mm_realloc, mm_aligned_alloc, mm_usable_size, mm_owns, and initialisation.
 * The cache hit is inline (internal.h); everything else is out of line.
 */
#include "internal.h"

volatile int mm_inited;
int mm_memory_dirty;
static int (*reclaim_hook)(size_t n);
static struct mm_lock init_lock;
static char init_error[256];

static const char *policy_name(int p)
{
	return p == MM_ARENA_64 ? "MM_ARENA_64" : p == MM_ARENA_32 ? "MM_ARENA_32" :
	       p == MM_ARENA_CHUNKS ? "MM_ARENA_CHUNKS" : "MM_ARENA_AUTO";
}

/* A configuration the core cannot honour: a message naming the field, or NULL. */
static const char *bad_config(const struct mm_config *cfg)
{
	if (cfg->arena_policy < MM_ARENA_AUTO || cfg->arena_policy > MM_ARENA_CHUNKS)
		mm_format(init_error, sizeof init_error,
			  "mm: mm_init: mm_config.arena_policy is %d, not MM_ARENA_AUTO, MM_ARENA_64, "
			  "MM_ARENA_32 or MM_ARENA_CHUNKS", cfg->arena_policy);
	else if (cfg->arena_hint & (MM_PAGE_SIZE - 1))
		mm_format(init_error, sizeof init_error,
			  "mm: mm_init: mm_config.arena_hint %p is not a multiple of the page size (%u)",
			  (void *)cfg->arena_hint, MM_PAGE_SIZE);
	else if (cfg->arena_size & (MM_PAGE_SIZE - 1))
		mm_format(init_error, sizeof init_error,
			  "mm: mm_init: mm_config.arena_size %u is not a multiple of the page size (%u)",
			  (uintptr_t)cfg->arena_size, MM_PAGE_SIZE);
	else
		return 0;
	return init_error;
}

/* Set everything up; on failure -1, mm_inited stays 0 and mm_last_error() says why. */
static int init_locked(const struct mm_config *cfg)
{
	static const struct mm_config defaults;
	if (!cfg)
		cfg = &defaults;
	if ((mm_heap.error = bad_config(cfg)) != 0)
		return -1;
	mm_memory_dirty = cfg->memory_not_zeroed != 0;
	reclaim_hook = cfg->reclaim;
	mm_sizeclass_init();
	mm_pagemap_init();
	for (int i = 0; i < MM_HEAP_LISTS; i++)
		mm_span_list_init(&mm_heap.free[i]);
	mm_span_list_init(&mm_heap.busy);
	mm_fixalloc_init(&mm_heap.spans, sizeof(struct mm_span));
	mm_fixalloc_init(&mm_heap.caches, sizeof(struct mm_cache));
	mm_central_init();
	if (mm_arena_init(cfg) < 0) {
		mm_format(init_error, sizeof init_error,
			  "mm: init: mm_sys_reserve refused the arena's first reservation "
			  "(mm_config.arena_policy %s); a host without virtual memory (a fixed pool) "
			  "calls mm_init with MM_ARENA_CHUNKS before the first allocation",
			  policy_name(cfg->arena_policy));
		mm_heap.error = init_error;
		return -1;
	}
	mm_heap.error = 0;
	__atomic_store_n(&mm_inited, 1, __ATOMIC_RELEASE);
	return 0;
}

/* Set the allocator up; -1 (and mm_last_error) if cfg is bad, the first reservation is refused or it is already set up. */
int mm_init(const struct mm_config *cfg)
{
	int r = -1;
	mm_sys_lock(&init_lock);
	if (!mm_inited)
		r = init_locked(cfg);
	else
		mm_heap.error = "mm: mm_init: the allocator is already set up (by an earlier mm_init "
				"or the first allocation); this configuration was not applied";
	mm_sys_unlock(&init_lock);
	return r;
}

/*
 * An allocation of n bytes is about to fail.  Flush the calling context's own
 * cache (its free objects may pin whole spans) and the transfer slots, let the
 * host make the other CPUs flush theirs (mm_config.reclaim), and say whether to
 * try once more: if the cache held objects or the hook says so.  No lock is
 * held here.
 */
static int reclaim(size_t n)
{
	if (!mm_inited)
		return 0;
	struct mm_cache *c = mm_sys_cache_get();
	int again = c && mm_cache_bytes(c) > 0;
	if (c)
		mm_cache_flush(c);
	mm_sys_cache_put(c);
	if (reclaim_hook && reclaim_hook(n))
		again = 1;
	return again;
}

int mm_init_once(void)
{
	if (mm_likely(__atomic_load_n(&mm_inited, __ATOMIC_ACQUIRE)))
		return 0;
	mm_sys_lock(&init_lock);
	int r = mm_inited ? 0 : init_locked(0);
	mm_sys_unlock(&init_lock);
	return r;
}

#ifdef MM_DEBUG
#define POISON 0xdb
/* Debug builds: track every small object handed out, catch double frees, poison freed memory. */
void mm_debug_mark(struct mm_span *s, void *p, int alloc)
{
	const uint32_t wbits = 8 * sizeof(uintptr_t);
	uint32_t i = mm_span_index(s, (uintptr_t)p - mm_span_base(s));
	uintptr_t bit = (uintptr_t)1 << (i % wbits), *w = &s->allocbits[i / wbits];
	if (alloc) {
		if (__atomic_fetch_or(w, bit, __ATOMIC_RELAXED) & bit)
			mm_throw("mm: malloc: object %p handed out twice (free list corrupted)", p);
	} else {
		if (!(__atomic_fetch_and(w, ~bit, __ATOMIC_RELAXED) & bit))
			mm_throw("mm: free(%p): double free of a %u-byte object", p, (uintptr_t)s->elemsize);
		if (s->elemsize > sizeof(void *))
			mm_memset((char *)p + sizeof(void *), POISON, s->elemsize - sizeof(void *));
	}
}
#endif

static void *malloc_large(size_t n, uintptr_t align_pages)
{
	uintptr_t npages = (n + MM_PAGE_SIZE - 1) >> MM_PAGE_SHIFT;
	if (n > PTRDIFF_MAX || mm_init_once() < 0) /* no object may be larger (C, and glibc) */
		return 0;
	struct mm_span *s = mm_heap_alloc(npages, 0, align_pages);
	if (!s && reclaim(n))
		s = mm_heap_alloc(npages, 0, align_pages);
	return s ? (void *)mm_span_base(s) : 0;
}

/* Everything mm_malloc_inline does not do itself: large objects, misses, no cache. */
void *mm_malloc_slow(size_t n)
{
	if (n > MM_MAX_SMALL)
		return malloc_large(n, 1);
	if (mm_init_once() < 0)
		return 0;
	uint32_t cl = mm_size_class(n);
	struct mm_cache *c = mm_sys_cache_get();
	void *v = c ? mm_cache_alloc(c, cl) : mm_central_alloc_one(cl);
	mm_sys_cache_put(c);
#ifdef MM_DEBUG
	if (v)
		DEBUG_MARK(mm_pagemap_get((uintptr_t)v >> MM_PAGE_SHIFT), v, 1);
#endif
	return v;
}

/* The fast path; a small allocation that fails gets one more try after reclaim (malloc_large has its own). */
void *mm_malloc(size_t n)
{
	void *v = mm_malloc_inline(n);
	if (mm_unlikely(!v) && n <= MM_MAX_SMALL && reclaim(n))
		v = mm_malloc_inline(n);
	return v;
}

/* Describe what is wrong with freeing p (span s from the pagemap) and panic. */
static __attribute__((noinline, noreturn)) void bad_free(const char *op, void *p, struct mm_span *s)
{
	uintptr_t pn = (uintptr_t)p >> MM_PAGE_SHIFT;
	if (!s)
		mm_throw("mm: %s(%p): unknown pointer (not allocated by this heap)", op, p);
	if (s->state == MM_SPAN_DEAD || pn - s->start >= s->npages)
		mm_throw("mm: %s(%p): pointer into free memory (not allocated)", op, p);
	if (s->state == MM_SPAN_FREE)
		mm_throw("mm: %s(%p): double free (the span at %p, %u pages, is free)", op, p,
			 (void *)mm_span_base(s), s->npages);
	if (s->state == MM_SPAN_SMALL)
		mm_throw("mm: %s(%p): interior pointer into a %u-byte object", op, p,
			 (uintptr_t)s->elemsize);
	mm_throw("mm: %s(%p): interior pointer into a large object at %p (%u bytes)", op, p,
		 (void *)mm_span_base(s), s->npages << MM_PAGE_SHIFT);
}

/* The span of a valid object p, or a panic naming what is wrong with p. */
static struct mm_span *object_span(const char *op, void *p)
{
	uintptr_t a = (uintptr_t)p, pn = a >> MM_PAGE_SHIFT;
	struct mm_span *s = mm_pagemap_get(pn);
	if (!s || pn - s->start >= s->npages)
		bad_free(op, p, s);
	uintptr_t off = a - mm_span_base(s);
	if (s->state == MM_SPAN_SMALL) {
		if (mm_span_index(s, off) * s->elemsize != off)
			bad_free(op, p, s);
	} else if (s->state != MM_SPAN_LARGE || off != 0) {
		bad_free(op, p, s);
	}
	return s;
}

/*
 * Everything mm_free_inline does not do itself: NULL, large objects, no
 * cache, and bad pointers.  A pointer the heap has never seen panics, or
 * with `tolerant` (drop-in malloc: memory from before libmm was loaded)
 * is left alone and reported by returning -1.
 */
int mm_free_slow(void *p, int tolerant)
{
	if (!p)
		return 0;
	if (tolerant && !mm_pagemap_get((uintptr_t)p >> MM_PAGE_SHIFT))
		return -1;
	struct mm_span *s = object_span("free", p);
	if (s->state == MM_SPAN_LARGE) {
		mm_heap_free(s);
		return 0;
	}
	DEBUG_MARK(s, p, 0);
	struct mm_cache *c = mm_sys_cache_get();
	if (c)
		mm_cache_free(c, s->sizeclass, p);
	else
		mm_central_free_one(s->sizeclass, p);
	mm_sys_cache_put(c);
	return 0;
}

void mm_free(void *p)
{
	mm_free_inline(p, 0);
}

int mm_free_if_ours(void *p)
{
	return mm_free_inline(p, 1);
}

void *mm_calloc(size_t count, size_t size)
{
	size_t n;
	if (__builtin_mul_overflow(count, size, &n))
		return 0;
	if (n <= MM_MAX_SMALL) {
		void *v = mm_malloc(n);
		if (v)
			mm_memset(v, 0, n);
		return v;
	}
	void *v = malloc_large(n, 1);
	if (v) {
		struct mm_span *s = mm_pagemap_get((uintptr_t)v >> MM_PAGE_SHIFT);
		if (s->needzero)
			mm_memset(v, 0, s->npages << MM_PAGE_SHIFT);
	}
	return v;
}

size_t mm_usable_size(const void *p)
{
	if (!p)
		return 0;
	struct mm_span *s = object_span("usable_size", (void *)p);
	return s->state == MM_SPAN_SMALL ? s->elemsize : s->npages << MM_PAGE_SHIFT;
}

/* Same object when the new size still fits its class or span; else move it. */
void *mm_realloc(void *p, size_t n)
{
	if (!p)
		return mm_malloc(n);
	if (n == 0) {
		mm_free(p);
		return 0;
	}
	struct mm_span *s = object_span("realloc", p);
	size_t old;
	if (s->state == MM_SPAN_SMALL) {
		old = s->elemsize;
		if (n <= old && (n > old / 2 || old <= 64))
			return p;
	} else {
		old = s->npages << MM_PAGE_SHIFT;
		if (n > MM_MAX_SMALL && n <= PTRDIFF_MAX) {
			uintptr_t np = (n + MM_PAGE_SIZE - 1) >> MM_PAGE_SHIFT;
			if (np == s->npages || mm_heap_resize(s, np) == 0)
				return p;
		}
	}
	void *v = mm_malloc(n);
	if (!v)
		return 0;
	mm_memcpy(v, p, n < old ? n : old);
	mm_free(p);
	return v;
}

void *mm_aligned_alloc(size_t align, size_t n)
{
	if (align == 0 || (align & (align - 1)))
		return 0;
	if (align <= 16 && n > 8)
		return mm_malloc(n); /* every class from 16 bytes is 16-aligned */
	if (align <= MM_PAGE_SIZE && n <= MM_MAX_SMALL) {
		if (mm_init_once() < 0)
			return 0;
		for (uint32_t cl = mm_size_class(n ? n : 1); cl < (uint32_t)mm_nclasses; cl++)
			if ((mm_class_size[cl] & (align - 1)) == 0)
				return mm_malloc(mm_class_size[cl]);
	}
	uintptr_t ap = align >> MM_PAGE_SHIFT;
	return malloc_large(n ? n : 1, ap ? ap : 1);
}

int mm_owns(const void *p)
{
	if (!p || !mm_inited)
		return 0;
	uintptr_t a = (uintptr_t)p, pn = a >> MM_PAGE_SHIFT;
	struct mm_span *s = mm_pagemap_get(pn);
	if (!s || pn - s->start >= s->npages)
		return 0;
	uintptr_t off = a - mm_span_base(s);
	if (s->state == MM_SPAN_SMALL)
		return mm_span_index(s, off) * s->elemsize == off;
	return s->state == MM_SPAN_LARGE && off == 0;
}

/* Fork support: every lock in the core's order, central first, heap last. */
void mm_lock_all(void)
{
	mm_sys_lock(&init_lock);
	for (int i = 0; i < MM_NCLASS_MAX; i++)
		mm_sys_lock(&mm_central[i].lock);
	mm_sys_lock(&mm_heap.lock);
}

void mm_unlock_all(void)
{
	mm_sys_unlock(&mm_heap.lock);
	for (int i = MM_NCLASS_MAX - 1; i >= 0; i--)
		mm_sys_unlock(&mm_central[i].lock);
	mm_sys_unlock(&init_lock);
}
