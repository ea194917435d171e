/*
 * limits.c - malloc under the kernel's limits, the way glibc behaves:
 *   huge    malloc, calloc and realloc of 1 TiB return NULL with ENOMEM
 *           (the kernel cannot commit it; where vm.overcommit_memory is 1
 *           it can, and both allocators say so), and the heap keeps working.
 *   rlimit  after the first malloc, RLIMIT_AS is lowered to the accessible
 *           mappings plus 1 GiB (glibc's tst-malloc-thread-fail does this):
 *           pthread_create and mmap(1 MiB) still work, malloc of 16 MiB
 *           blocks works until the limit and then returns NULL, and small
 *           allocations still work after.
 * The output is the same under glibc and libmm; exit 1 on a failure.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#define MiB ((size_t)1 << 20)

static int huge(void)
{
	size_t tib = (size_t)1 << (sizeof(size_t) == 8 ? 40 : 31);
	char *a = malloc(1000);
	memset(a, 0x5a, 1000);
	errno = 0;
	void *volatile p = malloc(tib);
	printf("malloc(huge): %s, errno %s\n", p ? "a pointer" : "NULL", errno == ENOMEM ? "ENOMEM" : "0");
	free(p);
	errno = 0;
	p = calloc(tib / 4096, 4096);
	printf("calloc(huge): %s, errno %s\n", p ? "a pointer" : "NULL", errno == ENOMEM ? "ENOMEM" : "0");
	free(p);
	p = realloc(a, tib);
	if (p)
		a = p;
	printf("realloc(1000 -> huge): %s\n", p ? "a pointer" : "NULL");
	for (int i = 0; i < 1000; i++)
		if ((unsigned char)a[i] != 0x5a) {
			printf("FAIL: realloc lost byte %d\n", i);
			return 1;
		}
	free(a);
	char *b = malloc(64 * MiB);
	memset(b, 1, 64 * MiB);
	printf("malloc(64 MiB) after: %s\n", b ? "a pointer" : "NULL");
	free(b);
	return b ? 0 : 1;
}

/* Bytes of mappings that are not PROT_NONE. */
static size_t accessible(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	size_t sum = 0;
	while (f && fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		char perms[5];
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && strncmp(perms, "---", 3) != 0)
			sum += hi - lo;
	}
	if (f)
		fclose(f);
	return sum;
}

static void *thread_main(void *arg)
{
	char *p = malloc(5000);
	if (p)
		memset(p, 2, 5000);
	free(p);
	return p ? arg : NULL;
}

static int rlimit(void)
{
	free(malloc(16));
	size_t use = accessible(), limit = use + ((size_t)1 << 30);
	struct rlimit rl = {limit, limit};
	if (setrlimit(RLIMIT_AS, &rl) != 0) {
		printf("FAIL: setrlimit: %s\n", strerror(errno));
		return 1;
	}
	pthread_t th;
	static int token;
	void *res = NULL;
	int r = pthread_create(&th, NULL, thread_main, &token);
	if (r == 0)
		pthread_join(th, &res);
	printf("pthread_create under the limit: %s\n", r ? strerror(r) : res == &token ? "ok" : "its malloc failed");
	void *m = mmap(NULL, MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("mmap(1 MiB) under the limit: %s\n", m == MAP_FAILED ? strerror(errno) : "ok");
	if (m != MAP_FAILED)
		munmap(m, MiB);
	static void *blk[200];
	int n = 0;
	errno = 0;
	while (n < 200 && (blk[n] = malloc(16 * MiB)) != NULL)
		memset(blk[n++], 3, 4096);
	printf("malloc(16 MiB) until the limit: %s, errno %s\n", n > 0 && n < 200 ? "then NULL" : "FAIL",
	       errno == ENOMEM ? "ENOMEM" : "0");
	void *s = malloc(100);
	printf("malloc(100) at the limit: %s\n", s ? "ok" : "NULL");
	free(s);
	while (n > 0)
		free(blk[--n]);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "huge") == 0)
		return huge();
	if (argc == 2 && strcmp(argv[1], "rlimit") == 0)
		return rlimit();
	fprintf(stderr, "usage: limits huge|rlimit\n");
	return 2;
}
