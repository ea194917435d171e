// mm_xv6.c - libmm's hooks for xv6 (mm/sys.h): the whole port.
// xv6 is preemptive and SMP: a process in the kernel can be moved to
// another CPU at any timer tick, so the per-CPU cache is taken with
// pushcli (no interrupts, so no preemption) and let go with popcli.
// The heap's memory is one contiguous run of pages taken from kalloc at
// boot; those pages hold kfree's 0x01 junk, so reserve zeroes them.

#include "types.h"
#include "defs.h"
#include "param.h"
#include "mmu.h"
#include "proc.h"
#include "x86.h"
#include "mm.h"
#include "sys.h"

#define MMPOOL_PAGES (MMPOOL_MB * 256)   // MMPOOL_MB: see the Makefile (32)

static char *pool, *pool_end, *pool_next;
static struct mm_cache *cpucache[NCPU];

// Called with the heap lock held (so no lock of our own).  Memory that is
// new to the core must read as zero: kfree filled these pages with 1s.
void*
mm_sys_reserve(void *hint, size_t n)
{
  (void)hint;
  if(n > (size_t)(pool_end - pool_next))
    return 0;
  pool_next += n;
  memset(pool_next - n, 0, n);
  return pool_next - n;
}

// The pool is kernel memory, mapped on every CPU: nothing to do.
int
mm_sys_map(void *v, size_t n)
{
  (void)v;
  (void)n;
  return 0;
}

// Pages are not given back to kalloc; they keep their contents (hence 0).
int
mm_sys_unused(void *v, size_t n)
{
  (void)v;
  (void)n;
  return 0;
}

// CHUNKS gives a reservation back only after a failed mm_sys_map, which
// never fails here; the last run would go back to the pool.
void
mm_sys_free(void *v, size_t n)
{
  if((char*)v + n == pool_next)
    pool_next = v;
}

// ticks: one every 10 ms (trap.c); a racy read is fine, it only grows.
uint64_t
mm_sys_nanotime(void)
{
  return (uint64_t)ticks * 10000000;
}

// A spin lock as xv6's acquire: pushcli first, so the holder is neither
// interrupted nor preempted (the interrupt rule of sys.h).
void
mm_sys_lock(struct mm_lock *l)
{
  pushcli();
  while(__atomic_exchange_n(&l->word, 1, __ATOMIC_ACQUIRE))
    ;
}

void
mm_sys_unlock(struct mm_lock *l)
{
  __atomic_store_n(&l->word, 0, __ATOMIC_RELEASE);
  popcli();
}

void
mm_sys_panic(const char *msg)
{
  panic((char*)msg);
}

// This CPU's cache, pinned: pushcli keeps the process on this CPU (no
// timer interrupt, so no yield) until put.  With interrupts off, no handler
// can run while the cache is in use, so handlers may share it.
struct mm_cache*
mm_sys_cache_get(void)
{
  pushcli();
  return cpucache[mycpu() - cpus];
}

void
mm_sys_cache_put(struct mm_cache *c)
{
  (void)c;
  popcli();
}

// Call from main() right after kinit2(): kalloc's free list then hands
// out pages in descending address order, so MMPOOL_PAGES calls return one
// contiguous run (libmm's CHUNKS policy reserves 1 MiB runs).
void
mminit(void)
{
  struct mm_config cfg = { .arena_policy = MM_ARENA_CHUNKS, .arena_size = 1 << 20 };
  char *p, *top;
  int i;

  top = p = kalloc();
  for(i = 1; i < MMPOOL_PAGES; i++){
    char *q = kalloc();
    if(q != p - PGSIZE)
      panic("mminit: kalloc pages not contiguous (call mminit right after kinit2)");
    p = q;
  }
  pool = pool_next = p;
  pool_end = top + PGSIZE;
  if(mm_init(&cfg) != 0)
    panic("mminit: mm_init failed");
  for(i = 0; i < ncpu; i++)
    if((cpucache[i] = mm_cache_new()) == 0)
      panic("mminit: mm_cache_new failed");
  cprintf("mminit: libmm heap on %d KiB at %p, %d CPU caches\n",
          MMPOOL_PAGES * 4, pool, ncpu);
}
