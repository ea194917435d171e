/*
 * cpus.c - the shell's `cpus`: one line per running CPU with its local
 * APIC ID, timer ticks, IPIs, TLB flushes and shootdown generation, and
 * its two kmalloc caches (bytes held now, objects taken from and given
 * back to the central lists so far).  Reads the caches' counters through
 * the core's internal.h; another CPU's counters may be a moment stale.
 */
#include "kernel.h"
#include "internal.h"

static void cache_line(const char *what, const struct mm_cache *c)
{
	uint64_t taken = 0, returned = 0;
	if (!c) {
		kprintf("    %-6s none\n", what);
		return;
	}
	for (int i = 0; i < MM_NUM_CLASSES_MAX; i++) {
		taken += c->taken[i];
		returned += c->returned[i];
	}
	kprintf("    %-6s %8lu bytes cached; objects from central %llu, back to central %llu\n", what,
		(unsigned long)mm_cache_bytes(c), (unsigned long long)taken, (unsigned long long)returned);
}

void cpus_print(void)
{
	kprintf("cpus: %d running; TLB shootdowns so far %lu (%lu frames freed after them, %lu waiting)\n", ncpu,
		(unsigned long)tlb_shootdowns, (unsigned long)tlb_frames_deferred, (unsigned long)tlb_pending());
	for (int i = 0; i < ncpu; i++) {
		struct cpu *c = &cpus[i];
		kprintf("  cpu%d apic %d%s: %lu timer ticks, %lu IPIs, %lu TLB flushes (at generation %u)\n", i,
			c->apic_id, i == 0 ? " (boot)" : "", c->ticks, c->ipis, c->flushes, (unsigned)c->tlb_gen);
		cache_line("normal", c->cache);
		cache_line("irq", c->cache_irq);
	}
}
