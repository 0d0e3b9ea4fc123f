/* Multiboot v1 direct boot. */
#include "firmware/multiboot.h"

#include <string.h>

#include "firmware/boot_guest.h"
#include "firmware/boot_layout.h"
#include "firmware/e820.h"
#include "firmware/elf.h"
#include "mem/le_bytes.h"

#define MB_FLAG_PAGE_ALIGN (1u << 0)
#define MB_FLAG_MEMORY_INFO (1u << 1)
#define MB_FLAG_VIDEO_MODE (1u << 2)
#define MB_FLAG_ADDRESS_FIELDS (1u << 16)
#define MB_REQUIRED_MASK 0xffffu /* bits 0-15 must be understood */
#define MB_HEADER_SIZE 12
#define MB_HEADER_WITH_ADDRESSES_SIZE 32
#define MB_BOOT_DEVICE 0x8000ffffu /* first BIOS disk, no partition: what QEMU passes */
#define GiB4 (1ull << 32)

bool multiboot_find_header(const uint8_t *data, size_t size, size_t *offset)
{
    size_t limit = MIN(size, (size_t)MULTIBOOT_SEARCH_LIMIT);
    for (size_t off = 0; off + MB_HEADER_SIZE <= limit; off += 4) {
        uint32_t magic = le32_load(data + off);
        uint32_t flags = le32_load(data + off + 4);
        uint32_t checksum = le32_load(data + off + 8);
        if (magic == MULTIBOOT_HEADER_MAGIC && (uint32_t)(magic + flags + checksum) == 0) {
            *offset = off;
            return true;
        }
    }
    return false;
}

static bool check_required_flags(uint32_t flags, GError **errp)
{
    if (flags & MB_FLAG_VIDEO_MODE) {
        g_set_error(errp, BOOT_ERROR, 0,
                    "the multiboot header requests a video mode (flag bit 2), "
                    "which ferry does not support");
        return false;
    }
    uint32_t unknown = flags & MB_REQUIRED_MASK & ~(MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMORY_INFO);
    if (unknown) {
        g_set_error(errp, BOOT_ERROR, 0,
                    "the multiboot header requires features ferry does not support (flags 0x%x)",
                    unknown);
        return false;
    }
    return true;
}

/* The a.out kludge: the header gives where the file goes, not ELF. */
static bool load_with_address_fields(const BootConfig *cfg, size_t header_offset,
                                     GArray *kernel_ranges, uint64_t *entry_point, GError **errp)
{
    if (cfg->kernel_size - header_offset < MB_HEADER_WITH_ADDRESSES_SIZE) {
        g_set_error(errp, BOOT_ERROR, 0, "truncated multiboot header (address fields missing)");
        return false;
    }
    const uint8_t *h = cfg->kernel + header_offset;
    uint64_t header_addr = le32_load(h + 12);
    uint64_t load_addr = le32_load(h + 16);
    uint64_t load_end_addr = le32_load(h + 20);
    uint64_t bss_end_addr = le32_load(h + 24);

    /* header_addr is where the header itself lands: that ties load_addr to
     * a file offset. */
    if (load_addr > header_addr || header_addr - load_addr > header_offset) {
        g_set_error(errp, BOOT_ERROR, 0,
                    "multiboot header_addr 0x%" G_GINT64_MODIFIER "x and load_addr 0x%"
                    G_GINT64_MODIFIER "x do not match the header's file offset 0x%zx",
                    header_addr, load_addr, header_offset);
        return false;
    }
    uint64_t file_offset = header_offset - (header_addr - load_addr);
    uint64_t file_left = cfg->kernel_size - file_offset;
    uint64_t load_size;
    if (load_end_addr == 0) {
        load_size = file_left;
    } else {
        if (load_end_addr < load_addr) {
            g_set_error(errp, BOOT_ERROR, 0,
                        "multiboot load_end_addr 0x%" G_GINT64_MODIFIER
                        "x is below load_addr 0x%" G_GINT64_MODIFIER "x",
                        load_end_addr, load_addr);
            return false;
        }
        load_size = load_end_addr - load_addr;
        if (load_size > file_left) {
            g_set_error(errp, BOOT_ERROR, 0,
                        "truncated file: the multiboot header loads %" G_GUINT64_FORMAT
                        " bytes from offset 0x%" G_GINT64_MODIFIER "x, the file has %"
                        G_GUINT64_FORMAT, load_size, file_offset, file_left);
            return false;
        }
    }
    uint64_t mem_end = load_addr + load_size;
    if (bss_end_addr != 0) {
        if (bss_end_addr < mem_end) {
            g_set_error(errp, BOOT_ERROR, 0,
                        "multiboot bss_end_addr 0x%" G_GINT64_MODIFIER
                        "x is below the end of the loaded image 0x%" G_GINT64_MODIFIER "x",
                        bss_end_addr, mem_end);
            return false;
        }
        mem_end = bss_end_addr;
    }
    if (mem_end == load_addr) {
        g_set_error(errp, BOOT_ERROR, 0, "the multiboot header's address fields load nothing");
        return false;
    }
    BootRange image = { load_addr, mem_end };
    if (!boot_check_kernel_range(cfg, image, "multiboot image", errp)) {
        return false;
    }
    uint8_t *dst = address_space_ram_ptr(cfg->memory, load_addr, mem_end - load_addr, false);
    if (!dst) {
        g_set_error(errp, BOOT_ERROR, 0,
                    "multiboot image [0x%" G_GINT64_MODIFIER "x, 0x%" G_GINT64_MODIFIER
                    "x) is not inside guest RAM", load_addr, mem_end);
        return false;
    }
    memcpy(dst, cfg->kernel + file_offset, load_size);
    memset(dst + load_size, 0, mem_end - load_addr - load_size);
    g_array_append_val(kernel_ranges, image);
    *entry_point = le32_load(h + 28);
    return true;
}

static bool load_elf(const BootConfig *cfg, GArray *kernel_ranges, uint64_t *entry_point,
                     GError **errp)
{
    ElfImage image;
    if (!elf_parse(&image, cfg->kernel, cfg->kernel_size, errp)) {
        g_prefix_error(errp, "multiboot image without address fields (flag bit 16) must be ELF: ");
        return false;
    }
    bool ok = elf_check_load_segments(&image, errp) &&
              boot_check_elf_segments(cfg, &image, kernel_ranges, errp) &&
              elf_load_segments(&image, cfg->memory, errp);
    /* The entry may be given as a virtual address: run it where it was loaded. */
    *entry_point = elf_vaddr_to_paddr(&image, image.entry);
    elf_image_clear(&image);
    return ok;
}

static bool write_mmap(const BootConfig *cfg, uint32_t *length, GError **errp)
{
    E820Table table;
    e820_build_pc(&table, cfg->ram_below_4g, cfg->ram_above_4g);
    uint8_t buf[E820_MAX_ENTRIES * MULTIBOOT_MMAP_ENTRY_SIZE] = { 0 };
    for (unsigned i = 0; i < table.nr; i++) {
        uint8_t *e = buf + i * MULTIBOOT_MMAP_ENTRY_SIZE;
        le32_store(e + 0, MULTIBOOT_MMAP_ENTRY_SIZE - 4); /* size excludes itself */
        le64_store(e + 4, table.entries[i].addr);
        le64_store(e + 12, table.entries[i].size);
        le32_store(e + 20, table.entries[i].type);
    }
    *length = table.nr * MULTIBOOT_MMAP_ENTRY_SIZE;
    return boot_guest_write(cfg, BOOT_MEMMAP_ADDR, buf, *length, "multiboot memory map", errp);
}

/* KiB of contiguous RAM from 1 MiB up, as multiboot's mem_upper wants. */
static uint32_t mem_upper_kib(const BootConfig *cfg)
{
    if (cfg->ram_below_4g <= BOOT_HIGH_MEMORY) {
        return 0;
    }
    return (uint32_t)((MIN(cfg->ram_below_4g, GiB4) - BOOT_HIGH_MEMORY) / 1024);
}

/* The initrd module's command line is its name (as QEMU passes it), cut to
 * the room the layout has for it. */
static bool write_module_cmdline(const BootConfig *cfg, GError **errp)
{
    char line[BOOT_LOADER_NAME_ADDR - BOOT_MODULE_CMDLINE_ADDR] = "";

    if (cfg->initrd_name)
        g_strlcpy(line, cfg->initrd_name, sizeof(line));
    return boot_guest_write(cfg, BOOT_MODULE_CMDLINE_ADDR, line, strlen(line) + 1,
                            "multiboot module cmdline", errp);
}

bool multiboot_load(const BootConfig *cfg, BootEntry *entry, GError **errp)
{
    size_t header_offset;
    if (!multiboot_find_header(cfg->kernel, cfg->kernel_size, &header_offset)) {
        g_set_error(errp, BOOT_ERROR, 0,
                    "no multiboot header (magic 0x1BADB002 with a valid checksum) "
                    "in the first %d bytes", MULTIBOOT_SEARCH_LIMIT);
        return false;
    }
    uint32_t flags = le32_load(cfg->kernel + header_offset + 4);
    if (!check_required_flags(flags, errp)) {
        return false;
    }

    g_autoptr(GArray) kernel_ranges = g_array_new(FALSE, FALSE, sizeof(BootRange));
    uint64_t entry_point;
    bool loaded = (flags & MB_FLAG_ADDRESS_FIELDS)
                      ? load_with_address_fields(cfg, header_offset, kernel_ranges, &entry_point, errp)
                      : load_elf(cfg, kernel_ranges, &entry_point, errp);
    if (!loaded) {
        return false;
    }
    if (entry_point >= GiB4) {
        g_set_error(errp, BOOT_ERROR, 0,
                    "multiboot entry point 0x%" G_GINT64_MODIFIER "x is above 4 GiB", entry_point);
        return false;
    }

    /* "<kernel> <args>", as QEMU and GRUB pass it: the kernel sees argv[0]. */
    const char *kernel_name = cfg->kernel_name ? cfg->kernel_name : "kernel";
    const char *args = cfg->cmdline ? cfg->cmdline : "";
    g_autofree char *cmdline = *args ? g_strdup_printf("%s %s", kernel_name, args)
                                     : g_strdup(kernel_name);
    uint32_t mmap_length;
    static const char loader_name[] = "ferry";
    if (!boot_guest_write_cmdline(cfg, cmdline, errp) || !write_mmap(cfg, &mmap_length, errp) ||
        !boot_guest_write(cfg, BOOT_LOADER_NAME_ADDR, loader_name, sizeof(loader_name),
                          "multiboot loader name", errp) ||
        !write_module_cmdline(cfg, errp)) {
        return false;
    }

    uint32_t mods_count = 0;
    if (boot_has_initrd(cfg)) {
        uint64_t initrd_addr;
        if (!boot_load_initrd(cfg, GiB4, kernel_ranges, &initrd_addr, errp)) {
            return false;
        }
        uint8_t mod[MULTIBOOT_MODULE_SIZE] = { 0 };
        le32_store(mod + 0, (uint32_t)initrd_addr);
        le32_store(mod + 4, (uint32_t)(initrd_addr + cfg->initrd_size)); /* exclusive end */
        le32_store(mod + 8, BOOT_MODULE_CMDLINE_ADDR);
        if (!boot_guest_write(cfg, BOOT_MODLIST_ADDR, mod, sizeof(mod), "multiboot module list",
                              errp)) {
            return false;
        }
        mods_count = 1;
    }

    uint8_t info[MULTIBOOT_INFO_SIZE] = { 0 };
    le32_store(info + 0, MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_BOOTDEV | MULTIBOOT_INFO_CMDLINE |
                             MULTIBOOT_INFO_MODS | MULTIBOOT_INFO_MEM_MAP |
                             MULTIBOOT_INFO_BOOT_LOADER_NAME);
    le32_store(info + 4, 639); /* KiB below the EBDA */
    le32_store(info + 8, mem_upper_kib(cfg));
    le32_store(info + 12, MB_BOOT_DEVICE);
    le32_store(info + 16, BOOT_CMDLINE_ADDR);
    le32_store(info + 20, mods_count);
    le32_store(info + 24, BOOT_MODLIST_ADDR);
    le32_store(info + 44, mmap_length);
    le32_store(info + 48, BOOT_MEMMAP_ADDR);
    le32_store(info + 64, BOOT_LOADER_NAME_ADDR);
    if (!boot_guest_write(cfg, BOOT_INFO_ADDR, info, sizeof(info), "multiboot info", errp)) {
        return false;
    }

    *entry = (BootEntry){
        .mode = BOOT_CPU_PROTECTED32,
        .rip = entry_point,
        .rax = MULTIBOOT_BOOTLOADER_MAGIC,
        .rbx = BOOT_INFO_ADDR,
        .kind = BOOT_KIND_MULTIBOOT,
    };
    return true;
}
