/*
 * cpu.c (x86_64) - each CPU's own 64-bit GDT (code, data and a TSS whose
 * IST1 stack catches double faults, so a kernel stack overflow is reported
 * instead of triple-faulting), its GS base (the MSR points at its struct
 * cpu: percpu.h), and the IDT all CPUs share, with gates pointing at the
 * stubs in isr.S (exceptions 0-31, IRQs 32-47, local APIC vectors 48-63).
 */
#include "kernel.h"
#include "x86.h"

#define SEG_KCODE 0x08
#define SEG_KDATA 0x10
#define SEG_TSS   0x18
#define MSR_GS_BASE 0xC0000101u

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3, iomap;
} __attribute__((packed));

struct gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
} __attribute__((packed));

/* One CPU's tables. */
static struct cpu_tables {
	uint64_t gdt[5];
	struct tss tss;
	uint8_t df_stack[8192] __attribute__((aligned(16)));
} tables[NCPU];
static struct gate idt[NVECTORS];

static void idt_init(void)
{
	for (int i = 0; i < NVECTORS; i++) {
		uint64_t off = isr_table[i];
		idt[i].off_lo = off & 0xFFFF;
		idt[i].off_mid = (off >> 16) & 0xFFFF;
		idt[i].off_hi = off >> 32;
		idt[i].sel = SEG_KCODE;
		idt[i].ist = i == 8 ? 1 : 0; /* double fault on its own stack */
		idt[i].type = 0x8E;          /* present, ring 0, interrupt gate */
		idt[i].zero = 0;
	}
}

/* Where CPU id's tables (GDT first, then its TSS and #DF stack) are. */
const void *arch_cpu_tables(int id, size_t *size)
{
	*size = sizeof(tables[id]);
	return &tables[id];
}

/* This CPU's GDT, TSS and GS base; the shared IDT (built by the boot CPU). */
void arch_cpu_init(struct cpu *c)
{
	struct cpu_tables *t = &tables[c->id];
	uint64_t base = (uint64_t)&t->tss, limit = sizeof(t->tss) - 1;

	t->tss.ist[0] = (uint64_t)(t->df_stack + sizeof(t->df_stack));
	t->tss.iomap = sizeof(t->tss);
	t->gdt[0] = 0;
	t->gdt[1] = 0x00AF9A000000FFFFull; /* 64-bit code, ring 0 */
	t->gdt[2] = 0x00CF92000000FFFFull; /* data */
	t->gdt[3] = x86_segment((uint32_t)base, (uint32_t)limit, 0x89, 0); /* TSS: 16 bytes */
	t->gdt[4] = base >> 32;

	struct table_ptr gp = { sizeof(t->gdt) - 1, (uint64_t)t->gdt };
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "mov %2, %%ax\n\t"
			 "mov %%ax, %%ds\n\t"
			 "mov %%ax, %%es\n\t"
			 "mov %%ax, %%ss\n\t"
			 "ltr %w3\n\t"
			 : : "m"(gp), "i"(SEG_KCODE), "i"(SEG_KDATA), "r"(SEG_TSS) : "rax", "memory");
	wrmsr(MSR_GS_BASE, (uint64_t)c);

	if (c->id == 0)
		idt_init();
	lidt(idt, sizeof(idt));
}
