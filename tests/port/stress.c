/*
 * stress.c - the port hosts' shadow-model stress: the one copy is
 * tests/lib/stress.c (shared with the Check suite and our kernel); this
 * file keeps the old path building for the hosts that name it.
 */
#include "../lib/stress.c"
