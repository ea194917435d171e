/*
 * internal.h - libmm's internal header: the whole design in one place.
 *
 * Memory is managed in pages (MM_PAGE_SIZE, 4 KiB).  Small objects (up to
 * MM_MAX_SMALL, 32 KiB) are rounded up to one of 60 size classes, and
 * each class has its own pool of spans carved into objects of that size.
 * Larger objects are whole spans taken from the heap.
 *
 * The structures:
 *   fixalloc  free-list allocator for fixed-size records (spans, pagemap nodes,
 *             caches), carved from chunks the Sys layer maps.
 *   pagemap   radix tree: page number -> span.  Pages of spans in use map to
 *             their span; a free span maps only its first and last page.
 *   span      a run of pages: free, small (objects of one class), or large.
 *   heap      free spans by exact page count (1..MM_HEAP_LISTS-1) plus a
 *             treap of larger ones for best fit; coalesces neighbours.
 *   arena     the address range the heap grows into (mm/arena.c: policies).
 *   central   per class: spans with free objects, under one lock each.
 *   cache     per thread or CPU: a free list per class, no lock.
 *   scavenger returns pages of spans idle longer than a limit to the system.
 *
 * Allocating a small object goes up a hierarchy of caches:
 *   1. Round the size to a class; look in the cache's list for that class.
 *      If it is not empty, pop an object: done.  No lock, no division.
 *   2. Otherwise ask central[class] for a batch of objects (one lock).
 *   3. If central has no span with free objects, it takes a span of the
 *      class's page count from the heap (heap lock) and cuts it up.
 *   4. If the heap has no free span that fits, it grows the arena, which
 *      asks the Sys layer to map (and, when needed, reserve) more pages.
 * Allocating a large object goes straight to step 4's heap.
 *
 * Freeing goes the other way: pagemap(p) gives the span; a small object is
 * pushed on the cache list, which past its limit gives a batch back to
 * central; a span whose objects are all free stays with its class as a
 * spare (up to a batch of objects) or goes back to the heap; a large
 * span goes back to the heap directly.  The heap coalesces a free span with
 * free neighbours on both sides.
 *
 * Locks: central[c].lock, then heap.lock (innermost).  The heap lock also
 * covers the arena, the pagemap's node allocation, every fixalloc, the list
 * of caches and the folded statistics.
 */
#ifndef MM_INTERNAL_H
#define MM_INTERNAL_H

#include "mm.h"
#include "sys.h"

/* Internal symbols stay inside libmm-malloc.so: direct references, no GOT. */
#ifdef __ELF__
#pragma GCC visibility push(hidden)
#endif

#define MM_MAX_SMALL   32768
#define MM_HEAP_LISTS  128          /* free lists by exact page count below this */
#ifndef MM_TRANSFER_SLOTS
#define MM_TRANSFER_SLOTS 32        /* whole batches central keeps to pass between caches, */
#endif
#ifndef MM_TRANSFER_BYTES
#define MM_TRANSFER_BYTES (1u << 20) /* ... at most this many bytes of them a class */
#endif
#ifndef MM_TRANSFER_TOTAL
#define MM_TRANSFER_TOTAL (4u << 20) /* ... and about this many in all */
#endif
#ifndef MM_CACHE_MAX_BYTES
#define MM_CACHE_MAX_BYTES (1u << 20) /* a cache above its bound gives back half its low-water marks: */
#endif                                /* ... this, or its share of 1/MM_CACHE_SHARE of the heap in use */
#define MM_CACHE_SHARE 16
#define MM_CACHE_LARGE_PAGES 32       /* a cache holds freed large spans of up to this many pages whole, */
#ifndef MM_CACHE_LARGE_BYTES
#define MM_CACHE_LARGE_BYTES (2u << 20) /* ... up to this many bytes (past it, the older half goes back) */
#endif
#define MM_BATCH_BYTES (64u << 10)  /* a batch moved between cache and central: 64 KiB of objects, */
#define MM_BATCH_MAX   32           /* ... 2 to 32 of them; but where 8 KiB hold more than that */
#define MM_BATCH_TINY_BYTES (8u << 10) /* (classes below 256 B), 8 KiB of objects, */
#define MM_BATCH_TINY_MAX   128     /* ... up to 128: bulk use of tiny blocks takes fewer trips to central */
#define MM_CACHE_LIST_MAX 8192      /* a list's limit grows by a batch a miss up to this, */
#ifndef MM_CACHE_LIST_BYTES
#define MM_CACHE_LIST_BYTES (1u << 18) /* ... and up to this many bytes (256 KiB) */
#endif
#define MM_CACHE_RECOUNT 8        /* slow paths between two counts of a cache's bytes */
#define MM_SPARE_SHARE 32          /* central's spares past a class's first: at most 1/32 of the pages in use */
#define MM_KEEP_PAGES  32           /* large spans up to this many pages are kept whole when freed, */
#define MM_KEEP_BYTES  (1u << 20)   /* ... up to this many bytes in all (heap.c: the kept lists) */
#define MM_ARENA_STEP32 ((uintptr_t)256 << 20)
#define MM_MAX_ARENA32  ((uintptr_t)2 << 30)

#define mm_likely(x)   __builtin_expect(!!(x), 1)
#define mm_unlikely(x) __builtin_expect(!!(x), 0)

/* ---- size classes (sizeclass.c) ---- */
extern int mm_nclasses;             /* the size classes, then the zero class (the guard, below) */
extern uint32_t mm_class_size[MM_NUM_CLASSES_MAX];
extern uint8_t mm_class_npages[MM_NUM_CLASSES_MAX];
extern uint8_t mm_class_batch[MM_NUM_CLASSES_MAX];   /* objects moved cache <-> central */
extern uint16_t mm_class_listmax[MM_NUM_CLASSES_MAX]; /* longest a cache list may grow */
extern uint8_t mm_class_transfer[MM_NUM_CLASSES_MAX]; /* batches central may park (<= MM_TRANSFER_BYTES) */
extern uint32_t mm_class_divmul[MM_NUM_CLASSES_MAX]; /* ceil(2^32 / size): offset / size by multiply */
extern uint8_t mm_size_to_class8[1024 / 8 + 1];   /* sizes <= 1024, 8-byte steps */
extern uint8_t mm_size_to_class128[(MM_MAX_SMALL - 1024) / 128 + 1];
extern uint16_t mm_size_to_list[1024 + 1];       /* each size <= 1024: its cache list's offset */
void mm_sizeclass_init(void);

/* The class of a small size n (0 < n <= MM_MAX_SMALL; 0: the zero class in release builds, the smallest in debug builds). */
static inline uint32_t mm_size_class(size_t n)
{
	if (n <= 1024)
		return mm_size_to_class8[(n + 7) >> 3];
	return mm_size_to_class128[(n - 1024 + 127) >> 7];
}

/*
 * The guard (guard.c), release builds: requests above MM_GUARD_ABOVE (up
 * to MM_MAX_SMALL) and of 0 bytes are served by the slow paths, from
 * classes that hold nothing else: the classes from mm_guard_class on
 * (sizes above MM_GUARD_ABOVE, then mm_zero_class, last, for malloc(0)).
 * Size 0 maps to the zero class, whose objects never go through a cache
 * (central's alloc_one and free_one), so the malloc fast path finds its
 * list empty and misses.
 * Such a block carries a trailer in its slot: MM_GUARD_CANARY bytes
 * derived from mm_free_key right after the size asked for, and in the
 * slot's last word that size, encoded with the key so that garbage does
 * not decode; its class is the one for the size plus MM_GUARD_BYTES.
 * free checks the trailer (their spans are not in the class map, so the
 * free fast path sends them to its miss), as do realloc and mm_usable_size,
 * which answers the size asked for.  Debug builds have their own canaries
 * instead (below): no block is guarded there.
 */
#define MM_GUARD_ABOVE  1024
#define MM_ONE_PAGE_CLASSES 1024 /* sizeclass.c: classes up to this size have one-page spans */
#define MM_GUARD_CANARY 8
#define MM_GUARD_BYTES  (MM_GUARD_CANARY + sizeof(uintptr_t))
extern uint32_t mm_guard_class, mm_zero_class; /* sizeclass.c */
#ifdef MM_DEBUG
#define mm_class_guarded(cl) ((void)(cl), 0)
#else
#define mm_class_guarded(cl) ((cl) >= mm_guard_class)
#endif
/* 8 bytes at any address: one unaligned load or store where the host allows. */
struct mm_unaligned64 {
	uint64_t v;
} __attribute__((packed, may_alias));
extern uint64_t mm_guard_canary;   /* the canary's bytes (guard.c, at init from mm_free_key) */
extern uintptr_t mm_guard_end_key; /* the end word's key */
void mm_guard_init(void);
#define MM_GUARD_LANES (UINTPTR_MAX / 0xffff) /* 0x0001...0001: a size in every 16-bit lane */
static inline uintptr_t *mm_guard_end_word(void *p, uint32_t room)
{
	return (uintptr_t *)((char *)p + room) - 1;
}
/* Put a trailer for a request of n bytes in small object p (room: its class's size). */
static inline void mm_guard_put(void *p, uint32_t room, size_t n)
{
	((struct mm_unaligned64 *)((char *)p + n))->v = mm_guard_canary;
	*mm_guard_end_word(p, room) = (uintptr_t)n * MM_GUARD_LANES ^ mm_guard_end_key;
}
/* The size asked for that p's end word holds (room: its class's size), or UINTPTR_MAX if it does not decode. */
static inline uintptr_t mm_guard_size(void *p, uint32_t room)
{
	uintptr_t d = *mm_guard_end_word(p, room) ^ mm_guard_end_key, n = d & 0xffff;
	return d == n * MM_GUARD_LANES && n + MM_GUARD_BYTES <= room ? n : UINTPTR_MAX;
}
/* Is p's trailer whole (end word and canary)?  0: mm_guard_check says what broke. */
static inline int mm_guard_whole(void *p, uint32_t room)
{
	uintptr_t n = mm_guard_size(p, room);
	return n != UINTPTR_MAX && ((const struct mm_unaligned64 *)((const char *)p + n))->v == mm_guard_canary;
}
void mm_guard_set(void *p, uint32_t room, size_t n); /* mm_guard_put, out of line */
/* Check the trailer of p, of class cl (op(p) names the call): the size asked for, or a panic saying what broke. */
size_t mm_guard_check(const char *op, void *p, uint32_t cl);

/* ---- fixalloc (fixalloc.c) ---- */
struct mm_fixalloc {
	size_t recsize;    /* record size */
	size_t chunk;      /* bytes obtained from Sys at a time */
	void *list;        /* freed records */
	char *next;        /* unused part of the current chunk */
	size_t left;
	size_t inuse;      /* records handed out */
};
void mm_fixalloc_init(struct mm_fixalloc *f, size_t size);
void *mm_fixalloc_alloc(struct mm_fixalloc *f); /* zeroed record, or NULL */
void mm_fixalloc_free(struct mm_fixalloc *f, void *p);

/* ---- spans (span.c) ---- */
enum { MM_SPAN_DEAD = 0, MM_SPAN_FREE, MM_SPAN_SMALL, MM_SPAN_LARGE, MM_SPAN_KEPT, MM_SPAN_CACHED };
#define MM_SPAN_MAXOBJS (MM_PAGE_SIZE / 8) /* objects in a small span, at most (8-byte class, one page) */

struct mm_span {
	struct mm_span *next, *prev; /* heap free list, central list, large list, or kept list */
	uintptr_t start;             /* first page number */
	uintptr_t npages;
	uintptr_t npreleased;        /* free span: pages given back by the scavenger */
	uint64_t unused_since;       /* free span: when it became free (newest part) */
	void *freelist;              /* small: free objects of this span */
	uint32_t ncarved;            /* small: objects [0, ncarved) have been handed out once */
	uint32_t ref;                /* small: objects out of the span (cached or live) */
	uint32_t nelems;             /* small: objects in the span */
	uint32_t elemsize;           /* small: object size */
	uint32_t divmul;             /* small: mm_class_divmul[class] */
	uint8_t sizeclass;           /* small: class; else 0 */
	uint8_t state;               /* MM_SPAN_* */
	uint8_t needzero;            /* pages may hold non-zero bytes */
	uint8_t intree;              /* free span: in the large treap, not a list */
	uint32_t prio;               /* treap priority */
	struct mm_span *left, *right;/* treap children; kept: older and newer in the age list */
#ifdef MM_DEBUG
	/* debug: objects handed out, a bit each, in words, so that no one-byte
	 * atomics (libatomic on RISC-V) are needed; and the size asked for per
	 * object.  The most objects a span has is MM_SPAN_MAXOBJS. */
	uintptr_t allocbits[MM_SPAN_MAXOBJS / (8 * sizeof(uintptr_t))];
	uint16_t reqsize[MM_SPAN_MAXOBJS];
#endif
	uintptr_t reqlarge;          /* large: the size asked for (its canary follows it) */
};

static inline uintptr_t mm_span_base(const struct mm_span *s)
{
	return s->start << MM_PAGE_SHIFT;
}
void mm_span_list_init(struct mm_span *head);
void mm_span_list_insert(struct mm_span *head, struct mm_span *s); /* at front */
void mm_span_list_insert_back(struct mm_span *head, struct mm_span *s);
void mm_span_list_remove(struct mm_span *s);
/* A zeroed head (never used) is empty too: span.c sets it up at its first insert. */
static inline int mm_span_list_empty(const struct mm_span *head)
{
	return head->next == head || !head->next;
}
/* The first and last spans of a list, or head itself when it is empty (walks stop there). */
static inline struct mm_span *mm_span_list_first(struct mm_span *head)
{
	return head->next ? head->next : head;
}
static inline struct mm_span *mm_span_list_last(struct mm_span *head)
{
	return head->prev ? head->prev : head;
}
void mm_span_init_small(struct mm_span *s, uint32_t cl); /* objects carved lazily */
/* Index of object p in small span s (exact when p is an object's start). */
static inline uint32_t mm_span_index(const struct mm_span *s, uintptr_t off)
{
	return (uint32_t)(((uint64_t)off * s->divmul) >> 32);
}

/* ---- pagemap (pagemap.c) ---- */
/*
 * Page numbers have MM_PM_BITS bits: 48-bit addresses on 64-bit (x86_64,
 * aarch64 with 48-bit VA, RISC-V Sv39/Sv48), 32 on 32-bit, less the page
 * shift.  Leaves and middle nodes have 2^MM_PM_LEVEL entries; the root
 * takes the bits left over (64-bit: 4096, 1024 or 256 entries for 4, 16 or
 * 64 KiB pages; 32-bit: 1024, 256 or 64).
 */
#if UINTPTR_MAX > 0xffffffffu
#define MM_PM_BITS (48 - MM_PAGE_SHIFT)
#define MM_PM_LEVEL 12   /* leaf and middle levels of 4096 entries */
#define MM_PM_ROOT (1 << (MM_PM_BITS - 2 * MM_PM_LEVEL))
struct mm_pm_leaf { struct mm_span *span[1 << MM_PM_LEVEL]; };
struct mm_pm_mid { struct mm_pm_leaf *leaf[1 << MM_PM_LEVEL]; };
extern struct mm_pm_mid *mm_pm_root[MM_PM_ROOT];
static inline struct mm_span *mm_pagemap_get(uintptr_t pn)
{
	pn &= ((uintptr_t)1 << MM_PM_BITS) - 1;
	struct mm_pm_mid *mid = mm_pm_root[pn >> (2 * MM_PM_LEVEL)];
	if (mm_unlikely(!mid))
		return 0;
	struct mm_pm_leaf *leaf = mid->leaf[(pn >> MM_PM_LEVEL) & ((1 << MM_PM_LEVEL) - 1)];
	if (mm_unlikely(!leaf))
		return 0;
	return leaf->span[pn & ((1 << MM_PM_LEVEL) - 1)];
}
#else
#define MM_PM_BITS (32 - MM_PAGE_SHIFT)
#define MM_PM_LEVEL 10   /* leaves of 1024 entries */
#define MM_PM_ROOT (1 << (MM_PM_BITS - MM_PM_LEVEL))
struct mm_pm_leaf { struct mm_span *span[1 << MM_PM_LEVEL]; };
extern struct mm_pm_leaf *mm_pm_root[MM_PM_ROOT];
static inline struct mm_span *mm_pagemap_get(uintptr_t pn)
{
	struct mm_pm_leaf *leaf = mm_pm_root[(pn >> MM_PM_LEVEL) & (MM_PM_ROOT - 1)];
	if (mm_unlikely(!leaf))
		return 0;
	return leaf->span[pn & ((1 << MM_PM_LEVEL) - 1)];
}
#endif
void mm_pagemap_init(void);
int mm_pagemap_ensure(uintptr_t pn, uintptr_t npages);  /* make nodes; -1: no memory */
void mm_pagemap_set(uintptr_t pn, uintptr_t npages, struct mm_span *s);
extern struct mm_fixalloc mm_pm_nodes;

/* ---- arena (arena.c) ---- */
struct mm_arena {
	int policy;
	uintptr_t hint;
	size_t step;           /* 64-bit reservation, or chunk size: what one region asks for */
	uintptr_t start;       /* first reservation */
	uintptr_t region;      /* current region: [region, end), mapped up to used */
	uintptr_t used;
	uintptr_t end;
	uintptr_t hi;          /* highest end of any region */
	uintptr_t tail, tail_pages; /* unused end of the previous region, for the heap */
};
int mm_arena_init(const struct mm_config *cfg);
void *mm_arena_grow(uintptr_t npages, uintptr_t *got); /* maps >= npages pages */
void *mm_arena_records(size_t n);                           /* reserve+map for records */
void mm_arena_stats(struct mm_stats *st);
void mm_arena_ungrow(void *v, uintptr_t npages);       /* undo the last grow */
uintptr_t mm_arena_tail(uintptr_t *base);              /* pages left behind, or 0 */
void mm_arena_tail_taken(void);

/* ---- heap (heap.c) ---- */
struct mm_heap {
	struct mm_lock lock;
	struct mm_span free[MM_HEAP_LISTS]; /* free spans of exactly i pages */
	uint32_t nonempty[MM_HEAP_LISTS / 32]; /* bit i: free[i] has a span */
	struct mm_span *large;              /* treap of free spans >= MM_HEAP_LISTS pages */
	struct mm_span busy;                /* large spans in use */
	/* large spans freed and kept whole for the next request of their page count */
	struct mm_span kept[MM_KEEP_PAGES + 1]; /* by page count, newest first */
	struct mm_span *kept_oldest, *kept_newest; /* all of them by age (left/right) */
	uintptr_t pages_kept;               /* their pages (counted idle, backed) */
	uintptr_t touched;                  /* end (page number) of the highest span handed out */
	struct mm_fixalloc spans;
	struct mm_fixalloc caches;
	struct mm_cache *allcaches;         /* every live cache, for statistics */
	uintptr_t ncaches;                  /* how many (cache.c: a cache's bound) */
	/* page counts */
	uintptr_t pages_sys, pages_inuse, pages_idle, pages_released;
	uint64_t sys;                       /* all bytes mapped, heap and records */
	uint64_t large_nmalloc, large_nfree;
	uint64_t nscavenge;
	uint64_t auto_idle_ns;              /* mm_auto_scavenge: 0 or the idle limit */
	uint64_t last_pass;                 /* when the last pass ran */
	uintptr_t retain_floor;             /* mm_scavenge_bound: backed idle pages always kept, */
	uint32_t retain_pct, bound_on;      /* ... plus this % of the pages in use; on/off */
	uint64_t released_idle, released_bound; /* pages released by idle passes, by the bound */
	uint64_t nbound;                    /* passes the bound started */
	/* counts folded in from released caches: allocations, objects still out */
	uint64_t class_nmalloc[MM_NUM_CLASSES_MAX], class_out[MM_NUM_CLASSES_MAX];
	const char *error;                  /* last non-fatal error (arena refusal) */
};
extern struct mm_heap mm_heap;
struct mm_span *mm_heap_alloc(uintptr_t npages, uint32_t cl, uintptr_t align_pages);
struct mm_span *mm_heap_alloc_warm(uintptr_t npages); /* only from backed pages used before, or NULL */
void mm_heap_free(struct mm_span *s);
void mm_heap_free_held(struct mm_span *s, uint64_t *nmalloc); /* a cache's held spans (linked by left) */
void mm_heap_free_locked(struct mm_span *s);
int mm_heap_resize(struct mm_span *s, uintptr_t npages); /* large, in place; 0 ok */
struct mm_span *mm_heap_span_alloc(void);
void mm_heap_span_free(struct mm_span *s);
void mm_heap_walk_free(void (*fn)(struct mm_span *, void *), void *arg); /* heap locked */
uintptr_t mm_heap_flush_kept(void); /* kept spans to the free structure; returns pages (heap locked) */
int mm_heap_idle_beside(const struct mm_span *s); /* a free or kept neighbour (heap locked) */
void mm_heap_walk_large(int desc, int (*fn)(struct mm_span *, void *), void *arg); /* heap locked */
void *mm_heap_alloc_records(uintptr_t npages); /* record memory from a free span (heap locked) */

/* ---- central (central.c) ---- */
struct mm_central {
	struct mm_lock lock;
	uint32_t sizeclass;
	struct mm_span nonempty;  /* spans with free objects */
	struct mm_span empty;     /* spans with none (all in caches or live) */
	struct mm_span idle;      /* spans with no object out, kept as new (central.c: keep_idle) */
	uint64_t nspans;          /* spans held, on the three lists */
	uint32_t nidle;           /* spans on idle */
	uint64_t nmalloc, nfree;  /* objects that went around the caches (no cache) */
	uint32_t ntransfer;       /* full batches parked below */
	void *transfer[MM_TRANSFER_SLOTS]; /* batches given back whole, handed out whole */
} __attribute__((aligned(64)));
extern struct mm_central mm_central[MM_NUM_CLASSES_MAX];
extern uintptr_t mm_transfer_bytes; /* bytes parked in transfer slots, every class (atomic) */
extern uintptr_t mm_spare_pages;    /* pages of idle spans central keeps, every class (atomic) */
void mm_central_init(void);
/* Take up to n objects of class cl as a list; returns the count (0: no memory). */
uint32_t mm_central_alloc(uint32_t cl, uint32_t n, void **head);
/* Give back the first n objects of a list of class cl (linked through their first
 * word, each holding the free key); returns the rest of the list.  park: a whole
 * batch may wait in a transfer slot. */
void *mm_central_free(uint32_t cl, void *head, uint32_t n, int park);
/* Put every parked batch back into its spans (a cache flush or release, mm_scavenge). */
void mm_central_drain(void);
/* One object without a cache (counted here); NULL when out of memory. */
void *mm_central_alloc_one(uint32_t cl);
void mm_central_free_one(uint32_t cl, void *v);

/*
 * The free key (double frees in every build).  A free small object's first
 * word is its free-list link; the second holds mm_free_key, a per-process
 * random value (malloc.c, at init), from the moment it goes on a cache
 * list or a span's free list until it is handed out again, when the word
 * is cleared.  free finds the key in an object only if it is free already
 * (or, rarely, if a live object holds those bytes by chance): the slow
 * confirmation looks the object up in the lists before it reports.  Every
 * class holds two words (the smallest class is 2 * sizeof(void *)).
 */
extern uintptr_t mm_free_key;
/* free(v) found the key in v: panic if v is provably free already, else free it. */
void mm_cache_free_suspect(struct mm_cache *c, uint32_t cl, void *v);
/* Is v on its span's free list, parked in central, or never carved?  Takes central's lock. */
int mm_central_holds(uint32_t cl, void *v);
__attribute__((noreturn)) void mm_double_free(void *v, uint32_t size);
/*
 * Objects are aligned to two words, so a free-list link with a low bit set
 * was written after its object was freed: malloc stops there (glibc checks
 * its tcache links the same way) instead of handing out a wild pointer.
 */
#define MM_LINK_MISALIGNED ((uintptr_t)(2 * sizeof(void *) - 1))
__attribute__((noreturn)) void mm_bad_link(void *v, void *next, uint32_t size);

/*
 * Does offset so in a span of a class start an object?  On 64-bit hosts
 * one multiply: with m = 2^64 / size rounded up, so is a multiple of size
 * exactly when so * m (mod 2^64) < m, for every 32-bit so and size
 * (Lemire, Kaser and Kurz, "Faster remainder by direct computation", 2019).
 * 32-bit hosts multiply by ceil(2^32 / size) and back.  The zero test
 * (class 0, and mm_cache_none's lists) says no to every offset.
 */
#if UINTPTR_MAX > 0xffffffffu
struct mm_starts {
	uint64_t m;
};
static inline int mm_starts_at(const struct mm_starts *t, uintptr_t so)
{
	return (uint64_t)so * t->m < t->m;
}
#else
struct mm_starts {
	uint32_t divmul, size;
};
static inline int mm_starts_at(const struct mm_starts *t, uintptr_t so)
{
	return t->size != 0 && (((uint64_t)so * t->divmul) >> 32) * t->size == so;
}
#endif
extern struct mm_starts mm_class_starts_at[MM_NUM_CLASSES_MAX]; /* malloc.c, at init */
static inline int mm_class_starts(uint32_t cl, uintptr_t so)
{
	return mm_starts_at(&mm_class_starts_at[cl], so);
}

/* ---- cache (cache.c) ---- */
/*
 * Every cache list ends at mm_list_end, not NULL: an empty list's head is
 * mm_list_end, whose link is odd, so the pop's link check (one test) sends
 * both an empty list and a link written after a free to the slow path.
 * Chains handed to a cache (a run from central, a parked batch) end there
 * too; a span's own free list ends at NULL.  Never written: the pop writes
 * only after the link passed, the push writes the object it links.
 */
struct mm_list_end {
	_Alignas(2 * sizeof(void *)) uintptr_t link[2];
};
extern const struct mm_list_end mm_list_end;
#define MM_LIST_END ((void *)&mm_list_end)
/*
 * A cache list counts on its fast paths only what it must: allocations
 * served (nmalloc, which the statistics need anyway) and pushes left before
 * a slow path looks at the list (room).  The objects that came in (frees,
 * refills, less what went back) are lim - room, where lim is nmalloc as of
 * the last slow path plus the list's limit; the length is that less
 * nmalloc.  So a pop writes one counter and a push one, and a push tests
 * room against 0: early (pops since lim was set make room for more), never
 * late.  Bytes held and low-water marks are worked out in the slow paths
 * (cache.c).
 */
struct mm_cachelist {
	void *head;
	uint64_t nmalloc;            /* allocations served (frees are derived: stats.c) */
	int64_t room;                /* pushes left before a slow path (<= 0: maybe over max) */
	uint64_t lim;                /* nmalloc as of the last slow path + max */
	struct mm_starts starts;     /* the class's object-start test, copied here for free (0: none) */
};
struct mm_cache {
	struct mm_cachelist list[MM_NUM_CLASSES_MAX];
	uintptr_t bytes;             /* bytes in the lists, each as of its last slow path */
	uint32_t nslow;              /* refills and overflows, for MM_CACHE_RECOUNT */
	uint32_t max[MM_NUM_CLASSES_MAX];          /* a list's limit, grown by misses */
	uint32_t synced[MM_NUM_CLASSES_MAX];       /* its length as counted in bytes */
	uint32_t trim_n[MM_NUM_CLASSES_MAX];       /* length at the last trim (0 after a refill) */
	uint32_t trim_nmalloc[MM_NUM_CLASSES_MAX]; /* (uint32_t)nmalloc at the last trim */
	uint64_t taken[MM_NUM_CLASSES_MAX];    /* objects fetched from central */
	uint64_t returned[MM_NUM_CLASSES_MAX]; /* objects given back to central */
	struct mm_cache *next, *prev;/* mm_heap.allcaches */
	uintptr_t bound;             /* its bound on bytes in the lists, as of the last recount */
	/* large spans freed here and held whole (state MM_SPAN_CACHED) for the
	 * next request of their page count, newest first, linked by `left` */
	struct mm_span *large[MM_CACHE_LARGE_PAGES + 1];
	uintptr_t large_pages;       /* their pages */
	uint32_t nlarge;             /* how many */
	uint64_t large_nmalloc;      /* large requests they served */
};
static inline uint32_t mm_cachelist_len(const struct mm_cachelist *l)
{
	return (uint32_t)(l->lim - (uint64_t)l->room - l->nmalloc);
}
/* No cache: every list empty and full, so both fast paths miss (mm_sys_cache_peek). */
extern struct mm_cache mm_cache_none;
void *mm_cache_refill(struct mm_cache *c, uint32_t cl);     /* list empty: get a batch */
void mm_cache_overflow(struct mm_cache *c, uint32_t cl);    /* list or cache too long */
struct mm_span *mm_cache_large_take(struct mm_cache *c, uintptr_t npages); /* a held span, or NULL */
int mm_cache_large_put(struct mm_cache *c, struct mm_span *s); /* hold large span s; 0: not taken */
int mm_cache_large_flush(struct mm_cache *c);                  /* all held spans back; 1 if any */
uintptr_t mm_cache_bytes(const struct mm_cache *c);         /* bytes held in its lists, exactly */
uint32_t mm_cache_lowmark(const struct mm_cache *c, uint32_t cl); /* fewest held since the last trim, at least */

/*
 * The fast paths.  mm_cache_pop takes the head of list cl, or returns NULL
 * (list empty: its head is mm_list_end; or a head whose link was written
 * after the free) and leaves those cases to mm_cache_alloc, out of line in
 * the slow paths.
 */
static inline void *mm_cachelist_pop(struct mm_cachelist *l)
{
	void *v = l->head, *next = *(void **)v; /* never NULL: mm_list_end at worst */
	if (mm_unlikely((uintptr_t)next & MM_LINK_MISALIGNED))
		return 0;
	l->head = next;
	((uintptr_t *)v)[1] = 0; /* no longer free: drop the key */
	l->nmalloc++;
	return v;
}

static inline void *mm_cache_pop(struct mm_cache *c, uint32_t cl)
{
	return mm_cachelist_pop(&c->list[cl]);
}

static inline void *mm_cache_alloc(struct mm_cache *c, uint32_t cl)
{
	void *v = mm_cache_pop(c, cl);
	if (mm_likely(v != 0))
		return v;
	v = c->list[cl].head;
	if (v != MM_LIST_END)
		mm_bad_link(v, *(void **)v, mm_class_size[cl]);
	return mm_cache_refill(c, cl);
}

/* Link v on l, marked free with key (room is the caller's to count). */
static inline void mm_cachelist_put(struct mm_cachelist *l, void *v, uintptr_t key)
{
	uintptr_t *w = v;
	w[1] = key; /* before the link: two stores, not one vector store (gcc's SLP) */
	w[0] = (uintptr_t)l->head;
	l->head = v;
}

/* Push v (known not to be free) on its list; 1: maybe over its limit. */
static inline int mm_cache_push_only(struct mm_cache *c, uint32_t cl, void *v)
{
	struct mm_cachelist *l = &c->list[cl];
	mm_cachelist_put(l, v, mm_free_key);
	return mm_unlikely(--l->room < 0);
}

static inline void mm_cache_push(struct mm_cache *c, uint32_t cl, void *v)
{
	if (mm_cache_push_only(c, cl, v))
		mm_cache_overflow(c, cl);
}

/* Free v into the cache: a key already in place means it may be free already. */
static inline void mm_cache_free(struct mm_cache *c, uint32_t cl, void *v)
{
	if (mm_unlikely(((uintptr_t *)v)[1] == mm_free_key)) {
		mm_cache_free_suspect(c, cl, v); /* panics, or pushes v itself */
		return;
	}
	mm_cache_push(c, cl, v);
}

/* ---- the entry points' fast paths (malloc.c has the rest) ---- */
#ifdef MM_DEBUG
/*
 * Debug builds (malloc.c): every small object handed out is marked in its
 * span, with the size asked for; the bytes from that size to the end of the
 * object hold a canary, and a free object's bytes after its two list words
 * hold poison.  The canary is checked when the object is freed (and its
 * neighbours' red zones with it), the poison when it is handed out again,
 * and both by mm_check.
 */
void mm_debug_alloc(void *p, size_t n);
void mm_debug_free(struct mm_span *s, void *p);
void mm_debug_new_span(struct mm_span *s);                 /* central: poison it all */
int mm_debug_check_span(struct mm_span *s, char *buf, size_t len); /* mm_check */
#define MM_DEBUG_ALLOC(p, n) do { if (p) mm_debug_alloc(p, n); } while (0)
#define MM_DEBUG_FREE(s, p) mm_debug_free(s, p)
#else
#define MM_DEBUG_ALLOC(p, n) ((void)0)
#define MM_DEBUG_FREE(s, p) ((void)0)
#endif
/* mm_check: is large span s's canary (malloc.c, every build) broken?  Then 1, described in buf. */
int mm_check_large(struct mm_span *s, char *buf, size_t len);
void *mm_malloc_slow(size_t n);
int mm_free_slow(void *p, int tolerant);

/*
 * A host whose mm_sys_cache_put does nothing may define the macro
 * mm_sys_cache_peek(): the calling thread's cache if it has one already,
 * else &mm_cache_none (never NULL), inline and without making one (the
 * slow path's mm_sys_cache_get makes it).  The fast paths then call nothing
 * but their miss, so a hit needs no stack frame, and test for no cache
 * only as a miss.
 */
#ifdef mm_sys_cache_peek
#define MM_CACHE_NEVER_NULL 1 /* peek gives &mm_cache_none, not NULL */
#else
#define mm_sys_cache_peek() mm_sys_cache_get()
#define MM_CACHE_NEVER_NULL 0
#endif

/*
 * Every use of a cache is bracketed: c = mm_sys_cache_get(); ...;
 * mm_sys_cache_put(c).  Between the two the calling thread cannot move to
 * another CPU (the host's get disables preemption or interrupts where it
 * must), so a per-CPU cache is never used by two CPUs at once.
 */

/*
 * malloc: a cache hit is a table lookup, a pop and a return.  Everything
 * else (large sizes, no cache yet, an empty list, a bad link, debug builds'
 * marks) is miss(n), called last so that it is a jump: the hit needs no
 * stack frame.  miss is mm_malloc_slow or a wrapper of it.
 */
static inline void *mm_malloc_fast(size_t n, void *(*miss)(size_t))
{
#ifndef MM_DEBUG
	_Static_assert(MM_GUARD_ABOVE <= 1024, "mm_size_to_list covers every size the fast path takes");
	if (mm_likely(n <= MM_GUARD_ABOVE)) { /* above: the guard's classes, always slow */
		struct mm_cache *c = mm_sys_cache_peek();
		void *v = 0;
		if (MM_CACHE_NEVER_NULL || mm_likely(c != 0)) /* the list by its byte offset, no
							       * multiply (0: the zero class's, empty) */
			v = mm_cachelist_pop((struct mm_cachelist *)((char *)c +
								     mm_size_to_list[n]));
		mm_sys_cache_put(c);
		if (mm_likely(v != 0))
			return v;
	}
#endif
	return miss(n);
}

/*
 * The class map (classmap.c): for each page of a window of the arena, where
 * the list of the small span's class lies in a cache (the byte offset of
 * c->list[cl]; 0: no small span here).  So free finds its list with one
 * add, and the list carries the class's object-start test.  Only one-page
 * spans are recorded (every class free's fast path takes has one page:
 * MM_ONE_PAGE_CLASSES), so an object's offset in its span is its offset in
 * its page.  Set when central gets a span from the heap and cleared when it
 * goes back (heap lock held); free reads it without a lock, and only for
 * pages of objects it holds, whose span cannot go back meanwhile.
 * Invariant: [mm_classmap_base, + mm_classmap_bytes) is mapped, and never
 * more than was reserved for it.  Spans of guarded classes (release builds)
 * are not recorded: their frees take the slow path, which checks the trailer.
 */
extern uint16_t *mm_classmap;
extern uintptr_t mm_classmap_base, mm_classmap_bytes;

void mm_classmap_init(uintptr_t base, uintptr_t size); /* reserve for [base, base+size) */
void mm_classmap_cover(uintptr_t end);                  /* arena mapped up to end */
void mm_classmap_set(const struct mm_span *s, uint32_t cl);
uintptr_t mm_classmap_wrong(const struct mm_span *s, uint32_t cl); /* mm_check: 0, or a wrong page + 1 */

/*
 * free: the class map gives the list; a pointer that really starts an
 * object of its span (checked by multiplying, not dividing) and holds no
 * key goes on the cache.  Everything else (outside the class map, NULL,
 * large objects, bad pointers, a key in place, no cache, debug builds) is
 * miss(p), called last (a jump): mm_free_slow, or a wrapper of it.
 */
static inline void mm_free_fast(void *p, void (*miss)(void *))
{
#ifndef MM_DEBUG /* debug builds mark every object in its span: the slow path */
	struct mm_cache *c = mm_sys_cache_peek();
	uintptr_t off = (uintptr_t)p - mm_classmap_base;
	if (mm_likely((MM_CACHE_NEVER_NULL || c != 0) && off < mm_classmap_bytes)) {
		uintptr_t so = off & (MM_PAGE_SIZE - 1); /* recorded spans have one page */
		struct mm_cachelist *l = (struct mm_cachelist *)((char *)c + mm_classmap[off >> MM_PAGE_SHIFT]);
		uintptr_t *w = p, key = mm_free_key;
		/* list 0 (no small span here) has a test that says no; room 0: maybe over */
		if (mm_likely(mm_starts_at(&l->starts, so) && w[1] != key && l->room > 0)) {
			mm_cachelist_put(l, p, key);
			l->room--;
			mm_sys_cache_put(c);
			return;
		}
	}
	mm_sys_cache_put(c);
#endif
	miss(p);
}

/* mm_free_slow for free: a pointer the heap does not know panics. */
void mm_free_miss(void *p);

/* ---- statistics (stats.c) ---- */
void mm_read_stats_locked(struct mm_stats *st);

/* ---- scavenger (scavenge.c) ---- */
uint64_t mm_scavenge_locked(uint64_t now, uint64_t idle_ns);
void mm_scavenge_policy_locked(uint64_t now); /* after a span was freed: limit and bound */
uint64_t mm_scavenge_bound_bytes(void);       /* the idle bound now (0: none); heap locked */
int mm_scavenge_over_bound(void);             /* backed idle pages past the bound; heap locked */
int mm_scavenge_shrinking_hint(void);         /* backed idle above a bound pass's target (no lock) */

/* ---- errors and formatting (print.c) ---- */
/* Format into buf: %s %p %x %u %d (uintptr_t-sized for p/x/u, int for d). */
size_t mm_format(char *buf, size_t len, const char *fmt, ...);
/* mm_throw(fmt, ...): format into mm_throw_msg (static: the core may be broken)
 * and hand it to the host, which does not return (sys.h: which panics may hold a lock). */
extern char mm_throw_msg[320];
#define mm_throw(...) \
	(mm_format(mm_throw_msg, sizeof mm_throw_msg, __VA_ARGS__), mm_sys_panic(mm_throw_msg))

/* ---- global state (malloc.c) ---- */
extern volatile int mm_inited;
extern int mm_memory_dirty;  /* mm_config.memory_not_zeroed: fresh pages may hold old bytes */
int mm_init_once(void);

#ifdef __ELF__
#pragma GCC visibility pop
#endif
#endif
