/*
 * malloc.c - the public entry points: mm_malloc, mm_free, mm_calloc,
 * mm_realloc, mm_aligned_alloc, mm_usable_size, mm_owns, and initialisation.
 * The cache hit is inline (internal.h); everything else is out of line.
 */
#include "internal.h"

volatile int mm_inited;
uintptr_t mm_free_key = 1; /* set at init, before any object is freed */
int mm_memory_dirty;
struct mm_starts mm_class_starts_at[MM_NUM_CLASSES_MAX];
static int (*reclaim_hook)(size_t n);
static struct mm_lock init_lock;
static char init_error[256];

/*
 * A per-process key for the free-list words (internal.h): the clock and
 * addresses (the stack's and the library's, both randomised by ASLR where
 * the host has it), mixed so that every bit depends on all of them.  Never
 * 0 (a cleared word) and never a poison pattern.
 */
static uintptr_t make_key(void)
{
	uintptr_t here = (uintptr_t)&here;
	uint64_t x = mm_sys_nanotime() ^ ((uint64_t)here << 16) ^ (uint64_t)(uintptr_t)&init_lock;
	x ^= x >> 33; /* splitmix64's finaliser */
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	uintptr_t k = (uintptr_t)x ^ (uintptr_t)(x >> 32);
	k |= 1;                                  /* never 0 */
	if (k == (uintptr_t)-1 / 0xff * 0xdb)    /* nor the debug poison, 0xdbdb... */
		k ^= 2;
	return k;
}

/* The free object v's link is no object's address: it was written after the free. */
void mm_bad_link(void *v, void *next, uint32_t size)
{
	mm_throw("mm: malloc: the free %u-byte block at %p was written after it was freed "
		 "(its free-list link reads %p)", (uintptr_t)size, v, next);
}

/* A double free proven (debug marks, or the key and a list holding the object). */
void mm_double_free(void *v, uint32_t size)
{
	mm_throw("mm: free(%p): double free of a %u-byte object", v, (uintptr_t)size);
}

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
	mm_free_key = make_key();
	mm_guard_init();
	if ((mm_heap.error = bad_config(cfg)) != 0)
		return -1;
	mm_memory_dirty = cfg->memory_not_zeroed != 0;
	reclaim_hook = cfg->reclaim;
	mm_sizeclass_init();
	for (int i = 1; i < mm_nclasses; i++) { /* free's object-start test (internal.h) */
#if UINTPTR_MAX > 0xffffffffu
		mm_class_starts_at[i].m = UINT64_MAX / mm_class_size[i] + 1;
#else
		mm_class_starts_at[i].divmul = mm_class_divmul[i];
		mm_class_starts_at[i].size = mm_class_size[i];
#endif
	}
	mm_pagemap_init(); /* the heap's lists need no init: zeroed heads are empty (span.c) */
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
	int again = c && (mm_cache_bytes(c) > 0 || c->nlarge > 0);
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
#define POISON 0xdb                      /* a free object's bytes after its list words */
#define CANARY 0xcb                      /* a live object's bytes after the size asked for */
#define LISTWORDS (2 * sizeof(void *))   /* a free object's link and key */
#define BUSY 0xffff                      /* reqsize while the red zone is rewritten */

/*
 * What a broken red zone was, for the panic: static, like mm_throw's own
 * message, so that no frame of the core is large (kernel stacks are small;
 * lib-check bounds every frame).  Only a fatal path writes it.
 */
static char why[320];

static void set_req(struct mm_span *s, uint32_t i, uint32_t n)
{
	__atomic_store_n(&s->reqsize[i], (uint16_t)n, __ATOMIC_SEQ_CST);
}

static uint32_t obj_index(const struct mm_span *s, const void *p)
{
	return mm_span_index(s, (uintptr_t)p - mm_span_base(s));
}

#define WBITS (8 * sizeof(uintptr_t))

static uintptr_t out_bit(uint32_t i)
{
	return (uintptr_t)1 << (i % WBITS);
}

static int is_out(struct mm_span *s, uint32_t i)
{
	return (__atomic_load_n(&s->allocbits[i / WBITS], __ATOMIC_ACQUIRE) & out_bit(i)) != 0;
}

/* The first byte of o in [from, to) that is not c, or -1. */
static long first_not(const unsigned char *o, uint32_t from, uint32_t to, unsigned char c)
{
	for (uint32_t k = from; k < to; k++)
		if (o[k] != c)
			return (long)k;
	return -1;
}

/* Where object i's red zone is broken (canary if out, poison if free), or -1. */
static long red_zone(struct mm_span *s, uint32_t i, int out, uint32_t req)
{
	const unsigned char *o = (const unsigned char *)mm_span_base(s) + (uintptr_t)i * s->elemsize;
	if (out)
		return first_not(o, req, s->elemsize, CANARY);
	return first_not(o, s->elemsize > LISTWORDS ? LISTWORDS : s->elemsize, s->elemsize, POISON);
}

/*
 * Is object i of s's red zone broken?  Then describe it in buf (op(p) is
 * the call that looked) and return 1.  `mine`: the caller owns the object
 * (its own free or malloc, or mm_check with every lock held); otherwise it
 * is a neighbour another thread may be allocating or freeing right now:
 * while its owner rewrites its red zone, its size reads BUSY, and a
 * mismatch counts only if the bit and the size read the same before and
 * after.
 */
static int red_zone_broken(char *buf, size_t len, const char *op, const void *p, struct mm_span *s,
			   uint32_t i, int mine)
{
	int out = is_out(s, i);
	uint32_t req = __atomic_load_n(&s->reqsize[i], __ATOMIC_ACQUIRE);
	if (req == BUSY)
		return 0;
	long at = red_zone(s, i, out, req);
	if (at >= 0 && !mine) {
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (is_out(s, i) != out || __atomic_load_n(&s->reqsize[i], __ATOMIC_ACQUIRE) != req ||
		    red_zone(s, i, out, req) != at)
			return 0;
	}
	if (at < 0)
		return 0;
	uintptr_t o = mm_span_base(s) + (uintptr_t)i * s->elemsize;
	unsigned v = ((const unsigned char *)o)[at];
	if (out)
		mm_format(buf, len, "mm: %s(%p): heap overflow: the %u-byte block at %p (%u bytes asked "
			  "for) was written past its end: byte %u is 0x%x, not the canary 0x%x%s", op, p,
			  (uintptr_t)s->elemsize, (void *)o, (uintptr_t)req, (uintptr_t)at, (uintptr_t)v,
			  (uintptr_t)CANARY, (void *)o == p ? "" : " (or the block after it underflowed)");
	else
		mm_format(buf, len, "mm: %s(%p): the free %u-byte block at %p was written after it was "
			  "freed (or by an overflow or underflow of a neighbour): byte %u is 0x%x, not the "
			  "poison 0x%x", op, p, (uintptr_t)s->elemsize, (void *)o, (uintptr_t)at,
			  (uintptr_t)v, (uintptr_t)POISON);
	return 1;
}

static void check_red_zone(const char *op, const void *p, struct mm_span *s, uint32_t i, int mine)
{
	if (red_zone_broken(why, sizeof why, op, p, s, i, mine))
		mm_throw("%s", why);
}

/*
 * The bytes just before b's successor s (pages adjacent): b's unused tail,
 * or its last object's red zone.  Describe a broken one in buf and return 1.
 * b may be set up or given back meanwhile unless central's lock is held.
 */
static int tail_broken(char *buf, size_t len, const char *op, const void *p, struct mm_span *b,
		       uint32_t cl, const struct mm_span *s)
{
	if (b->state != MM_SPAN_SMALL || b->sizeclass != cl || b->start + b->npages != s->start)
		return 0;
	uintptr_t tail = (b->npages << MM_PAGE_SHIFT) - (uintptr_t)b->nelems * b->elemsize;
	const unsigned char *t = (const unsigned char *)(mm_span_base(s) - tail);
	long at = first_not(t, 0, (uint32_t)tail, POISON);
	if (at >= 0) {
		mm_format(buf, len, "mm: %s(%p): heap underflow: the unused tail of the span before it "
			  "(at %p) was written: byte %u is 0x%x, not the poison 0x%x", op, p, (void *)t,
			  (uintptr_t)at, (uintptr_t)t[at], (uintptr_t)POISON);
		return 1;
	}
	return tail == 0 && b->ncarved == b->nelems &&
	       red_zone_broken(buf, len, op, p, b, b->nelems - 1, 0);
}

/*
 * The object just before object i of s: in s, or the end of the small span
 * before s.  That span is not ours: a mismatch is confirmed under its
 * central's lock (no lock is taken when all is well, so a cache hit stays
 * lock-free in debug builds too).
 */
static void check_before(const char *op, const void *p, struct mm_span *s, uint32_t i)
{
	if (i > 0) {
		check_red_zone(op, p, s, i - 1, 0);
		return;
	}
	struct mm_span *b = mm_pagemap_get(s->start - 1);
	uint32_t cl = b ? __atomic_load_n(&b->sizeclass, __ATOMIC_RELAXED) : 0;
	if (!cl || cl >= (uint32_t)mm_nclasses || !tail_broken(why, sizeof why, op, p, b, cl, s))
		return;
	mm_sys_lock(&mm_central[cl].lock);
	int broken = tail_broken(why, sizeof why, op, p, b, cl, s);
	mm_sys_unlock(&mm_central[cl].lock);
	if (broken)
		mm_throw("%s", why);
}

/* A span new to central: every byte poisoned, so objects never handed out check too. */
void mm_debug_new_span(struct mm_span *s)
{
	mm_memset((void *)mm_span_base(s), POISON, s->npages << MM_PAGE_SHIFT);
}

/* Object p (of n bytes asked for) is being handed out. */
void mm_debug_alloc(void *p, size_t n)
{
	struct mm_span *s = mm_pagemap_get((uintptr_t)p >> MM_PAGE_SHIFT);
	uint32_t i = obj_index(s, p);
	uintptr_t bit = out_bit(i);
	check_red_zone("malloc", p, s, i, 1); /* still free: its poison must be whole */
	if (n > s->elemsize)
		n = s->elemsize;
	set_req(s, i, BUSY);
	mm_memset((char *)p + n, CANARY, s->elemsize - n);
	if (__atomic_fetch_or(&s->allocbits[i / WBITS], bit, __ATOMIC_SEQ_CST) & bit)
		mm_throw("mm: malloc: object %p handed out twice (free list corrupted)", p);
	set_req(s, i, (uint32_t)n);
}

/* Object p, of span s, is being freed. */
void mm_debug_free(struct mm_span *s, void *p)
{
	uint32_t i = obj_index(s, p);
	uintptr_t bit = out_bit(i);
	if (!is_out(s, i))
		mm_double_free(p, s->elemsize);
	check_red_zone("free", p, s, i, 1);
	check_before("free", p, s, i);
	if (i + 1 < s->nelems)
		check_red_zone("free", p, s, i + 1, 0);
	set_req(s, i, BUSY);
	if (!(__atomic_fetch_and(&s->allocbits[i / WBITS], ~bit, __ATOMIC_SEQ_CST) & bit))
		mm_double_free(p, s->elemsize);
	if (s->elemsize > LISTWORDS)
		mm_memset((char *)p + LISTWORDS, POISON, s->elemsize - LISTWORDS);
	set_req(s, i, 0);
}

/* realloc keeps small object p of s in place for n bytes: check, then move the canary. */
static void debug_resize(struct mm_span *s, void *p, size_t n)
{
	uint32_t i = obj_index(s, p);
	check_red_zone("realloc", p, s, i, 1);
	set_req(s, i, BUSY);
	mm_memset((char *)p + n, CANARY, s->elemsize - n);
	set_req(s, i, (uint32_t)n);
}

/* mm_check: is a carved object's red zone in s broken?  Then 1, described in buf.  (Large
 * spans: mm_check_large, every build.) */
int mm_debug_check_span(struct mm_span *s, char *buf, size_t len)
{
	if (s->state != MM_SPAN_SMALL)
		return 0;
	for (uint32_t i = 0; i < s->ncarved; i++)
		if (red_zone_broken(buf, len, "mm_check", (void *)(mm_span_base(s) + (uintptr_t)i * s->elemsize),
				    s, i, 1))
			return 1;
	return 0;
}
#endif

/*
 * Large objects, in every build: the span keeps the size asked for, and
 * up to LARGE_CANARY bytes after it, within the span's last page (no page
 * the caller does not touch is touched), hold the canary LARGE_FILL.
 * Checked at free (debug builds: with the end of the span before), by
 * realloc and by mm_check; realloc in place moves it; usable_size, which
 * answers whole pages, removes it.
 */
#define LARGE_CANARY 64 /* eight words: large_broken compares them at once */
#define LARGE_FILL 0xcb

static uintptr_t large_canary_end(const struct mm_span *s)
{
	uintptr_t end = s->npages << MM_PAGE_SHIFT;
	return s->reqlarge + LARGE_CANARY < end ? s->reqlarge + LARGE_CANARY : end;
}

static void large_guard(struct mm_span *s, uintptr_t n)
{
	s->reqlarge = n;
	char *c = (char *)mm_span_base(s) + n;
	uintptr_t len = large_canary_end(s) - n;
	if (len == LARGE_CANARY) /* the usual case: eight word stores, no call */
		for (int i = 0; i < LARGE_CANARY / 8; i++)
			((struct mm_unaligned64 *)c)[i].v = 0x0101010101010101ull * LARGE_FILL;
	else
		mm_memset(c, LARGE_FILL, len);
}

/* The first byte of o in [k, to) that is not LARGE_FILL, or to (8 bytes at a time where it can). */
static uintptr_t large_unlike(const unsigned char *o, uintptr_t k, uintptr_t to)
{
	for (; to - k >= 8; k += 8)
		if (((const struct mm_unaligned64 *)(o + k))->v != 0x0101010101010101ull * LARGE_FILL)
			break;
	for (; k < to; k++)
		if (o[k] != LARGE_FILL)
			return k;
	return to;
}

/*
 * Is a whole canary (LARGE_CANARY bytes at c) intact?  Its eight words
 * ORed, one branch.  Not inlined: where unaligned loads are built from
 * bytes (rv64imac), the frame stays its own and small.
 */
static __attribute__((noinline)) int large_whole(const unsigned char *c)
{
	const struct mm_unaligned64 *w = (const struct mm_unaligned64 *)c;
	const uint64_t f = 0x0101010101010101ull * LARGE_FILL;
	uint64_t x = 0;
	for (int i = 0; i < LARGE_CANARY / 8; i += 2)
		x |= (w[i].v ^ f) | (w[i + 1].v ^ f);
	return x == 0;
}

/* Is large span s's canary whole and of full length (the usual case, compared as words)?  0: large_broken looks closer. */
static int large_canary_whole(const struct mm_span *s)
{
	return large_canary_end(s) - s->reqlarge == LARGE_CANARY &&
	       mm_likely(large_whole((const unsigned char *)mm_span_base(s) + s->reqlarge));
}

/* Does a request of n bytes keep large span s's own pages: as many, or growing into room a move left? */
static int large_keeps_pages(const struct mm_span *s, size_t n)
{
	uintptr_t np = (n + MM_PAGE_SIZE - 1) >> MM_PAGE_SHIFT;
	return np == s->npages || (n > s->reqlarge && np < s->npages);
}

/*
 * Is the canary after large object p (span s) broken?  Then describe it in
 * buf (op(p) looked) and return 1.  A whole canary (the usual case) is
 * compared as words (large_whole); a short one, and a broken one (to find
 * the byte), a byte at a time.
 */
static int large_broken(char *buf, size_t len, const char *op, const void *p, struct mm_span *s)
{
	const unsigned char *o = (const unsigned char *)mm_span_base(s);
	uintptr_t end = large_canary_end(s);
	if (large_canary_whole(s))
		return 0;
	uintptr_t k = large_unlike(o, s->reqlarge, end);
	if (k == end)
		return 0;
	mm_format(buf, len, "mm: %s(%p): heap overflow: the large block at %p (%u bytes asked for, "
		  "%u pages) was written past its end: byte %u is 0x%x, not the canary 0x%x", op, p,
		  (void *)o, s->reqlarge, s->npages, k, (uintptr_t)o[k], (uintptr_t)LARGE_FILL);
	return 1;
}

static void check_large(const char *op, void *p, struct mm_span *s)
{
	static char msg[320]; /* static, like debug's why: only a fatal path writes it */
	if (large_broken(msg, sizeof msg, op, p, s))
		mm_throw("%s", msg);
}

int mm_check_large(struct mm_span *s, char *buf, size_t len)
{
	return large_broken(buf, len, "mm_check", (void *)mm_span_base(s), s);
}

static void *malloc_large(size_t n, uintptr_t align_pages)
{
	uintptr_t npages = (n + MM_PAGE_SIZE - 1) >> MM_PAGE_SHIFT;
	if (n > PTRDIFF_MAX || mm_init_once() < 0) /* no object may be larger (C, and glibc) */
		return 0;
	struct mm_span *s = 0;
	if (align_pages <= 1 && npages <= MM_CACHE_LARGE_PAGES) { /* a span the cache holds */
		struct mm_cache *c = mm_sys_cache_get();
		int held = 0;
		if (c && !(s = mm_cache_large_take(c, npages)))
			held = c->nlarge != 0;
		mm_sys_cache_put(c);
		/* none fits: before the heap grows or touches new pages for this one,
		 * the cache gives back what it holds (it may coalesce into a fit) */
		if (held && !(s = mm_heap_alloc_warm(npages))) {
			c = mm_sys_cache_get();
			if (c)
				mm_cache_large_flush(c);
			mm_sys_cache_put(c);
		}
	}
	if (!s)
		s = mm_heap_alloc(npages, 0, align_pages);
	if (!s && reclaim(n))
		s = mm_heap_alloc(npages, 0, align_pages);
	if (s)
		large_guard(s, n);
	return s ? (void *)mm_span_base(s) : 0;
}

/*
 * The largest request a small class takes, and the class of a request of
 * n bytes up to it: release builds guard 0 and sizes above MM_GUARD_ABOVE
 * (internal.h), in a class with room for the trailer.
 */
#ifdef MM_DEBUG
#define SMALL_LIMIT MM_MAX_SMALL
#else
#define SMALL_LIMIT (MM_MAX_SMALL - MM_GUARD_BYTES)
#endif

static uint32_t request_class(size_t n)
{
#ifndef MM_DEBUG
	if (n - 1 >= MM_GUARD_ABOVE)
		return n ? mm_size_class(n + MM_GUARD_BYTES) : mm_zero_class;
#endif
	return mm_size_class(n);
}

/*
 * An object of class cl for a request of n bytes (fits), marked (debug) or
 * guarded.  The zero class bypasses the caches: its lists stay empty.
 */
static void *small_alloc(uint32_t cl, size_t n)
{
	struct mm_cache *c = mm_sys_cache_get();
	void *v = c && cl != mm_zero_class ? mm_cache_alloc(c, cl) : mm_central_alloc_one(cl);
	mm_sys_cache_put(c);
	MM_DEBUG_ALLOC(v, n);
	if (v && mm_class_guarded(cl))
		mm_guard_set(v, mm_class_size[cl], n);
	return v;
}

/* mm_malloc_slow's general path. */
static __attribute__((noinline)) void *malloc_general(size_t n)
{
	if (n > SMALL_LIMIT)
		return malloc_large(n, 1);
	if (mm_init_once() < 0)
		return 0;
	return small_alloc(request_class(n), n);
}

/*
 * Everything mm_malloc_fast does not do itself: large objects, misses, no
 * cache, the guard, debug marks.  A guarded size (1 KiB to 32 KiB) whose
 * list has an object is a pop and a trailer: the same hit, one call down,
 * without the class lookups and calls of the general path (malloc_general,
 * a jump: the hit needs no stack frame).
 */
void *mm_malloc_slow(size_t n)
{
#ifndef MM_DEBUG
	if (mm_likely(n - (MM_GUARD_ABOVE + 1) < SMALL_LIMIT - MM_GUARD_ABOVE)) {
		uint32_t cl = mm_size_class(n + MM_GUARD_BYTES); /* before init, 0: list 0, empty */
		struct mm_cache *c = mm_sys_cache_peek();
		void *v = 0;
		if (MM_CACHE_NEVER_NULL || mm_likely(c != 0))
			v = mm_cachelist_pop(&c->list[cl]);
		mm_sys_cache_put(c);
		if (mm_likely(v != 0)) {
			mm_guard_put(v, mm_class_size[cl], n);
			return v;
		}
	}
#endif
	return malloc_general(n);
}

/* mm_malloc's miss: a small allocation that fails gets one more try after reclaim (malloc_large has its own). */
static __attribute__((noinline)) void *malloc_miss(size_t n)
{
	void *v = mm_malloc_slow(n);
	if (mm_unlikely(!v) && n <= SMALL_LIMIT && reclaim(n))
		v = mm_malloc_slow(n);
	return v;
}

void *mm_malloc(size_t n)
{
	return mm_malloc_fast(n, malloc_miss);
}

/* Describe what is wrong with freeing p (span s from the pagemap) and panic. */
static __attribute__((noinline, noreturn)) void bad_free(const char *op, void *p, struct mm_span *s)
{
	uintptr_t pn = (uintptr_t)p >> MM_PAGE_SHIFT;
	if (!s)
		mm_throw("mm: %s(%p): unknown pointer (not allocated by this heap)", op, p);
	if (s->state == MM_SPAN_DEAD || pn - s->start >= s->npages ||
	    ((s->state == MM_SPAN_KEPT || s->state == MM_SPAN_CACHED) && p != (void *)mm_span_base(s)))
		mm_throw("mm: %s(%p): pointer into free memory (not allocated)", op, p);
	if (s->state == MM_SPAN_FREE)
		mm_throw("mm: %s(%p): double free (the span at %p, %u pages, is free)", op, p,
			 (void *)mm_span_base(s), s->npages);
	if (s->state == MM_SPAN_KEPT && p == (void *)mm_span_base(s))
		mm_throw("mm: %s(%p): double free (the large block at %p, %u pages, is free: kept for reuse)",
			 op, p, (void *)mm_span_base(s), s->npages);
	if (s->state == MM_SPAN_CACHED && p == (void *)mm_span_base(s))
		mm_throw("mm: %s(%p): double free (the large block at %p, %u pages, is free: held by a cache "
			 "for reuse)", op, p, (void *)mm_span_base(s), s->npages);
	if (s->state == MM_SPAN_SMALL)
		mm_throw("mm: %s(%p): interior pointer into a %u-byte object", op, p,
			 (uintptr_t)s->elemsize);
	mm_throw("mm: %s(%p): interior pointer into a large object at %p (%u bytes)", op, p,
		 (void *)mm_span_base(s), s->npages << MM_PAGE_SHIFT);
}

/* Does p start an object of small span s (its page maps to s)? */
static inline int starts_small(const struct mm_span *s, const void *p)
{
	uintptr_t off = (uintptr_t)p - mm_span_base(s);
	return off < (s->npages << MM_PAGE_SHIFT) && mm_span_index(s, off) * s->elemsize == off;
}

/* s, the pagemap's span for valid object p, or a panic naming what is wrong with p. */
static struct mm_span *object_in(const char *op, void *p, struct mm_span *s)
{
	if (!s || ((uintptr_t)p >> MM_PAGE_SHIFT) - s->start >= s->npages)
		bad_free(op, p, s);
	if (s->state == MM_SPAN_SMALL ? !starts_small(s, p) : s->state != MM_SPAN_LARGE || p != (void *)mm_span_base(s))
		bad_free(op, p, s);
	return s;
}

/* The span of a valid object p, or a panic naming what is wrong with p. */
static struct mm_span *object_span(const char *op, void *p)
{
	return object_in(op, p, mm_pagemap_get((uintptr_t)p >> MM_PAGE_SHIFT));
}

/* Free small object p of class cl: check a guarded one's trailer, then to the cache or central. */
static void free_small(uint32_t cl, void *p)
{
	/* A key in place: a double free, or not; mm_cache_free's suspect path decides. */
	if (mm_class_guarded(cl) && ((uintptr_t *)p)[1] != mm_free_key)
		mm_guard_check("free", p, cl);
	struct mm_cache *c = mm_sys_cache_get();
	if (c && cl != mm_zero_class) /* whose lists stay empty */
		mm_cache_free(c, cl, p);
	else
		mm_central_free_one(cl, p);
	mm_sys_cache_put(c);
}

#ifndef MM_DEBUG /* debug builds guard no block */
/* Does p start an object of guarded small span s (not the zero class), its trailer whole? */
static inline int guarded_whole(const struct mm_span *s, void *p)
{
	return s->state == MM_SPAN_SMALL && mm_class_guarded(s->sizeclass) && s->sizeclass != mm_zero_class &&
	       starts_small(s, p) && mm_guard_whole(p, s->elemsize);
}
#endif

static int free_general(void *p, struct mm_span *s, int tolerant);

/*
 * Everything mm_free_fast does not do itself: NULL, large objects, no
 * cache, a key in place, guarded blocks, debug marks, and bad pointers.  A
 * pointer the heap has never seen panics, or with `tolerant` (drop-in
 * malloc: memory from before libmm was loaded) is left alone and reported
 * by returning -1.  A guarded block's hit is served here, with no call but
 * a list's overflow, so it needs no stack frame; the rest is free_general.
 */
int mm_free_slow(void *p, int tolerant)
{
	if (!p)
		return 0;
	struct mm_span *s = mm_pagemap_get((uintptr_t)p >> MM_PAGE_SHIFT);
#ifndef MM_DEBUG
	/* a guarded block, its trailer whole, that holds no key: onto its list
	 * (no cache yet: the general path makes one) */
	if (mm_likely(s && guarded_whole(s, p) && ((uintptr_t *)p)[1] != mm_free_key)) {
		struct mm_cache *c = mm_sys_cache_peek();
		if ((MM_CACHE_NEVER_NULL || mm_likely(c != 0)) && mm_likely(c != &mm_cache_none)) {
			mm_cache_push(c, s->sizeclass, p); /* its overflow, when the room has run out */
			mm_sys_cache_put(c);
			return 0;
		}
		mm_sys_cache_put(c);
	}
#endif
	return free_general(p, s, tolerant);
}

/* mm_free_slow's general path: s is p's span from the pagemap, or NULL. */
static __attribute__((noinline)) int free_general(void *p, struct mm_span *s, int tolerant)
{
	if (tolerant && !s)
		return -1;
	s = object_in("free", p, s);
	if (s->state == MM_SPAN_LARGE) {
		if (mm_unlikely(!large_canary_whole(s))) /* the usual case inline; else look closer */
			check_large("free", p, s);
#ifdef MM_DEBUG
		check_before("free", p, s, 0);
#endif
		struct mm_cache *c = mm_sys_cache_peek();
		int held = 0;
		if ((MM_CACHE_NEVER_NULL || c != 0) && c != &mm_cache_none) {
			if (mm_likely(!mm_scavenge_shrinking_hint()))
				held = mm_cache_large_put(c, s);
			else /* the heap is shrinking toward its idle bound: s and what c holds go back */
				mm_cache_large_flush(c);
		}
		mm_sys_cache_put(c);
		if (!held)
			mm_heap_free(s);
		return 0;
	}
	MM_DEBUG_FREE(s, p);
	free_small(s->sizeclass, p);
	return 0;
}

void mm_free_miss(void *p)
{
	mm_free_slow(p, 0);
}

void mm_free(void *p)
{
	mm_free_fast(p, mm_free_miss);
}

int mm_free_if_ours(void *p)
{
	return mm_free_slow(p, 1);
}

void *mm_calloc(size_t count, size_t size)
{
	size_t n;
	if (__builtin_mul_overflow(count, size, &n))
		return 0;
	if (n <= SMALL_LIMIT) {
		void *v = mm_malloc(n);
		if (v)
			mm_memset(v, 0, n); /* not the trailer after it */
		return v;
	}
	void *v = malloc_large(n, 1);
	if (v) {
		struct mm_span *s = mm_pagemap_get((uintptr_t)v >> MM_PAGE_SHIFT);
		if (s->needzero) {
			mm_memset(v, 0, s->npages << MM_PAGE_SHIFT);
			large_guard(s, n); /* the canary again */
		}
	}
	return v;
}

size_t mm_usable_size(const void *p)
{
	if (!p)
		return 0;
	struct mm_span *s = object_span("usable_size", (void *)p);
	if (s->state != MM_SPAN_SMALL) { /* the caller may now use every page: the canary goes */
		check_large("usable_size", (void *)p, s);
		s->reqlarge = s->npages << MM_PAGE_SHIFT;
		return s->reqlarge;
	}
#ifdef MM_DEBUG /* the caller may now use the whole object: its canary goes */
	debug_resize(s, (void *)p, s->elemsize);
#endif
	/* a guarded block keeps its trailer: the size asked for is what may be used */
	return mm_class_guarded(s->sizeclass) ? mm_guard_check("usable_size", (void *)p, s->sizeclass) : s->elemsize;
}

/*
 * A block that realloc must move to grow is likely to grow again (a string
 * or vector built step by step): it moves to room for twice what it had
 * (at least: old / MM_REALLOC_GROW more), its guard trailer or canary at
 * the size asked for.  A small block then changes class once each doubling,
 * not at each step, and fewer classes hold its old copies (resident pages:
 * fewer partly used spans and cached objects); a large one grows into its
 * spare pages in place (never touched until it does), where it would
 * otherwise be copied again each time the pages after it are in use.  A
 * small block that fits a small class stays in one.
 */
#define MM_REALLOC_GROW 1
static size_t realloc_target(size_t old, size_t n)
{
	size_t want = old + old / MM_REALLOC_GROW;
	if (n <= old || want <= n)
		return n;
	if (n <= SMALL_LIMIT && want > SMALL_LIMIT)
		return SMALL_LIMIT;
#ifndef MM_DEBUG
	/* an unguarded slot keeps no size asked for: its next step must be more than half of it */
	if (want <= MM_GUARD_ABOVE) {
		uint32_t cl = mm_size_class(want);
		while (mm_class_size[cl] >= 2 * n && mm_class_size[cl - 1] >= n)
			cl--;
		want = mm_class_size[cl];
	}
#endif
	return want;
}

/* v was allocated for more than the n bytes asked for: its guard trailer, canary (large, debug) moves to n. */
static void realloc_fit(void *v, size_t n)
{
	struct mm_span *s = mm_pagemap_get((uintptr_t)v >> MM_PAGE_SHIFT);
	if (s->state == MM_SPAN_LARGE) {
		large_guard(s, n);
		return;
	}
	if (mm_class_guarded(s->sizeclass))
		mm_guard_set(v, s->elemsize, n);
#ifdef MM_DEBUG
	debug_resize(s, v, n);
#endif
}

/*
 * realloc's usual cases, in place without a lock: a guarded slot that starts
 * an object, whose trailer is whole and that n fits (growing, or more than
 * half of it), and a large block whose pages n fits (its own, not the ones
 * after it) and whose canary is whole.  NULL: mm_realloc's general path,
 * which also names whatever is wrong with p.
 */
static inline void *realloc_in_place(void *p, size_t n)
{
	struct mm_span *s = mm_pagemap_get((uintptr_t)p >> MM_PAGE_SHIFT);
	if (!s)
		return 0;
#ifndef MM_DEBUG
	if (guarded_whole(s, p)) {
		uint32_t room = s->elemsize; /* > MM_GUARD_BYTES; n + MM_GUARD_BYTES may wrap */
		if (n > room - MM_GUARD_BYTES || (n < mm_guard_size(p, room) && n <= room / 2 - MM_GUARD_BYTES))
			return 0;
		mm_guard_put(p, room, n);
		return p;
	}
#endif
	if (s->state == MM_SPAN_LARGE && p == (void *)mm_span_base(s) && n > SMALL_LIMIT && n <= PTRDIFF_MAX &&
	    large_keeps_pages(s, n) && large_canary_whole(s)) {
		large_guard(s, n);
		return p;
	}
	return 0;
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
	void *q = realloc_in_place(p, n);
	if (q)
		return q;
	struct mm_span *s = object_span("realloc", p);
	size_t old;
	if (s->state == MM_SPAN_SMALL) {
		if (mm_class_guarded(s->sizeclass)) { /* realloc_in_place kept it if it fits: it moves */
			old = mm_guard_check("realloc", p, s->sizeclass); /* or a broken trailer is named */
		} else { /* in place: growing within the slot, or shrinking to more than half of it */
#ifdef MM_DEBUG
			old = s->reqsize[mm_span_index(s, (uintptr_t)p - mm_span_base(s))];
#else
			old = s->elemsize; /* the size asked for is not kept */
#endif
			if (n <= s->elemsize && (n >= old || n > s->elemsize / 2 || s->elemsize <= 64)) {
#ifdef MM_DEBUG
				debug_resize(s, p, n);
#endif
				return p;
			}
		}
	} else {
		check_large("realloc", p, s);
		old = s->reqlarge;
		if (n > SMALL_LIMIT && n <= PTRDIFF_MAX) {
			/* its own pages (a short canary: realloc_in_place left it), else the free ones after them */
			if (large_keeps_pages(s, n) || mm_heap_resize(s, (n + MM_PAGE_SIZE - 1) >> MM_PAGE_SHIFT) == 0) {
				large_guard(s, n);
				return p;
			}
		}
	}
	size_t want = realloc_target(old, n);
	void *v = mm_malloc(want);
	if (v && want != n)
		realloc_fit(v, n);
	else if (!v && want != n)
		v = mm_malloc(n);
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
	if (n == 0)
		n = 1;
	if (align <= MM_PAGE_SIZE && n <= SMALL_LIMIT) {
		if (mm_init_once() < 0)
			return 0;
		/* the first class from n's whose size is a multiple of align (not the zero class) */
		for (uint32_t cl = request_class(n); cl < mm_zero_class; cl++)
			if ((mm_class_size[cl] & (align - 1)) == 0) {
				void *v = small_alloc(cl, n);
				if (!v && reclaim(n))
					v = small_alloc(cl, n);
				return v;
			}
	}
	uintptr_t ap = align >> MM_PAGE_SHIFT;
	return malloc_large(n, ap ? ap : 1);
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
	for (int i = 0; i < MM_NUM_CLASSES_MAX; i++)
		mm_sys_lock(&mm_central[i].lock);
	mm_sys_lock(&mm_heap.lock);
}

void mm_unlock_all(void)
{
	mm_sys_unlock(&mm_heap.lock);
	for (int i = MM_NUM_CLASSES_MAX - 1; i >= 0; i--)
		mm_sys_unlock(&mm_central[i].lock);
	mm_sys_unlock(&init_lock);
}
