/*
 * multiboot.S - the Multiboot 1 header GRUB looks for in both kernels.
 * Flags: page-align modules (bit 0), give us the memory map (bit 1).
 * The kernel is an ELF file, so no address fields are needed.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .note.GNU-stack, "", @progbits
