/*
 * liballoc_like.c - the baseline that the shell's `bench` measures kmalloc
 * against: the liballoc-style allocator hobby kernels usually start from,
 * written here from its description (no liballoc code).  Independent of
 * libmm: its pages are frames from pmm_alloc, mapped into a VA window of its
 * own (reserved once from vm.c, then managed here with a page bitmap).
 *
 * Memory comes in "major" blocks of at least MAJOR_PAGES pages.  A major
 * holds a doubly linked, address-ordered list of "minor" blocks: a header,
 * then the caller's bytes.  la_malloc starts at the "best bet" (the major
 * last seen with the most free room) or at the first major, walks the majors
 * in list order and, in each with enough room in total, walks its minors for
 * the first gap that fits; when it runs off the end it starts over at the
 * first major once (if it started at the bet), then appends a new major.
 * la_free unlinks the minor; a major left empty goes back to the frame
 * allocator unless it is the only one.  First fit, linear searches, one
 * global lock (interrupts off: irq_save/irq_restore, one CPU).
 */
#include "kernel.h"
#include "x86.h"
#include "sys.h"

#define MAJOR_PAGES 16             /* 64 KiB: the smallest major */
#define WINDOW_PAGES (32 * 1024)   /* 128 MiB of VA for all majors */
#define LA_ALIGN 16
#define LA_MAGIC 0x4c414c41u       /* "LALA" */
#define LA_DEAD 0xdeadf4eeu        /* a freed minor */

struct minor;

struct major {
	struct major *prev, *next;
	size_t pages;
	size_t size;         /* bytes, this header included */
	size_t usage;        /* bytes taken: this header, minors' headers and bytes */
	struct minor *first; /* minors in address order */
};

struct minor {
	struct minor *prev, *next;
	struct major *block;
	uint32_t magic;
	size_t size; /* the caller's bytes, rounded up to LA_ALIGN */
};

#define ROUND(x) (((x) + LA_ALIGN - 1) & ~(size_t)(LA_ALIGN - 1))
#define MAJ_HDR ROUND(sizeof(struct major))
#define MIN_HDR ROUND(sizeof(struct minor))

static struct major *root;     /* majors, in the order they were added */
static struct major *best_bet; /* the major with the most free room we have seen */
static uintptr_t window;       /* WINDOW_PAGES pages of VA, 0 until the first call */
static uint32_t used_pages[WINDOW_PAGES / 32];
static struct la_stats stats;

/* ---- the page hook: runs of pages in the window, backed by frames ---------- */

static struct spinlock la_lock;

/* Unmap n pages (the page tables' lock held); their frames go through the
 * TLB shootdown. */
static void unmap_pages(uintptr_t va, size_t n)
{
	for (size_t i = 0; i < n; i++, va += PAGE_SIZE) {
		pte_t *pte = arch_pte(va, 0);
		if (!pte || !(*pte & PTE_P))
			continue;
		uintptr_t pa = *pte & PTE_ADDR;
		*pte = 0;
		invlpg(va);
		tlb_defer_frame(pa);
	}
	tlb_shootdown();
}

static void mark(size_t first, size_t n, int used)
{
	for (size_t i = first; i < first + n; i++) {
		if (used)
			used_pages[i / 32] |= 1u << (i % 32);
		else
			used_pages[i / 32] &= ~(1u << (i % 32));
	}
}

/* n pages of fresh memory (not zeroed), first fit in the window; 0 if none. */
static uintptr_t alloc_pages(size_t n)
{
	if (!window) {
		window = (uintptr_t)mm_sys_reserve(NULL, (size_t)WINDOW_PAGES * PAGE_SIZE);
		if (!window)
			return 0;
	}
	size_t run = 0, i;
	for (i = 0; i < WINDOW_PAGES && run < n; i++) {
		if (run == 0 && i % 32 == 0 && used_pages[i / 32] == 0xFFFFFFFFu) {
			i += 31;
			continue;
		}
		run = (used_pages[i / 32] >> (i % 32)) & 1 ? 0 : run + 1;
	}
	if (run < n)
		return 0;
	size_t first = i - n;
	uintptr_t va = window + first * PAGE_SIZE;
	uintptr_t f = vm_lock();
	for (size_t k = 0; k < n; k++) {
		pte_t *pte = arch_pte(va + k * PAGE_SIZE, 1);
		uintptr_t pa = pte ? pmm_alloc() : 0;
		if (!pa) {
			unmap_pages(va, k);
			vm_unlock(f);
			return 0;
		}
		*pte = pa | PTE_P | PTE_W | PTE_NX;
		invlpg(va + k * PAGE_SIZE);
	}
	vm_unlock(f);
	mark(first, n, 1);
	stats.pages += n;
	return va;
}

static void free_pages(uintptr_t va, size_t n)
{
	uintptr_t f = vm_lock();
	unmap_pages(va, n);
	vm_unlock(f);
	mark((va - window) / PAGE_SIZE, n, 0);
	stats.pages -= n;
}

/* ---- majors and minors ------------------------------------------------------ */

static size_t room(const struct major *m) { return m->size - m->usage; }

/* A major for at least one request of size bytes, linked after prev (or as
 * the root); NULL when out of frames or window. */
static struct major *new_major(struct major *prev, size_t size)
{
	size_t pages = (MAJ_HDR + MIN_HDR + size + PAGE_SIZE - 1) / PAGE_SIZE;
	if (pages < MAJOR_PAGES)
		pages = MAJOR_PAGES;
	uintptr_t va = alloc_pages(pages);
	if (!va)
		return NULL;
	struct major *m = (struct major *)va;
	m->prev = prev;
	m->next = NULL;
	m->pages = pages;
	m->size = pages * PAGE_SIZE;
	m->usage = MAJ_HDR;
	m->first = NULL;
	if (prev)
		prev->next = m;
	else
		root = m;
	stats.majors++;
	return m;
}

static struct minor *put_minor(struct major *m, uintptr_t at, struct minor *prev, struct minor *next, size_t size)
{
	struct minor *n = (struct minor *)at;
	n->prev = prev;
	n->next = next;
	n->block = m;
	n->magic = LA_MAGIC;
	n->size = size;
	if (prev)
		prev->next = n;
	else
		m->first = n;
	if (next)
		next->prev = n;
	m->usage += MIN_HDR + size;
	return n;
}

/* First fit inside m: before the first minor, between two, or after the last. */
static struct minor *place(struct major *m, size_t size)
{
	uintptr_t start = (uintptr_t)m + MAJ_HDR, end = (uintptr_t)m + m->size;
	size_t need = MIN_HDR + size;
	struct minor *n = m->first;

	if (!n || (uintptr_t)n - start >= need)
		return put_minor(m, start, NULL, n, size);
	for (; n; n = n->next) {
		uintptr_t gap = (uintptr_t)n + MIN_HDR + n->size;
		uintptr_t gap_end = n->next ? (uintptr_t)n->next : end;
		if (gap_end - gap >= need)
			return put_minor(m, gap, n, n->next, size);
	}
	return NULL;
}

void *la_malloc(size_t n)
{
	if (n == 0)
		n = 1;
	if (n > ((size_t)WINDOW_PAGES * PAGE_SIZE))
		return NULL;
	size_t size = ROUND(n), need = MIN_HDR + size;
	struct minor *got = NULL;
	spin_lock(&la_lock);

	if (!root && !new_major(NULL, size))
		goto out;
	/* From the best bet when it has room; past the last major, back to the
	 * first once (if we started at the bet), then a new major at the end. */
	int from_bet = best_bet && room(best_bet) >= need;
	struct major *m = from_bet ? best_bet : root;
	for (;;) {
		if (room(m) >= need && (got = place(m, size)) != NULL)
			break;
		if (!best_bet || room(m) > room(best_bet))
			best_bet = m;
		if (!m->next && from_bet) {
			from_bet = 0;
			m = root;
			continue;
		}
		if (!m->next && !new_major(m, size))
			goto out;
		m = m->next;
	}
	if (!best_bet || room(m) > room(best_bet))
		best_bet = m;
	stats.objects++;
	stats.bytes += size;
	stats.nmalloc++;
out:
	spin_unlock(&la_lock);
	return got ? (char *)got + MIN_HDR : NULL;
}

static struct minor *minor_of(void *p, const char *who)
{
	struct minor *n = (struct minor *)((char *)p - MIN_HDR);
	if ((uintptr_t)p % LA_ALIGN || (uintptr_t)p < window || (uintptr_t)p >= window + (uintptr_t)WINDOW_PAGES * PAGE_SIZE)
		panic("%s(%p): not a liballoc-like pointer", who, p);
	if (n->magic != LA_MAGIC)
		panic("%s(%p): bad magic 0x%x (%s)", who, p, n->magic, n->magic == LA_DEAD ? "freed twice" : "corrupt");
	return n;
}

void la_free(void *p)
{
	if (!p)
		return;
	spin_lock(&la_lock);
	struct minor *n = minor_of(p, "la_free");
	struct major *m = n->block;

	n->magic = LA_DEAD;
	if (n->prev)
		n->prev->next = n->next;
	else
		m->first = n->next;
	if (n->next)
		n->next->prev = n->prev;
	m->usage -= MIN_HDR + n->size;
	stats.objects--;
	stats.bytes -= n->size;
	stats.nfree++;

	if (!m->first && (m->prev || m->next)) { /* empty, and not the only one */
		if (m->prev)
			m->prev->next = m->next;
		else
			root = m->next;
		if (m->next)
			m->next->prev = m->prev;
		if (best_bet == m)
			best_bet = NULL;
		stats.majors--;
		free_pages((uintptr_t)m, m->pages);
	} else if (!best_bet || room(m) > room(best_bet)) {
		best_bet = m;
	}
	spin_unlock(&la_lock);
}

size_t la_usable_size(void *p)
{
	return p ? minor_of(p, "la_usable_size")->size : 0;
}

void la_read_stats(struct la_stats *st)
{
	spin_lock(&la_lock);
	*st = stats;
	spin_unlock(&la_lock);
}

/* Walk every major and minor; NULL if consistent, else what is wrong. */
const char *la_check(void)
{
	static char why[96];
	const char *bad = NULL;
	size_t majors = 0, objects = 0, bytes = 0, pages = 0;
	spin_lock(&la_lock);

	for (struct major *m = root; m && !bad; m = m->next) {
		majors++;
		pages += m->pages;
		if (m->next && m->next->prev != m)
			bad = "major list links broken";
		size_t usage = MAJ_HDR;
		uintptr_t lo = (uintptr_t)m + MAJ_HDR, end = (uintptr_t)m + m->size;
		for (struct minor *n = m->first; n && !bad; n = n->next) {
			if (n->magic != LA_MAGIC || n->block != m)
				bad = "minor with a bad magic or major";
			else if ((uintptr_t)n < lo || (uintptr_t)n + MIN_HDR + n->size > end)
				bad = "minor out of order or past its major";
			else if (n->next && n->next->prev != n)
				bad = "minor list links broken";
			lo = (uintptr_t)n + MIN_HDR + n->size;
			usage += MIN_HDR + n->size;
			objects++;
			bytes += n->size;
		}
		if (!bad && usage != m->usage)
			bad = "major usage does not match its minors";
	}
	if (!bad && (majors != stats.majors || objects != stats.objects || bytes != stats.bytes || pages != stats.pages)) {
		ksnprintf(why, sizeof(why), "counts: %lu majors, %lu objects, %lu pages; stats say %lu, %lu, %lu",
			  (unsigned long)majors, (unsigned long)objects, (unsigned long)pages, (unsigned long)stats.majors,
			  (unsigned long)stats.objects, (unsigned long)stats.pages);
		bad = why;
	}
	spin_unlock(&la_lock);
	return bad;
}
