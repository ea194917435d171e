/*
 * align.c - the aligned entry points keep their promise for every alignment
 * and every small size: memalign, aligned_alloc and posix_memalign with
 * alignments 1..4096 (every power of two, plus larger ones up to 1 MiB)
 * and sizes 0..80 and a few larger, each block written in full and kept
 * live until the round ends, so blocks that overlap or are misaligned show.
 * The results go through a volatile so the compiler cannot assume the
 * alignment it was asked for.  Prints one summary line (the same under
 * glibc and libmm) and exits 1 on the first fault, naming it.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSIZES 88
#define NKEEP (NSIZES * 3)

static size_t size_at(int i)
{
	static const size_t big[] = {96, 128, 255, 1000, 4096, 5000, 40000, 70000};
	return i < 81 ? (size_t)i : big[i - 81];
}

static unsigned long checked;

/* p (from fn(align, n)) must be non-NULL, aligned, and not overlap earlier blocks of this round. */
static int check(const char *fn, size_t align, size_t n, void *p, void **keep, int *nkeep)
{
	volatile uintptr_t a = (uintptr_t)p;
	if (p == NULL) {
		printf("FAIL %s(%zu, %zu) = NULL (errno %d)\n", fn, align, n, errno);
		return -1;
	}
	if (a % align != 0) {
		printf("FAIL %s(%zu, %zu) = %p: not %zu-aligned\n", fn, align, n, p, align);
		return -1;
	}
	if (malloc_usable_size(p) < n) {
		printf("FAIL %s(%zu, %zu) = %p: usable size %zu\n", fn, align, n, p,
		       malloc_usable_size(p));
		return -1;
	}
	memset(p, (int)(n & 0xff), n);
	keep[(*nkeep)++] = p;
	checked++;
	return 0;
}

/* Every block of the round still holds its own byte: nothing overlapped. */
static int verify(void **keep, int nkeep)
{
	for (int i = 0; i < nkeep; i++) {
		size_t n = size_at(i / 3);
		const unsigned char *b = keep[i];
		for (size_t j = 0; j < n; j++)
			if (b[j] != (unsigned char)(n & 0xff)) {
				printf("FAIL block %p (%zu bytes) overwritten at %zu\n", keep[i], n, j);
				return -1;
			}
	}
	for (int i = 0; i < nkeep; i++)
		free(keep[i]);
	return 0;
}

int main(void)
{
	static void *keep[NKEEP];
	int rounds = 0;
	for (size_t align = 1; align <= ((size_t)1 << 20); align *= 2, rounds++) {
		int nkeep = 0;
		for (int i = 0; i < NSIZES; i++) {
			size_t n = size_at(i);
			void *volatile p = memalign(align, n);
			if (check("memalign", align, n, p, keep, &nkeep))
				return 1;
			p = aligned_alloc(align, n);
			if (check("aligned_alloc", align, n, p, keep, &nkeep))
				return 1;
			void *q = NULL;
			size_t pa = align < sizeof(void *) ? sizeof(void *) : align;
			int r = posix_memalign(&q, pa, n);
			if (r != 0) {
				printf("FAIL posix_memalign(%zu, %zu) = %d\n", pa, n, r);
				return 1;
			}
			p = q;
			if (check("posix_memalign", pa, n, p, keep, &nkeep))
				return 1;
		}
		if (verify(keep, nkeep))
			return 1;
	}
	printf("aligned allocations: %d alignments x %d sizes x 3 calls: %lu checked, all aligned\n",
	       rounds, NSIZES, checked);
	return 0;
}
