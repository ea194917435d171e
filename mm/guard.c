/*
 * guard.c - the release build's guard (internal.h): the trailer of blocks of
 * 0 bytes and of more than MM_GUARD_ABOVE, which only the slow paths see.
 * MM_GUARD_CANARY bytes right after the size asked for come from the
 * per-process key, each with its top bit set, so that neither text nor a
 * NUL written past the end matches them; the slot's last word holds that
 * size repeated in every 16-bit lane, xor a key (the free key's complement,
 * top bit set: the word's last byte is never text either, on a
 * little-endian host), so that any byte changed in it fails to decode.  An
 * overflow of the block breaks the canary (or, past it, the end word); an
 * underflow of the block after it breaks the end word.  free, realloc and
 * mm_usable_size check the trailer and name the block, its size and what
 * was overwritten.  Debug builds have red zones instead (malloc.c).
 */
#include "internal.h"

uint64_t mm_guard_canary;
uintptr_t mm_guard_end_key;

/* At init, after mm_free_key: the canary's 8 bytes (the key, mixed, every byte's top bit set) and the end word's key. */
void mm_guard_init(void)
{
	uint64_t x = (uint64_t)mm_free_key * 0x9e3779b97f4a7c15ull;
	mm_guard_canary = (x ^ x >> 29) | 0x8080808080808080ull;
	mm_guard_end_key = ~mm_free_key | (uintptr_t)1 << (8 * sizeof(uintptr_t) - 1);
}

void mm_guard_set(void *p, uint32_t room, size_t n)
{
	mm_guard_put(p, room, n);
}

/* The first of the canary's bytes at p + n that is not as set, or -1. */
static int canary_broken(const void *p, uintptr_t n)
{
	uint64_t c = mm_guard_canary, v = ((const struct mm_unaligned64 *)((const char *)p + n))->v;
	if (v == c)
		return -1;
	for (int k = 0; k < MM_GUARD_CANARY; k++) /* the bytes in memory order, on any host */
		if (((const unsigned char *)&v)[k] != ((const unsigned char *)&c)[k])
			return k;
	return -1;
}

size_t mm_guard_check(const char *op, void *p, uint32_t cl)
{
	uint32_t room = mm_class_size[cl];
	int zero = cl == mm_zero_class, k;
	if (zero && (k = canary_broken(p, 0)) >= 0) /* its size is known: the canary first */
		mm_throw("mm: %s(%p): write into a zero-size block (malloc(0)): its byte at offset %u "
			 "was overwritten", op, p, (uintptr_t)k);
	uintptr_t n = mm_guard_size(p, room);
	if (n == UINTPTR_MAX) {
		if (zero)
			mm_throw("mm: %s(%p): write into a zero-size block (malloc(0)) at %p: its end marker "
				 "was overwritten (or the block after it, at %p, underflowed)", op, p, p,
				 (char *)p + room);
		mm_throw("mm: %s(%p): the end marker of block %p (a %u-byte slot) was overwritten "
			 "(overflow past its end, or underflow of the block after it, at %p)", op, p, p,
			 (uintptr_t)room, (char *)p + room);
	}
	if ((k = canary_broken(p, n)) >= 0)
		mm_throw("mm: %s(%p): block of %u bytes: byte %u after its end was overwritten "
			 "(heap overflow)", op, p, n, (uintptr_t)k + 1);
	return n;
}
