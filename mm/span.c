/*
 * span.c - spans: runs of pages.  Doubly linked circular lists with a
 * sentinel (the heap's free lists, central's lists, the heap's busy list),
 * and making a span one of objects of a size class.  A sentinel that is all
 * zero (never initialised) is an empty list, set up by its first insert: the
 * core's static tables of list heads (central's, the heap's) stay untouched,
 * and cost no resident page, until a list is used.
 */
#include "internal.h"

void mm_span_list_init(struct mm_span *head)
{
	head->next = head;
	head->prev = head;
}

void mm_span_list_insert(struct mm_span *head, struct mm_span *s)
{
	if (mm_unlikely(!head->next))
		mm_span_list_init(head);
	s->next = head->next;
	s->prev = head;
	head->next->prev = s;
	head->next = s;
}

void mm_span_list_insert_back(struct mm_span *head, struct mm_span *s)
{
	if (mm_unlikely(!head->next))
		mm_span_list_init(head);
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

/*
 * Make s a span of class cl.  Objects are carved lazily (central.c hands
 * out objects past ncarved before they were ever on a free list), so a new
 * span costs no walk over its memory and its untouched pages stay untouched.
 */
void mm_span_init_small(struct mm_span *s, uint32_t cl)
{
	uint32_t size = mm_class_size[cl];

	s->state = MM_SPAN_SMALL;
	s->sizeclass = (uint8_t)cl;
	s->elemsize = size;
	s->divmul = mm_class_divmul[cl];
	s->nelems = (uint32_t)((s->npages << MM_PAGE_SHIFT) / size);
	s->ref = 0;
	s->ncarved = 0;
	s->freelist = 0;
#ifdef MM_DEBUG
	mm_memset(s->allocbits, 0, sizeof s->allocbits);
#endif
}
