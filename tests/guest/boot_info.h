/* What the loader told us, copied out of loader memory at entry. */
#ifndef BOOT_INFO_H
#define BOOT_INFO_H

#include "guest.h"

enum boot_protocol { BOOT_UNKNOWN = 0, BOOT_MULTIBOOT = 1, BOOT_PVH = 2 };

#define E820_RAM 1
#define BOOT_MAX_RANGES 128
#define BOOT_CMDLINE_MAX 1024

struct mem_range {
    uint64_t addr, size;
    uint32_t type;
};

struct boot_info {
    enum boot_protocol protocol;
    char cmdline[BOOT_CMDLINE_MAX];
    struct mem_range ranges[BOOT_MAX_RANGES];
    unsigned nr_ranges;
    bool have_memory_map;   /* false: synthesized from mem_lower/mem_upper */
    uint64_t rsdp_paddr;    /* PVH only; 0 when the loader gives none */
};

extern struct boot_info boot;

/* Returns an error message, or NULL when the boot info is usable. */
const char *boot_info_load(void);
const char *boot_protocol_name(enum boot_protocol p);
/* Copies the value of `key=value` from the command line; false if absent. */
bool cmdline_get(const char *key, char *value, size_t size);
uint64_t cmdline_get_u64(const char *key, uint64_t fallback);

#endif
