/*
 * sys_ram.h - optional, for porters: ready-made memory hooks of mm/sys.h
 * for a host whose heap is plain RAM (no paging: a static pool, or pages
 * from an allocator the kernel already has).  Such memory needs no mapping
 * and cannot be given back piece by piece, so mm_sys_map and mm_sys_unused
 * have nothing to do.  Header only, no libc, no library code: include it
 * after sys.h in the file with your other hooks and expand one macro there,
 * once, at file scope (followed by a ';').
 *
 *   MM_SYS_RAM_MAP_UNUSED();
 *     mm_sys_map returns 0: the memory is there already, and reads as zero
 *     where mm_sys_reserve zeroed it or it is never-used .bss (otherwise set
 *     mm_config.memory_not_zeroed).  mm_sys_unused returns 0: the pages
 *     keep their contents, and the core clears what calloc hands out.
 *
 *   MM_SYS_RAM_POOL(pool);
 *     all four memory hooks for pool, a static unsigned char array (page
 *     aligned, a whole number of pages, zero at boot, e.g. in .bss): the two above, plus
 *     mm_sys_reserve, which hands the pool out in order (NULL once it is
 *     used up; the core calls it with the heap lock held, so it needs no
 *     lock of its own), and an mm_sys_free that does nothing
 *     (MM_ARENA_CHUNKS gives a reservation back only when mm_sys_map
 *     failed, which it never does here).  Call mm_init with MM_ARENA_CHUNKS.
 */
#ifndef MM_SYS_RAM_H
#define MM_SYS_RAM_H

#include "sys.h"

#define MM_SYS_RAM_MAP_UNUSED()                                                 \
	int mm_sys_map(void *v, size_t n) { (void)v; (void)n; return 0; }       \
	int mm_sys_unused(void *v, size_t n) { (void)v; (void)n; return 0; }    \
	struct mm_sys_ram_map_unused /* what the caller's ';' ends */

#define MM_SYS_RAM_POOL(pool)                                                   \
	MM_SYS_RAM_MAP_UNUSED();                                                \
	void mm_sys_free(void *v, size_t n) { (void)v; (void)n; }               \
	static size_t mm_sys_ram_used; /* bytes of pool handed out */           \
	void *mm_sys_reserve(void *hint, size_t n)                              \
	{                                                                       \
		(void)hint;                                                     \
		if (n > sizeof(pool) - mm_sys_ram_used)                         \
			return 0;                                               \
		mm_sys_ram_used += n;                                           \
		return (pool) + mm_sys_ram_used - n;                            \
	}                                                                       \
	_Static_assert(sizeof(pool) % MM_PAGE_SIZE == 0, "the pool is whole pages")

#endif
