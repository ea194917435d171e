/*
 * kcache.h - our kernel's cache hooks (mm_sys_cache_get/put), inline: the core is compiled with
 * MM_SYS_INLINE="kcache.h" for the kernel (kernel/kernel.mk), so a kmalloc
 * cache hit makes no call.  Each CPU has two caches (percpu.h): one for
 * normal code, one for interrupt handlers (its irq_depth, counted in trap.c,
 * says which), so an interrupt never re-enters the lock-free list it
 * interrupted.
 */
#ifndef KCACHE_H
#define KCACHE_H

#include "percpu.h"

static inline struct mm_cache *mm_sys_cache_get(void)
{
	struct cpu *c = this_cpu();
	return c->irq_depth ? c->cache_irq : c->cache;
}

/* No preemption: a thread cannot leave its CPU between get and put. */
static inline void mm_sys_cache_put(struct mm_cache *c)
{
	(void)c;
}

#endif
