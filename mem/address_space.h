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
    /* Re-arm tracking of the pages set in bits[] (bit i = page first_page
     * + i of `block`, npages bits, first_page a multiple of 64), which the
     * caller just took from the block's bitmap and is about to read
     * (KVM_CLEAR_DIRTY_LOG).  Called outside begin/commit, with the memory
     * lock held. */
    void (*log_clear)(MemoryListener *l, RamBlock *block, uint64_t first_page, uint64_t npages,
                      const uint64_t *bits);
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

/* Global dirty logging over every RAM range of every address space.
 *
 * start: every RAM range gets logged (KVM_MEM_LOG_DIRTY_PAGES), and every
 *   page of every RAM block counts as dirty, so migration's first round is
 *   "send what is dirty" like every later one.  RAM that appears while
 *   logging is on (a DIMM, a grown ROM) is logged and all dirty too.
 * sync: pull what the guest wrote since the last sync into the blocks'
 *   bitmaps (KVM_GET_DIRTY_LOG per slot, or reaping the vCPUs' dirty
 *   rings).  For a final sync, pause the vCPUs first: a running vCPU may
 *   still hold dirty pages in its CPU's log.
 * take: migration's per-chunk step; see memory_global_dirty_log_take().
 * Writes ferry itself makes through address_space_write() are marked
 * dirty while logging is on; writes through address_space_ram_ptr()
 * pointers need address_space_mark_dirty() afterwards. */
void memory_global_dirty_log_start(void);
void memory_global_dirty_log_stop(void);
void memory_global_dirty_log_sync(void);
bool memory_global_dirty_log_enabled(void);

/* Takes the dirty bits of pages [first_page, first_page + npages) of
 * `block` into bits[] (see ram_block_dirty_take()), re-arms tracking of
 * exactly those pages in KVM (log_clear, one call for the whole range),
 * and returns how many there are: bit i set = page first_page + i must be
 * sent.  Read the pages after this call, never before: a guest write
 * after it is caught by the next sync.  Pages whose bits were clear are
 * left alone in KVM, so a write that the next sync has yet to see is
 * never lost. */
uint64_t memory_global_dirty_log_take(RamBlock *block, uint64_t first_page, uint64_t npages,
                                      uint64_t *bits);

/* The host wrote guest RAM [addr, addr + len) through a pointer from
 * address_space_ram_ptr(): mark the RAM blocks behind it dirty.  Call it
 * after the write.  Parts that are not RAM are ignored. */
void address_space_mark_dirty(AddressSpace *as, uint64_t addr, uint64_t len);

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
