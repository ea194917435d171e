/*
 * arch.h (i386) - page-table bits, the address layout and the trap frame
 * of the 32-bit kernel.  2-level paging without PAE, so there is no NX bit.
 *
 * Layout (virtual):
 *   [0, 1 GiB)            identity map of physical memory (4 MiB pages,
 *                         the first 4 MiB with 4 KiB pages; page 0 absent).
 *                         Page tables live in frames below 1 GiB and are
 *                         reached through this identity window.
 *   [1 GiB, 3 GiB)        the arena window: arena_start = 0x40000000,
 *                         grown in 256 MiB steps up to MaxArena32 (2 GiB).
 *   [3 GiB, 0xFEC00000)   other reservations (hint 0: top down, e.g. the
 *                         core's fixalloc chunks).
 *   [0xFEC00000, 4 GiB)   one identity 4 MiB page, uncached: the I/O APIC
 *                         and the local APIC (0xFEE00000).
 */
#ifndef ARCH_H
#define ARCH_H

#include <stdint.h>

#define ARCH_NAME "i386"

typedef uint32_t pte_t;

#define PTE_P   0x001u  /* present */
#define PTE_W   0x002u  /* writable */
#define PTE_PS  0x080u  /* 4 MiB page (in a PDE) */
#define PTE_NX  0u      /* no NX without PAE */
#define PTE_NEW 0x200u  /* software: mapped by the current mm_sys_map call */
#define PTE_REL 0x400u  /* software, in a non-present PTE: released by mm_sys_unused */
#define PTE_OLDREL 0x800u /* software: PTE_REL was set before this mm_sys_map call */
#define PTE_ADDR 0xFFFFF000u
#define PT_SPAN  0x400000u  /* bytes one page table maps (4 MiB) */

#define IDENT_END     0x40000000u  /* identity window (and frames the PMM uses) */
#define RESERVE_LO    0x40000000u  /* VA that mm_sys_reserve hands out */
#define RESERVE_HI    0xFEC00000u  /* above: I/O APIC and local APIC (one 4 MiB page) */
#define ARENA_HINT    0x40000000u  /* arena_start */

#include "shared.h" /* vectors, local APIC; what both widths share */

/* The frame that trap() receives: pushed by isr.S and the CPU. */
struct trapframe {
	uint32_t edi, esi, ebp, esp0, ebx, edx, ecx, eax; /* pushal */
	uint32_t vector, err;
	uint32_t ip, cs, flags;                         /* pushed by the CPU */
};

#endif
