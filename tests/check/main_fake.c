/*
 * main_fake.c - the Check runner for the core linked with the fake Sys
 * backend (tests/fakesys/): the 32-bit arena policy in a simulated 4 GiB
 * address space, refusing hosts, panics caught by a hook, a settable clock
 * and explicit caches; the port traps (t_port.c).  Exit status: 0 when every test passed.
 */
#include <stdlib.h>

#include "testutil.h"

int main(void)
{
	SRunner *sr = srunner_create(arena32_suite());
	srunner_add_suite(sr, fake_suite());
	srunner_add_suite(sr, port_suite());
	srunner_set_fork_status(sr, CK_FORK); /* every test needs a fresh allocator */
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
