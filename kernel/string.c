/*
 * string.c - the few libc string functions the kernel uses, and the ones
 * a compiler may call on its own (memset, memcpy, memmove, memcmp).
 */
#include "kernel.h"

void *memset(void *d, int c, size_t n)
{
	void *p = d;
	__asm__ volatile("rep stosb" : "+D"(p), "+c"(n) : "a"(c) : "memory");
	return d;
}

/* Zero one 4 KiB page, a machine word at a time (much faster under QEMU's TCG). */
void page_zero(void *page)
{
	void *p = page;
	size_t n = PAGE_SIZE / sizeof(uintptr_t);
#ifdef __x86_64__
	__asm__ volatile("rep stosq" : "+D"(p), "+c"(n) : "a"(0) : "memory");
#else
	__asm__ volatile("rep stosl" : "+D"(p), "+c"(n) : "a"(0) : "memory");
#endif
}

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *p = d;
	const unsigned char *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

void *memmove(void *d, const void *s, size_t n)
{
	unsigned char *p = d;
	const unsigned char *q = s;
	if (p < q)
		return memcpy(d, s, n);
	while (n--)
		p[n] = q[n];
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;
	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			return 0;
	}
	return 0;
}

const char *strstr(const char *h, const char *n)
{
	size_t len = strlen(n);
	for (; *h; h++)
		if (!strncmp(h, n, len))
			return h;
	return len ? NULL : h;
}

/* Decimal (or 0x hex) digits at s, with an optional K/M/G suffix. */
uint64_t katou(const char *s)
{
	uint64_t v = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		for (s += 2;; s++) {
			int d;
			if (*s >= '0' && *s <= '9')
				d = *s - '0';
			else if (*s >= 'a' && *s <= 'f')
				d = *s - 'a' + 10;
			else if (*s >= 'A' && *s <= 'F')
				d = *s - 'A' + 10;
			else
				break;
			v = v * 16 + (uint64_t)d;
		}
		return v;
	}
	for (; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (uint64_t)(*s - '0');
	if (*s == 'K' || *s == 'k')
		v *= KiB;
	else if (*s == 'M' || *s == 'm')
		v *= MiB;
	else if (*s == 'G' || *s == 'g')
		v *= GiB;
	return v;
}
