/*
 * heap.c - the page heap: spans of pages for central and for large objects.
 *
 * Free spans of fewer than MM_HEAP_LISTS pages sit on a list by exact page
 * count; larger ones in a treap ordered by (npages, start), so best fit
 * (fewest pages, then lowest address) costs O(log n) whatever the number of
 * free spans.  A span taken from the heap is split and the rest stays free;
 * a span given back is coalesced with free neighbours on both sides, found
 * through the pagemap.
 *
 * Kept spans: a large span of up to MM_KEEP_PAGES pages that is freed is
 * kept whole (state MM_SPAN_KEPT, every page still mapped to it, backed) on
 * a list by page count, up to MM_KEEP_BYTES in all; the next large request
 * of that page count takes it back as it is: no search, split, coalescing,
 * pagemap writes or scavenger policy.  Past the byte limit the oldest go to
 * the free structure (an age list through left/right, which only the treap
 * uses otherwise), as do all of them when a scavenger pass runs or when
 * nothing else fits.  Their pages count as idle (and never as released).
 *
 * Scavenger accounting (invariant, checked by mm_check):
 *   pages_released == sum of npreleased over free spans <= pages_idle.
 * Coalescing adds the parts' npreleased; splitting divides it (a span that
 * is only partly released is released whole first, see carve); reuse
 * subtracts it after mm_sys_map has backed the pages again.
 */
#include "internal.h"

struct mm_heap mm_heap;

struct mm_span *mm_heap_span_alloc(void)
{
	return mm_fixalloc_alloc(&mm_heap.spans);
}

void mm_heap_span_free(struct mm_span *s)
{
	s->state = MM_SPAN_DEAD;
	mm_fixalloc_free(&mm_heap.spans, s);
}

/* ---- the treap of large free spans ---- */

static int treap_less(const struct mm_span *a, const struct mm_span *b)
{
	return a->npages < b->npages || (a->npages == b->npages && a->start < b->start);
}

static void rotate_right(struct mm_span **root)
{
	struct mm_span *t = *root, *l = t->left;
	t->left = l->right;
	l->right = t;
	*root = l;
}

static void rotate_left(struct mm_span **root)
{
	struct mm_span *t = *root, *r = t->right;
	t->right = r->left;
	r->left = t;
	*root = r;
}

/*
 * Insert s: walk down while the nodes' priorities are at least s's, then
 * split the subtree found there around s's key into s's two children.  A
 * loop, not recursion: the core's stack stays bounded whatever the treap's
 * depth (lib-check measures it).
 */
static void treap_insert(struct mm_span **root, struct mm_span *s)
{
	struct mm_span **pp = root;
	while (*pp && (*pp)->prio >= s->prio)
		pp = treap_less(s, *pp) ? &(*pp)->left : &(*pp)->right;
	struct mm_span *t = *pp, **l = &s->left, **r = &s->right;
	while (t) {
		if (treap_less(t, s)) {
			*l = t;
			l = &t->right;
			t = t->right;
		} else {
			*r = t;
			r = &t->left;
			t = t->left;
		}
	}
	*l = *r = 0;
	*pp = s;
}

static void treap_remove(struct mm_span **root, struct mm_span *s)
{
	struct mm_span **pp = root;
	while (*pp != s) {
		if (!*pp)
			mm_throw("mm: heap: free span %p (%u pages) missing from the treap",
				 (void *)mm_span_base(s), s->npages);
		pp = treap_less(s, *pp) ? &(*pp)->left : &(*pp)->right;
	}
	while (s->left && s->right) {
		if (s->left->prio > s->right->prio) {
			rotate_right(pp);
			pp = &(*pp)->right;
		} else {
			rotate_left(pp);
			pp = &(*pp)->left;
		}
	}
	*pp = s->left ? s->left : s->right;
	s->left = s->right = 0;
}

/* The smallest span of at least npages pages, lowest address first. */
static struct mm_span *treap_best_fit(struct mm_span *t, uintptr_t npages)
{
	struct mm_span *best = 0;
	while (t) {
		if (t->npages >= npages) {
			best = t;
			t = t->left;
		} else {
			t = t->right;
		}
	}
	return best;
}

/* ---- free structure ---- */

/* Bit n of mm_heap.nonempty says whether free list n has a span. */
static void mark_list(uintptr_t n)
{
	if (mm_span_list_empty(&mm_heap.free[n]))
		mm_heap.nonempty[n >> 5] &= ~(1u << (n & 31));
	else
		mm_heap.nonempty[n >> 5] |= 1u << (n & 31);
}

static void free_insert(struct mm_span *s)
{
	s->state = MM_SPAN_FREE;
	if (s->npages < MM_HEAP_LISTS) {
		s->intree = 0;
		mm_span_list_insert(&mm_heap.free[s->npages], s);
		mark_list(s->npages);
	} else {
		s->intree = 1;
		s->prio = (uint32_t)(s->start * 2654435761u) ^ (uint32_t)s->npages;
		treap_insert(&mm_heap.large, s);
	}
}

static void free_remove(struct mm_span *s)
{
	if (s->intree) {
		treap_remove(&mm_heap.large, s);
	} else {
		mm_span_list_remove(s);
		mark_list(s->npages);
	}
	s->intree = 0;
}

/*
 * Index of the lowest set bit of x (x != 0), without __builtin_ctz: on CPUs
 * without a bit-scan instruction (rv64gc) that becomes a call to libgcc's
 * __ctzdi2, which a kernel does not have.  x & -x isolates the bit; a de
 * Bruijn multiply maps each of the 32 powers of two to a distinct top 5 bits.
 */
static uint32_t lowest_bit(uint32_t x)
{
	static const uint8_t pos[32] = {
		0, 1, 28, 2, 29, 14, 24, 3, 30, 22, 20, 15, 25, 17, 4, 8,
		31, 27, 13, 23, 21, 19, 16, 7, 26, 12, 18, 6, 11, 5, 10, 9,
	};
	return pos[((x & -x) * 0x077CB531u) >> 27];
}

/* Best fit: the first non-empty exact list from npages up (a bitmap scan), else the treap. */
static struct mm_span *free_find(uintptr_t npages)
{
	for (uintptr_t w = npages >> 5; w < MM_HEAP_LISTS / 32; w++) {
		uint32_t bits = mm_heap.nonempty[w];
		if (w == npages >> 5)
			bits &= ~0u << (npages & 31);
		if (bits)
			return mm_heap.free[w * 32 + lowest_bit(bits)].next;
	}
	return treap_best_fit(mm_heap.large, npages);
}

static void kept_remove(struct mm_span *s);

/* Merge free or kept neighbour t into s (t's pages are next to s's). */
static void absorb(struct mm_span *s, struct mm_span *t)
{
	if (t->state == MM_SPAN_KEPT)
		kept_remove(t); /* idle and backed already: npreleased 0 */
	else
		free_remove(t);
	if (t->start < s->start)
		s->start = t->start;
	s->npages += t->npages;
	s->npreleased += t->npreleased;
	if (t->unused_since > s->unused_since)
		s->unused_since = t->unused_since;
	s->needzero |= t->needzero;
	mm_heap_span_free(t);
}

/*
 * Put s (not in any structure, its pages counted idle) on the free
 * structure, coalesced with free (or kept) neighbours on both sides.
 */
static void insert_free(struct mm_span *s)
{
	struct mm_span *t;

	s->state = MM_SPAN_FREE;
	s->sizeclass = 0;
	s->freelist = 0;
	/* a loop: beyond a kept neighbour there may be a free span (kept spans are not coalesced) */
	while ((t = mm_pagemap_get(s->start - 1)) != 0 &&
	       (t->state == MM_SPAN_FREE || t->state == MM_SPAN_KEPT) && t->start + t->npages == s->start)
		absorb(s, t);
	while ((t = mm_pagemap_get(s->start + s->npages)) != 0 &&
	       (t->state == MM_SPAN_FREE || t->state == MM_SPAN_KEPT) && t->start == s->start + s->npages)
		absorb(s, t);
	mm_pagemap_set(s->start, 1, s);
	mm_pagemap_set(s->start + s->npages - 1, 1, s);
	free_insert(s);
}

/*
 * A span coalesced from released and unreleased parts does not know where
 * its released pages are, so before it is cut it is made uniform: its
 * still-backed pages are released too (it is free and idle anyway).  Then
 * every part is either wholly released or not at all, and the accounting
 * stays exact.
 */
static void make_uniform(struct mm_span *s)
{
	if (s->npreleased == 0 || s->npreleased == s->npages)
		return;
	int zeroes = mm_sys_unused((void *)mm_span_base(s), s->npages << MM_PAGE_SHIFT);
	mm_heap.pages_released += s->npages - s->npreleased;
	s->npreleased = s->npages;
	s->needzero = !zeroes;
}

/* The page counts move with a span between in use and idle (free). */
static void pages_to_inuse(uintptr_t n)
{
	mm_heap.pages_idle -= n;
	mm_heap.pages_inuse += n;
}

static void pages_to_idle(uintptr_t n)
{
	mm_heap.pages_inuse -= n;
	mm_heap.pages_idle += n;
}

/*
 * Cut s (taken off the free structure) to npages pages and return the rest
 * as a new record, not yet inserted anywhere; NULL if no record could be had
 * (s is then left whole).  Both parts come out uniform (make_uniform).
 */
static struct mm_span *carve(struct mm_span *s, uintptr_t npages)
{
	struct mm_span *t = mm_heap_span_alloc();
	if (!t)
		return 0;
	make_uniform(s);
	t->start = s->start + npages;
	t->npages = s->npages - npages;
	t->unused_since = s->unused_since;
	t->needzero = s->needzero;
	t->npreleased = s->npreleased ? t->npages : 0;
	s->npreleased = s->npreleased ? npages : 0;
	s->npages = npages;
	t->state = MM_SPAN_LARGE; /* not free until inserted */
	return t;
}

/* Back s's released pages with memory again; -1 if the system has none. */
static int reuse(struct mm_span *s)
{
	if (s->npreleased == 0)
		return 0;
	if (mm_sys_map((void *)mm_span_base(s), s->npages << MM_PAGE_SHIFT) < 0)
		return -1;
	mm_heap.pages_released -= s->npreleased;
	s->npreleased = 0;
	return 0;
}

/*
 * The end of a region the arena left behind becomes a free span, released
 * (never mapped): reuse() maps it when it is used, so nothing reserved is lost.
 */
static void adopt_tail(void)
{
	uintptr_t base, n = mm_arena_tail(&base);
	if (!n)
		return;
	struct mm_span *s = mm_heap_span_alloc();
	if (!s)
		return;
	if (mm_pagemap_ensure(base >> MM_PAGE_SHIFT, n) < 0) {
		mm_heap_span_free(s);
		return;
	}
	mm_arena_tail_taken();
	s->start = base >> MM_PAGE_SHIFT;
	s->npages = n;
	s->npreleased = n; /* counted as mapped, then released */
	s->needzero = (uint8_t)mm_memory_dirty;
	s->unused_since = mm_sys_nanotime();
	mm_heap.sys += (uint64_t)n << MM_PAGE_SHIFT;
	mm_heap.pages_sys += n;
	mm_heap.pages_idle += n;
	mm_heap.pages_released += n;
	insert_free(s);
}

/* Add freshly mapped pages to the heap. */
static int grow(uintptr_t npages)
{
	uintptr_t got;
	struct mm_span *s = mm_heap_span_alloc();
	if (!s) {
		mm_heap.error = "mm: out of memory for the allocator's records";
		return -1;
	}
	char *v = mm_arena_grow(npages, &got);
	if (!v) {
		mm_heap_span_free(s);
		return -1;
	}
	uintptr_t pn = (uintptr_t)v >> MM_PAGE_SHIFT;
	if (mm_pagemap_ensure(pn, got) < 0) {
		mm_heap_span_free(s);
		mm_arena_ungrow(v, got);
		mm_heap.error = "mm: out of memory for the allocator's records";
		return -1;
	}
	s->start = pn;
	s->npages = got;
	s->needzero = (uint8_t)mm_memory_dirty; /* fresh pages are zero unless the host says not */
	s->unused_since = mm_sys_nanotime();
	mm_heap.pages_sys += got;
	mm_heap.pages_idle += got;
	insert_free(s);
	adopt_tail();
	return 0;
}

/*
 * Take npages pages aligned to align_pages (a power of two, >= 1) off the
 * free structure, growing the arena if nothing fits; with `warm`, only
 * from pages handed out before and still backed (else NULL: no growth, no
 * fresh or released pages).  Heap locked.
 */
static struct mm_span *alloc_locked(uintptr_t npages, uintptr_t align_pages, int warm)
{
	uintptr_t want = npages + align_pages - 1;
	if (want < npages)
		return 0;
	struct mm_span *s = free_find(want), *t;
	/* kept spans go back (coalesced) before pages never used or released are touched */
	if ((!s || s->npreleased || s->start + want > mm_heap.touched) && mm_heap_flush_kept())
		s = free_find(want);
	if (warm && (!s || s->npreleased || s->start + want > mm_heap.touched))
		return 0;
	if (!s) {
		if (grow(want) < 0)
			return 0;
		if (!(s = free_find(want)))
			return 0;
	}
	free_remove(s);
	s->state = MM_SPAN_LARGE; /* not free: keeps the parts below from merging back */

	uintptr_t front = ((s->start + align_pages - 1) & ~(align_pages - 1)) - s->start;
	if (front) {
		if (!(t = carve(s, front))) {
			insert_free(s);
			return 0;
		}
		insert_free(s);
		s = t;
	}
	if (s->npages > npages) {
		if (!(t = carve(s, npages))) { /* no record for the rest: out of memory */
			insert_free(s);
			return 0;
		}
		insert_free(t);
	}
	if (reuse(s) < 0) {
		insert_free(s);
		return 0;
	}
	pages_to_inuse(s->npages);
	s->unused_since = 0;
	if (s->start + s->npages > mm_heap.touched)
		mm_heap.touched = s->start + s->npages;
	return s;
}

/* ---- kept spans (above) ---- */

/* Take kept span s off its list and the age list. */
static void kept_remove(struct mm_span *s)
{
	mm_span_list_remove(s);
	if (s->left)
		s->left->right = s->right;
	else
		mm_heap.kept_oldest = s->right;
	if (s->right)
		s->right->left = s->left;
	else
		mm_heap.kept_newest = s->left;
	s->left = s->right = 0;
	mm_heap.pages_kept -= s->npages;
}

/* Keep s (a large span just freed, its pages counted idle): newest on both lists. */
static void kept_insert(struct mm_span *s)
{
	s->state = MM_SPAN_KEPT;
	mm_span_list_insert(&mm_heap.kept[s->npages], s);
	s->left = mm_heap.kept_newest;
	s->right = 0;
	if (s->left)
		s->left->right = s;
	else
		mm_heap.kept_oldest = s;
	mm_heap.kept_newest = s;
	mm_heap.pages_kept += s->npages;
}

/* A kept span of exactly npages pages, taken back in use, or NULL. */
static struct mm_span *kept_take(uintptr_t npages)
{
	if (npages > MM_KEEP_PAGES || mm_span_list_empty(&mm_heap.kept[npages]))
		return 0;
	struct mm_span *s = mm_heap.kept[npages].next;
	kept_remove(s);
	pages_to_inuse(npages);
	return s;
}

/* A kept span (its pages idle, backed) joins the free structure, coalesced. */
static void kept_free(struct mm_span *s, uint64_t now)
{
	kept_remove(s);
	s->npreleased = 0;
	s->unused_since = now;
	insert_free(s);
}

uintptr_t mm_heap_flush_kept(void)
{
	uintptr_t n = mm_heap.pages_kept;
	if (n) {
		uint64_t now = mm_sys_nanotime();
		while (mm_heap.kept_oldest)
			kept_free(mm_heap.kept_oldest, now);
	}
	return n;
}

/*
 * A span of npages pages for class cl (0: a large object), its pages mapped
 * to it in the pagemap; NULL when memory runs out.  A large object of a
 * page count that is kept (no alignment asked) reuses the newest such span,
 * mapped already.
 */
static struct mm_span *heap_alloc(uintptr_t npages, uint32_t cl, uintptr_t align_pages, int warm)
{
	mm_sys_lock(&mm_heap.lock);
	struct mm_span *s;
	if (!cl && align_pages <= 1 && (s = kept_take(npages)) != 0) {
		s->state = MM_SPAN_LARGE;
		mm_span_list_insert(&mm_heap.busy, s);
		mm_heap.large_nmalloc++;
		mm_sys_unlock(&mm_heap.lock);
		return s;
	}
	s = alloc_locked(npages, align_pages ? align_pages : 1, warm);
	if (s) {
		s->sizeclass = (uint8_t)cl;
		s->state = cl ? MM_SPAN_SMALL : MM_SPAN_LARGE;
		mm_pagemap_set(s->start, s->npages, s);
		if (cl && !mm_class_guarded(cl)) /* guarded: free's slow path checks them */
			mm_classmap_set(s, cl);
		if (!cl) {
			mm_span_list_insert(&mm_heap.busy, s);
			mm_heap.large_nmalloc++;
		}
	}
	mm_sys_unlock(&mm_heap.lock);
	return s;
}

struct mm_span *mm_heap_alloc(uintptr_t npages, uint32_t cl, uintptr_t align_pages)
{
	return heap_alloc(npages, cl, align_pages, 0);
}

/* A large span of npages from pages the heap has handed out before and still backs, or NULL. */
struct mm_span *mm_heap_alloc_warm(uintptr_t npages)
{
	return heap_alloc(npages, 0, 1, 1);
}

/* Give span s (small or large, in use) back to the heap.  Heap locked. */
void mm_heap_free_locked(struct mm_span *s)
{
	if (s->state == MM_SPAN_SMALL)
		mm_classmap_set(s, 0);
	if (s->state == MM_SPAN_LARGE) {
		mm_span_list_remove(s);
		mm_heap.large_nfree++;
	}
	uint64_t now = mm_sys_nanotime();
	pages_to_idle(s->npages);
	s->needzero = 1;
	s->npreleased = 0;
	s->unused_since = now;
	insert_free(s);
	mm_scavenge_policy_locked(now);
}

/* A neighbour of s free or kept?  Then s coalesces now (kept ones too), as it would have without keeping. */
int mm_heap_idle_beside(const struct mm_span *s)
{
	struct mm_span *l = mm_pagemap_get(s->start - 1), *r = mm_pagemap_get(s->start + s->npages);
	return (l && (l->state == MM_SPAN_FREE || l->state == MM_SPAN_KEPT) && l->start + l->npages == s->start) ||
	       (r && (r->state == MM_SPAN_FREE || r->state == MM_SPAN_KEPT) && r->start == s->start + s->npages);
}

/*
 * Give s back; a large span of up to MM_KEEP_PAGES pages is kept whole (the
 * oldest kept go to the free structure past MM_KEEP_BYTES).
 */
static void free_or_keep(struct mm_span *s)
{
	if (s->state == MM_SPAN_LARGE && s->npages <= MM_KEEP_PAGES &&
	    s->npages <= MM_KEEP_BYTES >> MM_PAGE_SHIFT && !mm_heap_idle_beside(s)) {
		mm_span_list_remove(s);
		mm_heap.large_nfree++;
		pages_to_idle(s->npages);
		s->needzero = 1;
		kept_insert(s);
		if (mm_heap.pages_kept > MM_KEEP_BYTES >> MM_PAGE_SHIFT || mm_scavenge_over_bound()) {
			uint64_t now = mm_sys_nanotime();
			while (mm_heap.pages_kept > MM_KEEP_BYTES >> MM_PAGE_SHIFT)
				kept_free(mm_heap.kept_oldest, now);
			mm_scavenge_policy_locked(now);
		}
	} else {
		mm_heap_free_locked(s);
	}
}

void mm_heap_free(struct mm_span *s)
{
	mm_sys_lock(&mm_heap.lock);
	free_or_keep(s);
	mm_sys_unlock(&mm_heap.lock);
}

/*
 * Large spans a cache held (MM_SPAN_CACHED, linked by `left`) come back
 * under one lock, as frees.  With `nmalloc` (a flush), the requests they
 * served in the cache are folded in as allocations and frees of the
 * heap's, and the cache's count zeroed under the same lock (stats.c).
 */
void mm_heap_free_held(struct mm_span *s, uint64_t *nmalloc)
{
	mm_sys_lock(&mm_heap.lock);
	if (nmalloc) {
		mm_heap.large_nmalloc += *nmalloc;
		mm_heap.large_nfree += *nmalloc;
		*nmalloc = 0;
	}
	for (struct mm_span *next; s; s = next) {
		next = s->left;
		s->left = 0;
		s->state = MM_SPAN_LARGE;
		free_or_keep(s);
	}
	mm_sys_unlock(&mm_heap.lock);
}

/*
 * Resize large span s in place to npages: shrinking gives the tail back,
 * growing takes a free right neighbour.  0 on success, -1 if it cannot.
 */
int mm_heap_resize(struct mm_span *s, uintptr_t npages)
{
	int ok = -1;
	mm_sys_lock(&mm_heap.lock);
	if (npages == s->npages) {
		ok = 0;
	} else if (npages < s->npages) {
		struct mm_span *t = carve(s, npages);
		if (t) {
			pages_to_idle(t->npages);
			t->needzero = 1;
			t->unused_since = mm_sys_nanotime();
			insert_free(t);
			ok = 0;
		}
	} else {
		uintptr_t end = s->start + s->npages, need = npages - s->npages;
		struct mm_span *t = mm_pagemap_get(end), *rest;
		if (t && t->state == MM_SPAN_KEPT && t->start == end) { /* free it, coalesced */
			kept_free(t, mm_sys_nanotime());
			t = mm_pagemap_get(end);
		}
		if (t && t->state == MM_SPAN_FREE && t->start == end && t->npages >= need) {
			free_remove(t);
			t->state = MM_SPAN_LARGE;
			if (t->npages > need && (rest = carve(t, need)))
				insert_free(rest);
			if (reuse(t) < 0) {
				insert_free(t);
			} else {
				pages_to_inuse(t->npages);
				s->npages += t->npages;
				s->needzero |= t->needzero;
				mm_pagemap_set(t->start, t->npages, s);
				mm_heap_span_free(t);
				ok = 0;
			}
		}
	}
	mm_sys_unlock(&mm_heap.lock);
	return ok;
}

/*
 * Memory for the allocator's own records when the host gives no more (a
 * fixed pool): the front npages of a free span leave the heap.  The rest
 * keeps the span's record, so no record is needed for the split.  Heap locked.
 */
void *mm_heap_alloc_records(uintptr_t npages)
{
	struct mm_span *s = free_find(npages);
	if (!s && mm_heap_flush_kept())
		s = free_find(npages);
	if (!s)
		return 0;
	free_remove(s);
	s->state = MM_SPAN_LARGE; /* not free while it is cut */
	make_uniform(s);
	void *v = (void *)mm_span_base(s);
	if (s->npreleased) {
		if (mm_sys_map(v, npages << MM_PAGE_SHIFT) < 0) {
			insert_free(s);
			return 0;
		}
		s->npreleased -= npages;
		mm_heap.pages_released -= npages;
	}
	if (s->needzero)
		mm_memset(v, 0, npages << MM_PAGE_SHIFT); /* records start zeroed */
	mm_pagemap_set(s->start, npages, 0);          /* no longer the heap's pages */
	mm_heap.pages_idle -= npages;
	mm_heap.pages_sys -= npages;
	s->start += npages;
	s->npages -= npages;
	if (s->npages)
		insert_free(s);
	else
		mm_heap_span_free(s);
	return v;
}

/*
 * The treap in order (smallest first, or largest first with `desc`), without
 * recursion: the stack of spans whose first subtree is being walked is
 * linked through their `next` field, which a span in the treap does not
 * otherwise use (it is on no list).  Stops when fn returns nonzero; fn may
 * not change the structure.  Heap locked.
 */
void mm_heap_walk_large(int desc, int (*fn)(struct mm_span *, void *), void *arg)
{
	struct mm_span *t = mm_heap.large, *up = 0;
	int stop = 0;
	while ((t || up) && !stop) {
		for (; t; t = desc ? t->right : t->left) {
			t->next = up;
			up = t;
		}
		t = up;
		up = t->next;
		t->next = 0;
		stop = fn(t, arg);
		t = desc ? t->left : t->right;
	}
	for (; up; up = t) { /* stopped early: unlink what is left on the stack */
		t = up->next;
		up->next = 0;
	}
}

struct walk {
	void (*fn)(struct mm_span *, void *);
	void *arg;
};

static int walk_one(struct mm_span *s, void *w)
{
	((struct walk *)w)->fn(s, ((struct walk *)w)->arg);
	return 0;
}

/* Call fn on every free span, lists first, then the treap in order.  Heap locked. */
void mm_heap_walk_free(void (*fn)(struct mm_span *, void *), void *arg)
{
	for (int i = 1; i < MM_HEAP_LISTS; i++)
		for (struct mm_span *s = mm_span_list_first(&mm_heap.free[i]), *n; s != &mm_heap.free[i]; s = n) {
			n = s->next;
			fn(s, arg);
		}
	struct walk w = { fn, arg };
	mm_heap_walk_large(0, walk_one, &w);
}
