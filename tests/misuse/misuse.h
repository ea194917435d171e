/*
 * misuse.h - shared by the heap-misuse programs of tests/misuse: each
 * program is one family of misuse (overflow, double free, bad free, ...)
 * on a block of the size given as its argument.  Before the misuse it
 * prints "ptr 0x..." for the address a good report must name; if the
 * allocator lets it pass, the program goes on allocating a little and
 * exits 0 ("survived").  run.sh counts a case as caught when the process
 * ends abnormally with a message naming that address.
 *
 * malloc and free are called through volatile pointers, so the compiler
 * can neither see nor remove the misuse.
 */
#ifndef MISUSE_H
#define MISUSE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *(*volatile do_malloc)(size_t) = malloc;
static void (*volatile do_free)(void *) = free;

/* The block size from argv[1] (default 24). */
static size_t size_arg(int argc, char **argv)
{
	return argc > 1 ? (size_t)strtoul(argv[1], NULL, 0) : 24;
}

/* A block of n bytes, filled as a program would. */
static char *block(size_t n)
{
	char *p = do_malloc(n);
	if (!p) {
		fprintf(stderr, "misuse: malloc(%zu) failed\n", n);
		exit(2);
	}
	memset(p, 'a', n);
	return p;
}

/* The address the allocator's report should name. */
static void say_ptr(const void *p)
{
	printf("ptr %p\n", p);
	fflush(stdout);
}

/* The misuse was not stopped: carry on like a program would, then report survival. */
static int survived(size_t n)
{
	void *keep[8];
	for (int i = 0; i < 8; i++)
		keep[i] = block(n);
	for (int i = 0; i < 8; i++)
		do_free(keep[i]);
	printf("survived\n");
	return 0;
}

#endif
