/*
 * print.c - message formatting for panics and errors, without libc.
 * Only what the core's messages need: %s %p %x %u %d.  mm_throw (internal.h)
 * formats into mm_throw_msg with mm_format and panics.
 */
#include <stdarg.h>
#include "internal.h"

struct out {
	char *buf;
	size_t len, n;
};

static void put(struct out *o, char c)
{
	if (o->n + 1 < o->len)
		o->buf[o->n] = c;
	o->n++;
}

static void putnum(struct out *o, uintptr_t v, unsigned base)
{
	char tmp[3 * sizeof v];
	int i = 0;
	do {
		tmp[i++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (i)
		put(o, tmp[--i]);
}

size_t mm_format(char *buf, size_t len, const char *fmt, ...)
{
	struct out o = { buf, len, 0 };
	va_list ap;
	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		switch (*++fmt) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			for (s = s ? s : "(null)"; *s; s++)
				put(&o, *s);
			break;
		}
		case 'p':
			put(&o, '0');
			put(&o, 'x');
			putnum(&o, (uintptr_t)va_arg(ap, void *), 16);
			break;
		case 'x':
			putnum(&o, va_arg(ap, uintptr_t), 16);
			break;
		case 'u':
			putnum(&o, va_arg(ap, uintptr_t), 10);
			break;
		case 'd': {
			int d = va_arg(ap, int);
			if (d < 0) {
				put(&o, '-');
				d = -d;
			}
			putnum(&o, (uintptr_t)d, 10);
			break;
		}
		case '\0':
			fmt--;
			break;
		default:
			put(&o, *fmt);
		}
	}
	va_end(ap);
	if (len)
		buf[o.n < len ? o.n : len - 1] = '\0';
	return o.n;
}

char mm_throw_msg[320];
