/*
 * percpu.h - what each CPU keeps for itself, and how it finds it: %gs:0
 * holds a pointer to the CPU's own struct cpu (x86_64: the GS base MSR;
 * i386: a GDT segment per CPU whose base is the struct).  Included by
 * kcache.h, so by the allocator core's kernel build: no other kernel
 * header here.
 */
#ifndef KERNEL_PERCPU_H
#define KERNEL_PERCPU_H

#include <stdint.h>

#define NCPU 8 /* CPUs the kernel starts at most */

struct mm_cache;

struct cpu {
	struct cpu *self;            /* %gs:0 */
	int id;                      /* 0 .. ncpu - 1; 0 is the boot CPU */
	int apic_id;                 /* its local APIC's ID (from the MADT) */
	volatile int irq_depth;      /* > 0 inside an interrupt or exception handler */
	struct mm_cache *cache;      /* kmalloc's cache for normal code */
	struct mm_cache *cache_irq;  /* ... and for interrupt handlers */
	volatile int online;         /* set by the CPU itself once it runs kernel code */
	volatile uint32_t tlb_gen;   /* the TLB generation this CPU has flushed up to (tlb.c) */
	void (*volatile work)(int);  /* smp_run_all: what to run next, NULL when idle */
	volatile unsigned long ticks;     /* local APIC timer interrupts */
	volatile unsigned long ipis;      /* IPIs taken */
	volatile unsigned long flushes;   /* full TLB flushes for the shootdown */
	uintptr_t stack_top;         /* the kernel stack it runs on */
};

extern struct cpu cpus[NCPU];
extern int ncpu; /* CPUs running (1 until smp_init started the others) */

static inline struct cpu *this_cpu(void)
{
	struct cpu *c;
	__asm__ volatile("mov %%gs:0, %0" : "=r"(c));
	return c;
}

#endif
