/*
 * liballoc_like.c - the liballoc-style baseline (liballoc_like.h has the
 * algorithm and the host hooks).  Freestanding: no library calls.
 */
#include "liballoc_like.h"

#define LA_MAGIC 0x4c414c41u /* "LALA" */
#define LA_DEAD 0xdeadf4eeu  /* a freed minor */

struct minor;

struct major {
	struct major *prev, *next;
	size_t pages;
	size_t size;         /* bytes, this header included */
	size_t usage;        /* bytes taken: this header, minors' headers and bytes */
	struct minor *first; /* minors in address order */
};

struct minor {
	struct minor *prev, *next;
	struct major *block;
	uint32_t magic;
	size_t size; /* the caller's bytes, rounded up to LA_ALIGN */
};

#define ROUND(x, a) (((x) + (a) - 1) & ~(uintptr_t)((a) - 1))
#define MAJ_HDR ROUND(sizeof(struct major), LA_ALIGN)
#define MIN_HDR ROUND(sizeof(struct minor), LA_ALIGN)

static struct major *root;     /* majors, in the order they were added */
static struct major *best_bet; /* the major with the most free room we have seen */
static struct la_stats stats;

static size_t room(const struct major *m) { return m->size - m->usage; }

/* A major for at least one request of size bytes at align, linked after prev
 * (or as the root); NULL when the host has no pages. */
static struct major *new_major(struct major *prev, size_t size, size_t align)
{
	size_t pages = (MAJ_HDR + MIN_HDR + align + size + LA_PAGE - 1) / LA_PAGE;
	if (pages < LA_MAJOR_PAGES)
		pages = LA_MAJOR_PAGES;
	struct major *m = la_host_pages(pages);
	if (!m)
		return NULL;
	m->prev = prev;
	m->next = NULL;
	m->pages = pages;
	m->size = pages * LA_PAGE;
	m->usage = MAJ_HDR;
	m->first = NULL;
	if (prev)
		prev->next = m;
	else
		root = m;
	stats.majors++;
	stats.pages += pages;
	return m;
}

static struct minor *put_minor(struct major *m, uintptr_t at, struct minor *prev, struct minor *next, size_t size)
{
	struct minor *n = (struct minor *)at;
	n->prev = prev;
	n->next = next;
	n->block = m;
	n->magic = LA_MAGIC;
	n->size = size;
	if (prev)
		prev->next = n;
	else
		m->first = n;
	if (next)
		next->prev = n;
	m->usage += MIN_HDR + size;
	return n;
}

/* First fit inside m: before the first minor, between two, or after the
 * last; the caller's bytes aligned to align. */
static struct minor *place(struct major *m, size_t size, size_t align)
{
	uintptr_t gap = (uintptr_t)m + MAJ_HDR, end = (uintptr_t)m + m->size;
	struct minor *before = NULL, *n = m->first;
	for (;;) {
		uintptr_t gap_end = n ? (uintptr_t)n : end;
		uintptr_t user = ROUND(gap + MIN_HDR, align);
		if (user + size <= gap_end)
			return put_minor(m, user - MIN_HDR, before, n, size);
		if (!n)
			return NULL;
		gap = (uintptr_t)n + MIN_HDR + n->size;
		before = n;
		n = n->next;
	}
}

void *la_memalign(size_t align, size_t n)
{
	if (align < LA_ALIGN)
		align = LA_ALIGN;
	if (n == 0)
		n = 1;
	if (n > SIZE_MAX / 4 || (align & (align - 1)))
		return NULL;
	size_t size = ROUND(n, LA_ALIGN), need = MIN_HDR + size;
	struct minor *got = NULL;
	la_host_lock();

	if (!root && !new_major(NULL, size, align))
		goto out;
	/* From the best bet when it has room; past the last major, back to the
	 * first once (if we started at the bet), then a new major at the end. */
	int from_bet = best_bet && room(best_bet) >= need;
	struct major *m = from_bet ? best_bet : root;
	for (;;) {
		if (room(m) >= need && (got = place(m, size, align)) != NULL)
			break;
		if (!best_bet || room(m) > room(best_bet))
			best_bet = m;
		if (!m->next && from_bet) {
			from_bet = 0;
			m = root;
			continue;
		}
		if (!m->next && !new_major(m, size, align))
			goto out;
		m = m->next;
	}
	if (!best_bet || room(m) > room(best_bet))
		best_bet = m;
	stats.objects++;
	stats.bytes += size;
	stats.nmalloc++;
out:
	la_host_unlock();
	return got ? (char *)got + MIN_HDR : NULL;
}

void *la_malloc(size_t n)
{
	return la_memalign(LA_ALIGN, n);
}

/* The minor of p, or NULL (after telling the host) if p is not a live block. */
static struct minor *minor_of(const void *p, const char *who)
{
	struct minor *n = (struct minor *)((uintptr_t)p - MIN_HDR);
	if ((uintptr_t)p % LA_ALIGN || !la_host_owns(p)) {
		la_host_bad_pointer(who, p, "not a liballoc-like pointer");
		return NULL;
	}
	if (n->magic != LA_MAGIC) {
		la_host_bad_pointer(who, p, n->magic == LA_DEAD ? "freed twice" : "bad magic (corrupt)");
		return NULL;
	}
	return n;
}

void la_free(void *p)
{
	if (!p)
		return;
	struct minor *n = minor_of(p, "la_free");
	if (!n)
		return;
	la_host_lock();
	struct major *m = n->block;

	n->magic = LA_DEAD;
	if (n->prev)
		n->prev->next = n->next;
	else
		m->first = n->next;
	if (n->next)
		n->next->prev = n->prev;
	m->usage -= MIN_HDR + n->size;
	stats.objects--;
	stats.bytes -= n->size;
	stats.nfree++;

	if (!m->first && (m->prev || m->next)) { /* empty, and not the only one */
		if (m->prev)
			m->prev->next = m->next;
		else
			root = m->next;
		if (m->next)
			m->next->prev = m->prev;
		if (best_bet == m)
			best_bet = NULL;
		stats.majors--;
		stats.pages -= m->pages;
		la_host_unpages(m, m->pages);
	} else if (!best_bet || room(m) > room(best_bet)) {
		best_bet = m;
	}
	la_host_unlock();
}

void *la_realloc(void *p, size_t n)
{
	if (!p)
		return la_malloc(n);
	if (n == 0) {
		la_free(p);
		return NULL;
	}
	struct minor *m = minor_of(p, "la_realloc");
	if (!m)
		return NULL;
	size_t want = ROUND(n, LA_ALIGN);
	la_host_lock();
	/* grow or shrink in place when the gap after the block allows */
	uintptr_t limit = m->next ? (uintptr_t)m->next : (uintptr_t)m->block + m->block->size;
	if ((uintptr_t)p + want <= limit) {
		m->block->usage = m->block->usage - m->size + want;
		stats.bytes = stats.bytes - m->size + want;
		m->size = want;
		la_host_unlock();
		return p;
	}
	size_t old = m->size;
	la_host_unlock();
	unsigned char *q = la_malloc(n);
	if (!q)
		return NULL;
	for (size_t i = 0; i < (old < n ? old : n); i++)
		q[i] = ((unsigned char *)p)[i];
	la_free(p);
	return q;
}

size_t la_usable_size(void *p)
{
	struct minor *m = p ? minor_of(p, "la_usable_size") : NULL;
	return m ? m->size : 0;
}

void la_read_stats(struct la_stats *st)
{
	la_host_lock();
	*st = stats;
	la_host_unlock();
}

/* Walk every major and minor; NULL if consistent, else what is wrong. */
const char *la_check(void)
{
	const char *bad = NULL;
	size_t majors = 0, objects = 0, bytes = 0, pages = 0;
	la_host_lock();

	for (struct major *m = root; m && !bad; m = m->next) {
		majors++;
		pages += m->pages;
		if (m->next && m->next->prev != m)
			bad = "major list links broken";
		size_t usage = MAJ_HDR;
		uintptr_t lo = (uintptr_t)m + MAJ_HDR, end = (uintptr_t)m + m->size;
		for (struct minor *n = m->first; n && !bad; n = n->next) {
			if (n->magic != LA_MAGIC || n->block != m)
				bad = "minor with a bad magic or major";
			else if ((uintptr_t)n < lo || (uintptr_t)n + MIN_HDR + n->size > end)
				bad = "minor out of order or past its major";
			else if (n->next && n->next->prev != n)
				bad = "minor list links broken";
			lo = (uintptr_t)n + MIN_HDR + n->size;
			usage += MIN_HDR + n->size;
			objects++;
			bytes += n->size;
		}
		if (!bad && usage != m->usage)
			bad = "major usage does not match its minors";
	}
	if (!bad && majors != stats.majors)
		bad = "count of majors differs from the stats";
	if (!bad && (objects != stats.objects || bytes != stats.bytes))
		bad = "count of objects or bytes differs from the stats";
	if (!bad && pages != stats.pages)
		bad = "count of pages differs from the stats";
	la_host_unlock();
	return bad;
}
