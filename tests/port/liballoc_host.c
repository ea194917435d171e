/*
 * liballoc_host.c - a kernel that only knows liballoc: it implements the four
 * liballoc hooks and links mm/liballoc_compat.c (built freestanding with
 * -DMM_LIBALLOC_PREFIX=k) and the freestanding libmm.a, then uses kmalloc,
 * kfree, kcalloc and krealloc.
 *
 * Its page allocator is deliberately unfriendly: two pools far apart in the
 * address space (one in .bss, one mapped near the top of user space), runs
 * placed at random with a free page on each side, so no two allocations are
 * ever contiguous, and filled with junk, because liballoc_alloc promises no
 * zeroing.  libmm's pagemap and CHUNKS arena must cope.  The hooks check that
 * the adapter never takes liballoc_lock twice and calls liballoc_alloc and
 * liballoc_free only with the lock held (as liballoc itself does).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../../mm/mm.h"
#include "stress.h"

/* What a liballoc kernel sees: the adapter's entry points. */
void *kmalloc(size_t n);
void kfree(void *p);
void *kcalloc(size_t count, size_t size);
void *krealloc(void *p, size_t n);
void *mm_liballoc_aligned_alloc(size_t align, size_t n);
size_t mm_liballoc_usable_size(const void *p);
int mm_liballoc_check(void);
const char *mm_liballoc_check_error(void);
void mm_liballoc_read_stats(struct mm_stats *st);

/* ---- the kernel's page allocator: two scattered pools ---- */

#define PAGE 4096
#define POOL_PAGES 8192 /* 32 MiB each */
#define NPOOLS 2
#define MAXRUNS 4096

static unsigned char low_pool[(size_t)POOL_PAGES * PAGE] __attribute__((aligned(PAGE)));
static struct {
	unsigned char *base;
	unsigned char used[POOL_PAGES]; /* 1: page handed out */
	long runs;
} pools[NPOOLS];
static struct { unsigned char *p; size_t pages; } runs[MAXRUNS];
static uint64_t page_rand = 0x1234567;
static long nalloc_calls, nalloc_null, nfree_calls;
static uintptr_t lowest = UINTPTR_MAX, highest;

static pthread_mutex_t la_mu = PTHREAD_MUTEX_INITIALIZER;
static volatile int la_locked;
static pthread_t la_owner;
static long nlock;

static int nviolations;
static char first_violation[256];

static void violation(const char *fmt, ...)
{
	va_list ap;
	if (nviolations++ == 0) {
		va_start(ap, fmt);
		vsnprintf(first_violation, sizeof first_violation, fmt, ap);
		va_end(ap);
	}
}

/* Per thread, so that the answer needs no ordering between another thread's stores
 * (on aarch64 la_locked and la_owner of another thread may be seen out of order). */
static _Thread_local int la_mine;

static int i_hold_lock(void)
{
	return la_mine;
}

int liballoc_lock(void)
{
	if (i_hold_lock()) {
		violation("liballoc_lock taken twice by one thread (would deadlock)");
		return -1;
	}
	pthread_mutex_lock(&la_mu);
	la_owner = pthread_self();
	la_locked = 1;
	la_mine = 1;
	nlock++;
	return 0;
}

int liballoc_unlock(void)
{
	if (!i_hold_lock()) {
		violation("liballoc_unlock without the lock");
		return -1;
	}
	la_locked = 0;
	la_mine = 0;
	pthread_mutex_unlock(&la_mu);
	return 0;
}

/* Is [i, i+n) free, with a free page (or the pool's edge) on each side? */
static int fits(int pool, size_t i, size_t n)
{
	if (i + n > POOL_PAGES)
		return 0;
	for (size_t j = i ? i - 1 : 0; j < i + n + 1 && j < POOL_PAGES; j++)
		if (pools[pool].used[j])
			return 0;
	return 1;
}

void *liballoc_alloc(size_t pages)
{
	if (!i_hold_lock())
		violation("liballoc_alloc(%zu) called without liballoc_lock", pages);
	nalloc_calls++;
	for (int attempt = 0; attempt < 200 && pages && pages < POOL_PAGES; attempt++) {
		int pl = (int)(port_rand(&page_rand) % NPOOLS);
		size_t i = port_rand(&page_rand) % POOL_PAGES;
		if (attempt >= 100) { /* random probing failed: first fit in this pool */
			for (i = 0; i < POOL_PAGES && !fits(pl, i, pages); i++)
				;
		}
		if (!fits(pl, i, pages))
			continue;
		for (int r = 0; r < MAXRUNS; r++) {
			if (runs[r].p == NULL) {
				unsigned char *p = pools[pl].base + i * PAGE;
				memset(&pools[pl].used[i], 1, pages);
				memset(p, 0xa5, pages * PAGE); /* liballoc_alloc does not zero */
				runs[r].p = p;
				runs[r].pages = pages;
				pools[pl].runs++;
				if ((uintptr_t)p < lowest)
					lowest = (uintptr_t)p;
				if ((uintptr_t)p + pages * PAGE > highest)
					highest = (uintptr_t)p + pages * PAGE;
				return p;
			}
		}
		break;
	}
	nalloc_null++;
	return NULL;
}

int liballoc_free(void *ptr, size_t pages)
{
	if (!i_hold_lock())
		violation("liballoc_free(%p) called without liballoc_lock", ptr);
	nfree_calls++;
	for (int r = 0; r < MAXRUNS; r++) {
		if (runs[r].p == ptr && runs[r].pages == pages) {
			for (int pl = 0; pl < NPOOLS; pl++) {
				unsigned char *b = pools[pl].base;
				if ((unsigned char *)ptr >= b && (unsigned char *)ptr < b + (size_t)POOL_PAGES * PAGE)
					memset(&pools[pl].used[((unsigned char *)ptr - b) / PAGE], 0, pages);
			}
			runs[r].p = NULL;
			return 0;
		}
	}
	violation("liballoc_free(%p, %zu) does not match an allocation", ptr, pages);
	return -1;
}

/* The kernel's panic, found by the adapter through a weak reference. */
static sigjmp_buf *panic_jmp;
static char panic_msg[256];

void mm_liballoc_panic(const char *msg)
{
	snprintf(panic_msg, sizeof panic_msg, "%s", msg);
	if (panic_jmp)
		siglongjmp(*panic_jmp, 1);
	printf("FAIL unexpected panic: %s\n", msg);
	exit(2);
}

static int setup_pools(void)
{
	void *hint = sizeof(void *) == 8 ? (void *)(uintptr_t)0x3f0000000000ull
					 : (void *)(uintptr_t)0xa0000000u;
	void *hi = mmap(hint, (size_t)POOL_PAGES * PAGE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (hi == MAP_FAILED)
		return -1;
	pools[0].base = low_pool;
	pools[1].base = hi;
	return 0;
}

/* ---- tests ---- */

static char err[512];

static int check_la(char *e, size_t len)
{
	struct mm_stats st;
	if (mm_liballoc_check() != 0) {
		snprintf(e, len, "mm_check: %s", mm_liballoc_check_error());
		return -1;
	}
	mm_liballoc_read_stats(&st);
	if (port_stats_add_up(&st, e, len) < 0)
		return -1;
	if (nviolations) {
		snprintf(e, len, "hook breach: %s", first_violation);
		return -1;
	}
	return 0;
}

static const struct port_alloc la_alloc = {
	.malloc = kmalloc,
	.free = kfree,
	.calloc = kcalloc,
	.realloc = krealloc,
	.aligned = mm_liballoc_aligned_alloc,
	.usable = mm_liballoc_usable_size,
	.check = check_la,
};

static void report(const char *name, int ok)
{
	port_report(name, ok, ok ? NULL : err);
	err[0] = 0;
}

static int in_pools(const void *p)
{
	for (int pl = 0; pl < NPOOLS; pl++)
		if ((const unsigned char *)p >= pools[pl].base &&
		    (const unsigned char *)p < pools[pl].base + (size_t)POOL_PAGES * PAGE)
			return 1;
	return 0;
}

static int case_first(void)
{
	unsigned char *p = kmalloc(100);
	if (!p || !in_pools(p)) {
		snprintf(err, sizeof err, "kmalloc(100) = %p, not from liballoc_alloc's pages", (void *)p);
		return 0;
	}
	memset(p, 1, 100);
	kfree(p);
	kfree(NULL);
	return check_la(err, sizeof err) == 0;
}

static int case_stress(void)
{
	struct port_stress_cfg cfg = { .seed = 3, .nops = 200000, .nslots = 1500,
				       .maxlarge = 600 << 10, .check_every = 20000 };
	struct port_stress_result res;
	struct mm_stats st;
	if (port_stress(&la_alloc, &cfg, &res, err, sizeof err) < 0)
		return 0;
	mm_liballoc_read_stats(&st);
	printf("INFO liballoc stress: %ld allocs, %ld reallocs, %ld frees; %ld liballoc_alloc calls "
	       "(%ld runs low, %ld runs high), spread %#lx..%#lx; records_sys %llu bytes\n",
	       res.nalloc, res.nrealloc, res.nfree, nalloc_calls, pools[0].runs, pools[1].runs,
	       (unsigned long)lowest, (unsigned long)highest, (unsigned long long)st.records_sys);
	if (pools[0].runs == 0 || pools[1].runs == 0 || nalloc_calls < 8) {
		snprintf(err, sizeof err, "the stress did not spread over both pools (%ld, %ld runs)",
			 pools[0].runs, pools[1].runs);
		return 0;
	}
	return check_la(err, sizeof err) == 0;
}

/* liballoc's edge cases: realloc(NULL, n), realloc(p, 0), calloc overflow. */
static int case_semantics(void)
{
	struct mm_stats a, b;
	char *p = krealloc(NULL, 40);
	if (!p) {
		snprintf(err, sizeof err, "krealloc(NULL, 40) = NULL");
		return 0;
	}
	memset(p, 3, 40);
	mm_liballoc_read_stats(&a);
	void *q = krealloc(p, 0);
	mm_liballoc_read_stats(&b);
	if (q != NULL || b.nfree != a.nfree + 1) {
		snprintf(err, sizeof err, "krealloc(p, 0) = %p, frees %llu -> %llu (want NULL, one free)",
			 q, (unsigned long long)a.nfree, (unsigned long long)b.nfree);
		return 0;
	}
	if (kcalloc(SIZE_MAX / 2, 4) != NULL) {
		snprintf(err, sizeof err, "kcalloc(SIZE_MAX/2, 4) did not fail");
		return 0;
	}
	return check_la(err, sizeof err) == 0;
}

static void *worker(void *arg)
{
	struct port_stress_cfg cfg = { .seed = (uint64_t)(uintptr_t)arg, .nops = 60000,
				       .nslots = 400, .maxlarge = 200 << 10 };
	struct port_alloc a = la_alloc;
	struct port_stress_result res;
	static char werr[2][256];
	a.check = NULL;
	int i = (int)((uintptr_t)arg & 1);
	if (port_stress(&a, &cfg, &res, werr[i], sizeof werr[i]) < 0)
		return werr[i];
	return NULL;
}

static int case_threads(void)
{
	pthread_t t[2];
	void *rv[2];
	for (uintptr_t i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, worker, (void *)(i + 20));
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], &rv[i]);
	for (int i = 0; i < 2; i++) {
		if (rv[i]) {
			snprintf(err, sizeof err, "thread %d: %s", i, (char *)rv[i]);
			return 0;
		}
	}
	return check_la(err, sizeof err) == 0;
}

/* A bare core call (no adapter entry point) takes liballoc_lock through mm_sys_lock. */
static int case_bare_call(void)
{
	long before = nlock;
	void *p = mm_malloc(5000);
	if (!p || nlock == before || la_locked) {
		snprintf(err, sizeof err, "mm_malloc = %p, liballoc_lock calls %ld -> %ld, locked %d",
			 p, before, nlock, la_locked);
		return 0;
	}
	kfree(p);
	return check_la(err, sizeof err) == 0;
}

static int case_exhaust(void)
{
	enum { CAP = 2000 };
	static void *ps[CAP];
	size_t n = 256 << 10;
	int k1 = 0, k2 = 0;
	while (k1 < CAP && (ps[k1] = kmalloc(n)) != NULL)
		memset(ps[k1++], 0x11, 64);
	if (k1 == CAP || k1 < 8 || nalloc_null == 0) {
		snprintf(err, sizeof err, "%d blocks of 256 KiB, %ld refused liballoc_allocs", k1, nalloc_null);
		return 0;
	}
	if (check_la(err, sizeof err) < 0)
		return 0;
	for (int i = 0; i < k1; i++)
		kfree(ps[i]);
	while (k2 < CAP && (ps[k2] = kmalloc(n)) != NULL)
		k2++;
	printf("INFO liballoc exhaustion: %d x 256 KiB before NULL, %d after freeing; %ld liballoc_alloc calls, %ld refused\n",
	       k1, k2, nalloc_calls, nalloc_null);
	for (int i = 0; i < k2; i++)
		kfree(ps[i]);
	if (k2 < k1) {
		snprintf(err, sizeof err, "only %d of %d blocks again after freeing", k2, k1);
		return 0;
	}
	return check_la(err, sizeof err) == 0;
}

/* Last case: the lock stays held after the panic (a real panic never returns). */
static int case_panic(void)
{
	static char outside[32];
	sigjmp_buf jb;
	char hex[32];
	panic_jmp = &jb;
	if (sigsetjmp(jb, 0) == 0) {
		kfree(outside + 8);
		snprintf(err, sizeof err, "kfree of a foreign pointer did not panic");
		return 0;
	}
	snprintf(hex, sizeof hex, "%lx", (unsigned long)(uintptr_t)(outside + 8));
	printf("INFO liballoc panic: \"%s\"\n", panic_msg);
	if (!strcasestr(panic_msg, hex)) {
		snprintf(err, sizeof err, "panic message does not name %s: \"%s\"", hex, panic_msg);
		return 0;
	}
	return 1;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (setup_pools() < 0) {
		port_report("liballoc: set up the page pools", 0, "mmap failed");
		return 1;
	}
	report("liballoc: first kmalloc initialises libmm on liballoc_alloc pages", case_first());
	report("liballoc: stress on scattered non-contiguous pages with mm_check", case_stress());
	report("liballoc: krealloc(NULL,n), krealloc(p,0), kcalloc overflow", case_semantics());
	report("liballoc: two threads serialised by liballoc_lock", case_threads());
	report("liballoc: bare mm_malloc takes liballoc_lock through mm_sys_lock", case_bare_call());
	report("liballoc: exhaustion gives NULL, freed memory usable again", case_exhaust());
	report("liballoc: bad free reaches the kernel's mm_liballoc_panic", case_panic());
	return port_failures() ? 1 : 0;
}
