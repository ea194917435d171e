/*
 * stress.h - the one shadow-model stress driver (tests/lib/stress.c): random
 * malloc/calloc/realloc/aligned/free against a table that remembers every
 * live block, its size and the pattern written into it.  Used by the port
 * hosts (tests/port), the Check suite's stress (tests/stress) and our
 * kernel's `stress` and self-tests; compiled hosted or freestanding
 * (tests/lib/tlib.h says what each environment provides).
 *
 * To call it from a new host: fill a struct port_alloc with your
 * allocator's functions (malloc, free, calloc and realloc required; the
 * rest may be NULL), a struct port_stress_cfg, and call port_stress:
 *
 *     struct port_alloc a = { my_malloc, my_free, my_calloc, my_realloc };
 *     struct port_stress_cfg cfg = { .seed = 1, .nops = 100000, .nslots = 1000,
 *                                    .maxlarge = 256 * 1024, .check_every = 10000 };
 *     struct port_stress_result res;
 *     char err[256];
 *     if (port_stress(&a, &cfg, &res, err, sizeof err) < 0) ... err says what broke
 *
 * Each thread (each CPU in our kernel) has its own table, so several may
 * run at once against one allocator.  Build: compile tests/lib/stress.c
 * (or tests/port/stress.c, which includes it) with -Itests/lib.
 */
#ifndef PORT_STRESS_H
#define PORT_STRESS_H

#include <stddef.h>
#include <stdint.h>

/* The allocator under test.  aligned, usable and check may be NULL. */
struct port_alloc {
	void *(*malloc)(size_t n);
	void (*free)(void *p);
	void *(*calloc)(size_t count, size_t size);
	void *(*realloc)(void *p, size_t n);
	void *(*aligned)(size_t align, size_t n);
	size_t (*usable)(const void *p);
	int (*check)(char *err, size_t len); /* 0: the allocator's invariants hold */
};

/*
 * Optional: blocks handed between threads (or CPUs).  With a mailbox, each
 * run posts some of its live blocks (checked first) and checks and frees
 * blocks other runs posted, so frees land on other threads' objects.  The
 * caller owns the box (cap parcels) and supplies its lock; n starts at 0.
 * After all runs, port_stress_drain frees what is left in it.
 */
struct port_stress_parcel {
	void *p;
	size_t n;
	uint32_t tag;
};

struct port_stress_mailbox {
	void (*lock)(void *arg);
	void (*unlock)(void *arg);
	void *arg;
	struct port_stress_parcel *box;
	int cap, n;
};

struct port_stress_cfg {
	uint64_t seed;
	long nops;        /* operations */
	int nslots;       /* live blocks at most */
	size_t maxlarge;  /* largest size drawn (rarely); small sizes dominate */
	long check_every; /* call a->check and the overlap check every so many ops */
	int allow_oom;    /* 1: a NULL result is counted, not a failure */
	int keep;         /* 1: leave the blocks allocated at the end (caller frees) */
	struct port_stress_mailbox *mailbox; /* NULL: none */
};

struct port_stress_result {
	long nalloc, nfree, nrealloc, noom, nchecks;
	long nposted, ntaken; /* blocks given to the mailbox, blocks taken and freed from it */
	size_t peak_bytes;
};

/* Runs the stress; 0 on success, -1 with a message in err on the first failure. */
int port_stress(const struct port_alloc *a, const struct port_stress_cfg *cfg,
		struct port_stress_result *res, char *err, size_t errlen);

/* Checks and frees every block left in the mailbox; 0, or -1 with err. */
int port_stress_drain(const struct port_alloc *a, struct port_stress_mailbox *m, char *err, size_t errlen);

/* Frees what a run with keep=1 left behind, checking every pattern first. */
int port_stress_release(const struct port_alloc *a, char *err, size_t errlen);

/* One result line: "PASS name[: detail]" or "FAIL name: detail". */
void port_report(const char *name, int ok, const char *detail);
int port_failures(void); /* FAIL lines so far */

/* A small deterministic generator (xorshift64*), shared with the hosts. */
uint64_t port_rand(uint64_t *s);

#endif
