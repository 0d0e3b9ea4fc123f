/* i8042 keyboard controller, only as much as a PC needs without a keyboard:
 * the reset line (ports 0x60 data, 0x64 command/status). */
#pragma once

#include "mem/region.h"

typedef struct I8042 I8042;

I8042 *i8042_create(MemoryRegion *io);
void i8042_reset(I8042 *kbc);
void i8042_free(I8042 *kbc);
