/* Linux bzImage direct boot through the 64-bit boot protocol: the zero
 * page (boot_params) at BOOT_INFO_ADDR, the protected-mode kernel at 1 MiB,
 * entered in long mode at its 64-bit entry with identity page tables. */
#pragma once

#include "firmware/boot.h"

#define BZIMAGE_ENTRY_64_OFFSET 0x200 /* startup_64 from the load address */

/* Setup-header offsets (in the file and in the zero page alike). */
#define BZ_SETUP_SECTS 0x1f1
#define BZ_VID_MODE 0x1fa
#define BZ_BOOT_FLAG 0x1fe
#define BZ_JUMP_END 0x201 /* byte: length of the header after 0x202 */
#define BZ_HEADER_MAGIC 0x202
#define BZ_VERSION 0x206
#define BZ_TYPE_OF_LOADER 0x210
#define BZ_LOADFLAGS 0x211
#define BZ_RAMDISK_IMAGE 0x218
#define BZ_RAMDISK_SIZE 0x21c
#define BZ_HEAP_END_PTR 0x224
#define BZ_CMD_LINE_PTR 0x228
#define BZ_INITRD_ADDR_MAX 0x22c
#define BZ_KERNEL_ALIGNMENT 0x230
#define BZ_RELOCATABLE 0x234
#define BZ_XLOADFLAGS 0x236
#define BZ_CMDLINE_SIZE 0x238
#define BZ_PAYLOAD_OFFSET 0x248
#define BZ_PAYLOAD_LENGTH 0x24c
#define BZ_PREF_ADDRESS 0x258
#define BZ_INIT_SIZE 0x260
#define BZ_HEADER_MIN_END 0x264 /* through init_size: every 2.12+ header has it */

/* Zero-page fields outside the setup header. */
#define BZ_ACPI_RSDP_ADDR 0x070
#define BZ_EXT_RAMDISK_IMAGE 0x0c0
#define BZ_EXT_RAMDISK_SIZE 0x0c4
#define BZ_EXT_CMD_LINE_PTR 0x0c8
#define BZ_E820_ENTRIES 0x1e8
#define BZ_E820_TABLE 0x2d0
#define BZ_E820_ENTRY_SIZE 20

#define BZ_BOOT_FLAG_VALUE 0xaa55
#define BZ_MIN_VERSION 0x020c
#define BZ_LOADFLAG_LOADED_HIGH 0x01
#define BZ_LOADFLAG_CAN_USE_HEAP 0x80
#define BZ_XLF_KERNEL_64 (1u << 0)
#define BZ_XLF_CAN_BE_LOADED_ABOVE_4G (1u << 1)

/* The boot GDT the 64-bit entry needs. */
#define BOOT_GDT_CODE64_SELECTOR 0x10
#define BOOT_GDT_DATA_SELECTOR 0x18
#define BOOT_GDT_ENTRIES 4

/* Whether the file carries the boot flag and "HdrS" (it may still be
 * unusable, e.g. too old). */
bool bzimage_probe(const uint8_t *data, size_t size);

bool bzimage_load(const BootConfig *cfg, BootEntry *entry, GError **errp);
