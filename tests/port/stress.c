/*
 * stress.c - the port hosts' shadow-model stress: the one copy is
 * tests/lib/stress.c (shared with the Check suite and our kernel); this
 * file keeps the old path building for the hosts that name it, and adds
 * the hosts' stats check (stress.h).
 */
#include "../lib/stress.c"

#include <stdio.h>

#include "../../mm/mm.h"
#include "stress.h"

int port_stats_add_up(const struct mm_stats *st, char *e, size_t len)
{
	if (st->heap_sys != st->heap_inuse + st->heap_idle) {
		snprintf(e, len, "heap_sys %llu != inuse %llu + idle %llu",
			 (unsigned long long)st->heap_sys, (unsigned long long)st->heap_inuse,
			 (unsigned long long)st->heap_idle);
		return -1;
	}
	if (st->heap_released > st->heap_idle) {
		snprintf(e, len, "heap_released %llu > heap_idle %llu",
			 (unsigned long long)st->heap_released, (unsigned long long)st->heap_idle);
		return -1;
	}
	if (st->heap_objects != st->nmalloc - st->nfree) {
		snprintf(e, len, "heap_objects %llu != nmalloc %llu - nfree %llu",
			 (unsigned long long)st->heap_objects, (unsigned long long)st->nmalloc,
			 (unsigned long long)st->nfree);
		return -1;
	}
	return 0;
}
