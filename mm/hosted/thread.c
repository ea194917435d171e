/*
 * hosted/thread.c - the hosted build's per-thread caches (an initial-exec
 * TLS slot, returned by a pthread key destructor), its fork handlers, and
 * the scavenger's settings: the idle limit MM_SCAVENGE seconds (default 300,
 * 0 turns scavenging off; setting it also starts a background thread), the
 * idle bound MM_RETAIN MB plus MM_RETAIN_PCT % of the heap in use (default
 * 64 MB + 100 %), MM_TRACE=1 prints a line a pass.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "../mm.h"
#include "../sys.h"
#include "hosted.h"

__thread struct mm_cache *mm_hosted_cache __attribute__((tls_model("initial-exec"))) = &mm_cache_none;
static __thread int cache_busy; /* 1: creating one (no recursion), 2: thread exiting */
static pthread_key_t cache_key;
static pthread_once_t setup_once = PTHREAD_ONCE_INIT;

static void cache_destructor(void *c)
{
	mm_hosted_cache = &mm_cache_none;
	cache_busy = 2; /* anything this thread allocates from now on goes to central */
	mm_cache_release(c);
}

/*
 * Fork.  Two ways a fork handler that just takes every libmm lock hangs
 * (glibc's tst-malloc-fork-deadlock and tst-mallocfork2):
 *  - Lock order against stdio.  glibc's fork runs the prepare handlers,
 *    then takes stdio's list lock (_IO_list_lock), then its own malloc's
 *    locks; stdio's own order is list lock -> FILE lock -> malloc (fflush(NULL)
 *    holds the list lock and waits for a FILE lock, whose holder, getline,
 *    waits for malloc).  A prepare handler holding libmm's locks and then
 *    waiting in fork for the list lock closes the circle.  So ours takes the
 *    list lock first (it is recursive: fork takes it again), then libmm's:
 *    the same order as stdio.  The parent handler gives both back; in the
 *    child glibc has reset the list lock (the handler resets it again, for
 *    a single-threaded fork that left it alone).  Weak references: on
 *    another libc, or a static link without stdio, they are NULL.
 *  - Fork from a signal handler that interrupted malloc in this very thread
 *    (async-signal-safe in glibc).  The interrupted code holds a libmm lock
 *    and cannot release it until the handler returns.  The locks know their
 *    owner (sys.c): prepare skips those this thread holds; the child's copy
 *    of the thread holds them too and releases them when its handler
 *    returns.  While inside libmm, prepare also gives up (after a bounded
 *    wait) on a lock another thread holds, since that thread may be waiting
 *    for ours; the child then must not call malloc, which POSIX already
 *    forbids after fork from a signal handler in a threaded process.
 */
extern void _IO_list_lock(void) __attribute__((weak));
extern void _IO_list_unlock(void) __attribute__((weak));
extern void _IO_list_resetlock(void) __attribute__((weak));

static void fork_prepare(void)
{
	if (_IO_list_lock)
		_IO_list_lock();
	mm_hosted_fork_locking(1);
	mm_lock_all();
	mm_hosted_fork_locking(0);
}

static void fork_parent(void)
{
	mm_hosted_fork_unlocking(1);
	mm_unlock_all();
	mm_hosted_fork_unlocking(0);
	if (_IO_list_unlock)
		_IO_list_unlock();
}

static void fork_child(void)
{
	mm_hosted_fork_unlocking(1);
	mm_unlock_all();
	mm_hosted_fork_unlocking(0);
	if (_IO_list_resetlock)
		_IO_list_resetlock();
}

static uint64_t scavenge_limit_ns;
static int trace;

uint64_t mm_hosted_scavenge(uint64_t idle_ns)
{
	uint64_t r = mm_scavenge(idle_ns);
	if (trace) {
		char line[320];
		size_t n = mm_trace_format(line, sizeof line - 1, r);
		if (n > sizeof line - 2)
			n = sizeof line - 2;
		line[n] = '\n';
		(void)!write(2, line, n + 1);
	}
	return r;
}

/* The background scavenger: a pass every half idle limit, like the Go runtime. */
static void *scavenger(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec ts = { (time_t)(scavenge_limit_ns / 2000000000u), 0 };
		if (ts.tv_sec == 0)
			ts.tv_nsec = 500000000;
		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
		mm_hosted_scavenge(scavenge_limit_ns);
	}
	return 0;
}

/*
 * getenv without libc's getenv: the environment read in place, so that
 * setting up touches no page of libc a process would not touch anyway
 * (start-up footprint, DESIGN.md).
 */
extern char **environ;
static const char *env(const char *name)
{
	for (char **e = environ; e && *e; e++) {
		const char *v = *e, *n = name;
		while (*n && *v == *n)
			v++, n++;
		if (!*n && *v == '=')
			return v + 1;
	}
	return 0;
}

/* A decimal environment variable, or def when it is unset or not a number. */
static uint64_t env_num(const char *name, uint64_t def)
{
	const char *s = env(name);
	if (!s || *s < '0' || *s > '9')
		return def;
	uint64_t v = 0;
	for (; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (uint64_t)(*s - '0');
	return v;
}

/*
 * Once a process: the cache key, the fork handlers and the scavenger.  By
 * default the heap runs the scavenger itself, from its slow path (no thread:
 * a drop-in malloc must not add threads, which unshare(CLONE_NEWUSER) and
 * others notice): a pass every half idle limit (300 s, as the Go runtime),
 * and the idle bound (64 MB + 100 % of the heap in use) when a free passes
 * it.  MM_SCAVENGE=seconds sets the idle limit and also starts a background
 * thread, for processes that go idle with memory to give back;
 * MM_SCAVENGE=0 turns both policies off.  MM_RETAIN=MB and MM_RETAIN_PCT=%
 * set the bound (both 0: no bound).
 */
static void setup(void)
{
	const char *t = env("MM_TRACE");
	int thread = env("MM_SCAVENGE") != NULL;
	pthread_key_create(&cache_key, cache_destructor);
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	trace = t && t[0] == '1';
	scavenge_limit_ns = env_num("MM_SCAVENGE", 300) * 1000000000u;
	mm_auto_scavenge(scavenge_limit_ns);
	if (scavenge_limit_ns)
		mm_scavenge_bound(env_num("MM_RETAIN", 64) << 20, (uint32_t)env_num("MM_RETAIN_PCT", 100));
	if (thread && scavenge_limit_ns) {
		pthread_t th;
		pthread_attr_t a;
		pthread_attr_init(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		pthread_create(&th, &a, scavenger, 0);
		pthread_attr_destroy(&a);
	}
}

/* No cache yet in this thread: make one (or say NULL while we are making it). */
struct mm_cache *mm_hosted_cache_slow(void)
{
	if (cache_busy)
		return 0;
	cache_busy = 1;
	pthread_once(&setup_once, setup);
	struct mm_cache *c = mm_cache_new();
	if (c) {
		pthread_setspecific(cache_key, c);
		mm_hosted_cache = c;
	}
	cache_busy = 0;
	return c;
}
