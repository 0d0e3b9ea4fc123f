#include "mem/ram_populated.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#define PAGEMAP_PRESENT (1ull << 63)
#define PAGEMAP_SWAPPED (1ull << 62)
/* pagemap entries read per pread: 512 KiB of entries cover 256 MiB. */
#define PAGEMAP_BATCH 65536u

static void bits_set_range(uint64_t *bits, uint64_t from, uint64_t to)
{
    for (uint64_t i = from; i < to; i++)
        bits[i / 64] |= 1ull << (i % 64);
}

/* One descriptor for the process's lifetime; -1 if /proc is not there. */
static int pagemap_fd(void)
{
    static gsize once;
    static int fd = -1;

    if (g_once_init_enter(&once)) {
        fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
        g_once_init_leave(&once, 1);
    }
    return fd;
}

static void populated_from_pagemap(const RamBlock *block, uint64_t first_page, uint64_t npages,
                                   uint64_t *bits)
{
    int fd = pagemap_fd();
    uint64_t vpage = (uint64_t)(uintptr_t)block->host / RAM_DIRTY_PAGE_SIZE + first_page;
    g_autofree uint64_t *entries = g_new(uint64_t, MIN(npages, PAGEMAP_BATCH));

    for (uint64_t done = 0; done < npages;) {
        uint64_t want = MIN(npages - done, PAGEMAP_BATCH);
        ssize_t got = fd < 0 ? -1
                             : pread(fd, entries, want * sizeof(uint64_t),
                                     (off_t)((vpage + done) * sizeof(uint64_t)));
        if (got <= 0 || got % sizeof(uint64_t)) {
            bits_set_range(bits, done, npages);
            return;
        }
        for (uint64_t i = 0; i < (uint64_t)got / sizeof(uint64_t); i++)
            if (entries[i] & (PAGEMAP_PRESENT | PAGEMAP_SWAPPED))
                bits[(done + i) / 64] |= 1ull << ((done + i) % 64);
        done += (uint64_t)got / sizeof(uint64_t);
    }
}

/* The blocks map their fd from offset 0: file offset = block offset. */
static void populated_from_file(const RamBlock *block, uint64_t first_page, uint64_t npages,
                                uint64_t *bits)
{
    off_t start = (off_t)(first_page * RAM_DIRTY_PAGE_SIZE);
    off_t end = (off_t)((first_page + npages) * RAM_DIRTY_PAGE_SIZE);

    for (off_t pos = start; pos < end;) {
        off_t data = lseek(block->fd, pos, SEEK_DATA);
        if (data < 0) {
            if (errno != ENXIO) /* ENXIO: no data past pos */
                bits_set_range(bits, (uint64_t)(pos - start) / RAM_DIRTY_PAGE_SIZE, npages);
            return;
        }
        if (data >= end)
            return;
        off_t hole = lseek(block->fd, data, SEEK_HOLE);
        if (hole < 0 || hole > end)
            hole = end;
        bits_set_range(bits, (uint64_t)(data - start) / RAM_DIRTY_PAGE_SIZE,
                       ((uint64_t)(hole - start) + RAM_DIRTY_PAGE_SIZE - 1) / RAM_DIRTY_PAGE_SIZE);
        pos = hole;
    }
}

void ram_block_populated(const RamBlock *block, uint64_t first_page, uint64_t npages,
                         uint64_t *bits)
{
    uint64_t max_pages = block->max_length / RAM_DIRTY_PAGE_SIZE;

    memset(bits, 0, (npages + 63) / 64 * sizeof(uint64_t));
    if (first_page >= max_pages)
        return;
    npages = MIN(npages, max_pages - first_page);
    if (block->backend == RAM_BACKEND_ANON)
        populated_from_pagemap(block, first_page, npages, bits);
    else if (block->fd >= 0 && block->shared)
        populated_from_file(block, first_page, npages, bits);
    else
        bits_set_range(bits, 0, npages);
}
