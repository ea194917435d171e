/* overflow.c - write K bytes (argv[2]: 1 or 32) past the end of a block, then free it. */
#include "misuse.h"

int main(int argc, char **argv)
{
	size_t n = size_arg(argc, argv), k = argc > 2 ? (size_t)atoi(argv[2]) : 1;
	char *before = block(n), *p = block(n), *after = block(n);
	say_ptr(p);
	memset(p + n, 'O', k);
	do_free(p);
	do_free(before);
	do_free(after);
	return survived(n);
}
