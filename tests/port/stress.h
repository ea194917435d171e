/*
 * stress.h - the port hosts' view of the shared stress driver (the
 * interface and how to call it are in tests/lib/stress.h), and the stats
 * check the hosts share.
 */
#include "../lib/stress.h"

struct mm_stats;
/* The port hosts' check of a stats snapshot: heap_sys == heap_inuse +
 * heap_idle, heap_released <= heap_idle, heap_objects == nmalloc - nfree.
 * 0, or -1 with what is wrong in e. */
int port_stats_add_up(const struct mm_stats *st, char *e, size_t len);
