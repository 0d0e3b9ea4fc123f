/* Multiboot v1 direct boot: an ELF (or a.out-kludge) kernel with a
 * multiboot header in its first 8 KiB, started in 32-bit protected mode
 * with EAX = 0x2BADB002 and EBX pointing at the multiboot info. */
#pragma once

#include "firmware/boot.h"

#define MULTIBOOT_HEADER_MAGIC 0x1BADB002u
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u
#define MULTIBOOT_SEARCH_LIMIT 8192
#define MULTIBOOT_INFO_SIZE 120 /* up to and including the VBE fields */
#define MULTIBOOT_MMAP_ENTRY_SIZE 24 /* with its own size field */
#define MULTIBOOT_MODULE_SIZE 16

/* multiboot info flags */
#define MULTIBOOT_INFO_MEMORY (1u << 0)
#define MULTIBOOT_INFO_BOOTDEV (1u << 1)
#define MULTIBOOT_INFO_CMDLINE (1u << 2)
#define MULTIBOOT_INFO_MODS (1u << 3)
#define MULTIBOOT_INFO_MEM_MAP (1u << 6)
#define MULTIBOOT_INFO_BOOT_LOADER_NAME (1u << 9)

/* Offset of a valid multiboot header (magic and checksum), if any. */
bool multiboot_find_header(const uint8_t *data, size_t size, size_t *offset);

bool multiboot_load(const BootConfig *cfg, BootEntry *entry, GError **errp);
