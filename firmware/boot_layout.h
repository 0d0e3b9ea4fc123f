/* Guest-physical addresses the direct-boot loaders write to.  The whole
 * layout, and why, is described at the top of boot.c. */
#pragma once

#define BOOT_DATA_START 0x500ull /* everything but kernel and initrd lives in */
#define BOOT_DATA_END 0x30000ull /* [BOOT_DATA_START, BOOT_DATA_END) */

#define BOOT_GDT_ADDR 0x500ull
#define BOOT_PML4_ADDR 0x1000ull
#define BOOT_PDPT_ADDR 0x2000ull
#define BOOT_PD_ADDR 0x3000ull /* four page directories, 0x3000-0x6fff */
#define BOOT_PD_COUNT 4
#define BOOT_INFO_ADDR 0x7000ull /* zero page, hvm_start_info or multiboot info */
#define BOOT_INFO_SIZE 0x1000ull
#define BOOT_MEMMAP_ADDR 0x8000ull /* PVH memmap / multiboot mmap, <= 128 x 24 bytes */
#define BOOT_MODLIST_ADDR 0x9000ull /* PVH / multiboot module list */
#define BOOT_MODULE_CMDLINE_ADDR 0x9100ull /* the initrd module's command line (its name) */
#define BOOT_LOADER_NAME_ADDR 0x9200ull /* multiboot boot_loader_name */
#define BOOT_CMDLINE_ADDR 0x20000ull /* same place QEMU uses */
#define BOOT_CMDLINE_MAX (BOOT_DATA_END - BOOT_CMDLINE_ADDR) /* bytes, with the NUL */

#define BOOT_HIGH_MEMORY 0x100000ull /* 1 MiB: bzImage kernel, lowest initrd */
#define BOOT_PAGE_SIZE 0x1000ull
