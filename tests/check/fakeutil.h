/*
 * fakeutil.h - helpers shared by the Check suites on the fake Sys backend
 * (t_arena32.c, t_fake.c, t_port.c): where the simulated arena starts, a
 * fresh core on it, the host-contract check a test ends with, and looking
 * for an address in a message.
 */
#ifndef FAKEUTIL_H
#define FAKEUTIL_H

#include <stdint.h>

#include "testutil.h"

/* The simulated address the 32-bit arena is asked to start at. */
#define SIM_START ((uintptr_t)0x10000000)

/* fake_reset(), then mm_init(cfg) with the 32-bit policy at SIM_START (cfg's
 * other fields, such as reclaim, as given). */
void init_fake_with(struct mm_config cfg);
/* The same with nothing else set: a fixture. */
void init_fake(void);

/* A fresh host that refuses every reservation (fake.refuse_reserve stays
 * set): each entry point returns NULL, and the heap is whole and empty. */
void refused_from_the_start(void);

/* Fails the test if the core broke the Sys contract (fakesys counts it). */
void no_violations(void);

/*
 * FAKE_TCASE(name, setup, test, ...): TCASE (60 s) for the fake backend,
 * with setup (fake_reset, init_fake, or NULL: each test sets up its host
 * itself) before each test and no_violations() after it.
 */
#define FAKE_TCASE(name, setup, ...) fake_fixture(TCASE((name), 60, __VA_ARGS__), (setup))
TCase *fake_fixture(TCase *tc, void (*setup)(void));

/* 1 if message s (NULL: 0) names address v, written 0x<hex>. */
int contains_hex(const char *s, uintptr_t v);

#endif
