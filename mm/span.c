/*
 * span.c - spans: runs of pages.  Doubly linked circular lists with a
 * sentinel (the heap's free lists, central's lists, the heap's busy list),
 * and cutting a span into objects of one size class.
 */
#include "malloc.h"

void mm_span_list_init(struct mm_span *head)
{
	head->next = head;
	head->prev = head;
}

void mm_span_list_insert(struct mm_span *head, struct mm_span *s)
{
	s->next = head->next;
	s->prev = head;
	head->next->prev = s;
	head->next = s;
}

void mm_span_list_insert_back(struct mm_span *head, struct mm_span *s)
{
	s->prev = head->prev;
	s->next = head;
	head->prev->next = s;
	head->prev = s;
}

void mm_span_list_remove(struct mm_span *s)
{
	s->prev->next = s->next;
	s->next->prev = s->prev;
	s->next = 0;
	s->prev = 0;
}

/* Make s a span of class cl and thread all its objects on its free list. */
void mm_span_init_small(struct mm_span *s, uint32_t cl)
{
	uint32_t size = mm_class_size[cl];
	uint32_t n = (uint32_t)((s->npages << MM_PAGE_SHIFT) / size);
	char *base = (char *)mm_span_base(s);

	s->state = MM_SPAN_SMALL;
	s->sizeclass = (uint8_t)cl;
	s->elemsize = size;
	s->divmul = mm_class_divmul[cl];
	s->nelems = n;
	s->ref = 0;
	for (uint32_t i = 0; i + 1 < n; i++)
		*(void **)(base + i * size) = base + (i + 1) * size;
	*(void **)(base + (n - 1) * size) = 0;
	s->freelist = base;
#ifdef MM_DEBUG
	mm_memset(s->allocbits, 0, sizeof s->allocbits);
#endif
}
