/*
 * kcache.h - our kernel's cache hooks (mm_sys_cache_get/put), inline: the core is compiled with
 * MM_SYS_INLINE="kcache.h" for the kernel (kernel/kernel.mk), so a kmalloc
 * cache hit makes no call.  CPU 0 has two caches: one for normal code, one
 * for interrupt handlers (irq_depth, counted in trap.c, says which), so an
 * interrupt never re-enters the lock-free list it interrupted.
 */
#ifndef KCACHE_H
#define KCACHE_H

struct mm_cache;
extern volatile int irq_depth;
extern struct mm_cache *kcache_cpu, *kcache_irq;

static inline struct mm_cache *mm_sys_cache_get(void)
{
	return irq_depth ? kcache_irq : kcache_cpu;
}

/* No preemption: a thread cannot leave its CPU between get and put. */
static inline void mm_sys_cache_put(struct mm_cache *c)
{
	(void)c;
}

#endif
