/*
 * main.c - kmain, where both arches' entry code lands: console, CPU tables,
 * paging, memory map, frame allocator, timer, then the allocator core
 * (mm_init with our arena hint), the other CPUs (smp.c) and either the shell or the self-tests
 * (kernel command line "mode=test").  Only init calls, in order.
 */
#include "kernel.h"
#include "x86.h"
#include "mm.h"

void kmain(uint32_t magic, uintptr_t info)
{
	char buf[64];

	percpu_init_boot();
	console_init();
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
	idle_init();
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
	smp_init();
	stats_print_layout();
	stats_print();

	if (cmdline_get("mode", buf, sizeof(buf)) && !strcmp(buf, "test")) {
		const char *which = cmdline_get("case", buf, sizeof(buf));
		selftest_run(which ? which : "all");
	}
	shell_run();
	qemu_exit(EXIT_PASS);
}
