/*
 * double_free.c - free a block twice; argv[2] says how:
 *   plain        free(p); free(p)
 *   delayed      free(p); 200 allocations and frees of other sizes; free(p)
 *   interleaved  free(p); free(q); free(p)
 *   reuse        free(p); q = malloc (usually p again); free(q); free(p)
 */
#include "misuse.h"

int main(int argc, char **argv)
{
	size_t n = size_arg(argc, argv);
	const char *how = argc > 2 ? argv[2] : "plain";
	char *p = block(n), *q = block(n);
	say_ptr(p);
	do_free(p);
	if (strcmp(how, "delayed") == 0) {
		void *other[200];
		for (int i = 0; i < 200; i++)
			other[i] = block(n < 512 ? 1000 + (size_t)i : 40 + (size_t)i % 100);
		for (int i = 0; i < 200; i++)
			do_free(other[i]);
	} else if (strcmp(how, "interleaved") == 0) {
		do_free(q);
		q = NULL;
	} else if (strcmp(how, "reuse") == 0) {
		char *r = block(n);
		do_free(r);
	}
	do_free(p);
	if (q)
		do_free(q);
	/* a missed double free hands the same block out twice */
	char *a = block(n), *b = block(n);
	if (a == b)
		printf("the same block %p handed out twice\n", (void *)a);
	return survived(n);
}
