/*
 * panic.c - fatal errors and leaving QEMU.  A panic prints its message and
 * exits QEMU through isa-debug-exit with the failure code, so a run that
 * ends badly can never look like a pass.  A self-test that provokes a panic
 * on purpose sets panic_expected; a panic whose message contains that text
 * is reported as the case's pass instead.
 */
#include "kernel.h"
#include "x86.h"

const char *panic_expected;
const char *panic_expected_case;
static int panicking;

void qemu_exit(uint32_t code)
{
	outl(0xf4, code);
	/* No isa-debug-exit device: stop here. */
	for (;;) {
		cli();
		hlt();
	}
}

void panic(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	cli();
	if (panicking++) {
		kprintf("panic: recursive panic\n");
		qemu_exit(EXIT_FAIL);
	}
	va_start(ap, fmt);
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kprintf("\npanic: %s\n", msg);
	if (panic_expected && strstr(msg, panic_expected)) {
		kprintf("CASE %s: PASS (the expected panic)\n", panic_expected_case);
		kprintf("TESTS DONE: 1 passed, 0 failed\n");
		qemu_exit(EXIT_PASS);
	}
	qemu_exit(EXIT_FAIL);
}
