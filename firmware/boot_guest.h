/* What the direct-boot loaders share: writing into guest RAM (only through
 * address_space_ram_ptr()), checking where a kernel wants to go, placing
 * the initrd and the command line, and the error domain.  Messages do not
 * name the kernel file; boot_load() prefixes it. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/boot.h"
#include "firmware/elf.h"

#define BOOT_ERROR boot_error_quark()
GQuark boot_error_quark(void);

/* A guest-physical range [start, end). */
typedef struct BootRange {
    uint64_t start;
    uint64_t end;
} BootRange;

/* Copy `len` bytes to guest-physical `gpa`; `what` names the data in the
 * message when the range is not RAM. */
bool boot_guest_write(const BootConfig *cfg, uint64_t gpa, const void *data, size_t len,
                      const char *what, GError **errp);

/* Write a NUL-terminated command line at BOOT_CMDLINE_ADDR. */
bool boot_guest_write_cmdline(const BootConfig *cfg, const char *cmdline, GError **errp);

/* Check that the kernel range `what` fits in guest RAM (with a "needs N MiB
 * of RAM" message if not) and stays clear of the loader's boot data. */
bool boot_check_kernel_range(const BootConfig *cfg, BootRange range, const char *what,
                             GError **errp);

/* boot_check_kernel_range() for every loaded ELF segment; appends their
 * ranges to `kernel_ranges` (a GArray of BootRange). */
bool boot_check_elf_segments(const BootConfig *cfg, const ElfImage *image,
                             GArray *kernel_ranges, GError **errp);

/* Place cfg->initrd page-aligned, as high as possible below
 * min(ram_below_4g, limit) and at or above 1 MiB, clear of `avoid`, and copy
 * it there.  Sets *addr. */
bool boot_load_initrd(const BootConfig *cfg, uint64_t limit, const GArray *avoid,
                      uint64_t *addr, GError **errp);

/* Whether the config carries an initrd to load (an empty one is none). */
bool boot_has_initrd(const BootConfig *cfg);

/* "64 MiB", "1.5 MiB", "12 KiB" for messages. */
char *boot_size_str(uint64_t size);
