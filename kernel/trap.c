/*
 * trap.c - the C side of every interrupt and exception (isr.S calls trap).
 * IRQs 0-15 arrive on vectors 32-47 (the PIC is remapped in timer.c), the
 * local APIC timer and the IPI on 48 and 49 (smp.c); an NMI is the TLB
 * shootdown's (tlb.c).  Any
 * exception is fatal: it prints the vector, error code, CR2 and the
 * instruction pointer and exits QEMU with the failure code.  A page fault
 * on the arena goes to vm.c first, which names the cause.
 *
 * Each CPU's irq_depth counts the handlers it is inside; mm_sys_cache_get (kcache.h) uses it
 * to give interrupt context its own cache, so the lock-free cache fast path
 * is never entered twice.
 */
#include "kernel.h"
#include "x86.h"

static const char *exception_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM no FPU", "#DF double fault",
	"coprocessor overrun", "#TS invalid TSS", "#NP segment not present",
	"#SS stack fault", "#GP general protection", "#PF page fault", "reserved",
	"#MF x87 error", "#AC alignment check", "#MC machine check", "#XM SIMD error",
	"#VE virtualization", "#CP control protection",
};

void trap(struct trapframe *tf)
{
	struct cpu *c = this_cpu();
	c->irq_depth++;
	if (tf->vector == 2) { /* NMI: only the TLB shootdown sends them */
		tlb_catch_up();
		c->irq_depth--;
		return;
	}
	if (tf->vector < 32) {
		uintptr_t cr2 = read_cr2();
		if (tf->vector == 14)
			vm_page_fault(cr2, tf->err, tf->ip);
		kprintf("\nEXCEPTION vector=%u (%s) err=0x%lx cr2=%p ip=%p\n", (unsigned)tf->vector,
			tf->vector < 32 && exception_names[tf->vector] ? exception_names[tf->vector] : "reserved",
			(unsigned long)tf->err, (void *)cr2, (void *)(uintptr_t)tf->ip);
		qemu_exit(EXIT_FAIL);
	}
	if (tf->vector == VEC_LAPIC_TIMER) {
		smp_timer_irq();
		lapic_eoi();
	} else if (tf->vector == VEC_IPI) {
		smp_ipi();
		lapic_eoi();
	} else if (tf->vector < 48) {
		int irq = (int)tf->vector - 32;
		if (irq == 0)
			timer_irq();
		/* Spurious IRQ 7 / 15 need no EOI to the device; everything else does. */
		pic_eoi(irq);
	} /* VEC_SPURIOUS and unused vectors: no EOI */
	c->irq_depth--;
}
