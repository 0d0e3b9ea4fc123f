/* Address spaces: a root region, its current FlatView and its listeners;
 * commits, dirty-log switching, and guest memory and device access.  See
 * address_space.h. */
#include "mem/address_space.h"

#include <string.h>

#include "mem/memory_internal.h"

struct AddressSpace {
    char *name;
    MemoryRegion *root;
    /* Guards the pointer only: readers take a reference under the read
     * side, the committer swaps under the write side, so a reader never
     * sees a freed view and readers do not wait for each other. */
    GRWLock view_lock;
    FlatView *current;
    GPtrArray *listeners; /* MemoryListener *, registration order */
};

static GPtrArray *address_spaces; /* under the memory lock */
/* Written under the memory lock; read atomically so that any thread may ask
 * without waiting for a commit. */
static gint global_dirty_log;

#define LISTENER_CALL(l, cb, ...)          \
    do {                                   \
        if ((l)->cb)                       \
            (l)->cb((l), ##__VA_ARGS__);   \
    } while (0)

GPtrArray *address_spaces_all(void)
{
    if (!address_spaces)
        address_spaces = g_ptr_array_new();
    return address_spaces;
}

AddressSpace *address_space_new(const char *name, MemoryRegion *root)
{
    AddressSpace *as = g_new0(AddressSpace, 1);

    as->name = g_strdup(name);
    as->root = root;
    g_rw_lock_init(&as->view_lock);
    as->current = flatview_render(NULL);
    as->listeners = g_ptr_array_new();

    /* The first view is rendered by the commit, like any other. */
    memory_region_transaction_begin();
    g_ptr_array_add(address_spaces_all(), as);
    memory_region_update_pending();
    memory_region_transaction_commit();
    return as;
}

void address_space_free(AddressSpace *as)
{
    if (!as)
        return;
    memory_lock();
    g_ptr_array_remove(address_spaces_all(), as);
    for (unsigned i = 0; i < as->listeners->len; i++) {
        MemoryListener *l = g_ptr_array_index(as->listeners, i);
        l->as = NULL;
    }
    memory_unlock();
    g_ptr_array_unref(as->listeners);
    flatview_unref(as->current);
    g_rw_lock_clear(&as->view_lock);
    g_free(as->name);
    g_free(as);
}

const char *address_space_name(const AddressSpace *as)
{
    return as->name;
}

MemoryRegion *address_space_root(const AddressSpace *as)
{
    return as->root;
}

FlatView *address_space_get_flatview(AddressSpace *as)
{
    g_rw_lock_reader_lock(&as->view_lock);
    FlatView *view = flatview_ref(as->current);
    g_rw_lock_reader_unlock(&as->view_lock);
    return view;
}

/* Tell every listener of `as` what changed from `old` to `new`: first the
 * removals, then additions and survivors in address order.  Both views
 * are sorted, so one merge-like walk per pass finds what each has alone. */
static void notify_topology_pass(AddressSpace *as, const FlatView *old, const FlatView *new,
                                 bool adding)
{
    unsigned iold = 0, inew = 0;

    while (iold < old->nr || inew < new->nr) {
        const FlatRange *frold = iold < old->nr ? &old->ranges[iold] : NULL;
        const FlatRange *frnew = inew < new->nr ? &new->ranges[inew] : NULL;

        if (frold && (!frnew || frold->addr < frnew->addr ||
                      (frold->addr == frnew->addr && !flat_range_equal(frold, frnew)))) {
            /* Only in the old view. */
            if (!adding) {
                for (unsigned i = 0; i < as->listeners->len; i++)
                    LISTENER_CALL((MemoryListener *)g_ptr_array_index(as->listeners, i),
                                  region_del, frold);
            }
            iold++;
        } else if (frold && frnew && flat_range_equal(frold, frnew)) {
            if (adding) {
                for (unsigned i = 0; i < as->listeners->len; i++)
                    LISTENER_CALL((MemoryListener *)g_ptr_array_index(as->listeners, i),
                                  region_nop, frnew);
            }
            iold++;
            inew++;
        } else {
            /* Only in the new view. */
            if (adding) {
                for (unsigned i = 0; i < as->listeners->len; i++) {
                    MemoryListener *l = g_ptr_array_index(as->listeners, i);
                    LISTENER_CALL(l, region_add, frnew);
                    if (global_dirty_log && flat_range_is_ram(frnew))
                        LISTENER_CALL(l, log_start, frnew);
                }
            }
            inew++;
        }
    }
}

static void address_space_update(AddressSpace *as)
{
    FlatView *new = flatview_render(as->root);
    FlatView *old = as->current;

    for (unsigned i = 0; i < as->listeners->len; i++)
        LISTENER_CALL((MemoryListener *)g_ptr_array_index(as->listeners, i), begin);
    notify_topology_pass(as, old, new, false);
    notify_topology_pass(as, old, new, true);

    /* Swap before the listeners' commit: an access that exits to ferry
     * while KVM slots change is then served by the new layout. */
    g_rw_lock_writer_lock(&as->view_lock);
    as->current = new;
    g_rw_lock_writer_unlock(&as->view_lock);

    for (unsigned i = 0; i < as->listeners->len; i++)
        LISTENER_CALL((MemoryListener *)g_ptr_array_index(as->listeners, i), commit);
    flatview_unref(old);
}

void address_spaces_commit(void)
{
    GPtrArray *all = address_spaces_all();

    for (unsigned i = 0; i < all->len; i++)
        address_space_update(g_ptr_array_index(all, i));
}

void memory_listener_register(MemoryListener *l, AddressSpace *as)
{
    g_return_if_fail(l->as == NULL);
    memory_lock();
    l->as = as;
    g_ptr_array_add(as->listeners, l);

    const FlatView *view = as->current;
    LISTENER_CALL(l, begin);
    for (unsigned i = 0; i < view->nr; i++) {
        LISTENER_CALL(l, region_add, &view->ranges[i]);
        if (global_dirty_log && flat_range_is_ram(&view->ranges[i]))
            LISTENER_CALL(l, log_start, &view->ranges[i]);
    }
    LISTENER_CALL(l, commit);
    memory_unlock();
}

void memory_listener_unregister(MemoryListener *l)
{
    memory_lock();
    AddressSpace *as = l->as;
    if (as) {
        const FlatView *view = as->current;
        LISTENER_CALL(l, begin);
        for (unsigned i = 0; i < view->nr; i++)
            LISTENER_CALL(l, region_del, &view->ranges[i]);
        LISTENER_CALL(l, commit);
        g_ptr_array_remove(as->listeners, l);
        l->as = NULL;
    }
    memory_unlock();
}

typedef enum DirtyLogOp {
    DIRTY_LOG_START,
    DIRTY_LOG_STOP,
    DIRTY_LOG_SYNC,
} DirtyLogOp;

/* One begin/commit per listener around the op on each of its RAM ranges. */
static void dirty_log_broadcast(DirtyLogOp op)
{
    GPtrArray *all = address_spaces_all();

    for (unsigned a = 0; a < all->len; a++) {
        AddressSpace *as = g_ptr_array_index(all, a);
        const FlatView *view = as->current;

        for (unsigned i = 0; i < as->listeners->len; i++) {
            MemoryListener *l = g_ptr_array_index(as->listeners, i);
            LISTENER_CALL(l, begin);
            for (unsigned r = 0; r < view->nr; r++) {
                const FlatRange *fr = &view->ranges[r];
                if (!flat_range_is_ram(fr))
                    continue;
                switch (op) {
                case DIRTY_LOG_START:
                    LISTENER_CALL(l, log_start, fr);
                    break;
                case DIRTY_LOG_STOP:
                    LISTENER_CALL(l, log_stop, fr);
                    break;
                case DIRTY_LOG_SYNC:
                    LISTENER_CALL(l, log_sync, fr);
                    break;
                }
            }
            LISTENER_CALL(l, commit);
        }
    }
}

void memory_global_dirty_log_start(void)
{
    memory_region_transaction_begin();
    if (!global_dirty_log) {
        /* Before the flag: a write ferry makes in between is covered. */
        ram_blocks_dirty_set_all();
        g_atomic_int_set(&global_dirty_log, 1);
        dirty_log_broadcast(DIRTY_LOG_START);
    }
    memory_region_transaction_commit();
}

void memory_global_dirty_log_stop(void)
{
    memory_region_transaction_begin();
    if (global_dirty_log) {
        g_atomic_int_set(&global_dirty_log, 0);
        dirty_log_broadcast(DIRTY_LOG_STOP);
    }
    memory_region_transaction_commit();
}

void memory_global_dirty_log_sync(void)
{
    memory_region_transaction_begin();
    dirty_log_broadcast(DIRTY_LOG_SYNC);
    memory_region_transaction_commit();
}

bool memory_global_dirty_log_enabled(void)
{
    return g_atomic_int_get(&global_dirty_log) != 0;
}

uint64_t memory_global_dirty_log_take(RamBlock *block, uint64_t first_page, uint64_t npages,
                                      uint64_t *bits)
{
    memory_lock();
    uint64_t taken = ram_block_dirty_take(block, first_page, npages, bits);
    if (taken) {
        GPtrArray *all = address_spaces_all();
        for (unsigned a = 0; a < all->len; a++) {
            AddressSpace *as = g_ptr_array_index(all, a);
            for (unsigned i = 0; i < as->listeners->len; i++)
                LISTENER_CALL((MemoryListener *)g_ptr_array_index(as->listeners, i), log_clear,
                              block, first_page, npages, bits);
        }
    }
    memory_unlock();
    return taken;
}

void address_space_mark_dirty(AddressSpace *as, uint64_t addr, uint64_t len)
{
    if (len == 0)
        return;
    FlatView *view = address_space_get_flatview(as);
    uint64_t last = len - 1 > UINT64_MAX - addr ? UINT64_MAX : addr + len - 1;
    for (unsigned i = flatview_find_index(view, addr); i < view->nr; i++) {
        const FlatRange *fr = &view->ranges[i];
        if (fr->addr > last)
            break;
        if (!flat_range_is_ram(fr))
            continue;
        uint64_t from = MAX(addr, fr->addr);
        uint64_t to = MIN(last, flat_range_last(fr));
        ram_block_mark_dirty(fr->mr->ram_block, fr->offset_in_region + (from - fr->addr),
                             to - from + 1);
    }
    flatview_unref(view);
}

/* One device access of `size` bytes at `offset`, little-endian in buf. */
static void io_access_one(MemoryRegion *mr, uint64_t offset, uint8_t *buf, unsigned size,
                          bool is_write)
{
    if (mr->lock)
        g_mutex_lock(mr->lock);
    if (is_write) {
        uint64_t value = 0;
        for (unsigned i = 0; i < size; i++)
            value |= (uint64_t)buf[i] << (8 * i);
        if (mr->ops && mr->ops->write)
            mr->ops->write(mr->opaque, offset, value, size);
    } else {
        uint64_t value = UINT64_MAX;
        if (mr->ops && mr->ops->read)
            value = mr->ops->read(mr->opaque, offset, size);
        for (unsigned i = 0; i < size; i++)
            buf[i] = (uint8_t)(value >> (8 * i));
    }
    if (mr->lock)
        g_mutex_unlock(mr->lock);
}

/* Naturally aligned 1/2/4/8-byte accesses go through as one call; any
 * other shape becomes byte accesses. */
static void io_access(MemoryRegion *mr, uint64_t offset, uint8_t *buf, uint64_t len,
                      bool is_write)
{
    if ((len == 1 || len == 2 || len == 4 || len == 8) && offset % len == 0) {
        io_access_one(mr, offset, buf, (unsigned)len, is_write);
        return;
    }
    for (uint64_t i = 0; i < len; i++)
        io_access_one(mr, offset + i, buf + i, 1, is_write);
}

static MemTxResult address_space_rw(AddressSpace *as, uint64_t addr, uint8_t *buf, uint64_t len,
                                    bool is_write)
{
    FlatView *view = address_space_get_flatview(as);
    MemTxResult result = MEMTX_OK;

    while (len > 0) {
        unsigned idx = flatview_find_index(view, addr);
        const FlatRange *fr = idx < view->nr ? &view->ranges[idx] : NULL;
        MemTxResult step = MEMTX_OK;
        uint64_t chunk;

        if (!fr || fr->addr > addr) {
            /* A hole, up to the next range or the top of the space. */
            uint64_t hole = fr ? fr->addr - addr : UINT64_MAX - addr + 1; /* 0 = 2^64 */
            chunk = (hole == 0 || hole > len) ? len : hole;
            if (!is_write)
                memset(buf, 0xff, chunk);
            step = MEMTX_UNASSIGNED;
        } else {
            uint64_t into = addr - fr->addr;
            chunk = MIN(len, fr->size - into);
            if (flat_range_is_ram(fr)) {
                uint8_t *host = flat_range_host(fr) + into;
                if (!is_write) {
                    memcpy(buf, host, chunk);
                } else if (fr->readonly) {
                    step = MEMTX_READONLY;
                } else {
                    memcpy(host, buf, chunk);
                    /* KVM never sees this store (an exit served here). */
                    if (g_atomic_int_get(&global_dirty_log))
                        ram_block_mark_dirty(fr->mr->ram_block, fr->offset_in_region + into,
                                             chunk);
                }
            } else {
                io_access(fr->mr, fr->offset_in_region + into, buf, chunk, is_write);
            }
        }
        if (result == MEMTX_OK)
            result = step;
        addr += chunk; /* wraps at 2^64 like the bus does */
        buf += chunk;
        len -= chunk;
    }
    flatview_unref(view);
    return result;
}

MemTxResult address_space_read(AddressSpace *as, uint64_t addr, void *buf, uint64_t len)
{
    return address_space_rw(as, addr, buf, len, false);
}

MemTxResult address_space_write(AddressSpace *as, uint64_t addr, const void *buf, uint64_t len)
{
    /* Writes never modify buf; the shared walker just takes one pointer type. */
    return address_space_rw(as, addr, (uint8_t *)buf, len, true);
}

void *address_space_ram_ptr(AddressSpace *as, uint64_t addr, uint64_t len, bool for_read)
{
    void *ptr = NULL;

    /* An empty range has no bytes to check: refuse it rather than hand out
     * a pointer nobody may use. */
    if (len == 0 || len - 1 > UINT64_MAX - addr)
        return NULL;

    FlatView *view = address_space_get_flatview(as);
    const FlatRange *fr = flatview_lookup(view, addr);
    if (fr && flat_range_is_ram(fr) && (for_read || !fr->readonly) &&
        addr + (len - 1) <= flat_range_last(fr))
        ptr = flat_range_host(fr) + (addr - fr->addr);
    flatview_unref(view);
    return ptr;
}
