/*
 * ktest.c - what the self-test files share (ktest.h): the failed-check
 * count of the current case and the heap invariants every case ends with.
 */
#include "kernel.h"
#include "mm.h"
#include "ktest.h"

int ktest_failures;

/* The invariants every case ends with. */
void ktest_check_heap(const char *when)
{
	struct mm_stats st;
	mm_read_stats(&st);
	CHECK(mm_check() == 0, "%s: mm_check: %s", when, mm_check_error());
	CHECK(st.heap_sys == st.heap_inuse + st.heap_idle, "%s: heap_sys %llu != inuse %llu + idle %llu", when,
	      (unsigned long long)st.heap_sys, (unsigned long long)st.heap_inuse, (unsigned long long)st.heap_idle);
	CHECK(st.heap_released <= st.heap_idle, "%s: released %llu > idle %llu", when,
	      (unsigned long long)st.heap_released, (unsigned long long)st.heap_idle);
	CHECK(st.heap_objects == st.nmalloc - st.nfree, "%s: objects %llu != nmalloc %llu - nfree %llu", when,
	      (unsigned long long)st.heap_objects, (unsigned long long)st.nmalloc, (unsigned long long)st.nfree);
	CHECK(st.sys >= st.heap_sys, "%s: sys %llu < heap_sys %llu", when, (unsigned long long)st.sys,
	      (unsigned long long)st.heap_sys);
}

