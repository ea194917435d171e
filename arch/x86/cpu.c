/*
 * cpu.c (i386) - our own GDT (flat ring-0 code and data) and the IDT whose
 * 48 gates point at the stubs in isr.S (exceptions 0-31, IRQs 32-47).
 */
#include "kernel.h"
#include "x86.h"

#define SEG_KCODE 0x08
#define SEG_KDATA 0x10

static uint64_t gdt[3] = {
	0,
	0x00CF9A000000FFFFull, /* code: base 0, limit 4 GiB, ring 0, 32-bit */
	0x00CF92000000FFFFull, /* data */
};

struct gate {
	uint16_t off_lo, sel;
	uint8_t zero, type;
	uint16_t off_hi;
} __attribute__((packed));

struct table_ptr {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

static struct gate idt[48];
extern uint32_t isr_table[48];

void arch_cpu_init(void)
{
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
			 : : "m"(gp), "i"(SEG_KCODE), "i"(SEG_KDATA) : "eax", "memory");

	for (int i = 0; i < 48; i++) {
		idt[i].off_lo = isr_table[i] & 0xFFFF;
		idt[i].off_hi = isr_table[i] >> 16;
		idt[i].sel = SEG_KCODE;
		idt[i].zero = 0;
		idt[i].type = 0x8E; /* present, ring 0, 32-bit interrupt gate */
	}
	struct table_ptr ip = { sizeof(idt) - 1, (uint32_t)idt };
	__asm__ volatile("lidt %0" : : "m"(ip));
}
