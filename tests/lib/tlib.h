/*
 * tlib.h - what the shared test tools in tests/lib need from where they are
 * compiled: a hosted C library, our kernel (freestanding), or a port's own
 * header named by -DTLIB_ENV='"file.h"'.  Each environment provides:
 *   tl_printf, tl_snprintf     printf-like (%d %u %lu %zu %p %s %x, width, '0')
 *   tl_calloc, tl_free         memory for the tools' own tables
 *   TL_THREAD, TL_NSELF, tl_self()
 *                              per-thread state: TL_THREAD storage of
 *                              TL_NSELF copies, tl_self() picks this
 *                              thread's (hosted: _Thread_local, one copy;
 *                              our kernel: one copy per CPU)
 *   memset, memcpy, strlen
 */
#ifndef TLIB_H
#define TLIB_H

#include <stddef.h>
#include <stdint.h>

#if defined(TLIB_ENV)
#include TLIB_ENV
#elif __STDC_HOSTED__
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define tl_printf printf
#define tl_snprintf snprintf
#define tl_calloc calloc
#define tl_free free
#define TL_THREAD _Thread_local
#define TL_NSELF 1
#define tl_self() 0
#else /* our kernel */
#include "kernel.h"
#include "mm.h"
#define tl_printf kprintf
#define tl_snprintf ksnprintf
#define tl_calloc mm_calloc
#define tl_free mm_free
#define TL_THREAD
#define TL_NSELF NCPU
#define tl_self() (this_cpu()->id)
#endif

#endif
