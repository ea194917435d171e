/*
 * clock.c - the benchmark clock: the TSC, its rate measured once against
 * PIT channel 2; the PIT's own 1 ms clock (timer.c) when there is no TSC.
 * Under QEMU -icount the TSC counts guest instructions, so the same clock
 * reads instruction counts (bench-kernel KICOUNT=1).
 */
#include "kernel.h"
#include "x86.h"

/*
 * The clock: TSC ticks per millisecond, measured once against PIT channel
 * 2 (the speaker channel, counted down in mode 0 and polled through port
 * 0x61), not against the IRQ0 tick count: under a loaded host QEMU drops
 * timer interrupts, the PIT's counter itself keeps time.
 */
#define PIT_HZ 1193182u
#define PIT_CH2 0x42
#define PIT_CMD 0x43
#define PORT_B 0x61 /* bit 0: channel 2 gate, bit 1: speaker, bit 5: channel 2 output */
#define CAL_COUNT 59659u /* 50 ms */

static uint64_t tsc_khz, tsc_base;
static int clock_ready;

static int cpu_has_tsc(void)
{
	uint32_t a = 1, b, c = 0, d;
	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	return (d >> 4) & 1;
}

/* TSC ticks while PIT channel 2 counts CAL_COUNT down; 0 if it never ends. */
static uint64_t pit_window(void)
{
	uintptr_t f = irq_save();
	uint8_t portb = inb(PORT_B);
	outb(PORT_B, (uint8_t)((portb & ~0x02) | 0x01)); /* gate on, speaker off */
	outb(PIT_CMD, 0xB0);                              /* channel 2, lo/hi byte, mode 0 */
	outb(PIT_CH2, CAL_COUNT & 0xFF);
	outb(PIT_CH2, CAL_COUNT >> 8);
	uint64_t c0 = rdtsc(), c1;
	unsigned long spins = 0;
	while (!(inb(PORT_B) & 0x20) && ++spins < 100000000ul)
		;
	c1 = rdtsc();
	outb(PORT_B, portb);
	irq_restore(f);
	return spins < 100000000ul && c1 > c0 ? c1 - c0 : 0;
}

/* The fewest ticks of three windows: a host that deschedules QEMU can only
 * make a window look longer. */
static void clock_init(void)
{
	uint64_t best = 0;
	clock_ready = 1;
	if (!cpu_has_tsc())
		return;
	for (int i = 0; i < 3; i++) {
		uint64_t t = pit_window();
		if (t && (!best || t < best))
			best = t;
	}
	tsc_khz = best * PIT_HZ / ((uint64_t)CAL_COUNT * 1000);
	tsc_base = rdtsc();
}

uint64_t clock_nanos(void)
{
	if (!clock_ready)
		clock_init();
	if (!tsc_khz)
		return timer_nanos();
	uint64_t d = rdtsc() - tsc_base; /* split so that d * 10^6 cannot overflow */
	return d / tsc_khz * 1000000 + d % tsc_khz * 1000000 / tsc_khz;
}

/* TSC ticks per millisecond (0: no TSC, clock_nanos runs on the PIT). */
uint64_t clock_tsc_khz(void)
{
	if (!clock_ready)
		clock_init();
	return tsc_khz;
}
