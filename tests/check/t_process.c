/*
 * t_process.c - libmm inside a real Linux process, next to other mappings
 * and under the kernel's limits: the class map never maps past its own
 * reservation (a read-only mapping right above it keeps its protection and
 * contents while the arena grows past the map's window), an impossible
 * request (1 TiB) fails with ENOMEM instead of being overcommitted, the
 * address space the heap reserves follows its size (RLIMIT_AS lowered after
 * the first malloc leaves room for threads and mmap), mm_aligned_alloc
 * keeps every alignment for every small size, and a thread that forks while
 * it holds libmm's locks (a signal handler inside malloc) does not hang.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* The class map (mm/classmap.c), declared here so the test does not depend on internal.h. */
extern uint16_t *mm_classmap;

/*
 * The first three tests are for 64-bit processes: a 32-bit one uses the
 * 32-bit arena (no class map), cannot ask for 1 TiB, and runs under
 * qemu-user here, whose own address space RLIMIT_AS would limit.
 */
#if UINTPTR_MAX > 0xffffffffu
struct mapping {
	uintptr_t lo, hi;
	char perms[5];
};

/* The line of /proc/self/maps that holds a; 0 if none. */
static int mapping_of(uintptr_t a, struct mapping *m)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int found = 0;
	ck_assert_ptr_nonnull(f);
	while (!found && fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		char perms[5];
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && a >= lo && a < hi) {
			m->lo = lo;
			m->hi = hi;
			memcpy(m->perms, perms, 5);
			found = 1;
		}
	}
	fclose(f);
	return found;
}

/* Bytes of the process's mappings that are accessible (not PROT_NONE reservations). */
static uint64_t accessible_bytes(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	uint64_t sum = 0;
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		char perms[5];
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && strncmp(perms, "---", 3) != 0)
			sum += hi - lo;
	}
	fclose(f);
	return sum;
}

static int overcommit_mode(void)
{
	FILE *f = fopen("/proc/sys/vm/overcommit_memory", "r");
	int m = -1;
	if (f) {
		if (fscanf(f, "%d", &m) != 1)
			m = -1;
		fclose(f);
	}
	return m;
}

#define TiB ((size_t)1 << 40)
#define GiB ((size_t)1 << 30)
#define WINDOW ((size_t)64 << 30) /* what the class map describes (mm/arena.c) */

/*
 * Failure 1: the class map grew past its reservation once the arena passed
 * 64 GiB, and made whatever lay above it writable (and not executable).
 */
START_TEST(class_map_stays_inside_its_reservation)
{
	mm_free(mm_malloc(16)); /* the arena and the class map exist */
	ck_assert_ptr_nonnull(mm_classmap);
	uintptr_t top = (uintptr_t)mm_classmap + (WINDOW >> 12) * 2; /* end of its reservation */
	struct mapping m0, m1;

	/* A read-only page of ours right above it; if something is there already, watch that. */
	unsigned char *guard = mmap((void *)top, PAGE, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	int ours = guard == (void *)top;
	if (ours) {
		for (size_t i = 0; i < PAGE; i++)
			guard[i] = (unsigned char)(i * 7 + 3);
		ck_assert_int_eq(mprotect(guard, PAGE, PROT_READ), 0);
	} else if (guard != MAP_FAILED) {
		munmap(guard, PAGE); /* an old kernel ignored NOREPLACE: not what we asked for */
	}
	REQUIRE(mapping_of(top, &m0), "nothing mapped at %#lx, and none could be placed",
		(unsigned long)top);
	fprintf(stderr, "class map %p, reservation ends %#lx: %s mapping %#lx-%#lx %s above it\n",
		(void *)mm_classmap, (unsigned long)top, ours ? "our read-only" : "an existing",
		(unsigned long)m0.lo, (unsigned long)m0.hi, m0.perms);

	/* malloc(1 TiB): succeeds or not (failure 2), but must not touch the mapping. */
	void *huge = mm_malloc(TiB);
	mm_free(huge);
	STEP();

	/* Grow the arena past the window, 4 GiB at a time (nothing is touched). */
	void *blk[40];
	int n = 0;
	struct mm_stats st = stats();
	while (n < 40 && st.arena_used - st.arena_start <= WINDOW + 4 * GiB) {
		blk[n] = mm_malloc(4 * GiB);
		if (!blk[n])
			break;
		n++;
		st = stats();
	}
	if (st.arena_used - st.arena_start <= WINDOW)
		fprintf(stderr, "note: the arena stopped at %lu GiB (overcommit mode %d), short of the "
			"64 GiB window\n", (unsigned long)((st.arena_used - st.arena_start) >> 30),
			overcommit_mode());
	/* Small objects in spans past the window: the class map cannot hold them. */
	void *small[2000];
	for (int i = 0; i < 2000; i++) {
		small[i] = mm_malloc((size_t)(i % 300) * 16 + 8);
		ck_assert_ptr_nonnull(small[i]);
		memset(small[i], i & 0xff, (size_t)(i % 300) * 16 + 8);
	}
	for (int i = 0; i < 2000; i++)
		mm_free(small[i]);
	while (n > 0)
		mm_free(blk[--n]);
	STEP();

	REQUIRE(mapping_of(top, &m1), "the mapping above the class map is gone");
	REQUIRE(strcmp(m0.perms, m1.perms) == 0, "the mapping above the class map at %#lx went from %s to %s",
		(unsigned long)top, m0.perms, m1.perms);
	if (ours)
		for (size_t i = 0; i < PAGE; i++)
			REQUIRE(guard[i] == (unsigned char)(i * 7 + 3),
				"the read-only page above the class map changed at byte %zu", i);
}
END_TEST

/*
 * Failure 3, the sparse side: another mapping right at the end of the
 * arena's reservation.  The heap grows past it in a new region, close
 * enough to stay inside the class map's window; objects there are freed
 * correctly and the other mapping is untouched.
 */
START_TEST(arena_grows_past_a_foreign_mapping)
{
	SKIP_UNDER_ASAN("the arena cannot sit at its hint");
	mm_free(mm_malloc(16));
	struct mm_stats st = stats();
	uintptr_t end = st.arena_end;
	unsigned char *wall = mmap((void *)end, PAGE, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	REQUIRE(wall == (void *)end, "could not map a page at the arena's end %#lx", (unsigned long)end);
	memset(wall, 0x77, PAGE);
	ck_assert_int_eq(mprotect(wall, PAGE, PROT_READ), 0);

	/* More than the first reservation holds, in large and small objects. */
	static char *big[8], *small[3000];
	for (int i = 0; i < 8; i++) {
		big[i] = mm_malloc(20 * MiB);
		ck_assert_ptr_nonnull(big[i]);
		pattern_fill(big[i], 20 * MiB, (uint32_t)i);
		REQUIRE((uintptr_t)big[i] + 20 * MiB <= end || (uintptr_t)big[i] >= end + PAGE,
			"block %p overlaps the foreign page at %#lx", (void *)big[i], (unsigned long)end);
	}
	for (int i = 0; i < 3000; i++) {
		small[i] = mm_malloc((size_t)(i % 500) * 8 + 1);
		ck_assert_ptr_nonnull(small[i]);
		memset(small[i], i & 0xff, (size_t)(i % 500) * 8 + 1);
	}
	st = stats();
	REQUIRE(st.arena_end > end + PAGE, "the arena did not grow past %#lx", (unsigned long)end);
	REQUIRE(st.arena_end - st.arena_start <= WINDOW,
		"the new region went far away: arena %#lx-%#lx", (unsigned long)st.arena_start,
		(unsigned long)st.arena_end);
	STEP();
	for (int i = 0; i < 3000; i++) {
		for (size_t j = 0; j < (size_t)(i % 500) * 8 + 1; j++)
			REQUIRE((unsigned char)small[i][j] == (i & 0xff), "small object %d changed", i);
		mm_free(small[i]);
	}
	for (int i = 0; i < 8; i++) {
		REQUIRE(pattern_check(big[i], 20 * MiB, (uint32_t)i) == -1, "block %d changed", i);
		mm_free(big[i]);
	}
	STEP();
	for (size_t i = 0; i < PAGE; i++)
		REQUIRE(wall[i] == 0x77, "the foreign page changed at byte %zu", i);
}
END_TEST

/* Failure 2: pages that can never be backed are refused now, not OOM-killed later. */
START_TEST(impossible_request_fails_with_enomem)
{
	if (overcommit_mode() == 1) {
		fprintf(stderr, "SKIP impossible_request_fails_with_enomem: "
			"/proc/sys/vm/overcommit_memory is 1 (the kernel grants any request)\n");
		return;
	}
	char *a = mm_malloc(1000);
	memset(a, 0x5a, 1000);
	struct mm_stats before = stats();
	errno = 0;
	void *p = mm_malloc(TiB);
	int e = errno;
	REQUIRE(p == NULL, "mm_malloc(1 TiB) = %p on a machine that cannot commit it", p);
	ck_assert_int_eq(e, ENOMEM);
	void *q = mm_calloc(TiB / 4096, 4096);
	ck_assert_ptr_null(q);
	ck_assert_ptr_null(mm_realloc(a, TiB)); /* a stays */
	for (int i = 0; i < 1000; i++)
		REQUIRE((unsigned char)a[i] == 0x5a, "realloc's failure changed byte %d", i);
	struct mm_stats after = stats();
	ck_assert_uint_eq(after.heap_sys, before.heap_sys);
	ck_assert_uint_eq(after.arena_end, before.arena_end);
	STEP();
	void *b = mm_malloc(100 * MiB);
	ck_assert_ptr_nonnull(b);
	memset(b, 1, 100 * MiB);
	mm_free(b);
	mm_free(a);
	STEP();
}
END_TEST

static void *thread_mallocs(void *arg)
{
	void *p = mm_malloc(1000);
	if (p)
		memset(p, 1, 1000);
	mm_free(p);
	return p ? arg : NULL;
}

/* Failure 3: after the first malloc the heap holds little address space. */
START_TEST(address_space_follows_the_heap)
{
	SKIP_UNDER_ASAN("its shadow memory counts against RLIMIT_AS");
	mm_free(mm_malloc(16));
	uint64_t use = accessible_bytes();
	struct rlimit rl = {.rlim_cur = use + GiB, .rlim_max = use + GiB};
	ck_assert_int_eq(setrlimit(RLIMIT_AS, &rl), 0);
	fprintf(stderr, "RLIMIT_AS %lu MiB (%lu MiB accessible + 1 GiB)\n",
		(unsigned long)(rl.rlim_cur >> 20), (unsigned long)(use >> 20));

	pthread_t th;
	static int token;
	int r = pthread_create(&th, NULL, thread_mallocs, &token);
	REQUIRE(r == 0, "pthread_create after lowering RLIMIT_AS: %s", strerror(r));
	void *res = NULL;
	pthread_join(th, &res);
	ck_assert_ptr_eq(res, &token);
	void *m = mmap(NULL, MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	REQUIRE(m != MAP_FAILED, "mmap(1 MiB) after lowering RLIMIT_AS: %s", strerror(errno));
	munmap(m, MiB);

	/* malloc works until the limit, then says NULL; the heap stays whole. */
	static void *blk[200];
	int n = 0;
	while (n < 200 && (blk[n] = mm_malloc(16 * MiB)) != NULL)
		memset(blk[n++], 0x33, 4096);
	REQUIRE(n > 0 && n < 200, "%d blocks of 16 MiB under a 1 GiB headroom", n);
	fprintf(stderr, "%d blocks of 16 MiB before NULL\n", n);
	STEP();
	void *s = mm_malloc(100); /* small objects still come */
	ck_assert_ptr_nonnull(s);
	mm_free(s);
	while (n > 0)
		mm_free(blk[--n]);
	STEP();
	void *again = mm_malloc(256 * MiB); /* reuses what was freed */
	ck_assert_ptr_nonnull(again);
	mm_free(again);
	STEP();
}
END_TEST
#endif

/* Failure 4: every alignment, every small size, through mm_aligned_alloc. */
START_TEST(aligned_alloc_aligns_every_small_size)
{
	static void *keep[90];
	for (size_t align = 1; align <= ((size_t)1 << 20); align *= 2) {
		for (size_t n = 0; n < 90; n++) {
			void *p = mm_aligned_alloc(align, n);
			volatile uintptr_t a = (uintptr_t)p;
			REQUIRE(p != NULL, "mm_aligned_alloc(%zu, %zu) = NULL", align, n);
			REQUIRE(a % align == 0, "mm_aligned_alloc(%zu, %zu) = %p: not aligned", align, n, p);
			REQUIRE(mm_usable_size(p) >= n, "usable size %zu < %zu", mm_usable_size(p), n);
			memset(p, (int)n, n);
			keep[n] = p;
		}
		for (size_t n = 0; n < 90; n++) {
			for (size_t i = 0; i < n; i++)
				REQUIRE(((unsigned char *)keep[n])[i] == (unsigned char)n,
					"aligned block (%zu, %zu) overwritten", align, n);
			mm_free(keep[n]);
		}
		STEP();
	}
}
END_TEST

/*
 * Failure 5, the signal-handler case made deterministic: this thread holds
 * every libmm lock (as code that a signal handler interrupted inside malloc
 * may) and forks.  The prepare handler must skip the locks this thread
 * holds instead of waiting for them forever; the child, a copy of this
 * thread, holds them too; the parent gives them back itself.
 */
START_TEST(fork_while_this_thread_holds_the_locks)
{
	mm_free(mm_malloc(16)); /* this thread's cache: the fork handlers are in place */
	void *keep = mm_malloc(5000);
	ck_assert_ptr_nonnull(keep);
	mm_lock_all();
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	mm_unlock_all();
	REQUIRE(pid > 0, "fork failed: %s", strerror(errno));
	int st = 0;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* Every lock is free again: large objects take the heap lock, small ones central's. */
	void *big = mm_malloc(200 * KiB), *small = mm_malloc(40);
	ck_assert_ptr_nonnull(big);
	ck_assert_ptr_nonnull(small);
	mm_free(big);
	mm_free(small);
	mm_free(keep);
	STEP();
	pid = fork(); /* and a plain fork still works */
	if (pid == 0) {
		void *p = mm_malloc(100000);
		_exit(p && mm_check() == 0 ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
END_TEST

Suite *process_suite(void)
{
	TCase *tc = TCASE("process", 120, aligned_alloc_aligns_every_small_size);
#if UINTPTR_MAX > 0xffffffffu
	tcase_add_test(tc, class_map_stays_inside_its_reservation);
	tcase_add_test(tc, impossible_request_fails_with_enomem);
	tcase_add_test(tc, address_space_follows_the_heap);
	tcase_add_test(tc, arena_grows_past_a_foreign_mapping);
#endif
	return SUITE_OF("process", tc,
		TCASE("fork", 20, fork_while_this_thread_holds_the_locks)); /* a hang is the failure */
}
