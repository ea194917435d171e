/*
 * shadow.c - the fuzz harnesses' shadow model: the pattern every live block
 * carries, the registry of live blocks that catches overlaps, and the
 * checks made on each block the allocator hands out.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the pattern writes words and checks bytes: little-endian hosts only"
#endif

void fz_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("fuzz: FAIL: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

/* ---- the pattern --------------------------------------------------------------- */

/* The 8 bytes at offset 8*w of a block with this seed. */
static inline uint64_t patword(uint32_t seed, size_t w)
{
	return ((uint64_t)w + 1) * 0x9e3779b97f4a7c15ull ^ ((uint64_t)seed * 0xbf58476d1ce4e5b9ull);
}

static inline uint8_t patbyte(uint32_t seed, size_t off)
{
	return (uint8_t)(patword(seed, off >> 3) >> (8 * (off & 7)));
}

/* Piece k (0 <= k < npieces) of a block of len bytes: [*off, *off + *n). */
static int npieces(size_t len)
{
	return len <= FZ_FULL ? 1 : 17;
}

static void piece(size_t len, int k, size_t *off, size_t *n)
{
	if (len <= FZ_FULL) {
		*off = 0, *n = len;
	} else if (k == 0) {
		*off = 0, *n = 4096;
	} else if (k == 16) {
		*off = len - 4096, *n = 4096;
	} else {
		*off = (len / 16 * (size_t)k) & ~(size_t)63, *n = 64;
	}
}

static void fill_range(char *p, size_t a, size_t b, uint32_t seed)
{
	size_t i = a;
	for (; i < b && (i & 7); i++)
		p[i] = (char)patbyte(seed, i);
	for (; i + 8 <= b; i += 8) {
		uint64_t v = patword(seed, i >> 3);
		memcpy(p + i, &v, 8);
	}
	for (; i < b; i++)
		p[i] = (char)patbyte(seed, i);
}

/* First offset in [a, b) that differs from the pattern, or b. */
static size_t check_range(const char *p, size_t a, size_t b, uint32_t seed)
{
	size_t i = a;
	for (; i < b && (i & 7); i++)
		if ((uint8_t)p[i] != patbyte(seed, i))
			return i;
	for (; i + 8 <= b; i += 8) {
		uint64_t v;
		memcpy(&v, p + i, 8);
		if (v != patword(seed, i >> 3))
			break;
	}
	for (; i < b; i++)
		if ((uint8_t)p[i] != patbyte(seed, i))
			return i;
	return b;
}

void fz_fill(const struct fz_block *b)
{
	for (int k = 0; k < npieces(b->usable); k++) {
		size_t off, n;
		piece(b->usable, k, &off, &n);
		fill_range(b->p, off, off + n, b->seed);
	}
}

void fz_verify(const struct fz_block *b, size_t upto, const char *op)
{
	if (upto > b->usable)
		upto = b->usable;
	for (int k = 0; k < npieces(b->usable); k++) {
		size_t off, n;
		piece(b->usable, k, &off, &n);
		if (off >= upto)
			continue;
		size_t end = off + n < upto ? off + n : upto;
		size_t bad = check_range(b->p, off, end, b->seed);
		if (bad != end)
			fz_fail("%s: block %p (%zu bytes asked, %zu usable): byte %zu is %#x, "
				"the pattern says %#x: its contents changed",
				op, (void *)b->p, b->n, b->usable, bad, (uint8_t)b->p[bad],
				patbyte(b->seed, bad));
	}
}

void fz_verify_zero(const char *p, size_t len, const char *op)
{
	for (int k = 0; k < npieces(len); k++) {
		size_t off, n;
		piece(len, k, &off, &n);
		for (size_t i = off; i < off + n; i++)
			if (p[i])
				fz_fail("%s: block %p of %zu bytes: byte %zu is %#x, not zero",
					op, (void *)p, len, i, (uint8_t)p[i]);
	}
}

/* ---- the registry of live blocks ----------------------------------------------- */

#define REG_MAX (4 * FZ_SLOTS)
static struct {
	char *p;
	size_t extent;
} reg[REG_MAX];
static int nreg;
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;

void fz_registry_add(const struct fz_block *b)
{
	pthread_mutex_lock(&reg_mu);
	for (int i = 0; i < nreg; i++)
		if (b->p < reg[i].p + reg[i].extent && reg[i].p < b->p + b->usable)
			fz_fail("new block [%p, +%zu) overlaps live block [%p, +%zu)",
				(void *)b->p, b->usable, (void *)reg[i].p, reg[i].extent);
	if (nreg == REG_MAX)
		fz_fail("harness: more than %d live blocks", REG_MAX);
	reg[nreg].p = b->p;
	reg[nreg].extent = b->usable;
	nreg++;
	pthread_mutex_unlock(&reg_mu);
}

void fz_registry_remove(const struct fz_block *b)
{
	pthread_mutex_lock(&reg_mu);
	int i = 0;
	while (i < nreg && reg[i].p != b->p)
		i++;
	if (i == nreg)
		fz_fail("harness: block %p is not in the registry", (void *)b->p);
	reg[i] = reg[--nreg];
	pthread_mutex_unlock(&reg_mu);
}

/* ---- a new block ---------------------------------------------------------------- */

static uint32_t next_seed;

void fz_adopt(struct fz_block *b, char *p, size_t n, size_t align, int zero, const char *op)
{
	size_t usable = mm_usable_size(p);
	if (usable < n)
		fz_fail("%s(%zu) = %p: usable size %zu is less than asked", op, n, (void *)p, usable);
	/* malloc's alignment: 16 from 16 bytes up (max_align_t), 8 below */
	size_t want = align ? align : n > 8 ? 16 : 8;
	if ((uintptr_t)p & (want - 1))
		fz_fail("%s(%zu) = %p: not aligned to %zu", op, n, (void *)p, want);
	if (!mm_owns(p) || mm_owns(p + 1))
		fz_fail("%s(%zu) = %p: mm_owns is wrong about it or about %p", op, n, (void *)p,
			(void *)(p + 1));
	if (zero)
		fz_verify_zero(p, n, op);
	b->p = p;
	b->n = n;
	b->usable = usable;
	b->align = align;
	b->seed = __atomic_add_fetch(&next_seed, 1, __ATOMIC_RELAXED);
	fz_registry_add(b);
	fz_fill(b);
}
