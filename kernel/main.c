/*
 * main.c - kmain, where both arches' entry code lands: console, CPU tables,
 * paging, memory map, frame allocator, timer, then the allocator core
 * (mm_init with our arena hint) and either the shell or the self-tests
 * (kernel command line "mode=test").  Also the idle-loop scavenger.
 */
#include "kernel.h"
#include "x86.h"
#include "mm.h"

int mm_trace;
uint64_t scavenge_idle_ns = 5ull * 60 * 1000000000; /* Go: 5 minutes */

static void print_layout(void)
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

void kernel_print_stats(void)
{
	struct mm_stats st;
	mm_read_stats(&st);
	kprintf("heap: sys %llu heap_sys %llu inuse %llu idle %llu released %llu\n",
		(unsigned long long)st.sys, (unsigned long long)st.heap_sys, (unsigned long long)st.heap_inuse,
		(unsigned long long)st.heap_idle, (unsigned long long)st.heap_released);
	kprintf("      objects %llu nmalloc %llu nfree %llu records %llu cached %llu scavenges %llu\n",
		(unsigned long long)st.heap_objects, (unsigned long long)st.nmalloc, (unsigned long long)st.nfree,
		(unsigned long long)st.records_sys, (unsigned long long)st.cache_bytes, (unsigned long long)st.nscavenge);
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

/* The idle loop's part of the scavenger: a pass when the timer marked one due. */
void kernel_scavenge_idle(void)
{
	if (!scavenge_due)
		return;
	scavenge_due = 0;
	uint64_t r = mm_scavenge(scavenge_idle_ns);
	if (mm_trace) {
		char line[160];
		mm_trace_format(line, sizeof(line), r);
		kprintf("%s\n", line);
	}
}

void kmain(uint32_t magic, uintptr_t info)
{
	char buf[64];

	console_init();
	arch_cpu_init();
	multiboot_init(magic, info);
	arch_paging_init();
	kprintf("\nlibmm kernel (%s, %s) - cmdline: %s\n", ARCH_NAME,
#ifdef __clang__
		"clang",
#else
		"gcc",
#endif
		kernel_cmdline());
	multiboot_print_mmap();
	pmm_init();
	kprintf("frames: %lu free of %lu total (%lu MiB usable below %p)\n", (unsigned long)pmm_free_count(),
		(unsigned long)pmm_total_count(), (unsigned long)(pmm_total_count() / 256),
		(void *)(uintptr_t)IDENT_END);
	mm_trace = cmdline_get("mm.trace", buf, sizeof(buf)) && buf[0] == '1';
	if (cmdline_get("mm.scvg_period_ms", buf, sizeof(buf)))
		scavenge_period_ns = katou(buf) * 1000000;
	if (cmdline_get("mm.scvg_idle_ms", buf, sizeof(buf)))
		scavenge_idle_ns = katou(buf) * 1000000;
	timer_init();
	sti();
	vm_init();

	struct mm_config cfg = {
		.arena_policy = sizeof(void *) == 8 ? MM_ARENA_64 : MM_ARENA_32,
		.arena_hint = ARENA_HINT,
		/* x86_64: one reservation for the whole 64 GiB class map window
		 * (our page tables make address space free; selftest checks it) */
		.arena_size = (size_t)(UINTPTR_MAX > 0xffffffffu ? 64ull << 30 : 0),
	};
	if (mm_init(&cfg) != 0)
		panic("mm_init refused the arena at %p", (void *)(uintptr_t)ARENA_HINT);
	vm_caches_init();
	print_layout();
	kernel_print_stats();

	if (cmdline_get("mode", buf, sizeof(buf)) && !strcmp(buf, "test")) {
		const char *which = cmdline_get("case", buf, sizeof(buf));
		selftest_run(which ? which : "all");
	}
	shell_run();
	qemu_exit(EXIT_PASS);
}
