/*
 * bad_free.c - free a pointer malloc never returned; argv[2] says which:
 *   stack      a local array
 *   alloca     memory from alloca
 *   unaligned  one byte into a block
 *   far        16 MiB past a block
 */
#include <alloca.h>

#include "misuse.h"

int main(int argc, char **argv)
{
	size_t n = size_arg(argc, argv);
	const char *what = argc > 2 ? argv[2] : "stack";
	char local[8192] __attribute__((aligned(16)));
	char *p;
	if (strcmp(what, "alloca") == 0) {
		p = alloca(n);
	} else if (strcmp(what, "unaligned") == 0) {
		p = block(n) + 1;
	} else if (strcmp(what, "far") == 0) {
		p = block(n) + (16 << 20);
	} else {
		p = local;
	}
	if (strcmp(what, "far") != 0)
		memset(p, 's', n < sizeof local - 1 ? n : sizeof local - 1);
	say_ptr(p);
	do_free(p);
	return survived(n);
}
