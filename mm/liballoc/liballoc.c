/*
 * liballoc/liballoc.c - the liballoc adapter: a kernel that already provides
 * liballoc's four hooks links this file and libmm.a and gets liballoc's
 * malloc/free/calloc/realloc with libmm underneath.  It is not part of the
 * core; it implements all ten mm_sys_* hooks on top of the four:
 *
 *   int   liballoc_lock(void);                    0 when the lock is taken
 *   int   liballoc_unlock(void);
 *   void *liballoc_alloc(size_t pages);           page-aligned, or NULL
 *   int   liballoc_free(void *ptr, size_t pages); exactly what alloc gave
 *
 * Locking.  liballoc has one lock and calls it once per malloc/free; libmm
 * takes a central lock and then the heap lock inside one call.  Every entry
 * point here takes liballoc_lock once, for the whole call, exactly as
 * liballoc does; the mm_sys_lock hooks only count nesting under it.  So all
 * of libmm runs under liballoc's lock (no more concurrent than liballoc, but
 * with size classes, a cache and O(1) frees), one global cache is safe, and
 * liballoc_alloc/liballoc_free are called with the lock held, as liballoc
 * does.  If the kernel's interrupt handlers allocate, liballoc_lock must
 * disable interrupts (the same rule as for liballoc itself).
 * Call libmm only through this file's functions: a bare mm_malloc takes the
 * lock through mm_sys_lock, which is safe on one CPU, but on several CPUs
 * it could see another CPU's nesting count and skip the lock.
 *
 * Memory.  Pages from liballoc_alloc may lie anywhere, so the arena uses
 * MM_ARENA_CHUNKS: each reservation is one liballoc_alloc of at least
 * MM_LIBALLOC_CHUNK bytes (default 1 MiB), zeroed here because libmm needs
 * never-used memory to read as zero.  Pages stay with libmm: liballoc has no
 * way to give back part of an allocation, so the scavenger releases nothing
 * (mm_sys_unused keeps the pages and says so).
 *
 * Names.  By default the entry points are liballoc's plain names (malloc,
 * free, calloc, realloc).  Build with -DMM_LIBALLOC_PREFIX=k for kmalloc,
 * kfree, kcalloc, krealloc, as liballoc's PREFIX() macro does.  The extras
 * below (mm_liballoc_*) have fixed names.
 *
 * Panics.  liballoc has no panic hook.  If the kernel defines
 * void mm_liballoc_panic(const char *msg) (weak here), a bad free or a
 * corrupted heap calls it with a one-line message; otherwise the CPU traps
 * (ud2) at the fault.
 */
#include "../mm.h"
#include "../sys.h"
#include "../sys_ram.h"

#ifdef MM_LIBALLOC_PREFIX
#define LA_CAT2(a, b) a##b
#define LA_CAT(a, b) LA_CAT2(a, b)
#define LA_NAME(f) LA_CAT(MM_LIBALLOC_PREFIX, f)
#else
#define LA_NAME(f) f
#endif

#ifndef MM_LIBALLOC_CHUNK
#define MM_LIBALLOC_CHUNK 0 /* 0: the CHUNKS policy's default (1 MiB) */
#endif

/* liballoc's hooks, provided by the kernel. */
int liballoc_lock(void);
int liballoc_unlock(void);
void *liballoc_alloc(size_t pages);
int liballoc_free(void *ptr, size_t pages);

/* Optional: the kernel's panic.  Must not return. */
void mm_liballoc_panic(const char *msg) __attribute__((weak, noreturn));

/* The adapter's entry points and extras (also declared for the kernel to copy). */
void *LA_NAME(malloc)(size_t n);
void LA_NAME(free)(void *p);
void *LA_NAME(calloc)(size_t count, size_t size);
void *LA_NAME(realloc)(void *p, size_t n);
void *mm_liballoc_aligned_alloc(size_t align, size_t n);
size_t mm_liballoc_usable_size(const void *p);
int mm_liballoc_check(void);
const char *mm_liballoc_check_error(void);
void mm_liballoc_read_stats(struct mm_stats *st);

/*
 * Adapter state, all under liballoc's lock.  depth counts how deep the
 * current holder is: 1 inside an entry point, +1 for each mm_sys_lock.
 */
static unsigned depth;
static int ready;              /* mm_init succeeded */
static int tried;              /* mm_init was attempted */
static struct mm_cache *cache; /* the one cache, used only under the lock */
static uint64_t ticks;         /* mm_sys_nanotime: a counter */

/* Takes liballoc's lock for one entry point; initialises libmm on first use. */
static int enter(void)
{
	liballoc_lock();
	depth++;
	if (!tried) {
		struct mm_config cfg = {
			.arena_policy = MM_ARENA_CHUNKS,
			.arena_size = MM_LIBALLOC_CHUNK,
		};
		tried = 1;
		if (mm_init(&cfg) == 0) {
			ready = 1;
			cache = mm_cache_new(); /* NULL is fine: no cache */
		}
	}
	return ready;
}

static void leave(void)
{
	depth--;
	liballoc_unlock();
}

void *LA_NAME(malloc)(size_t n)
{
	void *p = 0;
	if (enter())
		p = mm_malloc(n);
	leave();
	return p;
}

void LA_NAME(free)(void *p)
{
	if (p == 0)
		return;
	if (enter())
		mm_free(p);
	leave();
}

void *LA_NAME(calloc)(size_t count, size_t size)
{
	void *p = 0;
	if (enter())
		p = mm_calloc(count, size);
	leave();
	return p;
}

/* liballoc's realloc: (NULL, n) allocates; (p, 0) frees p and returns NULL. */
void *LA_NAME(realloc)(void *p, size_t n)
{
	void *q = 0;
	if (enter()) {
		if (p != 0 && n == 0)
			mm_free(p);
		else
			q = mm_realloc(p, n);
	}
	leave();
	return q;
}

void *mm_liballoc_aligned_alloc(size_t align, size_t n)
{
	void *p = 0;
	if (enter())
		p = mm_aligned_alloc(align, n);
	leave();
	return p;
}

size_t mm_liballoc_usable_size(const void *p)
{
	size_t n = 0;
	if (enter())
		n = mm_usable_size(p);
	leave();
	return n;
}

/* mm_check under the lock; 0 when every invariant holds (or nothing was allocated). */
int mm_liballoc_check(void)
{
	int rc = 0;
	if (enter())
		rc = mm_check();
	leave();
	return rc;
}

const char *mm_liballoc_check_error(void)
{
	const char *e = "libmm not initialised";
	if (enter())
		e = mm_check_error();
	leave();
	return e;
}

void mm_liballoc_read_stats(struct mm_stats *st)
{
	if (enter())
		mm_read_stats(st);
	else
		mm_memset(st, 0, sizeof *st);
	leave();
}

/* ---- the ten hooks of mm/sys.h ---- */

/* A reservation is one liballoc_alloc; hint is ignored (CHUNKS has none). */
void *mm_sys_reserve(void *hint, size_t n)
{
	size_t pages = (n + MM_PAGE_SIZE - 1) >> MM_PAGE_SHIFT;
	char *p;

	(void)hint;
	p = liballoc_alloc(pages);
	if (p == 0)
		return 0;
	if ((uintptr_t)p & (MM_PAGE_SIZE - 1))
		mm_sys_panic("liballoc_compat: liballoc_alloc returned memory that is not page aligned");
	mm_memset(p, 0, pages << MM_PAGE_SHIFT); /* never-used pages must read as zero */
	return p;
}

/* Memory from liballoc_alloc is real already (and zeroed above), and nothing
 * can be given back piecemeal: map and unused do nothing (mm/sys_ram.h). */
MM_SYS_RAM_MAP_UNUSED();

void mm_sys_free(void *v, size_t n)
{
	liballoc_free(v, (n + MM_PAGE_SIZE - 1) >> MM_PAGE_SHIFT);
}

/* liballoc has no clock: a counter that moves one microsecond a call. */
uint64_t mm_sys_nanotime(void)
{
	ticks += 1000;
	return ticks;
}

/*
 * Nesting-aware: inside an entry point the caller already holds liballoc's
 * lock (depth >= 1) and this only counts.  A bare call into libmm (depth 0)
 * takes the lock here.
 */
void mm_sys_lock(struct mm_lock *l)
{
	(void)l;
	if (depth == 0)
		liballoc_lock();
	depth++;
}

void mm_sys_unlock(struct mm_lock *l)
{
	(void)l;
	if (--depth == 0)
		liballoc_unlock();
}

/* The one cache, but only inside an entry point, where the lock is held. */
struct mm_cache *mm_sys_cache_get(void)
{
	return depth > 0 ? cache : 0;
}

void mm_sys_cache_put(struct mm_cache *c)
{
	(void)c; /* liballoc's lock is held for the whole call */
}

void mm_sys_panic(const char *msg)
{
	if (mm_liballoc_panic)
		mm_liballoc_panic(msg);
	for (;;)
		__builtin_trap();
}
