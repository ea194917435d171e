/*
 * stress.c - the shadow-model stress used by the port hosts.  Every live
 * block is in a table with its size and a pattern tag; a block is checked
 * byte for byte before it is freed or reallocated, calloc memory must read as
 * zero, alignment must hold, and at intervals every live block is checked and
 * the blocks (with their usable sizes) must not overlap.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stress.h"

struct slot {
	unsigned char *p;
	size_t n;
	uint32_t tag;
};

/* Per thread, so that several threads can each run a stress. */
static _Thread_local struct slot *slots;
static _Thread_local int nslots;

static int npass, nfail;

void port_report(const char *name, int ok, const char *detail)
{
	printf("%s %s%s%s\n", ok ? "PASS" : "FAIL", name, detail && *detail ? ": " : "",
	       detail ? detail : "");
	fflush(stdout);
	if (ok)
		npass++;
	else
		nfail++;
}

int port_failures(void)
{
	return nfail;
}

uint64_t port_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static unsigned char pat(uint32_t tag, size_t i)
{
	return (unsigned char)(tag + i * 7 + (i >> 9));
}

static void fill(struct slot *s)
{
	for (size_t i = 0; i < s->n; i++)
		s->p[i] = pat(s->tag, i);
}

/* 0 if the first n bytes of s still hold its pattern. */
static int verify(const struct slot *s, size_t n, char *err, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		if (s->p[i] != pat(s->tag, i)) {
			snprintf(err, len, "block %p (%zu bytes): byte %zu is 0x%02x, wrote 0x%02x",
				 (void *)s->p, s->n, i, s->p[i], pat(s->tag, i));
			return -1;
		}
	}
	return 0;
}

static size_t draw_size(uint64_t *r, size_t maxlarge)
{
	uint64_t k = port_rand(r) % 100;
	if (k < 2)
		return 0;
	if (k < 70)
		return 1 + port_rand(r) % 256;
	if (k < 90)
		return 257 + port_rand(r) % (4096 - 256);
	if (k < 98 || maxlarge <= 32768)
		return 4097 + port_rand(r) % (32768 - 4096);
	return 32769 + port_rand(r) % (maxlarge - 32768);
}

/* The alignment any malloc result must have: 16 above 8 bytes (max_align_t). */
static int misaligned(const void *p, size_t n)
{
	uintptr_t a = n > 8 ? 16 : 8;
	return ((uintptr_t)p & (a - 1)) != 0;
}

struct range {
	uintptr_t lo, hi;
};

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Every live block intact, none overlapping another (usable sizes included). */
static int check_all(const struct port_alloc *a, char *err, size_t len)
{
	struct range *r = malloc(sizeof *r * (size_t)(nslots + 1));
	int n = 0, rc = 0;
	if (r == NULL) {
		snprintf(err, len, "host out of memory");
		return -1;
	}
	for (int i = 0; i < nslots; i++) {
		struct slot *s = &slots[i];
		if (s->p == NULL)
			continue;
		if (verify(s, s->n, err, len) < 0) {
			free(r);
			return -1;
		}
		size_t u = a->usable ? a->usable(s->p) : s->n;
		r[n].lo = (uintptr_t)s->p;
		r[n].hi = (uintptr_t)s->p + (u > s->n ? u : s->n);
		n++;
	}
	qsort(r, (size_t)n, sizeof *r, cmp_range);
	for (int i = 0; i + 1 < n; i++) {
		if (r[i].hi > r[i + 1].lo) {
			snprintf(err, len, "blocks overlap: [%#lx,%#lx) and [%#lx,%#lx)",
				 (unsigned long)r[i].lo, (unsigned long)r[i].hi,
				 (unsigned long)r[i + 1].lo, (unsigned long)r[i + 1].hi);
			rc = -1;
			break;
		}
	}
	free(r);
	if (rc == 0 && a->check && a->check(err, len) != 0)
		rc = -1;
	return rc;
}

/* Allocates into the empty slot s in one of the ways the allocator offers. */
static int alloc_one(const struct port_alloc *a, struct slot *s, uint64_t *r,
		     size_t maxlarge, struct port_stress_result *res, int allow_oom,
		     char *err, size_t len)
{
	size_t n = draw_size(r, maxlarge), align = 0;
	int how = (int)(port_rand(r) % 20);
	unsigned char *p;

	if (how < 10) {
		p = a->malloc(n);
	} else if (how < 14) {
		size_t sz = 1 + port_rand(r) % 64;
		n = (n / sz + 1) * sz;
		p = a->calloc(n / sz, sz);
		for (size_t i = 0; p && i < n; i++) {
			if (p[i] != 0) {
				snprintf(err, len, "calloc(%zu, %zu) = %p: byte %zu is 0x%02x, not 0",
					 n / sz, sz, (void *)p, i, p[i]);
				return -1;
			}
		}
	} else if (how < 18 && a->aligned) {
		align = (size_t)1 << (3 + port_rand(r) % 11); /* 8 .. 8192 */
		if (n == 0)
			n = 1;
		p = a->aligned(align, n);
	} else {
		p = a->realloc(NULL, n);
	}
	if (p == NULL) {
		if (n == 0)
			return 0;
		res->noom++;
		if (allow_oom)
			return 0;
		snprintf(err, len, "allocation of %zu bytes (align %zu) returned NULL", n, align);
		return -1;
	}
	if (misaligned(p, n) || (align && ((uintptr_t)p & (align - 1)))) {
		snprintf(err, len, "%p for %zu bytes (align %zu) is misaligned", (void *)p, n, align);
		return -1;
	}
	if (a->usable && a->usable(p) < n) {
		snprintf(err, len, "usable size of %p is %zu < %zu", (void *)p, a->usable(p), n);
		return -1;
	}
	s->p = p;
	s->n = n;
	s->tag = (uint32_t)port_rand(r);
	fill(s);
	res->nalloc++;
	return 0;
}

/* Frees or reallocates the live block in s, after checking it. */
static int change_one(const struct port_alloc *a, struct slot *s, uint64_t *r,
		      size_t maxlarge, struct port_stress_result *res, int allow_oom,
		      char *err, size_t len)
{
	if (verify(s, s->n, err, len) < 0)
		return -1;
	if (port_rand(r) % 10 < 6) {
		a->free(s->p);
		s->p = NULL;
		res->nfree++;
		return 0;
	}
	size_t n = draw_size(r, maxlarge);
	if (n == 0)
		n = 1;
	unsigned char *q = a->realloc(s->p, n);
	if (q == NULL) {
		res->noom++;
		if (!allow_oom) {
			snprintf(err, len, "realloc(%p, %zu) returned NULL", (void *)s->p, n);
			return -1;
		}
		return verify(s, s->n, err, len); /* the old block must be intact */
	}
	size_t keep = n < s->n ? n : s->n;
	s->p = q;
	if (verify(s, keep, err, len) < 0) {
		snprintf(err + strlen(err), len - strlen(err), " (after realloc to %zu)", n);
		return -1;
	}
	if (misaligned(q, n) || (a->usable && a->usable(q) < n)) {
		snprintf(err, len, "realloc to %zu gave %p: misaligned or too small", n, (void *)q);
		return -1;
	}
	s->n = n;
	fill(s);
	res->nrealloc++;
	return 0;
}

int port_stress(const struct port_alloc *a, const struct port_stress_cfg *cfg,
		struct port_stress_result *res, char *err, size_t errlen)
{
	uint64_t r = cfg->seed ? cfg->seed : 1;
	size_t live = 0;

	memset(res, 0, sizeof *res);
	free(slots);
	nslots = cfg->nslots;
	slots = calloc((size_t)nslots, sizeof *slots);
	if (slots == NULL) {
		snprintf(err, errlen, "host out of memory");
		return -1;
	}
	for (long op = 0; op < cfg->nops; op++) {
		struct slot *s = &slots[port_rand(&r) % (uint64_t)nslots];
		int rc;
		if (s->p == NULL)
			rc = alloc_one(a, s, &r, cfg->maxlarge, res, cfg->allow_oom, err, errlen);
		else
			rc = change_one(a, s, &r, cfg->maxlarge, res, cfg->allow_oom, err, errlen);
		if (rc < 0)
			return -1;
		if (cfg->check_every && op % cfg->check_every == cfg->check_every - 1) {
			live = 0;
			for (int i = 0; i < nslots; i++)
				live += slots[i].p ? slots[i].n : 0;
			if (live > res->peak_bytes)
				res->peak_bytes = live;
			res->nchecks++;
			if (check_all(a, err, errlen) < 0) {
				snprintf(err + strlen(err), errlen - strlen(err), " (at op %ld)", op);
				return -1;
			}
		}
	}
	if (check_all(a, err, errlen) < 0)
		return -1;
	if (cfg->keep)
		return 0;
	return port_stress_release(a, err, errlen);
}

int port_stress_release(const struct port_alloc *a, char *err, size_t errlen)
{
	for (int i = 0; i < nslots; i++) {
		struct slot *s = &slots[i];
		if (s->p == NULL)
			continue;
		if (verify(s, s->n, err, errlen) < 0)
			return -1;
		a->free(s->p);
		s->p = NULL;
	}
	return 0;
}
