/* Guest-memory helpers shared by the direct-boot loaders. */
#include "firmware/boot_guest.h"

#include <string.h>

#include "firmware/boot_layout.h"

#define MiB (1024ull * 1024)
#define GiB4 (1ull << 32)

G_DEFINE_QUARK(ferry-boot-error, boot_error)

char *boot_size_str(uint64_t size)
{
    if (size >= MiB) {
        if (size % MiB == 0) {
            return g_strdup_printf("%" G_GUINT64_FORMAT " MiB", (uint64_t)(size / MiB));
        }
        return g_strdup_printf("%.1f MiB", (double)size / MiB);
    }
    return g_strdup_printf("%" G_GUINT64_FORMAT " KiB", (uint64_t)((size + 1023) / 1024));
}

static uint64_t guest_ram_total(const BootConfig *cfg)
{
    return cfg->ram_below_4g + cfg->ram_above_4g;
}

bool boot_guest_write(const BootConfig *cfg, uint64_t gpa, const void *data, size_t len,
                      const char *what, GError **errp)
{
    if (len == 0) {
        return true;
    }
    uint8_t *dst = address_space_ram_ptr(cfg->memory, gpa, len, false);
    if (!dst) {
        g_set_error(errp, BOOT_ERROR, 0,
                    "%s [0x%" G_GINT64_MODIFIER "x, +0x%zx) is not inside guest RAM", what, gpa,
                    len);
        return false;
    }
    memcpy(dst, data, len);
    return true;
}

bool boot_guest_write_cmdline(const BootConfig *cfg, const char *cmdline, GError **errp)
{
    size_t len = strlen(cmdline);
    if (len >= BOOT_CMDLINE_MAX) {
        g_set_error(errp, BOOT_ERROR, 0,
                    "command line too long: %zu bytes, ferry has room for %llu",
                    len, BOOT_CMDLINE_MAX - 1);
        return false;
    }
    return boot_guest_write(cfg, BOOT_CMDLINE_ADDR, cmdline, len + 1, "command line", errp);
}

static bool ranges_overlap(BootRange a, BootRange b)
{
    return a.start < b.end && b.start < a.end;
}

bool boot_check_kernel_range(const BootConfig *cfg, BootRange range, const char *what,
                             GError **errp)
{
    const BootRange boot_data = { BOOT_DATA_START, BOOT_DATA_END };
    if (range.end <= range.start) {
        return true;
    }
    if (ranges_overlap(range, boot_data)) {
        g_set_error(errp, BOOT_ERROR, 0,
                    "%s [0x%" G_GINT64_MODIFIER "x, 0x%" G_GINT64_MODIFIER
                    "x) overlaps the boot data ferry writes at [0x%llx, 0x%llx)",
                    what, range.start, range.end, BOOT_DATA_START, BOOT_DATA_END);
        return false;
    }
    bool below_4g_ok = range.end <= cfg->ram_below_4g;
    bool above_4g_ok = range.start >= GiB4 && range.end - GiB4 <= cfg->ram_above_4g;
    if (below_4g_ok || above_4g_ok) {
        return true;
    }
    g_autofree char *have = boot_size_str(guest_ram_total(cfg));
    if (range.end <= GiB4) {
        /* Below 4 GiB, more RAM is the fix: say how much. */
        uint64_t need_mib = (uint64_t)((range.end + MiB - 1) / MiB);
        g_set_error(errp, BOOT_ERROR, 0,
                    "%s [0x%" G_GINT64_MODIFIER "x, 0x%" G_GINT64_MODIFIER
                    "x) lies beyond guest RAM: needs %" G_GUINT64_FORMAT
                    " MiB of RAM, the guest has %s",
                    what, range.start, range.end, need_mib, have);
    } else {
        g_set_error(errp, BOOT_ERROR, 0,
                    "%s [0x%" G_GINT64_MODIFIER "x, 0x%" G_GINT64_MODIFIER
                    "x) lies outside guest RAM (the guest has %s)",
                    what, range.start, range.end, have);
    }
    return false;
}

bool boot_check_elf_segments(const BootConfig *cfg, const ElfImage *image,
                             GArray *kernel_ranges, GError **errp)
{
    for (guint i = 0; i < image->phdrs->len; i++) {
        const ElfProgramHeader *ph = &g_array_index(image->phdrs, ElfProgramHeader, i);
        if (ph->type != ELF_PT_LOAD || ph->memsz == 0) {
            continue;
        }
        /* elf_check_load_segments() has ruled out wrap-around. */
        BootRange r = { ph->paddr, ph->paddr + ph->memsz };
        g_autofree char *what = g_strdup_printf("segment %u", i);
        if (!boot_check_kernel_range(cfg, r, what, errp)) {
            return false;
        }
        g_array_append_val(kernel_ranges, r);
    }
    return true;
}

bool boot_has_initrd(const BootConfig *cfg)
{
    return cfg->initrd && cfg->initrd_size > 0;
}

bool boot_load_initrd(const BootConfig *cfg, uint64_t limit, const GArray *avoid,
                      uint64_t *addr, GError **errp)
{
    uint64_t size = cfg->initrd_size;
    uint64_t top = MIN(cfg->ram_below_4g, limit);
    bool placed = false;
    uint64_t start = 0;

    /* Slide down below each kernel range in the way; `top` strictly
     * decreases, so this ends. */
    while (size <= top && top - size >= BOOT_HIGH_MEMORY) {
        start = (top - size) & ~(BOOT_PAGE_SIZE - 1);
        if (start < BOOT_HIGH_MEMORY) {
            break;
        }
        BootRange initrd = { start, start + size };
        bool clash = false;
        for (guint i = 0; avoid && i < avoid->len; i++) {
            BootRange k = g_array_index(avoid, BootRange, i);
            if (ranges_overlap(initrd, k)) {
                top = k.start;
                clash = true;
                break;
            }
        }
        if (!clash) {
            placed = true;
            break;
        }
    }

    uint8_t *dst = placed ? address_space_ram_ptr(cfg->memory, start, size, false) : NULL;
    if (!dst) {
        g_autofree char *want = boot_size_str(size);
        g_autofree char *have = boot_size_str(guest_ram_total(cfg));
        g_set_error(errp, BOOT_ERROR, 0,
                    "initrd (%s) does not fit in guest RAM below 0x%" G_GINT64_MODIFIER
                    "x beside the kernel (the guest has %s)",
                    want, MIN(cfg->ram_below_4g, limit), have);
        return false;
    }
    memcpy(dst, cfg->initrd, size);
    *addr = start;
    return true;
}
