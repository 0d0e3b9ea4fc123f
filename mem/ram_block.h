/* RAM blocks: named, page-aligned host allocations that back guest RAM.
 *
 * A block has a unique idstr (the name migration matches blocks by), a
 * page size, a used_length (what the guest sees) and a max_length (what is
 * reserved up front, so that a resizable block can grow in place).  Blocks
 * live in one process-wide list, in creation order, which is the order
 * `info ramblock` prints and migration sends them in.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum RamBlockFlags {
    RAM_BLOCK_RESIZABLE = 1u << 0, /* used_length may change up to max_length */
    RAM_BLOCK_MIGRATABLE = 1u << 1, /* sent by precopy migration */
    RAM_BLOCK_READONLY = 1u << 2, /* mapped read-only into the guest (ROM) */
} RamBlockFlags;

typedef enum RamBackendKind {
    RAM_BACKEND_ANON, /* private anonymous memory */
    RAM_BACKEND_MEMFD, /* memfd_create(), optionally MFD_HUGETLB */
    RAM_BACKEND_FILE, /* a file or a hugetlbfs mount point (mem_path) */
} RamBackendKind;

typedef struct RamBackendSpec {
    RamBackendKind kind;
    const char *mem_path; /* RAM_BACKEND_FILE: a file, or a directory to create an unlinked file in */
    bool share; /* MAP_SHARED instead of MAP_PRIVATE (memfd is always shared) */
    bool hugetlb; /* memfd: MFD_HUGETLB */
    uint64_t hugetlbsize; /* memfd with hugetlb: page size, 0 = the system default */
    bool prealloc; /* populate every page at creation */
} RamBackendSpec;

typedef struct RamBlock RamBlock;

/* Called after a resizable block's used_length changed. */
typedef void (*RamBlockResizedFn)(RamBlock *block, uint64_t old_used, void *opaque);

struct RamBlock {
    char *idstr;
    uint64_t offset; /* position in the ram_addr space (QEMU's "Offset" column) */
    uint64_t page_size;
    uint64_t used_length;
    uint64_t max_length;
    uint8_t *host; /* max_length bytes reserved; [0, used_length) is valid */
    int fd; /* memfd/file backends, else -1 */
    RamBackendKind backend;
    RamBlockFlags flags;
    RamBlockResizedFn resized;
    void *resized_opaque;
};

/* Create a block of `size` bytes reserving `max_size` (== size unless
 * RAM_BLOCK_RESIZABLE).  Sizes are rounded up to the page size.  A NULL
 * backend means anonymous private memory.  Fails (and names the problem) on
 * a duplicate idstr, a zero size, max < size, or a backend that cannot be
 * created. */
RamBlock *ram_block_new(const char *idstr, uint64_t size, uint64_t max_size, RamBlockFlags flags,
                        const RamBackendSpec *backend, GError **errp);

/* Change used_length of a resizable block within max_length; calls the
 * resized callback.  Resizing to the current length is a no-op. */
bool ram_block_resize(RamBlock *block, uint64_t new_size, GError **errp);

void ram_block_set_resized_notifier(RamBlock *block, RamBlockResizedFn fn, void *opaque);

/* Unlinks the block from the list and releases its memory. */
void ram_block_free(RamBlock *block);

RamBlock *ram_block_find(const char *idstr);

/* The live list, in creation order.  Do not modify. */
GList *ram_block_list(void);

/* QEMU's `info ramblock` table. */
void ram_block_format(GString *out);

/* "4 KiB", "2 MiB", "1 GiB": sizes as QEMU's size_to_str() prints them. */
char *ram_size_to_str(uint64_t size);
