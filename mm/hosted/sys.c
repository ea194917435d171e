/*
 * hosted/sys.c - the hooks of mm/sys.h for Linux and Darwin: address space
 * from mmap(PROT_NONE), memory by mprotect, given back with madvise (Linux
 * MADV_DONTNEED: pages read back as zero; Darwin MADV_FREE: they may not),
 * a monotonic clock, spin-then-yield locks, panic on stderr, and libc's
 * memset/memcpy in place of the core's portable ones.  The per-thread
 * caches are in hosted/thread.c.
 */
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <string.h>
#include "../mm.h"
#include "../sys.h"

#ifndef MAP_ANONYMOUS
#define MAP_ANONYMOUS MAP_ANON
#endif
/*
 * Reserved without MAP_NORESERVE, on purpose: a PROT_NONE private mapping
 * is not charged against the commit limit, and Linux charges its pages when
 * mprotect makes them writable, so mm_sys_map meets the kernel's overcommit
 * check (vm.overcommit_memory 0 and 2) and an impossible request (malloc of
 * 1 TiB on a 23 GiB machine) fails there with ENOMEM, as with glibc, instead
 * of succeeding and getting the process OOM-killed later.  With
 * MAP_NORESERVE the pages would never be charged.  mprotect leaves the
 * contents of pages still backed as they are (mm/sys.h), which mmap(MAP_FIXED)
 * over the range would not.
 */
void *mm_sys_reserve(void *hint, size_t n)
{
	void *p = mmap(hint, n, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? 0 : p;
}

/* -1 (errno ENOMEM) when the kernel refuses to commit n more bytes. */
int mm_sys_map(void *v, size_t n)
{
	return mprotect(v, n, PROT_READ | PROT_WRITE) == 0 ? 0 : -1;
}

int mm_sys_unused(void *v, size_t n)
{
#ifdef __APPLE__
	madvise(v, n, MADV_FREE);
	return 0;
#else
	madvise(v, n, MADV_DONTNEED);
	return 1;
#endif
}

void mm_sys_free(void *v, size_t n)
{
	munmap(v, n);
}

uint64_t mm_sys_nanotime(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

/*
 * Locks: spin, then yield.  The word holds its owner, the address of a
 * thread-local byte (unique among live threads, and the same in a forked
 * child for the thread that forked), so that the fork handlers (thread.c)
 * can tell a lock the forking thread already holds: fork from a signal
 * handler that interrupted malloc.  `saved` is that thread's token while
 * the prepare handler has left the lock alone ("skipped"); the matching
 * unlock in the parent and child handlers then only clears the mark, and
 * the lock stays with whoever holds it.  `held` counts the locks a thread
 * holds, so a prepare handler knows it runs inside libmm.
 */
static __thread char self_tok __attribute__((tls_model("initial-exec")));
static __thread int held __attribute__((tls_model("initial-exec")));
static __thread int fork_mode __attribute__((tls_model("initial-exec")));
enum { FORK_NONE, FORK_PREPARE, FORK_PREPARE_INSIDE, FORK_RELEASE };
#define OTHER_WAIT 2000 /* yields before an interrupted prepare gives up on a lock */

static inline uintptr_t self(void)
{
	return (uintptr_t)&self_tok;
}

static inline int try_lock(struct mm_lock *l, uintptr_t me)
{
	uintptr_t free_word = 0;
	return __atomic_compare_exchange_n(&l->word, &free_word, me, 0, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}

/* The prepare handler's lock: skip what this thread holds (see above). */
static __attribute__((noinline)) void fork_lock(struct mm_lock *l, uintptr_t me)
{
	if (__atomic_load_n(&l->word, __ATOMIC_RELAXED) == me) {
		l->saved = me; /* ours already: the interrupted code releases it */
		return;
	}
	for (unsigned i = 0; fork_mode == FORK_PREPARE_INSIDE && i < OTHER_WAIT; i++) {
		if (try_lock(l, me)) {
			held++;
			return;
		}
		sched_yield();
	}
	if (fork_mode == FORK_PREPARE_INSIDE) {
		/* Its holder may wait for a lock this thread holds: leave it. */
		l->saved = me;
		return;
	}
	fork_mode = FORK_NONE;
	mm_sys_lock(l);
	fork_mode = FORK_PREPARE;
}

void mm_sys_lock(struct mm_lock *l)
{
	uintptr_t me = self();
	unsigned spins = 0;
	if (__builtin_expect(fork_mode != FORK_NONE, 0)) {
		fork_lock(l, me);
		return;
	}
	while (!try_lock(l, me)) {
		while (__atomic_load_n(&l->word, __ATOMIC_RELAXED)) {
			if (++spins < 100)
				cpu_relax();
			else
				sched_yield();
		}
	}
	held++;
}

void mm_sys_unlock(struct mm_lock *l)
{
	if (__builtin_expect(l->saved != 0, 0) && l->saved == self() && fork_mode == FORK_RELEASE) {
		l->saved = 0; /* skipped by the prepare handler: not ours to release */
		return;
	}
	held--;
	__atomic_store_n(&l->word, 0, __ATOMIC_RELEASE);
}

/* Around mm_lock_all / mm_unlock_all in the fork handlers (thread.c). */
void mm_hosted_fork_locking(int on)
{
	fork_mode = !on ? FORK_NONE : held > 0 ? FORK_PREPARE_INSIDE : FORK_PREPARE;
}

void mm_hosted_fork_unlocking(int on)
{
	fork_mode = on ? FORK_RELEASE : FORK_NONE;
}

void (*mm_hosted_panic_hook)(const char *msg);

void mm_sys_panic(const char *msg)
{
	size_t n = 0;
	while (msg[n])
		n++;
	if (mm_hosted_panic_hook)
		mm_hosted_panic_hook(msg);
	(void)!write(2, msg, n);
	(void)!write(2, "\n", 1);
	abort();
}

/* libc's versions are faster than the core's portable loops (mm/mem.c, weak). */
void *mm_memset(void *d, int c, size_t n)
{
	return memset(d, c, n);
}

void *mm_memcpy(void *d, const void *s, size_t n)
{
	return memcpy(d, s, n);
}
