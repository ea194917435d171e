/*
 * stress.c - the shell's `stress N` and the self-tests' stress: the shared
 * shadow-model driver (tests/lib/stress.c: patterns checked before every
 * free and realloc, calloc zeroed, alignment, no overlap) on kmalloc, on
 * this CPU alone (mm_check every quarter of the run too) or on several CPUs
 * at once (each with its own table; mm_check once all are done, since it
 * cannot run while other CPUs are inside their caches).
 */
#include "kernel.h"
#include "mm.h"
#include "stress.h"

#define STRESS_SLOTS 512
#define STRESS_MAXLARGE (256 * 1024)
#define MSG 200

static void *k_malloc(size_t n) { return mm_malloc(n); }
static void k_free(void *p) { mm_free(p); }
static void *k_calloc(size_t c, size_t n) { return mm_calloc(c, n); }
static void *k_realloc(void *p, size_t n) { return mm_realloc(p, n); }
static void *k_aligned(size_t a, size_t n) { return mm_aligned_alloc(a, n); }
static size_t k_usable(const void *p) { return mm_usable_size((void *)(uintptr_t)p); }

static int k_check(char *err, size_t len)
{
	if (mm_check() == 0)
		return 0;
	ksnprintf(err, len, "mm_check: %s", mm_check_error());
	return -1;
}

static const struct port_alloc kmalloc_checked = { k_malloc, k_free, k_calloc, k_realloc, k_aligned, k_usable, k_check };
static const struct port_alloc kmalloc_plain = { k_malloc, k_free, k_calloc, k_realloc, k_aligned, k_usable, NULL };

static struct {
	unsigned long n;
	uint32_t seed;
	int failed[NCPU];
	struct port_stress_result res[NCPU];
	char msg[NCPU][MSG];
} run;

static struct port_stress_cfg config(unsigned long n, uint32_t seed, long check_every)
{
	struct port_stress_cfg cfg = { .seed = seed, .nops = (long)n, .nslots = STRESS_SLOTS,
				       .maxlarge = STRESS_MAXLARGE, .check_every = check_every };
	return cfg;
}

/* n operations on this CPU alone; returns the number of errors (0 or 1). */
int stress_run(unsigned long n, unsigned seed, int verbose)
{
	char err[MSG];
	struct port_stress_result res;
	struct port_stress_cfg cfg = config(n, seed, n >= 4 ? (long)(n / 4) : 0);
	if (port_stress(&kmalloc_checked, &cfg, &res, err, sizeof err) == 0)
		return 0;
	if (verbose)
		kprintf("stress: %s\n", err);
	return 1;
}

int stress_here(unsigned long n, uint32_t seed, char *err, size_t len, long *nops)
{
	struct port_stress_cfg cfg = config(n, seed, 0);
	struct port_stress_result res;
	int rc = port_stress(&kmalloc_plain, &cfg, &res, err, len);
	if (nops)
		*nops += res.nalloc + res.nfree + res.nrealloc;
	return rc;
}

static void stress_cpu(int cpu)
{
	struct port_stress_cfg cfg = config(run.n, run.seed + 0x9E3779B9u * (uint32_t)cpu, 0);
	run.failed[cpu] = port_stress(&kmalloc_plain, &cfg, &run.res[cpu], run.msg[cpu], MSG) < 0;
}

/*
 * n operations on each of CPUs 0 .. ncpus-1 at once, then mm_check; one line
 * per CPU when verbose.  Returns the number of CPUs that found an error,
 * plus one if mm_check failed.
 */
int stress_all(unsigned long n, uint32_t seed, int ncpus, int verbose)
{
	int bad = 0;
	if (ncpus > ncpu)
		ncpus = ncpu;
	run.n = n;
	run.seed = seed;
	smp_run_all(stress_cpu, ncpus);
	for (int i = 0; i < ncpus; i++) {
		bad += run.failed[i];
		if (verbose && run.failed[i])
			kprintf("stress: cpu%d: %s\n", i, run.msg[i]);
		else if (verbose)
			kprintf("stress: cpu%d: %ld mallocs, %ld reallocs, %ld frees, %ld NULL: patterns ok\n", i,
				run.res[i].nalloc, run.res[i].nrealloc, run.res[i].nfree, run.res[i].noom);
	}
	if (mm_check() != 0) {
		bad++;
		if (verbose)
			kprintf("stress: mm_check after the run: %s\n", mm_check_error());
	}
	return bad;
}
