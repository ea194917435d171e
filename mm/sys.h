/*
 * sys.h - the porting interface: everything the libmm core needs from the
 * system it runs on.  A host (our kernel, another kernel, the hosted build)
 * implements these hooks and nothing else: eight required, plus the pair
 * mm_sys_cache_get / mm_sys_cache_put, which have a default (no caches) in
 * the library.  The core calls no other
 * external function (it brings its own memset/memcpy as mm_memset/mm_memcpy,
 * and needs no compiler runtime: no 64-bit division, no stack protector).
 * `make lib` links the core into one object, so `nm -u build/<arch>/libmm.a`
 * names the archive's one member, libmm.o: and then only the hooks below.
 *
 * General rules
 *  - All sizes are multiples of MM_PAGE_SIZE (4096 unless built with a larger
 *    MM_PAGE_SHIFT) and all addresses are page aligned, unless a hook says
 *    otherwise.
 *  - While calling reserve, map, unused, free and nanotime the core holds the
 *    heap lock and possibly one central lock, never more; these hooks must
 *    not call into libmm.  mm_check and mm_lock_all hold every lock but call
 *    no hook.  The core never calls a hook from inside another hook.
 *  - Panics: a bad call (an invalid or double free, a bad pointer to
 *    realloc or usable_size) panics with no core lock held.  Corruption the
 *    core finds in its own structures (a free list pointing outside its
 *    span, a span missing from the treap) panics where it is found, and may
 *    hold core locks then: mm_sys_panic must not return, and must not call
 *    into libmm.
 *  - The scavenger runs only inside mm_scavenge(): it takes the heap lock and
 *    calls mm_sys_unused (and mm_sys_nanotime) with it held.  Call it from an
 *    idle loop or a thread, not from an interrupt handler: it walks every
 *    free span.
 *  - Memory is zero when the core relies on it: mm_sys_map on a fresh range
 *    must give zeroed memory, unless the host calls mm_init with
 *    mm_config.memory_not_zeroed = 1 (then the core clears what it relies
 *    on itself, and the host zeroes nothing); pages released
 *    by an mm_sys_unused that returned 0 are cleared by the core before calloc
 *    trusts them.  A host that cannot release pages may make mm_sys_unused a
 *    no-op that returns 0.
 *  - Interrupt context: an interrupt handler may call every mm_* entry point
 *    provided that (1) mm_sys_lock disables interrupts on the local CPU and
 *    mm_sys_unlock restores the previous state, and (2) mm_sys_cache_get
 *    returns a different cache (or NULL) in interrupt context than in the
 *    code it interrupted.  The cache fast path takes no lock, so (2) is what
 *    makes it safe; (1) is what keeps a handler from spinning on a lock held
 *    by the code it interrupted.  Our kernel (kernel/vm.c, kernel/kcache.h)
 *    does both.
 *  - Preemption and SMP: the core uses a cache only between
 *    mm_sys_cache_get() and the matching mm_sys_cache_put(), and never keeps
 *    it past the put.  A preemptible kernel with per-CPU caches disables
 *    preemption (or interrupts) in get and enables it again in put, so the
 *    thread cannot move to another CPU while it holds that CPU's cache.
 *    Every hook the core calls in between runs with preemption disabled and
 *    must not sleep.  A kernel without preemption, or with per-thread
 *    caches, makes put do nothing.
 *  - The core is reentrant with respect to different caches; one cache is
 *    used by one context at a time (a thread, or a CPU at one interrupt level).
 */
#ifndef MM_SYS_H
#define MM_SYS_H

#include <stddef.h>
#include <stdint.h>

/*
 * The page: the heap's unit and the granule of every hook call.  4 KiB unless
 * the core and the host's hooks are both built with -DMM_PAGE_SHIFT=14 (16 KiB)
 * or 16 (64 KiB) (`make lib PAGE_SHIFT=14`), for systems whose MMU maps no
 * smaller page (aarch64 16/64 KiB granules, Apple silicon).
 */
#ifndef MM_PAGE_SHIFT
#define MM_PAGE_SHIFT 12
#endif
#if MM_PAGE_SHIFT < 12 || MM_PAGE_SHIFT > 16
#error "MM_PAGE_SHIFT must be 12 (4 KiB), 14 (16 KiB) or 16 (64 KiB)"
#endif
#define MM_PAGE_SIZE  ((uintptr_t)1 << MM_PAGE_SHIFT)

struct mm_cache;

/*
 * A lock.  The core zero-fills it before first use, and never looks inside:
 * both words belong to the host (a spin word and saved interrupt flags, a
 * futex word, ...).  Locks are never taken recursively.  Lock order in the
 * core: central[class] before heap; the heap lock is innermost.
 */
struct mm_lock {
	volatile uintptr_t word;
	uintptr_t saved;
};

/*
 * mm_sys_reserve: claim n bytes of address space, without memory behind it.
 * hint is where the core would like it (page aligned, or 0 for anywhere); the
 * host may honour it or return another address.  Returns the start of the
 * range, or NULL when no address space is left.  Touching reserved memory
 * before mm_sys_map is a bug in the core.  A host without paging may hand
 * out real memory here and make mm_sys_map a no-op.
 */
void *mm_sys_reserve(void *hint, size_t n);

/*
 * mm_sys_map: back [v, v+n) (inside a reserved range) with readable,
 * writable memory.  Called for pages never used before, which must read as
 * zero (unless mm_config.memory_not_zeroed), and again for pages given to
 * mm_sys_unused that the core reuses:
 * those may read as zero or keep old data (see mm_sys_unused's return),
 * and pages of the range still backed must keep their contents.
 * Returns 0 on success, -1 when memory is exhausted; on failure nothing in
 * the range may have changed state as seen by the core.
 */
int mm_sys_map(void *v, size_t n);

/*
 * mm_sys_unused: the contents of [v, v+n) are no longer needed and the
 * memory may be given back; the range stays reserved and mm_sys_map will be
 * called before it is touched again.  Some pages of the range may already
 * have been given back (the call must be harmless for them).  Returns 1 if
 * released pages will read as zero when mapped again (Linux MADV_DONTNEED,
 * our kernel), 0 if they may keep old contents (Darwin MADV_FREE).
 */
int mm_sys_unused(void *v, size_t n);

/*
 * mm_sys_free: give [v, v+n) back entirely, address space and memory.  Used
 * for a reservation the core cannot use (32-bit arena outside its window).
 */
void mm_sys_free(void *v, size_t n);

/*
 * mm_sys_nanotime: a monotonic clock in nanoseconds, for the scavenger's
 * idle limit.  Coarse is fine (a timer tick); it must not go backwards.
 */
uint64_t mm_sys_nanotime(void);

/*
 * mm_sys_lock / mm_sys_unlock: acquire and release l.  Held only briefly
 * (never across a hook other than reserve/map/unused/free/nanotime).  In a
 * kernel whose interrupt handlers allocate, lock must disable interrupts and
 * unlock restore them (l->saved is there for the flags).
 */
void mm_sys_lock(struct mm_lock *l);
void mm_sys_unlock(struct mm_lock *l);

/*
 * mm_sys_panic: a fatal error (bad free, corrupted heap); msg is one line
 * naming the address and the reason, without a trailing newline.  Must not
 * return.  A bad free calls it with no core lock held; corruption may be
 * reported with core locks held (see "Panics" above).
 */
void mm_sys_panic(const char *msg) __attribute__((noreturn));

/*
 * mm_sys_cache_get: the cache of the calling context (thread, or CPU and
 * interrupt level), or NULL to go without one (every small allocation then
 * takes the central lock: correct, slower).  From get until the matching
 * mm_sys_cache_put the caller must stay on this CPU and in this context:
 * a preemptible kernel disables preemption in get (xv6: pushcli) and
 * enables it in put (popcli).  put is called exactly once after every get,
 * with what get returned, NULL included.
 * A host creates caches with mm_cache_new() and gives them back with
 * mm_cache_release().  Optional, as a pair: the library has weak defaults
 * (get returns NULL, put does nothing), which are safe on any kernel.
 * Hosts that want them on the fast path without a call may define
 * MM_SYS_INLINE to a header that defines both as static inline functions.
 * Such a header whose put does nothing (a thread's own cache) may also
 * define the macro mm_sys_cache_peek(): the cache the calling thread has
 * already, else &mm_cache_none (declared in that header as
 * `extern struct mm_cache mm_cache_none;`), never NULL and never making one;
 * get must then make the cache when the thread has none.  The fast paths
 * use peek, so a hit makes no call and needs no stack frame
 * (mm/hosted/hosted.h does this).
 */
#ifdef MM_SYS_INLINE
#include MM_SYS_INLINE
#else
struct mm_cache *mm_sys_cache_get(void);
void mm_sys_cache_put(struct mm_cache *c);
#endif

#endif
