/*
 * shell.c - the serial prompt: help, stats, cpus, stress N, grow, scavenge,
 * bench [N], trace on|off, halt.  Input is polled from COM1; while waiting,
 * the idle loop runs a scavenger pass when the timer has marked one due,
 * then halts until the next interrupt.  The commands' work lives in
 * stats.c, cpus.c, stress.c, bench.c and idle.c.
 */
#include "kernel.h"
#include "x86.h"
#include "mm.h"

#define BENCH_DEFAULT_N 500000ul

static void readline(char *buf, size_t n)
{
	size_t len = 0;
	for (;;) {
		int c = console_getc();
		if (c < 0) {
			idle_scavenge();
			sti_hlt();
			continue;
		}
		if (c == '\r' || c == '\n') {
			if (len == 0 && c == '\n')
				continue; /* the \n of a \r\n pair, or an empty line */
			console_putc('\n');
			buf[len] = 0;
			return;
		}
		if ((c == 8 || c == 127) && len > 0) {
			len--;
			kprintf("\b \b");
		} else if (c >= ' ' && c < 127 && len + 1 < n) {
			buf[len++] = (char)c;
			console_putc((char)c);
		}
	}
}

static void cmd_help(void)
{
	kprintf("commands:\n"
		"  help          this list\n"
		"  stats         heap statistics (mm_stats), arena, frames free/total, mm_check\n"
		"  cpus          per CPU: APIC ID, timer ticks, IPIs, TLB flushes, its two caches\n"
		"  stress N      N random mallocs/frees with pattern checks on every CPU at\n"
		"                once, then mm_check and stats\n"
		"  grow          allocate large spans until the arena passes 256 and 512 MiB\n"
		"  scavenge      a scavenger pass with idle limit 0: bytes released, frames returned\n"
		"  bench [N]     the same workload (scale N, default %lu) on kmalloc and on the\n"
		"                liballoc-like baseline: ops, ms, ns/op each, and the ratio;\n"
		"                then kmalloc throughput on 1, 2 and 4 CPUs at once\n"
		"  trace on|off  one line per scavenger pass (mm_trace_format)\n"
		"  halt          leave QEMU (success exit code)\n",
		BENCH_DEFAULT_N);
}

static void cmd_scavenge(void)
{
	tlb_sync();
	size_t before = pmm_free_count();
	uint64_t r = mm_scavenge(0);
	tlb_sync(); /* every CPU flushed: the frames are back */
	size_t after = pmm_free_count();
	kprintf("scavenge: released %llu bytes (%llu pages); frames returned %lu (free %lu -> %lu)\n",
		(unsigned long long)r, (unsigned long long)(r / PAGE_SIZE), (unsigned long)(after - before),
		(unsigned long)before, (unsigned long)after);
	if (mm_trace) {
		char line[160];
		mm_trace_format(line, sizeof(line), r);
		kprintf("%s\n", line);
	}
}

/*
 * Allocate `step`-byte blocks until the arena passes 256 and 512 MiB past
 * its start (i386: arena_end; x86_64, one 64 GiB reservation: arena_used),
 * printing the arena after each one; then free them all.
 */
static void cmd_grow(void)
{
	enum { MAXBLOCKS = 64 };
	static void *blocks[MAXBLOCKS];
	const size_t step = 32 * MiB;
	struct mm_stats st;
	int n = 0;

	mm_read_stats(&st);
	kprintf("grow: %s, blocks of %lu MiB; arena start %p end %p (%llu MiB)\n",
		st.arena_policy == MM_ARENA_32 ? "watching arena_end" : "watching arena_used",
		(unsigned long)(step / MiB), (void *)st.arena_start, (void *)st.arena_end,
		(unsigned long long)((st.arena_end - st.arena_start) / MiB));
	for (;;) {
		uintptr_t mark = st.arena_policy == MM_ARENA_32 ? st.arena_end : st.arena_used;
		if (mark - st.arena_start > 512 * MiB || n == MAXBLOCKS)
			break;
		void *p = mm_malloc(step);
		if (!p) {
			kprintf("grow: malloc(%lu MiB) returned NULL (frames free %lu)\n",
				(unsigned long)(step / MiB), (unsigned long)pmm_free_count());
			break;
		}
		((volatile char *)p)[0] = 1;
		((volatile char *)p)[step - 1] = 1;
		blocks[n++] = p;
		mm_read_stats(&st);
		kprintf("grow: block %2d at %p: arena_used %p (%4llu MiB) arena_end %p (%4llu MiB)\n", n, p,
			(void *)st.arena_used, (unsigned long long)((st.arena_used - st.arena_start) / MiB),
			(void *)st.arena_end, (unsigned long long)((st.arena_end - st.arena_start) / MiB));
	}
	while (n > 0)
		mm_free(blocks[--n]);
	kprintf("grow: freed the blocks\n");
	stats_print();
}

void shell_run(void)
{
	char line[128];

	kprintf("type 'help' for commands\n");
	for (;;) {
		kprintf("libmm> ");
		readline(line, sizeof(line));
		const char *arg = line;
		while (*arg && *arg != ' ')
			arg++;
		while (*arg == ' ')
			arg++;
		if (!line[0])
			continue;
		if (!strcmp(line, "help")) {
			cmd_help();
		} else if (!strcmp(line, "stats")) {
			stats_print();
		} else if (!strncmp(line, "stress", 6) && (line[6] == 0 || line[6] == ' ')) {
			unsigned long n = *arg ? (unsigned long)katou(arg) : 10000;
			int bad = stress_all(n, (uint32_t)timer_ticks() | 1, ncpu, 1);
			kprintf("stress: %lu operations on each of %d CPU%s, %d errors; mm_check %s\n", n, ncpu,
				ncpu > 1 ? "s" : "", bad, mm_check() == 0 ? "ok" : mm_check_error());
			stats_print();
		} else if (!strncmp(line, "bench", 5) && (line[5] == 0 || line[5] == ' ')) {
			unsigned long n = *arg ? (unsigned long)katou(arg) : BENCH_DEFAULT_N;
			bench_run(n ? n : BENCH_DEFAULT_N);
		} else if (!strcmp(line, "cpus")) {
			cpus_print();
		} else if (!strcmp(line, "grow")) {
			cmd_grow();
		} else if (!strcmp(line, "scavenge")) {
			cmd_scavenge();
		} else if (!strcmp(line, "trace on")) {
			mm_trace = 1;
			kprintf("trace on\n");
		} else if (!strcmp(line, "trace off")) {
			mm_trace = 0;
			kprintf("trace off\n");
		} else if (!strcmp(line, "halt")) {
			kprintf("halt\n");
			qemu_exit(EXIT_PASS);
		} else {
			kprintf("unknown command '%s' (try help)\n", line);
		}
	}
}
