/*
 * fakeutil.c - the helpers of fakeutil.h.
 */
#include "fakeutil.h"

#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "fakesys.h"

void init_fake_with(struct mm_config cfg)
{
	fake_reset();
	cfg.arena_policy = MM_ARENA_32;
	cfg.arena_hint = fake_addr(SIM_START);
	ck_assert_int_eq(mm_init(&cfg), 0);
}

void init_fake(void)
{
	init_fake_with((struct mm_config){0});
}

void refused_from_the_start(void)
{
	fake_reset();
	fake.refuse_reserve = 1;
	ck_assert_ptr_null(mm_malloc(16));
	ck_assert_ptr_null(mm_malloc(MiB));
	ck_assert_ptr_null(mm_calloc(10, 10));
	ck_assert_ptr_null(mm_aligned_alloc(4096, 100));
	ck_assert_ptr_null(mm_realloc(NULL, 100));
	ck_assert_int_eq(mm_check(), 0);
	struct mm_stats st = stats();
	ck_assert_uint_eq(st.heap_sys, st.heap_inuse + st.heap_idle);
	ck_assert_uint_eq(st.heap_objects, 0);
}

void no_violations(void)
{
	REQUIRE(fake.nviolations == 0, "Sys contract violated %d times; first: %s",
		fake.nviolations, fake.violation);
}

TCase *fake_fixture(TCase *tc, void (*setup)(void))
{
	tcase_add_checked_fixture(tc, setup, no_violations);
	return tc;
}

int contains_hex(const char *s, uintptr_t v)
{
	char hex[32];
	snprintf(hex, sizeof hex, "0x%lx", (unsigned long)v);
	return s && strstr(s, hex) != NULL;
}
