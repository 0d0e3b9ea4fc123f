/* Memory regions: the tree a machine describes its address spaces with.
 *
 * A region is a container (holds subregions), RAM (backed by a RamBlock;
 * read-only RAM is ROM), I/O (read/write callbacks), or an alias (a window
 * onto another region at an offset).  Subregions sit at an address inside
 * their parent; where siblings overlap, the higher priority wins, and among
 * equal priorities the one added later.  Every change is part of a
 * transaction: outside an explicit begin/commit each call commits at once;
 * inside, listeners see the net effect at the outermost commit.
 *
 * Regions are not reference counted: whoever creates one frees it, after
 * removing it from its parent (and removing its own subregions).
 * memory_region_free() detaches what is still attached rather than leave
 * dangling pointers, but see address_space.h on threads still using it.
 * Only containers take subregions.  ROM regions start read-only; so do RAM
 * regions over a RAM_BLOCK_READONLY block.  Moving a region with
 * memory_region_set_address() makes it the newest among siblings of its
 * priority, as if removed and added again.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "mem/ram_block.h"

/* A size of MR_SIZE_ALL stands for the whole 64-bit space (2^64 bytes). */
#define MR_SIZE_ALL UINT64_MAX

typedef struct MemoryRegion MemoryRegion;

/* Device callbacks.  `offset` is relative to the region's start; `size` is
 * 1, 2, 4 or 8.  Reads return the value in the low `size` bytes. */
typedef struct MemoryRegionOps {
    uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
    void (*write)(void *opaque, uint64_t offset, uint64_t value, unsigned size);
} MemoryRegionOps;

typedef enum MemoryRegionKind {
    MR_CONTAINER,
    MR_RAM,
    MR_IO,
    MR_ALIAS,
} MemoryRegionKind;

struct MemoryRegion {
    char *name;
    MemoryRegionKind kind;
    uint64_t size; /* MR_SIZE_ALL = 2^64 */
    uint64_t addr; /* offset inside the parent */
    int priority;
    bool enabled;
    bool readonly;
    MemoryRegion *parent;
    GPtrArray *subregions; /* winners first: priority descending, later-added first */

    RamBlock *ram_block; /* MR_RAM */

    MemoryRegion *alias; /* MR_ALIAS: target and where in it the window starts */
    uint64_t alias_offset;

    const MemoryRegionOps *ops; /* MR_IO */
    void *opaque;
    GMutex *lock; /* MR_IO: taken around every callback when set (the device lock) */
};

MemoryRegion *memory_region_new_container(const char *name, uint64_t size);
/* RAM over the block's first used_length bytes. */
MemoryRegion *memory_region_new_ram(const char *name, RamBlock *block);
/* Read-only RAM: guest writes are dropped. */
MemoryRegion *memory_region_new_rom(const char *name, RamBlock *block);
MemoryRegion *memory_region_new_io(const char *name, uint64_t size, const MemoryRegionOps *ops,
                                   void *opaque);
/* What every device does: an I/O region under its lock, placed in `parent`
 * at `addr`.  memory_region_free() takes it out again. */
MemoryRegion *memory_region_add_io(MemoryRegion *parent, uint64_t addr, const char *name,
                                   uint64_t size, const MemoryRegionOps *ops, void *opaque,
                                   GMutex *lock);
MemoryRegion *memory_region_new_alias(const char *name, MemoryRegion *target, uint64_t offset,
                                      uint64_t size);
void memory_region_free(MemoryRegion *mr);

/* Priority 0: for regions that do not overlap their siblings. */
void memory_region_add_subregion(MemoryRegion *parent, uint64_t addr, MemoryRegion *child);
void memory_region_add_subregion_overlap(MemoryRegion *parent, uint64_t addr,
                                         MemoryRegion *child, int priority);
void memory_region_del_subregion(MemoryRegion *parent, MemoryRegion *child);

void memory_region_set_enabled(MemoryRegion *mr, bool enabled);
void memory_region_set_readonly(MemoryRegion *mr, bool readonly);
void memory_region_set_address(MemoryRegion *mr, uint64_t addr);
void memory_region_set_alias_offset(MemoryRegion *mr, uint64_t offset);
/* For RAM regions over resizable blocks: follow the block's used_length. */
void memory_region_set_size(MemoryRegion *mr, uint64_t size);
void memory_region_set_lock(MemoryRegion *mr, GMutex *lock);

void memory_region_transaction_begin(void);
void memory_region_transaction_commit(void);
