/* `info mtree`: the region tree of every address space in QEMU's format,
 * then each region reached through an alias, on its own.
 *
 * Children print sorted by address, then by priority (higher first);
 * siblings equal in both keep their tree order (later-added first).  The
 * "memory-region:" sections follow QEMU: every alias target met while
 * printing, once, in the order first met (which includes targets that
 * also sit in a tree, and targets of aliases inside those sections).
 */
#include <inttypes.h>

#include "mem/address_space.h"
#include "mem/memory_internal.h"

static int compare_by_address_then_priority(gconstpointer pa, gconstpointer pb)
{
    const MemoryRegion *a = *(MemoryRegion *const *)pa;
    const MemoryRegion *b = *(MemoryRegion *const *)pb;

    if (a->addr != b->addr)
        return a->addr < b->addr ? -1 : 1;
    if (a->priority != b->priority)
        return a->priority > b->priority ? -1 : 1;
    return 0;
}

/* Last byte of a window of `size` bytes at `start`; a size of 0 prints
 * its start, MR_SIZE_ALL covers 2^64 bytes. */
static uint64_t window_last(uint64_t start, uint64_t size)
{
    if (size == 0)
        return start;
    if (size == MR_SIZE_ALL)
        return start - 1;
    return start + size - 1;
}

static void queue_alias_target(GPtrArray *targets, MemoryRegion *target)
{
    if (target && !g_ptr_array_find(targets, target, NULL))
        g_ptr_array_add(targets, target);
}

static void mtree_print_region(GString *out, const MemoryRegion *mr, unsigned level, uint64_t base,
                               GPtrArray *alias_targets)
{
    uint64_t start = base + mr->addr;
    const char *access = mr->readonly ? "R-" : "RW";

    for (unsigned i = 0; i < level; i++)
        g_string_append(out, "  ");
    g_string_append_printf(out, "%016" PRIx64 "-%016" PRIx64 " (prio %d, %s): ", start,
                           window_last(start, mr->size), mr->priority, access);
    if (mr->kind == MR_ALIAS) {
        queue_alias_target(alias_targets, mr->alias);
        g_string_append_printf(out, "alias %s @%s %016" PRIx64 "-%016" PRIx64, mr->name,
                               mr->alias ? mr->alias->name : "(none)", mr->alias_offset,
                               window_last(mr->alias_offset, mr->size));
    } else {
        g_string_append(out, mr->name);
    }
    g_string_append_printf(out, "%s\n", mr->enabled ? "" : " [disabled]");

    g_autoptr(GPtrArray) children = g_ptr_array_copy(mr->subregions, NULL, NULL);
    g_ptr_array_sort(children, compare_by_address_then_priority); /* stable */
    for (unsigned i = 0; i < children->len; i++)
        mtree_print_region(out, g_ptr_array_index(children, i), level + 1, start, alias_targets);
}

void mtree_info(GString *out)
{
    g_autoptr(GPtrArray) alias_targets = g_ptr_array_new();

    memory_lock();
    GPtrArray *all = address_spaces_all();
    for (unsigned i = 0; i < all->len; i++) {
        AddressSpace *as = g_ptr_array_index(all, i);
        g_string_append_printf(out, "address-space: %s\n", address_space_name(as));
        if (address_space_root(as))
            mtree_print_region(out, address_space_root(as), 1, 0, alias_targets);
        g_string_append(out, "\n");
    }
    /* The list grows while it is printed: targets of aliases inside. */
    for (unsigned i = 0; i < alias_targets->len; i++) {
        const MemoryRegion *mr = g_ptr_array_index(alias_targets, i);
        g_string_append_printf(out, "memory-region: %s\n", mr->name);
        mtree_print_region(out, mr, 1, 0, alias_targets);
        g_string_append(out, "\n");
    }
    memory_unlock();
}
