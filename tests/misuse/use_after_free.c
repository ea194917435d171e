/* use_after_free.c - write the whole of a freed block, then allocate its size again. */
#include "misuse.h"

int main(int argc, char **argv)
{
	size_t n = size_arg(argc, argv);
	char *keep = block(n), *p = block(n);
	say_ptr(p);
	do_free(p);
	memset(p, 'F', n);
	void *a = block(n), *b = block(n), *c = block(n);
	do_free(a);
	do_free(b);
	do_free(c);
	do_free(keep);
	return survived(n);
}
