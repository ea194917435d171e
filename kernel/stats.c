/*
 * stats.c - what the kernel prints about memory: the address layout at
 * boot, and the heap, arena and frame statistics (the shell's `stats`, the
 * end of every self-test run).
 */
#include "kernel.h"
#include "mm.h"

void stats_print_layout(void)
{
	struct mm_stats st;
	mm_read_stats(&st);
	kprintf("address layout (%s):\n", ARCH_NAME);
	kprintf("  kernel image   %p - %p (identity)\n", (void *)_kernel_start, (void *)_kernel_end);
	kprintf("  identity map   0 - %p (page tables reached here; page 0 absent)\n", (void *)(uintptr_t)IDENT_END);
	kprintf("  reservable VA  %p - %p (hint 0: top down)\n", (void *)(uintptr_t)RESERVE_LO, (void *)(uintptr_t)RESERVE_HI);
	kprintf("  arena          start %p used %p end %p (policy %s)\n", (void *)st.arena_start,
		(void *)st.arena_used, (void *)st.arena_end, st.arena_policy == MM_ARENA_32 ? "32: 256 MiB steps to 2 GiB" : "64");
	kprintf("  scavenger      a pass every %llu ms from the idle loop, idle limit %llu ms%s\n",
		(unsigned long long)(scavenge_period_ns / 1000000), (unsigned long long)(scavenge_idle_ns / 1000000),
		mm_trace ? ", trace on" : "");
	kprintf("  NX             %s\n", arch_has_nx() ? "on (data, heap and page tables' leaves)" : "not available");
}

void stats_print(void)
{
	struct mm_stats st;
	mm_read_stats(&st);
	kprintf("heap: sys %llu heap_sys %llu inuse %llu idle %llu released %llu\n",
		(unsigned long long)st.sys, (unsigned long long)st.heap_sys, (unsigned long long)st.heap_inuse,
		(unsigned long long)st.heap_idle, (unsigned long long)st.heap_released);
	kprintf("      objects %llu nmalloc %llu nfree %llu records %llu cached %llu parked %llu scavenges %llu\n",
		(unsigned long long)st.heap_objects, (unsigned long long)st.nmalloc, (unsigned long long)st.nfree,
		(unsigned long long)st.records_sys, (unsigned long long)st.cache_bytes,
		(unsigned long long)st.transfer_bytes, (unsigned long long)st.nscavenge);
	kprintf("arena: start %p used %p end %p (%llu MiB reserved)\n", (void *)st.arena_start,
		(void *)st.arena_used, (void *)st.arena_end,
		(unsigned long long)((st.arena_end - st.arena_start) / MiB));
	kprintf("frames: %lu free / %lu total (%lu / %lu MiB); so far mapped %lu, released %lu\n",
		(unsigned long)pmm_free_count(), (unsigned long)pmm_total_count(),
		(unsigned long)(pmm_free_count() / 256), (unsigned long)(pmm_total_count() / 256),
		(unsigned long)vm_frames_mapped, (unsigned long)vm_frames_released);
	kprintf("check: heap_sys %s inuse + idle; mm_check %s\n",
		st.heap_sys == st.heap_inuse + st.heap_idle ? "==" : "!=",
		mm_check() == 0 ? "ok" : mm_check_error());
}

