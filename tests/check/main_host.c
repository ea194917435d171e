/*
 * main_host.c - the Check runner for the hosted core (libmm.a with its real
 * hosted Sys backend).  Each test runs in its own forked process, so each
 * starts with a fresh allocator.  Exit status: 0 when every test passed.
 */
#include <stdlib.h>

#include "testutil.h"

Suite *misuse_suite(void); /* t_misuse.c */

int main(void)
{
	SRunner *sr = srunner_create(sizeclass_suite());
	srunner_add_suite(sr, heap_suite());
	srunner_add_suite(sr, cache_suite());
	srunner_add_suite(sr, api_suite());
	srunner_add_suite(sr, stats_suite());
	srunner_add_suite(sr, scavenge_suite());
	srunner_add_suite(sr, errors_suite());
	srunner_add_suite(sr, misuse_suite());
	srunner_add_suite(sr, internal_suite());
	srunner_add_suite(sr, stress_suite());
	srunner_add_suite(sr, process_suite());
	srunner_set_fork_status(sr, CK_FORK); /* every test needs a fresh allocator */
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
