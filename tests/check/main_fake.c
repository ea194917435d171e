/*
 * main_fake.c - the Check runner for the core linked with the fake Sys
 * backend (tests/fakesys/): the 32-bit arena policy in a simulated 4 GiB
 * address space, refusing hosts, panics caught by a hook, a settable clock
 * and explicit caches; the port traps (t_port.c).  Exit status: 0 when every test passed.
 */
#include "testutil.h"

int main(void)
{
	return run_suites((Suite *const[]){arena32_suite(), fake_suite(), port_suite(), NULL});
}
