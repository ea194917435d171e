/*
 * fixalloc.c - a free-list allocator for the allocator's own fixed-size
 * records (spans, pagemap nodes, caches).  Records are carved from chunks
 * obtained from the Sys layer (mm_arena_records) or, when the host has no more
 * (a fixed pool), from the heap's free pages, and recycled through a free
 * list; they are never given back.  Callers hold the heap lock.
 */
#include "internal.h"

void mm_fixalloc_init(struct mm_fixalloc *f, size_t size)
{
	size_t min = 64 * 1024;
	f->recsize = (size + sizeof(void *) - 1) & ~(sizeof(void *) - 1);
	f->chunk = 4 * f->recsize > min ? 4 * f->recsize : min;
	f->chunk = (f->chunk + MM_PAGE_SIZE - 1) & ~(MM_PAGE_SIZE - 1);
	f->list = 0;
	f->next = 0;
	f->left = 0;
	f->inuse = 0;
}

/* A zeroed record, or NULL when the system has no memory left. */
void *mm_fixalloc_alloc(struct mm_fixalloc *f)
{
	void *p = f->list;
	if (p) {
		f->list = *(void **)p;
		mm_memset(p, 0, f->recsize);
	} else {
		if (f->left < f->recsize) {
			char *c = mm_arena_records(f->chunk);
			if (!c) /* the host has none: from the heap's free pages */
				c = mm_heap_alloc_records(f->chunk >> MM_PAGE_SHIFT);
			if (!c)
				return 0;
			f->next = c;
			f->left = f->chunk;
		}
		p = f->next; /* fresh from mm_sys_map: already zero */
		f->next += f->recsize;
		f->left -= f->recsize;
	}
	f->inuse++;
	return p;
}

void mm_fixalloc_free(struct mm_fixalloc *f, void *p)
{
	*(void **)p = f->list;
	f->list = p;
	f->inuse--;
}
