/*
 * cpu.c (x86_64) - our own 64-bit GDT (code, data and a TSS whose IST1
 * stack catches double faults, so a kernel stack overflow is reported
 * instead of triple-faulting) and the IDT with 48 gates pointing at the
 * stubs in isr.S (exceptions 0-31, IRQs 32-47).
 */
#include "kernel.h"
#include "x86.h"

#define SEG_KCODE 0x08
#define SEG_KDATA 0x10
#define SEG_TSS   0x18

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

struct table_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

static uint64_t gdt[5];
static struct tss tss;
static struct gate idt[48];
static uint8_t df_stack[8192] __attribute__((aligned(16)));
extern uint64_t isr_table[48];

void arch_cpu_init(void)
{
	uint64_t base = (uint64_t)&tss, limit = sizeof(tss) - 1;

	tss.ist[0] = (uint64_t)(df_stack + sizeof(df_stack));
	tss.iomap = sizeof(tss);
	gdt[0] = 0;
	gdt[1] = 0x00AF9A000000FFFFull; /* 64-bit code, ring 0 */
	gdt[2] = 0x00CF92000000FFFFull; /* data */
	gdt[3] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (0x89ull << 40) |
		 (((limit >> 16) & 0xF) << 48) | (((base >> 24) & 0xFF) << 56);
	gdt[4] = base >> 32;

	struct table_ptr gp = { sizeof(gdt) - 1, (uint64_t)gdt };
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

	for (int i = 0; i < 48; i++) {
		uint64_t off = isr_table[i];
		idt[i].off_lo = off & 0xFFFF;
		idt[i].off_mid = (off >> 16) & 0xFFFF;
		idt[i].off_hi = off >> 32;
		idt[i].sel = SEG_KCODE;
		idt[i].ist = i == 8 ? 1 : 0; /* double fault on its own stack */
		idt[i].type = 0x8E;          /* present, ring 0, interrupt gate */
		idt[i].zero = 0;
	}
	struct table_ptr ip = { sizeof(idt) - 1, (uint64_t)idt };
	__asm__ volatile("lidt %0" : : "m"(ip));
}
