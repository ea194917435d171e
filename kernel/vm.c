/*
 * vm.c - the Sys layer of mm/sys.h on the kernel's own page tables.
 *
 *  mm_sys_reserve  claims a VA range in [RESERVE_LO, RESERVE_HI) (see
 *                  arch.h): at the hint when that range is free, else the
 *                  highest free range (top down, so the arena at the bottom
 *                  can grow upward).  Nothing is mapped.
 *  mm_sys_map      maps a freshly zeroed frame, present + writable + NX, on
 *                  every page of the range not already present (present
 *                  pages keep their contents); page tables come on demand.
 *                  Out of frames: -1, and the range is as it was.
 *  mm_sys_unused   unmaps the present pages, invlpg, and returns after the
 *                  TLB shootdown (tlb.c): every CPU has flushed and the
 *                  frames are free; the PTE keeps PTE_REL so a later fault
 *                  can say "released by the scavenger".  Returns 1: pages
 *                  come back zeroed.
 *  mm_sys_free     the same, then releases the VA.
 *  mm_sys_nanotime the PIT's clock (1 ms steps), in nanoseconds.
 *  mm_sys_lock     the kernel's spinlock (spinlock.c): interrupts off while
 *                  held, EFLAGS.IF saved in l->saved.
 *  mm_sys_cache_get/put (kcache.h)  this CPU's cache, or its separate one
 *                  inside interrupts.
 *
 * The ranges and the page tables are guarded by one spinlock, vm_lock
 * (lock order: vm, then the shootdown queue, then the frames).  The
 * shootdown waits for the other CPUs with this lock held: it uses NMIs.
 */
#include "kernel.h"
#include "x86.h"
#include "mm.h"
#include "sys.h"

#define MAX_RANGES 64

/* Reserved VA ranges, sorted, disjoint, adjacent ones merged. */
static struct range {
	uintptr_t lo, hi;
} ranges[MAX_RANGES];
static int nranges;

size_t vm_frames_released;
size_t vm_frames_mapped;
size_t vm_frames_freed;

static struct spinlock vm_spin;

void vm_init(void)
{
	nranges = 0;
}

uintptr_t vm_lock(void) { return spin_lock_word(&vm_spin.word); }
void vm_unlock(uintptr_t flags) { spin_unlock_word(&vm_spin.word, flags); }

/* Is [lo, hi) inside the reservable window and clear of every range? */
static int va_is_free(uintptr_t lo, uintptr_t hi)
{
	if (lo < RESERVE_LO || hi > RESERVE_HI || hi <= lo)
		return 0;
	for (int i = 0; i < nranges; i++)
		if (lo < ranges[i].hi && ranges[i].lo < hi)
			return 0;
	return 1;
}

static int va_insert(uintptr_t lo, uintptr_t hi)
{
	int i = 0;
	while (i < nranges && ranges[i].lo < lo)
		i++;
	if (i > 0 && ranges[i - 1].hi == lo) { /* extend the one below */
		ranges[i - 1].hi = hi;
		if (i < nranges && ranges[i].lo == hi) {
			ranges[i - 1].hi = ranges[i].hi;
			memmove(&ranges[i], &ranges[i + 1], (size_t)(nranges - i - 1) * sizeof(ranges[0]));
			nranges--;
		}
		return 0;
	}
	if (i < nranges && ranges[i].lo == hi) { /* extend the one above */
		ranges[i].lo = lo;
		return 0;
	}
	if (nranges == MAX_RANGES)
		return -1;
	memmove(&ranges[i + 1], &ranges[i], (size_t)(nranges - i) * sizeof(ranges[0]));
	ranges[i].lo = lo;
	ranges[i].hi = hi;
	nranges++;
	return 0;
}

/* Remove [lo, hi) from the reserved set; it may split a range. */
static void va_remove(uintptr_t lo, uintptr_t hi)
{
	for (int i = 0; i < nranges; i++) {
		struct range r = ranges[i];
		if (hi <= r.lo || r.hi <= lo)
			continue;
		if (lo <= r.lo && r.hi <= hi) { /* whole range goes */
			memmove(&ranges[i], &ranges[i + 1], (size_t)(nranges - i - 1) * sizeof(ranges[0]));
			nranges--;
			i--;
		} else if (lo <= r.lo) {
			ranges[i].lo = hi;
		} else if (r.hi <= hi) {
			ranges[i].hi = lo;
		} else { /* a hole in the middle */
			ranges[i].hi = lo;
			if (va_insert(hi, r.hi) < 0)
				panic("vm: too many reserved ranges splitting [%p, %p)", (void *)lo, (void *)hi);
		}
	}
}

/* Is va inside a reserved range? */
static int va_reserved(uintptr_t va)
{
	for (int i = 0; i < nranges; i++)
		if (ranges[i].lo <= va && va < ranges[i].hi)
			return 1;
	return 0;
}

void *mm_sys_reserve(void *hint, size_t n)
{
	uintptr_t flags = vm_lock(), lo = 0;

	n = PAGE_ROUND_UP(n);
	if (n == 0)
		goto out;
	uintptr_t h = (uintptr_t)hint;
	if (h && h % PAGE_SIZE == 0 && va_is_free(h, h + n)) {
		lo = h;
	} else {
		/* Top down: the highest gap that holds n bytes. */
		uintptr_t top = RESERVE_HI;
		for (int i = nranges; i >= 0; i--) {
			uintptr_t bottom = i > 0 ? ranges[i - 1].hi : RESERVE_LO;
			if (bottom < RESERVE_LO)
				bottom = RESERVE_LO;
			if (top > bottom && top - bottom >= n) {
				lo = top - n;
				break;
			}
			if (i > 0)
				top = ranges[i - 1].lo;
		}
	}
	if (lo && va_insert(lo, lo + n) < 0)
		lo = 0;
out:
	vm_unlock(flags);
	return (void *)lo;
}

/* The last page of the page table that maps va: when arch_pte(va, 0) finds
 * no table, the loops below skip to the next table in one step. */
static uintptr_t table_last_page(uintptr_t va)
{
	return (va | (uintptr_t)(PT_SPAN - 1)) - (PAGE_SIZE - 1);
}

/* Undo the pages this mm_sys_map call mapped in [v, end). */
static void map_rollback(uintptr_t v, uintptr_t end)
{
	for (uintptr_t va = v; va < end && va >= v; va += PAGE_SIZE) {
		pte_t *pte = arch_pte(va, 0);
		if (!pte)
			va = table_last_page(va);
		else if (*pte & PTE_NEW) {
			pmm_free(*pte & PTE_ADDR);
			vm_frames_mapped--;
			*pte = (*pte & PTE_OLDREL) ? PTE_REL : 0;
			invlpg(va);
		}
	}
}

int mm_sys_map(void *v, size_t n)
{
	uintptr_t flags = vm_lock();
	uintptr_t start = (uintptr_t)v, end = start + PAGE_ROUND_UP(n), va;
	size_t missing = 0;

	for (va = start; va < end; va += PAGE_SIZE) {
		pte_t *pte = arch_pte(va, 0);
		if (!pte) { /* no table: every page up to the next one is missing */
			uintptr_t last = table_last_page(va);
			missing += ((last < end - PAGE_SIZE ? last : end - PAGE_SIZE) - va) / PAGE_SIZE + 1;
			va = last;
		} else if (!(*pte & PTE_P)) {
			missing++;
		}
	}
	if (missing > pmm_free_count()) {
		vm_unlock(flags);
		return -1;
	}
	for (va = start; va < end; va += PAGE_SIZE) {
		pte_t *pte = arch_pte(va, 1);
		if (!pte)
			goto fail;
		if (*pte & PTE_P)
			continue;
		uintptr_t pa = pmm_alloc();
		if (!pa)
			goto fail;
		page_zero((void *)pa);
		*pte = pa | PTE_P | PTE_W | PTE_NX | PTE_NEW | ((*pte & PTE_REL) ? PTE_OLDREL : 0);
		vm_frames_mapped++;
	}
	/* Success: the marks only served a rollback. */
	for (va = start; va < end; va += PAGE_SIZE) {
		pte_t *pte = arch_pte(va, 0);
		*pte &= ~(PTE_NEW | PTE_OLDREL);
	}
	vm_unlock(flags);
	return 0;
fail:
	map_rollback(start, va);
	vm_unlock(flags);
	return -1;
}

int mm_sys_unused(void *v, size_t n)
{
	uintptr_t flags = vm_lock();
	uintptr_t start = (uintptr_t)v, end = start + PAGE_ROUND_UP(n);

	for (uintptr_t va = start; va < end && va >= start; va += PAGE_SIZE) {
		pte_t *pte = arch_pte(va, 0);
		if (!pte)
			va = table_last_page(va);
		if (!pte || !(*pte & PTE_P))
			continue;
		uintptr_t pa = *pte & PTE_ADDR;
		*pte = PTE_REL;
		invlpg(va);
		tlb_defer_frame(pa);
		vm_frames_released++;
	}
	tlb_shootdown();
	vm_unlock(flags);
	return 1;
}

void mm_sys_free(void *v, size_t n)
{
	uintptr_t flags = vm_lock();
	uintptr_t start = (uintptr_t)v, end = start + PAGE_ROUND_UP(n);

	for (uintptr_t va = start; va < end && va >= start; va += PAGE_SIZE) {
		pte_t *pte = arch_pte(va, 0);
		if (!pte) {
			va = table_last_page(va);
			continue;
		}
		uintptr_t old = *pte;
		*pte = 0;
		if (old & PTE_P) {
			invlpg(va);
			tlb_defer_frame(old & PTE_ADDR);
			vm_frames_freed++;
		}
	}
	tlb_shootdown();
	va_remove(start, end);
	vm_unlock(flags);
}

uint64_t mm_sys_nanotime(void)
{
	return timer_nanos();
}

void mm_sys_lock(struct mm_lock *l)
{
	uintptr_t flags = spin_lock_word(&l->word);
	l->saved = flags;
}

void mm_sys_unlock(struct mm_lock *l)
{
	spin_unlock_word(&l->word, l->saved);
}

void mm_sys_panic(const char *msg)
{
	panic("%s", msg);
}


/* Create CPU 0's two caches: one for normal code, one for interrupt
 * handlers (smp.c creates the other CPUs'). */
void vm_caches_init(void)
{
	cpus[0].cache = mm_cache_new();
	cpus[0].cache_irq = mm_cache_new();
	if (!cpus[0].cache || !cpus[0].cache_irq)
		panic("vm: cannot create the CPU caches");
}

int vm_is_mapped(uintptr_t va)
{
	uintptr_t flags = vm_lock();
	pte_t *pte = arch_pte(va, 0);
	int r = pte && (*pte & PTE_P);
	vm_unlock(flags);
	return r;
}

int vm_is_released(uintptr_t va)
{
	uintptr_t flags = vm_lock();
	pte_t *pte = arch_pte(va, 0);
	int r = pte && !(*pte & PTE_P) && (*pte & PTE_REL);
	vm_unlock(flags);
	return r;
}

/* Page fault: a reserved but unmapped page is a bug in whoever touched it. */
void vm_page_fault(uintptr_t cr2, uintptr_t err, uintptr_t ip)
{
	uintptr_t page = PAGE_ROUND_DOWN(cr2);
	if (!va_reserved(page))
		return; /* not ours: the generic exception report follows */
	pte_t *pte = arch_pte(page, 0);
	if (pte && (*pte & PTE_P))
		return; /* a protection fault on a mapped page */
	panic("page fault on an unmapped arena page: cr2=%p err=0x%lx ip=%p: %s (cpu%d)", (void *)cr2,
	      (unsigned long)err, (void *)ip,
	      pte && (*pte & PTE_REL) ? "released by the scavenger" : "never mapped", this_cpu()->id);
}
