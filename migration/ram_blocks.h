/* The RAM block list of a migration stream, and matching it on arrival.
 *
 * The source sends its migratable RAM blocks (RAM_BLOCK_MIGRATABLE) in
 * ram_block_list() order; page records then name a block by its index in
 * that list.  Blocks without the flag (memory that a device rebuilds on
 * the destination) are left out on the source and never looked at on the
 * destination.
 *
 * The destination matches each incoming block by name and used length,
 * with QEMU's error texts, so that operators and scripts recognise them:
 *   Unknown ramblock "NAME", cannot accept migration
 *   Size mismatch: NAME: 0xSOURCE != 0xDESTINATION     (a fixed-size block)
 *   Size too large: NAME: 0xSOURCE > 0xDESTINATION_MAX (a resizable block)
 * A resizable block (a ROM blob such as /rom@etc/acpi/tables, whose used
 * length follows the tables the source built) takes the source's used
 * length when it fits its max length.  Every block is checked before any
 * is resized, so a refused stream changes nothing.
 *
 * Page sizes are not compared: the stream moves 4 KiB pages, which any
 * block (4 KiB or huge pages) can take.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "mem/ram_block.h"

/* Longest block name on the wire, without the NUL (QEMU's idstr limit). */
#define MIGRATION_BLOCK_NAME_MAX 255u
/* Most blocks a stream may list: a bound for the reader, far above a PC's
 * dozen (RAM, firmware, three ROM blobs, 256 DIMM backends). */
#define MIGRATION_BLOCKS_MAX 1024u

/* Flags as sent: independent of RamBlockFlags, so that the wire format
 * does not move when mem/ renumbers. */
typedef enum MigrationBlockFlags {
    MIGRATION_BLOCK_RESIZABLE = 1u << 0,
    MIGRATION_BLOCK_READONLY = 1u << 1,
} MigrationBlockFlags;
#define MIGRATION_BLOCK_KNOWN_FLAGS (MIGRATION_BLOCK_RESIZABLE | MIGRATION_BLOCK_READONLY)

/* One entry of the list as it travels. */
typedef struct MigrationBlockInfo {
    char *name; /* owned by whoever filled it in (see below) */
    uint64_t used_length; /* a multiple of the stream's 4 KiB page */
    uint64_t max_length; /* >= used_length; informational */
    uint64_t page_size; /* the source block's page size; informational */
    uint32_t flags; /* MigrationBlockFlags */
} MigrationBlockInfo;

/* Source: the blocks to send, in order (RamBlock *, not owned).  Call it
 * once, when the stream starts, and keep the array for the whole
 * migration: page records index into it. */
GPtrArray *migration_ram_blocks_collect(void);

/* The wire description of `block`; info->name points at block->idstr. */
void migration_block_info_from(const RamBlock *block, MigrationBlockInfo *info);

/* Destination: find the local block for each of the `count` incoming
 * blocks (matched[i] for infos[i]), resizing resizable blocks to the
 * source's used length.  On failure nothing is resized and the error is
 * one of the texts above (or a duplicate or non-migratable name). */
bool migration_ram_blocks_match(const MigrationBlockInfo *infos, unsigned count,
                                RamBlock **matched, GError **errp);
