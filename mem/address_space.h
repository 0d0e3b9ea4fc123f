/* Address spaces, listeners, and access to guest memory and devices.
 *
 * An address space is a root region plus its current FlatView.  Listeners
 * registered on it hear every change at commit time: begin; region_del for
 * ranges that went away; region_add for new ones and region_nop for those
 * that stayed, in address order; log_start/log_stop where dirty logging
 * changed; commit.  ferry has two address spaces, `memory` and `io`.
 *
 * Reads and writes go through the current view: RAM is copied, I/O calls
 * the region's callbacks (under its lock), unassigned addresses read as
 * all-ones and drop writes, read-only RAM drops writes.
 *
 * Threads: changes to regions, listeners and dirty logging may come from
 * any thread; they serialize on one recursive lock, held from the
 * outermost begin to its commit, and listeners run in the committing
 * thread with it held.  Reads, writes, address_space_ram_ptr() and
 * address_space_get_flatview() never take that lock, so vCPU threads run
 * them concurrently with a commit; each uses the view current when it
 * started.  A region that was removed may still be used by such an old
 * view: free it (or what its callbacks use) only when no thread can be in
 * an access that started before the removal (e.g. with vCPUs paused).
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "mem/flatview.h"

typedef struct AddressSpace AddressSpace;
typedef struct MemoryListener MemoryListener;

struct MemoryListener {
    void (*begin)(MemoryListener *l);
    void (*region_add)(MemoryListener *l, const FlatRange *fr);
    void (*region_del)(MemoryListener *l, const FlatRange *fr);
    void (*region_nop)(MemoryListener *l, const FlatRange *fr);
    /* Dirty logging on/off for a RAM range (global dirty logging). */
    void (*log_start)(MemoryListener *l, const FlatRange *fr);
    void (*log_stop)(MemoryListener *l, const FlatRange *fr);
    /* Pull the dirty log of a RAM range into its block's bitmap. */
    void (*log_sync)(MemoryListener *l, const FlatRange *fr);
    void (*commit)(MemoryListener *l);
    AddressSpace *as; /* set by memory_listener_register() */
};

typedef enum MemTxResult {
    MEMTX_OK,
    MEMTX_UNASSIGNED, /* part of the access hit no region */
    MEMTX_READONLY, /* a write to read-only RAM was dropped */
} MemTxResult;

AddressSpace *address_space_new(const char *name, MemoryRegion *root);
void address_space_free(AddressSpace *as);
const char *address_space_name(const AddressSpace *as);
MemoryRegion *address_space_root(const AddressSpace *as);

/* The current view, with a reference the caller drops with flatview_unref(). */
FlatView *address_space_get_flatview(AddressSpace *as);

/* Registering replays region_add (and log_start if logging is on) for the
 * current view inside begin/commit, so a late listener catches up. */
void memory_listener_register(MemoryListener *l, AddressSpace *as);
void memory_listener_unregister(MemoryListener *l);

/* Global dirty logging over every RAM range of every address space. */
void memory_global_dirty_log_start(void);
void memory_global_dirty_log_stop(void);
void memory_global_dirty_log_sync(void);
bool memory_global_dirty_log_enabled(void);

/* Accesses of any length, split at range boundaries (an access running
 * past 2^64 wraps to 0).  I/O regions get one call for a naturally aligned
 * 1/2/4/8-byte piece, byte calls for any other shape.  The result is the
 * first non-OK outcome of any piece; unassigned bytes read as 0xff. */
MemTxResult address_space_read(AddressSpace *as, uint64_t addr, void *buf, uint64_t len);
MemTxResult address_space_write(AddressSpace *as, uint64_t addr, const void *buf, uint64_t len);

/* Host pointer for [addr, addr+len) when it lies entirely in one RAM range
 * (writable unless `for_read`), else NULL; also NULL for len 0 and when
 * addr+len wraps past 2^64.  Loaders and devices that DMA
 * use this: it is the bounds check that keeps them inside guest memory.
 * The pointer stays valid while the RAM block lives. */
void *address_space_ram_ptr(AddressSpace *as, uint64_t addr, uint64_t len, bool for_read);

/* QEMU's `info mtree`: every address space's tree, then aliased regions. */
void mtree_info(GString *out);
