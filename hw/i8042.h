/* i8042 keyboard controller, only as much as a PC needs without a keyboard:
 * the reset line (ports 0x60 data, 0x64 command/status). */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/region.h"

typedef struct I8042 I8042;

I8042 *i8042_create(MemoryRegion *io);
void i8042_reset(I8042 *kbc);
void i8042_free(I8042 *kbc);

/* Migration section "i8042", version 1 (5 bytes):
 *   u8 command byte, u8 output port (A20 and the reset line always set),
 *   u8 command waiting for its data byte (0, 0x60, 0xd1, 0xd2, 0xd3, 0xd4),
 *   u8 output buffer, u8 flags (bit 0 output buffer full, bit 1 it came
 *   from the mouse, bit 2 the last write went to the command port). */
#define I8042_STATE_VERSION 1u
void i8042_state_save(I8042 *kbc, GByteArray *out);
bool i8042_state_load(I8042 *kbc, const uint8_t *data, size_t len, uint32_t version,
                      GError **errp);
