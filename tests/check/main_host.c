/*
 * main_host.c - the Check runner for the hosted core (libmm.a with its real
 * hosted Sys backend).  Each test runs in its own forked process, so each
 * starts with a fresh allocator.  Exit status: 0 when every test passed.
 */
#include "testutil.h"

Suite *misuse_suite(void); /* t_misuse.c */

int main(void)
{
	return run_suites((Suite *const[]){sizeclass_suite(), heap_suite(), cache_suite(),
					   api_suite(), stats_suite(), scavenge_suite(),
					   errors_suite(), misuse_suite(), internal_suite(),
					   stress_suite(), process_suite(), NULL});
}
