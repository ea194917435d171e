/*
 * mem.c - mm_memset and mm_memcpy, so that the core needs no libc.  Weak:
 * a host with faster ones (the hosted build: libc's) defines its own.
 */
#include "internal.h"

/* Never let the compiler turn these loops into calls to memset/memcpy, whatever the flags. */
#if defined(__clang__)
#define NO_LIBCALL __attribute__((no_builtin))
#else
#define NO_LIBCALL __attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif

__attribute__((weak)) NO_LIBCALL void *mm_memset(void *d, int c, size_t n)
{
	unsigned char *p = d;
	uintptr_t w = (unsigned char)c;
	w |= w << 8;
	w |= w << 16;
	if (sizeof w > 4)
		w |= (w << 16) << 16;
	while (n && ((uintptr_t)p & (sizeof w - 1))) {
		*p++ = (unsigned char)c;
		n--;
	}
	for (; n >= sizeof w; n -= sizeof w, p += sizeof w)
		*(uintptr_t *)(void *)p = w;
	while (n--)
		*p++ = (unsigned char)c;
	return d;
}

__attribute__((weak)) NO_LIBCALL void *mm_memcpy(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;
	if ((((uintptr_t)dp | (uintptr_t)sp) & (sizeof(uintptr_t) - 1)) == 0) {
		for (; n >= sizeof(uintptr_t); n -= sizeof(uintptr_t)) {
			*(uintptr_t *)(void *)dp = *(const uintptr_t *)(const void *)sp;
			dp += sizeof(uintptr_t);
			sp += sizeof(uintptr_t);
		}
	}
	while (n--)
		*dp++ = *sp++;
	return d;
}
