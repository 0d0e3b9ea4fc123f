/* QEMU's debugcon (port 0x402 for SeaBIOS, 0xe9 for Bochs-style guests):
 * bytes written go to a chardev. */
#pragma once

#include <stdint.h>

#include "hw/chardev.h"
#include "mem/region.h"

typedef struct Debugcon Debugcon;

/* The caller keeps `chr`. */
Debugcon *debugcon_create(MemoryRegion *io, uint16_t base, Chardev *chr);
void debugcon_free(Debugcon *d);
