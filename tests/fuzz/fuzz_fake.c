/*
 * fuzz_fake.c - libFuzzer harness on the core with the fake Sys backend
 * (tests/fakesys): a simulated 4 GiB address space that refuses on demand.
 * Besides the common operations (fuzz.h) the input can make the host refuse
 * reservations or mappings for a few operations (or cap the memory it maps),
 * take address ranges away (at the arena's end, or anywhere), switch between
 * an explicit cache and none, flush or replace the cache, move the clock, let
 * the heap run scavenger passes itself (mm_auto_scavenge), and make released
 * pages keep their contents (as Darwin's MADV_FREE does).
 * Out of memory must give NULL and lose nothing: the heap stays whole, every
 * live block keeps its contents, the host's mapped bytes equal the core's
 * sys - heap_released, and once the refusal ends a small allocation works.
 * FUZZ_ARENA=32 (default) uses the 32-bit arena policy, FUZZ_ARENA=chunks
 * the chunk policy with 1 MiB chunks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "fakesys.h"

#define MiB ((uint64_t)1 << 20)

enum { OP_REFUSE = FZ_NOPS, OP_TAKE_END, OP_TAKE_ANY, OP_CACHE, OP_CLOCK, OP_KEEPS_DATA, OP_AUTO, NOPS };

static struct mm_cache *cache;
static int refusing;            /* operations left with the host refusing */
static struct { uintptr_t s; size_t n; } taken[32];
static int ntaken;

/*
 * With at most 256 MiB live, a request up to 16 MiB (alignment included) must
 * succeed unless the host is refusing or ranges were taken away: the 2 GiB
 * window then always has room for it.
 */
static int may_fail(const struct fz_world *w, size_t n, size_t align)
{
	return refusing || ntaken || n + align > 16 * MiB || w->live_bytes > 256 * MiB;
}

/* The host's view agrees with the core's, and the host saw no bad call. */
static void check_host(struct fz_world *w, const char *where)
{
	fz_check_heap(w, where);
	struct mm_stats st;
	mm_read_stats(&st);
	if (fake.mapped != st.sys - st.heap_released)
		fz_fail("%s: the host has %llu bytes mapped, the core says sys %llu - released %llu",
			where, (unsigned long long)fake.mapped, (unsigned long long)st.sys,
			(unsigned long long)st.heap_released);
	if (fake.nviolations)
		fz_fail("%s: contract violation seen by the host: %s", where, fake.violation);
}

static void refuse(struct fz_in *in)
{
	uint8_t mode = fz_u8(in) % 4;
	refusing = 1 + fz_u8(in) % 8;
	if (mode == 0 || mode == 3)
		fake.refuse_map = 1;
	if (mode == 1 || mode == 3)
		fake.refuse_reserve = 1;
	if (mode == 2)
		fake.map_budget = fake.mapped + (uint64_t)(fz_u8(in) % 64) * 64 * 1024 + 1;
}

/* The refusal is over: the heap lost nothing and works again. */
static void lift(struct fz_world *w)
{
	fake.refuse_map = fake.refuse_reserve = 0;
	fake.map_budget = 0;
	check_host(w, "after the host refused");
	if (ntaken)
		return;
	void *p = mm_malloc(64);
	if (!p)
		fz_fail("malloc(64) fails after the host stopped refusing");
	mm_free(p);
	w->nmalloc++;
}

/* Take [s, s+n) (simulated) away from the core, if nobody holds any of it. */
static void take(uintptr_t s, size_t n)
{
	if (ntaken == 32 || s >= FAKE_SPACE || n > FAKE_SPACE - s || fake_reserved_in(s, n))
		return;
	fake_take(s, n);
	taken[ntaken].s = s;
	taken[ntaken++].n = n;
}

static void cache_op(struct fz_in *in)
{
	switch (fz_u8(in) % 4) {
	case 0: /* no cache: every small object through central */
		fake.cache = 0;
		break;
	case 1:
		if (!cache)
			cache = mm_cache_new();
		fake.cache = cache;
		break;
	case 2:
		if (cache)
			mm_cache_flush(cache);
		break;
	default: /* a new cache in place of the old */
		fake.cache = 0;
		mm_cache_release(cache);
		cache = mm_cache_new();
		fake.cache = cache;
		break;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	const char *a = getenv("FUZZ_ARENA");
	struct mm_config cfg = { .arena_policy = MM_ARENA_32 };
	if (a && strcmp(a, "chunks") == 0)
		cfg = (struct mm_config){ .arena_policy = MM_ARENA_CHUNKS, .arena_size = MiB };
	fake_reset();
	if (mm_init(&cfg) != 0)
		fz_fail("mm_init failed on the fake host");
	cache = mm_cache_new();
	fake.cache = cache;
	fz_report_at_exit(a && strcmp(a, "chunks") == 0 ? "fake-chunks" : "fake");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_world w;
	struct fz_in in = { data, size, 0 };
	fz_world_begin(&w, 1, (uint64_t)4 << 30, may_fail); /* more than the window: large requests may fail */
	while (fz_more(&in)) {
		unsigned op = fz_u8(&in) % NOPS;
		struct mm_stats st;
		switch (op) {
		case OP_REFUSE:
			if (!refusing)
				refuse(&in);
			break;
		case OP_TAKE_END:
			mm_read_stats(&st);
			if (st.arena_end)
				take(fake_sim(st.arena_end), (1 + fz_u8(&in) % 4) * 64 * MiB);
			break;
		case OP_TAKE_ANY:
			take((uintptr_t)(fz_u8(&in) % 16) * 256 * MiB, 256 * MiB);
			break;
		case OP_CACHE: cache_op(&in); break;
		case OP_CLOCK: fake.now += (uint64_t)fz_u32(&in) * 1000; break;
		case OP_KEEPS_DATA: fake.unused_keeps_data = fz_u8(&in) & 1; break;
		case OP_AUTO: /* passes from the heap's own slow path (0: none) */
			mm_auto_scavenge(fz_u8(&in) & 1 ? 0 : (uint64_t)fz_u16(&in) * 1000000);
			break;
		default: fz_op(&w, &in, op); break;
		}
		if (refusing && --refusing == 0)
			lift(&w);
		if (w.ops % 16 == 0)
			check_host(&w, "every 16 operations");
	}
	if (refusing) {
		refusing = 0;
		lift(&w);
	}
	fz_free_all(&w);
	check_host(&w, "end of input");
	while (ntaken) {
		ntaken--;
		fake_untake(taken[ntaken].s, taken[ntaken].n);
	}
	fake.ncalls = 0; /* the call log is for the Check suites; keep it from filling */
	return 0;
}
