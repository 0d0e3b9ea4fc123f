/* Rendering a region tree into a FlatView.  See flatview.h.
 *
 * The walk visits regions winners first (a parent's subregions are kept in
 * priority order, later-added first), carrying a clip window that shrinks
 * to each region's extent.  A terminal region only fills the gaps the view
 * still has inside its window, so whatever was rendered before it (a
 * winner) stays on top.  Arithmetic is done in 128 bits: a region may span
 * all 2^64 bytes, and an alias may move the base below zero.
 */
#include "mem/flatview.h"

#include <glib.h>

typedef __int128 i128;

#define SPACE_END ((i128)1 << 64)
/* Pieces are at most 2^63 bytes so that a size always fits in 64 bits,
 * even for a region that spans the whole space. */
#define MAX_PIECE ((i128)1 << 63)

static i128 region_size(const MemoryRegion *mr)
{
    return mr->size == MR_SIZE_ALL ? SPACE_END : (i128)mr->size;
}

static i128 min128(i128 a, i128 b)
{
    return a < b ? a : b;
}

static i128 max128(i128 a, i128 b)
{
    return a > b ? a : b;
}

/* Insert [addr, addr+size) at *index, advancing *index past it. */
static void insert_piece(GArray *ranges, unsigned *index, MemoryRegion *mr, i128 addr, i128 size,
                         uint64_t offset, bool readonly)
{
    while (size > 0) {
        i128 piece = min128(size, MAX_PIECE);
        FlatRange fr = {
            .addr = (uint64_t)addr,
            .size = (uint64_t)piece,
            .mr = mr,
            .offset_in_region = offset,
            .readonly = readonly,
        };
        g_array_insert_val(ranges, *index, fr);
        (*index)++;
        addr += piece;
        offset += (uint64_t)piece;
        size -= piece;
    }
}

/* Fill the gaps of [start, end) with `mr`, whose first byte is at `base`. */
static void render_terminal(GArray *ranges, MemoryRegion *mr, i128 base, i128 start, i128 end,
                            bool readonly)
{
    i128 pos = start;
    unsigned i = 0;

    while (pos < end && i < ranges->len) {
        const FlatRange *fr = &g_array_index(ranges, FlatRange, i);
        i128 fr_start = fr->addr;
        i128 fr_end = fr_start + fr->size;

        if (fr_end <= pos) {
            i++;
            continue;
        }
        if (pos < fr_start) {
            i128 gap_end = min128(end, fr_start);
            insert_piece(ranges, &i, mr, pos, gap_end - pos, (uint64_t)(pos - base), readonly);
            pos = gap_end;
        }
        /* Already taken by a winner: skip it. */
        pos = max128(pos, min128(end, fr_end));
        i++;
    }
    if (pos < end)
        insert_piece(ranges, &i, mr, pos, end - pos, (uint64_t)(pos - base), readonly);
}

/* `base` is the address of the parent's first byte; [clip_start,
 * clip_end) is the window the parent is visible through. */
static void render_region(GArray *ranges, MemoryRegion *mr, i128 base, i128 clip_start,
                          i128 clip_end, bool readonly)
{
    if (!mr->enabled)
        return;
    base += mr->addr;
    readonly |= mr->readonly;

    i128 start = max128(base, clip_start);
    i128 end = min128(base + region_size(mr), clip_end);
    if (start >= end)
        return;

    switch (mr->kind) {
    case MR_ALIAS:
        /* The window shows the target from alias_offset on, placed where
         * the alias is, not where the target itself sits. */
        if (mr->alias) {
            render_region(ranges, mr->alias, base - (i128)mr->alias->addr - (i128)mr->alias_offset,
                          start, end, readonly);
        }
        break;
    case MR_CONTAINER:
        for (unsigned i = 0; i < mr->subregions->len; i++)
            render_region(ranges, g_ptr_array_index(mr->subregions, i), base, start, end,
                          readonly);
        break;
    case MR_RAM:
    case MR_IO:
        render_terminal(ranges, mr, base, start, end, readonly);
        break;
    }
}

static bool flat_ranges_can_merge(const FlatRange *a, const FlatRange *b)
{
    return a->mr == b->mr && a->readonly == b->readonly &&
           (i128)a->addr + a->size == (i128)b->addr &&
           (i128)a->offset_in_region + a->size == (i128)b->offset_in_region &&
           (i128)a->size + b->size <= (i128)UINT64_MAX;
}

static void merge_adjacent(GArray *ranges)
{
    unsigned out = 0;

    for (unsigned i = 0; i < ranges->len; i++) {
        FlatRange *cur = &g_array_index(ranges, FlatRange, i);
        if (out > 0) {
            FlatRange *prev = &g_array_index(ranges, FlatRange, out - 1);
            if (flat_ranges_can_merge(prev, cur)) {
                prev->size += cur->size;
                continue;
            }
        }
        g_array_index(ranges, FlatRange, out) = *cur;
        out++;
    }
    g_array_set_size(ranges, out);
}

FlatView *flatview_render(MemoryRegion *root)
{
    GArray *ranges = g_array_new(FALSE, FALSE, sizeof(FlatRange));
    FlatView *view = g_new0(FlatView, 1);

    if (root)
        render_region(ranges, root, 0, 0, SPACE_END, false);
    merge_adjacent(ranges);

    view->nr = ranges->len;
    view->ranges = (FlatRange *)(void *)g_array_free(ranges, view->nr == 0);
    view->refcount = 1;
    return view;
}

FlatView *flatview_ref(FlatView *view)
{
    g_atomic_int_inc(&view->refcount);
    return view;
}

void flatview_unref(FlatView *view)
{
    if (view && g_atomic_int_dec_and_test(&view->refcount)) {
        g_free(view->ranges);
        g_free(view);
    }
}

unsigned flatview_find_index(const FlatView *view, uint64_t addr)
{
    unsigned lo = 0, hi = view->nr;

    /* First range whose last byte is at or above addr. */
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (flat_range_last(&view->ranges[mid]) < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const FlatRange *flatview_lookup(const FlatView *view, uint64_t addr)
{
    unsigned i = flatview_find_index(view, addr);

    if (i < view->nr && view->ranges[i].addr <= addr)
        return &view->ranges[i];
    return NULL;
}
