/* The hotplug window, its slots and address ranges; see device_memory.h. */
#include "hw/device_memory.h"

#include <inttypes.h>
#include <string.h>

#include "hw/pc_dimm.h"

#define GiB (1ull << 30)
#define FOUR_GIB (4ull << 30)

G_DEFINE_QUARK(ferry-device-memory-error, device_memory_error)

struct DeviceMemory {
    MemoryRegion *system;
    MemoryRegion *container;
    DeviceMemoryWindow window;
    PcDimm **slot_owner; /* window.slots entries, NULL = free */
    GPtrArray *by_addr; /* PcDimm *, ascending address: first fit walks it */
    uint64_t plugged_size;
};

static uint64_t align_up(uint64_t value, uint64_t align)
{
    return (value + align - 1) & ~(align - 1);
}

bool device_memory_window_for(uint64_t ram_size, uint64_t ram_above_4g, uint64_t maxmem,
                              unsigned slots, DeviceMemoryWindow *window, GError **errp)
{
    *window = (DeviceMemoryWindow){ .slots = slots, .numa_nodes = 1 };

    if (ram_above_4g > ram_size) {
        g_set_error(errp, DEVICE_MEMORY_ERROR, DEVICE_MEMORY_ERROR_INVALID,
                    "hotplug window: RAM above 4 GiB (0x%" PRIx64
                    ") exceeds the RAM size 0x%" PRIx64,
                    ram_above_4g, ram_size);
        return false;
    }
    if (maxmem < ram_size) {
        g_set_error(errp, DEVICE_MEMORY_ERROR, DEVICE_MEMORY_ERROR_INVALID,
                    "maxmem 0x%" PRIx64 " is below the memory size 0x%" PRIx64
                    "; raise maxmem to at least the memory size",
                    maxmem, ram_size);
        return false;
    }
    if (slots > DEVICE_MEMORY_MAX_SLOTS) {
        g_set_error(errp, DEVICE_MEMORY_ERROR, DEVICE_MEMORY_ERROR_INVALID,
                    "%u memory slots is too many; at most %u", slots, DEVICE_MEMORY_MAX_SLOTS);
        return false;
    }
    if (slots && maxmem == ram_size) {
        g_set_error(errp, DEVICE_MEMORY_ERROR, DEVICE_MEMORY_ERROR_INVALID,
                    "%u memory slots but maxmem equals the memory size 0x%" PRIx64
                    "; raise maxmem to leave room for DIMMs",
                    slots, ram_size);
        return false;
    }
    if (!slots && maxmem > ram_size) {
        g_set_error(errp, DEVICE_MEMORY_ERROR, DEVICE_MEMORY_ERROR_INVALID,
                    "maxmem 0x%" PRIx64 " is above the memory size 0x%" PRIx64
                    " but there are no memory slots; give slots=N",
                    maxmem, ram_size);
        return false;
    }
    if (!slots)
        return true;

    uint64_t capacity = maxmem - ram_size;
    uint64_t base = 0, size = 0, end = 0;
    /* Overflow-checked: base = ROUND_UP(4G + above, 1G); size = capacity +
     * slots GiB; the window must end inside the 64-bit space. */
    if (!g_uint64_checked_add(&base, FOUR_GIB, ram_above_4g) ||
        !g_uint64_checked_add(&base, base, DEVICE_MEMORY_WINDOW_ALIGN - 1) ||
        !g_uint64_checked_add(&size, capacity, (uint64_t)slots * DEVICE_MEMORY_SLOT_PAD) ||
        !g_uint64_checked_add(&end, base & ~(DEVICE_MEMORY_WINDOW_ALIGN - 1), size)) {
        g_set_error(errp, DEVICE_MEMORY_ERROR, DEVICE_MEMORY_ERROR_INVALID,
                    "maxmem 0x%" PRIx64 " puts the hotplug window beyond the end of the "
                    "address space; lower maxmem",
                    maxmem);
        return false;
    }
    window->base = base & ~(DEVICE_MEMORY_WINDOW_ALIGN - 1);
    window->size = size;
    window->capacity = capacity;
    return true;
}

DeviceMemory *device_memory_new(MemoryRegion *system, const DeviceMemoryWindow *window)
{
    g_return_val_if_fail(window->size && window->slots, NULL);
    g_return_val_if_fail(window->slots <= DEVICE_MEMORY_MAX_SLOTS, NULL);
    g_return_val_if_fail(!(window->base & (DEVICE_MEMORY_WINDOW_ALIGN - 1)), NULL);
    g_return_val_if_fail(window->size <= UINT64_MAX - window->base, NULL);

    DeviceMemory *dm = g_new0(DeviceMemory, 1);
    dm->system = system;
    dm->window = *window;
    if (!dm->window.numa_nodes)
        dm->window.numa_nodes = 1;
    dm->slot_owner = g_new0(PcDimm *, window->slots);
    dm->by_addr = g_ptr_array_new();
    dm->container = memory_region_new_container("device-memory", window->size);
    memory_region_add_subregion(system, window->base, dm->container);
    return dm;
}

void device_memory_free(DeviceMemory *dm)
{
    if (!dm)
        return;
    /* One commit per DIMM, not one around them all: pc_dimm_unplug()
     * frees each region right after its commit, which must have happened
     * by then (listeners still look at the old ranges' regions). */
    while (dm->by_addr->len)
        pc_dimm_unplug(dm, g_ptr_array_index(dm->by_addr, dm->by_addr->len - 1));
    memory_region_free(dm->container);
    g_ptr_array_unref(dm->by_addr);
    g_free(dm->slot_owner);
    g_free(dm);
}

uint64_t device_memory_base(const DeviceMemory *dm)
{
    return dm->window.base;
}

uint64_t device_memory_size(const DeviceMemory *dm)
{
    return dm->window.size;
}

uint64_t device_memory_capacity(const DeviceMemory *dm)
{
    return dm->window.capacity;
}

unsigned device_memory_slots(const DeviceMemory *dm)
{
    return dm->window.slots;
}

unsigned device_memory_numa_nodes(const DeviceMemory *dm)
{
    return dm->window.numa_nodes;
}

uint64_t device_memory_plugged_size(const DeviceMemory *dm)
{
    return dm->plugged_size;
}

MemoryRegion *device_memory_region(const DeviceMemory *dm)
{
    return dm->container;
}

uint64_t device_memory_dimm_align(uint64_t page_size)
{
    return MAX(page_size, DEVICE_MEMORY_BLOCK_SIZE);
}

unsigned device_memory_dimm_count(const DeviceMemory *dm)
{
    return dm->by_addr->len;
}

PcDimm *device_memory_find_dimm(const DeviceMemory *dm, const char *id)
{
    for (unsigned i = 0; id && i < dm->by_addr->len; i++) {
        PcDimm *dimm = g_ptr_array_index(dm->by_addr, i);
        if (strcmp(pc_dimm_id(dimm), id) == 0)
            return dimm;
    }
    return NULL;
}

PcDimm *device_memory_dimm_at_slot(const DeviceMemory *dm, unsigned slot)
{
    return slot < dm->window.slots ? dm->slot_owner[slot] : NULL;
}

void device_memory_foreach_dimm(const DeviceMemory *dm, PcDimmFn fn, void *opaque)
{
    for (unsigned i = 0; i < dm->by_addr->len; i++)
        fn(g_ptr_array_index(dm->by_addr, i), opaque);
}

bool device_memory_claim_slot(const DeviceMemory *dm, const char *who, int wanted,
                              unsigned *slot, GError **errp)
{
    const unsigned slots = dm->window.slots;

    if (wanted >= 0) {
        if ((unsigned)wanted >= slots) {
            g_set_error(errp, DEVICE_MEMORY_ERROR, DEVICE_MEMORY_ERROR_INVALID,
                        "%s: slot %d is out of range (slots=%u)", who, wanted, slots);
            return false;
        }
        if (dm->slot_owner[wanted]) {
            g_set_error(errp, DEVICE_MEMORY_ERROR, DEVICE_MEMORY_ERROR_BUSY,
                        "%s: slot %d is in use by %s", who, wanted,
                        pc_dimm_id(dm->slot_owner[wanted]));
            return false;
        }
        *slot = (unsigned)wanted;
        return true;
    }
    if (wanted != -1) {
        g_set_error(errp, DEVICE_MEMORY_ERROR, DEVICE_MEMORY_ERROR_INVALID,
                    "%s: slot %d is out of range (slots=%u)", who, wanted, slots);
        return false;
    }
    for (unsigned s = 0; s < slots; s++) {
        if (!dm->slot_owner[s]) {
            *slot = s;
            return true;
        }
    }
    g_set_error(errp, DEVICE_MEMORY_ERROR, DEVICE_MEMORY_ERROR_NO_SPACE,
                "%s: no free slot (slots=%u); unplug a DIMM first", who, slots);
    return false;
}

bool device_memory_check_capacity(const DeviceMemory *dm, const char *who, uint64_t size,
                                  GError **errp)
{
    /* plugged_size <= capacity always holds, so this cannot wrap. */
    if (size > dm->window.capacity - dm->plugged_size) {
        g_set_error(errp, DEVICE_MEMORY_ERROR, DEVICE_MEMORY_ERROR_NO_SPACE,
                    "%s: not enough space, currently 0x%" PRIx64
                    " in use of total space for memory devices 0x%" PRIx64,
                    who, dm->plugged_size, dm->window.capacity);
        return false;
    }
    return true;
}

static bool ranges_overlap(uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size)
{
    return a < b + b_size && b < a + a_size;
}

bool device_memory_claim_range(const DeviceMemory *dm, const char *who, const uint64_t *hint,
                               uint64_t size, uint64_t align, uint64_t *addr, GError **errp)
{
    const uint64_t start = dm->window.base;
    const uint64_t end = dm->window.base + dm->window.size; /* checked at creation */
    uint64_t candidate;

    if (hint) {
        candidate = *hint;
        if (candidate & (align - 1)) {
            g_set_error(errp, DEVICE_MEMORY_ERROR, DEVICE_MEMORY_ERROR_INVALID,
                        "%s: address 0x%" PRIx64 " is not aligned to 0x%" PRIx64, who, candidate,
                        align);
            return false;
        }
        if (candidate < start || candidate > end || size > end - candidate) {
            g_set_error(errp, DEVICE_MEMORY_ERROR, DEVICE_MEMORY_ERROR_INVALID,
                        "%s: [0x%" PRIx64 ", 0x%" PRIx64
                        ") is outside the hotplug window [0x%" PRIx64 ", 0x%" PRIx64 ")",
                        who, candidate, candidate + size, start, end);
            return false;
        }
    } else {
        candidate = align_up(start, align);
    }

    /* First fit: walking the DIMMs in address order, move past each one the
     * candidate collides with; what is left is the lowest free range. */
    for (unsigned i = 0; i < dm->by_addr->len; i++) {
        const PcDimm *dimm = g_ptr_array_index(dm->by_addr, i);
        uint64_t d_addr = pc_dimm_addr(dimm), d_size = pc_dimm_size(dimm);

        if (!ranges_overlap(d_addr, d_size, candidate, size))
            continue;
        if (hint) {
            g_set_error(errp, DEVICE_MEMORY_ERROR, DEVICE_MEMORY_ERROR_BUSY,
                        "%s: address 0x%" PRIx64 " overlaps %s [0x%" PRIx64 ", 0x%" PRIx64 ")", who,
                        candidate, pc_dimm_id(dimm), d_addr, d_addr + d_size);
            return false;
        }
        candidate = align_up(d_addr + d_size, align);
    }
    if (candidate > end || size > end - candidate) {
        g_set_error(errp, DEVICE_MEMORY_ERROR, DEVICE_MEMORY_ERROR_NO_SPACE,
                    "%s: no free 0x%" PRIx64 "-byte range in the hotplug window [0x%" PRIx64
                    ", 0x%" PRIx64 "): it is fragmented; unplug a DIMM or give a free addr",
                    who, size, start, end);
        return false;
    }
    *addr = candidate;
    return true;
}

void device_memory_attach(DeviceMemory *dm, PcDimm *dimm)
{
    unsigned i = 0;

    g_assert(!dm->slot_owner[pc_dimm_slot(dimm)]);
    dm->slot_owner[pc_dimm_slot(dimm)] = dimm;
    while (i < dm->by_addr->len &&
           pc_dimm_addr(g_ptr_array_index(dm->by_addr, i)) < pc_dimm_addr(dimm))
        i++;
    g_ptr_array_insert(dm->by_addr, (int)i, dimm);
    dm->plugged_size += pc_dimm_size(dimm);
}

void device_memory_detach(DeviceMemory *dm, PcDimm *dimm)
{
    g_assert(dm->slot_owner[pc_dimm_slot(dimm)] == dimm);
    dm->slot_owner[pc_dimm_slot(dimm)] = NULL;
    g_ptr_array_remove(dm->by_addr, dimm);
    dm->plugged_size -= pc_dimm_size(dimm);
}
