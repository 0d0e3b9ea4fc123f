/* PVH direct boot: an ELF kernel with a Xen PHYS32_ENTRY note, started in
 * 32-bit protected mode with EBX pointing at an hvm_start_info. */
#pragma once

#include "firmware/boot.h"
#include "firmware/elf.h"

#define PVH_START_INFO_MAGIC 0x336ec578u
#define PVH_START_INFO_SIZE 56
#define PVH_MEMMAP_ENTRY_SIZE 24
#define PVH_MODLIST_ENTRY_SIZE 32
#define PVH_MEMMAP_MAX 127 /* what Linux accepts */

/* The 32-bit physical entry point from the Xen note type 18, if any. */
bool pvh_find_entry(const ElfImage *image, uint32_t *entry);

bool pvh_load(const BootConfig *cfg, BootEntry *entry, GError **errp);
