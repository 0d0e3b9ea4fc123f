/* Identity mapping of RAM above 4 GiB (entry.S maps the low 4 GiB). */
#ifndef PAGING_H
#define PAGING_H

#include "guest.h"

/* Maps every RAM range of the boot memory map; returns the mapped limit. */
uint64_t paging_map_ram(void);

#endif
