/*
 * mm.h - the public interface of libmm, a tcmalloc-style allocator for hobby
 * kernels and hosted programs.  See mm/internal.h for how it works inside and
 * mm/sys.h for what a host must provide.
 */
#ifndef MM_H
#define MM_H

#include <stddef.h>
#include <stdint.h>

#define MM_NUM_CLASSES_MAX 80 /* room for the classes: 60 used, plus the unused class 0 */

struct mm_cache;

/* Statistics.  All byte counts; they add up: heap_sys == heap_inuse + heap_idle. */
struct mm_stats {
	uint64_t sys;           /* everything obtained from mm_sys_map */
	uint64_t heap_sys;      /* bytes of pages held by the heap */
	uint64_t heap_inuse;    /* bytes in spans with objects (small or large) */
	uint64_t heap_idle;     /* bytes in free spans */
	uint64_t heap_released; /* bytes of free spans given back by the scavenger */
	uint64_t heap_kept;     /* bytes of large blocks freed and kept whole for reuse (in heap_idle) */
	uint64_t heap_objects;  /* live objects == nmalloc - nfree */
	uint64_t nmalloc;       /* allocations so far */
	uint64_t nfree;         /* frees so far */
	uint64_t records_sys;      /* bytes used for the allocator's own records */
	uint64_t cache_bytes;   /* bytes of free objects sitting in caches */
	uint64_t cache_large_bytes; /* bytes of large blocks freed and held whole by caches for reuse (in heap_inuse) */
	uint64_t transfer_bytes;/* bytes of free objects parked whole in central (mm_scavenge drains them) */
	uint64_t spare_bytes;   /* bytes of central's spare spans, no object out (in heap_inuse; mm_scavenge frees them) */
	uint64_t nscavenge;     /* scavenger passes (idle limit, mm_scavenge, auto) */
	uint64_t released_idle; /* bytes those passes released (cumulative) */
	uint64_t released_bound;/* bytes the idle bound released (cumulative, mm_scavenge_bound) */
	uint64_t nbound;        /* passes the idle bound started */
	uint64_t idle_bound;    /* backed idle bytes allowed now (0: no bound) */
	uintptr_t arena_start;  /* first byte of the arena */
	uintptr_t arena_used;   /* end of the mapped part of the current region */
	uintptr_t arena_end;    /* end of the reserved range */
	int arena_policy;       /* MM_ARENA_64, MM_ARENA_32 or MM_ARENA_CHUNKS */
	int nclasses;           /* size classes in use (class 0 is unused; the last is the zero
				 * class, malloc(0) in release builds, out of size order) */
	struct {
		uint32_t size;      /* object size */
		uint32_t npages;    /* pages per span */
		uint64_t nmalloc;
		uint64_t nfree;
	} by_class[MM_NUM_CLASSES_MAX];
};

/* Allocation.  All return NULL when memory runs out; the heap stays whole. */
void *mm_malloc(size_t n);
void mm_free(void *p);
int mm_free_if_ours(void *p); /* as mm_free; a pointer never from this heap: -1, untouched */
void *mm_calloc(size_t count, size_t size);
void *mm_realloc(void *p, size_t n);
void *mm_aligned_alloc(size_t align, size_t n); /* align: a power of two */
size_t mm_usable_size(const void *p);           /* 0 for NULL */

/* Inspection and upkeep. */
void mm_read_stats(struct mm_stats *st);
uint64_t mm_scavenge(uint64_t idle_ns); /* release spans idle > idle_ns; returns bytes */
/* Let the heap run a pass itself, from its slow path, every idle_ns / 2 (0: never, the default). */
void mm_auto_scavenge(uint64_t idle_ns);
/*
 * Bound backed idle memory: when a freed span leaves more than floor_bytes +
 * percent % of heap_inuse bytes of free pages still backed, release the
 * largest free spans at once, down to half the floor above the percent part
 * (0, 0: no bound, the default in the core; the hosted build sets one).
 */
void mm_scavenge_bound(uint64_t floor_bytes, uint32_t percent);
int mm_check(void);                     /* 0: all invariants hold */
const char *mm_check_error(void);       /* the first violation mm_check found */
const char *mm_last_error(void);        /* last non-fatal error (arena refusal), or NULL */
int mm_owns(const void *p);             /* 1 if p is the start of a live object */
/* One line (no newline): "mm: scvg N: inuse: .. idle: .. sys: .. released: .. consumed: .. (MB)". */
size_t mm_trace_format(char *buf, size_t len, uint64_t released);

/* Configuration, optional: call before the first allocation, or never. */
/*
 * Arena policies.  64: reservations of arena_size (default 64 MiB) as the
 * heap grows, contiguous from a fixed hint where possible, falling back to 32
 * if the first is refused (a kernel may ask for one big reservation).  32: 256 MiB steps grown
 * contiguously up to MaxArena32 (2 GiB) from the first reservation.
 * CHUNKS: for hosts without virtual memory (a fixed pool, liballoc's
 * page hooks): reserve chunks of max(request, arena_size) (default 1 MiB)
 * wherever the host likes; no window.  A span lies inside one reservation,
 * so a request of n pages needs n contiguous pages from one mm_sys_reserve;
 * when the host has none, the allocation returns NULL and mm_last_error()
 * names the request.  A host without virtual memory must choose CHUNKS:
 * the default (64/32) asks for hundreds of MiB of address space at once.
 */
enum { MM_ARENA_AUTO = 0, MM_ARENA_64 = 1, MM_ARENA_32 = 2, MM_ARENA_CHUNKS = 3 };
struct mm_config {
	int arena_policy;      /* MM_ARENA_AUTO: 64 or 32 by pointer width */
	uintptr_t arena_hint;  /* where to ask for the arena (page aligned); 0: the default */
	size_t arena_size;     /* see above (a multiple of the page); 0: the policy's default */
	/*
	 * 1: memory from mm_sys_map may hold old bytes (a pool that is not
	 * .bss, RAM a boot loader used): the core clears what it relies on
	 * (its records, the class map, large calloc).  0: fresh pages read zero.
	 */
	int memory_not_zeroed;
	/*
	 * Called when an allocation of n bytes is about to return NULL, after
	 * the core flushed the calling context's own cache; no lock held,
	 * outside any mm_sys_cache_get/put bracket.  The host makes every other
	 * CPU give its cache back (each runs mm_cache_flush on its own cache:
	 * an IPI, or a flag each CPU polls) and returns 1 to have the core try
	 * once more, 0 to fail now.  NULL: no hook (the core still retries once
	 * if its own cache held objects).
	 */
	int (*reclaim)(size_t n);
};
/* 0 on success; -1 with the reason in mm_last_error() (a bad field, named;
 * a refused first reservation; called after the allocator was set up). */
int mm_init(const struct mm_config *cfg);

/* Caches, for hosts (see mm_sys_cache_get in mm/sys.h). */
struct mm_cache *mm_cache_new(void);          /* NULL when out of memory */
void mm_cache_release(struct mm_cache *c);    /* return its objects and the record */
void mm_cache_flush(struct mm_cache *c);      /* return its objects, keep the record */

/* Fork support for hosted builds: take every lock, then release them. */
void mm_lock_all(void);
void mm_unlock_all(void);

/* Memory primitives the core carries with it (no libc). */
void *mm_memset(void *d, int c, size_t n);
void *mm_memcpy(void *d, const void *s, size_t n);

#endif
