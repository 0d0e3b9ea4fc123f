/* PVH direct boot. */
#include "firmware/pvh.h"

#include <string.h>

#include "firmware/boot_guest.h"
#include "firmware/boot_layout.h"
#include "firmware/e820.h"
#include "mem/le_bytes.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18

bool pvh_find_entry(const ElfImage *image, uint32_t *entry)
{
    const uint8_t *desc;
    uint32_t desc_size;
    /* Older kernels give 8 bytes, newer 4; the entry is the low 32 bits. */
    if (!elf_find_note(image, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &desc, &desc_size) ||
        desc_size < 4) {
        return false;
    }
    *entry = le32_load(desc);
    return true;
}

static bool write_memmap(const BootConfig *cfg, unsigned *count, GError **errp)
{
    E820Table table;
    e820_build_pc(&table, cfg->ram_below_4g, cfg->ram_above_4g);
    unsigned nr = MIN(table.nr, PVH_MEMMAP_MAX);
    uint8_t buf[PVH_MEMMAP_MAX * PVH_MEMMAP_ENTRY_SIZE] = { 0 };
    for (unsigned i = 0; i < nr; i++) {
        uint8_t *e = buf + i * PVH_MEMMAP_ENTRY_SIZE;
        le64_store(e + 0, table.entries[i].addr);
        le64_store(e + 8, table.entries[i].size);
        le32_store(e + 16, table.entries[i].type);
        le32_store(e + 20, 0);
    }
    *count = nr;
    return boot_guest_write(cfg, BOOT_MEMMAP_ADDR, buf, nr * PVH_MEMMAP_ENTRY_SIZE,
                            "PVH memory map", errp);
}

bool pvh_load(const BootConfig *cfg, BootEntry *entry, GError **errp)
{
    ElfImage image;
    if (!elf_parse(&image, cfg->kernel, cfg->kernel_size, errp)) {
        g_prefix_error(errp, "cannot boot with PVH: ");
        return false;
    }
    g_autoptr(GArray) kernel_ranges = g_array_new(FALSE, FALSE, sizeof(BootRange));
    uint32_t entry_point;
    bool ok = false;

    if (!pvh_find_entry(&image, &entry_point)) {
        g_set_error(errp, BOOT_ERROR, 0,
                    "cannot boot with PVH: no PVH entry point (ELF note \"Xen\" type 18)");
        goto out;
    }
    if (!elf_check_load_segments(&image, errp) ||
        !boot_check_elf_segments(cfg, &image, kernel_ranges, errp) ||
        !elf_load_segments(&image, cfg->memory, errp)) {
        goto out;
    }

    const char *cmdline = cfg->cmdline ? cfg->cmdline : "";
    unsigned memmap_entries;
    if (!boot_guest_write_cmdline(cfg, cmdline, errp) || !write_memmap(cfg, &memmap_entries, errp)) {
        goto out;
    }

    uint8_t info[PVH_START_INFO_SIZE] = { 0 };
    if (boot_has_initrd(cfg)) {
        uint64_t initrd_addr;
        if (!boot_load_initrd(cfg, UINT64_MAX, kernel_ranges, &initrd_addr, errp)) {
            goto out;
        }
        uint8_t mod[PVH_MODLIST_ENTRY_SIZE] = { 0 };
        le64_store(mod + 0, initrd_addr);
        le64_store(mod + 8, cfg->initrd_size);
        if (!boot_guest_write(cfg, BOOT_MODLIST_ADDR, mod, sizeof(mod), "PVH module list", errp)) {
            goto out;
        }
        le32_store(info + 12, 1);
        le64_store(info + 16, BOOT_MODLIST_ADDR);
    }
    le32_store(info + 0, PVH_START_INFO_MAGIC);
    le32_store(info + 4, 1); /* version 1: has the memmap fields */
    le64_store(info + 24, BOOT_CMDLINE_ADDR);
    le64_store(info + 32, cfg->rsdp_addr);
    le64_store(info + 40, BOOT_MEMMAP_ADDR);
    le32_store(info + 48, memmap_entries);
    if (!boot_guest_write(cfg, BOOT_INFO_ADDR, info, sizeof(info), "hvm_start_info", errp)) {
        goto out;
    }

    *entry = (BootEntry){
        .mode = BOOT_CPU_PROTECTED32,
        .rip = entry_point,
        .rbx = BOOT_INFO_ADDR,
        .kind = BOOT_KIND_PVH,
    };
    ok = true;
out:
    elf_image_clear(&image);
    return ok;
}
