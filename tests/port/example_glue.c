/*
 * example_glue.c - the complete libmm port for a small preemptive SMP
 * kernel with identity-mapped RAM, as printed in the README ("Porting to
 * your kernel").  It needs four functions from the kernel: kputs, khalt,
 * ticks_ns and this_cpu.  lib-check builds it with the kernel flags for
 * both arches and both compilers and links it against libmm.a: nothing
 * else may be missing.
 */
#include "mm.h"
#include "sys.h"
#include "sys_ram.h"

void kputs(const char *s);                   /* console */
void khalt(void) __attribute__((noreturn));  /* stop the machine */
uint64_t ticks_ns(void);                     /* timer, monotonic */
int this_cpu(void);                          /* 0 .. MAX_CPUS-1, interrupts off */

/* The heap's memory: 16 MiB of .bss, zero at boot.  sys_ram.h's hooks hand
 * it out in order (mm_sys_reserve); RAM is always there, so mm_sys_map,
 * mm_sys_unused and mm_sys_free have nothing to do. */
static unsigned char heap_pool[(size_t)16 << 20] __attribute__((aligned(4096)));
MM_SYS_RAM_POOL(heap_pool);

uint64_t mm_sys_nanotime(void)
{
	return ticks_ns();
}

/* A spinlock that disables interrupts and restores them: the interrupt rule. */
void mm_sys_lock(struct mm_lock *l)
{
	uintptr_t flags;
	__asm__ volatile("pushf\n\tpop %0\n\tcli" : "=r"(flags) : : "memory");
	while (__atomic_exchange_n(&l->word, 1, __ATOMIC_ACQUIRE))
		__asm__ volatile("pause");
	l->saved = flags;
}

void mm_sys_unlock(struct mm_lock *l)
{
	uintptr_t flags = l->saved;
	__atomic_store_n(&l->word, 0, __ATOMIC_RELEASE);
	__asm__ volatile("push %0\n\tpopf" : : "r"(flags) : "memory", "cc");
}

void mm_sys_panic(const char *msg)
{
	kputs(msg);
	kputs("\n");
	khalt();
}

/* Per CPU: its cache, and the interrupt flag get saved for put. */
#define MAX_CPUS 64
static struct mm_cache *cpu_cache[MAX_CPUS];
static uintptr_t cpu_flags[MAX_CPUS];

/*
 * Interrupts off from get to put: no timer tick, so no preemption (the
 * thread cannot move to another CPU while it uses this CPU's cache), and no
 * interrupt handler on this CPU (so handlers may use the same cache).
 */
struct mm_cache *mm_sys_cache_get(void)
{
	uintptr_t flags;
	__asm__ volatile("pushf\n\tpop %0\n\tcli" : "=r"(flags) : : "memory");
	int cpu = this_cpu();
	cpu_flags[cpu] = flags;
	return cpu_cache[cpu];
}

void mm_sys_cache_put(struct mm_cache *c)
{
	uintptr_t flags = cpu_flags[this_cpu()];
	(void)c;
	__asm__ volatile("push %0\n\tpopf" : : "r"(flags) : "memory", "cc");
}

/* Call once on the boot CPU, before the other CPUs start. */
void heap_init(void)
{
	struct mm_config cfg = { .arena_policy = MM_ARENA_CHUNKS, .arena_size = 1 << 20 };
	if (mm_init(&cfg) != 0)
		mm_sys_panic("heap_init: mm_init failed");
}

/* Call on each CPU as it starts (the boot CPU too), interrupts still off. */
void heap_init_cpu(void)
{
	cpu_cache[this_cpu()] = mm_cache_new();
}

/* The kernel's allocator is now mm_malloc, mm_free, mm_calloc, mm_realloc,
 * mm_aligned_alloc; wrap them under the names the kernel already uses. */
void *kmalloc(size_t n)
{
	return mm_malloc(n);
}

void kfree(void *p)
{
	mm_free(p);
}
