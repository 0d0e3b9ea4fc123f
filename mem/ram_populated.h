/* Which pages of a RAM block can hold data.
 *
 * A page that nobody ever wrote reads as zero, and whoever only needs its
 * contents (migration) should not read it: reading costs a fault and may
 * even allocate it.  The kernel knows which pages exist:
 *
 *   anonymous private memory    /proc/self/pagemap: present or swapped
 *   memfd, shared file mapping  lseek(SEEK_DATA / SEEK_HOLE) on the fd
 *   private file mapping        no cheap answer: every page counts
 *
 * The answer may be too large, never too small: whatever cannot be asked
 * counts as populated.  A page populated after the call is not seen, so
 * migration asks after re-arming dirty tracking of the pages it asks about.
 */
#pragma once

#include <stdint.h>

#include "mem/ram_block.h"

/* Sets bit i of bits[] (npages bits, (npages + 63) / 64 words, cleared
 * first) when page first_page + i (RAM_DIRTY_PAGE_SIZE pages) of `block`
 * may hold data.  Pages at or past max_length count as unpopulated. */
void ram_block_populated(const RamBlock *block, uint64_t first_page, uint64_t npages,
                         uint64_t *bits);
