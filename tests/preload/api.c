/*
 * api.c - checks of the malloc interface libmm-malloc.so exports, run only
 * under LD_PRELOAD (`make test-preload`): that the names resolve to libmm,
 * the errno rules, overflow checks, glibc's realloc(p, 0), alignment calls,
 * usable sizes, foreign pointers, and glibc's tuning calls.  Prints one line
 * per failed check and "api: N checks, N failed"; exits 1 on a failure.
 *
 *   api            all checks
 *   api badfree    free an interior pointer of a live large object (must abort)
 *   api badsmall   the same for a small object (debug builds must abort)
 *   api wildfree   free a pointer inside the arena that is no object (must abort)
 *   api free-stack, free-global, free-mmap, realloc-stack: a pointer libmm never
 *                  handed out (must abort, naming the address and the reason)
 *   api free-ldso  free a block in ld.so's minimal-malloc area (must be ignored)
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

static int checks, failed;

#define CHECK(cond)                                                        \
	do {                                                               \
		checks++;                                                  \
		if (!(cond)) {                                             \
			failed++;                                          \
			printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		}                                                          \
	} while (0)

/* Calls through volatile pointers: the compiler may not reason about them. */
static void *(*volatile do_malloc)(size_t) = malloc;
static void (*volatile do_free)(void *) = free;
static void *(*volatile do_calloc)(size_t, size_t) = calloc;
static void *(*volatile do_realloc)(void *, size_t) = realloc;
static void *(*volatile do_reallocarray)(void *, size_t, size_t) = reallocarray;
static void *(*volatile do_aligned_alloc)(size_t, size_t) = aligned_alloc;
static void *(*volatile do_memalign)(size_t, size_t) = memalign;

static int from_libmm(const char *name)
{
	void *f = dlsym(RTLD_DEFAULT, name);
	Dl_info di;
	if (f == NULL || dladdr(f, &di) == 0 || di.dli_fname == NULL)
		return 0;
	return strstr(di.dli_fname, "libmm-malloc") != NULL;
}

static void resolution(void)
{
	static const char *names[] = {
		"malloc", "free", "calloc", "realloc", "reallocarray", "posix_memalign",
		"aligned_alloc", "memalign", "valloc", "pvalloc", "malloc_usable_size", "cfree",
		"__libc_malloc", "__libc_free", "__libc_calloc", "__libc_realloc", "__libc_memalign",
		"mallopt", "mallinfo", "mallinfo2", "malloc_stats", "malloc_trim",
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		int ok = from_libmm(names[i]);
		checks++;
		if (!ok) {
			failed++;
			printf("FAIL %s does not resolve to libmm-malloc.so\n", names[i]);
		}
	}
}

static int all(const unsigned char *p, int v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

static void errno_rules(void)
{
	/* free keeps errno, small and large, and free(NULL) is a no-op */
	size_t sizes[] = {1, 100, 5000, 40000, 1 << 20, 8 << 20};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		void *p = do_malloc(sizes[i]);
		CHECK(p != NULL);
		memset(p, 1, sizes[i]);
		errno = 1234;
		do_free(p);
		CHECK(errno == 1234);
	}
	errno = 77;
	do_free(NULL);
	CHECK(errno == 77);

	/* failures say ENOMEM */
	errno = 0;
	CHECK(do_malloc(SIZE_MAX) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(do_malloc(SIZE_MAX - 8192) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(do_malloc((size_t)1 << 62) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(do_calloc(SIZE_MAX / 2 + 2, 2) == NULL && errno == ENOMEM); /* wraps to 2 */
	errno = 0;
	CHECK(do_calloc((size_t)1 << 33, (size_t)1 << 33) == NULL && errno == ENOMEM);

	/* malloc(0) is a unique, freeable pointer */
	void *a = do_malloc(0), *b = do_malloc(0);
	CHECK(a != NULL && b != NULL && a != b);
	do_free(a);
	do_free(b);
}

static void calloc_zero(void)
{
	size_t sizes[] = {8, 24, 1000, 4096, 30000, 70000, 1 << 20};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		for (int r = 0; r < 4; r++) { /* dirty blocks of this size first */
			unsigned char *d = do_malloc(sizes[i]);
			memset(d, 0xa5, sizes[i]);
			do_free(d);
		}
		unsigned char *c = do_calloc(1, sizes[i]);
		CHECK(c != NULL && all(c, 0, sizes[i]));
		free(c);
	}
	void *z = do_calloc(0, 10);
	CHECK(z != NULL);
	free(z);
}

static void realloc_rules(void)
{
	/* do_realloc(NULL, n) is malloc(n) */
	unsigned char *p = do_realloc(NULL, 10);
	CHECK(p != NULL);
	for (int i = 0; i < 10; i++)
		p[i] = (unsigned char)(i * 13);
	/* growth through classes and into large objects keeps the contents */
	size_t n = 10;
	for (size_t m = 17; m < (1 << 21); m = m * 3 + 1) {
		unsigned char *q = do_realloc(p, m);
		CHECK(q != NULL);
		if (!q)
			return;
		int same = 1;
		for (size_t i = 0; i < n; i++)
			same &= q[i] == (unsigned char)(i * 13);
		CHECK(same);
		for (size_t i = n; i < m; i++)
			q[i] = (unsigned char)(i * 13);
		p = q;
		n = m;
	}
	/* shrinking keeps the head */
	unsigned char *s = do_realloc(p, 100);
	CHECK(s != NULL);
	int same = 1;
	for (size_t i = 0; i < 100; i++)
		same &= s[i] == (unsigned char)(i * 13);
	CHECK(same);
	/* glibc: do_realloc(p, 0) frees p and returns NULL */
	errno = 5;
	CHECK(do_realloc(s, 0) == NULL);
	/* failure keeps the old block */
	unsigned char *k = do_malloc(64);
	memset(k, 0x3c, 64);
	errno = 0;
	CHECK(do_realloc(k, SIZE_MAX - 100) == NULL && errno == ENOMEM);
	CHECK(all(k, 0x3c, 64));
	/* reallocarray: overflow fails and keeps the block */
	errno = 0;
	CHECK(do_reallocarray(k, SIZE_MAX / 4, 8) == NULL && errno == ENOMEM);
	CHECK(all(k, 0x3c, 64));
	unsigned char *k2 = do_reallocarray(k, 100, 8);
	CHECK(k2 != NULL && all(k2, 0x3c, 64));
	free(k2);
}

static void alignment(void)
{
	for (size_t al = sizeof(void *); al <= (1 << 20); al <<= 1) {
		void *p = NULL;
		errno = 42;
		int r = posix_memalign(&p, al, al / 2 + 3);
		CHECK(r == 0 && p != NULL && ((uintptr_t)p & (al - 1)) == 0);
		CHECK(errno == 42);
		if (p)
			memset(p, 1, al / 2 + 3);
		free(p);
		void *q = do_aligned_alloc(al, 3 * al);
		CHECK(q != NULL && ((uintptr_t)q & (al - 1)) == 0);
		if (q)
			memset(q, 2, 3 * al);
		free(q);
		void *m = do_memalign(al, 1);
		CHECK(m != NULL && ((uintptr_t)m & (al - 1)) == 0);
		free(m);
	}
	void *p = (void *)1;
	CHECK(posix_memalign(&p, 3 * sizeof(void *), 10) == EINVAL && p == (void *)1);
	CHECK(posix_memalign(&p, sizeof(void *) / 2, 10) == EINVAL);
	CHECK(posix_memalign(&p, 64, SIZE_MAX - 100) == ENOMEM);
	errno = 0;
	CHECK(do_aligned_alloc(48, 96) == NULL && errno == EINVAL);
	/* memalign rounds an odd alignment up to a power of two */
	void *m = do_memalign(48, 10);
	CHECK(m != NULL && ((uintptr_t)m & 63) == 0);
	free(m);
	long pg = sysconf(_SC_PAGESIZE);
	void *v = valloc(10);
	CHECK(v != NULL && ((uintptr_t)v & (uintptr_t)(pg - 1)) == 0);
	free(v);
	void *pv = pvalloc(1);
	CHECK(pv != NULL && ((uintptr_t)pv & (uintptr_t)(pg - 1)) == 0 && malloc_usable_size(pv) >= (size_t)pg);
	free(pv);
	pv = pvalloc(0);
	CHECK(pv != NULL && ((uintptr_t)pv & (uintptr_t)(pg - 1)) == 0);
	free(pv);
}

static void usable(void)
{
	CHECK(malloc_usable_size(NULL) == 0);
	for (size_t n = 1; n < (1 << 18); n = n * 2 + 1) {
		unsigned char *p = do_malloc(n);
		size_t u = malloc_usable_size(p);
		CHECK(u >= n);
		memset(p, 7, u); /* every usable byte may be written */
		do_free(p);
	}
}

/* malloc_usable_size is a query: 0 for any pointer that is not libmm's, no error. */
static void foreign_usable_size(void)
{
	static char data[64];
	char stack[64];
	void *page = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(page != MAP_FAILED);
	void *ptrs[] = {data + 16, stack + 16, (char *)page + 4096, (char *)page + 16};
	for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++)
		CHECK(malloc_usable_size(ptrs[i]) == 0);
	munmap(page, 1 << 16);
}

/* The first byte after ld.so's data (its _end), where its minimal malloc starts. */
static int ldso_end(struct dl_phdr_info *info, size_t size, void *out)
{
	(void)size;
	if (info->dlpi_addr != (uintptr_t)getauxval(AT_BASE))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_LOAD && (info->dlpi_phdr[i].p_flags & PF_W))
			*(uintptr_t *)out = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr +
					    info->dlpi_phdr[i].p_memsz;
	return 1;
}

/*
 * api free-ldso: free a block where ld.so's minimal malloc puts its first
 * blocks (memory from before libmm was loaded): must be left alone.
 */
static int free_ldso(void)
{
	uintptr_t end = 0;
	dl_iterate_phdr(ldso_end, &end);
	CHECK(end != 0);
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	if (end && (end & (pg - 1)) != 0 && pg - (end & (pg - 1)) > 32) {
		void *p = (void *)((end + 31) & ~(uintptr_t)15);
		printf("ptr %p\n", p);
		errno = 9;
		do_free(p);
		CHECK(errno == 9);
		errno = 0;
		CHECK(do_realloc(p, 100) == NULL && errno == ENOMEM);
	} else {
		printf("api: ld.so's data ends on a page boundary: nothing to free\n");
	}
	printf("api: free-ldso: %d checks, %d failed\n", checks, failed);
	return failed ? 1 : 0;
}

/*
 * api free-stack | free-global | free-mmap | realloc-stack: a pointer libmm
 * never handed out, which must stop the process (every build).  Prints the
 * address first, for run.sh to find in the message.
 */
static int foreign(const char *what)
{
	static char data[64];
	char stack[64];
	void *p;
	if (strcmp(what, "free-global") == 0) {
		p = data + 16;
	} else if (strcmp(what, "free-mmap") == 0) {
		p = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(p != MAP_FAILED);
		p = (char *)p + 4096;
	} else {
		p = stack + 16;
	}
	printf("ptr %p\n", p);
	if (strncmp(what, "realloc", 7) == 0)
		do_realloc(p, 100);
	else
		do_free(p);
	printf("api: %s returned\n", what);
	return 0;
}

static void tuning(void)
{
	CHECK(mallopt(M_ARENA_MAX, 1) == 1);
	void *big = do_malloc(16 << 20);
	memset(big, 1, 16 << 20);
	do_free(big);
	CHECK(malloc_trim(0) == 1); /* 16 MiB just became free (within libmm's idle bound): some goes back */
	struct mallinfo2 mi = mallinfo2();
	CHECK(mi.arena > 0);
	void *(*cf)(void *) = (void *(*)(void *))dlsym(RTLD_DEFAULT, "cfree");
	CHECK(cf != NULL);
	if (cf)
		cf(do_malloc(10));
	void *(*lm)(size_t) = (void *(*)(size_t))dlsym(RTLD_DEFAULT, "__libc_malloc");
	void (*lf)(void *) = (void (*)(void *))dlsym(RTLD_DEFAULT, "__libc_free");
	CHECK(lm != NULL && lf != NULL);
	if (lm && lf) {
		void *x = lm(33);
		CHECK(x != NULL && malloc_usable_size(x) >= 33);
		lf(x);
	}
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && strcmp(argv[1], "badfree") == 0) {
		char *p = do_malloc(100000);
		do_free(p + 4096); /* inside a large object: every build must stop us */
		printf("api: interior free returned\n");
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "badsmall") == 0) {
		char *p = do_malloc(100);
		do_free(p + 16); /* inside a small object: debug builds check every one */
		printf("api: interior free returned\n");
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "wildfree") == 0) {
		char *p = do_malloc(100);
		do_free(p + (32 << 20)); /* unmapped part of the first 64 MiB reservation: not foreign */
		printf("api: wild free returned\n");
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "free-ldso") == 0)
		return free_ldso();
	if (argc > 1 && (strncmp(argv[1], "free-", 5) == 0 || strncmp(argv[1], "realloc-", 8) == 0))
		return foreign(argv[1]);
	{
		resolution();
		errno_rules();
		calloc_zero();
		realloc_rules();
		alignment();
		usable();
		foreign_usable_size();
		tuning();
	}
	printf("api: %d checks, %d failed\n", checks, failed);
	return failed ? 1 : 0;
}
