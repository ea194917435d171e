/*
 * fwcfg.c - read QEMU's fw_cfg file "opt/libmm/cmdline" through the legacy
 * I/O ports (selector 0x510, data 0x511).  The test runner passes the case
 * to run this way (-fw_cfg name=opt/libmm/cmdline,string=case=NAME), so one
 * ISO serves every boot.  Without QEMU or the file, the result is "".
 */
#include "kernel.h"
#include "x86.h"

#define FW_CFG_SEL  0x510
#define FW_CFG_DATA 0x511
#define FW_CFG_SIGNATURE 0x0000
#define FW_CFG_FILE_DIR  0x0019

static char extra[256];

static void fw_read(void *buf, size_t n)
{
	uint8_t *p = buf;
	while (n--)
		*p++ = inb(FW_CFG_DATA);
}

static uint32_t be32(const uint8_t *b) { return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]; }

const char *fwcfg_cmdline(void)
{
	uint8_t sig[4], b[4];

	outw(FW_CFG_SEL, FW_CFG_SIGNATURE);
	fw_read(sig, 4);
	if (memcmp(sig, "QEMU", 4))
		return extra;
	outw(FW_CFG_SEL, FW_CFG_FILE_DIR);
	fw_read(b, 4);
	uint32_t count = be32(b);
	for (uint32_t i = 0; i < count; i++) {
		struct {
			uint8_t size[4], select[2], reserved[2];
			char name[56];
		} f;
		fw_read(&f, sizeof(f));
		if (strcmp(f.name, "opt/libmm/cmdline"))
			continue;
		uint32_t size = be32(f.size);
		if (size >= sizeof(extra))
			size = sizeof(extra) - 1;
		outw(FW_CFG_SEL, (uint16_t)(f.select[0] << 8 | f.select[1]));
		fw_read(extra, size);
		extra[size] = 0;
		break;
	}
	return extra;
}
