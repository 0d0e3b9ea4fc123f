/* ROM blobs: fw_cfg files that firmware copies into guest memory (the ACPI
 * tables, the RSDP, the BIOS linker/loader script), each backed by a
 * resizable, migratable RAM block named "/rom@" + the file name, as on QEMU.
 *
 * The block reserves a fixed max_length up front and its used_length is the
 * data's size rounded up to the host page, so a later, larger rebuild grows
 * in place and both migration sides agree on the maximum.  The fw_cfg file
 * carries the exact byte length.  Blobs are not mapped into the guest's
 * address space: they exist as RAM blocks for migration and `info ramblock`.
 *
 * Rebuild on first read: the `rebuild` callback is the file's fw_cfg select
 * callback; it runs under the fw_cfg device lock and may call
 * rom_blob_set_data() on this and other blobs of the same device.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/fw_cfg.h"
#include "mem/ram_block.h"

/* QEMU's maxima since 6.0; migration needs both sides to use the same. */
#define ROM_BLOB_ACPI_TABLES_MAX (2u << 20)
#define ROM_BLOB_TABLE_LOADER_MAX (64u << 10)
#define ROM_BLOB_RSDP_MAX (4u << 10)

typedef struct RomBlob RomBlob;

/* An empty blob: a block of one page reserving max_size, and an empty
 * read-only fw_cfg file `file` with `rebuild` (may be NULL) as its select
 * callback.  Fails on a bad or duplicate file name, or a block that cannot
 * be created. */
RomBlob *rom_blob_new(FwCfg *fw, const char *file, uint64_t max_size, FwCfgSelectFn rebuild,
                      void *opaque, GError **errp);

/* Copy `len` bytes in, resize the block to len rounded up to the page (at
 * least one page), zero the rest of the last page, and give the fw_cfg file
 * the exact length.  Larger than the block's max: error naming the block,
 * nothing changed.  Call before the guest runs or from a select callback
 * of the same fw_cfg device. */
bool rom_blob_set_data(RomBlob *blob, const void *data, size_t len, GError **errp);

/* Takes the file's data away (it reads as empty) and frees the block.
 * Free blobs before their fw_cfg device. */
void rom_blob_free(RomBlob *blob);

RamBlock *rom_blob_ram_block(const RomBlob *blob);
/* The exact byte length (what the fw_cfg directory shows). */
size_t rom_blob_length(const RomBlob *blob);
const uint8_t *rom_blob_data(const RomBlob *blob);
