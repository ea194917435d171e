/*
 * cpu.c (i386) - our own GDT (flat ring-0 code and data, and two TSSes) and
 * the IDT whose gates point at the stubs in isr.S (exceptions 0-31, IRQs
 * 32-47).  A double fault goes through a task gate to its own task and
 * stack (df_tss), so a kernel stack overflow is reported instead of
 * triple-faulting; the CPU saves the faulting state in main_tss.
 */
#include "kernel.h"
#include "x86.h"

#define SEG_KCODE 0x08
#define SEG_KDATA 0x10
#define SEG_TSS   0x18 /* the kernel's own task */
#define SEG_DFTSS 0x20 /* the double fault task */

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

struct table_ptr {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

static uint64_t gdt[5];
static struct tss main_tss, df_tss;
static struct gate idt[48];
static uint8_t df_stack[8192] __attribute__((aligned(16)));
extern uint32_t isr_table[48];
extern char df_task_entry[];
extern pte_t kpgdir[];

static uint64_t tss_descriptor(struct tss *t)
{
	uint64_t base = (uint32_t)t, limit = sizeof(*t) - 1;
	return (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (0x89ull << 40) |
	       (((limit >> 16) & 0xF) << 48) | (((base >> 24) & 0xFF) << 56);
}

/* The double fault task: report what main_tss holds and leave QEMU. */
void df_task(void)
{
	kprintf("\nEXCEPTION vector=8 (#DF double fault) err=0x0 cr2=%p ip=%p (esp=%p: kernel stack overflow?)\n",
		(void *)read_cr2(), (void *)main_tss.eip, (void *)main_tss.esp);
	qemu_exit(EXIT_FAIL);
}

void arch_cpu_init(void)
{
	main_tss.iomap = df_tss.iomap = sizeof(struct tss);
	df_tss.eip = (uint32_t)df_task_entry;
	df_tss.esp = (uint32_t)(df_stack + sizeof(df_stack));
	df_tss.cr3 = (uint32_t)kpgdir; /* paging.c's directory (harmless before paging is on) */
	df_tss.eflags = 0x2;           /* interrupts off */
	df_tss.cs = SEG_KCODE;
	df_tss.ds = df_tss.es = df_tss.ss = df_tss.fs = df_tss.gs = SEG_KDATA;

	gdt[0] = 0;
	gdt[1] = 0x00CF9A000000FFFFull; /* code: base 0, limit 4 GiB, ring 0, 32-bit */
	gdt[2] = 0x00CF92000000FFFFull; /* data */
	gdt[3] = tss_descriptor(&main_tss);
	gdt[4] = tss_descriptor(&df_tss);

	struct table_ptr gp = { sizeof(gdt) - 1, (uint32_t)gdt };
	__asm__ volatile("lgdt %0\n\t"
			 "ljmp %1, $1f\n"
			 "1:\n\t"
			 "mov %2, %%ax\n\t"
			 "mov %%ax, %%ds\n\t"
			 "mov %%ax, %%es\n\t"
			 "mov %%ax, %%ss\n\t"
			 "mov %%ax, %%fs\n\t"
			 "mov %%ax, %%gs\n\t"
			 "mov %3, %%ax\n\t"
			 "ltr %%ax\n\t"
			 : : "m"(gp), "i"(SEG_KCODE), "i"(SEG_KDATA), "i"(SEG_TSS) : "eax", "memory");

	for (int i = 0; i < 48; i++) {
		idt[i].off_lo = isr_table[i] & 0xFFFF;
		idt[i].off_hi = isr_table[i] >> 16;
		idt[i].sel = SEG_KCODE;
		idt[i].zero = 0;
		idt[i].type = 0x8E; /* present, ring 0, 32-bit interrupt gate */
	}
	idt[8].off_lo = idt[8].off_hi = 0;
	idt[8].sel = SEG_DFTSS;
	idt[8].type = 0x85; /* present, task gate */
	struct table_ptr ip = { sizeof(idt) - 1, (uint32_t)idt };
	__asm__ volatile("lidt %0" : : "m"(ip));
}
