/*
 * arena.c - the address range the heap grows into, and the policy for
 * getting more of it from the Sys layer.
 *
 * The arena is a current region [region, end) mapped up to `used`; the heap
 * takes pages at `used`.  Three policies (mm.h):
 *  64-bit  reservations of arena.step (64 MiB, Go's heap arena) as the heap
 *          needs them, the first at a fixed hint, each next one right at the
 *          end of the current region if the host allows, else a new region
 *          a few steps past what is in the way (extend64), else wherever the
 *          host puts it.  Address space follows the heap, so a
 *          process that lowers RLIMIT_AS after its first malloc can still
 *          map and start threads.  If the first is refused, fall back to the
 *          32-bit policy.  The class map describes the first 64 GiB from the
 *          first reservation (ARENA64_WINDOW); regions outside take the
 *          pagemap path in free.
 *  32-bit  a first reservation of 256 MiB (without a hint: at the start of a
 *          hole big enough for the whole window); when a request does not fit,
 *          extend contiguously at `end` in 256 MiB steps (the need rounded
 *          up) while the new end stays within start + MaxArena32 (2 GiB).
 *          Only if the range at `end` cannot be had, take memory anywhere,
 *          and keep it only inside [start, start + MaxArena32); otherwise give
 *          it back and fail, naming the address and the window.  The class
 *          map describes that whole window (1 MiB of map for 4 KiB pages).
 *  chunks  for hosts without paging: regions of max(request, arena.step)
 *          wherever the host puts them.
 * Past the limit the heap gets NULL and nothing allocated is disturbed.
 * Called with the heap lock held.
 */
#include "internal.h"

static struct mm_arena arena;

#define ARENA64_STEP  ((uintptr_t)64 << 20) /* one reservation of the 64-bit policy */
#if UINTPTR_MAX > 0xffffffffu
#define ARENA64_WINDOW ((uintptr_t)64 << 30) /* what the class map describes */
#if defined(__riscv)
#define ARENA64_HINT  ((uintptr_t)0x0020 << 32) /* 128 GiB: the arena fits Sv39's 256 GiB half */
#else
#define ARENA64_HINT  ((uintptr_t)0x00c0 << 32)
#endif
#else
#define ARENA64_WINDOW ((uintptr_t)1 << 30) /* the 64-bit policy, forced on 32-bit */
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
	arena.step = cfg->arena_size;
	if (arena.policy == MM_ARENA_AUTO)
		arena.policy = sizeof(void *) == 8 ? MM_ARENA_64 : MM_ARENA_32;

	if (arena.policy == MM_ARENA_64) {
		if (!arena.step)
			arena.step = ARENA64_STEP;
		while (arena.step & (arena.step - 1)) /* a power of two, for round_up */
			arena.step += arena.step & -arena.step;
		if (arena.step < MM_PAGE_SIZE)
			arena.step = MM_PAGE_SIZE;
		uintptr_t hint = arena.hint ? arena.hint : ARENA64_HINT;
		void *p = 0;
		if (arena.step < ARENA64_WINDOW) {
			/*
			 * Reserving in steps: first find where the class map's whole
			 * window fits (and give it back), so that the steps have room
			 * at their end.  A host that cannot hand out that much address
			 * space (a fixed pool, a low ulimit -v) gets the 32-bit policy.
			 */
			void *probe = mm_sys_reserve((void *)hint, ARENA64_WINDOW);
			if (probe) {
				mm_sys_free(probe, ARENA64_WINDOW);
				p = mm_sys_reserve(probe, arena.step);
			}
		} else {
			p = mm_sys_reserve((void *)hint, arena.step);
		}
		if (p) {
			set_region((uintptr_t)p, arena.step);
			mm_classmap_init((uintptr_t)p, ARENA64_WINDOW);
			return 0;
		}
		arena.policy = MM_ARENA_32; /* refused: behave like a 32-bit system */
		arena.step = 0;
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
		mm_classmap_init((uintptr_t)p, MM_MAX_ARENA32); /* the window every region stays in */
		return 0;
	}
	if (!arena.step)
		arena.step = CHUNK_SIZE;
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

/*
 * The 64-bit policy's next reservation: at the region's end (only what the
 * region lacks, in whole steps); if something else is mapped there, a new
 * region past it, at hints that skip 1, 2, 4, ... steps ahead (staying close
 * keeps the heap inside the class map's window and the arena's bounds
 * tight); else wherever the host puts it.
 */
#define SKIP_TRIES 16

static int extend64(uintptr_t need)
{
	uintptr_t lack = need - (arena.end - arena.used);
	uintptr_t size = round_up(lack, arena.step);
	void *p;
	if (size >= lack && arena.end + size > arena.end) {
		if (grow_at_end(size, &p) == 0)
			return 0;
		if (p)
			mm_sys_free(p, size);
	}
	size = round_up(need, arena.step);
	if (size < need)
		return -1;
	p = 0;
	for (uintptr_t i = 0, gap = arena.step; i < SKIP_TRIES && !p; i++, gap <<= 1) {
		uintptr_t hint = arena.end + gap;
		if (hint < arena.end || hint + size < hint)
			break;
		p = mm_sys_reserve((void *)hint, size);
		if (p && p != (void *)hint) {
			mm_sys_free(p, size);
			p = 0;
		}
	}
	if (!p)
		p = mm_sys_reserve(0, size);
	if (!p)
		return -1;
	set_region((uintptr_t)p, size);
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
		return extend64(need);
	default:
		/* Chunks: a span lies in one reservation, so `need` must come whole from one. */
		size = need > arena.step ? round_up(need, MM_PAGE_SIZE) : arena.step;
		p = mm_sys_reserve(0, size);
		if (!p && size > need)
			p = mm_sys_reserve(0, size = round_up(need, MM_PAGE_SIZE)); /* what is left */
		if (!p) {
			mm_format(errbuf, sizeof errbuf,
				  "mm: arena (MM_ARENA_CHUNKS): no %u contiguous bytes from mm_sys_reserve "
				  "for a request of %u pages (mm_config.arena_size %u)",
				  size, need >> MM_PAGE_SHIFT, arena.step);
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
	if (arena.policy == MM_ARENA_32 ||
	    (arena.policy == MM_ARENA_64 && arena.region - arena.start < ARENA64_WINDOW))
		mm_classmap_cover(arena.used); /* capped at the map's reservation */
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
void *mm_arena_records(size_t n)
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
