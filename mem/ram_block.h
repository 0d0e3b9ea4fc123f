/* RAM blocks: named, page-aligned host allocations that back guest RAM.
 *
 * A block has a unique idstr (the name migration matches blocks by), a
 * page size, a used_length (what the guest sees) and a max_length (what is
 * reserved up front, so that a resizable block can grow in place).  Blocks
 * live in one process-wide list, in creation order, which is the order
 * `info ramblock` prints and migration sends them in.
 *
 * Every block made by ram_block_new() has a dirty bitmap: one bit per
 * RAM_DIRTY_PAGE_SIZE page of max_length (4 KiB, the page KVM logs, also
 * for hugetlb blocks), all clear at creation.  Bits are set by KVM's dirty
 * log (memory_global_dirty_log_sync()), by ferry's own writes into guest
 * RAM (ram_block_mark_dirty() after the write), and for everything when
 * dirty logging starts.  Every helper is atomic per bit, so vCPU threads,
 * devices and the migration thread may use them concurrently; a block
 * without a bitmap (a test's hand-made block) ignores them.
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
    bool shared; /* MAP_SHARED: the contents live in fd (memfd, file with share) */
    RamBackendKind backend;
    RamBlockFlags flags;
    RamBlockResizedFn resized;
    void *resized_opaque;
    uint64_t *dirty; /* max_length / RAM_DIRTY_PAGE_SIZE bits, atomic; may be NULL */
};

/* The granule of dirty tracking: KVM's (and x86's) base page. */
#define RAM_DIRTY_PAGE_SHIFT 12
#define RAM_DIRTY_PAGE_SIZE (1ull << RAM_DIRTY_PAGE_SHIFT)

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
/* One process-wide observer of every resize (migration: a block that
 * changes size under a running precopy ends it); NULL to remove. */
void ram_blocks_set_resize_observer(RamBlockResizedFn fn, void *opaque);

/* Unlinks the block from the list and releases its memory. */
void ram_block_free(RamBlock *block);

RamBlock *ram_block_find(const char *idstr);

/* The live list, in creation order.  Do not modify. */
GList *ram_block_list(void);

/* QEMU's `info ramblock` table. */
void ram_block_format(GString *out);

/* ---- dirty bitmap -------------------------------------------------------
 * Pages are numbered from the block's start: page p is bytes
 * [p * RAM_DIRTY_PAGE_SIZE, (p + 1) * RAM_DIRTY_PAGE_SIZE).  Ranges past
 * max_length are cut; queries stop at used_length (what migration sends). */

/* Pages [0, used_length) as dirty-page numbers. */
uint64_t ram_block_dirty_pages(const RamBlock *block);

/* The host wrote [offset, offset + len) of the block behind KVM's back
 * (fw_cfg DMA, a ROM blob rebuild, a loader): call after the write. */
void ram_block_mark_dirty(RamBlock *block, uint64_t offset, uint64_t len);

void ram_block_dirty_set_range(RamBlock *block, uint64_t first_page, uint64_t npages);
void ram_block_dirty_set_all(RamBlock *block);
void ram_block_dirty_clear_all(RamBlock *block);
bool ram_block_dirty_test(const RamBlock *block, uint64_t page);
/* Clears the bit; true if it was set. */
bool ram_block_dirty_test_and_clear(RamBlock *block, uint64_t page);
/* Atomically takes (returns and clears) the bits of pages [first_page,
 * first_page + npages) into bits[] (bit i = page first_page + i,
 * (npages + 63) / 64 words); first_page must be a multiple of 64.  Pages
 * at or past used_length are left alone.  Returns how many were set. */
uint64_t ram_block_dirty_take(RamBlock *block, uint64_t first_page, uint64_t npages,
                              uint64_t *bits);
/* ORs `npages` bits (bit i of bits[] = page first_page + i) into the map. */
void ram_block_dirty_merge(RamBlock *block, uint64_t first_page, const uint64_t *bits,
                           uint64_t npages);
/* Dirty pages in [0, used_length). */
uint64_t ram_block_dirty_count(const RamBlock *block);
/* The first dirty page at or after `page`, or ram_block_dirty_pages() if none. */
uint64_t ram_block_dirty_find_next(const RamBlock *block, uint64_t page);

/* Every page of every block dirty: where global dirty logging starts, so
 * that migration's first round sends everything, blocks that no address
 * space maps (fw_cfg-only ROM blobs) included. */
void ram_blocks_dirty_set_all(void);

/* "4 KiB", "2 MiB", "1 GiB": sizes as QEMU's size_to_str() prints them. */
char *ram_size_to_str(uint64_t size);
