/*
 * ktest.h - what the self-test files (selftest.c, smptest.c) share: the
 * CHECK macro, which prints the failed condition's message and counts it
 * in ktest_failures (per case), and the heap invariants every case ends
 * with (ktest.c).  selftest.c runs the cases and calls smptest.c's; neither
 * calls back.
 */
#ifndef KERNEL_KTEST_H
#define KERNEL_KTEST_H

extern int ktest_failures; /* failed checks in the current case */

#define CHECK(cond, ...)                                                  \
	do {                                                              \
		if (!(cond)) {                                            \
			kprintf("  check failed (%s:%d): ", __FILE__, __LINE__); \
			kprintf(__VA_ARGS__);                             \
			kprintf("\n");                                    \
			ktest_failures++;                                 \
		}                                                         \
	} while (0)

/* ktest.c: mm_check, and the stats add up (heap_sys, released, objects, sys). */
void ktest_check_heap(const char *when);

/* smptest.c: the cases that need several CPUs. */
void case_smp(void);
void case_shootdown(void); /* ends the boot with the expected panic */

#endif
