/*
 * arch.h (x86_64) - page-table bits, the address layout and the trap frame
 * of the 64-bit kernel.  4-level paging; NX on data when the CPU has it.
 *
 * Layout (virtual, all canonical lower half):
 *   [0, 4 GiB)                 identity map of physical memory (2 MiB pages,
 *                              the first 4 MiB with 4 KiB pages so text is
 *                              read-only and data NX; page 0 absent).  Page
 *                              tables are frames below 4 GiB, reached
 *                              through this identity window.
 *   0x0000008000000000 (512 GiB, PML4 slot 1)
 *                              the arena hint: one 64 GiB reservation.
 *   up to 0x00007FFF00000000   other reservations (hint 0: top down).
 */
#ifndef ARCH_H
#define ARCH_H

#include <stdint.h>

#define ARCH_NAME "x86_64"

typedef uint64_t pte_t;

#define PTE_P   0x001ull
#define PTE_W   0x002ull
#define PTE_PS  0x080ull              /* 2 MiB page (in a PDE) */
#define PTE_NEW 0x200ull              /* software: mapped by the current mm_sys_map call */
#define PTE_REL 0x400ull              /* software, non-present PTE: released by mm_sys_unused */
#define PTE_OLDREL 0x800ull           /* software: PTE_REL was set before this mm_sys_map call */
#define PTE_NXBIT (1ull << 63)
#define PTE_ADDR 0x000FFFFFFFFFF000ull
#define PT_SPAN  0x200000ull          /* bytes one page table maps (2 MiB) */
extern pte_t PTE_NX_VALUE;            /* PTE_NXBIT if EFER.NXE is on, else 0 */
#define PTE_NX PTE_NX_VALUE

#define IDENT_END     0x100000000ull
#define RESERVE_LO    0x100000000ull
#define RESERVE_HI    0x00007FFF00000000ull
#define ARENA_HINT    0x0000008000000000ull

#include "../x86/shared.h" /* vectors, local APIC; what both widths share */

struct trapframe {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, err;
	uint64_t ip, cs, flags, sp, ss;               /* pushed by the CPU */
};

#endif
