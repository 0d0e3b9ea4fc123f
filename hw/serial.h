/* 16550A UART (8 I/O ports at `base`, usually COM1: 0x3f8, IRQ 4). */
#pragma once

#include <glib.h>
#include <stdbool.h>
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

/* Migration section "serial", version 1 (integers little-endian):
 *   u8 ier, lcr, mcr, fcr, scr, dll, dlm, msr
 *   u8 flags (bit 0 LSR.OE pending, bit 1 THRE interrupt latched,
 *      bit 2 IRQ line high), u8 last byte read from RBR
 *   u16 receive count n (0..4096), then the n received bytes, oldest first
 *      (the first 16 are the guest's FIFO, the rest the backlog)
 * The load checks every field against what the device can hold, sets the
 * state and drives the IRQ line to its level. */
#define SERIAL_STATE_VERSION 1u
void serial_state_save(Serial *s, GByteArray *out);
bool serial_state_load(Serial *s, const uint8_t *data, size_t len, uint32_t version,
                       GError **errp);
