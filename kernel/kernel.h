/*
 * kernel.h - what the kernel's files provide to each other (like xv6's
 * defs.h): console, printf, panic, frames, paging, traps, timer, vm, stats,
 * the idle scavenger, clock, bench, shell and self-tests.  main.c calls the
 * others and exports nothing; calls run one way (no file calls back a file
 * that calls it).  Arch-specific constants are in arch/<arch>/arch.h.
 */
#ifndef KERNEL_H
#define KERNEL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "arch.h"
#include "percpu.h"
#include "workload.h"      /* tests/lib: struct bench_alloc, wl_rand (xorshift32) */
#include "liballoc_like.h" /* tests/lib: the baseline (la_host.c hosts it) */

#define PAGE_SIZE 4096u
#define PAGE_ROUND_UP(x) (((x) + PAGE_SIZE - 1) & ~(uintptr_t)(PAGE_SIZE - 1))
#define PAGE_ROUND_DOWN(x) ((x) & ~(uintptr_t)(PAGE_SIZE - 1))
#define KiB 1024ull
#define MiB (1024ull * 1024)
#define GiB (1024ull * 1024 * 1024)

/* QEMU isa-debug-exit (iobase 0xf4): writing v exits with status (v << 1) | 1. */
#define EXIT_PASS 0x10 /* status 33 */
#define EXIT_FAIL 0x11 /* status 35 */
void qemu_exit(uint32_t code) __attribute__((noreturn));

/* Linker symbols (linker.ld). */
extern char _kernel_start[], _text_end[], _rodata_end[], _bss_start[], _kernel_end[];

/* console.c: COM1 at 115200, mirrored to VGA text. */
void console_init(void);
void console_putc(char c);
int console_getc(void); /* -1 when no byte is waiting */

/* printf.c: %d %i %u %x %X %p %s %c %%, flags '-' '0', width, l ll z. */
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int kvprintf(const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int kvsnprintf(char *buf, size_t n, const char *fmt, va_list ap);

/* string.c: what the compiler may call, plus a few helpers. */
void *memset(void *d, int c, size_t n);
void page_zero(void *page);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
const char *strstr(const char *h, const char *n);
uint64_t katou(const char *s);

/* panic.c */
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* Self-test hook: a panic whose message contains this text ends the boot as a pass. */
extern const char *panic_expected;
extern const char *panic_expected_case;

/* multiboot.c: the boot information GRUB left us. */
struct mb_info;
void multiboot_init(uint32_t magic, uintptr_t info);
void multiboot_print_mmap(void);
/* Calls fn(base, len, type) for each memory map entry. */
void multiboot_each_region(void (*fn)(uint64_t base, uint64_t len, uint32_t type));
/* Calls fn(start, end) for each range the boot structures occupy. */
void multiboot_each_boot_range(void (*fn)(uintptr_t start, uintptr_t end));
const char *kernel_cmdline(void);
/* Value of "key=" on the command line (copied into buf), or NULL. */
const char *cmdline_get(const char *key, char *buf, size_t n);

/* fwcfg.c: QEMU fw_cfg file "opt/libmm/cmdline" (extra command line), or "". */
const char *fwcfg_cmdline(void);

/* pmm.c: physical frames below IDENT_END, one bit each. */
void pmm_init(void);
uintptr_t pmm_alloc(void); /* physical address of a frame (not zeroed), 0 if none */
void pmm_free(uintptr_t pa);
size_t pmm_free_count(void);
size_t pmm_total_count(void);

/* arch/<arch>: cpu.c and paging.c */
void arch_cpu_init(struct cpu *c); /* this CPU's GDT, TSS and %gs; the shared IDT */
const void *arch_cpu_tables(int id, size_t *size); /* CPU id's GDT, TSS(es), #DF stack */
void arch_paging_init(void); /* the kernel's page tables; paging on */
/* The leaf PTE for va, creating page tables from the PMM when create; NULL
 * when a table is missing (create == 0) or no frame is left. */
pte_t *arch_pte(uintptr_t va, int create);
int arch_has_nx(void);

/* trap.c (each CPU's irq_depth is in its struct cpu) */
void trap(struct trapframe *tf);

/* spinlock.c: the kernel's lock (word: owner CPU id + 1); interrupts off
 * while held, on while waiting if they were on. */
struct spinlock {
	volatile uintptr_t word;
	uintptr_t saved;
};
uintptr_t spin_lock_word(volatile uintptr_t *word); /* returns the flags to restore */
void spin_unlock_word(volatile uintptr_t *word, uintptr_t flags);
int spin_held(volatile uintptr_t *word); /* by this CPU */
void spin_lock(struct spinlock *l);
void spin_unlock(struct spinlock *l);

/* acpi.c: the enabled CPUs' local APIC IDs from the MADT; 0 and *why if none. */
int acpi_cpus(int *apic_ids, int max, uintptr_t *lapic_pa, const char **why);

/* lapic.c: this CPU's local APIC. */
void lapic_init(uintptr_t base, int boot); /* enable; periodic timer at LAPIC_HZ */
uintptr_t lapic_base(void);
int lapic_id(void);
void lapic_eoi(void);
void lapic_start_cpu(int apic_id, uintptr_t page); /* INIT, STARTUP, STARTUP */
void lapic_ipi(int apic_id, int vector);
void lapic_ipi_others(int vector);
void lapic_nmi(int apic_id);

/* smp.c: the other CPUs (percpu.h has struct cpu, cpus[], ncpu). */
void percpu_init_boot(void); /* CPU 0's struct cpu and %gs: first thing in kmain */
void smp_init(void);         /* start every CPU the MADT lists (up to NCPU) */
void smp_run_all(void (*fn)(int cpu), int n); /* fn on CPUs 0..n-1 at once; waits */
void smp_timer_irq(void);
void smp_ipi(void);
extern void (*volatile cpu_timer_hook)(int cpu); /* called by every CPU's local APIC timer (tests) */

/* tlb.c: the TLB shootdown (a generation counter, an NMI to every other CPU,
 * the unmapping CPU waits; frames freed once all CPUs flushed). */
void tlb_defer_frame(uintptr_t pa); /* its PTE is clear and invlpg'd here */
void tlb_shootdown(void);           /* after a batch of tlb_defer_frame: waits, frees */
void tlb_catch_up(void);            /* this CPU: flush if a newer generation exists */
void tlb_reclaim(void);             /* free the frames every CPU has flushed */
void tlb_sync(void);                /* every CPU at the newest generation */
size_t tlb_pending(void);
extern size_t tlb_frames_deferred, tlb_shootdowns;

/* timer.c: PIC remapped to 32..47, PIT channel 0 at TIMER_HZ on IRQ0. */
#define TIMER_HZ 1000
void timer_init(void);
void timer_set_hz(uint32_t hz);
uint64_t timer_nanos(void);
void timer_irq(void);
uint64_t timer_ticks(void);
extern void (*volatile timer_hook)(void); /* called from IRQ0 when set (tests) */
extern volatile int scavenge_due;   /* set by IRQ0 every scavenge_period_ns */
extern uint64_t scavenge_period_ns; /* 1 minute; command line mm.scvg_period_ms= */
void pic_eoi(int irq);

/* vm.c: the Sys layer of mm/sys.h on our page tables. */
void vm_init(void);
void vm_caches_init(void); /* CPU 0's two kmalloc caches */
uintptr_t vm_lock(void);   /* the page tables' lock (liballoc_like.c maps its own pages) */
void vm_unlock(uintptr_t flags);
/* Called on a page fault; panics if cr2 is a reserved but unmapped arena page. */
void vm_page_fault(uintptr_t cr2, uintptr_t err, uintptr_t ip);
extern size_t vm_frames_released; /* frames given back by mm_sys_unused so far */
extern size_t vm_frames_mapped;   /* frames mapped by mm_sys_map so far */
extern size_t vm_frames_freed;    /* frames unmapped by mm_sys_free so far */
int vm_is_released(uintptr_t va);
int vm_is_mapped(uintptr_t va);

/* The kernel's heap is the core's: kmalloc/kfree are mm_malloc/mm_free. */
#define kmalloc(n) mm_malloc(n)
#define kfree(p) mm_free(p)

/* cpus.c: the shell's `cpus` (per-CPU counters and cache statistics). */
void cpus_print(void);

/* stats.c */
void stats_print_layout(void); /* the address layout (boot banner) */
void stats_print(void);        /* heap, arena, frames, mm_check */

/* idle.c: the idle loop's scavenger passes. */
extern uint64_t scavenge_idle_ns;   /* 5 minutes; command line mm.scvg_idle_ms= */
extern int mm_trace; /* one line per pass (command line mm.trace=1, shell `trace on`) */
void idle_init(void);      /* mm.trace, mm.scvg_period_ms, mm.scvg_idle_ms */
void idle_scavenge(void);  /* runs a due scavenger pass (idle loop only) */

/* clock.c: the benchmark clock. */
uint64_t clock_nanos(void);   /* TSC (calibrated against the PIT once), else the PIT clock */
uint64_t clock_tsc_khz(void); /* 0: no TSC */

/* la_host.c hosts the liballoc-like baseline (tests/lib/liballoc_like.h:
 * la_malloc, la_free, la_usable_size, la_read_stats, la_check) that the
 * shell's `bench` compares kmalloc with. */

/* bench.c: the `bench` workload (tests/lib/workload.h: struct bench_alloc),
 * shared with the self-tests.  bench_workload runs the small, mixed and
 * compiler phases (scale n) against one allocator, checking every pattern
 * (every byte when full, else a word at each end); returns the number of
 * mismatches, failed allocations included. */
struct bench_result {
	unsigned long ops;    /* mallocs + frees */
	unsigned long errors; /* pattern mismatches and NULL returns */
	uint64_t ns[3];       /* time per phase (small, mixed, compiler) */
	unsigned long phase_ops[3];
};
unsigned long bench_workload(const struct bench_alloc *a, unsigned long n, int full, struct bench_result *r);
void bench_run(unsigned long n); /* the shell's `bench N` */

/* stress.c: the shared shadow-model stress (tests/lib/stress.c) on kmalloc. */
int stress_run(unsigned long iterations, unsigned seed, int verbose); /* this CPU; with mm_check */
int stress_all(unsigned long iterations, uint32_t seed, int ncpus, int verbose); /* CPUs 0..ncpus-1 at once */
/* One CPU's share of a run on several: no mm_check; 0, or -1 with err. */
int stress_here(unsigned long iterations, uint32_t seed, char *err, size_t len, long *nops);

/* shell.c, selftest.c */
void shell_run(void);
void selftest_run(const char *which);

#endif
