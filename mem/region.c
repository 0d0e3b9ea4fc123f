/* Memory regions and transactions.  See region.h. */
#include "mem/region.h"

#include "mem/memory_internal.h"

static GRecMutex memory_mutex;
static unsigned transaction_depth; /* under memory_mutex */
static bool update_pending; /* under memory_mutex */

void memory_lock(void)
{
    g_rec_mutex_lock(&memory_mutex);
}

void memory_unlock(void)
{
    g_rec_mutex_unlock(&memory_mutex);
}

void memory_region_update_pending(void)
{
    update_pending = true;
}

void memory_region_transaction_begin(void)
{
    memory_lock();
    transaction_depth++;
}

void memory_region_transaction_commit(void)
{
    g_assert(transaction_depth > 0);
    if (--transaction_depth == 0 && update_pending) {
        update_pending = false;
        address_spaces_commit();
    }
    memory_unlock();
}

static MemoryRegion *region_new(const char *name, MemoryRegionKind kind, uint64_t size)
{
    MemoryRegion *mr = g_new0(MemoryRegion, 1);

    mr->name = g_strdup(name);
    mr->kind = kind;
    mr->size = size;
    mr->enabled = true;
    mr->subregions = g_ptr_array_new();
    return mr;
}

MemoryRegion *memory_region_new_container(const char *name, uint64_t size)
{
    return region_new(name, MR_CONTAINER, size);
}

MemoryRegion *memory_region_new_ram(const char *name, RamBlock *block)
{
    MemoryRegion *mr = region_new(name, MR_RAM, block->used_length);

    mr->ram_block = block;
    mr->readonly = (block->flags & RAM_BLOCK_READONLY) != 0;
    return mr;
}

MemoryRegion *memory_region_new_rom(const char *name, RamBlock *block)
{
    MemoryRegion *mr = memory_region_new_ram(name, block);

    mr->readonly = true;
    return mr;
}

MemoryRegion *memory_region_new_io(const char *name, uint64_t size, const MemoryRegionOps *ops,
                                   void *opaque)
{
    MemoryRegion *mr = region_new(name, MR_IO, size);

    mr->ops = ops;
    mr->opaque = opaque;
    return mr;
}

MemoryRegion *memory_region_add_io(MemoryRegion *parent, uint64_t addr, const char *name,
                                   uint64_t size, const MemoryRegionOps *ops, void *opaque,
                                   GMutex *lock)
{
    MemoryRegion *mr = memory_region_new_io(name, size, ops, opaque);

    memory_region_set_lock(mr, lock);
    memory_region_add_subregion(parent, addr, mr);
    return mr;
}

MemoryRegion *memory_region_new_alias(const char *name, MemoryRegion *target, uint64_t offset,
                                      uint64_t size)
{
    MemoryRegion *mr = region_new(name, MR_ALIAS, size);

    mr->alias = target;
    mr->alias_offset = offset;
    return mr;
}

void memory_region_free(MemoryRegion *mr)
{
    if (!mr)
        return;
    memory_region_transaction_begin();
    /* Be forgiving about teardown order: detach from the parent and let
     * the children go (their owners free them). */
    if (mr->parent)
        memory_region_del_subregion(mr->parent, mr);
    for (unsigned i = 0; i < mr->subregions->len; i++) {
        MemoryRegion *child = g_ptr_array_index(mr->subregions, i);
        child->parent = NULL;
    }
    if (mr->subregions->len)
        memory_region_update_pending();
    g_ptr_array_set_size(mr->subregions, 0);
    memory_region_transaction_commit();
    g_ptr_array_unref(mr->subregions);
    g_free(mr->name);
    g_free(mr);
}

/* Winners first: before every sibling of lower or equal priority, so that
 * among equal priorities the region added last wins. */
static void subregion_insert(MemoryRegion *parent, MemoryRegion *child)
{
    unsigned i;

    for (i = 0; i < parent->subregions->len; i++) {
        const MemoryRegion *other = g_ptr_array_index(parent->subregions, i);
        if (child->priority >= other->priority)
            break;
    }
    g_ptr_array_insert(parent->subregions, (int)i, child);
    child->parent = parent;
}

void memory_region_add_subregion_overlap(MemoryRegion *parent, uint64_t addr,
                                         MemoryRegion *child, int priority)
{
    g_return_if_fail(parent->kind == MR_CONTAINER);
    g_return_if_fail(child->parent == NULL);

    memory_region_transaction_begin();
    child->addr = addr;
    child->priority = priority;
    subregion_insert(parent, child);
    memory_region_update_pending();
    memory_region_transaction_commit();
}

void memory_region_add_subregion(MemoryRegion *parent, uint64_t addr, MemoryRegion *child)
{
    memory_region_add_subregion_overlap(parent, addr, child, 0);
}

void memory_region_del_subregion(MemoryRegion *parent, MemoryRegion *child)
{
    g_return_if_fail(child->parent == parent);

    memory_region_transaction_begin();
    g_ptr_array_remove(parent->subregions, child);
    child->parent = NULL;
    memory_region_update_pending();
    memory_region_transaction_commit();
}

void memory_region_set_enabled(MemoryRegion *mr, bool enabled)
{
    memory_region_transaction_begin();
    if (mr->enabled != enabled) {
        mr->enabled = enabled;
        memory_region_update_pending();
    }
    memory_region_transaction_commit();
}

void memory_region_set_readonly(MemoryRegion *mr, bool readonly)
{
    memory_region_transaction_begin();
    if (mr->readonly != readonly) {
        mr->readonly = readonly;
        memory_region_update_pending();
    }
    memory_region_transaction_commit();
}

void memory_region_set_address(MemoryRegion *mr, uint64_t addr)
{
    memory_region_transaction_begin();
    if (mr->addr != addr) {
        mr->addr = addr;
        /* Like QEMU, a moved region counts as newly added among siblings
         * of its priority. */
        MemoryRegion *parent = mr->parent;
        if (parent) {
            g_ptr_array_remove(parent->subregions, mr);
            subregion_insert(parent, mr);
        }
        memory_region_update_pending();
    }
    memory_region_transaction_commit();
}

void memory_region_set_alias_offset(MemoryRegion *mr, uint64_t offset)
{
    g_return_if_fail(mr->kind == MR_ALIAS);

    memory_region_transaction_begin();
    if (mr->alias_offset != offset) {
        mr->alias_offset = offset;
        memory_region_update_pending();
    }
    memory_region_transaction_commit();
}

void memory_region_set_size(MemoryRegion *mr, uint64_t size)
{
    /* RAM must stay inside the host memory reserved for its block. */
    g_return_if_fail(mr->kind != MR_RAM || size <= mr->ram_block->max_length);

    memory_region_transaction_begin();
    if (mr->size != size) {
        mr->size = size;
        memory_region_update_pending();
    }
    memory_region_transaction_commit();
}

void memory_region_set_lock(MemoryRegion *mr, GMutex *lock)
{
    mr->lock = lock;
}
