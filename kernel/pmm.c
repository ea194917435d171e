/*
 * pmm.c - the physical frame allocator: one bit per 4 KiB frame below
 * IDENT_END (the part of physical memory the kernel identity-maps), set
 * when the frame is free.  Fed by the multiboot memory map ("available"
 * regions), minus the first MiB (BIOS, VGA), the kernel image and the
 * multiboot structures and modules.  Any CPU, any context: each call takes
 * the frame lock (a spinlock, interrupts off while held).
 */
#include "kernel.h"
#include "x86.h"

#define NFRAMES (IDENT_END / PAGE_SIZE)
#define LOW_LIMIT (1 * MiB)

static uint32_t bitmap[NFRAMES / 32];
static size_t nfree, ntotal, next_word, nwords; /* nwords: words up to the last free frame */

static int is_free(size_t f) { return (bitmap[f / 32] >> (f % 32)) & 1; }

static void mark_region(uint64_t base, uint64_t len, uint32_t type)
{
	if (type != 1)
		return;
	uint64_t lo = PAGE_ROUND_UP(base), hi = PAGE_ROUND_DOWN(base + len);
	if (lo < LOW_LIMIT)
		lo = LOW_LIMIT;
	if (hi > IDENT_END)
		hi = IDENT_END;
	for (uint64_t a = lo; a < hi; a += PAGE_SIZE) {
		size_t f = (size_t)(a / PAGE_SIZE);
		if (!is_free(f)) {
			bitmap[f / 32] |= 1u << (f % 32);
			nfree++;
			if (f / 32 + 1 > nwords)
				nwords = f / 32 + 1;
		}
	}
}

static void unmark_range(uintptr_t start, uintptr_t end)
{
	for (uintptr_t a = PAGE_ROUND_DOWN(start); a < end && a < IDENT_END; a += PAGE_SIZE) {
		size_t f = a / PAGE_SIZE;
		if (is_free(f)) {
			bitmap[f / 32] &= ~(1u << (f % 32));
			nfree--;
		}
	}
}

void pmm_init(void)
{
	multiboot_each_region(mark_region);
	unmark_range((uintptr_t)_kernel_start, (uintptr_t)_kernel_end);
	multiboot_each_boot_range(unmark_range);
	ntotal = nfree;
}

static struct spinlock pmm_lock;

uintptr_t pmm_alloc(void)
{
	spin_lock(&pmm_lock);
	uintptr_t pa = 0;

	if (nfree) {
		for (size_t i = 0; i < nwords; i++) {
			size_t w = (next_word + i) % nwords;
			if (bitmap[w]) {
				int bit = __builtin_ctz(bitmap[w]);
				bitmap[w] &= ~(1u << bit);
				nfree--;
				next_word = w;
				pa = ((uintptr_t)w * 32 + (uintptr_t)bit) * PAGE_SIZE;
				break;
			}
		}
	}
	spin_unlock(&pmm_lock);
	return pa;
}

void pmm_free(uintptr_t pa)
{
	size_t f = pa / PAGE_SIZE;

	if (pa % PAGE_SIZE || pa < LOW_LIMIT || pa >= IDENT_END)
		panic("pmm_free: %p is not a frame the allocator manages", (void *)pa);
	spin_lock(&pmm_lock);
	if (is_free(f))
		panic("pmm_free: frame %p freed twice", (void *)pa);
	bitmap[f / 32] |= 1u << (f % 32);
	nfree++;
	spin_unlock(&pmm_lock);
}

size_t pmm_free_count(void) { return nfree; }
size_t pmm_total_count(void) { return ntotal; }
