/* The RAM block list of a migration stream; see ram_blocks.h. */
#include "migration/ram_blocks.h"

#include <inttypes.h>
#include <string.h>

#include "migration/stream.h"

GPtrArray *migration_ram_blocks_collect(void)
{
    GPtrArray *blocks = g_ptr_array_new();

    for (GList *l = ram_block_list(); l; l = l->next) {
        RamBlock *block = l->data;
        if (block->flags & RAM_BLOCK_MIGRATABLE)
            g_ptr_array_add(blocks, block);
    }
    return blocks;
}

void migration_block_info_from(const RamBlock *block, MigrationBlockInfo *info)
{
    info->name = block->idstr;
    info->used_length = block->used_length;
    info->max_length = block->max_length;
    info->page_size = block->page_size;
    info->flags = 0;
    if (block->flags & RAM_BLOCK_RESIZABLE)
        info->flags |= MIGRATION_BLOCK_RESIZABLE;
    if (block->flags & RAM_BLOCK_READONLY)
        info->flags |= MIGRATION_BLOCK_READONLY;
}

/* Can `local` take the incoming block as it is or after a resize? */
static bool block_accepts(const RamBlock *local, const MigrationBlockInfo *incoming,
                          GError **errp)
{
    if (incoming->used_length == local->used_length)
        return true;
    if (!(local->flags & RAM_BLOCK_RESIZABLE)) {
        g_set_error(errp, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_MISMATCH,
                    "Size mismatch: %s: 0x%" PRIx64 " != 0x%" PRIx64, incoming->name,
                    incoming->used_length, local->used_length);
        return false;
    }
    if (incoming->used_length > local->max_length) {
        g_set_error(errp, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_MISMATCH,
                    "Size too large: %s: 0x%" PRIx64 " > 0x%" PRIx64, incoming->name,
                    incoming->used_length, local->max_length);
        return false;
    }
    /* A used length that is not a multiple of the local page size would
     * be rounded up by ram_block_resize(), leaving a tail the source never
     * sends: refuse it here rather than fail half-way through the list. */
    if (incoming->used_length % local->page_size) {
        g_set_error(errp, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_MISMATCH,
                    "Size mismatch: %s: 0x%" PRIx64
                    " is not a multiple of the local page size 0x%" PRIx64,
                    incoming->name, incoming->used_length, local->page_size);
        return false;
    }
    return true;
}

bool migration_ram_blocks_match(const MigrationBlockInfo *infos, unsigned count,
                                RamBlock **matched, GError **errp)
{
    for (unsigned i = 0; i < count; i++) {
        const MigrationBlockInfo *incoming = &infos[i];

        for (unsigned j = 0; j < i; j++) {
            if (strcmp(infos[j].name, incoming->name) == 0) {
                g_set_error(errp, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_INVALID,
                            "stream: ramblock \"%s\" is listed twice", incoming->name);
                return false;
            }
        }
        RamBlock *local = ram_block_find(incoming->name);
        if (!local) {
            g_set_error(errp, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_MISMATCH,
                        "Unknown ramblock \"%s\", cannot accept migration", incoming->name);
            return false;
        }
        if (!(local->flags & RAM_BLOCK_MIGRATABLE)) {
            g_set_error(errp, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_MISMATCH,
                        "Ramblock \"%s\" is not migratable here, cannot accept migration",
                        incoming->name);
            return false;
        }
        if (!block_accepts(local, incoming, errp))
            return false;
        matched[i] = local;
    }
    /* Every block fits: only now change the resizable ones. */
    for (unsigned i = 0; i < count; i++) {
        if (!ram_block_resize(matched[i], infos[i].used_length, errp))
            return false; /* cannot happen after block_accepts() */
    }
    return true;
}
