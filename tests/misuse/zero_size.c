/* zero_size.c - write K bytes (argv[1]: 1, 8 or 16) into a block of malloc(0), then free it. */
#include "misuse.h"

int main(int argc, char **argv)
{
	size_t k = size_arg(argc, argv);
	char *keep = block(24), *p = do_malloc(0);
	if (!p)
		return 2;
	say_ptr(p);
	memset(p, 'Z', k);
	do_free(p);
	do_free(keep);
	return survived(24);
}
