/* Device memory: the hotplug window above RAM where DIMMs are plugged.
 *
 * The window is a container region "device-memory" in the system memory
 * region; each DIMM is a RAM subregion of it.  This file owns the window's
 * layout (QEMU's PC rules), the DIMM slots (0 .. slots-1, what the ACPI
 * memory-hotplug controller numbers its MPxx devices by) and the address
 * ranges taken inside the window.  pc_dimm.c does the plugging with it.
 *
 * Layout (specs/firmware-interfaces.md §1.5, QEMU's pc_memory_init):
 *   base = ROUND_UP(4 GiB + RAM above 4 GiB, 1 GiB)
 *   size = (maxmem - ram) + 1 GiB per slot
 * The extra gigabyte per slot is room for alignment padding: every DIMM
 * may start on a boundary as large as 1 GiB and still fit.
 *
 * Alignment: a DIMM's address and size are multiples of
 * max(128 MiB, backend page size).  QEMU only asks for the backend's page
 * size, but Linux hot-adds memory in whole memory blocks (128 MiB on a
 * guest with less than 64 GiB of boot RAM, §3.6): a DIMM that is not
 * block aligned is accepted by the VMM and then refused by the guest's
 * add_memory(), so the slot stays unusable.  Refusing at device_add
 * instead gives the operator the error while it can still be fixed.  The
 * backend page size term keeps 1 GiB huge pages mapped as 1 GiB pages.
 *
 * Threads: the main thread plugs, unplugs and queries; nothing here is
 * locked.  Devices that answer the guest from vCPU threads (the memory
 * hotplug controller) keep their own copy of a slot's address and size.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "mem/region.h"

#define DEVICE_MEMORY_ERROR device_memory_error_quark()
GQuark device_memory_error_quark(void);

typedef enum DeviceMemoryError {
    DEVICE_MEMORY_ERROR_INVALID, /* a bad id, option, size or address */
    DEVICE_MEMORY_ERROR_NOT_FOUND, /* no such memdev; no hotplug window */
    DEVICE_MEMORY_ERROR_BUSY, /* the id, slot, memdev or address range is taken */
    DEVICE_MEMORY_ERROR_NO_SPACE, /* no free slot, no room below maxmem or in the window */
} DeviceMemoryError;

#define DEVICE_MEMORY_MAX_SLOTS 256u /* ACPI names slots MP00..MPFF */
#define DEVICE_MEMORY_WINDOW_ALIGN (1ull << 30)
#define DEVICE_MEMORY_SLOT_PAD (1ull << 30) /* window slack per slot */
#define DEVICE_MEMORY_BLOCK_SIZE (128ull << 20) /* the guest's memory block */

typedef struct DeviceMemoryWindow {
    uint64_t base; /* guest-physical start, 1 GiB aligned */
    uint64_t size; /* bytes; capacity + 1 GiB per slot */
    uint64_t capacity; /* maxmem - ram: what all DIMMs together may add */
    unsigned slots;
    unsigned numa_nodes; /* a DIMM's node must be below this; 0 counts as 1 */
} DeviceMemoryWindow;

/* The PC layout for `ram_size` bytes of boot RAM of which `ram_above_4g`
 * sit at 4 GiB, growing to `maxmem` through `slots` DIMMs.  With maxmem ==
 * ram_size and no slots there is no hotplug: *window gets size 0 and the
 * machine creates no DeviceMemory.  Refuses (as QEMU does) maxmem below
 * ram, slots without room to grow, room without slots, more than 256
 * slots, and a window that would pass the end of the address space.  The
 * machine still checks the window's end against the CPU's physical
 * address bits. */
bool device_memory_window_for(uint64_t ram_size, uint64_t ram_above_4g, uint64_t maxmem,
                              unsigned slots, DeviceMemoryWindow *window, GError **errp);

typedef struct DeviceMemory DeviceMemory;
typedef struct PcDimm PcDimm;

/* Creates the "device-memory" container in `system` at window->base (one
 * commit; empty, it maps nothing).  window->size and ->slots must be
 * non-zero and the base 1 GiB aligned (so that offsets in the window keep
 * the alignment of guest addresses). */
DeviceMemory *device_memory_new(MemoryRegion *system, const DeviceMemoryWindow *window);
/* Unplugs the DIMMs still plugged (releasing, not freeing, their
 * backends), then removes and frees the container.  Same thread rules as
 * pc_dimm_unplug(). */
void device_memory_free(DeviceMemory *dm);

uint64_t device_memory_base(const DeviceMemory *dm);
uint64_t device_memory_size(const DeviceMemory *dm);
uint64_t device_memory_capacity(const DeviceMemory *dm);
unsigned device_memory_slots(const DeviceMemory *dm);
unsigned device_memory_numa_nodes(const DeviceMemory *dm);
/* Bytes plugged now (QEMU's plugged memory for query-memory-size-summary). */
uint64_t device_memory_plugged_size(const DeviceMemory *dm);
MemoryRegion *device_memory_region(const DeviceMemory *dm);

/* What a DIMM of a backend with `page_size` pages must be aligned to. */
uint64_t device_memory_dimm_align(uint64_t page_size);

unsigned device_memory_dimm_count(const DeviceMemory *dm);
PcDimm *device_memory_find_dimm(const DeviceMemory *dm, const char *id);
/* The DIMM in `slot`, or NULL (also for a slot out of range: the slot
 * number may come from the guest). */
PcDimm *device_memory_dimm_at_slot(const DeviceMemory *dm, unsigned slot);
typedef void (*PcDimmFn)(PcDimm *dimm, void *opaque);
/* In address order (query-memory-devices' order).  `fn` must not plug or
 * unplug. */
void device_memory_foreach_dimm(const DeviceMemory *dm, PcDimmFn fn, void *opaque);

/* For pc_dimm.c: the bookkeeping behind a plug.  `who` names the device
 * in error messages ("pc-dimm 'dimm1'"). */

/* `wanted` if it is free (-1: the lowest free slot). */
bool device_memory_claim_slot(const DeviceMemory *dm, const char *who, int wanted,
                              unsigned *slot, GError **errp);
/* Is there room below maxmem for `size` more bytes? */
bool device_memory_check_capacity(const DeviceMemory *dm, const char *who, uint64_t size,
                                  GError **errp);
/* The address for `size` bytes: `*hint` if it is aligned, inside the
 * window and free; else (hint NULL) the lowest aligned free range. */
bool device_memory_claim_range(const DeviceMemory *dm, const char *who, const uint64_t *hint,
                               uint64_t size, uint64_t align, uint64_t *addr, GError **errp);
/* Record a plugged DIMM (its slot, address and size are final) / forget it. */
void device_memory_attach(DeviceMemory *dm, PcDimm *dimm);
void device_memory_detach(DeviceMemory *dm, PcDimm *dimm);
