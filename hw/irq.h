/* An interrupt line from a device to the machine's interrupt controller.
 * Devices only ever see this: raising or lowering their line. */
#pragma once

#include <stdbool.h>

typedef struct IrqLine {
    void (*set_level)(void *opaque, unsigned gsi, bool level);
    void *opaque;
    unsigned gsi;
} IrqLine;

static inline void irq_line_set(const IrqLine *line, bool level)
{
    if (line->set_level)
        line->set_level(line->opaque, line->gsi, level);
}
