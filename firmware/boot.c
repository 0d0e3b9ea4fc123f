/* Direct kernel boot: detect the image format and hand it to its loader.
 *
 * Guest-physical layout used by every loader (constants in boot_layout.h).
 * Apart from kernel and initrd, everything ferry writes stays inside
 * [0x500, 0x30000): the test guest relies on [0x30000, 0x9f000) being free,
 * and [0, 0x500) (IVT, BIOS data area) is left alone.
 *
 *   0x00500            boot GDT: 0x00 null, 0x08 null, 0x10 flat 64-bit
 *                      code, 0x18 flat data (bzImage, LONG64)
 *   0x01000-0x01fff    PML4                        \  identity map of the
 *   0x02000-0x02fff    PDPT                         > first 4 GiB with
 *   0x03000-0x06fff    four page directories       /  2 MiB pages (bzImage)
 *   0x07000-0x07fff    zero page (bzImage) | hvm_start_info (PVH) |
 *                      multiboot info
 *   0x08000-0x08bff    PVH memmap | multiboot mmap (<= 128 x 24 bytes)
 *   0x09000            module list (PVH 32-byte / multiboot 16-byte entries)
 *   0x09100            the initrd module's command line (empty)
 *   0x09200            multiboot boot_loader_name "ferry"
 *   0x20000-0x2ffff    kernel command line, NUL-terminated (QEMU's address)
 *   0x100000           bzImage protected-mode kernel (and its init_size);
 *                      ELF kernels go to their segments' p_paddr, which
 *                      must stay clear of [0x500, 0x30000)
 *   initrd             page aligned, as high as possible below
 *                      min(ram_below_4g, initrd_addr_max + 1 for bzImage),
 *                      at or above 1 MiB, clear of the kernel (bzImage:
 *                      of [0x100000, 0x100000 + init_size))
 *
 * The e820 map handed over (zero page, PVH memmap, multiboot mmap) is
 * e820_build_pc().
 */
#include "firmware/boot.h"

#include <string.h>

#include "firmware/boot_guest.h"
#include "firmware/bzimage.h"
#include "firmware/elf.h"
#include "firmware/multiboot.h"
#include "firmware/pvh.h"

static const struct {
    BootKind kind;
    const char *name;
} boot_kind_names[] = {
    { BOOT_KIND_AUTO, "auto" },
    { BOOT_KIND_LINUX, "linux" },
    { BOOT_KIND_PVH, "pvh" },
    { BOOT_KIND_MULTIBOOT, "multiboot" },
};

bool boot_kind_parse(const char *name, BootKind *kind)
{
    for (size_t i = 0; i < G_N_ELEMENTS(boot_kind_names); i++) {
        if (name && strcmp(name, boot_kind_names[i].name) == 0) {
            *kind = boot_kind_names[i].kind;
            return true;
        }
    }
    return false;
}

const char *boot_kind_name(BootKind kind)
{
    for (size_t i = 0; i < G_N_ELEMENTS(boot_kind_names); i++) {
        if (boot_kind_names[i].kind == kind) {
            return boot_kind_names[i].name;
        }
    }
    return "unknown";
}

/* bzImage first; then PVH, which wins over multiboot when an ELF file has
 * both (the test guest does); then multiboot. */
static bool detect_kind(const BootConfig *cfg, BootKind *kind, GError **errp)
{
    if (bzimage_probe(cfg->kernel, cfg->kernel_size)) {
        *kind = BOOT_KIND_LINUX;
        return true;
    }
    size_t mb_offset;
    bool has_multiboot = multiboot_find_header(cfg->kernel, cfg->kernel_size, &mb_offset);
    if (elf_has_magic(cfg->kernel, cfg->kernel_size)) {
        ElfImage image;
        g_autoptr(GError) elf_error = NULL;
        if (elf_parse(&image, cfg->kernel, cfg->kernel_size, &elf_error)) {
            uint32_t pvh_entry;
            bool has_pvh = pvh_find_entry(&image, &pvh_entry);
            elf_image_clear(&image);
            if (has_pvh) {
                *kind = BOOT_KIND_PVH;
                return true;
            }
        } else if (!has_multiboot) {
            /* A broken ELF file (truncated, most likely): say what is wrong
             * with it rather than "not a kernel". */
            g_propagate_error(errp, g_steal_pointer(&elf_error));
            return false;
        }
    }
    if (has_multiboot) {
        *kind = BOOT_KIND_MULTIBOOT;
        return true;
    }
    g_set_error(errp, BOOT_ERROR, 0,
                "not a kernel image (no bzImage header, PVH note or multiboot header)");
    return false;
}

static bool boot_load_unprefixed(const BootConfig *cfg, BootEntry *entry, GError **errp)
{
    if (cfg->kernel_size == 0) {
        g_set_error(errp, BOOT_ERROR, 0, "file is empty");
        return false;
    }
    BootKind kind = cfg->kind;
    if (kind == BOOT_KIND_AUTO && !detect_kind(cfg, &kind, errp)) {
        return false;
    }
    switch (kind) {
    case BOOT_KIND_LINUX:
        return bzimage_load(cfg, entry, errp);
    case BOOT_KIND_PVH:
        return pvh_load(cfg, entry, errp);
    case BOOT_KIND_MULTIBOOT:
        return multiboot_load(cfg, entry, errp);
    case BOOT_KIND_AUTO:
        break;
    }
    g_set_error(errp, BOOT_ERROR, 0, "unknown boot kind %d", (int)kind);
    return false;
}

bool boot_load(const BootConfig *cfg, BootEntry *entry, GError **errp)
{
    g_autoptr(GError) error = NULL;
    if (!boot_load_unprefixed(cfg, entry, &error)) {
        const char *name = cfg->kernel_name ? cfg->kernel_name : "kernel";
        g_propagate_prefixed_error(errp, g_steal_pointer(&error), "%s: ", name);
        return false;
    }
    return true;
}
