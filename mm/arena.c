/*
 * arena.c - the address range the heap grows into, and the policy for
 * getting more of it from the Sys layer.
 *
 * The arena is a current region [region, end) mapped up to `used`; the heap
 * takes pages at `used`.  Three policies (mm.h):
 *  64-bit  one reservation of arena.size (64 GiB) at a fixed hint; if that is
 *          refused (ulimit -v), fall back to the 32-bit policy.  When it is
 *          used up, a new region is reserved, contiguous if possible.
 *  32-bit  a first reservation of 256 MiB (without a hint: at the start of a
 *          hole big enough for the whole window); when a request does not fit,
 *          extend contiguously at `end` in 256 MiB steps (the need rounded
 *          up) while the new end stays within start + MaxArena32 (2 GiB).
 *          Only if the range at `end` cannot be had, take memory anywhere,
 *          and keep it only inside [start, start + MaxArena32); otherwise give
 *          it back and fail, naming the address and the window.
 *  chunks  for hosts without paging: regions of max(request, arena.size)
 *          wherever the host puts them.
 * Past the limit the heap gets NULL and nothing allocated is disturbed.
 * Called with the heap lock held.
 */
#include "internal.h"

static struct mm_arena arena;

#if UINTPTR_MAX > 0xffffffffu
#define ARENA64_SIZE  ((uintptr_t)64 << 30)
#if defined(__riscv)
#define ARENA64_HINT  ((uintptr_t)0x0020 << 32) /* 128 GiB: the arena fits Sv39's 256 GiB half */
#else
#define ARENA64_HINT  ((uintptr_t)0x00c0 << 32)
#endif
#else
#define ARENA64_SIZE  ((uintptr_t)1 << 30) /* the 64-bit policy, forced on 32-bit */
#define ARENA64_HINT  ((uintptr_t)0)
#endif
#define CHUNK_SIZE    ((uintptr_t)1 << 20)
#define GROW_MIN      ((uintptr_t)1 << 20) /* map at least this much at a time */

static uintptr_t round_up(uintptr_t v, uintptr_t to)
{
	return (v + to - 1) & ~(to - 1);
}

static char errbuf[160];

static void set_region(uintptr_t base, uintptr_t size)
{
	if (!arena.start)
		arena.start = base;
	else if (arena.end > arena.used && !arena.tail_pages) {
		/* the old region's unused end: the heap adopts it (mm_arena_tail) */
		arena.tail = arena.used;
		arena.tail_pages = (arena.end - arena.used) >> MM_PAGE_SHIFT;
	}
	arena.region = base;
	arena.used = base;
	arena.end = base + size;
	if (arena.end > arena.hi)
		arena.hi = arena.end;
}

/* The first reservation, by policy.  0 on success. */
int mm_arena_init(const struct mm_config *cfg)
{
	arena.policy = cfg->arena_policy;
	arena.hint = cfg->arena_hint;
	arena.size = cfg->arena_size;
	if (arena.policy == MM_ARENA_AUTO)
		arena.policy = sizeof(void *) == 8 ? MM_ARENA_64 : MM_ARENA_32;

	if (arena.policy == MM_ARENA_64) {
		if (!arena.size)
			arena.size = ARENA64_SIZE;
		uintptr_t hint = arena.hint ? arena.hint : ARENA64_HINT;
		void *p = mm_sys_reserve((void *)hint, arena.size);
		if (p) {
			set_region((uintptr_t)p, arena.size);
			mm_classmap_init((uintptr_t)p, arena.size);
			return 0;
		}
		arena.policy = MM_ARENA_32; /* refused: behave like a 32-bit system */
		arena.size = 0;
	}
	if (arena.policy == MM_ARENA_32) {
		if (!arena.hint) {
			/*
			 * No hint: find a hole that holds the whole window, and start
			 * there, so the steps at arena_end have room (a host that
			 * places mappings top-down would otherwise put the arena right
			 * under other mappings).  Go 1.0 started above the program's end.
			 */
			void *probe = mm_sys_reserve(0, MM_MAX_ARENA32);
			if (probe) {
				mm_sys_free(probe, MM_MAX_ARENA32);
				arena.hint = (uintptr_t)probe;
			}
		}
		void *p = mm_sys_reserve((void *)arena.hint, MM_ARENA_STEP32);
		if (!p)
			return -1;
		set_region((uintptr_t)p, MM_ARENA_STEP32);
		return 0;
	}
	if (!arena.size)
		arena.size = CHUNK_SIZE;
	return 0; /* chunks: reserved on demand */
}

/* Reserve size bytes right at the end of the region; else *other is where the host put them (or NULL). */
static int grow_at_end(uintptr_t size, void **other)
{
	void *p = mm_sys_reserve((void *)arena.end, size);
	*other = p;
	if (p != (void *)arena.end)
		return -1;
	arena.end += size;
	if (arena.end > arena.hi)
		arena.hi = arena.end;
	return 0;
}

/* A new region of at least `need` bytes past the current one.  0 on success. */
static int extend(uintptr_t need)
{
	void *p;
	uintptr_t size;

	switch (arena.policy) {
	case MM_ARENA_32:
		size = round_up(need - (arena.end - arena.used), MM_ARENA_STEP32);
		if (size >= need - (arena.end - arena.used) &&
		    arena.end + size > arena.end &&
		    arena.end + size - arena.start <= MM_MAX_ARENA32) {
			if (grow_at_end(size, &p) == 0)
				return 0;
			if (p)
				mm_sys_free(p, size);
		}
		/* The range at end is not to be had: anywhere, but inside the window. */
		size = round_up(need, MM_ARENA_STEP32);
		if (size < need)
			return -1;
		p = mm_sys_reserve(0, size);
		if (!p) {
			mm_format(errbuf, sizeof errbuf,
				  "mm: arena: no address space for %u bytes (window %p-%p)",
				  need, (void *)arena.start, (void *)(arena.start + MM_MAX_ARENA32));
			mm_heap.error = errbuf;
			return -1;
		}
		if ((uintptr_t)p < arena.start || (uintptr_t)p - arena.start > MM_MAX_ARENA32 ||
		    size > MM_MAX_ARENA32 - ((uintptr_t)p - arena.start)) {
			mm_sys_free(p, size);
			mm_format(errbuf, sizeof errbuf,
				  "mm: arena: memory at %p is outside the arena window %p-%p",
				  p, (void *)arena.start, (void *)(arena.start + MM_MAX_ARENA32));
			mm_heap.error = errbuf;
			return -1;
		}
		set_region((uintptr_t)p, size);
		return 0;
	case MM_ARENA_64:
		size = need > arena.size ? round_up(need, MM_ARENA_STEP32) : arena.size;
		if (grow_at_end(size, &p) == 0)
			return 0;
		if (!p) /* else the host put it elsewhere: a new region */
			p = mm_sys_reserve(0, size);
		if (!p)
			return -1;
		set_region((uintptr_t)p, size);
		return 0;
	default:
		/* Chunks: a span lies in one reservation, so `need` must come whole from one. */
		size = need > arena.size ? round_up(need, MM_PAGE_SIZE) : arena.size;
		p = mm_sys_reserve(0, size);
		if (!p && size > need)
			p = mm_sys_reserve(0, size = round_up(need, MM_PAGE_SIZE)); /* what is left */
		if (!p) {
			mm_format(errbuf, sizeof errbuf,
				  "mm: arena (MM_ARENA_CHUNKS): no %u contiguous bytes from mm_sys_reserve "
				  "for a request of %u pages (mm_config.arena_size %u)",
				  size, need >> MM_PAGE_SHIFT, arena.size);
			mm_heap.error = errbuf;
			return -1;
		}
		if (((uintptr_t)p & (MM_PAGE_SIZE - 1)) || (uintptr_t)p + size < (uintptr_t)p) {
			mm_format(errbuf, sizeof errbuf,
				  "mm: arena (MM_ARENA_CHUNKS): mm_sys_reserve(%u bytes) returned %p, "
				  "not a page-aligned range", size, p);
			mm_heap.error = errbuf;
			return -1;
		}
		set_region((uintptr_t)p, size);
		return 0;
	}
}

/*
 * Map at least npages new pages for the heap; returns their start and the
 * page count in *got, or NULL when the system or the arena's limit says no.
 */
void *mm_arena_grow(uintptr_t npages, uintptr_t *got)
{
	uintptr_t need = npages << MM_PAGE_SHIFT;
	if (need >> MM_PAGE_SHIFT != npages)
		return 0;
	struct mm_arena before = arena;
	if (arena.end - arena.used < need && extend(need) < 0)
		return 0;

	uintptr_t n = need < GROW_MIN ? GROW_MIN : need;
	if (n > arena.end - arena.used)
		n = arena.end - arena.used;
	void *v = (void *)arena.used;
	if (mm_sys_map(v, n) < 0 && (n == need || mm_sys_map(v, n = need) < 0)) {
		/* No memory behind it: give back what this call reserved, so the arena is as before. */
		if (arena.region != before.region)
			mm_sys_free((void *)arena.region, arena.end - arena.region);
		else if (arena.end != before.end)
			mm_sys_free((void *)before.end, arena.end - before.end);
		arena = before;
		return 0;
	}
	arena.used += n;
	mm_heap.sys += n;
	*got = n >> MM_PAGE_SHIFT;
	if (arena.region == mm_classmap_base)
		mm_classmap_cover(arena.used);
	return v;
}

/* Give back the pages the last mm_arena_grow mapped at v (the heap could not use them). */
void mm_arena_ungrow(void *v, uintptr_t npages)
{
	uintptr_t n = npages << MM_PAGE_SHIFT;
	if ((uintptr_t)v + n != arena.used)
		return;
	mm_sys_unused(v, n);
	arena.used = (uintptr_t)v;
	mm_heap.sys -= n;
}

/*
 * The reserved, never mapped end of a region the arena moved away from, for
 * the heap to take as a released free span (mapped when it is used); 0 if none.
 */
uintptr_t mm_arena_tail(uintptr_t *base)
{
	uintptr_t n = arena.tail_pages;
	*base = arena.tail;
	return n;
}

void mm_arena_tail_taken(void)
{
	arena.tail_pages = 0;
}

/* Memory for the allocator's own records: reserved and mapped apart from the arena. */
void *mm_sysalloc(size_t n)
{
	void *p = mm_sys_reserve(0, n);
	if (!p)
		return 0;
	if (mm_sys_map(p, n) < 0) {
		mm_sys_free(p, n);
		return 0;
	}
	if (mm_memory_dirty) /* records start zeroed */
		mm_memset(p, 0, n);
	mm_heap.sys += n;
	return p;
}

void mm_arena_stats(struct mm_stats *st)
{
	st->arena_start = arena.start;
	st->arena_used = arena.used;
	st->arena_end = arena.hi;
	st->arena_policy = arena.policy;
}
