/* FlatView: a region tree rendered into sorted, non-overlapping ranges.
 *
 * Each range names the terminal region (RAM or I/O, never a container or an
 * alias) that answers for those addresses, and the offset inside it.
 * Adjacent ranges of the same region at contiguous offsets with the same
 * access are merged.  Holes are simply absent.  A view is immutable once
 * rendered and shared by reference count, so a vCPU can keep using the view
 * it looked up while a commit renders the next one.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "mem/region.h"

typedef struct FlatRange {
    uint64_t addr; /* guest address of the first byte */
    uint64_t size; /* never 0; a range never covers all 2^64 bytes */
    MemoryRegion *mr; /* MR_RAM or MR_IO */
    uint64_t offset_in_region;
    bool readonly; /* RAM mapped read-only (ROM, or a read-only alias) */
} FlatRange;

typedef struct FlatView {
    FlatRange *ranges;
    unsigned nr;
    int refcount;
} FlatView;

FlatView *flatview_render(MemoryRegion *root);
FlatView *flatview_ref(FlatView *view);
void flatview_unref(FlatView *view);

/* The range holding `addr`, or NULL; a binary search. */
const FlatRange *flatview_lookup(const FlatView *view, uint64_t addr);

/* Index of the first range whose last byte is at or above `addr` (view->nr
 * if none): the range holding `addr`, or else the next one above it. */
unsigned flatview_find_index(const FlatView *view, uint64_t addr);

static inline uint64_t flat_range_last(const FlatRange *fr)
{
    return fr->addr + fr->size - 1;
}

static inline bool flat_range_is_ram(const FlatRange *fr)
{
    return fr->mr->kind == MR_RAM;
}

/* Host address of guest address fr->addr, for RAM ranges. */
static inline uint8_t *flat_range_host(const FlatRange *fr)
{
    return fr->mr->ram_block->host + fr->offset_in_region;
}

static inline bool flat_range_equal(const FlatRange *a, const FlatRange *b)
{
    return a->addr == b->addr && a->size == b->size && a->mr == b->mr &&
           a->offset_in_region == b->offset_in_region && a->readonly == b->readonly;
}
