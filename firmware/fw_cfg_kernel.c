/* A kernel for firmware to boot, through fw_cfg: see fw_cfg_kernel.h.
 * Layouts follow QEMU's hw/i386/x86-common.c (x86_load_linux,
 * load_elfboot) and hw/i386/multiboot.c, which the option ROMs in
 * pc-bios/optionrom/ (linuxboot_dma.c, multiboot.S, pvh_main.c) expect. */
#include "firmware/fw_cfg_kernel.h"

#include <string.h>

#include "firmware/boot_guest.h"
#include "firmware/boot_layout.h"
#include "firmware/bzimage.h"
#include "firmware/elf.h"
#include "mem/le_bytes.h"
#include "firmware/multiboot.h"
#include "firmware/pvh.h"

#define PAGE_SIZE 4096ull
#define ONE_MiB 0x100000ull
#define FOUR_GiB (1ull << 32)
#define SECTOR_SIZE 512

/* Linux: where QEMU puts each part. */
#define LINUX_SETUP_ADDR 0x10000u
#define LINUX_CMDLINE_ADDR 0x20000u
#define LINUX_LOW_SETUP_ADDR 0x90000u /* old protocols: setup and cmdline below 640 KiB */
#define LINUX_LOW_CMDLINE_END 0x9a000u
#define LINUX_LOW_KERNEL_ADDR 0x10000u /* zImage: not loaded high */
#define LINUX_KERNEL_ADDR 0x100000u
#define LINUX_TYPE_OF_LOADER_QEMU 0xb0 /* high nybble B: QEMU's loader id */
#define LINUX_OLD_CMDLINE_MAGIC 0xa33f /* protocol < 2.02: cmdline at 0x20/0x22 */
#define LINUX_OLD_CMDLINE_MAGIC_OFF 0x20
#define LINUX_OLD_CMDLINE_OFFSET_OFF 0x22
#define LINUX_OLD_INITRD_MAX 0x37ffffffu
/* Below the top of low RAM QEMU keeps room for the ACPI tables SeaBIOS
 * copies there (ACPI_DATA_SIZE, 160 KiB). */
#define FIRMWARE_ACPI_DATA_SIZE 0x28000ull

/* Multiboot: hw/i386/multiboot.c.  The ROM writes the e820 map at 0x9000
 * (room for 0x500 bytes) and reads the info block back at 0x9500. */
#define MB_E820_MAP_ADDR 0x9000u
#define MB_INFO_ADDR 0x9500u
#define MB_INFO_SIZE 88 /* through boot_loader_name and the APM pointer */
#define MB_INFO_FLAGS 0
#define MB_INFO_BOOT_DEVICE 12
#define MB_INFO_CMDLINE 16
#define MB_INFO_MODS_COUNT 20
#define MB_INFO_MODS_ADDR 24
#define MB_INFO_MMAP_ADDR 48
#define MB_INFO_LOADER_NAME 64
#define MB_BOOT_DEVICE 0x8000ffffu
#define MB_FLAG_VIDEO_MODE (1u << 2)
#define MB_FLAG_ADDRESS_FIELDS (1u << 16)
#define MB_LOADER_NAME "ferry"

#define PVH_SETUP_PEEK_SIZE 8192 /* qboot reads this much to look for the ELF magic */

struct FwCfgKernel {
    BootKind kind;
    const char *rom_name;
    char *bootorder;
    /* PVH: the ELF to put back into RAM on reset. */
    AddressSpace *memory;
    const uint8_t *elf_data;
    size_t elf_size;
};

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

static bool has_initrd(const FwCfgKernelConfig *cfg)
{
    return cfg->initrd && cfg->initrd_size;
}

/* Page-aligned, as high as possible below `max` (inclusive), as QEMU does;
 * the firmware ROM may still move it lower (linuxboot_dma uses E801). */
static bool place_initrd(const FwCfgKernelConfig *cfg, uint64_t initrd_max, uint64_t kernel_end,
                         uint32_t *addr, GError **errp)
{
    if (cfg->initrd_size >= initrd_max || ((initrd_max - cfg->initrd_size) & ~(PAGE_SIZE - 1)) <
                                              kernel_end) {
        g_autofree char *need = boot_size_str(cfg->initrd_size);
        g_set_error(errp, BOOT_ERROR, 0,
                    "the initrd (%s) does not fit between the kernel and 0x%" G_GINT64_MODIFIER
                    "x; give the guest more --memory", need, initrd_max);
        return false;
    }
    *addr = (uint32_t)((initrd_max - cfg->initrd_size) & ~(PAGE_SIZE - 1));
    return true;
}

static void add_initrd(FwCfg *fw, const FwCfgKernelConfig *cfg, uint32_t addr)
{
    fw_cfg_add_i32(fw, FW_CFG_INITRD_ADDR, addr);
    fw_cfg_add_i32(fw, FW_CFG_INITRD_SIZE, cfg->initrd_size);
    fw_cfg_add_bytes(fw, FW_CFG_INITRD_DATA, cfg->initrd, cfg->initrd_size);
}

/* ---- Linux bzImage ---- */

static bool load_linux(FwCfg *fw, const FwCfgKernelConfig *cfg, GError **errp)
{
    const uint8_t *file = cfg->kernel;
    if (cfg->kernel_size < BZ_HEADER_MAGIC + 8 || !bzimage_probe(file, cfg->kernel_size)) {
        g_set_error(errp, BOOT_ERROR, 0, "not a bzImage (no boot flag 0xAA55 and \"HdrS\")");
        return false;
    }
    uint16_t protocol = le16_load(file + BZ_VERSION);
    unsigned setup_sects = file[BZ_SETUP_SECTS] ? file[BZ_SETUP_SECTS] : 4;
    size_t setup_size = (setup_sects + 1) * SECTOR_SIZE;
    if (setup_size >= cfg->kernel_size) {
        g_set_error(errp, BOOT_ERROR, 0,
                    "truncated bzImage: %zu bytes, its real-mode part alone is %zu",
                    cfg->kernel_size, setup_size);
        return false;
    }
    size_t kernel_size = cfg->kernel_size - setup_size;
    size_t cmdline_len = strlen(cfg->cmdline);
    /* A setup header extends at most to 0x202 + the byte at 0x201. */
    size_t header_end = MIN(setup_size, (size_t)0x202 + file[BZ_JUMP_END]);
    if (protocol >= 0x206 && header_end >= BZ_CMDLINE_SIZE + 4 &&
        cmdline_len > le32_load(file + BZ_CMDLINE_SIZE)) {
        g_set_error(errp, BOOT_ERROR, 0,
                    "--cmdline is %zu bytes, the kernel accepts at most %u", cmdline_len,
                    le32_load(file + BZ_CMDLINE_SIZE));
        return false;
    }

    uint32_t real_addr, cmdline_addr, prot_addr;
    bool loads_high = file[BZ_LOADFLAGS] & BZ_LOADFLAG_LOADED_HIGH;
    if (protocol < 0x200 || !loads_high || protocol < 0x202) {
        uint32_t room = (uint32_t)align_up(cmdline_len + 1, 16);
        real_addr = LINUX_LOW_SETUP_ADDR;
        cmdline_addr = LINUX_LOW_CMDLINE_END - room;
        prot_addr = (protocol < 0x200 || !loads_high) ? LINUX_LOW_KERNEL_ADDR : LINUX_KERNEL_ADDR;
    } else {
        real_addr = LINUX_SETUP_ADDR;
        cmdline_addr = LINUX_CMDLINE_ADDR;
        prot_addr = LINUX_KERNEL_ADDR;
    }
    /* The setup code, its heap (up to heap_end_ptr) and the stack the ROM
     * puts just below the command line share one 64 KiB segment. */
    if (cmdline_addr <= real_addr || setup_size > cmdline_addr - real_addr - 0x200) {
        g_set_error(errp, BOOT_ERROR, 0,
                    "the real-mode part (%zu bytes) does not fit below the command line", setup_size);
        return false;
    }
    if (cmdline_len + 1 > BOOT_DATA_END - LINUX_CMDLINE_ADDR && cmdline_addr == LINUX_CMDLINE_ADDR) {
        g_set_error(errp, BOOT_ERROR, 0, "--cmdline is too long (%zu bytes)", cmdline_len);
        return false;
    }
    uint64_t kernel_end = (uint64_t)prot_addr + kernel_size;
    if (kernel_end > cfg->ram_below_4g - FIRMWARE_ACPI_DATA_SIZE ||
        (prot_addr == LINUX_LOW_KERNEL_ADDR && kernel_end > real_addr)) {
        g_autofree char *size = boot_size_str(kernel_size);
        g_set_error(errp, BOOT_ERROR, 0, "the kernel (%s) is too big for %s", size,
                    prot_addr == LINUX_LOW_KERNEL_ADDR ? "a zImage (it must end below 0x90000)"
                                                       : "guest RAM below 4 GiB; give it more --memory");
        return false;
    }

    uint64_t initrd_max;
    if (protocol >= 0x20c &&
        (le16_load(file + BZ_XLOADFLAGS) & BZ_XLF_CAN_BE_LOADED_ABOVE_4G))
        initrd_max = UINT32_MAX;
    else if (protocol >= 0x203)
        initrd_max = le32_load(file + BZ_INITRD_ADDR_MAX);
    else
        initrd_max = LINUX_OLD_INITRD_MAX;
    initrd_max = MIN(initrd_max, cfg->ram_below_4g - FIRMWARE_ACPI_DATA_SIZE - 1);

    g_autofree uint8_t *setup = g_memdup2(file, setup_size);
    if (protocol >= 0x202) {
        le32_store(setup + BZ_CMD_LINE_PTR, cmdline_addr);
    } else {
        le16_store(setup + LINUX_OLD_CMDLINE_MAGIC_OFF, LINUX_OLD_CMDLINE_MAGIC);
        le16_store(setup + LINUX_OLD_CMDLINE_OFFSET_OFF, cmdline_addr - real_addr);
    }
    if (protocol >= 0x200)
        setup[BZ_TYPE_OF_LOADER] = LINUX_TYPE_OF_LOADER_QEMU;
    if (protocol >= 0x201) {
        setup[BZ_LOADFLAGS] |= BZ_LOADFLAG_CAN_USE_HEAP;
        le16_store(setup + BZ_HEAP_END_PTR, cmdline_addr - real_addr - 0x200);
    }
    if (has_initrd(cfg)) {
        uint32_t initrd_addr;
        if (protocol < 0x200) {
            g_set_error(errp, BOOT_ERROR, 0, "the kernel is too old (protocol %x.%02x) for an initrd",
                        protocol >> 8, protocol & 0xff);
            return false;
        }
        if (!place_initrd(cfg, initrd_max, kernel_end, &initrd_addr, errp))
            return false;
        le32_store(setup + BZ_RAMDISK_IMAGE, initrd_addr);
        le32_store(setup + BZ_RAMDISK_SIZE, cfg->initrd_size);
        add_initrd(fw, cfg, initrd_addr);
    }

    fw_cfg_add_i32(fw, FW_CFG_SETUP_ADDR, real_addr);
    fw_cfg_add_i32(fw, FW_CFG_SETUP_SIZE, setup_size);
    fw_cfg_add_bytes(fw, FW_CFG_SETUP_DATA, setup, setup_size);
    fw_cfg_add_i32(fw, FW_CFG_KERNEL_ADDR, prot_addr);
    fw_cfg_add_i32(fw, FW_CFG_KERNEL_SIZE, kernel_size);
    fw_cfg_add_bytes(fw, FW_CFG_KERNEL_DATA, file + setup_size, kernel_size);
    fw_cfg_add_i32(fw, FW_CFG_CMDLINE_ADDR, cmdline_addr);
    fw_cfg_add_i32(fw, FW_CFG_CMDLINE_SIZE, cmdline_len + 1);
    fw_cfg_add_bytes(fw, FW_CFG_CMDLINE_DATA, cfg->cmdline, cmdline_len + 1);
    return true;
}

/* ---- multiboot ---- */

/* The lowest and highest physical address the PT_LOAD segments cover. */
static void elf_extent(const ElfImage *image, uint64_t *low, uint64_t *high)
{
    *low = UINT64_MAX;
    *high = 0;
    for (guint i = 0; i < image->phdrs->len; i++) {
        const ElfProgramHeader *ph = &g_array_index(image->phdrs, ElfProgramHeader, i);
        if (ph->type != ELF_PT_LOAD || ph->memsz == 0)
            continue;
        *low = MIN(*low, ph->paddr);
        *high = MAX(*high, ph->paddr + ph->memsz);
    }
}

/* Segments copied into buf, which stands for [low, ...); gaps stay zero. */
static void elf_copy_segments(const ElfImage *image, uint64_t low, uint8_t *buf)
{
    for (guint i = 0; i < image->phdrs->len; i++) {
        const ElfProgramHeader *ph = &g_array_index(image->phdrs, ElfProgramHeader, i);
        if (ph->type != ELF_PT_LOAD || ph->memsz == 0)
            continue;
        memcpy(buf + (ph->paddr - low), image->data + ph->offset, ph->filesz);
    }
}

static bool load_multiboot(FwCfg *fw, const FwCfgKernelConfig *cfg, GError **errp)
{
    size_t header_offset;
    if (!multiboot_find_header(cfg->kernel, cfg->kernel_size, &header_offset)) {
        g_set_error(errp, BOOT_ERROR, 0,
                    "no multiboot header (magic 0x1BADB002 with a valid checksum) in the first %d "
                    "bytes", MULTIBOOT_SEARCH_LIMIT);
        return false;
    }
    uint32_t flags = le32_load(cfg->kernel + header_offset + 4);
    if (flags & MB_FLAG_VIDEO_MODE) {
        g_set_error(errp, BOOT_ERROR, 0,
                    "the multiboot header requests a video mode (flag bit 2), which ferry does "
                    "not support");
        return false;
    }
    if (flags & MB_FLAG_ADDRESS_FIELDS) {
        g_set_error(errp, BOOT_ERROR, 0,
                    "multiboot images with address fields (flag bit 16) boot only without "
                    "--firmware");
        return false;
    }

    ElfImage image;
    if (!elf_parse(&image, cfg->kernel, cfg->kernel_size, errp)) {
        g_prefix_error(errp, "a multiboot image without address fields must be ELF: ");
        return false;
    }
    uint64_t low, high;
    bool ok = elf_check_load_segments(&image, errp);
    if (ok) {
        elf_extent(&image, &low, &high);
        if (low < ONE_MiB || high > cfg->ram_below_4g - FIRMWARE_ACPI_DATA_SIZE) {
            g_set_error(errp, BOOT_ERROR, 0,
                        "the multiboot image [0x%" G_GINT64_MODIFIER "x, 0x%" G_GINT64_MODIFIER
                        "x) must lie between 1 MiB and the top of RAM below 4 GiB; %s",
                        low, high, low < ONE_MiB ? "it loads too low" : "give it more --memory");
            ok = false;
        }
    }
    if (!ok) {
        elf_image_clear(&image);
        return false;
    }
    uint64_t entry = elf_vaddr_to_paddr(&image, image.entry);

    /* One buffer at `low`: image | module list | command lines | loader name
     * (page-aligned) | the module, page-aligned. */
    unsigned mods = has_initrd(cfg) ? 1 : 0;
    const char *kernel_name = cfg->kernel_name ? cfg->kernel_name : "kernel";
    const char *module_cmdline = cfg->initrd_name ? cfg->initrd_name : "";
    g_autofree char *cmdline = g_strdup_printf("%s %s", kernel_name, cfg->cmdline);
    uint64_t image_size = align_up(high - low, PAGE_SIZE);
    uint64_t mods_off = image_size;
    uint64_t module_cmdline_off = mods_off + mods * MULTIBOOT_MODULE_SIZE;
    uint64_t cmdline_off = module_cmdline_off + (mods ? strlen(module_cmdline) + 1 : 0);
    uint64_t loader_off = cmdline_off + strlen(cmdline) + 1;
    uint64_t module_off = align_up(loader_off + sizeof(MB_LOADER_NAME), PAGE_SIZE);
    uint64_t total = align_up(module_off + (mods ? cfg->initrd_size : 0), PAGE_SIZE);
    if (low + total > cfg->ram_below_4g - FIRMWARE_ACPI_DATA_SIZE) {
        g_autofree char *size = boot_size_str(total);
        g_set_error(errp, BOOT_ERROR, 0,
                    "the multiboot image and its module (%s from 0x%" G_GINT64_MODIFIER
                    "x) do not fit in RAM below 4 GiB; give the guest more --memory", size, low);
        elf_image_clear(&image);
        return false;
    }
    g_autofree uint8_t *buf = g_malloc0(total);
    elf_copy_segments(&image, low, buf);
    elf_image_clear(&image);
    if (mods) {
        uint8_t *mod = buf + mods_off;
        le32_store(mod + 0, low + module_off);
        le32_store(mod + 4, low + module_off + cfg->initrd_size); /* exclusive end */
        le32_store(mod + 8, low + module_cmdline_off);
        memcpy(buf + module_cmdline_off, module_cmdline, strlen(module_cmdline) + 1);
        memcpy(buf + module_off, cfg->initrd, cfg->initrd_size);
    }
    memcpy(buf + cmdline_off, cmdline, strlen(cmdline) + 1);
    memcpy(buf + loader_off, MB_LOADER_NAME, sizeof(MB_LOADER_NAME));

    /* mem_lower, mem_upper and mmap_length are the ROM's to fill. */
    uint8_t info[MB_INFO_SIZE] = { 0 };
    le32_store(info + MB_INFO_FLAGS, MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_BOOTDEV |
                                         MULTIBOOT_INFO_CMDLINE | MULTIBOOT_INFO_MODS |
                                         MULTIBOOT_INFO_MEM_MAP | MULTIBOOT_INFO_BOOT_LOADER_NAME);
    le32_store(info + MB_INFO_BOOT_DEVICE, MB_BOOT_DEVICE);
    le32_store(info + MB_INFO_CMDLINE, low + cmdline_off);
    le32_store(info + MB_INFO_MODS_COUNT, mods);
    le32_store(info + MB_INFO_MODS_ADDR, low + mods_off);
    le32_store(info + MB_INFO_MMAP_ADDR, MB_E820_MAP_ADDR);
    le32_store(info + MB_INFO_LOADER_NAME, low + loader_off);

    fw_cfg_add_i32(fw, FW_CFG_KERNEL_ENTRY, entry);
    fw_cfg_add_i32(fw, FW_CFG_KERNEL_ADDR, low);
    fw_cfg_add_i32(fw, FW_CFG_KERNEL_SIZE, total);
    fw_cfg_add_bytes(fw, FW_CFG_KERNEL_DATA, buf, total);
    fw_cfg_add_i32(fw, FW_CFG_INITRD_ADDR, MB_INFO_ADDR);
    fw_cfg_add_i32(fw, FW_CFG_INITRD_SIZE, sizeof(info));
    fw_cfg_add_bytes(fw, FW_CFG_INITRD_DATA, info, sizeof(info));
    return true;
}

/* ---- PVH ---- */

static bool load_pvh_elf(FwCfgKernel *k, GError **errp)
{
    ElfImage image;
    if (!elf_parse(&image, k->elf_data, k->elf_size, errp))
        return false;
    bool ok = elf_check_load_segments(&image, errp) && elf_load_segments(&image, k->memory, errp);
    elf_image_clear(&image);
    return ok;
}

static bool load_pvh(FwCfgKernel *k, FwCfg *fw, const FwCfgKernelConfig *cfg, GError **errp)
{
    ElfImage image;
    uint32_t entry;
    uint64_t low, high;

    if (!elf_parse(&image, cfg->kernel, cfg->kernel_size, errp)) {
        g_prefix_error(errp, "PVH needs an ELF kernel: ");
        return false;
    }
    bool found = pvh_find_entry(&image, &entry);
    bool ok = found && elf_check_load_segments(&image, errp);
    if (ok)
        elf_extent(&image, &low, &high);
    elf_image_clear(&image);
    if (!found) {
        g_set_error(errp, BOOT_ERROR, 0, "no PVH entry note (Xen note type 18) in the ELF file");
        return false;
    }
    if (!ok)
        return false;
    if (low < ONE_MiB || high > cfg->ram_below_4g - FIRMWARE_ACPI_DATA_SIZE) {
        g_set_error(errp, BOOT_ERROR, 0,
                    "the PVH kernel [0x%" G_GINT64_MODIFIER "x, 0x%" G_GINT64_MODIFIER
                    "x) must lie between 1 MiB and the top of RAM below 4 GiB", low, high);
        return false;
    }
    k->memory = cfg->memory;
    k->elf_data = cfg->kernel;
    k->elf_size = cfg->kernel_size;
    if (!load_pvh_elf(k, errp))
        return false;

    size_t cmdline_size = strlen(cfg->cmdline) + 1;
    uint8_t peek[PVH_SETUP_PEEK_SIZE] = { 0 };
    memcpy(peek, cfg->kernel, MIN(cfg->kernel_size, sizeof(peek)));
    fw_cfg_add_i32(fw, FW_CFG_KERNEL_ENTRY, entry);
    fw_cfg_add_i32(fw, FW_CFG_KERNEL_ADDR, low);
    fw_cfg_add_i32(fw, FW_CFG_KERNEL_SIZE, high - low);
    fw_cfg_add_i32(fw, FW_CFG_CMDLINE_SIZE, cmdline_size);
    fw_cfg_add_bytes(fw, FW_CFG_CMDLINE_DATA, cfg->cmdline, cmdline_size);
    fw_cfg_add_i32(fw, FW_CFG_SETUP_SIZE, sizeof(peek));
    fw_cfg_add_bytes(fw, FW_CFG_SETUP_DATA, peek, sizeof(peek));
    if (has_initrd(cfg)) {
        uint32_t initrd_addr;
        if (!place_initrd(cfg, cfg->ram_below_4g - FIRMWARE_ACPI_DATA_SIZE - 1, high,
                          &initrd_addr, errp))
            return false;
        add_initrd(fw, cfg, initrd_addr);
    }
    return true;
}

/* ---- detection, option ROM ---- */

static BootKind detect_kind(const FwCfgKernelConfig *cfg, GError **errp)
{
    size_t offset;
    ElfImage image;
    uint32_t entry;

    if (bzimage_probe(cfg->kernel, cfg->kernel_size))
        return BOOT_KIND_LINUX;
    /* Multiboot before PVH, as QEMU does: a file with both is multiboot. */
    if (multiboot_find_header(cfg->kernel, cfg->kernel_size, &offset))
        return BOOT_KIND_MULTIBOOT;
    if (elf_has_magic(cfg->kernel, cfg->kernel_size) &&
        elf_parse(&image, cfg->kernel, cfg->kernel_size, NULL)) {
        bool pvh = pvh_find_entry(&image, &entry);
        elf_image_clear(&image);
        if (pvh)
            return BOOT_KIND_PVH;
    }
    g_set_error(errp, BOOT_ERROR, 0,
                "not a bzImage, a multiboot image or an ELF with a PVH note");
    return BOOT_KIND_AUTO;
}

static const char *rom_for(BootKind kind)
{
    switch (kind) {
    case BOOT_KIND_LINUX:
        return "linuxboot_dma.bin";
    case BOOT_KIND_MULTIBOOT:
        return "multiboot_dma.bin";
    case BOOT_KIND_PVH:
        return "pvh.bin";
    default:
        return NULL;
    }
}

/* Read the option ROM before anything else: a missing package is the
 * likeliest problem, and it should be the one reported. */
static GBytes *read_option_rom(const FwCfgKernel *k, const FwCfgKernelConfig *cfg, GError **errp)
{
    const char *dir = cfg->rom_dir ? cfg->rom_dir : FW_CFG_KERNEL_ROM_DIR;
    g_autofree char *path = g_build_filename(dir, k->rom_name, NULL);
    char *data = NULL;
    gsize len;

    if (!g_file_get_contents(path, &data, &len, NULL)) {
        g_set_error(errp, BOOT_ERROR, 0,
                    "booting a %s kernel through firmware needs %s (Debian package "
                    "qemu-system-data)", boot_kind_name(k->kind), path);
        return NULL;
    }
    if (len < 3 || (uint8_t)data[0] != 0x55 || (uint8_t)data[1] != 0xaa) {
        g_set_error(errp, BOOT_ERROR, 0, "%s is not an option ROM (no 0x55AA signature)", path);
        g_free(data);
        return NULL;
    }
    return g_bytes_new_take(data, len);
}

static bool fw_cfg_kernel_fill(FwCfgKernel *k, FwCfg *fw, const FwCfgKernelConfig *cfg,
                               GError **errp)
{
    if (cfg->kernel_size == 0) {
        g_set_error(errp, BOOT_ERROR, 0, "file is empty");
        return false;
    }
    k->kind = cfg->kind == BOOT_KIND_AUTO ? detect_kind(cfg, errp) : cfg->kind;
    k->rom_name = rom_for(k->kind);
    if (!k->rom_name)
        return false;
    g_autoptr(GBytes) rom = read_option_rom(k, cfg, errp);
    if (!rom)
        return false;
    bool loaded;
    switch (k->kind) {
    case BOOT_KIND_LINUX:
        loaded = load_linux(fw, cfg, errp);
        break;
    case BOOT_KIND_MULTIBOOT:
        loaded = load_multiboot(fw, cfg, errp);
        break;
    default:
        loaded = load_pvh(k, fw, cfg, errp);
        break;
    }
    if (!loaded)
        return false;
    /* Last, so that a kernel refused above leaves no file behind. */
    g_autofree char *fw_name = g_strdup_printf("genroms/%s", k->rom_name);
    gsize len;
    const void *data = g_bytes_get_data(rom, &len);
    if (!fw_cfg_add_file(fw, fw_name, data, len, errp))
        return false;
    /* No trailing newline: SeaBIOS would read an empty second entry. */
    k->bootorder = g_strdup_printf("/rom@%s", fw_name);
    return true;
}

FwCfgKernel *fw_cfg_kernel_new(FwCfg *fw, const FwCfgKernelConfig *cfg, GError **errp)
{
    FwCfgKernel *k = g_new0(FwCfgKernel, 1);
    GError *err = NULL;

    if (!fw_cfg_kernel_fill(k, fw, cfg, &err)) {
        g_propagate_prefixed_error(errp, err, "%s: ", cfg->kernel_name ? cfg->kernel_name : "kernel");
        fw_cfg_kernel_free(k);
        return NULL;
    }
    return k;
}

const char *fw_cfg_kernel_bootorder(const FwCfgKernel *k)
{
    return k->bootorder;
}

BootKind fw_cfg_kernel_kind(const FwCfgKernel *k)
{
    return k->kind;
}

bool fw_cfg_kernel_reset(FwCfgKernel *k, GError **errp)
{
    return k->kind != BOOT_KIND_PVH || load_pvh_elf(k, errp);
}

void fw_cfg_kernel_free(FwCfgKernel *k)
{
    if (!k)
        return;
    g_free(k->bootorder);
    g_free(k);
}
