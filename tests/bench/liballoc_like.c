/*
 * liballoc_like.c - `make bench`'s liballoc-like baseline as an LD_PRELOAD
 * library: the C library's allocation functions on top of the one copy of
 * the algorithm (tests/lib/liballoc_like.c, described in its header),
 * whose pages come from mmap and whose lock is a mutex.  It is deliberately
 * simple, not tuned: it shows what the page-hook allocator kernels start
 * from costs compared with libmm.  A pointer it does not know is ignored.
 */
/* Built with -fno-builtin-malloc: GCC would turn malloc+memset in calloc
 * into a call to calloc, that is, into endless recursion. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "liballoc_like.h"

#define PUBLIC __attribute__((visibility("default")))

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void la_host_lock(void) { pthread_mutex_lock(&lock); }
void la_host_unlock(void) { pthread_mutex_unlock(&lock); }
int la_host_owns(const void *p) { return p != NULL; }

void la_host_bad_pointer(const char *who, const void *p, const char *why)
{
	(void)who, (void)p, (void)why;
}

void *la_host_pages(size_t n)
{
	void *v = mmap(NULL, n * LA_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return v == MAP_FAILED ? NULL : v;
}

void la_host_unpages(void *p, size_t n)
{
	munmap(p, n * LA_PAGE);
}

static void *nomem(void *p)
{
	if (p == NULL)
		errno = ENOMEM;
	return p;
}

PUBLIC void *malloc(size_t n) { return nomem(la_malloc(n)); }
PUBLIC void free(void *p) { la_free(p); }
PUBLIC size_t malloc_usable_size(void *p) { return la_usable_size(p); }

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
	if (p && n == 0) {
		la_free(p);
		return NULL;
	}
	return nomem(la_realloc(p, n));
}

PUBLIC void *memalign(size_t align, size_t n)
{
	if (align & (align - 1)) {
		errno = EINVAL;
		return NULL;
	}
	return nomem(la_memalign(align, n));
}

PUBLIC void *aligned_alloc(size_t align, size_t n) { return memalign(align, n); }

PUBLIC int posix_memalign(void **out, size_t align, size_t n)
{
	if (align & (align - 1) || align % sizeof(void *))
		return EINVAL;
	void *p = la_memalign(align, n);
	if (p == NULL)
		return ENOMEM;
	*out = p;
	return 0;
}

PUBLIC void *valloc(size_t n) { return memalign(LA_PAGE, n); }

PUBLIC void *pvalloc(size_t n) { return memalign(LA_PAGE, (n + LA_PAGE - 1) / LA_PAGE * LA_PAGE); }
