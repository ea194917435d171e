// mmtest_kern.c - the kernel side of libmm's test on xv6: three system
// calls used by the mmtest program.
//   mmstress(nops, seed)  a shadow-model stress on the kernel heap: every
//                         live block holds a pattern, checked before it is
//                         freed or reallocated; calloc must give zeros,
//                         aligned allocations their alignment.  Runs in the
//                         calling process, preemptible, so it moves between
//                         CPUs; the CPUs it ran on are recorded.
//   mmcheck()             mm_check and the statistics, on a quiet heap (no
//                         mmstress running); 0 if they and every stress held.
//   halt(code)            ends QEMU through its isa-debug-exit device.

#include "types.h"
#include "defs.h"
#include "param.h"
#include "mmu.h"
#include "proc.h"
#include "x86.h"
#include "mm.h"

#define NSLOT 96

struct slot {
  uchar *p;
  uint n;
  uint tag;
};

static int nstress, nfailed;      // calls, calls that found an error
static int nmigrate;              // CPU changes seen between operations
static uint cpumask;              // CPUs a stress ran on

static uint
rnd(uint *s)
{
  uint x = *s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *s = x;
}

static uchar
pat(uint tag, uint i)
{
  return (uchar)(tag + i * 7 + (i >> 9));
}

// 0 if the first n bytes of s still hold its pattern, else prints where not.
static int
verify(struct slot *s, uint n)
{
  uint i;
  for(i = 0; i < n; i++){
    if(s->p[i] != pat(s->tag, i)){
      cprintf("mmstress: block %p (%d bytes): byte %d is 0x%x, wrote 0x%x\n",
              s->p, s->n, i, s->p[i], pat(s->tag, i));
      return -1;
    }
  }
  return 0;
}

static void
fill(struct slot *s)
{
  uint i;
  for(i = 0; i < s->n; i++)
    s->p[i] = pat(s->tag, i);
}

// Mostly small sizes, some pages, rarely up to 128 KiB.
static uint
drawsize(uint *r)
{
  uint k = rnd(r) % 100;
  if(k < 70)
    return 1 + rnd(r) % 256;
  if(k < 90)
    return 257 + rnd(r) % 3840;
  if(k < 98)
    return 4097 + rnd(r) % 28672;
  return 32769 + rnd(r) % 98304;
}

static int
thiscpu(void)
{
  int c;
  pushcli();
  c = cpuid();
  popcli();
  return c;
}

// Fills the empty slot s: malloc, calloc (zeros checked) or aligned.
static int
alloc_one(struct slot *s, uint *r)
{
  uint n = drawsize(r), how = rnd(r) % 10, align = 0, i;
  uchar *p;

  if(how < 5)
    p = mm_malloc(n);
  else if(how < 8){
    p = mm_calloc(1, n);
    for(i = 0; p && i < n; i++)
      if(p[i] != 0){
        cprintf("mmstress: calloc(1, %d) = %p: byte %d is 0x%x\n", n, p, i, p[i]);
        return -1;
      }
  } else {
    align = 8 << (rnd(r) % 10);   // 8 .. 4096
    p = mm_aligned_alloc(align, n);
  }
  if(p == 0){
    cprintf("mmstress: allocating %d bytes (align %d) returned 0\n", n, align);
    return -1;
  }
  if(((uint)p & ((align ? align : 8) - 1)) || mm_usable_size(p) < n){
    cprintf("mmstress: %p for %d bytes (align %d): misaligned or too small\n", p, n, align);
    return -1;
  }
  s->p = p;
  s->n = n;
  s->tag = rnd(r);
  fill(s);
  return 0;
}

// Checks the block in s, then frees it or reallocates it (prefix checked).
static int
change_one(struct slot *s, uint *r)
{
  uint n, keep;
  uchar *q;

  if(verify(s, s->n) < 0)
    return -1;
  if(rnd(r) % 10 < 6){
    mm_free(s->p);
    s->p = 0;
    return 0;
  }
  n = drawsize(r);
  q = mm_realloc(s->p, n);
  if(q == 0){
    cprintf("mmstress: realloc(%p, %d) returned 0\n", s->p, n);
    return -1;
  }
  keep = n < s->n ? n : s->n;
  s->p = q;
  if(verify(s, keep) < 0)
    return -1;
  s->n = n;
  fill(s);
  return 0;
}

static int
stress(int nops, uint seed)
{
  struct slot *slots;
  uint r = seed * 2654435761u + 1;
  int op, i, rc = 0, cpu, last = thiscpu();

  slots = mm_calloc(NSLOT, sizeof *slots);   // the table too lives on the heap
  if(slots == 0)
    return -1;
  __atomic_fetch_or(&cpumask, 1u << last, __ATOMIC_RELAXED);
  for(op = 0; op < nops && rc == 0; op++){
    struct slot *s = &slots[rnd(&r) % NSLOT];
    rc = s->p ? change_one(s, &r) : alloc_one(s, &r);
    if((cpu = thiscpu()) != last){
      __atomic_fetch_add(&nmigrate, 1, __ATOMIC_RELAXED);
      __atomic_fetch_or(&cpumask, 1u << cpu, __ATOMIC_RELAXED);
      last = cpu;
    }
  }
  for(i = 0; i < NSLOT; i++){
    if(slots[i].p && rc == 0)
      rc = verify(&slots[i], slots[i].n);
    mm_free(slots[i].p);
  }
  mm_free(slots);
  return rc;
}

int
sys_mmstress(void)
{
  int nops, seed, rc;

  if(argint(0, &nops) < 0 || argint(1, &seed) < 0)
    return -1;
  rc = stress(nops, seed);
  __atomic_fetch_add(&nstress, 1, __ATOMIC_RELAXED);
  if(rc < 0)
    __atomic_fetch_add(&nfailed, 1, __ATOMIC_RELAXED);
  return rc;
}

int
sys_mmcheck(void)
{
  struct mm_stats st;
  int rc;

  rc = mm_check();
  if(rc != 0)
    cprintf("mmcheck: mm_check FAILED: %s\n", mm_check_error());
  mm_read_stats(&st);
  cprintf("mmcheck: %d stress calls (%d failed), %d CPU changes, CPUs used mask 0x%x of %d CPUs\n",
          nstress, nfailed, nmigrate, cpumask, ncpu);
  cprintf("mmcheck: mm_check %s; heap_objects %d, nmalloc %d, nfree %d, heap_inuse %d KiB\n",
          rc == 0 ? "passed" : "FAILED", (uint)st.heap_objects, (uint)st.nmalloc,
          (uint)st.nfree, (uint)(st.heap_inuse >> 10));
  if(st.heap_objects != 0 || st.heap_sys != st.heap_inuse + st.heap_idle){
    cprintf("mmcheck: statistics do not add up after every block was freed\n");
    rc = -1;
  }
  if(nfailed || nstress == 0)
    rc = -1;
  return rc;
}

int
sys_halt(void)
{
  int code;

  if(argint(0, &code) < 0)
    return -1;
  outb(0xf4, code);   // QEMU -device isa-debug-exit,iobase=0xf4: exits (code<<1)|1
  return -1;          // not under QEMU with that device
}
