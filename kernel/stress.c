/*
 * stress.c - random malloc/calloc/realloc/aligned_alloc/free against a
 * shadow model: every live object has a seed, its bytes follow a pattern
 * derived from it, and the pattern is checked before each free or realloc
 * and at the end.  Used by the shell's `stress N` and by the self-tests.
 */
#include "kernel.h"
#include "mm.h"

#define NSLOTS 512

struct slot {
	unsigned char *p;
	size_t size;
	uint32_t seed;
};
static struct slot slots[NSLOTS];

uint32_t krand(uint32_t *s)
{
	uint32_t x = *s;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

static unsigned char pat(uint32_t seed, size_t i) { return (unsigned char)(seed + i * 131 + (i >> 8)); }

static void fill(struct slot *s)
{
	for (size_t i = 0; i < s->size; i++)
		s->p[i] = pat(s->seed, i);
}

/* Check the first n bytes of s; returns 0 if intact. */
static int verify(const struct slot *s, size_t n, int verbose)
{
	for (size_t i = 0; i < n; i++) {
		if (s->p[i] != pat(s->seed, i)) {
			if (verbose)
				kprintf("stress: object %p (%lu bytes) corrupt at +%lu: %02x, want %02x\n", (void *)s->p,
					(unsigned long)s->size, (unsigned long)i, s->p[i], pat(s->seed, i));
			return 1;
		}
	}
	return 0;
}

static size_t pick_size(uint32_t *rs)
{
	uint32_t r = krand(rs) % 100;
	if (r < 70)
		return 1 + krand(rs) % 256;
	if (r < 90)
		return 257 + krand(rs) % 3840;
	if (r < 98)
		return 4097 + krand(rs) % 28672;
	return 32769 + krand(rs) % 229376;
}

/* Runs n random operations; returns the number of errors found (0: all good). */
int stress_run(unsigned long n, unsigned seed, int verbose)
{
	uint32_t rs = seed ? seed : 1;
	int bad = 0;
	unsigned long nnull = 0;

	for (unsigned long op = 0; op < n; op++) {
		struct slot *s = &slots[krand(&rs) % NSLOTS];
		uint32_t kind = krand(&rs) % 16;
		if (s->p && kind < 3) { /* realloc: the common prefix survives */
			size_t nsize = pick_size(&rs);
			unsigned char *q = mm_realloc(s->p, nsize);
			if (!q) {
				nnull++;
				continue;
			}
			s->p = q;
			size_t keep = nsize < s->size ? nsize : s->size;
			bad += verify(s, keep, verbose);
			s->size = nsize;
			fill(s);
		} else if (s->p) {
			bad += verify(s, s->size, verbose);
			mm_free(s->p);
			s->p = NULL;
		} else {
			size_t size = pick_size(&rs);
			unsigned char *p;
			if (kind < 2) {
				p = mm_calloc(1, size);
				for (size_t i = 0; p && i < size; i++)
					if (p[i]) {
						if (verbose)
							kprintf("stress: calloc(%lu) = %p not zero at +%lu\n",
								(unsigned long)size, (void *)p, (unsigned long)i);
						bad++;
						break;
					}
			} else if (kind < 4) {
				size_t align = (size_t)16 << (krand(&rs) % 9); /* 16 .. 4096 */
				p = mm_aligned_alloc(align, size);
				if (p && ((uintptr_t)p & (align - 1))) {
					if (verbose)
						kprintf("stress: aligned_alloc(%lu, %lu) = %p misaligned\n",
							(unsigned long)align, (unsigned long)size, (void *)p);
					bad++;
				}
			} else {
				p = mm_malloc(size);
			}
			if (!p) {
				nnull++;
				continue;
			}
			if (mm_usable_size(p) < size) {
				if (verbose)
					kprintf("stress: usable_size(%p) = %lu < %lu\n", (void *)p,
						(unsigned long)mm_usable_size(p), (unsigned long)size);
				bad++;
			}
			s->p = p;
			s->size = size;
			s->seed = krand(&rs);
			fill(s);
		}
	}
	for (int i = 0; i < NSLOTS; i++) {
		if (!slots[i].p)
			continue;
		bad += verify(&slots[i], slots[i].size, verbose);
		mm_free(slots[i].p);
		slots[i].p = NULL;
	}
	if (nnull && verbose)
		kprintf("stress: %lu allocations returned NULL\n", nnull);
	return bad;
}
