/* Identity mapping beyond the low 4 GiB that entry.S maps. */
#ifndef PAGING_H
#define PAGING_H

#include "guest.h"

/* Maps every RAM range of the boot memory map; returns the mapped limit. */
uint64_t paging_map_ram(void);
/* Identity-maps [start, start + size) with 2 MiB user pages (both 2 MiB
 * aligned, below 256 TiB) and flushes the TLB; false if not possible. */
bool paging_map_range(uint64_t start, uint64_t size);
/* Removes those mappings again and flushes the TLB. */
void paging_unmap_range(uint64_t start, uint64_t size);

#endif
