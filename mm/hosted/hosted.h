/*
 * hosted/hosted.h - the hosted build's inline cache hooks: the calling
 * thread's cache, from an initial-exec TLS slot, so the fast paths make no
 * call and need no stack frame.  A thread never shares its cache, so put does nothing.
 * Included by mm/sys.h through MM_SYS_INLINE.
 */
#ifndef MM_HOSTED_H
#define MM_HOSTED_H

struct mm_cache;
extern __thread struct mm_cache *mm_hosted_cache
	__attribute__((tls_model("initial-exec"), visibility("hidden")));
struct mm_cache *mm_hosted_cache_slow(void);

extern struct mm_cache mm_cache_none __attribute__((visibility("hidden"))); /* mm/cache.c */

/* The slot holds &mm_cache_none until the thread has a cache (and after it gave it back). */
static inline struct mm_cache *mm_sys_cache_get(void)
{
	struct mm_cache *c = mm_hosted_cache;
	if (__builtin_expect(c != &mm_cache_none, 1))
		return c;
	return mm_hosted_cache_slow();
}

/* The fast paths' look (mm/internal.h): no call, so no stack frame on a hit. */
#define mm_sys_cache_peek() (mm_hosted_cache)

static inline void mm_sys_cache_put(struct mm_cache *c)
{
	(void)c;
}

/* Test and tool hooks of the hosted backend (mm/hosted/). */
extern void (*mm_hosted_panic_hook)(const char *msg); /* called instead of abort() if set */
uint64_t mm_hosted_scavenge(uint64_t idle_ns);         /* a pass, traced when MM_TRACE=1 */
/* Fork handlers' lock modes (sys.c): 1 before mm_lock_all / mm_unlock_all, 0 after. */
void mm_hosted_fork_locking(int on);
void mm_hosted_fork_unlocking(int on);

#endif
