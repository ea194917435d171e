/*
 * lapic.c - each CPU's local APIC (xAPIC, memory-mapped at the address the
 * MADT gives, 0xFEE00000 on PCs): enable it, its periodic timer on
 * VEC_LAPIC_TIMER at LAPIC_HZ (the per-CPU timer), end of interrupt, and
 * inter-processor interrupts (INIT and STARTUP to start a CPU, an NMI for
 * the TLB shootdown, a fixed vector to wake a CPU for work).
 */
#include "kernel.h"
#include "x86.h"

#define LAPIC_ID        0x020
#define LAPIC_TPR       0x080
#define LAPIC_EOI       0x0B0
#define LAPIC_SVR       0x0F0
#define LAPIC_ESR       0x280
#define LAPIC_ICR_LO    0x300
#define LAPIC_ICR_HI    0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3E0

#define SVR_ENABLE     0x100
#define LVT_MASKED     0x10000
#define TIMER_PERIODIC 0x20000
#define ICR_PENDING    0x1000
#define ICR_NMI        0x400
#define ICR_INIT       0x500
#define ICR_STARTUP    0x600
#define ICR_LEVEL      0x8000
#define ICR_ASSERT     0x4000
#define ICR_ALL_BUT_SELF 0xC0000

static volatile uint32_t *lapic;
static uint32_t ticks_per_ms; /* timer counts (divide by 16) per millisecond */

static uint32_t lapic_read(uint32_t reg) { return lapic[reg / 4]; }
static void lapic_write(uint32_t reg, uint32_t v)
{
	lapic[reg / 4] = v;
	(void)lapic[LAPIC_ID / 4]; /* wait for the write to land */
}

uintptr_t lapic_base(void) { return (uintptr_t)lapic; }

int lapic_id(void) { return lapic ? (int)(lapic_read(LAPIC_ID) >> 24) : 0; }

void lapic_eoi(void) { lapic_write(LAPIC_EOI, 0); }

/* Busy-wait about ms milliseconds on the PIT clock (interrupts must be on). */
static void wait_ms(uint64_t ms)
{
	uint64_t t0 = timer_nanos();
	while (timer_nanos() - t0 < ms * 1000000)
		cpu_relax();
}

/* Enable this CPU's local APIC and start its periodic timer.  The boot CPU
 * (first call) measures the timer's rate against the PIT first. */
void lapic_init(uintptr_t base, int boot)
{
	lapic = (volatile uint32_t *)base;
	lapic_write(LAPIC_SVR, SVR_ENABLE | VEC_SPURIOUS);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_LVT_ERROR, LVT_MASKED);
	if (!boot) { /* only the boot CPU takes the PIC's interrupts */
		lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
		lapic_write(LAPIC_LVT_LINT1, LVT_MASKED);
	}
	lapic_write(LAPIC_ESR, 0);
	lapic_write(LAPIC_TIMER_DIV, 0x3); /* divide by 16 */
	if (!ticks_per_ms) {
		lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
		lapic_write(LAPIC_TIMER_INIT, 0xFFFFFFFFu);
		wait_ms(20);
		uint32_t n = 0xFFFFFFFFu - lapic_read(LAPIC_TIMER_CUR);
		ticks_per_ms = n / 20 ? n / 20 : 1;
	}
	lapic_write(LAPIC_LVT_TIMER, VEC_LAPIC_TIMER | TIMER_PERIODIC);
	lapic_write(LAPIC_TIMER_INIT, ticks_per_ms * 1000 / LAPIC_HZ);
	lapic_eoi();
}

static void icr_wait(void)
{
	for (unsigned long i = 0; i < 10000000ul && (lapic_read(LAPIC_ICR_LO) & ICR_PENDING); i++)
		cpu_relax();
}

static void send_icr(int apic_id, uint32_t lo)
{
	uintptr_t f = irq_save();
	icr_wait();
	lapic_write(LAPIC_ICR_HI, (uint32_t)apic_id << 24);
	lapic_write(LAPIC_ICR_LO, lo);
	icr_wait();
	irq_restore(f);
}

/* INIT, then STARTUP twice at the real-mode page `page` (xv6's sequence). */
void lapic_start_cpu(int apic_id, uintptr_t page)
{
	send_icr(apic_id, ICR_INIT | ICR_LEVEL | ICR_ASSERT);
	wait_ms(10);
	send_icr(apic_id, ICR_INIT | ICR_LEVEL);
	wait_ms(1);
	for (int i = 0; i < 2; i++) {
		send_icr(apic_id, ICR_STARTUP | (uint32_t)(page >> 12));
		wait_ms(1);
	}
}

void lapic_ipi(int apic_id, int vector) { send_icr(apic_id, (uint32_t)vector); }

void lapic_ipi_others(int vector) { send_icr(0, ICR_ALL_BUT_SELF | (uint32_t)vector); }

void lapic_nmi(int apic_id) { send_icr(apic_id, ICR_NMI); }

uint32_t lapic_timer_hz(void) { return LAPIC_HZ; }
