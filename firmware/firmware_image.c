/* Firmware image mapping: see firmware_image.h. */
#include "firmware/firmware_image.h"

#include <string.h>

#include "mem/ram_block.h"

#define FOUR_GiB (1ull << 32)
#define ONE_MiB (1ull << 20)

struct FirmwareImage {
    MemoryRegion *system;
    AddressSpace *memory;
    GBytes *pristine; /* the file, kept to restore the image on reset */
    RamBlock *block;
    MemoryRegion *bios; /* the whole image below 4 GiB */
    MemoryRegion *isa_bios; /* its tail below 1 MiB */
};

static bool firmware_image_load(FirmwareImage *image, GError **errp);

static bool firmware_image_check_size(const char *path, uint64_t size, GError **errp)
{
    if (size == 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "--firmware %s: the file is empty",
                    path);
        return false;
    }
    if (size % FIRMWARE_IMAGE_ALIGN) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "--firmware %s: size %" G_GUINT64_FORMAT
                    " bytes is not a multiple of 64 KiB (SeaBIOS and qboot images are 64, "
                    "128 or 256 KiB)", path, size);
        return false;
    }
    if (size > FIRMWARE_IMAGE_MAX) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "--firmware %s: %" G_GUINT64_FORMAT
                    " bytes is larger than the 16 MiB firmware window below 4 GiB",
                    path, size);
        return false;
    }
    return true;
}

FirmwareImage *firmware_image_new(const char *path, MemoryRegion *system, AddressSpace *memory,
                                  GError **errp)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GMappedFile) file = g_mapped_file_new(path, FALSE, &err);

    if (!file) {
        g_set_error(errp, G_FILE_ERROR, err->code, "--firmware %s: %s", path,
                    err->code == G_FILE_ERROR_NOENT ? "no such file" : err->message);
        return NULL;
    }
    uint64_t size = g_mapped_file_get_length(file);
    if (!firmware_image_check_size(path, size, errp))
        return NULL;

    /* Not a unique id per file: QEMU calls it pc.bios, and migration matches
     * blocks by name. */
    RamBlock *block = ram_block_new("pc.bios", size, size, RAM_BLOCK_MIGRATABLE, NULL, errp);
    if (!block) {
        g_prefix_error(errp, "--firmware %s: ", path);
        return NULL;
    }
    FirmwareImage *image = g_new0(FirmwareImage, 1);
    image->system = system;
    image->memory = memory;
    image->block = block;
    image->pristine = g_mapped_file_get_bytes(file);

    uint64_t isa_size = MIN(size, FIRMWARE_ISA_WINDOW);
    memory_region_transaction_begin();
    image->bios = memory_region_new_ram("pc.bios", block);
    memory_region_add_subregion(system, FOUR_GiB - size, image->bios);
    image->isa_bios = memory_region_new_alias("isa-bios", image->bios, size - isa_size, isa_size);
    /* Priority 1: above the RAM alias that covers the same addresses. */
    memory_region_add_subregion_overlap(system, ONE_MiB - isa_size, image->isa_bios, 1);
    memory_region_transaction_commit();
    if (!firmware_image_load(image, errp)) {
        g_prefix_error(errp, "--firmware %s: ", path);
        firmware_image_free(image);
        return NULL;
    }
    return image;
}

/* Host-side stores: KVM's dirty log does not see them, so migration must
 * treat a reset as dirtying the block and the low RAM it writes. */
static bool firmware_image_load(FirmwareImage *image, GError **errp)
{
    gsize size;
    const uint8_t *data = g_bytes_get_data(image->pristine, &size);
    uint64_t shadow_size = MIN(size, FIRMWARE_SHADOW_WINDOW);

    memcpy(image->block->host, data, size);
    ram_block_mark_dirty(image->block, 0, size);
    if (shadow_size <= FIRMWARE_ISA_WINDOW)
        return true;
    /* The part of the shadow window the isa-bios alias does not cover. */
    uint64_t low_size = shadow_size - FIRMWARE_ISA_WINDOW;
    uint64_t low_addr = ONE_MiB - shadow_size;
    uint8_t *ram = address_space_ram_ptr(image->memory, low_addr, low_size, false);
    if (!ram) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "[0x%" G_GINT64_MODIFIER "x, 0xe0000) is not RAM to copy the image into",
                    low_addr);
        return false;
    }
    memcpy(ram, data + size - shadow_size, low_size);
    address_space_mark_dirty(image->memory, low_addr, low_size);
    return true;
}

void firmware_image_reset(FirmwareImage *image)
{
    /* Cannot fail: the RAM below 1 MiB was there at creation and stays. */
    firmware_image_load(image, NULL);
}

void firmware_image_free(FirmwareImage *image)
{
    if (!image)
        return;
    memory_region_transaction_begin();
    memory_region_del_subregion(image->system, image->isa_bios);
    memory_region_del_subregion(image->system, image->bios);
    memory_region_transaction_commit();
    memory_region_free(image->isa_bios);
    memory_region_free(image->bios);
    ram_block_free(image->block);
    g_bytes_unref(image->pristine);
    g_free(image);
}

uint64_t firmware_image_size(const FirmwareImage *image)
{
    return image->block->used_length;
}

uint64_t firmware_image_base(const FirmwareImage *image)
{
    return FOUR_GiB - image->block->used_length;
}
