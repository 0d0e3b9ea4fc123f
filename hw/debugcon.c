/* debugcon: every byte written to the port is appended to the chardev (a
 * wider write sends its bytes low first).  Reads return 0xe9, the value
 * SeaBIOS and Bochs-style guests check for before using the port. */
#include "hw/debugcon.h"

#define DEBUGCON_READBACK 0xe9

struct Debugcon {
    GMutex lock; /* keeps one write's bytes together */
    MemoryRegion *mr;
    Chardev *chr;
};

static uint64_t debugcon_io_read(void *opaque, uint64_t offset, unsigned size)
{
    return DEBUGCON_READBACK;
}

static void debugcon_io_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    Debugcon *d = opaque;
    uint8_t bytes[8];

    for (unsigned i = 0; i < size && i < sizeof(bytes); i++)
        bytes[i] = value >> (8 * i);
    if (d->chr)
        chardev_write(d->chr, bytes, MIN(size, sizeof(bytes)));
}

static const MemoryRegionOps debugcon_ops = {
    .read = debugcon_io_read,
    .write = debugcon_io_write,
};

Debugcon *debugcon_create(MemoryRegion *io, uint16_t base, Chardev *chr)
{
    Debugcon *d = g_new0(Debugcon, 1);

    g_mutex_init(&d->lock);
    d->chr = chr;
    d->mr = memory_region_add_io(io, base, "debugcon", 1, &debugcon_ops, d, &d->lock);
    return d;
}

void debugcon_free(Debugcon *d)
{
    if (!d)
        return;
    memory_region_free(d->mr);
    g_mutex_clear(&d->lock);
    g_free(d);
}
