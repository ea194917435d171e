/*
 * sizeclass.c - the size classes and the tables that map a size to its class.
 *
 * Sizes start at two words (8 bytes on 32-bit, 16 on 64-bit: every object
 * then is 16-aligned there, as glibc's are), step by 8 up to 16, by 16 up to 128, then by size/8 (rounded to a
 * power of two) so that rounding a request up wastes at most 12.5% beyond
 * 128 bytes, and by 256 from 2 KiB.  Each class's span is the fewest pages
 * whose leftover after cutting objects is at most 1/8 of the span, except
 * that classes up to MM_ONE_PAGE_CLASSES (1024 bytes) take one page
 * (free's class map then needs no page index, internal.h); a size
 * that needs the same pages for the same number of objects as the previous
 * class replaces it (nothing is gained by keeping both).  One more class
 * comes last, out of order: the zero class, for malloc(0) in release builds
 * (the guard, internal.h); no size maps to it.
 */
#include "internal.h"

int mm_nclasses;
uint32_t mm_guard_class, mm_zero_class;
uint32_t mm_class_size[MM_NUM_CLASSES_MAX];
uint8_t mm_class_npages[MM_NUM_CLASSES_MAX];
uint8_t mm_class_batch[MM_NUM_CLASSES_MAX];
uint16_t mm_class_listmax[MM_NUM_CLASSES_MAX];
uint8_t mm_class_transfer[MM_NUM_CLASSES_MAX];
uint32_t mm_class_divmul[MM_NUM_CLASSES_MAX];
uint8_t mm_size_to_class8[1024 / 8 + 1];
uint8_t mm_size_to_class128[(MM_MAX_SMALL - 1024) / 128 + 1];
uint16_t mm_size_to_list[1024 + 1];

/* Fill the class tables.  Class 0 is unused, so a zero byte in a table is a bug. */
void mm_sizeclass_init(void)
{
	/* The smallest class holds two words (a free object's link and key, internal.h). */
	uint32_t align = 8, size, n = 1;

	for (size = 2 * sizeof(void *); size <= MM_MAX_SMALL; size += align) {
		if ((size & (size - 1)) == 0) {
			if (size >= 2048)
				align = 256;
			else if (size >= 128)
				align = size / 8;
			else if (size >= 16)
				align = 16;
		}
		uint32_t npages = 1, bytes = MM_PAGE_SIZE;
		while (size > MM_ONE_PAGE_CLASSES && bytes % size > bytes / 8) {
			npages++;
			bytes += MM_PAGE_SIZE;
		}
		if (n > 1 && npages == mm_class_npages[n - 1] &&
		    bytes / size == bytes / mm_class_size[n - 1]) {
			mm_class_size[n - 1] = size;
			continue;
		}
		if (n >= MM_NUM_CLASSES_MAX)
			mm_throw("mm: sizeclass: more than %u classes", (uintptr_t)MM_NUM_CLASSES_MAX);
		mm_class_size[n] = size;
		mm_class_npages[n] = (uint8_t)npages;
		n++;
	}
	/* The zero class (malloc(0) in release builds: the guard, internal.h), after the others. */
	if (n >= MM_NUM_CLASSES_MAX)
		mm_throw("mm: sizeclass: no room for the zero class");
	mm_zero_class = n;
	mm_class_size[n] = (uint32_t)(MM_GUARD_BYTES + 7) & ~7u;
	mm_class_npages[n] = 1;
	mm_nclasses = (int)++n;
	for (mm_guard_class = 1; mm_class_size[mm_guard_class] <= MM_GUARD_ABOVE; mm_guard_class++)
		;

	for (uint32_t c = 1; c < n; c++) {
		uint32_t b = MM_BATCH_BYTES / mm_class_size[c], tiny = MM_BATCH_TINY_BYTES / mm_class_size[c];
		b = b < 2 ? 2 : b > MM_BATCH_MAX ? MM_BATCH_MAX : b;
		if (tiny > b)
			b = tiny > MM_BATCH_TINY_MAX ? MM_BATCH_TINY_MAX : tiny;
		mm_class_batch[c] = (uint8_t)b;
		uint32_t m = MM_CACHE_LIST_BYTES / mm_class_size[c];
		mm_class_listmax[c] = (uint16_t)(m < mm_class_batch[c] ? mm_class_batch[c] :
						 m > MM_CACHE_LIST_MAX ? MM_CACHE_LIST_MAX : m);
		_Static_assert(MM_TRANSFER_SLOTS <= 255, "mm_class_transfer holds a byte");
		uint32_t t = MM_TRANSFER_BYTES / (mm_class_batch[c] * mm_class_size[c]);
		mm_class_transfer[c] = (uint8_t)(t < 1 ? 1 : t > MM_TRANSFER_SLOTS ? MM_TRANSFER_SLOTS : t);
		/* ceil(2^32 / size) without 64-bit division (i386 has none) */
		mm_class_divmul[c] = 0xffffffffu / mm_class_size[c] + 1;
	}

	/* Lookup tables: the smallest class whose size fits. */
	uint32_t c = 1;
	for (uint32_t i = 0; i <= 1024 / 8; i++) {
		while (mm_class_size[c] < i * 8)
			c++;
		mm_size_to_class8[i] = (uint8_t)c;
	}
	for (uint32_t i = 0; i <= (MM_MAX_SMALL - 1024) / 128; i++) {
		while (mm_class_size[c] < 1024 + i * 128)
			c++;
		mm_size_to_class128[i] = (uint8_t)c;
	}
#ifndef MM_DEBUG
	mm_size_to_class8[0] = (uint8_t)mm_zero_class; /* malloc(0): the guard's slow path, its list always empty */
#endif
	for (uint32_t n = 0; n <= 1024; n++) /* by size, not by 8: no rounding in malloc */
		mm_size_to_list[n] = (uint16_t)(offsetof(struct mm_cache, list) +
						mm_size_to_class8[(n + 7) >> 3] * sizeof(struct mm_cachelist));
}
