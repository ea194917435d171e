/*
 * smp.c - the other CPUs.  smp_init (boot CPU) reads the MADT (acpi.c),
 * enables its own local APIC, copies the real-mode trampoline
 * (boot/ap_trampoline.S) to AP_TRAMPOLINE and starts each listed CPU with
 * INIT-SIPI-SIPI, one at a time: before each start it fills the CPU's
 * struct cpu (percpu.h: id, APIC ID, two kmalloc caches, a stack) and
 * points ap_boot at it.  The AP goes from real mode to protected mode in
 * the trampoline, from there to the kernel's paging (and long mode on
 * x86_64) in arch/<arch>/entry.S (ap_start32), then to ap_main here: its
 * own GDT, TSS and %gs (arch_cpu_init), its local APIC and timer, and the
 * idle loop, which runs the work smp_run_all hands it.
 */
#include "kernel.h"
#include "x86.h"
#include "mm.h"

#define AP_TRAMPOLINE 0x8000 /* real-mode page the APs start in (below 1 MiB, not a PMM frame) */
#define AP_STACK (16 * 1024)

struct cpu cpus[NCPU];
int ncpu = 1;
struct cpu *volatile ap_boot; /* the CPU being started (ap_main reads it) */
uintptr_t ap_stack_top;       /* its stack (entry.S loads it) */
void (*volatile cpu_timer_hook)(int cpu);
static uint8_t ap_stacks[NCPU][AP_STACK] __attribute__((aligned(4096)));
static int madt_cpus;
static const char *smp_why = "";

extern char ap_trampoline[], ap_trampoline_end[];
extern char boot_stack_top[];

/* Boot CPU: its struct cpu and %gs, before anything can use this_cpu(). */
void percpu_init_boot(void)
{
	cpus[0].self = &cpus[0];
	cpus[0].id = 0;
	cpus[0].online = 1;
	arch_cpu_init(&cpus[0]);
}

/* The idle loop of every CPU but the boot CPU: run work when given some. */
static void __attribute__((noreturn)) ap_idle(struct cpu *c)
{
	for (;;) {
		cli();
		tlb_catch_up();
		void (*w)(int) = c->work;
		if (w) {
			sti();
			w(c->id);
			__atomic_store_n(&c->work, NULL, __ATOMIC_RELEASE);
			continue;
		}
		sti_hlt();
	}
}

void ap_main(void)
{
	struct cpu *c = ap_boot;
	c->self = c;
	arch_cpu_init(c);
	lapic_init(lapic_base(), 0);
	c->tlb_gen = 0;
	tlb_catch_up();
	__atomic_store_n(&c->online, 1, __ATOMIC_RELEASE);
	ap_idle(c);
}

static int start_cpu(int id, int apic_id)
{
	struct cpu *c = &cpus[id];
	c->id = id;
	c->apic_id = apic_id;
	c->cache = mm_cache_new();
	c->cache_irq = mm_cache_new();
	if (!c->cache || !c->cache_irq)
		panic("smp: no memory for cpu %d's caches", id);
	c->stack_top = (uintptr_t)(ap_stacks[id] + AP_STACK);
	ap_stack_top = c->stack_top;
	ap_boot = c;
	lapic_start_cpu(apic_id, AP_TRAMPOLINE);
	uint64_t t0 = timer_nanos();
	while (!__atomic_load_n(&c->online, __ATOMIC_ACQUIRE) && timer_nanos() - t0 < 500000000ull)
		cpu_relax();
	return c->online;
}

/* Start every CPU the MADT lists, up to NCPU (interrupts on, after mm_init
 * and vm_caches_init). */
void smp_init(void)
{
	int ids[NCPU * 4];
	uintptr_t lapic_pa = 0;

	madt_cpus = acpi_cpus(ids, NCPU * 4, &lapic_pa, &smp_why);
	if (!madt_cpus) {
		kprintf("smp: 1 CPU (%s)\n", smp_why);
		return;
	}
	if (lapic_pa != LAPIC_VA)
		panic("smp: local APIC at %p, the page tables map it at %p", (void *)lapic_pa, (void *)LAPIC_VA);
	lapic_init(lapic_pa, 1);
	cpus[0].apic_id = lapic_id();
	memcpy((void *)AP_TRAMPOLINE, ap_trampoline, (size_t)(ap_trampoline_end - ap_trampoline));
	for (int i = 0; i < madt_cpus && ncpu < NCPU; i++) {
		if (ids[i] == cpus[0].apic_id)
			continue;
		if (start_cpu(ncpu, ids[i]))
			ncpu++;
		else
			kprintf("smp: the CPU with APIC ID %d did not start\n", ids[i]);
	}
	kprintf("smp: %d CPU%s running (ACPI MADT lists %d; local APIC at %p, timer %u Hz on each):", ncpu,
		ncpu > 1 ? "s" : "", madt_cpus, (void *)lapic_pa, (unsigned)LAPIC_HZ);
	for (int i = 0; i < ncpu; i++)
		kprintf(" cpu%d (APIC %d%s)", i, cpus[i].apic_id, i == 0 ? ", boot" : "");
	kprintf("\n");
	for (int i = 0; i < ncpu; i++) {
		size_t n;
		const void *t = arch_cpu_tables(i, &n);
		kprintf("  cpu%d: struct cpu %p (%%gs:0), GDT/TSS/#DF stack %p (+%lu), stack top %p, caches %p %p\n", i,
			(void *)&cpus[i], t, (unsigned long)n, i ? (void *)cpus[i].stack_top : (void *)boot_stack_top,
			(void *)cpus[i].cache, (void *)cpus[i].cache_irq);
	}
}

/*
 * Runs fn(cpu) on CPUs 0 .. n-1 at once (the caller, CPU 0, runs its own
 * share) and returns when all are done.  n is clamped to ncpu.
 */
void smp_run_all(void (*fn)(int cpu), int n)
{
	if (n > ncpu)
		n = ncpu;
	for (int i = 1; i < n; i++) {
		__atomic_store_n(&cpus[i].work, fn, __ATOMIC_RELEASE);
		lapic_ipi(cpus[i].apic_id, VEC_IPI);
	}
	fn(0);
	for (int i = 1; i < n; i++)
		while (__atomic_load_n(&cpus[i].work, __ATOMIC_ACQUIRE))
			cpu_relax();
}

/* The local APIC timer, on every CPU. */
void smp_timer_irq(void)
{
	struct cpu *c = this_cpu();
	c->ticks++;
	tlb_catch_up();
	void (*h)(int) = cpu_timer_hook;
	if (h)
		h(c->id);
}

/* VEC_IPI: the shootdown, or a wake-up for the idle loop. */
void smp_ipi(void)
{
	this_cpu()->ipis++;
	tlb_catch_up();
}
