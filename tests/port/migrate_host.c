/*
 * migrate_host.c - the cache contract under preemption and SMP (mm/sys.h,
 * mm_sys_cache_get/put): a simulated preemptive kernel with NCPU CPUs, one
 * cache per CPU and more threads than CPUs, linked against the freestanding
 * archive build/<arch>/libmm.a.
 *
 * The simulation.  A thread runs only while it holds a CPU (that CPU's
 * mutex), so at most one thread runs on a CPU at a time, as on real
 * hardware.  At a preemption point (between any two allocator calls, and
 * inside the hooks the core calls: lock, unlock, get, put) a
 * thread whose preemption count is 0 may be preempted: it lets go of its
 * CPU and resumes on another one ("migration").  Spin locks raise the
 * preemption count, as xv6's acquire does with pushcli.
 *
 * Three cases, each in a child process with a fresh heap:
 *  - pinned: get disables preemption (count++, the CPU cannot change) and
 *    returns the current CPU's cache; put enables it again.  The
 *    shadow-model stress (tests/port/stress.c) runs in every thread with
 *    pattern checks, and mm_check must pass at the end.  Migrations and
 *    the CPUs each thread ran on are counted, so the case cannot pass
 *    without preemption having happened.
 *  - old advice, no preemption (control): get returns the current CPU's
 *    cache, put does nothing, threads never migrate: must pass too (the
 *    simulation itself does not break a correct port).
 *  - old advice with preemption: the same hooks with migrations: must fail
 *    (pattern mismatch, panic, crash, mm_check failure or hang), or the
 *    test proves nothing.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../mm/mm.h"
#include "../../mm/sys.h"
#include "../../mm/sys_ram.h"
#include "stress.h"

enum { NCPU = 3, NTHREADS = 6 };

/* ---- the "kernel": RAM in one zeroed pool, no paging (mm/sys_ram.h) ---- */

static unsigned char pool[(size_t)96 << 20] __attribute__((aligned(4096)));
MM_SYS_RAM_POOL(pool);

uint64_t mm_sys_nanotime(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void mm_sys_panic(const char *msg)
{
	printf("INFO panic: %s\n", msg);
	fflush(stdout);
	_exit(4);
}

/* ---- CPUs, threads, preemption ---- */

enum mode { PINNED, OLD_NO_PREEMPT, OLD_PREEMPT };
static enum mode mode;

static pthread_mutex_t cpu_mu[NCPU];     /* held by the thread running on that CPU */
static struct mm_cache *cpu_cache[NCPU];
static long nmigrations, nviolations;
static char first_violation[200];

static _Thread_local int cur_cpu = -1;   /* the CPU this thread holds; -1: main, set-up */
static _Thread_local int preempt_count;  /* > 0: cannot be preempted */
static _Thread_local uint64_t rnd;
static _Thread_local unsigned cpus_seen; /* bit per CPU */

static void violation(const char *what)
{
	if (__atomic_fetch_add(&nviolations, 1, __ATOMIC_RELAXED) == 0)
		snprintf(first_violation, sizeof first_violation, "%s", what);
}

static void run_on(int cpu)
{
	pthread_mutex_lock(&cpu_mu[cpu]);
	cur_cpu = cpu;
	cpus_seen |= 1u << cpu;
}

/* A timer tick may land here: about one point in `one_in` preempts. */
static void preempt_point(int one_in)
{
	if (cur_cpu < 0 || mode == OLD_NO_PREEMPT || preempt_count > 0 || port_rand(&rnd) % (uint64_t)one_in)
		return;
	int from = cur_cpu, to = (int)((uint64_t)from + 1 + port_rand(&rnd) % (NCPU - 1)) % NCPU;
	pthread_mutex_unlock(&cpu_mu[from]);
	if (port_rand(&rnd) % 4 == 0)
		sched_yield(); /* let a waiting thread take the CPU we left */
	run_on(to);
	__atomic_fetch_add(&nmigrations, 1, __ATOMIC_RELAXED);
}

/* A spin lock that disables preemption while held (xv6: acquire = pushcli + xchg). */
void mm_sys_lock(struct mm_lock *l)
{
	preempt_point(2);
	preempt_count++;
	while (__atomic_exchange_n(&l->word, 1, __ATOMIC_ACQUIRE))
		sched_yield(); /* the host has fewer cores than threads: let the holder run */
}

void mm_sys_unlock(struct mm_lock *l)
{
	__atomic_store_n(&l->word, 0, __ATOMIC_RELEASE);
	preempt_count--;
	preempt_point(2);
}

/*
 * The contract: get disables preemption, then takes this CPU's cache; put
 * checks it is still on that CPU and enables preemption.  The old advice:
 * "return the current CPU's cache", with nothing pinned.
 */
struct mm_cache *mm_sys_cache_get(void)
{
	if (cur_cpu < 0)
		return NULL; /* the main thread, setting up and checking: no CPU of its own */
	preempt_point(8);
	if (mode == PINNED)
		preempt_count++;
	return cpu_cache[cur_cpu];
}

void mm_sys_cache_put(struct mm_cache *c)
{
	if (cur_cpu < 0)
		return;
	if (mode == PINNED) {
		if (c != cpu_cache[cur_cpu])
			violation("put got a cache other than this CPU's: the thread moved inside get/put");
		if (preempt_count != 1)
			violation("put with preemption count != 1 (locks held, or get/put unbalanced)");
		preempt_count--;
	}
	preempt_point(8);
}

/* ---- the allocator as the stress sees it: a preemption point around each call ----
 * (rarer than inside the hooks: each migration is a mutex hand-off on the host) */

static void *w_malloc(size_t n)
{
	preempt_point(8);
	void *p = mm_malloc(n);
	preempt_point(8);
	return p;
}

static void w_free(void *p)
{
	preempt_point(8);
	mm_free(p);
	preempt_point(8);
}

static void *w_calloc(size_t k, size_t n)
{
	preempt_point(8);
	void *p = mm_calloc(k, n);
	preempt_point(8);
	return p;
}

static void *w_realloc(void *p, size_t n)
{
	preempt_point(8);
	void *q = mm_realloc(p, n);
	preempt_point(8);
	return q;
}

static void *w_aligned(size_t a, size_t n)
{
	preempt_point(8);
	void *p = mm_aligned_alloc(a, n);
	preempt_point(8);
	return p;
}

static size_t w_usable(const void *p)
{
	return mm_usable_size(p);
}

/* No mm_check inside the stress: it wants a quiet heap; it runs at the end. */
static const struct port_alloc alloc = {
	.malloc = w_malloc, .free = w_free, .calloc = w_calloc, .realloc = w_realloc,
	.aligned = w_aligned, .usable = w_usable, .check = NULL,
};

struct worker {
	pthread_t t;
	int id;
	long nops;
	int rc;
	unsigned cpus_seen;
	struct port_stress_result res;
	char err[300];
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct port_stress_cfg cfg = { .seed = 1000 + (uint64_t)w->id, .nops = w->nops,
				       .nslots = 400, .maxlarge = 128 << 10,
				       .check_every = 5000 };
	rnd = 0x9e3779b97f4a7c15ull * (uint64_t)(w->id + 1);
	run_on(w->id % NCPU);
	w->rc = port_stress(&alloc, &cfg, &w->res, w->err, sizeof w->err);
	w->cpus_seen = cpus_seen;
	pthread_mutex_unlock(&cpu_mu[cur_cpu]);
	return NULL;
}

static int popcount(unsigned x)
{
	int n = 0;
	for (; x; x &= x - 1)
		n++;
	return n;
}

/*
 * One case, in the child: mm_init on the pool, a cache per CPU, NTHREADS
 * stress threads, then mm_check on the quiet heap.  Prints INFO lines and
 * exits 0 (all held), 3 (stress or check failed), 4 (panic).
 */
static int run_case(enum mode m, long nops)
{
	struct mm_config cfg = { .arena_policy = MM_ARENA_CHUNKS, .arena_size = 1 << 20 };
	static struct worker w[NTHREADS];
	mode = m;
	if (mm_init(&cfg) != 0) {
		printf("INFO mm_init failed\n");
		return 3;
	}
	for (int i = 0; i < NCPU; i++) {
		pthread_mutex_init(&cpu_mu[i], NULL);
		if ((cpu_cache[i] = mm_cache_new()) == NULL) {
			printf("INFO mm_cache_new failed\n");
			return 3;
		}
	}
	for (int i = 0; i < NTHREADS; i++) {
		w[i].id = i;
		w[i].nops = nops;
		pthread_create(&w[i].t, NULL, worker_main, &w[i]);
	}
	int bad = 0, all_cpus = 0;
	long ops = 0;
	uint64_t t0 = mm_sys_nanotime();
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(w[i].t, NULL);
		ops += w[i].res.nalloc + w[i].res.nfree + w[i].res.nrealloc;
		all_cpus += popcount(w[i].cpus_seen) == NCPU;
		if (w[i].rc != 0) {
			printf("INFO thread %d: %s\n", i, w[i].err);
			bad = 1;
		}
	}
	printf("INFO %d threads on %d CPUs: %ld allocator calls, %ld migrations, "
	       "%d threads ran on every CPU, %.1f s\n", NTHREADS, NCPU, ops, nmigrations, all_cpus,
	       (double)(mm_sys_nanotime() - t0) / 1e9);
	if (nviolations) {
		printf("INFO %ld contract violations, first: %s\n", nviolations, first_violation);
		bad = 1;
	}
	if (m != OLD_NO_PREEMPT && (nmigrations < 1000 || all_cpus < NTHREADS)) {
		printf("INFO too little migration to test anything\n");
		bad = 1;
	}
	for (int i = 0; i < NCPU; i++)
		mm_cache_flush(cpu_cache[i]);
	if (mm_check() != 0) {
		printf("INFO mm_check: %s\n", mm_check_error());
		bad = 1;
	} else {
		struct mm_stats st;
		mm_read_stats(&st);
		printf("INFO mm_check passed: heap_objects %llu, nmalloc %llu, nfree %llu\n",
		       (unsigned long long)st.heap_objects, (unsigned long long)st.nmalloc,
		       (unsigned long long)st.nfree);
		if (st.heap_objects != 0 || st.nmalloc != st.nfree) {
			printf("INFO everything was freed, but the statistics say otherwise\n");
			bad = 1;
		}
	}
	fflush(stdout);
	return bad ? 3 : 0;
}

/* Runs a case in a child (alarm: a corrupted heap may spin forever); its wait status. */
static int in_child(enum mode m, long nops, unsigned limit_s)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit none = { 0, 0 };
		setrlimit(RLIMIT_CORE, &none); /* the old advice crashes: no core file */
		alarm(limit_s);
		_exit(run_case(m, nops));
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return st;
}

static const char *how(int st, char *buf, size_t len)
{
	if (WIFSIGNALED(st))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(st),
			 WTERMSIG(st) == SIGALRM ? "hung: time limit" : strsignal(WTERMSIG(st)));
	else if (WEXITSTATUS(st) == 4)
		snprintf(buf, len, "the core panicked");
	else if (WEXITSTATUS(st) == 3)
		snprintf(buf, len, "stress or mm_check failed");
	else
		snprintf(buf, len, "exit status %d", WEXITSTATUS(st));
	return buf;
}

int main(int argc, char **argv)
{
	long nops = argc > 1 ? atol(argv[1]) : 12000;
	char buf[120], why[80];
	setvbuf(stdout, NULL, _IOLBF, 0);

	int st = in_child(PINNED, nops, 300);
	port_report("migration: per-CPU caches with get = disable preemption, put = enable: "
		    "stress and mm_check pass", st == 0, st == 0 ? NULL : how(st, buf, sizeof buf));

	st = in_child(OLD_NO_PREEMPT, nops, 120);
	port_report("migration control: the old advice (no pinning) without preemption passes",
		    st == 0, st == 0 ? NULL : how(st, buf, sizeof buf));

	/* The old advice must be caught; a few tries, since it is a race. */
	int caught = 0, tries = 0;
	while (!caught && tries < 3) {
		tries++;
		st = in_child(OLD_PREEMPT, nops, 120);
		caught = st != 0;
	}
	snprintf(buf, sizeof buf, "%s after %d run(s)", caught ? how(st, why, sizeof why) : "",
		 tries);
	port_report("migration: the old advice (get = this CPU's cache, put = nothing) fails "
		    "under preemption", caught,
		    caught ? buf : "it survived 3 runs: the test cannot tell a broken port");
	return port_failures() ? 1 : 0;
}
