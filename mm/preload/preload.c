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
 *  - A pointer libmm never handed out is an error, in every build: free and
 *    realloc stop the process with the address and the reason (a stack
 *    address, a global of some object, memory from mmap or another
 *    allocator).  Pointers inside the arena that are not live objects go to
 *    the core, which names the reason too.  The one exception is memory
 *    provably from before libmm was loaded (preloaded.c): free ignores it,
 *    realloc fails with ENOMEM.  malloc_usable_size says 0 for any pointer
 *    not libmm's.  Debug builds (MM_DEBUG) note ignored frees on stderr.
 *  - Nothing here uses stdio or dlsym: both may allocate.
 * The core is built -fvisibility=hidden; PUBLIC exports the C library names.
 */
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../internal.h" /* the inline fast paths: malloc and free make no call on a cache hit */

#define PUBLIC __attribute__((visibility("default")))

/*
 * What every object malloc returns is aligned to, whatever its size: the
 * smallest class is 8 bytes, so an 8-byte object is only 8-aligned.  Larger
 * alignments, 16 included, go through mm_aligned_alloc, which picks a class
 * whose size is a multiple of the alignment.
 */
#define MALLOC_ALIGN 8

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

/*
 * Memory from before libmm was loaded.  glibc's ld.so allocates with its own
 * minimal malloc until libc is relocated (the link maps, the first thread's
 * TLS and dtv, search paths): first from the rest of the last page of its
 * own data segment (from its _end), then from anonymous pages it maps.
 * glibc takes care not to free those blocks (rtld marks them: dont_free,
 * l_free_initfini, the initial dtv), but a free of one would be legitimate.
 * So at load time (a constructor, before main) we record every anonymous
 * private mapping that exists then (/proc/self/maps, read with open/read
 * into a buffer mapped for the occasion and unmapped after: no stdio, no
 * allocation, no page left resident).  The first time a pointer from
 * outside the arena needs the answer (rare: a foreign free), the list is
 * completed: ranges that are some object's segment (a .bss beyond its file)
 * are dropped, and the tail of ld.so's last writable segment goes in
 * (dl_iterate_phdr, with AT_BASE naming ld.so).  That half waits because
 * it pulls in pages of libc that most processes never need (start-up
 * footprint, DESIGN.md); loaded objects only add segments meanwhile, so
 * the ranges it drops are the same.  A pointer outside the arena is
 * tolerated only inside those ranges.  What this also tolerates: anything
 * another library's constructor mapped before ours ran.
 */
#define MAX_EARLY 64
static uintptr_t early_lo[MAX_EARLY], early_hi[MAX_EARLY];
static int nearly;

static void early_add(uintptr_t lo, uintptr_t hi)
{
	if (nearly < MAX_EARLY && lo < hi) {
		early_lo[nearly] = lo;
		early_hi[nearly] = hi;
		nearly++;
	}
}

/* For each loaded object: drop the recorded ranges its segments overlap; ld.so's tail goes in. */
static int object_segments(struct dl_phdr_info *info, size_t size, void *ldso)
{
	uintptr_t pg = (uintptr_t)getauxval(AT_PAGESZ);
	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t lo = (info->dlpi_addr + ph->p_vaddr) & ~(pg - 1);
		uintptr_t end = info->dlpi_addr + ph->p_vaddr + ph->p_memsz, hi = (end + pg - 1) & ~(pg - 1);
		for (int k = 0; k < nearly; k++)
			if (early_lo[k] < hi && lo < early_hi[k])
				early_lo[k] = early_hi[k] = 0;
		if (info->dlpi_addr == (uintptr_t)ldso && (ph->p_flags & PF_W))
			early_add(end, hi); /* ld.so's minimal malloc starts at its _end */
	}
	return 0;
}

static uintptr_t hex(const char **s)
{
	uintptr_t v = 0;
	for (;; (*s)++) {
		char c = **s;
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			return v;
		v = v * 16 + (uintptr_t)d;
	}
}

/* The end of line l (its '\n'), or NULL: plain loops, no libc string call (start-up footprint). */
static const char *line_end(const char *l)
{
	for (; *l; l++)
		if (*l == '\n')
			return l;
	return 0;
}

static int same(const char *a, const char *b, size_t n)
{
	while (n && *a == *b)
		a++, b++, n--;
	return n == 0;
}

#define MAPS_BUF (1 << 16)

/* Record the anonymous private read-write mappings listed in /proc/self/maps now. */
static void anonymous_mappings(void)
{
	char *buf = mmap(0, MAPS_BUF, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		munmap(buf, MAPS_BUF);
		return;
	}
	size_t n = 0;
	ssize_t k;
	while (n < MAPS_BUF - 1 && (k = read(fd, buf + n, MAPS_BUF - 1 - n)) > 0)
		n += (size_t)k;
	close(fd);
	buf[n] = 0;
	for (const char *l = buf; *l;) {
		const char *e = line_end(l), *s = l;
		if (!e)
			break; /* a cut last line: skip it */
		uintptr_t lo = hex(&s);
		s++;
		uintptr_t hi = hex(&s);
		/* "lo-hi rw-p 00000000 00:00 0" and no name after the inode */
		const char *t = e;
		while (t > s && t[-1] == ' ')
			t--;
		int fields = 0;
		for (const char *q = s + 1; q < t; q++)
			fields += q[-1] == ' ' && *q != ' ';
		if (fields == 4 && same(s, " rw-p 00000000 00:00 0", 22)) {
			/* not the buffer itself (unmapped below), which may be merged with a neighbour */
			uintptr_t b = (uintptr_t)buf, be = b + MAPS_BUF;
			early_add(lo, hi < b ? hi : b);
			early_add(lo > be ? lo : be, hi);
		}
		l = e + 1;
	}
	munmap(buf, MAPS_BUF);
}

static volatile int recorded, completed;

/* Before main; or at the first foreign free, if that comes before our constructor ran. */
__attribute__((constructor(101))) static void record_early_memory(void)
{
	if (__atomic_exchange_n(&recorded, 1, __ATOMIC_ACQ_REL))
		return;
	anonymous_mappings();
}

static int from_before_libmm(const void *p)
{
	if (!recorded)
		record_early_memory();
	int was = 0;
	if (__atomic_compare_exchange_n(&completed, &was, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		dl_iterate_phdr(object_segments, (void *)getauxval(AT_BASE));
		__atomic_store_n(&completed, 2, __ATOMIC_RELEASE);
	}
	while (__atomic_load_n(&completed, __ATOMIC_ACQUIRE) != 2) /* another thread completes it */
		;
	for (int i = 0; i < nearly; i++)
		if ((uintptr_t)p >= early_lo[i] && (uintptr_t)p < early_hi[i])
			return 1;
	return 0;
}

struct where {
	uintptr_t p;
	const char *name; /* the object whose segment holds p */
};

static int find_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct where *w = arg;
	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && w->p >= lo && w->p < lo + ph->p_memsz) {
			w->name = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : "the program";
			return 1;
		}
	}
	return 0;
}

/*
 * fn(p): p is not libmm's and not from before it: stop with the reason.
 * A stack is told by the distance from our own stack pointer (another
 * thread's stack reads as "not from malloc").
 */
static __attribute__((noinline, noreturn)) void foreign(const char *fn, const void *p)
{
	uintptr_t a = (uintptr_t)p, sp = (uintptr_t)__builtin_frame_address(0);
	struct where w = {a, 0};
	if (a >= sp - 65536 && a - sp < ((uintptr_t)64 << 20))
		mm_throw("mm: %s(%p): not allocated by libmm: a stack address", fn, p);
	if (dl_iterate_phdr(find_object, &w))
		mm_throw("mm: %s(%p): not allocated by libmm: a global or static variable of %s", fn, p,
			 w.name);
	mm_throw("mm: %s(%p): not allocated by libmm: not from malloc (mmap, another allocator, "
		 "or a wild pointer)", fn, p);
}

/* A pointer from before libmm reached fn: left alone; debug builds say so. */
static void early(const char *fn, const void *p)
{
#ifdef MM_DEBUG
	char line[160];
	mm_format(line, sizeof line, "libmm: %s(%p): memory from before libmm was loaded; ignored\n", fn, p);
	say(line);
#else
	(void)fn;
	(void)p;
#endif
}

/* malloc's miss (everything but a cache hit): the core's slow path, and errno. */
static __attribute__((noinline)) void *malloc_miss(size_t n)
{
	void *p = mm_malloc_slow(n);
	if (p == NULL)
		errno = ENOMEM;
	return p;
}

PUBLIC void *malloc(size_t n)
{
	return mm_malloc_fast(n, malloc_miss); /* malloc(0): a unique 16-byte block, guarded (release) */
}

/*
 * free found no span for p.  Inside the arena that is a bug in the program
 * (a wild pointer, or a page of a span already freed): the core panics with
 * the reason, as glibc would abort.  Outside, p is left alone only if it is
 * memory from before libmm was loaded; anything else stops the process.
 */
static __attribute__((noinline)) void free_unknown(void *p)
{
	int e = errno;
	refresh_bounds();
	if ((uintptr_t)p >= arena_lo && (uintptr_t)p < arena_hi)
		mm_free(p); /* does not return */
	if (!from_before_libmm(p))
		foreign("free", p);
	early("free", p);
	errno = e;
}

/*
 * free keeps errno: the core's free path makes no system call that could
 * set it (locks spin and yield, the clock is the vDSO's).
 */
static __attribute__((noinline)) void free_miss(void *p)
{
	if (mm_free_slow(p, 1) < 0)
		free_unknown(p);
}

PUBLIC void free(void *p)
{
	mm_free_fast(p, free_miss);
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
		if (!from_before_libmm(p))
			foreign("realloc", p);
		early("realloc", p);
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
	void *p = align <= MALLOC_ALIGN ? mm_malloc(n) : mm_aligned_alloc(align, n);
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
	if (align <= MALLOC_ALIGN)
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
	if (!is_ours(p))
		return 0; /* a query: no error, whatever p is */
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
	mi.hblkhd = st.records_sys;
	mi.fsmblks = st.cache_bytes + st.transfer_bytes;
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

/* Like glibc's, a short report on stderr; written without stdio. */
PUBLIC void malloc_stats(void)
{
	struct mallinfo2 mi = info2();
	char out[200];
	mm_format(out, sizeof out,
		  "libmm: system bytes     = %u\nlibmm: in use bytes     = %u\nlibmm: free bytes       = %u\n",
		  (uintptr_t)mi.arena, (uintptr_t)mi.uordblks, (uintptr_t)mi.fordblks);
	say(out);
}
