/* The guest's physical memory map, in the e820 form every boot protocol
 * (bzImage zero page, PVH memmap, multiboot mmap, fw_cfg etc/e820) is
 * derived from. */
#pragma once

#include <stdint.h>

#define E820_RAM 1
#define E820_RESERVED 2
#define E820_ACPI 3
#define E820_NVS 4
#define E820_MAX_ENTRIES 128

typedef struct E820Entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
} E820Entry;

typedef struct E820Table {
    E820Entry entries[E820_MAX_ENTRIES];
    unsigned nr;
} E820Table;

/* The PC layout: RAM [0, 0x9fc00), reserved EBDA to 1 MiB (0x9fc00-0xa0000
 * and 0xf0000-0x100000; 0xa0000-0xf0000 is left out), RAM [1 MiB,
 * ram_below_4g), RAM [4 GiB, 4 GiB + ram_above_4g), and the reserved KVM
 * identity-map/TSS pages at 0xfeffc000. */
void e820_build_pc(E820Table *table, uint64_t ram_below_4g, uint64_t ram_above_4g);
void e820_add(E820Table *table, uint64_t addr, uint64_t size, uint32_t type);
