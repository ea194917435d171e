/*
 * spinlock.c - the kernel's one lock: a word that holds the owner's CPU id
 * + 1 (0: free).  spin_lock saves the interrupt flag and disables
 * interrupts on the CPU that holds the lock (an interrupt handler on the
 * same CPU would spin forever), but while it waits it lets interrupts in
 * when they were on before, so a CPU spinning here still answers the TLB
 * shootdown and other IPIs.  Taking a lock this CPU already holds (twice,
 * or from an interrupt handler) panics at once.
 */
#include "kernel.h"
#include "x86.h"

uintptr_t spin_lock_word(volatile uintptr_t *word)
{
	uintptr_t flags = read_flags(), me = (uintptr_t)this_cpu()->id + 1;
	for (;;) {
		cli();
		uintptr_t old = 0;
		if (__atomic_compare_exchange_n(word, &old, me, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return flags;
		if (old == me)
			panic("spin_lock: lock %p already held by this CPU (%d): taken twice, or from an interrupt",
			      (void *)word, (int)me - 1);
		irq_restore(flags);
		while (__atomic_load_n(word, __ATOMIC_RELAXED))
			cpu_relax();
	}
}

void spin_unlock_word(volatile uintptr_t *word, uintptr_t flags)
{
	__atomic_store_n(word, 0, __ATOMIC_RELEASE);
	irq_restore(flags);
}

int spin_held(volatile uintptr_t *word)
{
	return __atomic_load_n(word, __ATOMIC_RELAXED) == (uintptr_t)this_cpu()->id + 1;
}

void spin_lock(struct spinlock *l)
{
	uintptr_t f = spin_lock_word(&l->word);
	l->saved = f;
}

void spin_unlock(struct spinlock *l)
{
	spin_unlock_word(&l->word, l->saved);
}
