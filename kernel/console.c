/*
 * console.c - the kernel console: COM1 (115200 8N1), mirrored to the VGA
 * text screen.  Output never takes a lock: there is one CPU, and a panic
 * from an interrupt handler must always get through.  Input is polled.
 */
#include "kernel.h"
#include "x86.h"

#define COM1 0x3f8
#define VGA ((volatile uint16_t *)0xb8000)
#define VGA_COLS 80
#define VGA_ROWS 25
#define VGA_ATTR 0x0700

static int vga_row, vga_col;

void console_init(void)
{
	outb(COM1 + 1, 0x00); /* no UART interrupts: we poll */
	outb(COM1 + 3, 0x80); /* DLAB */
	outb(COM1 + 0, 0x01); /* divisor 1: 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03); /* 8N1 */
	/* FIFOs stay off: turning them on clears the receive buffer, which
	 * may already hold the first byte typed (or piped) during boot. */
	outb(COM1 + 2, 0x00);
	outb(COM1 + 4, 0x03); /* DTR, RTS */
	for (int i = 0; i < VGA_COLS * VGA_ROWS; i++)
		VGA[i] = VGA_ATTR | ' ';
	vga_row = vga_col = 0;
}

static void serial_putc(char c)
{
	for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
		cpu_relax();
	outb(COM1, (uint8_t)c);
}

static void vga_putc(char c)
{
	if (c == '\n') {
		vga_col = 0;
		vga_row++;
	} else if (c == '\r') {
		vga_col = 0;
	} else if (c == '\b') {
		if (vga_col > 0)
			VGA[vga_row * VGA_COLS + --vga_col] = VGA_ATTR | ' ';
	} else {
		VGA[vga_row * VGA_COLS + vga_col] = VGA_ATTR | (uint8_t)c;
		if (++vga_col == VGA_COLS) {
			vga_col = 0;
			vga_row++;
		}
	}
	if (vga_row == VGA_ROWS) {
		for (int i = 0; i < VGA_COLS * (VGA_ROWS - 1); i++)
			VGA[i] = VGA[i + VGA_COLS];
		for (int i = 0; i < VGA_COLS; i++)
			VGA[(VGA_ROWS - 1) * VGA_COLS + i] = VGA_ATTR | ' ';
		vga_row = VGA_ROWS - 1;
	}
}

void console_putc(char c)
{
	if (c == '\n')
		serial_putc('\r');
	serial_putc(c);
	vga_putc(c);
}

int console_getc(void)
{
	if (!(inb(COM1 + 5) & 0x01))
		return -1;
	return inb(COM1);
}
