/*
 * fuzz_host.c - libFuzzer harness on the hosted core with its real Sys
 * backend (mm/hosted: mmap, mprotect, madvise).  The input is a sequence of
 * operations (fuzz.h) run against the shadow model; every request the host
 * has memory for must succeed.  The arena is made of 64 MiB reservations
 * (instead of one of 64 GiB) so that growth across reservations happens
 * often, and one operation of its own puts a mapping right at the arena's
 * end, so the next reservation cannot be contiguous.
 */
#include <stdio.h>
#include <sys/mman.h>

#include "fuzz.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define ARENA_SIZE ((size_t)64 << 20)
#define GiB ((uint64_t)1 << 30)

enum { OP_BLOCK_END = FZ_NOPS, NOPS };

static void *blocker[16];
static int nblockers;

/* Map a page at the arena's end: the next growth must reserve elsewhere. */
static void block_arena_end(void)
{
	struct mm_stats st;
	mm_read_stats(&st);
	if (nblockers == 16 || !st.arena_end)
		return;
	void *want = (void *)st.arena_end;
	void *p = mmap(want, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		return;
	if (p != want) { /* a kernel without MAP_FIXED_NOREPLACE put it elsewhere */
		munmap(p, 4096);
		return;
	}
	blocker[nblockers++] = p;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	struct mm_config cfg = { .arena_policy = MM_ARENA_64, .arena_size = ARENA_SIZE };
	if (mm_init(&cfg) != 0)
		fz_fail("mm_init refused the first %zu-byte reservation", ARENA_SIZE);
	fz_report_at_exit("host");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_world w;
	struct fz_in in = { data, size, 0 };
	fz_world_begin(&w, 1, 4 * GiB, NULL); /* the real host has memory for all asked below the cap */
	while (fz_more(&in)) {
		unsigned op = fz_u8(&in) % NOPS;
		if (op == OP_BLOCK_END)
			block_arena_end();
		else
			fz_op(&w, &in, op);
		if (w.ops % 16 == 0)
			fz_check_heap(&w, "every 16 operations");
	}
	fz_free_all(&w);
	fz_check_heap(&w, "end of input");
	while (nblockers)
		munmap(blocker[--nblockers], 4096);
	/* Memory the input touched goes back, so long runs keep a small RSS. */
	struct mm_stats st;
	mm_read_stats(&st);
	if (st.heap_idle - st.heap_released > (uint64_t)256 << 20)
		mm_scavenge(0);
	return 0;
}
