/*
 * multiboot.c - reading the Multiboot 1 information GRUB passes in ebx:
 * the memory map, the command line and the modules.  Everything we need is
 * copied or only read; pmm.c keeps the structures' frames out of use.
 */
#include "kernel.h"

#define MB_BOOT_MAGIC 0x2BADB002
#define MB_INFO_MEM     (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MODS    (1u << 3)
#define MB_INFO_MMAP    (1u << 6)

struct mb_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
} __attribute__((packed));

struct mb_mmap {
	uint32_t size; /* of the rest of the entry */
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));

struct mb_mod {
	uint32_t start, end, string, reserved;
} __attribute__((packed));

static struct mb_info *mbi;
static char cmdline[512];

void multiboot_init(uint32_t magic, uintptr_t info)
{
	if (magic != MB_BOOT_MAGIC)
		panic("multiboot: bad magic %x (not booted by a Multiboot 1 loader?)", magic);
	mbi = (struct mb_info *)info;
	if (!(mbi->flags & MB_INFO_MMAP))
		panic("multiboot: the loader gave no memory map (flags %x)", mbi->flags);

	size_t n = 0;
	if (mbi->flags & MB_INFO_CMDLINE) {
		const char *s = (const char *)(uintptr_t)mbi->cmdline;
		while (s[n] && n < sizeof(cmdline) / 2)
			cmdline[n] = s[n], n++;
	}
	const char *extra = fwcfg_cmdline();
	if (*extra && n > 0 && n + 1 < sizeof(cmdline))
		cmdline[n++] = ' ';
	for (size_t i = 0; extra[i] && n + 1 < sizeof(cmdline); i++)
		cmdline[n++] = extra[i];
	cmdline[n] = 0;
}

const char *kernel_cmdline(void) { return cmdline; }

const char *cmdline_get(const char *key, char *buf, size_t n)
{
	size_t klen = strlen(key);
	for (const char *p = cmdline; *p;) {
		while (*p == ' ')
			p++;
		if (!strncmp(p, key, klen) && p[klen] == '=') {
			size_t i = 0;
			for (p += klen + 1; *p && *p != ' ' && i + 1 < n; p++)
				buf[i++] = *p;
			buf[i] = 0;
			return buf;
		}
		while (*p && *p != ' ')
			p++;
	}
	return NULL;
}

void multiboot_each_region(void (*fn)(uint64_t base, uint64_t len, uint32_t type))
{
	uintptr_t p = mbi->mmap_addr, end = p + mbi->mmap_length;
	while (p < end) {
		struct mb_mmap *e = (struct mb_mmap *)p;
		fn(e->addr, e->len, e->type);
		p += e->size + sizeof(e->size);
	}
}

void multiboot_each_boot_range(void (*fn)(uintptr_t start, uintptr_t end))
{
	fn((uintptr_t)mbi, (uintptr_t)mbi + sizeof(*mbi));
	fn(mbi->mmap_addr, mbi->mmap_addr + mbi->mmap_length);
	if (mbi->flags & MB_INFO_CMDLINE) {
		const char *s = (const char *)(uintptr_t)mbi->cmdline;
		fn(mbi->cmdline, mbi->cmdline + strlen(s) + 1);
	}
	if (mbi->flags & MB_INFO_MODS) {
		struct mb_mod *m = (struct mb_mod *)(uintptr_t)mbi->mods_addr;
		fn(mbi->mods_addr, mbi->mods_addr + mbi->mods_count * sizeof(*m));
		for (uint32_t i = 0; i < mbi->mods_count; i++) {
			fn(m[i].start, m[i].end);
			if (m[i].string)
				fn(m[i].string, m[i].string + strlen((const char *)(uintptr_t)m[i].string) + 1);
		}
	}
}

static void print_region(uint64_t base, uint64_t len, uint32_t type)
{
	static const char *names[] = { "?", "available", "reserved", "ACPI reclaimable", "ACPI NVS", "bad" };
	kprintf("  [%016llx - %016llx] %8llu KiB  %s\n", (unsigned long long)base,
		(unsigned long long)(base + len - 1), (unsigned long long)(len / 1024),
		type < 6 ? names[type] : "?");
}

void multiboot_print_mmap(void)
{
	kprintf("memory map (multiboot):\n");
	multiboot_each_region(print_region);
}
