/*
 * timer.c - the clock: the 8259 PICs remapped to vectors 32-47 (all IRQs
 * masked but IRQ0), and PIT channel 0 at TIMER_HZ.  IRQ0 counts ticks and
 * nanoseconds (the scavenger's clock, see mm_sys_nanotime in vm.c), marks a
 * scavenger pass due every scavenge_period_ns (the idle loop runs it, never
 * this handler) and calls timer_hook when a self-test installed one.
 * IRQ0 goes to the boot CPU only; each CPU's own timer is its local APIC's.
 */
#include "kernel.h"
#include "x86.h"

#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xA0
#define PIC2_DATA 0xA1
#define PIT_CH0 0x40
#define PIT_CMD 0x43
#define PIT_HZ 1193182u

static volatile uint64_t ticks, nanos;
static uint32_t ns_per_irq;
static uint64_t scavenge_next;
uint64_t scavenge_period_ns = 60ull * 1000000000; /* Go: a pass every minute */
void (*volatile timer_hook)(void);
volatile int scavenge_due;

void timer_init(void)
{
	/* ICW1..ICW4: edge triggered, cascade, vectors 32 and 40, 8086 mode. */
	outb(PIC1_CMD, 0x11);
	outb(PIC2_CMD, 0x11);
	outb(PIC1_DATA, 32);
	outb(PIC2_DATA, 40);
	outb(PIC1_DATA, 4);
	outb(PIC2_DATA, 2);
	outb(PIC1_DATA, 1);
	outb(PIC2_DATA, 1);
	outb(PIC1_DATA, 0xFE); /* only IRQ0 */
	outb(PIC2_DATA, 0xFF);

	timer_set_hz(TIMER_HZ);
}

/* Reprogram PIT channel 0; the clock (timer_nanos) keeps its pace. */
void timer_set_hz(uint32_t hz)
{
	uint32_t div = (PIT_HZ + hz / 2) / hz;
	uintptr_t f = irq_save();
	ns_per_irq = (uint32_t)(div * 1000000000ull / PIT_HZ);
	outb(PIT_CMD, 0x34); /* channel 0, lo/hi byte, mode 2 (rate generator) */
	outb(PIT_CH0, div & 0xFF);
	outb(PIT_CH0, (div >> 8) & 0xFF);
	irq_restore(f);
}

void pic_eoi(int irq)
{
	if (irq >= 8)
		outb(PIC2_CMD, 0x20);
	outb(PIC1_CMD, 0x20);
}

void timer_irq(void)
{
	ticks++;
	nanos += ns_per_irq;
	if (nanos >= scavenge_next) {
		scavenge_due = scavenge_next != 0;
		scavenge_next = nanos + scavenge_period_ns;
	}
	if (timer_hook)
		timer_hook();
}

/* A 64-bit read is two loads on i386, and IRQ0 may run on the boot CPU
 * meanwhile: read until two reads agree. */
static uint64_t read64(volatile uint64_t *v)
{
	uint64_t a, b;
	do {
		a = *v;
		b = *v;
	} while (a != b);
	return a;
}

uint64_t timer_ticks(void)
{
	return read64(&ticks);
}

/* Nanoseconds since timer_init, in steps of one timer interrupt. */
uint64_t timer_nanos(void)
{
	return read64(&nanos);
}
