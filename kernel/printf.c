/*
 * printf.c - the kernel's own small printf: %d %i %u %x %X %p %s %c %%,
 * flags '-' and '0', a field width, and the l, ll and z length modifiers.
 * Output goes through a sink so kprintf and ksnprintf share the formatter.
 */
#include "kernel.h"

struct sink {
	char *buf;   /* NULL: the console */
	size_t size; /* capacity of buf */
	size_t n;    /* characters produced so far */
};

static void put(struct sink *s, char c)
{
	if (!s->buf)
		console_putc(c);
	else if (s->n + 1 < s->size)
		s->buf[s->n] = c;
	s->n++;
}

static void put_padded(struct sink *s, const char *str, size_t len, int width, int left, char pad)
{
	int fill = width > (int)len ? width - (int)len : 0;
	if (!left)
		while (fill-- > 0)
			put(s, pad);
	for (size_t i = 0; i < len; i++)
		put(s, str[i]);
	if (left)
		while (fill-- > 0)
			put(s, ' ');
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
	static const char lower[] = "0123456789abcdef", upper[] = "0123456789ABCDEF";

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(s, *fmt);
			continue;
		}
		int left = 0, width = 0, lng = 0;
		char pad = ' ';
		for (fmt++; *fmt == '-' || *fmt == '0'; fmt++) {
			if (*fmt == '-')
				left = 1;
			else
				pad = '0';
		}
		for (; *fmt >= '0' && *fmt <= '9'; fmt++)
			width = width * 10 + (*fmt - '0');
		for (; *fmt == 'l' || *fmt == 'z'; fmt++)
			lng += *fmt == 'z' ? (sizeof(size_t) == 8 ? 2 : 0) : 1;

		char tmp[24], *end = tmp + sizeof(tmp), *p = end;
		uint64_t v = 0;
		int neg = 0, base = 10;
		const char *digits = lower;
		switch (*fmt) {
		case 'c':
			tmp[0] = (char)va_arg(ap, int);
			put_padded(s, tmp, 1, width, left, ' ');
			continue;
		case 's': {
			const char *str = va_arg(ap, const char *);
			if (!str)
				str = "(null)";
			put_padded(s, str, strlen(str), width, left, ' ');
			continue;
		}
		case 'd':
		case 'i': {
			int64_t x = lng >= 2 ? va_arg(ap, long long) : lng ? va_arg(ap, long) : va_arg(ap, int);
			neg = x < 0;
			v = neg ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
			break;
		}
		case 'p':
			v = (uintptr_t)va_arg(ap, void *);
			base = 16;
			break;
		case 'X':
			digits = upper;
			/* fall through */
		case 'x':
			base = 16;
			/* fall through */
		case 'u':
			v = lng >= 2 ? va_arg(ap, unsigned long long) : lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
			break;
		case '%':
			put(s, '%');
			continue;
		default:
			put(s, '%');
			put(s, *fmt ? *fmt : '?');
			if (!*fmt)
				return;
			continue;
		}
		do {
			if (base == 16) {
				*--p = digits[v & 15];
				v >>= 4;
			} else {
				*--p = digits[v % 10];
				v /= 10;
			}
		} while (v);
		if (*fmt == 'p') {
			*--p = 'x';
			*--p = '0';
		}
		if (neg) {
			if (pad == '0' && width > 0) {
				put(s, '-');
				width--;
			} else {
				*--p = '-';
			}
		}
		put_padded(s, p, (size_t)(end - p), width, left, pad);
	}
}

/* One CPU prints at a time; a CPU that faults or panics while printing
 * (it already holds the lock) prints on. */
static volatile uintptr_t console_lock;

int kvprintf(const char *fmt, va_list ap)
{
	struct sink s = { NULL, 0, 0 };
	int mine = !spin_held(&console_lock);
	uintptr_t f = mine ? spin_lock_word(&console_lock) : 0;
	format(&s, fmt, ap);
	if (mine)
		spin_unlock_word(&console_lock, f);
	return (int)s.n;
}

int kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = kvprintf(fmt, ap);
	va_end(ap);
	return n;
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink s = { buf, size, 0 };
	format(&s, fmt, ap);
	if (size)
		buf[s.n < size ? s.n : size - 1] = 0;
	return (int)s.n;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
