/*
 * ops.c - the operations every fuzz harness runs on the allocator, each
 * checked against the shadow model (shadow.c): malloc, calloc, realloc,
 * aligned_alloc, free, usable_size, scavenge, stats, mm_check, and requests
 * no allocator can satisfy, which must return NULL and leave the heap whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define MAX_SMALL 32768
#define GiB ((uint64_t)1 << 30)

uint64_t fz_total_ops;
static uint32_t class_size[MM_NUM_CLASSES_MAX];
static int nclasses;

void fz_world_begin(struct fz_world *w, int alone, uint64_t live_cap,
		    int (*may_fail)(const struct fz_world *w, size_t n, size_t align))
{
	struct mm_stats st;
	mm_read_stats(&st);
	if (!nclasses) {
		nclasses = st.nclasses;
		for (int c = 0; c < nclasses; c++)
			class_size[c] = st.by_class[c].size;
	}
	w->nmalloc0 = st.nmalloc;
	memset(w->slot, 0, sizeof w->slot);
	w->live = 0;
	w->live_bytes = 0;
	w->nmalloc = 0;
	w->ops = 0;
	w->alone = alone;
	w->live_cap = live_cap;
	w->may_fail = may_fail;
}

size_t fz_size(struct fz_in *in)
{
	uint8_t k = fz_u8(in) % 16;
	if (k < 6)
		return fz_u8(in);
	switch (k) {
	case 6:
	case 7:
		return fz_u16(in) % (MAX_SMALL + 1);
	case 8: { /* a class size, or one byte either side */
		uint32_t c = 1 + fz_u8(in) % (uint32_t)(nclasses > 1 ? nclasses - 1 : 1);
		return class_size[c] + fz_u8(in) % 3 - 1;
	}
	case 9: /* the small/large border */
		return MAX_SMALL + fz_u8(in) % 9 - 4;
	case 10: /* page multiples, or one byte either side */
		return ((size_t)(fz_u8(in) % 64) + 1) * 4096 + fz_u8(in) % 3 - 1;
	case 11:
	case 12:
		return fz_u32(in) % (1u << 20);
	case 13:
		return fz_u32(in) % (64u << 20);
	case 14: /* 1 MiB to 1 GiB, in MiB */
		return ((size_t)(fz_u16(in) % 1024) + 1) << 20;
	default:
		return fz_u8(in) % 17;
	}
}

/*
 * A size for calloc and realloc, which write every byte they hand out (zeroes,
 * copies): at most 16 MiB, so the process's resident memory stays bounded.
 */
static size_t fz_size_written(struct fz_in *in)
{
	size_t n = fz_size(in);
	return n > (16u << 20) ? n % (16u << 20) : n;
}

/* An alignment: mostly up to a page, sometimes up to 1 GiB. */
static size_t fz_align(struct fz_in *in)
{
	uint8_t b = fz_u8(in);
	return (size_t)1 << (b < 192 ? b % 13 : 13 + b % 18);
}

static struct fz_block *slot(struct fz_world *w, struct fz_in *in)
{
	return &w->slot[fz_u8(in) % FZ_SLOTS];
}

/* Free b's block (pattern checked first) and empty the slot. */
static void release(struct fz_world *w, struct fz_block *b)
{
	if (!b->p)
		return;
	fz_verify(b, b->usable, "free");
	fz_registry_remove(b);
	mm_free(b->p);
	w->live--;
	w->live_bytes -= b->n;
	memset(b, 0, sizeof *b);
}

/* A request returned NULL: legal only if the harness says it may fail. */
static void got_null(struct fz_world *w, const char *op, size_t n, size_t align)
{
	if (!w->may_fail || !w->may_fail(w, n, align))
		fz_fail("%s(%zu, align %zu) returned NULL, but the host has memory for it",
			op, n, align);
	const char *e = mm_last_error();
	if (e && strncmp(e, "mm: ", 4) != 0)
		fz_fail("%s returned NULL; mm_last_error() is not a message: \"%.40s\"", op, e);
	if (w->alone)
		fz_check_heap(w, "after a NULL");
}

static int over_cap(struct fz_world *w, size_t n, size_t align)
{
	return w->live_bytes + n + align > w->live_cap;
}

/* op asked for (n, align) into the empty slot b and got p: a new block (zero:
 * from calloc) taken into b and counted, or NULL, which must be allowed. */
static void got(struct fz_world *w, struct fz_block *b, char *p, size_t n, size_t align, int zero,
		const char *op)
{
	if (!p) {
		got_null(w, op, n, align);
		return;
	}
	fz_adopt(b, p, n, align, zero, op);
	w->live++;
	w->live_bytes += b->n;
	w->nmalloc++;
}

static void op_malloc(struct fz_world *w, struct fz_in *in)
{
	struct fz_block *b = slot(w, in);
	size_t n = fz_size(in);
	release(w, b);
	if (over_cap(w, n, 0))
		return;
	got(w, b, mm_malloc(n), n, 0, 0, "malloc");
}

static void op_calloc(struct fz_world *w, struct fz_in *in)
{
	struct fz_block *b = slot(w, in);
	size_t count = fz_u8(in) % 17, size = fz_size_written(in);
	size_t elem = count ? size / count : size, n = count * elem;
	release(w, b);
	if (over_cap(w, n, 0))
		return;
	got(w, b, mm_calloc(count, elem), n, 0, 1, "calloc");
}

static void op_realloc(struct fz_world *w, struct fz_in *in)
{
	struct fz_block *b = slot(w, in);
	size_t n = fz_size_written(in);
	if (!b->p) { /* realloc(NULL, n) is malloc(n) */
		if (over_cap(w, n, 0))
			return;
		got(w, b, mm_realloc(NULL, n), n, 0, 0, "realloc(NULL)");
		return;
	}
	if (n == 0) { /* realloc(p, 0) frees p and returns NULL */
		fz_verify(b, b->usable, "realloc(p, 0)");
		fz_registry_remove(b);
		if (mm_realloc(b->p, 0))
			fz_fail("realloc(%p, 0) did not return NULL", (void *)b->p);
		w->live--;
		w->live_bytes -= b->n;
		memset(b, 0, sizeof *b);
		return;
	}
	if (over_cap(w, n, 0))
		return;
	struct fz_block old = *b;
	fz_verify(&old, old.usable, "realloc (before)");
	fz_registry_remove(&old);
	char *q = mm_realloc(old.p, n);
	if (!q) {
		fz_registry_add(&old);
		fz_verify(&old, old.usable, "realloc that failed");
		got_null(w, "realloc", n, 0);
		return;
	}
	struct fz_block moved = old;
	moved.p = q;
	fz_verify(&moved, n, "realloc (contents kept)");
	w->live_bytes -= old.n;
	w->live--;
	fz_adopt(b, q, n, 0, 0, "realloc");
	w->live++;
	w->live_bytes += n;
	if (q != old.p)
		w->nmalloc++; /* moved: one malloc and one free */
}

static void op_aligned(struct fz_world *w, struct fz_in *in)
{
	struct fz_block *b = slot(w, in);
	size_t align = fz_align(in), n = fz_size(in);
	release(w, b);
	if (over_cap(w, n, align))
		return;
	got(w, b, mm_aligned_alloc(align, n), n, align, 0, "aligned_alloc");
}

/* mm_free_if_ours: frees a block of ours (0), leaves anything else alone (-1). */
static void op_free_if_ours(struct fz_world *w, struct fz_in *in)
{
	struct fz_block *b = slot(w, in);
	int local;
	char *foreign = malloc(16); /* libc's */
	if (mm_free_if_ours(&local) != -1 || mm_free_if_ours(foreign) != -1)
		fz_fail("mm_free_if_ours took a pointer the heap never handed out");
	free(foreign);
	if (!b->p)
		return;
	fz_verify(b, b->usable, "free_if_ours");
	fz_registry_remove(b);
	if (mm_free_if_ours(b->p) != 0)
		fz_fail("mm_free_if_ours(%p) did not free a live block", (void *)b->p);
	w->live--;
	w->live_bytes -= b->n;
	memset(b, 0, sizeof *b);
}

static void op_usable(struct fz_world *w, struct fz_in *in)
{
	struct fz_block *b = slot(w, in);
	if (mm_usable_size(NULL) != 0)
		fz_fail("usable_size(NULL) is not 0");
	if (b->p && mm_usable_size(b->p) != b->usable)
		fz_fail("usable_size(%p) changed from %zu to %zu", (void *)b->p, b->usable,
			mm_usable_size(b->p));
}

static void verify_all(struct fz_world *w, const char *op)
{
	for (int i = 0; i < FZ_SLOTS; i++)
		if (w->slot[i].p)
			fz_verify(&w->slot[i], w->slot[i].usable, op);
}

static void op_scavenge(struct fz_world *w, struct fz_in *in)
{
	uint8_t k = fz_u8(in);
	uint64_t idle = k & 1 ? 0 : (uint64_t)fz_u32(in) * 1000;
	mm_scavenge(idle);
	verify_all(w, "after mm_scavenge");
	if (w->alone)
		fz_check_heap(w, "after mm_scavenge");
}

/* mm_trace_format into a buffer of exactly len bytes (ASan sees a byte too many). */
static void trace_line(struct fz_in *in)
{
	size_t len = fz_u8(in) % 160;
	char *buf = malloc(len ? len : 1);
	size_t n = mm_trace_format(buf, len, (uint64_t)fz_u32(in) << 12);
	if (n < 20 || (len && strlen(buf) != (n < len ? n : len - 1)))
		fz_fail("mm_trace_format(buf, %zu) = %zu, but wrote \"%s\"", len, n, len ? buf : "");
	free(buf);
}

/* Requests that cannot be met: NULL, and nothing else may change. */
static void op_impossible(struct fz_world *w, struct fz_in *in)
{
	const size_t MAX = (size_t)-1, PMAX = (size_t)PTRDIFF_MAX;
	unsigned k = fz_u8(in) % 17;
	struct fz_block *b = slot(w, in);
	void *r = 0;
	switch (k) {
	case 0: r = mm_malloc(MAX); break;
	case 1: r = mm_malloc(MAX - 4095); break;
	case 2: r = mm_malloc(PMAX + 1); break;
	case 3: r = mm_malloc((size_t)1 << 62); break;
	case 4: r = mm_malloc((size_t)1 << 48); break; /* more than the address space */
	case 5: r = mm_calloc(MAX / 2 + 1, 2); break;   /* count * size overflows */
	case 6: r = mm_calloc((size_t)1 << 32, (size_t)1 << 32); break;
	case 7: r = mm_calloc((size_t)1 << 31, (size_t)1 << 31); break;
	case 8: r = mm_aligned_alloc(0, 16); break;
	case 9: r = mm_aligned_alloc(((size_t)1 << (fz_u8(in) % 20)) * 3, 16); break; /* not a power of two */
	case 10: r = mm_aligned_alloc((size_t)1 << 63, 16); break;
	case 11: r = mm_aligned_alloc((size_t)1 << 50, 1); break;
	case 12: r = mm_aligned_alloc(4096, MAX - 4095); break;
	case 13: r = mm_aligned_alloc((size_t)1 << 30, PMAX); break;
	default: /* realloc of a live block to an impossible size: NULL, block intact */
		if (!b->p)
			return;
		r = mm_realloc(b->p, k == 14 ? MAX : k == 15 ? PMAX + 1 : (size_t)1 << 62);
		if (!r)
			fz_verify(b, b->usable, "realloc to an impossible size");
		break;
	}
	if (r)
		fz_fail("impossible request %u returned %p, not NULL", k, r);
	if (w->alone)
		fz_check_heap(w, "after an impossible request");
}

void fz_op(struct fz_world *w, struct fz_in *in, unsigned op)
{
	w->ops++;
	__atomic_fetch_add(&fz_total_ops, 1, __ATOMIC_RELAXED);
	switch (op) {
	case FZ_MALLOC: op_malloc(w, in); break;
	case FZ_CALLOC: op_calloc(w, in); break;
	case FZ_REALLOC: op_realloc(w, in); break;
	case FZ_ALIGNED: op_aligned(w, in); break;
	case FZ_FREE: release(w, slot(w, in)); break;
	case FZ_FREE_IF_OURS: op_free_if_ours(w, in); break;
	case FZ_USABLE: op_usable(w, in); break;
	case FZ_SCAVENGE: op_scavenge(w, in); break;
	case FZ_STATS: {
		trace_line(in);
		int alone = w->alone;
		w->alone = 0; /* the stats part only */
		fz_check_heap(w, "mm_read_stats");
		w->alone = alone;
		break;
	}
	case FZ_CHECK:
		if (w->alone)
			fz_check_heap(w, "mm_check");
		break;
	case FZ_IMPOSSIBLE: op_impossible(w, in); break;
	case FZ_VERIFY_ALL: verify_all(w, "verify"); break;
	}
}

void fz_free_all(struct fz_world *w)
{
	for (int i = 0; i < FZ_SLOTS; i++)
		release(w, &w->slot[i]);
}

void fz_check_heap(struct fz_world *w, const char *where)
{
	struct mm_stats st;
	mm_read_stats(&st);
	if (st.heap_sys != st.heap_inuse + st.heap_idle)
		fz_fail("%s: heap_sys %llu != heap_inuse %llu + heap_idle %llu", where,
			(unsigned long long)st.heap_sys, (unsigned long long)st.heap_inuse,
			(unsigned long long)st.heap_idle);
	if (st.heap_released > st.heap_idle || st.heap_sys > st.sys)
		fz_fail("%s: heap_released %llu > heap_idle %llu, or heap_sys %llu > sys %llu",
			where, (unsigned long long)st.heap_released,
			(unsigned long long)st.heap_idle, (unsigned long long)st.heap_sys,
			(unsigned long long)st.sys);
	if ((st.heap_sys | st.heap_idle | st.heap_released) & 4095)
		fz_fail("%s: heap byte counts are not whole pages", where);
	if (!w->alone)
		return;
	if (st.heap_objects != w->live)
		fz_fail("%s: heap_objects %llu, but %zu blocks are live", where,
			(unsigned long long)st.heap_objects, w->live);
	if (st.nmalloc - w->nmalloc0 != w->nmalloc)
		fz_fail("%s: nmalloc rose by %llu, but %llu allocations succeeded", where,
			(unsigned long long)(st.nmalloc - w->nmalloc0),
			(unsigned long long)w->nmalloc);
	int bad = mm_check();
	if (bad)
		fz_fail("%s: mm_check() = %d: %s", where, bad,
			mm_check_error() ? mm_check_error() : "(no message)");
}

static const char *report_name;

static void report(void)
{
	fprintf(stderr, "fuzz: %s: %llu ops\n", report_name,
		(unsigned long long)__atomic_load_n(&fz_total_ops, __ATOMIC_RELAXED));
}

void fz_report_at_exit(const char *name)
{
	report_name = name;
	atexit(report);
}
