/*
 * fuzz.h - what the libFuzzer harnesses share: the input as a stream of
 * bytes, the shadow model of live blocks (shadow.c) and the operation
 * interpreter on it (ops.c).  Each harness (fuzz_host.c, fuzz_fake.c,
 * fuzz_threads.c) reads its input as a sequence of operations: one byte
 * picks the operation, the next bytes its slot, size and alignment.  A run
 * out of input reads zeros, so every byte string is a valid program.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "../../mm/mm.h"

/* ---- the input ---------------------------------------------------------------- */
struct fz_in {
	const uint8_t *d;
	size_t n, i;
};

static inline int fz_more(const struct fz_in *in) { return in->i < in->n; }
static inline uint8_t fz_u8(struct fz_in *in) { return in->i < in->n ? in->d[in->i++] : 0; }
static inline uint32_t fz_u16(struct fz_in *in)
{
	uint32_t v = fz_u8(in);
	return v | (uint32_t)fz_u8(in) << 8;
}
static inline uint32_t fz_u32(struct fz_in *in)
{
	uint32_t v = fz_u16(in);
	return v | fz_u16(in) << 16;
}

/* ---- the shadow model (shadow.c) ----------------------------------------------- */

/* A live block as the harness knows it. */
struct fz_block {
	char *p;        /* NULL: the slot is empty */
	size_t n;       /* bytes requested */
	size_t usable;  /* mm_usable_size when it was allocated: filled with the pattern */
	size_t align;   /* alignment asked for (aligned_alloc), else 0 */
	uint32_t seed;  /* pattern seed */
};

/* Report a violation (what, where) on stderr and abort: libFuzzer saves the input. */
void fz_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/*
 * The pattern: byte i of a block is a function of (seed, i), so a block
 * moved to the wrong place or overlapped by another is caught.  Blocks up to
 * FZ_FULL bytes are filled and checked whole; larger ones in pieces (head,
 * tail, 15 probes between), so that gigabyte blocks stay cheap.
 */
#define FZ_FULL ((size_t)64 << 10)
void fz_fill(const struct fz_block *b);
/* Check the pattern of the bytes below `upto` at b->p; op names the step for the report. */
void fz_verify(const struct fz_block *b, size_t upto, const char *op);
/* Check that the pieces of [p, p+n) read zero. */
void fz_verify_zero(const char *p, size_t n, const char *op);

/*
 * The registry of every live block of all threads, under a lock: adding a
 * block that overlaps one already there is a failure.  Remove a block
 * before it is freed, add it after it is allocated: then every block in
 * the registry is really live, whatever the other thread is doing.
 */
void fz_registry_add(const struct fz_block *b);
void fz_registry_remove(const struct fz_block *b);

/*
 * A new block p for request (n, align), just returned: its alignment, its
 * usable size (>= n), mm_owns; then it is registered, filled, and its
 * seed set.  zero: it came from calloc, the first n bytes must read zero.
 */
void fz_adopt(struct fz_block *b, char *p, size_t n, size_t align, int zero, const char *op);

/* ---- the interpreter (ops.c) ---------------------------------------------------- */
#define FZ_SLOTS 64

struct fz_world {
	struct fz_block slot[FZ_SLOTS];
	size_t live;            /* blocks in slots */
	uint64_t live_bytes;    /* bytes requested by them */
	uint64_t live_cap;      /* an allocation beyond this many live bytes is skipped */
	uint64_t nmalloc0;      /* the heap's nmalloc when the input began */
	uint64_t nmalloc;       /* successful allocations since then */
	int alone;              /* the only thread: mm_check and exact stats at any time */
	/* May (n, align) fail now?  NULL: never (the real host has memory for all we ask). */
	int (*may_fail)(const struct fz_world *w, size_t n, size_t align);
	uint64_t ops;
};

/* Operations every harness has (the rest are the harness's own). */
enum {
	FZ_MALLOC, FZ_CALLOC, FZ_REALLOC, FZ_ALIGNED, FZ_FREE, FZ_FREE_IF_OURS, FZ_USABLE,
	FZ_SCAVENGE, FZ_STATS, FZ_CHECK, FZ_IMPOSSIBLE, FZ_VERIFY_ALL,
	FZ_NOPS
};

/* Start w on a new input, empty, with its settings (the fields above). */
void fz_world_begin(struct fz_world *w, int alone, uint64_t live_cap,
		    int (*may_fail)(const struct fz_world *w, size_t n, size_t align));
/* Run operation op (< FZ_NOPS) with its arguments from in. */
void fz_op(struct fz_world *w, struct fz_in *in, unsigned op);
/* Free every block of w (patterns checked first). */
void fz_free_all(struct fz_world *w);
/* The stats add up, mm_check finds nothing; with w->alone also the object count is exact. */
void fz_check_heap(struct fz_world *w, const char *where);
/* A size: mostly small, class boundaries, page boundaries, up to 1 GiB rarely. */
size_t fz_size(struct fz_in *in);

/* Count of operations run by all harness threads (printed at exit). */
extern uint64_t fz_total_ops;
void fz_report_at_exit(const char *name);

#endif
