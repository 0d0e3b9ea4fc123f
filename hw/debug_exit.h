/* QEMU's isa-debug-exit: a guest ends the run with a status of its choice
 * (port 0xf4, 4 bytes; created only with --test-exit). */
#pragma once

#include <stdint.h>

#include "mem/region.h"

typedef struct DebugExit DebugExit;

DebugExit *debug_exit_create(MemoryRegion *io, uint16_t base);
void debug_exit_free(DebugExit *d);
