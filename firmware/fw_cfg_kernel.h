/* A kernel handed to firmware through fw_cfg, the way QEMU does it, so that
 * Debian's QEMU option ROMs (package qemu-system-data) and qboot boot it.
 *
 * Formats (detected as QEMU does unless forced: bzImage header first, then a
 * multiboot header, then an ELF with a PVH note):
 *
 *   linux      SETUP_* = the real-mode part (setup_sects + 1 sectors) with
 *              its header patched, at 0x10000 (0x90000 for protocols < 2.02
 *              or kernels that do not load high); KERNEL_* = the protected-
 *              mode part at 1 MiB; CMDLINE_* at 0x20000; INITRD_* page-
 *              aligned just below min(initrd_max, RAM below 4 GiB - 160 KiB).
 *              ROM: linuxboot_dma.bin, which copies them and jumps to the
 *              setup code in real mode (stack top = cmdline - setup - 16).
 *   multiboot  KERNEL_* = one buffer at the image's lowest address: the
 *              loaded image, then the module list, command lines and loader
 *              name, then each module page-aligned; INITRD_* = the 88-byte
 *              multiboot info at 0x9500 (mmap_addr = 0x9000); KERNEL_ENTRY.
 *              ROM: multiboot_dma.bin, which fills mem_lower (int 12h), the
 *              memory map at mmap_addr (int 15h e820) with mmap_length, and
 *              mem_upper, then enters the kernel with EAX = 0x2BADB002.
 *   pvh        the ELF is loaded into guest RAM directly (and again on
 *              every reset); KERNEL_ENTRY = the PVH entry, KERNEL_ADDR/SIZE
 *              = its lowest address and extent, CMDLINE_SIZE/DATA, SETUP_*
 *              = the file's first 8 KiB (qboot sees the ELF magic there),
 *              INITRD_* as for linux.  ROM: pvh.bin (SeaBIOS); qboot boots
 *              it itself.
 *
 * qboot ignores the ROM and reads the same items.  SeaBIOS runs the ROM from
 * the fw_cfg file genroms/<rom>, first in boot order thanks to the line
 * "/rom@genroms/<rom>" (fw_cfg_kernel_bootorder()).
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/boot.h"
#include "firmware/fw_cfg.h"
#include "mem/address_space.h"

#define FW_CFG_KERNEL_ROM_DIR "/usr/share/qemu" /* Debian's qemu-system-data */

typedef struct FwCfgKernelConfig {
    AddressSpace *memory; /* PVH loads the ELF here */
    const char *kernel_name; /* for messages and the multiboot cmdline */
    const uint8_t *kernel; /* whole image, borrowed for the object's life */
    size_t kernel_size;
    const char *initrd_name; /* multiboot module command line; may be NULL */
    const uint8_t *initrd; /* NULL or initrd_size 0 = none */
    size_t initrd_size;
    const char *cmdline; /* never NULL */
    BootKind kind; /* BOOT_KIND_AUTO detects */
    uint64_t ram_below_4g;
    const char *rom_dir; /* where the option ROMs are; NULL = FW_CFG_KERNEL_ROM_DIR */
} FwCfgKernelConfig;

typedef struct FwCfgKernel FwCfgKernel;

/* Add the kernel's items, its option ROM and (for PVH) load the ELF.
 * Errors are one line starting with the kernel's name. */
FwCfgKernel *fw_cfg_kernel_new(FwCfg *fw, const FwCfgKernelConfig *cfg, GError **errp);
/* The `bootorder` line that makes SeaBIOS run the ROM first. */
const char *fw_cfg_kernel_bootorder(const FwCfgKernel *kernel);
BootKind fw_cfg_kernel_kind(const FwCfgKernel *kernel);
/* Machine reset: put a PVH kernel back into RAM (the others are copied by
 * the firmware from fw_cfg on every boot). */
bool fw_cfg_kernel_reset(FwCfgKernel *kernel, GError **errp);
void fw_cfg_kernel_free(FwCfgKernel *kernel);
