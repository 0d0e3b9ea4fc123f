/* isa-debug-exit: writing v to the port asks to end the run with status
 * (v << 1) | 1, so a guest's verdict can never be confused with ferry's own
 * statuses 0-2.  The status is cut to the 8 bits a shell sees.  Any write
 * size and any of the 4 ports count.  Reads return 0, as on QEMU, where
 * guests use that to tell the device is there (an unclaimed port reads
 * all-ones). */
#include "hw/debug_exit.h"

#include "vmm/runstate.h"

#define DEBUG_EXIT_NR_PORTS 4

struct DebugExit {
    GMutex lock;
    MemoryRegion *mr;
};

static uint64_t debug_exit_io_read(void *opaque, uint64_t offset, unsigned size)
{
    return 0;
}

static void debug_exit_io_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    runstate_request_exit((int)(((value << 1) | 1) & 0xff));
}

static const MemoryRegionOps debug_exit_ops = {
    .read = debug_exit_io_read,
    .write = debug_exit_io_write,
};

DebugExit *debug_exit_create(MemoryRegion *io, uint16_t base)
{
    DebugExit *d = g_new0(DebugExit, 1);

    g_mutex_init(&d->lock);
    d->mr = memory_region_add_io(io, base, "debug-exit", DEBUG_EXIT_NR_PORTS, &debug_exit_ops, d,
                                 &d->lock);
    return d;
}

void debug_exit_free(DebugExit *d)
{
    if (!d)
        return;
    memory_region_free(d->mr);
    g_mutex_clear(&d->lock);
    g_free(d);
}
