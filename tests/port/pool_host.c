/*
 * pool_host.c - a second, independent host for libmm: a minimal "other
 * kernel" with identity-mapped RAM and no paging.  It implements the ten
 * hooks of mm/sys.h on one static pool (reserve carves from it, map is a
 * no-op because the pool starts zeroed, unused poisons the pages and says
 * they keep old contents), configures libmm with MM_ARENA_CHUNKS, and is
 * linked against the freestanding archive build/<arch>/libmm.a.  Only the
 * test driver around it (printf, pthreads, signals) is hosted.
 *
 * The hooks also check the core's side of the contract: page alignment,
 * ranges inside reservations, no recursive locking, at most the heap lock
 * held when a memory hook runs, no lock held at a panic, a clock that never
 * goes backwards.  Any breach fails the "hook contracts" case.
 *
 * Cases: init, basic, stress, scavenge (poisoned pages must not reach
 * calloc), interrupts (a SIGALRM handler allocates; the lock hook masks the
 * signal as a kernel's would disable interrupts), threads, mm_sys_map
 * refusals, pool exhaustion (large and small), bad frees panic.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "../../mm/mm.h"
#include "../../mm/sys.h"
#include "stress.h"

/* ---- the "kernel": one pool of RAM ---- */

#define POOL_SIZE ((size_t)64 << 20)
#define POISON 0xdb

static unsigned char pool[POOL_SIZE] __attribute__((aligned(4096)));
static size_t pool_next;            /* bytes carved so far (bump) */
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER; /* the host's own lock */

static long nreserve, nmap, nunused, nfree_calls, nreserve_fail, nmap_fail;
static int map_fail_every;          /* >0: about one mm_sys_map in so many fails ("no frames") */
static uint64_t map_rand = 0x9e3779b97f4a7c15ull;
static int map_fail_records;        /* 1: refuse maps of the core's record chunks only */
static unsigned char *last_res;     /* the latest reservation (records: reserve, then map it whole) */
static size_t last_res_n;
static uint64_t bytes_poisoned;
static uint64_t clock_ns = 1;       /* the fake clock; tests move it */
static int dirty_pool;              /* "traps": the pool holds garbage, never zeroed by the host */
static uintptr_t first_hint;        /* the core's first reservation: where it asked, how much */
static size_t first_n;

/* Contract breaches seen by the hooks. */
static int nviolations;
static char first_violation[256];

static void violation(const char *fmt, ...)
{
	va_list ap;
	pthread_mutex_lock(&pool_mu);
	if (nviolations++ == 0) {
		va_start(ap, fmt);
		vsnprintf(first_violation, sizeof first_violation, fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&pool_mu);
}

/* Per thread: how many mm locks it holds, its cache, interrupt state. */
static _Thread_local int held;
static int max_held;                 /* deepest nesting outside mm_check */
static volatile int checking;         /* inside mm_check: it takes every lock */
static _Thread_local struct mm_cache *my_cache;
static _Thread_local volatile sig_atomic_t in_irq;
static _Thread_local sigset_t saved_mask;
static struct mm_cache *irq_cache;
static volatile int irq_mode;        /* lock masks SIGALRM ("cli") */
static _Thread_local uintptr_t self_id;
static uintptr_t next_id = 1;

static int in_pool(const void *v, size_t n)
{
	const unsigned char *p = v;
	return p >= pool && p + n <= pool + pool_next && p + n >= p;
}

static void check_pages(const char *hook, const void *v, size_t n)
{
	if (((uintptr_t)v | n) & (MM_PAGE_SIZE - 1))
		violation("%s(%p, %zu): not page aligned", hook, v, n);
	/* sys.h: the heap lock and possibly one central lock, never more. */
	if (held > 2)
		violation("%s called with %d locks held (at most a central lock and the heap lock)",
			  hook, held);
}

/* Ranges given back by mm_sys_free, reused first fit (zeroed again). */
enum { NHOLES = 256 };
static struct { unsigned char *p; size_t n; } holes[NHOLES];

void *mm_sys_reserve(void *hint, size_t n)
{
	unsigned char *p = NULL;
	check_pages("mm_sys_reserve", NULL, n);
	pthread_mutex_lock(&pool_mu);
	if (nreserve++ == 0) {
		first_hint = (uintptr_t)hint;
		first_n = n;
	}
	for (int i = 0; i < NHOLES && !p; i++) {
		if (holes[i].n >= n) {
			p = holes[i].p;
			holes[i].p += n;
			holes[i].n -= n;
			/* fresh to the core: must read as zero, unless configured memory_not_zeroed */
			memset(p, dirty_pool ? POISON : 0, n);
		}
	}
	if (!p && n <= POOL_SIZE - pool_next) {
		p = pool + pool_next;
		pool_next += n;
	} else if (!p) {
		nreserve_fail++;
	}
	last_res = p;
	last_res_n = n;
	pthread_mutex_unlock(&pool_mu);
	return p;
}

/* Identity-mapped RAM: nothing to do.  Never-used pool bytes are zero (.bss). */
int mm_sys_map(void *v, size_t n)
{
	check_pages("mm_sys_map", v, n);
	if (!in_pool(v, n))
		violation("mm_sys_map(%p, %zu): outside every reservation", v, n);
	__atomic_fetch_add(&nmap, 1, __ATOMIC_RELAXED);
	/* A record chunk: a whole reservation under 1 MiB, mapped right after it was made. */
	int record = v == last_res && n == last_res_n && n < (1 << 20);
	if ((map_fail_every && port_rand(&map_rand) % (uint64_t)map_fail_every == 0) ||
	    (map_fail_records && record)) {
		__atomic_fetch_add(&nmap_fail, 1, __ATOMIC_RELAXED);
		return -1;
	}
	return 0;
}

/* The pages keep whatever we write: poison them so the core cannot trust them. */
int mm_sys_unused(void *v, size_t n)
{
	check_pages("mm_sys_unused", v, n);
	if (!in_pool(v, n)) {
		violation("mm_sys_unused(%p, %zu): outside every reservation", v, n);
		return 0;
	}
	memset(v, POISON, n);
	__atomic_fetch_add(&nunused, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&bytes_poisoned, n, __ATOMIC_RELAXED);
	return 0;
}

/* The range goes back to the pool: the top shrinks, or it becomes a hole. */
void mm_sys_free(void *v, size_t n)
{
	check_pages("mm_sys_free", v, n);
	if (!in_pool(v, n)) {
		violation("mm_sys_free(%p, %zu): outside every reservation", v, n);
		return;
	}
	pthread_mutex_lock(&pool_mu);
	nfree_calls++;
	if ((unsigned char *)v + n == pool + pool_next) {
		pool_next -= n;
	} else {
		int i = 0;
		while (i < NHOLES && holes[i].n)
			i++;
		if (i < NHOLES) {
			holes[i].p = v;
			holes[i].n = n;
		}
	}
	pthread_mutex_unlock(&pool_mu);
}

uint64_t mm_sys_nanotime(void)
{
	static _Thread_local uint64_t last;
	uint64_t t = __atomic_load_n(&clock_ns, __ATOMIC_RELAXED);
	if (held > 2)
		violation("mm_sys_nanotime called with %d locks held", held);
	if (t < last)
		violation("clock went backwards");
	last = t;
	return t;
}

/* A spinlock; in irq_mode it masks SIGALRM first, as a kernel disables interrupts. */
void mm_sys_lock(struct mm_lock *l)
{
	if (self_id == 0)
		self_id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
	if (l->word == self_id)
		violation("lock %p taken recursively", (void *)l);
	if (held == 0 && irq_mode && !in_irq) {
		sigset_t s;
		sigemptyset(&s);
		sigaddset(&s, SIGALRM);
		pthread_sigmask(SIG_BLOCK, &s, &saved_mask);
	}
	uintptr_t zero = 0;
	while (!__atomic_compare_exchange_n(&l->word, &zero, self_id, 0, __ATOMIC_ACQUIRE,
					    __ATOMIC_RELAXED))
		zero = 0;
	held++;
	if (!checking && held > __atomic_load_n(&max_held, __ATOMIC_RELAXED))
		__atomic_store_n(&max_held, held, __ATOMIC_RELAXED);
}

void mm_sys_unlock(struct mm_lock *l)
{
	if (l->word != self_id)
		violation("unlock of lock %p not held by this thread", (void *)l);
	held--;
	__atomic_store_n(&l->word, 0, __ATOMIC_RELEASE);
	if (held == 0 && irq_mode && !in_irq)
		pthread_sigmask(SIG_SETMASK, &saved_mask, NULL);
}

/* A panic returns to the test that expected it, or ends the run. */
static sigjmp_buf *panic_jmp;
static char panic_msg[256];

void mm_sys_panic(const char *msg)
{
	if (held > 0)
		violation("mm_sys_panic called with %d locks held", held);
	snprintf(panic_msg, sizeof panic_msg, "%s", msg);
	if (panic_jmp)
		siglongjmp(*panic_jmp, 1);
	printf("FAIL unexpected panic: %s\n", msg);
	exit(2);
}

/* Ours, not the library's weak default (cache.c): counted to prove it. */
static long ncache_calls;

struct mm_cache *mm_sys_cache_get(void)
{
	__atomic_fetch_add(&ncache_calls, 1, __ATOMIC_RELAXED);
	return in_irq ? irq_cache : my_cache;
}

void mm_sys_cache_put(struct mm_cache *c)
{
	(void)c; /* a thread's own cache: nothing to re-enable */
}

/* ---- test helpers ---- */

/* POOL_OPS_DIV=n divides the stress lengths (other arches under qemu-user are slower). */
static long ops(long n)
{
	const char *d = getenv("POOL_OPS_DIV");
	long k = d ? atol(d) : 1;
	return k > 1 ? n / k : n;
}

static size_t chunk_size = 1 << 20; /* mm_config.arena_size; "chunks" mode: 8 MiB */


static char err[512];

/* mm_check and the statistics must agree, also while a handler allocates. */
static int check_mm(char *e, size_t len)
{
	struct mm_stats st;
	checking = 1;
	int rc = mm_check();
	checking = 0;
	if (rc != 0) {
		snprintf(e, len, "mm_check: %s", mm_check_error());
		return -1;
	}
	mm_read_stats(&st);
	return port_stats_add_up(&st, e, len);
}

static const struct port_alloc mm_alloc = {
	.malloc = mm_malloc,
	.free = mm_free,
	.calloc = mm_calloc,
	.realloc = mm_realloc,
	.aligned = mm_aligned_alloc,
	.usable = mm_usable_size,
	.check = check_mm,
};

static void report(const char *name, int ok)
{
	port_report(name, ok, ok ? NULL : err);
	err[0] = 0;
}

/* ---- cases ---- */

/* mm_init for this pool (CHUNKS of chunk_size; not_zeroed: memory_not_zeroed), then the two caches. */
static int init_pool(int not_zeroed)
{
	struct mm_config cfg = { .arena_policy = MM_ARENA_CHUNKS, .arena_size = chunk_size,
				 .memory_not_zeroed = not_zeroed };
	int rc = mm_init(&cfg);
	if (rc != 0 || mm_last_error() != NULL) {
		snprintf(err, sizeof err, "mm_init (memory_not_zeroed %d) returned %d: %s", not_zeroed,
			 rc, mm_last_error() ? mm_last_error() : "(no error)");
		return 0;
	}
	my_cache = mm_cache_new();
	irq_cache = mm_cache_new();
	if (!my_cache || !irq_cache) {
		snprintf(err, sizeof err, "mm_cache_new returned NULL");
		return 0;
	}
	return 1;
}

static int case_init(void)
{
	struct mm_stats st;
	if (!init_pool(0))
		return 0;
	mm_read_stats(&st);
	printf("INFO records_sys after mm_init and two caches: %llu bytes; sys %llu bytes; pool used %zu bytes\n",
	       (unsigned long long)st.records_sys, (unsigned long long)st.sys, pool_next);
	if (st.arena_policy != MM_ARENA_CHUNKS) {
		snprintf(err, sizeof err, "stats arena_policy %d, configured CHUNKS (%d)",
			 st.arena_policy, MM_ARENA_CHUNKS);
		return 0;
	}
	return check_mm(err, sizeof err) == 0;
}

static int case_basic(void)
{
	static const size_t sizes[] = { 1, 8, 9, 16, 17, 100, 1024, 1025, 4096, 32768, 32769,
					100000, 1 << 20 };
	void *p[sizeof sizes / sizeof sizes[0]];
	size_t n = sizeof sizes / sizeof sizes[0];

	for (size_t i = 0; i < n; i++) {
		p[i] = mm_malloc(sizes[i]);
		if (!p[i] || !in_pool(p[i], sizes[i])) {
			snprintf(err, sizeof err, "mm_malloc(%zu) = %p, not inside the pool", sizes[i], p[i]);
			return 0;
		}
		memset(p[i], (int)i, sizes[i]);
		if (mm_usable_size(p[i]) < sizes[i] || mm_owns(p[i]) != 1 ||
		    mm_owns((char *)p[i] + 1) != 0) {
			snprintf(err, sizeof err, "%zu bytes at %p: usable %zu, owns %d, owns(p+1) %d",
				 sizes[i], p[i], mm_usable_size(p[i]), mm_owns(p[i]),
				 mm_owns((char *)p[i] + 1));
			return 0;
		}
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < sizes[i]; j++) {
			if (((unsigned char *)p[i])[j] != (unsigned char)i) {
				snprintf(err, sizeof err, "block %zu (%zu bytes) changed at %zu", i, sizes[i], j);
				return 0;
			}
		}
		mm_free(p[i]);
		if (mm_owns(p[i]) && sizes[i] > MM_PAGE_SIZE * 8) {
			snprintf(err, sizeof err, "mm_owns(%p) still 1 after free of %zu bytes", p[i], sizes[i]);
			return 0;
		}
	}
	{
		struct mm_stats st;
		mm_read_stats(&st);
		printf("INFO records_sys after the first allocations (13 sizes, 1 B to 1 MiB): %llu bytes\n",
		       (unsigned long long)st.records_sys);
	}
	mm_free(NULL);
	if (mm_usable_size(NULL) != 0) {
		snprintf(err, sizeof err, "mm_usable_size(NULL) != 0");
		return 0;
	}
	return check_mm(err, sizeof err) == 0;
}

static int case_stress(void)
{
	struct port_stress_cfg cfg = { .seed = 42, .nops = ops(300000), .nslots = 2000,
				       .maxlarge = 1 << 20, .check_every = 20000 };
	struct port_stress_result res;
	struct mm_stats st;
	if (port_stress(&mm_alloc, &cfg, &res, err, sizeof err) < 0)
		return 0;
	mm_cache_flush(my_cache);
	mm_read_stats(&st);
	printf("INFO stress: %ld allocs, %ld reallocs, %ld frees, %ld checks, peak live %zu bytes\n",
	       res.nalloc, res.nrealloc, res.nfree, res.nchecks, res.peak_bytes);
	printf("INFO records_sys after stress: %llu bytes (heap_sys %llu, sys %llu, pool used %zu)\n",
	       (unsigned long long)st.records_sys, (unsigned long long)st.heap_sys,
	       (unsigned long long)st.sys, pool_next);
	/* Everything is freed: no objects, and in use at most the one free span
	 * central keeps per class (central.c). */
	uint64_t keep = 0;
	for (int cl = 1; cl < st.nclasses; cl++)
		keep += (uint64_t)st.by_class[cl].npages * MM_PAGE_SIZE;
	if (st.heap_objects != 0 || st.heap_inuse > keep) {
		snprintf(err, sizeof err,
			 "everything freed, but heap_objects %llu, heap_inuse %llu > %llu (a span per class)",
			 (unsigned long long)st.heap_objects, (unsigned long long)st.heap_inuse,
			 (unsigned long long)keep);
		return 0;
	}
	return check_mm(err, sizeof err) == 0;
}

/* Released pages are poisoned; calloc must still return zeros. */
static int case_scavenge(void)
{
	struct mm_stats st0, st1;
	mm_cache_flush(my_cache);
	clock_ns += 10ull * 1000 * 1000 * 1000;
	uint64_t got = mm_scavenge(1000000);
	mm_read_stats(&st0);
	if (got == 0 || st0.heap_released == 0 || nunused == 0) {
		snprintf(err, sizeof err, "mm_scavenge returned %llu, heap_released %llu, %ld unused calls",
			 (unsigned long long)got, (unsigned long long)st0.heap_released, nunused);
		return 0;
	}
	if (check_mm(err, sizeof err) < 0)
		return 0;
	/* Take released pages back with calloc until most are reused. */
	enum { MAXP = 4096 };
	static void *ps[MAXP];
	uint64_t r = 7;
	int n = 0;
	for (; n < MAXP; n++) {
		mm_read_stats(&st1);
		if (st1.heap_released * 4 < st0.heap_released)
			break;
		size_t sz = port_rand(&r) % 3 ? 1 + port_rand(&r) % 2048 : 4096 + port_rand(&r) % 200000;
		unsigned char *p = ps[n] = mm_calloc(1, sz);
		if (!p) {
			snprintf(err, sizeof err, "calloc(1, %zu) failed", sz);
			return 0;
		}
		for (size_t i = 0; i < sz; i++) {
			if (p[i]) {
				snprintf(err, sizeof err,
					 "calloc(1, %zu) = %p: byte %zu is 0x%02x (released pages not cleared)",
					 sz, (void *)p, i, p[i]);
				return 0;
			}
		}
		memset(p, 0x5a, sz);
	}
	mm_read_stats(&st1);
	printf("INFO scavenge: released %llu bytes, %llu left released after %d callocs, %llu bytes poisoned\n",
	       (unsigned long long)got, (unsigned long long)st1.heap_released, n,
	       (unsigned long long)bytes_poisoned);
	for (int i = 0; i < n; i++)
		mm_free(ps[i]);
	return check_mm(err, sizeof err) == 0;
}

/* ---- interrupts: a SIGALRM handler allocates with its own cache ---- */

enum { IRQ_SLOTS = 64 };
static struct { unsigned char *p; size_t n; unsigned char v; } irq_slots[IRQ_SLOTS];
static volatile long irq_count, irq_allocs, irq_bad_entry, irq_bad_data;
static uint64_t irq_rand = 99;

static void on_alarm(int sig)
{
	(void)sig;
	irq_count++;
	if (held > 0)
		irq_bad_entry++; /* the handler interrupted a locked region */
	in_irq = 1;
	for (int k = 0; k < 4; k++) {
		int i = (int)(port_rand(&irq_rand) % IRQ_SLOTS);
		if (irq_slots[i].p) {
			for (size_t j = 0; j < irq_slots[i].n; j++)
				if (irq_slots[i].p[j] != irq_slots[i].v)
					irq_bad_data++;
			mm_free(irq_slots[i].p);
			irq_slots[i].p = NULL;
		} else {
			size_t n = 1 + port_rand(&irq_rand) % (port_rand(&irq_rand) % 8 ? 512 : 70000);
			unsigned char *p = mm_malloc(n);
			if (p) {
				irq_slots[i].p = p;
				irq_slots[i].n = n;
				irq_slots[i].v = (unsigned char)(irq_count + k);
				memset(p, irq_slots[i].v, n);
				irq_allocs++;
			}
		}
	}
	in_irq = 0;
}

static int case_interrupts(void)
{
	struct sigaction sa;
	struct itimerval it = { { 0, 200 }, { 0, 200 } };
	struct port_stress_cfg cfg = { .seed = 5, .nops = ops(150000), .nslots = 500,
				       .maxlarge = 256 << 10, .check_every = 50000 };
	struct port_stress_result res;
	int ok;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	irq_mode = 1;
	setitimer(ITIMER_REAL, &it, NULL);
	ok = port_stress(&mm_alloc, &cfg, &res, err, sizeof err) == 0;
	memset(&it, 0, sizeof it);
	setitimer(ITIMER_REAL, &it, NULL);
	irq_mode = 0;
	signal(SIGALRM, SIG_IGN);
	for (int i = 0; i < IRQ_SLOTS; i++) {
		mm_free(irq_slots[i].p);
		irq_slots[i].p = NULL;
	}
	printf("INFO interrupts: %ld handler runs, %ld allocations inside handlers\n", irq_count,
	       irq_allocs);
	if (!ok)
		return 0;
	if (irq_count < 10 || irq_allocs == 0 || irq_bad_entry || irq_bad_data) {
		snprintf(err, sizeof err, "%ld handler runs, %ld allocs, %ld inside a lock, %ld corrupt",
			 irq_count, irq_allocs, irq_bad_entry, irq_bad_data);
		return 0;
	}
	return check_mm(err, sizeof err) == 0;
}

/* ---- threads: two stresses at once, each with its own cache ---- */

struct worker {
	uint64_t seed;
	int ok;
	char err[256];
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct port_stress_cfg cfg = { .seed = w->seed, .nops = ops(150000), .nslots = 800,
				       .maxlarge = 512 << 10, .check_every = 0 };
	struct port_alloc a = mm_alloc;
	struct port_stress_result res;
	a.check = NULL; /* mm_check from two threads at once is not the point here */
	my_cache = mm_cache_new();
	if (!my_cache) {
		snprintf(w->err, sizeof w->err, "mm_cache_new failed");
		return NULL;
	}
	w->ok = port_stress(&a, &cfg, &res, w->err, sizeof w->err) == 0;
	mm_cache_release(my_cache);
	my_cache = NULL;
	return NULL;
}

static int case_threads(void)
{
	struct worker w[2] = { { .seed = 11 }, { .seed = 12 } };
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, worker_main, &w[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 2; i++) {
		if (!w[i].ok) {
			snprintf(err, sizeof err, "thread %d: %s", i, w[i].err);
			return 0;
		}
	}
	return check_mm(err, sizeof err) == 0;
}

/* ---- mm_sys_map refusals (a kernel out of frames) ---- */

/* Everything freed since st0: nothing may stay in use (a few kept class spans aside). */
static int nothing_lost(const struct mm_stats *st0, const char *what)
{
	struct mm_stats st1;
	void *p = mm_malloc(300 << 10); /* refusals over: memory works again */
	if (!p) {
		snprintf(err, sizeof err, "malloc fails after the %s stopped", what);
		return 0;
	}
	mm_free(p);
	mm_cache_flush(my_cache);
	mm_read_stats(&st1);
	printf("INFO %s: heap_inuse %llu KiB before, %llu KiB after everything was freed\n", what,
	       (unsigned long long)st0->heap_inuse >> 10, (unsigned long long)st1.heap_inuse >> 10);
	if (st1.heap_inuse > st0->heap_inuse + (256 << 10)) {
		snprintf(err, sizeof err, "%llu KiB stay in use after freeing everything: lost to the %s",
			 (unsigned long long)(st1.heap_inuse - st0->heap_inuse) >> 10, what);
		return 0;
	}
	return check_mm(err, sizeof err) == 0;
}

/* About one mm_sys_map in three refused while 256-512 KiB blocks are allocated. */
static int case_map_refused(void)
{
	enum { N = 160 };
	static unsigned char *ps[N];
	static size_t sz[N];
	uint64_t r = 77;
	int got = 0, nulls = 0;
	long fail0 = nmap_fail;
	struct mm_stats st0;

	mm_cache_flush(my_cache);
	mm_read_stats(&st0);
	map_fail_every = 3; /* random, not every n-th: a fixed period can lock step with the core */
	for (int i = 0; i < N; i++) {
		sz[i] = (256 << 10) + port_rand(&r) % (256 << 10);
		ps[i] = mm_malloc(sz[i]);
		if (ps[i]) {
			memset(ps[i], i, sz[i]);
			got++;
		} else {
			nulls++;
		}
	}
	map_fail_every = 0;
	printf("INFO map refusals: %ld mm_sys_map calls refused; %d allocations succeeded, %d NULL\n",
	       nmap_fail - fail0, got, nulls);
	int ok = nmap_fail > fail0 && nulls > 0 && got > 0;
	if (!ok)
		snprintf(err, sizeof err, "%ld refusals, %d NULL, %d allocated: the case did not bite",
			 nmap_fail - fail0, nulls, got);
	if (ok && check_mm(err, sizeof err) < 0)
		ok = 0;
	for (int i = 0; i < N; i++) {
		for (size_t j = 0; ok && ps[i] && j < sz[i]; j += 997) {
			if (ps[i][j] != (unsigned char)i) {
				snprintf(err, sizeof err, "block %d changed at %zu after map refusals", i, j);
				ok = 0;
			}
		}
		mm_free(ps[i]);
	}
	return ok && nothing_lost(&st0, "map refusals");
}

/*
 * Only the maps of the core's record chunks refused (a kernel whose frames run
 * out while the heap still has pages): first 4 KiB blocks (a one-page span
 * each), more than the pool holds, so that records or the pool run short
 * whatever the earlier cases left (the threads case leaves more or fewer
 * spare records, and the pool more or less full), then 2 MiB blocks: the
 * arena grows and maps, then needs a record for the new pages.  Whether a
 * record chunk's map is refused or the pool has no room left for its
 * reservation, the core must fall back on the heap's free pages or say
 * NULL, and lose nothing.
 */
static int case_record_refused(void)
{
	enum { M = 20000, NBIG = 4 }; /* 78 MiB of 4 KiB blocks: more than the 64 MiB pool */
	static void *qs[M];
	void *big[NBIG];
	long fail0 = nmap_fail, rfail0 = nreserve_fail;
	int qgot = 0, qnull = 0, bgot = 0;
	struct mm_stats st0;

	mm_cache_flush(my_cache);
	mm_read_stats(&st0);
	map_fail_records = 1;
	for (int i = 0; i < M; i++) {
		qs[i] = mm_malloc(4 << 10);
		qs[i] ? qgot++ : qnull++;
	}
	for (int i = 0; i < NBIG; i++)
		bgot += (big[i] = mm_malloc((size_t)(2 << 20) + (size_t)i * 4096)) != NULL;
	map_fail_records = 0;
	printf("INFO record-chunk refusals: %ld refused, %ld reservations failed; 4 KiB: %d allocated, "
	       "%d NULL; 2 MiB: %d of %d\n", nmap_fail - fail0, nreserve_fail - rfail0, qgot, qnull, bgot, NBIG);
	for (int i = 0; i < NBIG; i++)
		mm_free(big[i]);
	for (int i = 0; i < M; i++)
		mm_free(qs[i]);
	/* Either way the core had to take records from the heap's free pages (or say NULL). */
	if (nmap_fail == fail0 && nreserve_fail == rfail0) {
		snprintf(err, sizeof err, "records never ran short: no record chunk map refused, no reservation failed");
		return 0;
	}
	return nothing_lost(&st0, "record-chunk refusals");
}

/* ---- exhaustion ---- */

/* Allocates n-byte blocks until NULL; returns how many (max cap). */
static int fill_until_null(void **ps, int cap, size_t n)
{
	int k = 0;
	while (k < cap && (ps[k] = mm_malloc(n)) != NULL) {
		memset(ps[k], 0x77, n < 64 ? n : 64);
		k++;
	}
	return k;
}

static int case_exhaust_large(void)
{
	enum { CAP = 1000 };
	static void *ps[CAP];
	size_t n = 1 << 20;
	int k1 = fill_until_null(ps, CAP, n);
	if (k1 == CAP || k1 < 16) {
		snprintf(err, sizeof err, "%d blocks of 1 MiB from a %zu MiB pool", k1, POOL_SIZE >> 20);
		return 0;
	}
	if (check_mm(err, sizeof err) < 0)
		return 0;
	/* Exhausted: the other entry points fail cleanly too, and the old block survives. */
	void *q = mm_realloc(ps[0], 8 << 20);
	if (q != NULL || mm_calloc(1, n) != NULL || mm_aligned_alloc(1 << 20, n) != NULL) {
		snprintf(err, sizeof err, "with the pool exhausted realloc/calloc/aligned succeeded");
		return 0;
	}
	if (((unsigned char *)ps[0])[63] != 0x77 || mm_owns(ps[0]) != 1) {
		snprintf(err, sizeof err, "failed realloc disturbed the old block");
		return 0;
	}
	for (int i = 0; i < k1; i++)
		mm_free(ps[i]);
	if (check_mm(err, sizeof err) < 0)
		return 0;
	int k2 = fill_until_null(ps, CAP, n);
	printf("INFO exhaustion: %d x 1 MiB before NULL, %d again after freeing (pool %zu MiB, %ld failed reserves)\n",
	       k1, k2, POOL_SIZE >> 20, nreserve_fail);
	for (int i = 0; i < k2; i++)
		mm_free(ps[i]);
	if (k2 < k1) {
		snprintf(err, sizeof err, "only %d of %d blocks could be allocated again after freeing", k2, k1);
		return 0;
	}
	return check_mm(err, sizeof err) == 0;
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
	return x < y ? -1 : x > y;
}

static int case_exhaust_small(void)
{
	int cap = (int)(POOL_SIZE / 48) + 1000;
	void **ps = malloc(sizeof *ps * (size_t)cap);
	int k = fill_until_null(ps, cap, 48), ok = 1;
	struct mm_stats st;
	mm_read_stats(&st);
	printf("INFO exhaustion: at the NULL, %llu KiB of the heap were still free (heap_sys %llu KiB)\n",
	       (unsigned long long)st.heap_idle >> 10, (unsigned long long)st.heap_sys >> 10);
	if (k == cap || k < 1000) {
		snprintf(err, sizeof err, "%d objects of 48 bytes from a %zu MiB pool", k, POOL_SIZE >> 20);
		ok = 0;
	}
	/* Every object handed out once: sorted, none overlaps the next. */
	void **sorted = malloc(sizeof *sorted * (size_t)k);
	memcpy(sorted, ps, sizeof *sorted * (size_t)k);
	qsort(sorted, (size_t)k, sizeof *sorted, cmp_ptr);
	for (int i = 0; ok && i + 1 < k; i++) {
		if ((char *)sorted[i] + 48 > (char *)sorted[i + 1]) {
			snprintf(err, sizeof err, "objects %p and %p overlap (48 bytes each)", sorted[i],
				 sorted[i + 1]);
			ok = 0;
		}
	}
	free(sorted);
	if (ok && check_mm(err, sizeof err) < 0)
		ok = 0;
	for (int i = 0; i < k; i++)
		mm_free(ps[i]);
	free(ps);
	mm_cache_flush(my_cache);
	if (!ok || check_mm(err, sizeof err) < 0)
		return 0;
	/* The small spans went back to the heap and coalesced: a block of most of a
	 * chunk fits again (not more: records sit between chunks in the pool). */
	void *big = mm_malloc(768 << 10);
	printf("INFO exhaustion: %d objects of 48 bytes before NULL; 768 KiB afterwards: %s\n", k,
	       big ? "ok" : "NULL");
	if (!big) {
		snprintf(err, sizeof err, "after freeing %d small objects, malloc(768 KiB) failed", k);
		return 0;
	}
	mm_free(big);
	return check_mm(err, sizeof err) == 0;
}

/* ---- bad frees must panic with the address ---- */

static int expect_panic(const char *what, void *p)
{
	sigjmp_buf jb;
	char hex[32];
	panic_msg[0] = 0;
	panic_jmp = &jb;
	if (sigsetjmp(jb, 0) == 0) {
		mm_free(p);
		panic_jmp = NULL;
		snprintf(err, sizeof err, "%s %p: no panic", what, p);
		return 0;
	}
	panic_jmp = NULL;
	snprintf(hex, sizeof hex, "%lx", (unsigned long)(uintptr_t)p);
	if (strcasestr(panic_msg, hex) == NULL) {
		snprintf(err, sizeof err, "%s %p: panic message does not name the address: \"%s\"",
			 what, p, panic_msg);
		return 0;
	}
	printf("INFO %s: panic \"%s\"\n", what, panic_msg);
	return 1;
}

static int case_bad_free(void)
{
	static char outside[64];
	char *big = mm_malloc(100000);
	if (!big) {
		snprintf(err, sizeof err, "malloc failed");
		return 0;
	}
	if (!expect_panic("free of a pointer outside the heap", outside + 16) ||
	    !expect_panic("free of an interior pointer of a large block", big + 4096))
		return 0;
	mm_free(big);
	if (!expect_panic("double free of a large block", big))
		return 0;
	return check_mm(err, sizeof err) == 0;
}

static int case_contracts(void)
{
	printf("INFO hooks: %ld reserve (%ld refused), %ld map, %ld unused, %ld free, %ld cache; "
	       "locks nested at most %d deep\n",
	       nreserve, nreserve_fail, nmap, nunused, nfree_calls, ncache_calls, max_held);
	if (nviolations) {
		snprintf(err, sizeof err, "%d breaches, first: %s", nviolations, first_violation);
		return 0;
	}
	if (ncache_calls == 0) {
		snprintf(err, sizeof err, "the host's mm_sys_cache_get was never called (library default used?)");
		return 0;
	}
	if (max_held > 2) {
		snprintf(err, sizeof err, "locks nested %d deep (central then heap is 2)", max_held);
		return 0;
	}
	return 1;
}

/*
 * "chunks" mode, a separate run (mm_init happens once a process): 8 MiB
 * chunks and 3 MiB requests mixed with small ones.  A request that does not
 * fit in the current chunk starts a new one; the unused end of the old one
 * is real pool memory and must not be lost, and when less than a chunk is
 * left, a smaller reservation must still be tried.
 */
static int case_chunk_fill(void)
{
	enum { CAP = 4096 };
	static void *ps[CAP];
	uint64_t r = 5, total = 0;
	int k = 0, bigs = 1;
	mm_free(mm_malloc(16)); /* a small one too, through the host's cache hook */
	for (int i = 0; k < CAP; i++) {
		int big = bigs && i % 2 == 0;
		size_t n = big ? (size_t)3 << 20 : (64 << 10) + port_rand(&r) % (64 << 10);
		void *p = mm_malloc(n);
		if (!p) {
			if (!big)
				break;
			bigs = 0; /* then fill the rest with small blocks */
			continue;
		}
		ps[k++] = p;
		total += n;
	}
	struct mm_stats st;
	mm_read_stats(&st);
	printf("INFO chunks: %d blocks, %.1f MiB of the %zu MiB pool allocated; heap_sys %.1f MiB, "
	       "pool reserved %.1f MiB\n", k, total / 1048576.0, POOL_SIZE >> 20,
	       st.heap_sys / 1048576.0, pool_next / 1048576.0);
	int ok = total >= POOL_SIZE / 100 * 90;
	if (!ok)
		snprintf(err, sizeof err,
			 "only %.1f of %zu MiB usable: reserved chunks were not used (reserved %.1f MiB, heap %.1f MiB)",
			 total / 1048576.0, POOL_SIZE >> 20, pool_next / 1048576.0, st.heap_sys / 1048576.0);
	if (ok && check_mm(err, sizeof err) < 0)
		ok = 0;
	for (int i = 0; i < k; i++)
		mm_free(ps[i]);
	return ok && check_mm(err, sizeof err) == 0;
}

/*
 * "traps", a separate run: the mistakes a port makes must be loud.  First no
 * mm_init at all (the default policy asks this pool for hundreds of MiB):
 * NULL, and mm_last_error() says to use MM_ARENA_CHUNKS.  Then the pool is
 * filled with garbage, as RAM a boot loader used would be, and the core is
 * told so (memory_not_zeroed): records, calloc and mm_check must not care.
 * Last, a request no reservation can hold names itself.
 */
static int case_no_init(void)
{
	void *p = mm_malloc(64);
	const char *e = mm_last_error();
	printf("INFO no mm_init: malloc(64) = %p; mm_last_error: \"%s\"\n", p, e ? e : "(null)");
	if (p || !e || !strstr(e, "MM_ARENA_CHUNKS")) {
		snprintf(err, sizeof err, "malloc without mm_init on a pool: %p, error \"%s\"", p,
			 e ? e : "(null)");
		return 0;
	}
	/* The default 64-bit arena must be somewhere this arch's smallest address space holds. */
	uint64_t top = (uint64_t)first_hint + first_n;
	uint64_t limit = sizeof(void *) == 4 ? (uint64_t)1 << 32 :
#if defined(__riscv)
		(uint64_t)1 << 38; /* Sv39: the lower half */
#else
		(uint64_t)1 << 47; /* 48-bit VA: the lower half */
#endif
	printf("INFO default first reservation: %zu bytes at hint %#lx (end %#llx, limit %#llx)\n", first_n,
	       (unsigned long)first_hint, (unsigned long long)top, (unsigned long long)limit);
	if (top > limit) {
		snprintf(err, sizeof err, "the default arena hint %#lx + %zu bytes ends past %#llx",
			 (unsigned long)first_hint, first_n, (unsigned long long)limit);
		return 0;
	}
	return 1;
}

static int case_dirty_init(void)
{
	memset(pool, POISON, POOL_SIZE);
	dirty_pool = 1;
	return init_pool(1) && check_mm(err, sizeof err) == 0;
}

static int case_dirty_calloc(void)
{
	static const size_t sizes[] = { 1, 48, 4000, 32768, 40000, 300000, 3 << 20 };
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		unsigned char *p = mm_calloc(1, sizes[i]);
		if (!p) {
			snprintf(err, sizeof err, "calloc(1, %zu) failed", sizes[i]);
			return 0;
		}
		for (size_t j = 0; j < sizes[i]; j++) {
			if (p[j]) {
				snprintf(err, sizeof err, "calloc(1, %zu) byte %zu is 0x%02x on a dirty pool",
					 sizes[i], j, p[j]);
				return 0;
			}
		}
		memset(p, 0x5a, sizes[i]);
		mm_free(p);
	}
	return check_mm(err, sizeof err) == 0;
}

static int case_too_large(void)
{
	void *p = mm_malloc(POOL_SIZE);
	const char *e = mm_last_error();
	printf("INFO request larger than the pool: %p; mm_last_error: \"%s\"\n", p, e ? e : "(null)");
	if (p || !e || !strstr(e, "request of") || !strstr(e, "MM_ARENA_CHUNKS")) {
		snprintf(err, sizeof err, "malloc(%zu) from a %zu-byte pool: %p, error \"%s\"",
			 (size_t)POOL_SIZE, (size_t)POOL_SIZE, p, e ? e : "(null)");
		return 0;
	}
	return check_mm(err, sizeof err) == 0;
}

/* A list of cases, ended by { NULL }: each runs and is reported in order. */
struct pool_case {
	const char *name;
	int (*run)(void);
};

static int run_cases(const struct pool_case *c)
{
	for (; c->name; c++)
		report(c->name, c->run());
	return port_failures() ? 1 : 0;
}

static const struct pool_case traps[] = {
	{ "pool, no mm_init: NULL, mm_last_error says MM_ARENA_CHUNKS, default arena fits the VA",
	  case_no_init },
	{ "pool, garbage-filled: mm_init with memory_not_zeroed", case_dirty_init },
	{ "pool, garbage-filled: calloc returns zeros", case_dirty_calloc },
	{ "pool, garbage-filled: basic sizes, usable size and ownership", case_basic },
	{ "pool, garbage-filled: shadow-model stress with mm_check", case_stress },
	{ "pool, garbage-filled: a request larger than the pool names itself", case_too_large },
	{ "pool, traps: hook contracts held", case_contracts },
	{ NULL, NULL },
};

static const struct pool_case chunks[] = { /* with chunk_size 8 MiB */
	{ "pool, 8 MiB chunks: mm_init", case_init },
	{ "pool, 8 MiB chunks: 3 MiB and small blocks fill 90% of the pool", case_chunk_fill },
	{ "pool, 8 MiB chunks: hook contracts held", case_contracts },
	{ NULL, NULL },
};

static const struct pool_case refusals[] = {
	{ "pool, fresh heap: mm_init", case_init },
	{ "pool, fresh heap: record chunks refused: NULL, no memory lost", case_record_refused },
	{ "pool, fresh heap: mm_sys_map refusals give NULL, no memory lost", case_map_refused },
	{ "pool, fresh heap: hook contracts held", case_contracts },
	{ NULL, NULL },
};

static const struct pool_case after_init[] = {
	{ "pool: basic sizes live inside the pool, usable size and ownership", case_basic },
	{ "pool: shadow-model stress (300k ops, POOL_OPS_DIV divides) with mm_check", case_stress },
	{ "pool: scavenged pages are poisoned, calloc still returns zeros", case_scavenge },
	{ "pool: interrupt handler allocates while the lock hook masks it", case_interrupts },
	{ "pool: two threads with their own caches", case_threads },
	{ "pool: mm_sys_map refusals give NULL, no memory lost", case_map_refused },
	{ "pool: record chunks refused: NULL, no memory lost", case_record_refused },
	{ "pool: exhaustion with 1 MiB blocks gives NULL, memory reusable", case_exhaust_large },
	{ "pool: exhaustion with 48-byte objects gives NULL, spans coalesce back", case_exhaust_small },
	{ "pool: bad frees panic naming the address", case_bad_free },
	{ "pool: hook contracts held (alignment, lock nesting, no lock at panic)", case_contracts },
	{ NULL, NULL },
};

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(mode, "traps") == 0)
		return run_cases(traps);
	if (strcmp(mode, "chunks") == 0) {
		chunk_size = 8 << 20;
		return run_cases(chunks);
	}
	if (strcmp(mode, "refusals") == 0)
		return run_cases(refusals);
	if (!case_init()) {
		report("pool: mm_init with MM_ARENA_CHUNKS on a static pool", 0);
		return 1;
	}
	report("pool: mm_init with MM_ARENA_CHUNKS on a static pool", 1);
	return run_cases(after_init);
}
