/* ROM blobs: fw_cfg files over resizable RAM blocks.  See rom_blob.h. */
#include "firmware/rom_blob.h"

#include <inttypes.h>
#include <string.h>

#define ROM_BLOB_PREFIX "/rom@"

struct RomBlob {
    FwCfg *fw;
    char *file;
    RamBlock *block;
    size_t len; /* exact bytes; the block's used_length is page-rounded */
};

/* A rebuilt blob is a host write: migration must resend the block. */
static void rom_blob_mark_dirty(RomBlob *blob)
{
    ram_block_mark_dirty(blob->block, 0, blob->block->used_length);
}

RomBlob *rom_blob_new(FwCfg *fw, const char *file, uint64_t max_size, FwCfgSelectFn rebuild,
                      void *opaque, GError **errp)
{
    g_autofree char *idstr = g_strconcat(ROM_BLOB_PREFIX, file, NULL);
    /* RESIZABLE: rebuilds change the size; READONLY: QEMU shows these "ro". */
    RamBlock *block = ram_block_new(idstr, 1, max_size,
                                    RAM_BLOCK_RESIZABLE | RAM_BLOCK_MIGRATABLE |
                                        RAM_BLOCK_READONLY,
                                    NULL, errp);
    if (!block)
        return NULL;
    if (!fw_cfg_add_file_callback(fw, file, block->host, 0, rebuild, NULL, opaque, true, errp)) {
        ram_block_free(block);
        return NULL;
    }

    RomBlob *blob = g_new0(RomBlob, 1);
    blob->fw = fw;
    blob->file = g_strdup(file);
    blob->block = block;
    return blob;
}

bool rom_blob_set_data(RomBlob *blob, const void *data, size_t len, GError **errp)
{
    RamBlock *block = blob->block;

    /* The same wording as QEMU's, so the message is familiar. */
    if (len > block->max_length) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_NOSPC,
                    "Size too large: %s: 0x%zx > 0x%" PRIx64
                    " (the blob's maximum is fixed at creation)",
                    block->idstr, len, block->max_length);
        return false;
    }
    if (!ram_block_resize(block, MAX(len, (size_t)1), errp))
        return false;
    if (len)
        memcpy(block->host, data, len);
    /* No stale bytes in the migrated tail of the last page. */
    memset(block->host + len, 0, block->used_length - len);
    blob->len = len;
    rom_blob_mark_dirty(blob);
    return fw_cfg_update_file(blob->fw, blob->file, block->host, len, errp);
}

void rom_blob_free(RomBlob *blob)
{
    if (!blob)
        return;
    fw_cfg_update_file(blob->fw, blob->file, NULL, 0, NULL);
    ram_block_free(blob->block);
    g_free(blob->file);
    g_free(blob);
}

RamBlock *rom_blob_ram_block(const RomBlob *blob)
{
    return blob->block;
}

size_t rom_blob_length(const RomBlob *blob)
{
    return blob->len;
}

const uint8_t *rom_blob_data(const RomBlob *blob)
{
    return blob->block->host;
}
