/*
 * idle.c - the scavenger's idle-loop half (Go's background scavenger, run
 * without a thread): the timer marks a pass due every scavenge_period_ns,
 * and whoever idles (the shell's prompt, the idle self-test) calls
 * idle_scavenge, which releases spans idle longer than scavenge_idle_ns.
 * idle_init reads the settings from the kernel command line.
 */
#include "kernel.h"
#include "mm.h"

int mm_trace;
uint64_t scavenge_idle_ns = 5ull * 60 * 1000000000; /* Go: 5 minutes */

void idle_init(void)
{
	char buf[32];
	mm_trace = cmdline_get("mm.trace", buf, sizeof(buf)) && buf[0] == '1';
	if (cmdline_get("mm.scvg_period_ms", buf, sizeof(buf)))
		scavenge_period_ns = katou(buf) * 1000000;
	if (cmdline_get("mm.scvg_idle_ms", buf, sizeof(buf)))
		scavenge_idle_ns = katou(buf) * 1000000;
}

/* The idle loop's part of the scavenger: a pass when the timer marked one due. */
void idle_scavenge(void)
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

