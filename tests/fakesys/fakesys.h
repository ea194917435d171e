/*
 * fakesys.h - a fake Sys backend (mm/sys.h) for tests that need to steer the
 * host: a simulated 4 GiB address space, a controllable clock, a panic hook
 * that returns to the test, refusals on demand, and a log of every call.
 *
 * The simulated space is one real PROT_NONE reservation of FAKE_SPACE bytes;
 * a "simulated address" s corresponds to the real address fake_base() + s.
 * Pages are free, reserved by the core, or taken by "someone else" (a test
 * marks them so, to refuse hints).  mm_sys_map makes pages readable and
 * writable; mm_sys_unused makes them inaccessible again, so a core that
 * touches memory it gave back faults at once.
 */
#ifndef FAKESYS_H
#define FAKESYS_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

struct mm_cache;

#define FAKE_SPACE ((uintptr_t)4 << 30)   /* the simulated address space */
/*
 * The host's page granule: every reserve/map/unused/free range must be
 * aligned to it, or the call is a contract violation.  The core's page
 * (MM_PAGE_SIZE) by default; test-host-page16k builds the core with
 * MM_PAGE_SHIFT=14 and this with -DFAKE_GRANULE=16384, a host with 16 KiB
 * pages (aarch64, Apple silicon).
 */
#ifndef FAKE_GRANULE
#define FAKE_GRANULE MM_PAGE_SIZE
#endif
#define FAKE_MAXCALLS 4096

enum { FAKE_RESERVE = 'R', FAKE_MAP = 'M', FAKE_UNUSED = 'U', FAKE_FREE = 'F' };

struct fake_call {
	char op;          /* FAKE_RESERVE, ... */
	uintptr_t hint;   /* reserve: the hint (real address, 0 for none) */
	uintptr_t v;      /* the range (real address); reserve: the result */
	size_t n;
	int ret;          /* map: 0/-1; unused: its return */
};

struct fake {
	/* set by the test */
	int refuse_reserve;        /* every reserve fails */
	int refuse_map;            /* every map fails */
	uint64_t map_budget;       /* if nonzero: map fails once this many bytes are mapped */
	int unused_keeps_data;     /* 1: unused keeps contents and returns 0 (Darwin MADV_FREE) */
	int dirty_maps;            /* 1: map fills never-mapped pages with 0xdb (memory not zeroed) */
	struct mm_cache *cache;    /* what mm_sys_cache_get returns */
	uint64_t now;              /* what mm_sys_nanotime returns */

	/* recorded */
	struct fake_call calls[FAKE_MAXCALLS];
	int ncalls;
	uint64_t mapped;           /* bytes currently mapped */
	uint64_t nlocks;           /* mm_sys_lock calls */
	int held;                  /* core locks held right now */
	int panic_held;            /* core locks held at the last panic */
	int nviolations;           /* contract violations seen (see violation) */
	char violation[256];       /* the first one */

	/* panic hook: when armed, mm_sys_panic records msg and longjmps to panic_jmp */
	int panic_armed;
	jmp_buf panic_jmp;
	char panic_msg[512];
	int npanics;
};
extern struct fake fake;

/* Reset the space (everything free, unmapped) and all settings and logs. */
void fake_reset(void);
/* Real address of simulated address s, and back. */
uintptr_t fake_addr(uintptr_t s);
uintptr_t fake_sim(uintptr_t real);
/* Mark [s, s+n) (simulated) taken by someone else: reserve will not hand it out. */
void fake_take(uintptr_t s, size_t n);
/* The next reserve without a hint ("anywhere") that asks for at least min_n
 * bytes is placed at simulated address s if that range is free (one shot).
 * Otherwise, and for a hint that cannot be honoured, the highest free range
 * is used, as Linux mmap does. */
void fake_place_next(size_t min_n, uintptr_t s);
/* Number of recorded calls of kind op. */
int fake_count(char op);
/* Mark [s, s+n) (simulated) free again (undo fake_take). */
void fake_untake(uintptr_t s, size_t n);
/* Bytes currently reserved by the core in [s, s+n) (simulated). */
uint64_t fake_reserved_in(uintptr_t s, size_t n);
/* 1 if every byte of [p, p+n) is currently mapped. */
int fake_is_mapped(const void *p, size_t n);

/*
 * EXPECT_PANIC(stmt): run stmt, which must end in mm_sys_panic; the message
 * is left in fake.panic_msg.  Fails the test if stmt returns.
 */
#define EXPECT_PANIC(stmt)                                                    \
	do {                                                                  \
		fake.panic_msg[0] = 0;                                        \
		fake.panic_armed = 1;                                         \
		if (setjmp(fake.panic_jmp) == 0) {                            \
			stmt;                                                 \
			fake.panic_armed = 0;                                 \
			ck_abort_msg("no panic from: %s", #stmt);             \
		}                                                             \
		fake.panic_armed = 0;                                         \
	} while (0)

#endif
