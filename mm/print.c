/*
 * print.c - message formatting for panics and errors, without libc.
 * Only what the core's messages need: %s %p %x %u %d.
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

static size_t vformat(char *buf, size_t len, const char *fmt, va_list ap)
{
	struct out o = { buf, len, 0 };
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
	if (len)
		buf[o.n < len ? o.n : len - 1] = '\0';
	return o.n;
}

size_t mm_format(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t n = vformat(buf, len, fmt, ap);
	va_end(ap);
	return n;
}

/* Format a fatal message and hand it to the host (sys.h: which panics may hold a lock). */
void mm_throw(const char *fmt, ...)
{
	static char msg[320];
	va_list ap;
	va_start(ap, fmt);
	vformat(msg, sizeof msg, fmt, ap);
	va_end(ap);
	mm_sys_panic(msg);
}
