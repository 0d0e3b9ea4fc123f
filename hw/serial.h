/* 16550A UART (8 I/O ports at `base`, usually COM1: 0x3f8, IRQ 4). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "hw/chardev.h"
#include "hw/irq.h"
#include "mem/region.h"

typedef struct Serial Serial;

/* Claims [base, base+8) in `io`; output goes to `chr`.  The caller keeps
 * `chr` and connects its input: chardev_set_receiver(chr, serial_receive, s). */
Serial *serial_create(MemoryRegion *io, uint16_t base, IrqLine irq, Chardev *chr);
/* Power-on state; pending input is dropped. */
void serial_reset(Serial *s);
/* Removes the ports from `io` and frees the device (not the chardev). */
void serial_free(Serial *s);

/* Bytes from the host side of the line (main thread); ChardevReceiveFn. */
void serial_receive(void *opaque, const uint8_t *buf, size_t len);
