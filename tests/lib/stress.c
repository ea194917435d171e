/*
 * stress.c - the shadow-model stress (API in stress.h).  Every live block
 * is in a table with its size and a pattern tag; a block is checked byte
 * for byte before it is freed or reallocated, calloc memory must read as
 * zero, alignment must hold, and at intervals every live block is checked
 * and the blocks (with their usable sizes) must not overlap.
 */
#include "tlib.h"
#include "stress.h"

struct slot {
	unsigned char *p;
	size_t n;
	uint32_t tag;
};

struct range {
	uintptr_t lo, hi;
};

/* Per thread (per CPU in our kernel): several stresses may run at once. */
static TL_THREAD struct stress_state {
	struct slot *slots;
	int nslots;
} states[TL_NSELF];
#define ST (&states[tl_self()])

static int npass, nfail;

void port_report(const char *name, int ok, const char *detail)
{
	tl_printf("%s %s%s%s\n", ok ? "PASS" : "FAIL", name, detail && *detail ? ": " : "", detail ? detail : "");
#if __STDC_HOSTED__ && !defined(TLIB_ENV)
	fflush(stdout);
#endif
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
			tl_snprintf(err, len, "block %p (%zu bytes): byte %zu is 0x%02x, wrote 0x%02x", (void *)s->p,
				    s->n, i, s->p[i], pat(s->tag, i));
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

/* Heapsort by lo (no qsort where we are freestanding). */
static void sift(struct range *r, size_t i, size_t n)
{
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			return;
		if (c + 1 < n && r[c + 1].lo > r[c].lo)
			c++;
		if (r[i].lo >= r[c].lo)
			return;
		struct range t = r[i];
		r[i] = r[c];
		r[c] = t;
		i = c;
	}
}

static void sort_ranges(struct range *r, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift(r, i, n);
	for (size_t end = n; end-- > 1;) {
		struct range t = r[0];
		r[0] = r[end];
		r[end] = t;
		sift(r, 0, end);
	}
}

/* Every live block intact, none overlapping another (usable sizes included). */
static int check_all(const struct port_alloc *a, char *err, size_t len)
{
	struct stress_state *st = ST;
	struct range *r = tl_calloc((size_t)st->nslots + 1, sizeof *r);
	size_t n = 0;
	int rc = 0;
	if (r == NULL) {
		tl_snprintf(err, len, "host out of memory");
		return -1;
	}
	for (int i = 0; i < st->nslots; i++) {
		struct slot *s = &st->slots[i];
		if (s->p == NULL)
			continue;
		if (verify(s, s->n, err, len) < 0) {
			tl_free(r);
			return -1;
		}
		size_t u = a->usable ? a->usable(s->p) : s->n;
		r[n].lo = (uintptr_t)s->p;
		r[n].hi = (uintptr_t)s->p + (u > s->n ? u : s->n);
		n++;
	}
	sort_ranges(r, n);
	for (size_t i = 0; i + 1 < n; i++) {
		if (r[i].hi > r[i + 1].lo) {
			tl_snprintf(err, len, "blocks overlap: [0x%lx,0x%lx) and [0x%lx,0x%lx)", (unsigned long)r[i].lo,
				    (unsigned long)r[i].hi, (unsigned long)r[i + 1].lo, (unsigned long)r[i + 1].hi);
			rc = -1;
			break;
		}
	}
	tl_free(r);
	if (rc == 0 && a->check && a->check(err, len) != 0)
		rc = -1;
	return rc;
}

/* Allocates into the empty slot s in one of the ways the allocator offers. */
static int alloc_one(const struct port_alloc *a, struct slot *s, uint64_t *r, size_t maxlarge,
		     struct port_stress_result *res, int allow_oom, char *err, size_t len)
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
				tl_snprintf(err, len, "calloc(%zu, %zu) = %p: byte %zu is 0x%02x, not 0", n / sz, sz,
					    (void *)p, i, p[i]);
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
		tl_snprintf(err, len, "allocation of %zu bytes (align %zu) returned NULL", n, align);
		return -1;
	}
	if (misaligned(p, n) || (align && ((uintptr_t)p & (align - 1)))) {
		tl_snprintf(err, len, "%p for %zu bytes (align %zu) is misaligned", (void *)p, n, align);
		return -1;
	}
	if (a->usable && a->usable(p) < n) {
		tl_snprintf(err, len, "usable size of %p is %zu < %zu", (void *)p, a->usable(p), n);
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
static int change_one(const struct port_alloc *a, struct slot *s, uint64_t *r, size_t maxlarge,
		      struct port_stress_result *res, int allow_oom, char *err, size_t len)
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
			tl_snprintf(err, len, "realloc(%p, %zu) returned NULL", (void *)s->p, n);
			return -1;
		}
		return verify(s, s->n, err, len); /* the old block must be intact */
	}
	size_t keep = n < s->n ? n : s->n;
	s->p = q;
	if (verify(s, keep, err, len) < 0) {
		size_t l = strlen(err);
		tl_snprintf(err + l, len - l, " (after realloc to %zu)", n);
		return -1;
	}
	if (misaligned(q, n) || (a->usable && a->usable(q) < n)) {
		tl_snprintf(err, len, "realloc to %zu gave %p: misaligned or too small", n, (void *)q);
		return -1;
	}
	s->n = n;
	fill(s);
	res->nrealloc++;
	return 0;
}

/* A parcel's pattern is a slot's. */
static int verify_parcel(const struct port_stress_parcel *q, char *err, size_t len)
{
	struct slot s = { q->p, q->n, q->tag };
	return verify(&s, q->n, err, len);
}

/* Post the live block in s, or take one parcel and free it; 1 if either
 * happened, 0 if the mailbox was full or empty, -1 on a bad pattern. */
static int exchange(const struct port_alloc *a, struct port_stress_mailbox *m, struct slot *s, int post,
		    struct port_stress_result *res, char *err, size_t len)
{
	struct port_stress_parcel q = { NULL, 0, 0 };
	int done = 0;
	if (post && verify(s, s->n, err, len) < 0)
		return -1;
	m->lock(m->arg);
	if (post && m->n < m->cap) {
		m->box[m->n++] = (struct port_stress_parcel){ s->p, s->n, s->tag };
		done = 1;
	} else if (!post && m->n > 0) {
		q = m->box[--m->n];
		done = 1;
	}
	m->unlock(m->arg);
	if (done && post) {
		s->p = NULL;
		res->nposted++;
	} else if (done) {
		if (verify_parcel(&q, err, len) < 0) {
			size_t l = strlen(err);
			tl_snprintf(err + l, len - l, " (a block another run posted)");
			return -1;
		}
		a->free(q.p);
		res->ntaken++;
	}
	return done;
}

int port_stress_drain(const struct port_alloc *a, struct port_stress_mailbox *m, char *err, size_t errlen)
{
	struct port_stress_result res;
	memset(&res, 0, sizeof res);
	for (;;) {
		int rc = exchange(a, m, NULL, 0, &res, err, errlen);
		if (rc <= 0)
			return rc;
	}
}

int port_stress(const struct port_alloc *a, const struct port_stress_cfg *cfg, struct port_stress_result *res,
		char *err, size_t errlen)
{
	struct stress_state *st = ST;
	uint64_t r = cfg->seed ? cfg->seed : 1;

	memset(res, 0, sizeof *res);
	tl_free(st->slots); /* a table a keep=1 run left */
	st->nslots = cfg->nslots;
	st->slots = tl_calloc((size_t)st->nslots, sizeof *st->slots);
	if (st->slots == NULL) {
		tl_snprintf(err, errlen, "host out of memory");
		return -1;
	}
	for (long op = 0; op < cfg->nops; op++) {
		struct slot *s = &st->slots[port_rand(&r) % (uint64_t)st->nslots];
		int rc = 0;
		if (cfg->mailbox) { /* 1 in 10: post this live block; 1 in 10: free someone else's */
			uint64_t k = port_rand(&r) % 10;
			if (k < 2 && (k == 1 || s->p))
				rc = exchange(a, cfg->mailbox, s, k == 0, res, err, errlen);
		}
		if (rc == 0 && s->p == NULL)
			rc = alloc_one(a, s, &r, cfg->maxlarge, res, cfg->allow_oom, err, errlen);
		else if (rc == 0)
			rc = change_one(a, s, &r, cfg->maxlarge, res, cfg->allow_oom, err, errlen);
		if (rc < 0)
			return -1;
		if (cfg->check_every && op % cfg->check_every == cfg->check_every - 1) {
			size_t live = 0;
			for (int i = 0; i < st->nslots; i++)
				live += st->slots[i].p ? st->slots[i].n : 0;
			if (live > res->peak_bytes)
				res->peak_bytes = live;
			res->nchecks++;
			if (check_all(a, err, errlen) < 0) {
				size_t l = strlen(err);
				tl_snprintf(err + l, errlen - l, " (at op %ld)", op);
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
	struct stress_state *st = ST;
	for (int i = 0; i < st->nslots; i++) {
		struct slot *s = &st->slots[i];
		if (s->p == NULL)
			continue;
		if (verify(s, s->n, err, errlen) < 0)
			return -1;
		a->free(s->p);
		s->p = NULL;
	}
	tl_free(st->slots);
	st->slots = NULL;
	st->nslots = 0;
	return 0;
}
