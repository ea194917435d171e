/*
 * fakesys.c - the fake Sys backend described in fakesys.h: the ten hooks of
 * mm/sys.h over a simulated 4 GiB address space, with a call log, a settable
 * clock and cache, refusals on demand and a panic hook for tests.
 */

#include "fakesys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../../mm/sys.h"

struct fake fake;

enum { PG_FREE = 0, PG_TAKEN, PG_RESV, PG_MAPPED };
#define NPAGES (FAKE_SPACE >> MM_PAGE_SHIFT)

static uintptr_t base;                 /* real address of simulated 0 */
static unsigned char state[NPAGES];    /* PG_* per page */
static size_t place_min;               /* fake_place_next */
static uintptr_t place_at;
static int place_armed;

static void violation(const char *fmt, uintptr_t v, size_t n)
{
	if (fake.nviolations++ == 0)
		snprintf(fake.violation, sizeof fake.violation, fmt,
			 (void *)v, (unsigned long)n);
}

static void log_call(char op, uintptr_t hint, uintptr_t v, size_t n, int ret)
{
	if (fake.ncalls < FAKE_MAXCALLS)
		fake.calls[fake.ncalls++] = (struct fake_call){op, hint, v, n, ret};
}

void fake_reset(void)
{
	if (base == 0) {
		/* Reserve 8 GiB and keep the 4 GiB-aligned half: simulated
		 * addresses are then the low 32 bits of real ones. */
		size_t span = 2 * FAKE_SPACE;
		void *p = mmap(NULL, span, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED) {
			perror("fakesys: mmap of the simulated space");
			abort();
		}
		base = ((uintptr_t)p + FAKE_SPACE - 1) & ~(FAKE_SPACE - 1);
	} else {
		madvise((void *)base, FAKE_SPACE, MADV_DONTNEED);
		mprotect((void *)base, FAKE_SPACE, PROT_NONE);
	}
	memset(state, PG_FREE, sizeof state);
	memset(&fake, 0, sizeof fake);
	place_armed = 0;
}

uintptr_t fake_addr(uintptr_t s) { return base + s; }
uintptr_t fake_sim(uintptr_t real) { return real - base; }

void fake_take(uintptr_t s, size_t n)
{
	for (uintptr_t pg = s >> MM_PAGE_SHIFT; pg < (s + n) >> MM_PAGE_SHIFT; pg++)
		state[pg] = PG_TAKEN;
}

void fake_untake(uintptr_t s, size_t n)
{
	for (uintptr_t pg = s >> MM_PAGE_SHIFT; pg < (s + n) >> MM_PAGE_SHIFT; pg++)
		if (state[pg] == PG_TAKEN)
			state[pg] = PG_FREE;
}

void fake_place_next(size_t min_n, uintptr_t s)
{
	place_min = min_n;
	place_at = s;
	place_armed = 1;
}

int fake_count(char op)
{
	int k = 0;
	for (int i = 0; i < fake.ncalls; i++)
		k += fake.calls[i].op == op;
	return k;
}

uint64_t fake_reserved_in(uintptr_t s, size_t n)
{
	uint64_t k = 0;
	for (uintptr_t pg = s >> MM_PAGE_SHIFT; pg < (s + n) >> MM_PAGE_SHIFT && pg < NPAGES; pg++)
		k += state[pg] >= PG_RESV;
	return k << MM_PAGE_SHIFT;
}

/* Is the real range [v, v+n) inside the space and page aligned? */
static int in_space(uintptr_t v, size_t n)
{
	return v >= base && n <= FAKE_SPACE && v - base <= FAKE_SPACE - n &&
	       (v & (FAKE_GRANULE - 1)) == 0 && (n & (FAKE_GRANULE - 1)) == 0;
}

/* Are all pages of simulated [s, s+n) in state st (or, for PG_RESV, mapped too)? */
static int all(uintptr_t s, size_t n, int st)
{
	for (uintptr_t pg = s >> MM_PAGE_SHIFT; pg < (s + n) >> MM_PAGE_SHIFT; pg++)
		if (state[pg] != st && !(st == PG_RESV && state[pg] == PG_MAPPED))
			return 0;
	return 1;
}

int fake_is_mapped(const void *p, size_t n)
{
	uintptr_t v = (uintptr_t)p & ~(MM_PAGE_SIZE - 1);
	n = ((uintptr_t)p + n + MM_PAGE_SIZE - 1 - v) & ~(MM_PAGE_SIZE - 1);
	return in_space(v, n) && all(v - base, n, PG_MAPPED);
}

static void set(uintptr_t s, size_t n, int st)
{
	for (uintptr_t pg = s >> MM_PAGE_SHIFT; pg < (s + n) >> MM_PAGE_SHIFT; pg++) {
		if (state[pg] == PG_MAPPED && st != PG_MAPPED)
			fake.mapped -= MM_PAGE_SIZE;
		if (state[pg] != PG_MAPPED && st == PG_MAPPED)
			fake.mapped += MM_PAGE_SIZE;
		state[pg] = st;
	}
}

/* Highest free range of n bytes (simulated start), or -1: mmap goes top-down. */
static uintptr_t find_free(size_t n)
{
	size_t need = n >> MM_PAGE_SHIFT, run = 0;
	for (uintptr_t pg = NPAGES; pg-- > 0;) {
		run = state[pg] == PG_FREE ? run + 1 : 0;
		if (run == need)
			return pg << MM_PAGE_SHIFT;
	}
	return (uintptr_t)-1;
}

void *mm_sys_reserve(void *hint, size_t n)
{
	uintptr_t h = (uintptr_t)hint, s = (uintptr_t)-1;

	if (n == 0 || (n & (FAKE_GRANULE - 1)) || (h & (FAKE_GRANULE - 1)))
		violation("reserve(%p, %#lx): not aligned to the host's page granule", h, n);
	if (fake.refuse_reserve || n == 0 || n > FAKE_SPACE) {
		log_call(FAKE_RESERVE, h, 0, n, 0);
		return NULL;
	}
	n = (n + MM_PAGE_SIZE - 1) & ~(MM_PAGE_SIZE - 1);
	if (h && in_space(h, n) && all(h - base, n, PG_FREE))
		s = h - base;
	else if (place_armed && !h && n >= place_min && place_at <= FAKE_SPACE - n &&
		 all(place_at, n, PG_FREE)) {
		s = place_at;
		place_armed = 0;
	} else
		s = find_free(n);
	if (s == (uintptr_t)-1) {
		log_call(FAKE_RESERVE, h, 0, n, 0);
		return NULL;
	}
	set(s, n, PG_RESV);
	log_call(FAKE_RESERVE, h, base + s, n, 0);
	return (void *)(base + s);
}

int mm_sys_map(void *p, size_t n)
{
	uintptr_t v = (uintptr_t)p;
	if (!in_space(v, n) || !all(v - base, n, PG_RESV)) {
		violation("map(%p, %#lx): not inside a reservation", v, n);
		log_call(FAKE_MAP, 0, v, n, -1);
		return -1;
	}
	uint64_t fresh = 0;
	for (uintptr_t pg = (v - base) >> MM_PAGE_SHIFT; pg < (v - base + n) >> MM_PAGE_SHIFT; pg++)
		fresh += state[pg] != PG_MAPPED ? MM_PAGE_SIZE : 0;
	if (fake.refuse_map || (fake.map_budget && fake.mapped + fresh > fake.map_budget)) {
		log_call(FAKE_MAP, 0, v, n, -1);
		return -1;
	}
	if (mprotect(p, n, PROT_READ | PROT_WRITE) != 0) {
		perror("fakesys: mprotect");
		abort();
	}
	if (fake.dirty_maps) /* never-mapped pages come with a previous owner's bytes */
		for (uintptr_t pg = (v - base) >> MM_PAGE_SHIFT; pg < (v - base + n) >> MM_PAGE_SHIFT; pg++)
			if (state[pg] == PG_RESV)
				memset((void *)(base + (pg << MM_PAGE_SHIFT)), 0xdb, MM_PAGE_SIZE);
	set(v - base, n, PG_MAPPED);
	log_call(FAKE_MAP, 0, v, n, 0);
	return 0;
}

int mm_sys_unused(void *p, size_t n)
{
	uintptr_t v = (uintptr_t)p;
	int zero = !fake.unused_keeps_data;
	if (!in_space(v, n) || !all(v - base, n, PG_RESV)) {
		violation("unused(%p, %#lx): not inside a reservation", v, n);
		log_call(FAKE_UNUSED, 0, v, n, zero);
		return zero;
	}
	if (zero)
		madvise(p, n, MADV_DONTNEED);
	mprotect(p, n, PROT_NONE);
	set(v - base, n, PG_RESV);
	log_call(FAKE_UNUSED, 0, v, n, zero);
	return zero;
}

void mm_sys_free(void *p, size_t n)
{
	uintptr_t v = (uintptr_t)p;
	log_call(FAKE_FREE, 0, v, n, 0);
	if (!in_space(v, n) || !all(v - base, n, PG_RESV)) {
		violation("free(%p, %#lx): not a reservation of the core", v, n);
		return;
	}
	madvise(p, n, MADV_DONTNEED);
	mprotect(p, n, PROT_NONE);
	set(v - base, n, PG_FREE);
}

uint64_t mm_sys_nanotime(void) { return fake.now; }

void mm_sys_lock(struct mm_lock *l)
{
	__atomic_fetch_add(&fake.nlocks, 1, __ATOMIC_RELAXED);
	while (__atomic_exchange_n(&l->word, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&l->word, __ATOMIC_RELAXED))
			;
	__atomic_fetch_add(&fake.held, 1, __ATOMIC_RELAXED);
}

void mm_sys_unlock(struct mm_lock *l)
{
	__atomic_fetch_sub(&fake.held, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&l->word, 0, __ATOMIC_RELEASE);
}

void mm_sys_panic(const char *msg)
{
	snprintf(fake.panic_msg, sizeof fake.panic_msg, "%s", msg);
	fake.npanics++;
	fake.panic_held = __atomic_load_n(&fake.held, __ATOMIC_RELAXED);
	if (fake.panic_armed) {
		fake.panic_armed = 0;
		longjmp(fake.panic_jmp, 1);
	}
	fprintf(stderr, "fakesys: unexpected panic: %s\n", msg);
	abort();
}

struct mm_cache *mm_sys_cache_get(void) { return fake.cache; }
void mm_sys_cache_put(struct mm_cache *c) { (void)c; }
