/*
 * preload.c - libmm as a process's malloc: the C library's allocation entry
 * points (and glibc's extras) on top of the mm_* API, for libmm-malloc.so and
 * LD_PRELOAD.  Hosted builds only.  The thread caches, their destructor and
 * the fork handlers live in sys_hosted.c; this file only translates calls.
 *
 * Rules kept here (design.md, "Drop-in malloc"):
 *  - free keeps errno; allocation failures set ENOMEM; sizes that overflow
 *    (calloc, reallocarray) fail with ENOMEM instead of wrapping.
 *  - malloc(0) returns a unique pointer; realloc(p, 0) frees p and returns
 *    NULL, as glibc does; free(NULL) does nothing.
 *  - A pointer libmm does not own and that lies outside its arena (it came
 *    from another allocator) is never handed to the core: free ignores it,
 *    realloc fails with ENOMEM, malloc_usable_size says 0.  Debug builds
 *    (MM_DEBUG) report it on stderr with write(2).  Pointers inside the arena
 *    that are not live objects go to the core, which panics with the reason.
 *  - Nothing here uses stdio or dlsym: both may allocate.
 * The core is built -fvisibility=hidden; PUBLIC exports the C library names.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../internal.h" /* the inline fast paths: malloc and free make no call on a cache hit */

#define PUBLIC __attribute__((visibility("default")))

/* malloc's guaranteed alignment (glibc: 16 on x86_64, 16 on i386 too). */
#define MIN_ALIGN 16

/*
 * Arena bounds as last read from mm_read_stats.  A pointer inside them is
 * libmm's; outside, it is only after a fresh read (the arena may have grown)
 * and mm_owns (chunked or 32-bit arenas need not be one range) both say so.
 * Word-sized, read and written without a lock: a stale value only sends us
 * to the slow check.
 */
static volatile uintptr_t arena_lo = 1, arena_hi = 0;

/* Write s to stderr without stdio. */
static void say(const char *s)
{
	ssize_t r = write(2, s, strlen(s));
	(void)r;
}

/* Format v in hex into buf (at least 19 bytes); returns buf. */
static char *hex(char *buf, uintptr_t v)
{
	char tmp[2 * sizeof v];
	int n = 0;
	do {
		tmp[n++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	char *o = buf;
	*o++ = '0';
	*o++ = 'x';
	while (n)
		*o++ = tmp[--n];
	*o = 0;
	return buf;
}

/* Re-read the arena bounds from the core's statistics. */
static void refresh_bounds(void)
{
	static struct mm_stats st; /* large, so static: one reader at a time */
	static volatile int busy;

	while (__atomic_exchange_n(&busy, 1, __ATOMIC_ACQUIRE))
		;
	mm_read_stats(&st);
	uintptr_t lo = st.arena_start, hi = st.arena_end;
	__atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
	if (lo < hi) {
		arena_lo = lo;
		arena_hi = hi;
	}
}

/*
 * Slow half of is_ours: p is outside the bounds we know.  A live object is
 * ours wherever it lies (the arena grew, or is not one range); the bounds
 * are refreshed then too, a bounded number of times, so that a grown arena
 * goes back to the fast test while a scattered one does not re-read the
 * statistics on every free.  Anything else is ours only if it lies inside
 * the arena (a bad pointer there is the core's to report).
 */
static __attribute__((noinline)) int is_ours_slow(const void *p)
{
	static unsigned refreshes;
	uintptr_t a = (uintptr_t)p;

	if (mm_owns(p)) {
		if (refreshes < 64) {
			refreshes++;
			refresh_bounds();
		}
		return 1;
	}
	refresh_bounds();
	return a >= arena_lo && a < arena_hi;
}

/* Is p (not NULL) a pointer libmm should handle? */
static inline int is_ours(const void *p)
{
	uintptr_t a = (uintptr_t)p;
	if (__builtin_expect(a >= arena_lo && a < arena_hi, 1))
		return 1;
	return is_ours_slow(p);
}

/* A foreign pointer reached fn: say so in debug builds, otherwise stay quiet. */
static void foreign(const char *fn, const void *p)
{
#ifdef MM_DEBUG
	char buf[24];
	say("libmm: ");
	say(fn);
	say("(");
	say(hex(buf, (uintptr_t)p));
	say("): pointer not allocated by libmm; ignored\n");
#else
	(void)fn;
	(void)p;
	(void)hex;
#endif
}

PUBLIC void *malloc(size_t n)
{
	void *p = mm_malloc_inline(n); /* malloc(0) gets a unique 8-byte object */
	if (__builtin_expect(p == NULL, 0))
		errno = ENOMEM;
	return p;
}

/*
 * free found no span for p.  Inside the arena that is a bug in the program
 * (a wild pointer, or a page of a span already freed): the core panics with
 * the reason, as glibc would abort.  Outside, p came from another allocator
 * (before libmm was loaded): leave it alone.
 */
static __attribute__((noinline)) void free_unknown(void *p)
{
	int e = errno;
	refresh_bounds();
	if ((uintptr_t)p >= arena_lo && (uintptr_t)p < arena_hi)
		mm_free(p); /* does not return */
	foreign("free", p);
	errno = e;
}

/*
 * free keeps errno: the core's free path makes no system call that could
 * set it (locks spin and yield, the clock is the vDSO's).
 */
PUBLIC void free(void *p)
{
	if (__builtin_expect(mm_free_inline(p, 1) < 0, 0))
		free_unknown(p);
}

PUBLIC void cfree(void *p)
{
	free(p);
}

PUBLIC void *calloc(size_t count, size_t size)
{
	size_t n;
	if (__builtin_mul_overflow(count, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = mm_calloc(1, n ? n : 1);
	if (p == NULL)
		errno = ENOMEM;
	return p;
}

PUBLIC void *realloc(void *p, size_t n)
{
	if (p == NULL)
		return malloc(n);
	if (!is_ours(p)) {
		foreign("realloc", p);
		errno = ENOMEM; /* the caller keeps p; we cannot know its size */
		return NULL;
	}
	if (n == 0) { /* glibc: realloc(p, 0) frees p and returns NULL */
		free(p);
		return NULL;
	}
	void *q = mm_realloc(p, n);
	if (q == NULL)
		errno = ENOMEM;
	return q;
}

PUBLIC void *reallocarray(void *p, size_t count, size_t size)
{
	size_t n;
	if (__builtin_mul_overflow(count, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, n);
}

/* align is a power of two; returns NULL (errno ENOMEM) when out of memory. */
static void *alloc_aligned(size_t align, size_t n)
{
	if (n == 0)
		n = 1;
	void *p = align <= MIN_ALIGN ? mm_malloc(n) : mm_aligned_alloc(align, n);
	if (p == NULL)
		errno = ENOMEM;
	return p;
}

static int pow2(size_t a)
{
	return a != 0 && (a & (a - 1)) == 0;
}

PUBLIC int posix_memalign(void **out, size_t align, size_t n)
{
	if (!pow2(align) || align % sizeof(void *) != 0)
		return EINVAL;
	int e = errno;
	void *p = alloc_aligned(align, n);
	errno = e; /* posix_memalign reports through its result only */
	if (p == NULL)
		return ENOMEM;
	*out = p;
	return 0;
}

/* C11; glibc accepts any power-of-two alignment, whatever the size. */
PUBLIC void *aligned_alloc(size_t align, size_t n)
{
	if (!pow2(align)) {
		errno = EINVAL;
		return NULL;
	}
	return alloc_aligned(align, n);
}

/* glibc's memalign rounds an alignment that is not a power of two up to one. */
PUBLIC void *memalign(size_t align, size_t n)
{
	if (align <= MIN_ALIGN)
		return malloc(n);
	if (align > SIZE_MAX / 2 + 1) {
		errno = EINVAL;
		return NULL;
	}
	while (!pow2(align))
		align += align & -align; /* clear the lowest bit upward until one bit is left */
	return alloc_aligned(align, n);
}

PUBLIC void *valloc(size_t n)
{
	return alloc_aligned((size_t)sysconf(_SC_PAGESIZE), n);
}

/* Page aligned, size rounded up to whole pages (0 gives one page). */
PUBLIC void *pvalloc(size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	if (n > SIZE_MAX - pg) {
		errno = ENOMEM;
		return NULL;
	}
	n = n ? (n + pg - 1) & ~(pg - 1) : pg;
	return alloc_aligned(pg, n);
}

PUBLIC size_t malloc_usable_size(void *p)
{
	if (p == NULL)
		return 0;
	if (!is_ours(p)) {
		foreign("malloc_usable_size", p);
		return 0;
	}
	return mm_usable_size(p);
}

/* glibc's internal names, which some programs and libraries call directly. */
PUBLIC void *__libc_malloc(size_t n) { return malloc(n); }
PUBLIC void __libc_free(void *p) { free(p); }
PUBLIC void *__libc_calloc(size_t c, size_t n) { return calloc(c, n); }
PUBLIC void *__libc_realloc(void *p, size_t n) { return realloc(p, n); }
PUBLIC void *__libc_memalign(size_t a, size_t n) { return memalign(a, n); }

/* ---- glibc's tuning and reporting calls: harmless answers ------------------ */

/* Accept every option and do nothing: libmm has no such knobs. */
PUBLIC int mallopt(int param, int value)
{
	(void)param;
	(void)value;
	return 1;
}

/* Give free memory back to the system; 1 if some was. */
PUBLIC int malloc_trim(size_t pad)
{
	(void)pad;
	return mm_hosted_scavenge(0) > 0; /* traced when MM_TRACE=1 */
}

static struct mallinfo2 info2(void)
{
	static struct mm_stats st; /* under the same one-reader rule as is_ours_slow */
	static volatile int busy;
	struct mallinfo2 mi;

	memset(&mi, 0, sizeof mi);
	while (__atomic_exchange_n(&busy, 1, __ATOMIC_ACQUIRE))
		;
	mm_read_stats(&st);
	mi.arena = st.heap_sys;
	mi.ordblks = 0;
	mi.uordblks = st.heap_inuse;
	mi.fordblks = st.heap_idle - st.heap_released;
	mi.keepcost = 0;
	mi.hblkhd = st.meta_sys;
	mi.fsmblks = st.cache_bytes;
	__atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
	return mi;
}

PUBLIC struct mallinfo2 mallinfo2(void)
{
	return info2();
}

/* The old int-sized form; values past INT_MAX are clamped. */
PUBLIC struct mallinfo mallinfo(void)
{
	struct mallinfo2 m2 = info2();
	struct mallinfo mi;
	memset(&mi, 0, sizeof mi);
#define CLAMP(v) ((v) > 0x7fffffff ? 0x7fffffff : (int)(v))
	mi.arena = CLAMP(m2.arena);
	mi.uordblks = CLAMP(m2.uordblks);
	mi.fordblks = CLAMP(m2.fordblks);
	mi.hblkhd = CLAMP(m2.hblkhd);
	mi.fsmblks = CLAMP(m2.fsmblks);
#undef CLAMP
	return mi;
}

/* Format v in decimal; returns buf. */
static char *dec(char *buf, uint64_t v)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	char *o = buf;
	while (n)
		*o++ = tmp[--n];
	*o = 0;
	return buf;
}

/* Like glibc's, a short report on stderr; written without stdio. */
PUBLIC void malloc_stats(void)
{
	struct mallinfo2 mi = info2();
	char buf[24];
	say("libmm: system bytes     = ");
	say(dec(buf, mi.arena));
	say("\nlibmm: in use bytes     = ");
	say(dec(buf, mi.uordblks));
	say("\nlibmm: free bytes       = ");
	say(dec(buf, mi.fordblks));
	say("\n");
}
