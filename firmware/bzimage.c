/* Linux bzImage direct boot, 64-bit boot protocol. */
#include "firmware/bzimage.h"

#include <string.h>

#include "firmware/boot_guest.h"
#include "firmware/boot_layout.h"
#include "firmware/e820.h"
#include "mem/le_bytes.h"

#define BZ_LOAD_ADDR BOOT_HIGH_MEMORY
#define BZ_TYPE_OF_LOADER_UNDEFINED 0xff
#define BZ_HEAP_END 0xfe00
#define BZ_DEFAULT_SETUP_SECTS 4
#define SECTOR_SIZE 512
#define GiB4 (1ull << 32)

#define PTE_PRESENT (1ull << 0)
#define PTE_WRITABLE (1ull << 1)
#define PTE_LARGE (1ull << 7)
#define PAGE_TABLE_ENTRIES 512
#define SIZE_2M (2ull << 20)
#define SIZE_1G (1ull << 30)

bool bzimage_probe(const uint8_t *data, size_t size)
{
    return size >= BZ_HEADER_MAGIC + 4 && le16_load(data + BZ_BOOT_FLAG) == BZ_BOOT_FLAG_VALUE &&
           memcmp(data + BZ_HEADER_MAGIC, "HdrS", 4) == 0;
}

/* Flat descriptors: base 0, limit 4 GiB (G=1), present, DPL 0.  0x10 is
 * 64-bit code (L=1), 0x18 read/write data; 0x00 and 0x08 stay null, as the
 * boot protocol only names 0x10 and 0x18. */
static bool write_gdt(const BootConfig *cfg, GError **errp)
{
    uint8_t gdt[BOOT_GDT_ENTRIES * 8] = { 0 };
    le64_store(gdt + BOOT_GDT_CODE64_SELECTOR, 0x00af9b000000ffffull);
    le64_store(gdt + BOOT_GDT_DATA_SELECTOR, 0x00cf93000000ffffull);
    return boot_guest_write(cfg, BOOT_GDT_ADDR, gdt, sizeof(gdt), "boot GDT", errp);
}

/* Identity map of the first 4 GiB with 2 MiB pages: covers the kernel,
 * its init_size, the zero page, the command line and the initrd. */
static bool write_page_tables(const BootConfig *cfg, GError **errp)
{
    g_autofree uint8_t *tables = g_malloc0((2 + BOOT_PD_COUNT) * BOOT_PAGE_SIZE);
    uint8_t *pml4 = tables;
    uint8_t *pdpt = tables + BOOT_PAGE_SIZE;
    le64_store(pml4, BOOT_PDPT_ADDR | PTE_PRESENT | PTE_WRITABLE);
    for (unsigned i = 0; i < BOOT_PD_COUNT; i++) {
        uint64_t pd_addr = BOOT_PD_ADDR + i * BOOT_PAGE_SIZE;
        uint8_t *pd = tables + (2 + i) * BOOT_PAGE_SIZE;
        le64_store(pdpt + i * 8, pd_addr | PTE_PRESENT | PTE_WRITABLE);
        for (unsigned j = 0; j < PAGE_TABLE_ENTRIES; j++) {
            uint64_t phys = i * SIZE_1G + j * SIZE_2M;
            le64_store(pd + j * 8, phys | PTE_PRESENT | PTE_WRITABLE | PTE_LARGE);
        }
    }
    /* PML4, PDPT and the PDs are contiguous (boot_layout.h). */
    G_STATIC_ASSERT(BOOT_PDPT_ADDR == BOOT_PML4_ADDR + BOOT_PAGE_SIZE);
    G_STATIC_ASSERT(BOOT_PD_ADDR == BOOT_PDPT_ADDR + BOOT_PAGE_SIZE);
    return boot_guest_write(cfg, BOOT_PML4_ADDR, tables, (2 + BOOT_PD_COUNT) * BOOT_PAGE_SIZE,
                            "boot page tables", errp);
}

static void fill_e820(const BootConfig *cfg, uint8_t *zero_page)
{
    E820Table table;
    e820_build_pc(&table, cfg->ram_below_4g, cfg->ram_above_4g);
    for (unsigned i = 0; i < table.nr; i++) {
        uint8_t *e = zero_page + BZ_E820_TABLE + i * BZ_E820_ENTRY_SIZE;
        le64_store(e + 0, table.entries[i].addr);
        le64_store(e + 8, table.entries[i].size);
        le32_store(e + 16, table.entries[i].type);
    }
    /* 128 entries of 20 bytes end at 0xcd0, inside the 4 KiB page. */
    G_STATIC_ASSERT(BZ_E820_TABLE + E820_MAX_ENTRIES * BZ_E820_ENTRY_SIZE <= BOOT_INFO_SIZE);
    zero_page[BZ_E820_ENTRIES] = (uint8_t)table.nr;
}

/* Checks the header and returns the setup size (where the protected-mode
 * kernel starts in the file). */
static bool check_header(const BootConfig *cfg, size_t *setup_size, size_t *header_end,
                         GError **errp)
{
    const uint8_t *k = cfg->kernel;
    if (!bzimage_probe(k, cfg->kernel_size)) {
        g_set_error(errp, BOOT_ERROR, 0,
                    "not a bzImage (no boot flag 0xAA55 and \"HdrS\" at 0x1fe/0x202)");
        return false;
    }
    if (cfg->kernel_size < BZ_HEADER_MIN_END) {
        g_set_error(errp, BOOT_ERROR, 0, "truncated bzImage: %zu bytes, not even a setup header",
                    cfg->kernel_size);
        return false;
    }
    uint16_t version = le16_load(k + BZ_VERSION);
    if (version < BZ_MIN_VERSION) {
        g_set_error(errp, BOOT_ERROR, 0,
                    "boot protocol %u.%02u is too old: the 64-bit entry needs 2.12 or later",
                    version >> 8, version & 0xff);
        return false;
    }
    *header_end = BZ_HEADER_MAGIC + k[BZ_JUMP_END];
    if (*header_end < BZ_HEADER_MIN_END) {
        g_set_error(errp, BOOT_ERROR, 0,
                    "setup header ends at 0x%zx, too short for boot protocol %u.%02u",
                    *header_end, version >> 8, version & 0xff);
        return false;
    }
    unsigned setup_sects = k[BZ_SETUP_SECTS] ? k[BZ_SETUP_SECTS] : BZ_DEFAULT_SETUP_SECTS;
    *setup_size = (size_t)(setup_sects + 1) * SECTOR_SIZE;
    if (cfg->kernel_size < *header_end || cfg->kernel_size <= *setup_size) {
        g_set_error(errp, BOOT_ERROR, 0,
                    "truncated bzImage: %zu bytes, the setup code alone takes %zu",
                    cfg->kernel_size, *setup_size);
        return false;
    }
    if (!(k[BZ_LOADFLAGS] & BZ_LOADFLAG_LOADED_HIGH)) {
        g_set_error(errp, BOOT_ERROR, 0,
                    "a zImage (loadflags bit 0 clear): only bzImage kernels are supported");
        return false;
    }
    if (!(le16_load(k + BZ_XLOADFLAGS) & BZ_XLF_KERNEL_64)) {
        g_set_error(errp, BOOT_ERROR, 0,
                    "kernel has no 64-bit entry point (xloadflags bit 0 clear)");
        return false;
    }
    return true;
}

bool bzimage_load(const BootConfig *cfg, BootEntry *entry, GError **errp)
{
    size_t setup_size, header_end;
    if (!check_header(cfg, &setup_size, &header_end, errp)) {
        return false;
    }
    const uint8_t *k = cfg->kernel;
    const uint8_t *payload = k + setup_size;
    uint64_t payload_size = cfg->kernel_size - setup_size;
    uint64_t init_size = le32_load(k + BZ_INIT_SIZE);

    /* The kernel decompresses in place, so [load, load + init_size) must be
     * RAM it can have, not just the file's bytes. */
    BootRange kernel = { BZ_LOAD_ADDR, BZ_LOAD_ADDR + MAX(payload_size, init_size) };
    if (!boot_check_kernel_range(cfg, kernel, "kernel (with its init_size)", errp)) {
        return false;
    }
    if (!address_space_ram_ptr(cfg->memory, kernel.start, kernel.end - kernel.start, false)) {
        g_set_error(errp, BOOT_ERROR, 0,
                    "kernel (with its init_size) [0x%" G_GINT64_MODIFIER "x, 0x%" G_GINT64_MODIFIER
                    "x) is not inside guest RAM", kernel.start, kernel.end);
        return false;
    }
    g_autoptr(GArray) kernel_ranges = g_array_new(FALSE, FALSE, sizeof(BootRange));
    g_array_append_val(kernel_ranges, kernel);
    /* The kernel runs at pref_address or above whatever the load address:
     * one that cannot relocate decompresses exactly there, and a relocatable
     * x86_64 one never below it (pref_address is its LOAD_PHYSICAL_ADDR,
     * 16 MiB on Debian's).  That range must be free RAM too. */
    uint64_t pref = le64_load(k + BZ_PREF_ADDRESS);
    if (pref > BZ_LOAD_ADDR) {
        if (pref > UINT64_MAX - init_size) {
            g_set_error(errp, BOOT_ERROR, 0,
                        "pref_address 0x%" G_GINT64_MODIFIER "x + init_size wraps around", pref);
            return false;
        }
        BootRange fixed = { pref, pref + init_size };
        if (!boot_check_kernel_range(cfg, fixed, "kernel at pref_address (with its init_size)",
                                     errp)) {
            return false;
        }
        g_array_append_val(kernel_ranges, fixed);
    }

    const char *cmdline = cfg->cmdline ? cfg->cmdline : "";
    size_t cmdline_len = strlen(cmdline);
    uint32_t cmdline_max = le32_load(k + BZ_CMDLINE_SIZE);
    if (cmdline_len > cmdline_max) {
        g_set_error(errp, BOOT_ERROR, 0,
                    "command line too long: %zu bytes, the kernel accepts at most %u",
                    cmdline_len, cmdline_max);
        return false;
    }

    g_autofree uint8_t *zero_page = g_malloc0(BOOT_INFO_SIZE);
    memcpy(zero_page + BZ_SETUP_SECTS, k + BZ_SETUP_SECTS, header_end - BZ_SETUP_SECTS);
    le16_store(zero_page + BZ_VID_MODE, 0xffff); /* "normal" */
    zero_page[BZ_TYPE_OF_LOADER] = BZ_TYPE_OF_LOADER_UNDEFINED;
    zero_page[BZ_LOADFLAGS] |= BZ_LOADFLAG_CAN_USE_HEAP;
    le16_store(zero_page + BZ_HEAP_END_PTR, BZ_HEAP_END);
    le32_store(zero_page + BZ_CMD_LINE_PTR, BOOT_CMDLINE_ADDR);
    le32_store(zero_page + BZ_EXT_CMD_LINE_PTR, 0);
    le64_store(zero_page + BZ_ACPI_RSDP_ADDR, cfg->rsdp_addr);
    fill_e820(cfg, zero_page);

    if (!boot_guest_write(cfg, BZ_LOAD_ADDR, payload, payload_size, "kernel", errp) ||
        !boot_guest_write_cmdline(cfg, cmdline, errp)) {
        return false;
    }

    if (boot_has_initrd(cfg)) {
        /* initrd_addr_max is the last byte the initrd may occupy; the
         * 64-bit kernel could take it above 4 GiB, but below is simpler and
         * always fine. */
        uint64_t limit = GiB4;
        if (!(le16_load(k + BZ_XLOADFLAGS) & BZ_XLF_CAN_BE_LOADED_ABOVE_4G)) {
            limit = (uint64_t)le32_load(k + BZ_INITRD_ADDR_MAX) + 1;
        }
        uint64_t initrd_addr;
        if (!boot_load_initrd(cfg, limit, kernel_ranges, &initrd_addr, errp)) {
            return false;
        }
        le32_store(zero_page + BZ_RAMDISK_IMAGE, (uint32_t)initrd_addr);
        le32_store(zero_page + BZ_RAMDISK_SIZE, (uint32_t)cfg->initrd_size);
        le32_store(zero_page + BZ_EXT_RAMDISK_IMAGE, (uint32_t)(initrd_addr >> 32));
        le32_store(zero_page + BZ_EXT_RAMDISK_SIZE, (uint32_t)((uint64_t)cfg->initrd_size >> 32));
    }

    if (!boot_guest_write(cfg, BOOT_INFO_ADDR, zero_page, BOOT_INFO_SIZE, "zero page", errp) ||
        !write_gdt(cfg, errp) || !write_page_tables(cfg, errp)) {
        return false;
    }

    *entry = (BootEntry){
        .mode = BOOT_CPU_LONG64,
        .rip = BZ_LOAD_ADDR + BZIMAGE_ENTRY_64_OFFSET,
        .rsi = BOOT_INFO_ADDR,
        .cr3 = BOOT_PML4_ADDR,
        .gdt_base = BOOT_GDT_ADDR,
        .gdt_limit = BOOT_GDT_ENTRIES * 8 - 1,
        .kind = BOOT_KIND_LINUX,
    };
    return true;
}
