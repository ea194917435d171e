/*
 * liballoc_like.h - the liballoc-style baseline that libmm is measured
 * against, one copy for both places it runs: our kernel's `bench`
 * (kernel/la_host.c gives it frames in a VA window and a spinlock) and
 * `make bench`'s LD_PRELOAD library (tests/bench/liballoc_like.c gives it
 * mmap and a mutex).  Written from liballoc's description, no liballoc code.
 *
 * Memory comes in "major" blocks of at least LA_MAJOR_PAGES pages from the
 * host's page hook.  A major holds a doubly linked, address-ordered list of
 * "minor" blocks: a header, then the caller's bytes.  la_malloc starts at
 * the "best bet" (the major last seen with the most free room) or at the
 * first major, walks the majors in list order and, in each with enough room
 * in total, walks its minors for the first gap that fits; when it runs off
 * the end it starts over at the first major once (if it started at the
 * bet), then appends a new major.  la_free unlinks the minor; a major left
 * empty goes back to the host unless it is the only one.  First fit,
 * linear searches, one global lock.
 */
#ifndef TLIB_LIBALLOC_LIKE_H
#define TLIB_LIBALLOC_LIKE_H

#include <stddef.h>
#include <stdint.h>

#define LA_MAJOR_PAGES 16 /* 64 KiB: the smallest major */
#define LA_PAGE 4096
#define LA_ALIGN 16

struct la_stats {
	size_t majors, pages;  /* major blocks and the pages they hold */
	size_t objects, bytes; /* live minors and their (rounded) bytes */
	uint64_t nmalloc, nfree;
};

void *la_malloc(size_t n);
void *la_memalign(size_t align, size_t n); /* align: a power of two */
void *la_realloc(void *p, size_t n);       /* in place when the gap after p allows */
void la_free(void *p);
size_t la_usable_size(void *p);
void la_read_stats(struct la_stats *st);
const char *la_check(void); /* NULL if every list and count is consistent */

/* What the host provides. */
void *la_host_pages(size_t npages);              /* page aligned, not zeroed; NULL if none */
void la_host_unpages(void *p, size_t npages);
void la_host_lock(void);
void la_host_unlock(void);
int la_host_owns(const void *p);                 /* could p be ours (cheap range check) */
void la_host_bad_pointer(const char *who, const void *p, const char *why); /* may return: then ignored */

#endif
