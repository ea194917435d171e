/*
 * cpu.c (i386) - each CPU's own GDT (flat ring-0 code and data, two TSSes
 * and the per-CPU segment whose base is the CPU's struct cpu, loaded in
 * %gs: percpu.h) and the IDT all CPUs share, whose gates point at the
 * stubs in isr.S (exceptions 0-31, IRQs 32-47, local APIC vectors 48-63).
 * A double fault goes through a task gate to its own task and stack
 * (df_tss), so a kernel stack overflow is reported instead of
 * triple-faulting; the CPU saves the faulting state in its main_tss.
 */
#include "kernel.h"
#include "x86.h"

#define SEG_KCODE  0x08
#define SEG_KDATA  0x10
#define SEG_TSS    0x18 /* the kernel's own task */
#define SEG_DFTSS  0x20 /* the double fault task */
#define SEG_PERCPU 0x28 /* %gs: this CPU's struct cpu */

struct tss {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2;
	uint32_t cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt;
	uint16_t trap, iomap;
} __attribute__((packed));

struct gate {
	uint16_t off_lo, sel;
	uint8_t zero, type;
	uint16_t off_hi;
} __attribute__((packed));

/* One CPU's tables. */
static struct cpu_tables {
	uint64_t gdt[6];
	struct tss main_tss, df_tss;
	uint8_t df_stack[8192] __attribute__((aligned(16)));
} tables[NCPU];
static struct gate idt[NVECTORS];
extern char df_task_entry[];
extern pte_t kpgdir[];

/* The double fault task: report what this CPU's main_tss holds and leave QEMU. */
void df_task(void)
{
	struct tss *t = &tables[this_cpu()->id].main_tss;
	kprintf("\nEXCEPTION vector=8 (#DF double fault) err=0x0 cr2=%p ip=%p (esp=%p: kernel stack overflow?)\n",
		(void *)read_cr2(), (void *)t->eip, (void *)t->esp);
	qemu_exit(EXIT_FAIL);
}

static void idt_init(void)
{
	for (int i = 0; i < NVECTORS; i++) {
		idt[i].off_lo = isr_table[i] & 0xFFFF;
		idt[i].off_hi = isr_table[i] >> 16;
		idt[i].sel = SEG_KCODE;
		idt[i].zero = 0;
		idt[i].type = 0x8E; /* present, ring 0, 32-bit interrupt gate */
	}
	idt[8].off_lo = idt[8].off_hi = 0;
	idt[8].sel = SEG_DFTSS;
	idt[8].type = 0x85; /* present, task gate */
}

/* Where CPU id's tables (GDT first, then its TSS and #DF stack) are. */
const void *arch_cpu_tables(int id, size_t *size)
{
	*size = sizeof(tables[id]);
	return &tables[id];
}

/* This CPU's GDT, TSSes and %gs; the shared IDT (built by the boot CPU). */
void arch_cpu_init(struct cpu *c)
{
	struct cpu_tables *t = &tables[c->id];

	t->main_tss.iomap = t->df_tss.iomap = sizeof(struct tss);
	t->df_tss.eip = (uint32_t)df_task_entry;
	t->df_tss.esp = (uint32_t)(t->df_stack + sizeof(t->df_stack));
	t->df_tss.cr3 = (uint32_t)kpgdir; /* paging.c's directory (harmless before paging is on) */
	t->df_tss.eflags = 0x2;           /* interrupts off */
	t->df_tss.cs = SEG_KCODE;
	t->df_tss.ds = t->df_tss.es = t->df_tss.ss = t->df_tss.fs = SEG_KDATA;
	t->df_tss.gs = SEG_PERCPU;

	t->gdt[0] = 0;
	t->gdt[1] = 0x00CF9A000000FFFFull; /* code: base 0, limit 4 GiB, ring 0, 32-bit */
	t->gdt[2] = 0x00CF92000000FFFFull; /* data */
	t->gdt[3] = x86_segment((uint32_t)&t->main_tss, sizeof(struct tss) - 1, 0x89, 0);
	t->gdt[4] = x86_segment((uint32_t)&t->df_tss, sizeof(struct tss) - 1, 0x89, 0);
	t->gdt[5] = x86_segment((uint32_t)c, sizeof(*c) - 1, 0x92, 0x4); /* data, byte granular, 32-bit */

	struct table_ptr gp = { sizeof(t->gdt) - 1, (uint32_t)t->gdt };
	__asm__ volatile("lgdt %0\n\t"
			 "ljmp %1, $1f\n"
			 "1:\n\t"
			 "mov %2, %%ax\n\t"
			 "mov %%ax, %%ds\n\t"
			 "mov %%ax, %%es\n\t"
			 "mov %%ax, %%ss\n\t"
			 "mov %%ax, %%fs\n\t"
			 "mov %4, %%ax\n\t"
			 "mov %%ax, %%gs\n\t"
			 "mov %3, %%ax\n\t"
			 "ltr %%ax\n\t"
			 : : "m"(gp), "i"(SEG_KCODE), "i"(SEG_KDATA), "i"(SEG_TSS), "i"(SEG_PERCPU) : "eax", "memory");

	if (c->id == 0)
		idt_init();
	lidt(idt, sizeof(idt));
}
