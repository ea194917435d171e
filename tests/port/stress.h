/*
 * stress.h - the port hosts' view of the shared stress driver: the
 * interface and how to call it are in tests/lib/stress.h.
 */
#include "../lib/stress.h"
