/*
 * liballoc_like.c - a baseline for `make bench`: the kind of allocator hobby
 * kernels usually start from, written here from its description (first fit
 * over big "major" blocks from the page hook, each holding an address-ordered
 * linked list of "minor" blocks; linear searches; one global lock).  Built as
 * an LD_PRELOAD library.  It is deliberately simple, not tuned: it shows what
 * the page-hook allocator costs compared with libmm.
 *
 * A major block is MAJOR_PAGES pages (more for a big request) from mmap.
 * A minor block is a header followed by the caller's bytes; a request is
 * placed in the first gap, in address order, between a major's minors where
 * it fits.  The search starts at the major that last had the most free
 * space ("best bet") and then walks every major.  A major whose last minor
 * is freed goes back to the system, unless it is the only one.
 */
/* Built with -fno-builtin-malloc: GCC would turn malloc+memset in calloc
 * into a call to calloc, that is, into endless recursion. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define PUBLIC __attribute__((visibility("default")))
#define MAJOR_PAGES 16
#define PAGE 4096
#define MAGIC 0x6c6c614du /* "Mall" */
#define ALIGN 16

struct minor;

struct major {
	struct major *prev, *next;
	size_t size;         /* bytes of the block, this header included */
	size_t used;         /* bytes taken by minors, headers included */
	struct minor *first; /* minors in address order */
};

struct minor {
	struct minor *prev, *next;
	struct major *block;
	size_t size;   /* the caller's bytes */
	uint32_t magic;
};

#define HDR ((sizeof(struct minor) + ALIGN - 1) & ~(size_t)(ALIGN - 1))
#define MAJHDR ((sizeof(struct major) + ALIGN - 1) & ~(size_t)(ALIGN - 1))

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct major *majors;   /* list of all majors */
static struct major *best_bet; /* the major with the most free space we know of */

static uintptr_t up(uintptr_t v, size_t a)
{
	return (v + a - 1) & ~(uintptr_t)(a - 1);
}

static char *user(struct minor *m)
{
	return (char *)m + HDR;
}

static uintptr_t data_start(struct major *j)
{
	return (uintptr_t)j + MAJHDR;
}

static struct major *new_major(size_t n, size_t align)
{
	size_t want = up(MAJHDR + HDR + align + n, PAGE);
	if (want < (size_t)MAJOR_PAGES * PAGE)
		want = (size_t)MAJOR_PAGES * PAGE;
	void *v = mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v == MAP_FAILED)
		return NULL;
	struct major *j = v;
	j->size = want;
	j->used = MAJHDR;
	j->first = NULL;
	j->prev = NULL;
	j->next = majors; /* newest first: it has the most room */
	if (majors)
		majors->prev = j;
	majors = j;
	return j;
}

/* Place a minor of n bytes aligned to align in j, first fit; NULL if none fits. */
static void *place(struct major *j, size_t n, size_t align)
{
	uintptr_t gap = data_start(j), end = (uintptr_t)j + j->size;
	struct minor *before = NULL, *m = j->first;
	for (;;) {
		uintptr_t gap_end = m ? (uintptr_t)m : end;
		uintptr_t u = up(gap + HDR, align);
		if (u + n <= gap_end) {
			struct minor *nm = (struct minor *)(u - HDR);
			nm->prev = before;
			nm->next = m;
			nm->block = j;
			nm->size = n;
			nm->magic = MAGIC;
			if (before)
				before->next = nm;
			else
				j->first = nm;
			if (m)
				m->prev = nm;
			j->used += n + HDR;
			return (void *)u;
		}
		if (m == NULL)
			return NULL;
		gap = (uintptr_t)user(m) + m->size;
		before = m;
		m = m->next;
	}
}

static void *alloc(size_t n, size_t align)
{
	if (n == 0)
		n = 1;
	if (n > SIZE_MAX / 2) {
		errno = ENOMEM;
		return NULL;
	}
	n = up(n, ALIGN);
	void *p = NULL;
	pthread_mutex_lock(&lock);
	if (best_bet && best_bet->size - best_bet->used >= n + HDR)
		p = place(best_bet, n, align);
	for (struct major *j = majors; p == NULL && j; j = j->next) {
		if (j->size - j->used >= n + HDR)
			p = place(j, n, align);
		if (best_bet == NULL || j->size - j->used > best_bet->size - best_bet->used)
			best_bet = j;
	}
	if (p == NULL) {
		struct major *j = new_major(n, align);
		if (j) {
			p = place(j, n, align);
			best_bet = j;
		}
	}
	pthread_mutex_unlock(&lock);
	if (p == NULL)
		errno = ENOMEM;
	return p;
}

static struct minor *minor_of(void *p)
{
	struct minor *m = (struct minor *)((char *)p - HDR);
	return m->magic == MAGIC ? m : NULL;
}

PUBLIC void *malloc(size_t n)
{
	return alloc(n, ALIGN);
}

PUBLIC void free(void *p)
{
	if (p == NULL)
		return;
	struct minor *m = minor_of(p);
	if (m == NULL)
		return;
	pthread_mutex_lock(&lock);
	struct major *j = m->block;
	m->magic = 0;
	if (m->prev)
		m->prev->next = m->next;
	else
		j->first = m->next;
	if (m->next)
		m->next->prev = m->prev;
	j->used -= m->size + HDR;
	if (j->first == NULL && (j->prev || j->next)) {
		if (j->prev)
			j->prev->next = j->next;
		else
			majors = j->next;
		if (j->next)
			j->next->prev = j->prev;
		if (best_bet == j)
			best_bet = NULL;
		munmap(j, j->size);
	} else if (best_bet == NULL || j->size - j->used > best_bet->size - best_bet->used) {
		best_bet = j;
	}
	pthread_mutex_unlock(&lock);
}

PUBLIC void *calloc(size_t c, size_t n)
{
	size_t t;
	if (__builtin_mul_overflow(c, n, &t)) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = malloc(t);
	if (p)
		memset(p, 0, t);
	return p;
}

PUBLIC void *realloc(void *p, size_t n)
{
	if (p == NULL)
		return malloc(n);
	if (n == 0) {
		free(p);
		return NULL;
	}
	struct minor *m = minor_of(p);
	if (m == NULL)
		return NULL;
	size_t want = up(n, ALIGN);
	pthread_mutex_lock(&lock);
	/* grow or shrink in place when the gap after the block allows */
	uintptr_t limit = m->next ? (uintptr_t)m->next : (uintptr_t)m->block + m->block->size;
	if ((uintptr_t)p + want <= limit) {
		m->block->used = m->block->used - m->size + want;
		m->size = want;
		pthread_mutex_unlock(&lock);
		return p;
	}
	size_t old = m->size;
	pthread_mutex_unlock(&lock);
	void *q = malloc(n);
	if (q == NULL)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	free(p);
	return q;
}

PUBLIC void *memalign(size_t align, size_t n)
{
	if (align < ALIGN)
		align = ALIGN;
	if (align & (align - 1)) {
		errno = EINVAL;
		return NULL;
	}
	return alloc(n, align);
}

PUBLIC void *aligned_alloc(size_t align, size_t n)
{
	return memalign(align, n);
}

PUBLIC int posix_memalign(void **out, size_t align, size_t n)
{
	if (align & (align - 1) || align % sizeof(void *))
		return EINVAL;
	void *p = memalign(align, n);
	if (p == NULL)
		return ENOMEM;
	*out = p;
	return 0;
}

PUBLIC void *valloc(size_t n)
{
	return memalign(PAGE, n);
}

PUBLIC void *pvalloc(size_t n)
{
	return memalign(PAGE, up(n ? n : 1, PAGE));
}

PUBLIC size_t malloc_usable_size(void *p)
{
	struct minor *m = p ? minor_of(p) : NULL;
	return m ? m->size : 0;
}
