/* Direct kernel boot: put a kernel (and initrd, command line, boot info)
 * into guest RAM and say how the boot vCPU must start.
 *
 * Formats, detected from the file unless forced:
 *   linux      bzImage, 64-bit boot protocol (boot_params "zero page")
 *   pvh        ELF with a Xen PHYS32_ENTRY note (hvm_start_info)
 *   multiboot  multiboot v1 ELF (ELF32, or ELF64)
 * Everything is written through address_space_ram_ptr(), so a bad image can
 * only fail with an error, never write outside guest RAM.
 */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/address_space.h"

typedef enum BootKind {
    BOOT_KIND_AUTO,
    BOOT_KIND_LINUX,
    BOOT_KIND_PVH,
    BOOT_KIND_MULTIBOOT,
} BootKind;

typedef struct BootConfig {
    AddressSpace *memory;
    const char *kernel_name; /* for messages and the multiboot cmdline */
    const uint8_t *kernel; /* whole image, in host memory */
    size_t kernel_size;
    const char *initrd_name; /* the multiboot module's command line; may be NULL */
    const uint8_t *initrd; /* NULL when none */
    size_t initrd_size;
    const char *cmdline; /* never NULL */
    BootKind kind;
    uint64_t ram_below_4g; /* RAM at [0, ram_below_4g) */
    uint64_t ram_above_4g; /* RAM at [4 GiB, 4 GiB + ram_above_4g) */
    uint64_t rsdp_addr; /* 0 = none (ACPI comes later) */
} BootConfig;

typedef enum BootCpuMode {
    BOOT_CPU_PROTECTED32, /* flat 32-bit protected mode, paging off (PVH, multiboot) */
    BOOT_CPU_LONG64, /* 64-bit mode with the loader's page tables and GDT (bzImage) */
} BootCpuMode;

/* The boot vCPU's starting state.  Segment state is implied by the mode:
 * flat 4 GiB code (CS) and data (DS/ES/FS/GS/SS) descriptors, a busy 32-bit
 * TSS; for LONG64, CS is selector 0x10 and data 0x18 of the GDT at gdt_base,
 * as the Linux boot protocol asks. */
typedef struct BootEntry {
    BootCpuMode mode;
    uint64_t rip;
    uint64_t rax, rbx, rsi; /* multiboot: eax magic, ebx info; PVH: ebx start_info; linux: rsi zero page */
    uint64_t cr3; /* LONG64 */
    uint64_t gdt_base; /* LONG64 */
    uint16_t gdt_limit;
    BootKind kind; /* what was actually booted */
} BootEntry;

bool boot_kind_parse(const char *name, BootKind *kind);
const char *boot_kind_name(BootKind kind);

/* Load, or fail with a one-line message naming the file and the problem. */
bool boot_load(const BootConfig *cfg, BootEntry *entry, GError **errp);
