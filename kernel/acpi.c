/*
 * acpi.c - the CPUs the firmware lists: the ACPI MADT ("APIC" table),
 * found through the RSDP (searched in the BIOS area 0xE0000-0xFFFFF; the
 * EBDA sits in page 0, which our page tables leave absent) and the RSDT.
 * The MADT lists every CPU whatever QEMU's -smp topology (SeaBIOS's MP
 * table lists only one socket's first core), so we need no MP table.
 */
#include "kernel.h"

struct sdt_header {
	char sig[4];
	uint32_t length;
	uint8_t revision, checksum;
	char oem[6], oem_table[8];
	uint32_t oem_rev, creator, creator_rev;
} __attribute__((packed));

static int sum_ok(const void *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + ((const uint8_t *)p)[i]);
	return s == 0;
}

/* A table is usable if the identity map reaches all of it. */
static const struct sdt_header *table_at(uint64_t pa)
{
	if (pa < 0x1000 || pa + sizeof(struct sdt_header) > IDENT_END)
		return NULL;
	const struct sdt_header *h = (const void *)(uintptr_t)pa;
	if (pa + h->length > IDENT_END || !sum_ok(h, h->length))
		return NULL;
	return h;
}

static const struct sdt_header *find_madt(const char **why)
{
	const uint8_t *rsdp = NULL;
	for (uintptr_t a = 0xE0000; a < 0x100000; a += 16)
		if (!memcmp((const void *)a, "RSD PTR ", 8) && sum_ok((const void *)a, 20)) {
			rsdp = (const uint8_t *)a;
			break;
		}
	if (!rsdp) {
		*why = "no ACPI RSDP in 0xE0000-0xFFFFF";
		return NULL;
	}
	uint32_t rsdt_pa;
	memcpy(&rsdt_pa, rsdp + 16, 4);
	const struct sdt_header *rsdt = table_at(rsdt_pa);
	if (!rsdt) {
		*why = "the RSDT is beyond the identity map or corrupt";
		return NULL;
	}
	size_t n = (rsdt->length - sizeof(*rsdt)) / 4;
	for (size_t i = 0; i < n; i++) {
		uint32_t pa;
		memcpy(&pa, (const uint8_t *)(rsdt + 1) + i * 4, 4);
		const struct sdt_header *t = table_at(pa);
		if (t && !memcmp(t->sig, "APIC", 4))
			return t;
	}
	*why = "no MADT in the RSDT";
	return NULL;
}

/*
 * The local APIC IDs of the enabled CPUs (at most max) and the local APIC's
 * address.  Returns how many CPUs; 0 with *why set when there is no MADT.
 */
int acpi_cpus(int *apic_ids, int max, uintptr_t *lapic_pa, const char **why)
{
	const struct sdt_header *madt = find_madt(why);
	if (!madt)
		return 0;
	const uint8_t *p = (const uint8_t *)(madt + 1), *end = (const uint8_t *)madt + madt->length;
	uint32_t base;
	memcpy(&base, p, 4);
	uint64_t base64 = base;
	int n = 0;
	for (p += 8; p + 2 <= end && p[1] >= 2 && p + p[1] <= end; p += p[1]) {
		if (p[0] == 0 && p[1] >= 8) { /* processor local APIC: uid, apic id, flags */
			uint32_t flags;
			memcpy(&flags, p + 4, 4);
			if ((flags & 1) && n < max)
				apic_ids[n++] = p[3];
		} else if (p[0] == 5 && p[1] >= 12) { /* local APIC address override */
			memcpy(&base64, p + 4, 8);
		}
	}
	*lapic_pa = (uintptr_t)base64;
	if (n == 0)
		*why = "the MADT lists no enabled CPU";
	return n;
}
