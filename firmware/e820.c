/* The guest's e820 memory map. */
#include "firmware/e820.h"

#include <glib.h>

#define PC_LOW_RAM_END 0x9fc00ull /* EBDA starts here */
#define PC_EBDA_END 0xa0000ull
#define PC_BIOS_START 0xf0000ull
#define PC_HIGH_RAM_START 0x100000ull
#define PC_KVM_IDENTITY_MAP 0xfeffc000ull /* KVM_SET_IDENTITY_MAP_ADDR page + 3 TSS pages */
#define PC_KVM_IDENTITY_MAP_SIZE 0x4000ull
#define PC_4G (1ull << 32)

/* Entries stay sorted by address so every consumer can hand them on as-is. */
void e820_add(E820Table *table, uint64_t addr, uint64_t size, uint32_t type)
{
    if (size == 0) {
        return;
    }
    if (table->nr >= E820_MAX_ENTRIES) {
        g_warning("e820: table full, dropping [0x%" G_GINT64_MODIFIER "x, +0x%" G_GINT64_MODIFIER
                  "x) type %u", addr, size, type);
        return;
    }
    unsigned pos = table->nr;
    while (pos > 0 && table->entries[pos - 1].addr > addr) {
        table->entries[pos] = table->entries[pos - 1];
        pos--;
    }
    table->entries[pos] = (E820Entry){ .addr = addr, .size = size, .type = type };
    table->nr++;
}

void e820_build_pc(E820Table *table, uint64_t ram_below_4g, uint64_t ram_above_4g)
{
    table->nr = 0;
    e820_add(table, 0, MIN(ram_below_4g, PC_LOW_RAM_END), E820_RAM);
    e820_add(table, PC_LOW_RAM_END, PC_EBDA_END - PC_LOW_RAM_END, E820_RESERVED);
    e820_add(table, PC_BIOS_START, PC_HIGH_RAM_START - PC_BIOS_START, E820_RESERVED);
    if (ram_below_4g > PC_HIGH_RAM_START) {
        /* The machine keeps RAM below the identity-map pages; clamp anyway so
         * the table never describes one byte twice. */
        uint64_t end = MIN(ram_below_4g, PC_KVM_IDENTITY_MAP);
        e820_add(table, PC_HIGH_RAM_START, end - PC_HIGH_RAM_START, E820_RAM);
    }
    e820_add(table, PC_KVM_IDENTITY_MAP, PC_KVM_IDENTITY_MAP_SIZE, E820_RESERVED);
    e820_add(table, PC_4G, ram_above_4g, E820_RAM);
}
