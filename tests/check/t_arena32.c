/*
 * t_arena32.c - the 32-bit arena policy in a simulated 4 GiB address space
 * (tests/fakesys): the first reservation at the hint, contiguous growth at
 * arena_end in 256 MiB steps, the fallback to "anywhere" when the range at
 * arena_end is taken, refusal of memory outside [arena_start, arena_start +
 * 2 GiB) (given back, with a message naming the address and the window),
 * NULL past MaxArena32 with nothing already allocated disturbed, the 64-bit
 * policy falling back to 32 when its reservation is refused, and chunked
 * arenas scattered over the space.
 */

#include "testutil.h"
#include "fakesys.h"
#include "fakeutil.h"

#define STEP32 ((uintptr_t)256 << 20)
#define WINDOW ((uintptr_t)2 << 30)

static void init32(uintptr_t sim_hint)
{
	struct mm_config cfg = {.arena_policy = MM_ARENA_32, .arena_hint = fake_addr(sim_hint)};
	ck_assert_int_eq(mm_init(&cfg), 0);
}

static uintptr_t round_step(uintptr_t n) { return (n + STEP32 - 1) / STEP32 * STEP32; }

/* Mark the first and last page of a block so that later damage shows. */
static void mark(char *p, size_t n, uint32_t seed)
{
	pattern_fill(p, PAGE, seed);
	pattern_fill_at(p, n - PAGE, PAGE, seed);
}

static void check_mark(char *p, size_t n, uint32_t seed)
{
	REQUIRE(pattern_check(p, PAGE, seed) < 0 && pattern_check_at(p, n - PAGE, PAGE, seed) < 0,
		      "block %p (%zu B) lost its contents", (void *)p, n);
}

/* The last reserve call (from index from) with this hint, or -1. */
static int find_reserve(int from, uintptr_t hint, size_t min_n)
{
	int k = -1;
	for (int i = from; i < fake.ncalls; i++)
		if (fake.calls[i].op == FAKE_RESERVE && fake.calls[i].hint == hint && fake.calls[i].n >= min_n)
			k = i;
	return k;
}

/* Was [v, v+n) given back with mm_sys_free after call index from? */
static int freed_after(int from, uintptr_t v, size_t n)
{
	for (int i = from + 1; i < fake.ncalls; i++)
		if (fake.calls[i].op == FAKE_FREE && fake.calls[i].v == v && fake.calls[i].n == n)
			return 1;
	return 0;
}

START_TEST(first_reservation_is_256_mib_at_the_hint)
{
	init32(SIM_START);
	void *p = mm_malloc(100);
	ck_assert_ptr_nonnull(p);
	int k = find_reserve(0, fake_addr(SIM_START), 1);
	REQUIRE(k >= 0, "no reservation at the hint");
	ck_assert_uint_eq(fake.calls[k].v, fake_addr(SIM_START));
	ck_assert_uint_eq(fake.calls[k].n, STEP32);
	struct mm_stats st = stats();
	ck_assert_int_eq(st.arena_policy, MM_ARENA_32);
	ck_assert_uint_eq(st.arena_start, fake_addr(SIM_START));
	ck_assert_uint_eq(st.arena_end, fake_addr(SIM_START) + STEP32);
	REQUIRE((uintptr_t)p >= st.arena_start && (uintptr_t)p < st.arena_end, "%p outside the arena", p);
	STEP();
}
END_TEST

START_TEST(arena_grows_contiguously_at_arena_end_in_256_mib_steps)
{
	init32(SIM_START);
	size_t sizes[] = {100 * MiB, 100 * MiB, 100 * MiB, 600 * MiB, 30 * MiB, 300 * MiB, 17 * MiB + 5};
	enum { N = sizeof sizes / sizeof sizes[0] };
	char *blk[N];
	for (int i = 0; i < N; i++) {
		struct mm_stats st = stats();
		uintptr_t end = st.arena_end ? st.arena_end : fake_addr(SIM_START) + STEP32;
		uintptr_t used = st.arena_used ? st.arena_used : fake_addr(SIM_START);
		size_t n = (sizes[i] + PAGE - 1) / PAGE * PAGE;
		int before = fake.ncalls;
		blk[i] = mm_malloc(sizes[i]);
		REQUIRE(blk[i] != NULL, "malloc(%zu) = NULL with the arena at %lu MiB of 2048",
			      sizes[i], (unsigned long)((end - fake_addr(SIM_START)) >> 20));
		struct mm_stats st2 = stats();
		int k = find_reserve(before, end, 1);
		if (n > end - used) {
			uintptr_t want = round_step(n - (end - used));
			REQUIRE(k >= 0, "malloc(%zu): %lu B left, no reservation at arena_end", sizes[i],
				      (unsigned long)(end - used));
			REQUIRE(fake.calls[k].n == want,
				      "malloc(%zu) with %lu B left: reserved %lu B at arena_end, want %lu",
				      sizes[i], (unsigned long)(end - used), (unsigned long)fake.calls[k].n,
				      (unsigned long)want);
			ck_assert_uint_eq(st2.arena_end, end + want);
		} else {
			REQUIRE(k < 0, "malloc(%zu) fits, yet the arena was extended", sizes[i]);
			ck_assert_uint_eq(st2.arena_end, end);
		}
		ck_assert_uint_eq(st2.arena_start, fake_addr(SIM_START));
		ck_assert_uint_le(st2.arena_end - st2.arena_start, WINDOW);
		REQUIRE((uintptr_t)blk[i] >= st2.arena_start && (uintptr_t)blk[i] + n <= st2.arena_end,
			      "block %p outside the arena", (void *)blk[i]);
		ck_assert(fake_is_mapped(blk[i], n));
		ck_assert_uint_ge(mm_usable_size(blk[i]), n); /* whole pages: all of them usable */
		mark(blk[i], n, (uint32_t)i);
		STEP();
	}
	/* every arena reservation asked for arena_end; none asked for anywhere */
	for (int i = 0; i < fake.ncalls; i++)
		if (fake.calls[i].op == FAKE_RESERVE && fake.calls[i].n >= STEP32)
			REQUIRE(fake.calls[i].hint != 0, "an arena reservation went anywhere");
	for (int i = 0; i < N; i++)
		check_mark(blk[i], (sizes[i] + PAGE - 1) / PAGE * PAGE, (uint32_t)i);
}
END_TEST

START_TEST(null_past_max_arena32_and_nothing_lost)
{
	init32(SIM_START);
	enum { MAXB = 16 };
	char *blk[MAXB];
	const size_t n = 200 * MiB;
	int count = 0;
	while (count < MAXB) {
		int before = fake.ncalls;
		uint64_t mapped = fake.mapped;
		char *p = mm_malloc(n);
		if (!p) {
			REQUIRE(fake.mapped == mapped, "a failed growth left %llu B mapped",
				      (unsigned long long)(fake.mapped - mapped));
			/* the last resort, memory anywhere, landed outside and went back */
			int k = find_reserve(before, 0, STEP32);
			if (k >= 0 && fake.calls[k].v) {
				REQUIRE(freed_after(k, fake.calls[k].v, fake.calls[k].n),
					      "reservation at %p outside the window was not given back",
					      (void *)fake.calls[k].v);
				const char *e = mm_last_error();
				REQUIRE(e && contains_hex(e, fake.calls[k].v) &&
						      contains_hex(e, fake_addr(SIM_START)) &&
						      contains_hex(e, fake_addr(SIM_START) + WINDOW),
					      "message does not name %p and the window %p-%p: \"%s\"",
					      (void *)fake.calls[k].v, (void *)fake_addr(SIM_START),
					      (void *)(fake_addr(SIM_START) + WINDOW), e ? e : "(none)");
			}
			break;
		}
		mark(p, n, (uint32_t)count);
		blk[count++] = p;
	}
	REQUIRE(count == 10, "%d blocks of 200 MiB fit in the 2 GiB window, want 10", count);
	struct mm_stats st = stats();
	ck_assert_uint_eq(st.arena_end - st.arena_start, WINDOW);
	STEP();
	ck_assert_ptr_null(mm_malloc(n)); /* and again: still NULL, still whole */
	STEP();
	for (int i = 0; i < count; i++)
		check_mark(blk[i], n, (uint32_t)i);
	/* the tail of the window still serves small objects */
	void *small[1000];
	for (int i = 0; i < 1000; i++) {
		small[i] = mm_malloc(100);
		ck_assert_ptr_nonnull(small[i]);
	}
	for (int i = 0; i < 1000; i++)
		mm_free(small[i]);
	/* a freed block is reused in place */
	mm_free(blk[3]);
	char *again = mm_malloc(n);
	ck_assert_ptr_eq(again, blk[3]);
	STEP();
	for (int i = 0; i < count; i++)
		if (i != 3)
			check_mark(blk[i], n, (uint32_t)i);
}
END_TEST

START_TEST(falls_back_to_anywhere_inside_the_window_when_arena_end_is_taken)
{
	init32(SIM_START);
	char *first = mm_malloc(64 * MiB);
	mark(first, 64 * MiB, 1);
	fake_take(SIM_START + STEP32, STEP32);       /* someone owns the range at arena_end */
	fake_place_next(STEP32, SIM_START + 2 * STEP32); /* anywhere: just past it, inside */
	int before = fake.ncalls;
	char *p = mm_malloc(300 * MiB);
	REQUIRE(p != NULL, "malloc(300 MiB) = NULL though the window has room");
	int k = find_reserve(before, fake_addr(SIM_START + STEP32), 1);
	REQUIRE(k >= 0, "the core did not first try to extend at arena_end");
	if (fake.calls[k].v && fake.calls[k].v != fake.calls[k].hint)
		REQUIRE(freed_after(k, fake.calls[k].v, fake.calls[k].n),
			      "the reservation the host put elsewhere (%p) was kept, not given back",
			      (void *)fake.calls[k].v);
	uintptr_t lo = fake_addr(SIM_START + 2 * STEP32);
	REQUIRE((uintptr_t)p >= lo && (uintptr_t)p + 300 * MiB <= lo + 2 * STEP32,
		      "block %p not in the region granted at %p", (void *)p, (void *)lo);
	mark(p, 300 * MiB, 2);
	STEP();
	/* growth continues contiguously from the new region */
	char *q = mm_malloc(300 * MiB);
	ck_assert_ptr_nonnull(q);
	struct mm_stats st = stats();
	ck_assert_uint_le(st.arena_end, fake_addr(SIM_START) + WINDOW);
	REQUIRE((uintptr_t)q >= lo && (uintptr_t)q + 300 * MiB <= st.arena_end, "second block %p", (void *)q);
	mark(q, 300 * MiB, 3);
	STEP();
	check_mark(first, 64 * MiB, 1);
	check_mark(p, 300 * MiB, 2);
	ck_assert_uint_eq(fake_reserved_in(SIM_START + STEP32, STEP32), 0);
}
END_TEST

/* Start at sim_start, block the range at arena_end, offer memory at `at`; then malloc(300 MiB). */
static char *anywhere_at(uintptr_t sim_start, uintptr_t at, char **first)
{
	init32(sim_start);
	*first = mm_malloc(64 * MiB);
	mark(*first, 64 * MiB, 9);
	fake_take(sim_start + STEP32, STEP32);
	fake_place_next(STEP32, at);
	return mm_malloc(300 * MiB);
}

static void expect_refused(uintptr_t sim_start, uintptr_t at)
{
	char *first;
	int before = fake.ncalls;
	char *p = anywhere_at(sim_start, at, &first);
	REQUIRE(p == NULL, "memory at sim %#lx outside the window [%#lx, %#lx) was used: %p",
		      (unsigned long)at, (unsigned long)sim_start, (unsigned long)(sim_start + WINDOW), (void *)p);
	int k = find_reserve(before, 0, STEP32);
	REQUIRE(k >= 0 && fake.calls[k].v == fake_addr(at), "no anywhere reservation landed at sim %#lx",
		      (unsigned long)at);
	REQUIRE(freed_after(k, fake.calls[k].v, fake.calls[k].n),
		      "the reservation outside the window was not given back with mm_sys_free");
	ck_assert_uint_eq(fake_reserved_in(at, fake.calls[k].n), 0);
	const char *e = mm_last_error();
	REQUIRE(e && contains_hex(e, fake_addr(at)) && contains_hex(e, fake_addr(sim_start)) &&
			      contains_hex(e, fake_addr(sim_start) + WINDOW),
		      "message does not name %p and the window %p-%p: \"%s\"", (void *)fake_addr(at),
		      (void *)fake_addr(sim_start), (void *)(fake_addr(sim_start) + WINDOW), e ? e : "(none)");
	STEP();
	check_mark(first, 64 * MiB, 9);
	void *s = mm_malloc(5000);
	ck_assert_ptr_nonnull(s);
	mm_free(s);
	mm_free(first);
	STEP();
}

START_TEST(refuses_memory_above_the_window_and_gives_it_back)
{
	expect_refused(SIM_START, 0xA0000000);
}
END_TEST

START_TEST(refuses_memory_below_arena_start_and_gives_it_back)
{
	expect_refused(0x40000000, 0x00000000);
}
END_TEST

START_TEST(refuses_memory_one_page_past_the_window_end)
{
	/* 512 MiB at window end - 512 MiB + one page: ends one page too far */
	expect_refused(SIM_START, SIM_START + WINDOW - 2 * STEP32 + PAGE);
}
END_TEST

START_TEST(accepts_memory_ending_exactly_at_the_window_end)
{
	char *first;
	uintptr_t at = SIM_START + WINDOW - 2 * STEP32;
	char *p = anywhere_at(SIM_START, at, &first);
	REQUIRE(p != NULL, "memory ending exactly at arena_start + 2 GiB was refused: %s",
		      mm_last_error() ? mm_last_error() : "");
	ck_assert_uint_ge((uintptr_t)p, fake_addr(at));
	ck_assert_uint_le((uintptr_t)p + 300 * MiB, fake_addr(SIM_START) + WINDOW);
	mark(p, 300 * MiB, 4);
	STEP();
	check_mark(first, 64 * MiB, 9);
}
END_TEST

/* Without a hint the 32-bit arena must start where its whole 2 GiB window has room. */
START_TEST(without_a_hint_the_arena_starts_where_the_whole_window_is_free)
{
	/* free: a 2 GiB hole at 512 MiB and 64 MiB at the top (for the records); the rest taken */
	const uintptr_t hole = 0x20000000;
	fake_take(0, FAKE_SPACE);
	fake_untake(hole, WINDOW);
	fake_untake(FAKE_SPACE - 64 * MiB, 64 * MiB);
	struct mm_config cfg = {.arena_policy = MM_ARENA_32};
	ck_assert_int_eq(mm_init(&cfg), 0);
	char *blk[12];
	int count = 0;
	while (count < 12 && (blk[count] = mm_malloc(200 * MiB)) != NULL) {
		mark(blk[count], 200 * MiB, (uint32_t)count);
		count++;
	}
	struct mm_stats st = stats();
	REQUIRE(st.arena_start == fake_addr(hole), "arena starts at sim %#lx, not in the 2 GiB hole at %#lx",
		(unsigned long)fake_sim(st.arena_start), (unsigned long)hole);
	REQUIRE(count == 10, "%d blocks of 200 MiB in a window that holds 10", count);
	for (int i = 0; i < count; i++)
		check_mark(blk[i], 200 * MiB, (uint32_t)i);
	STEP();
}
END_TEST

START_TEST(policy_64_falls_back_to_32_when_its_reservation_is_refused)
{
	/* a 64-bit reservation of 8 GiB, which 4 GiB cannot give */
	struct mm_config cfg = {.arena_policy = MM_ARENA_64, .arena_size = 2 * (size_t)FAKE_SPACE};
	ck_assert_int_eq(mm_init(&cfg), 0);
	void *p = mm_malloc(100);
	ck_assert_ptr_nonnull(p);
	REQUIRE(fake.ncalls > 0 && fake.calls[0].op == FAKE_RESERVE && fake.calls[0].v == 0 &&
			      fake.calls[0].n > FAKE_SPACE,
		      "the first call was not the refused 64-bit reservation");
	struct mm_stats st = stats();
	ck_assert_int_eq(st.arena_policy, MM_ARENA_32);
	void *q = mm_malloc(100 * MiB); /* fits the first 256 MiB */
	ck_assert_ptr_nonnull(q);
	STEP();
	mm_free(q);
	mm_free(p);
	STEP();
}
END_TEST

START_TEST(chunked_arena_scattered_over_the_space_works)
{
	/* only five 8 MiB holes are free, far apart */
	const uintptr_t holes[] = {0x00800000, 0x40000000, 0x80000000, 0xc0000000, 0xff000000};
	fake_take(0, FAKE_SPACE);
	for (int i = 0; i < 5; i++)
		fake_untake(holes[i], 8 * MiB);
	struct mm_config cfg = {.arena_policy = MM_ARENA_CHUNKS, .arena_size = MiB};
	ck_assert_int_eq(mm_init(&cfg), 0);
	enum { N = 8 };
	char *blk[N];
	int seen[5] = {0};
	for (int i = 0; i < N; i++) {
		blk[i] = mm_malloc(3 * MiB);
		REQUIRE(blk[i] != NULL, "block %d = NULL", i);
		mark(blk[i], 3 * MiB, (uint32_t)i);
		uintptr_t s = fake_sim((uintptr_t)blk[i]);
		for (int h = 0; h < 5; h++)
			if (s >= holes[h] && s < holes[h] + 8 * MiB)
				seen[h] = 1;
	}
	int nholes = 0;
	for (int h = 0; h < 5; h++)
		nholes += seen[h];
	REQUIRE(nholes >= 4, "eight 3 MiB blocks landed in only %d of the holes", nholes);
	static void *small[20000];
	for (int i = 0; i < 20000; i++) {
		small[i] = mm_malloc(64);
		ck_assert_ptr_nonnull(small[i]);
		ck_assert(mm_owns(small[i]));
	}
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(mm_owns(blk[i]), 1);
		ck_assert_uint_eq(mm_usable_size(blk[i]), 3 * MiB);
		check_mark(blk[i], 3 * MiB, (uint32_t)i);
	}
	STEP();
	for (int i = 0; i < N; i += 2)
		mm_free(blk[i]);
	for (int i = 0; i < 20000; i++)
		mm_free(small[i]);
	STEP();
	for (int i = 1; i < N; i += 2) {
		check_mark(blk[i], 3 * MiB, (uint32_t)i);
		mm_free(blk[i]);
	}
	STEP();
	ck_assert_uint_eq(stats().heap_objects, 0);
}
END_TEST

/* The class map (mm/classmap.c), declared here so the test does not depend on internal.h. */
extern uint16_t *mm_classmap;
extern uintptr_t mm_classmap_base, mm_classmap_bytes;

/* free's class map describes the window from the start, and is mapped as the arena grows:
 * a small object anywhere in the arena has its page recorded (its free takes the fast path). */
START_TEST(class_map_describes_the_window_as_the_arena_grows)
{
	init32(SIM_START);
	void *p = mm_malloc(100);
	ck_assert_ptr_nonnull(p);
	REQUIRE(mm_classmap != NULL, "no class map under the 32-bit policy");
	ck_assert_uint_eq(mm_classmap_base, fake_addr(SIM_START));
	struct mm_stats st = stats();
	REQUIRE(mm_classmap_bytes >= st.arena_used - st.arena_start,
		"class map covers %#lx bytes, the arena uses %#lx", (unsigned long)mm_classmap_bytes,
		(unsigned long)(st.arena_used - st.arena_start));
	uintptr_t page = ((uintptr_t)p - mm_classmap_base) / PAGE;
	REQUIRE(mm_classmap[page] != 0, "the page of %p is not recorded", p);

	/* Past the first step: the map follows. */
	char *big = mm_malloc(STEP32);
	ck_assert_ptr_nonnull(big);
	st = stats();
	REQUIRE(st.arena_used - st.arena_start > STEP32, "the arena did not grow");
	REQUIRE(mm_classmap_bytes >= st.arena_used - st.arena_start,
		"class map covers %#lx bytes after growth, the arena uses %#lx",
		(unsigned long)mm_classmap_bytes, (unsigned long)(st.arena_used - st.arena_start));
	mm_free(big);
	mm_free(p);
	STEP();
}
END_TEST

Suite *arena32_suite(void)
{
	return SUITE_OF("arena32",
		FAKE_TCASE("policy", fake_reset,
			first_reservation_is_256_mib_at_the_hint,
			class_map_describes_the_window_as_the_arena_grows,
			arena_grows_contiguously_at_arena_end_in_256_mib_steps,
			null_past_max_arena32_and_nothing_lost,
			falls_back_to_anywhere_inside_the_window_when_arena_end_is_taken,
			refuses_memory_above_the_window_and_gives_it_back,
			refuses_memory_below_arena_start_and_gives_it_back,
			refuses_memory_one_page_past_the_window_end,
			accepts_memory_ending_exactly_at_the_window_end,
			without_a_hint_the_arena_starts_where_the_whole_window_is_free,
			policy_64_falls_back_to_32_when_its_reservation_is_refused,
			chunked_arena_scattered_over_the_space_works));
}
