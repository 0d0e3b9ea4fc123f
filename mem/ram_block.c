/* RAM blocks: host memory reserved up front for guest RAM, with a backend
 * (anonymous, memfd, or a file), a page size and a place in the ram_addr
 * space.  See ram_block.h. */
#include "mem/ram_block.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT 26
#endif

/* Host alignment of guest RAM (see map_guest_memory). */
#define HUGE_PAGE_SIZE (2ull << 20)
/* Blocks start on a 256 KiB boundary in the ram_addr space so that one
 * 64-bit word of a 4 KiB-page dirty bitmap never spans two blocks. */
#define RAM_ADDR_ALIGN (64ull * 4096)

static GMutex ram_blocks_lock;
static RamBlockResizedFn resize_observer;
static void *resize_observer_opaque;
static GList *ram_blocks; /* RamBlock *, creation order */

static uint64_t align_up(uint64_t value, uint64_t align)
{
    return (value + align - 1) & ~(align - 1);
}

/* 64-bit words of a dirty bitmap covering `bytes`. */
static uint64_t dirty_words(uint64_t bytes)
{
    return (bytes / RAM_DIRTY_PAGE_SIZE + 63) / 64;
}

char *ram_size_to_str(uint64_t size)
{
    static const char *const units[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
    unsigned unit = 0;

    /* Move to the next unit once the number would reach 1000, as QEMU
     * does, so that 1000 bytes print as "0.977 KiB". */
    while (unit + 1 < G_N_ELEMENTS(units) && (double)size >= 1000.0 * (double)(1ull << (10 * unit)))
        unit++;
    return g_strdup_printf("%0.3g %sB", (double)size / (double)(1ull << (10 * unit)), units[unit]);
}

/* Default huge page size from /proc/meminfo ("Hugepagesize:    2048 kB"). */
static uint64_t default_huge_page_size(void)
{
    g_autofree char *meminfo = NULL;

    if (!g_file_get_contents("/proc/meminfo", &meminfo, NULL, NULL))
        return 0;
    const char *line = strstr(meminfo, "Hugepagesize:");
    if (!line)
        return 0;
    unsigned long long kib = 0;
    if (sscanf(line, "Hugepagesize: %llu kB", &kib) != 1)
        return 0;
    return kib * 1024;
}

static bool ram_range_is_free(uint64_t start, uint64_t size)
{
    for (GList *l = ram_blocks; l; l = l->next) {
        const RamBlock *b = l->data;
        if (start < b->offset + b->max_length && b->offset < start + size)
            return false;
    }
    return true;
}

/* First fit in the ram_addr space: the lowest of 0 and the (aligned) ends
 * of existing blocks where `size` bytes are free. */
static uint64_t find_ram_offset(uint64_t size)
{
    uint64_t best = UINT64_MAX;

    if (ram_range_is_free(0, size))
        return 0;
    for (GList *l = ram_blocks; l; l = l->next) {
        const RamBlock *b = l->data;
        uint64_t cand = align_up(b->offset + b->max_length, RAM_ADDR_ALIGN);
        if (cand < best && ram_range_is_free(cand, size))
            best = cand;
    }
    return best;
}

static int open_memfd(const char *idstr, const RamBackendSpec *spec, uint64_t *page_size,
                      GError **errp)
{
    unsigned flags = MFD_CLOEXEC;

    if (spec->hugetlb) {
        uint64_t huge = spec->hugetlbsize ? spec->hugetlbsize : default_huge_page_size();
        if (!huge || (huge & (huge - 1))) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "ram block '%s': cannot determine the huge page size", idstr);
            return -1;
        }
        flags |= MFD_HUGETLB;
        if (spec->hugetlbsize)
            flags |= (unsigned)__builtin_ctzll(huge) << MFD_HUGE_SHIFT;
        *page_size = huge;
    }
    g_autofree char *name = g_strdup_printf("ferry:%s", idstr);
    int fd = memfd_create(name, flags);
    if (fd < 0) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "ram block '%s': memfd_create failed: %s", idstr, g_strerror(errno));
    }
    return fd;
}

static int open_mem_path(const char *idstr, const char *mem_path, GError **errp)
{
    struct stat st;
    int fd;

    if (!mem_path) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "ram block '%s': the file backend needs a mem-path", idstr);
        return -1;
    }
    if (stat(mem_path, &st) == 0 && S_ISDIR(st.st_mode)) {
        /* A directory (e.g. a hugetlbfs mount): back the block with an
         * unlinked file there, so nothing is left behind on exit. */
        g_autofree char *tmpl = g_strdup_printf("%s/ferry-%s-XXXXXX", mem_path, idstr);
        for (char *p = tmpl + strlen(mem_path) + 1; *p; p++) {
            if (*p == '/')
                *p = '_';
        }
        fd = mkostemp(tmpl, O_CLOEXEC);
        if (fd >= 0)
            unlink(tmpl);
    } else {
        fd = open(mem_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    }
    if (fd < 0) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "ram block '%s': cannot open mem-path '%s': %s", idstr, mem_path,
                    g_strerror(errno));
    }
    return fd;
}

static uint64_t file_page_size(int fd)
{
    struct statfs fs;

    if (fstatfs(fd, &fs) == 0 && (uint32_t)fs.f_type == HUGETLBFS_MAGIC)
        return (uint64_t)fs.f_bsize;
    return (uint64_t)getpagesize();
}

static bool prealloc_memory(RamBlock *block, GError **errp)
{
    if (madvise(block->host, block->used_length, MADV_POPULATE_WRITE) == 0)
        return true;
    if (errno != EINVAL) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "ram block '%s': cannot preallocate 0x%" PRIx64 " bytes: %s", block->idstr,
                    block->used_length, g_strerror(errno));
        return false;
    }
    /* Kernels before 5.14 lack MADV_POPULATE_WRITE: touch every page. */
    for (uint64_t off = 0; off < block->used_length; off += block->page_size) {
        volatile uint8_t *p = block->host + off;
        *p = *p;
    }
    return true;
}

/* Guest RAM sits at a 2 MiB-aligned host address with transparent huge
 * pages allowed, so that KVM can map it with 2 MiB pages and a guest
 * touching fresh memory takes one fault per 2 MiB instead of 512 (several
 * microseconds each on nested KVM).  The alignment costs address space
 * only: a PROT_NONE reservation is trimmed to the aligned window. */
static void *map_guest_memory(uint64_t size, uint64_t used, int map_flags, int fd)
{
    uint64_t reserve = size + HUGE_PAGE_SIZE;
    uint8_t *base, *aligned;
    void *host;

    base = mmap(NULL, reserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED)
        return MAP_FAILED;
    aligned = (uint8_t *)align_up((uint64_t)(uintptr_t)base, HUGE_PAGE_SIZE);
    host = mmap(aligned, size, PROT_READ | PROT_WRITE, map_flags | MAP_NORESERVE | MAP_FIXED, fd,
                0);
    if (host == MAP_FAILED) {
        munmap(base, reserve);
        return MAP_FAILED;
    }
    if (aligned > base)
        munmap(base, aligned - base);
    if (base + reserve > aligned + size)
        munmap(aligned + size, base + reserve - (aligned + size));
    /* Advice only: without THP (or on hugetlbfs) memory works the same.
     * A block that starts small (a ROM blob: a few KiB in a 2 MiB
     * reservation) would pay a whole huge page of RSS for its first byte. */
    if (used >= HUGE_PAGE_SIZE)
        madvise(host, size, MADV_HUGEPAGE);
    return host;
}

RamBlock *ram_block_new(const char *idstr, uint64_t size, uint64_t max_size, RamBlockFlags flags,
                        const RamBackendSpec *backend, GError **errp)
{
    static const RamBackendSpec anon = { .kind = RAM_BACKEND_ANON };
    const RamBackendSpec *spec = backend ? backend : &anon;
    uint64_t page_size = (uint64_t)getpagesize();
    int fd = -1;
    int map_flags;

    if (!idstr || !*idstr) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "ram block: the name is empty");
        return NULL;
    }
    if (size == 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "ram block '%s': size is 0", idstr);
        return NULL;
    }
    if (!(flags & RAM_BLOCK_RESIZABLE))
        max_size = size;
    if (max_size < size) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "ram block '%s': max size 0x%" PRIx64 " is below size 0x%" PRIx64, idstr,
                    max_size, size);
        return NULL;
    }
    if (ram_block_find(idstr)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                    "ram block '%s' already exists; pick another id", idstr);
        return NULL;
    }

    switch (spec->kind) {
    case RAM_BACKEND_ANON:
        map_flags = MAP_PRIVATE | MAP_ANONYMOUS;
        break;
    case RAM_BACKEND_MEMFD:
        fd = open_memfd(idstr, spec, &page_size, errp);
        map_flags = MAP_SHARED;
        break;
    case RAM_BACKEND_FILE:
        fd = open_mem_path(idstr, spec->mem_path, errp);
        if (fd >= 0)
            page_size = file_page_size(fd);
        map_flags = spec->share ? MAP_SHARED : MAP_PRIVATE;
        break;
    default:
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "ram block '%s': unknown backend",
                    idstr);
        return NULL;
    }
    if (spec->kind != RAM_BACKEND_ANON && fd < 0)
        return NULL;

    if (size > UINT64_MAX - page_size || max_size > UINT64_MAX - page_size) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "ram block '%s': size too large",
                    idstr);
        goto fail_fd;
    }
    size = align_up(size, page_size);
    max_size = align_up(max_size, page_size);

    if (fd >= 0) {
        struct stat st;
        if (fstat(fd, &st) == 0 && (uint64_t)st.st_size < max_size &&
            ftruncate(fd, (off_t)max_size) != 0) {
            g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno),
                        "ram block '%s': cannot size the backing file to 0x%" PRIx64 ": %s",
                        idstr, max_size, g_strerror(errno));
            goto fail_fd;
        }
    }

    void *host = map_guest_memory(max_size, size, map_flags, fd);
    if (host == MAP_FAILED) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "ram block '%s': cannot map 0x%" PRIx64 " bytes: %s", idstr, max_size,
                    g_strerror(errno));
        goto fail_fd;
    }

    RamBlock *block = g_new0(RamBlock, 1);
    block->idstr = g_strdup(idstr);
    block->page_size = page_size;
    block->used_length = size;
    block->max_length = max_size;
    block->host = host;
    block->fd = fd;
    block->shared = map_flags & MAP_SHARED;
    block->backend = spec->kind;
    block->flags = flags;
    block->dirty = g_new0(uint64_t, dirty_words(max_size));

    if (spec->prealloc && !prealloc_memory(block, errp)) {
        munmap(host, max_size);
        g_free(block->dirty);
        g_free(block->idstr);
        g_free(block);
        goto fail_fd;
    }

    g_mutex_lock(&ram_blocks_lock);
    block->offset = find_ram_offset(max_size);
    ram_blocks = g_list_append(ram_blocks, block);
    g_mutex_unlock(&ram_blocks_lock);
    return block;

fail_fd:
    if (fd >= 0)
        close(fd);
    return NULL;
}

bool ram_block_resize(RamBlock *block, uint64_t new_size, GError **errp)
{
    uint64_t old_used = block->used_length;

    if (new_size > UINT64_MAX - block->page_size) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "ram block '%s': size 0x%" PRIx64 " exceeds max 0x%" PRIx64, block->idstr,
                    new_size, block->max_length);
        return false;
    }
    new_size = align_up(new_size, block->page_size);
    if (new_size == old_used)
        return true;
    if (!(block->flags & RAM_BLOCK_RESIZABLE)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "ram block '%s': not resizable (size 0x%" PRIx64 ")", block->idstr,
                    old_used);
        return false;
    }
    if (new_size == 0 || new_size > block->max_length) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "ram block '%s': size 0x%" PRIx64 " exceeds max 0x%" PRIx64, block->idstr,
                    new_size, block->max_length);
        return false;
    }
    block->used_length = new_size;
    if (block->resized)
        block->resized(block, old_used, block->resized_opaque);
    if (resize_observer)
        resize_observer(block, old_used, resize_observer_opaque);
    return true;
}

void ram_blocks_set_resize_observer(RamBlockResizedFn fn, void *opaque)
{
    resize_observer = fn;
    resize_observer_opaque = opaque;
}

void ram_block_set_resized_notifier(RamBlock *block, RamBlockResizedFn fn, void *opaque)
{
    block->resized = fn;
    block->resized_opaque = opaque;
}

void ram_block_free(RamBlock *block)
{
    if (!block)
        return;
    g_mutex_lock(&ram_blocks_lock);
    ram_blocks = g_list_remove(ram_blocks, block);
    g_mutex_unlock(&ram_blocks_lock);
    munmap(block->host, block->max_length);
    if (block->fd >= 0)
        close(block->fd);
    g_free(block->dirty);
    g_free(block->idstr);
    g_free(block);
}

RamBlock *ram_block_find(const char *idstr)
{
    RamBlock *found = NULL;

    g_mutex_lock(&ram_blocks_lock);
    for (GList *l = ram_blocks; l; l = l->next) {
        RamBlock *b = l->data;
        if (strcmp(b->idstr, idstr) == 0) {
            found = b;
            break;
        }
    }
    g_mutex_unlock(&ram_blocks_lock);
    return found;
}

GList *ram_block_list(void)
{
    return ram_blocks;
}

void ram_block_format(GString *out)
{
    g_string_append_printf(out, "%24s %8s %18s %18s %18s %18s %3s\n", "Block Name", "PSize",
                           "Offset", "Used", "Total", "HVA", "RO");
    g_mutex_lock(&ram_blocks_lock);
    for (GList *l = ram_blocks; l; l = l->next) {
        const RamBlock *b = l->data;
        g_autofree char *psize = ram_size_to_str(b->page_size);
        g_string_append_printf(out,
                               "%24s %8s 0x%016" PRIx64 " 0x%016" PRIx64 " 0x%016" PRIx64
                               " 0x%016" PRIx64 " %3s\n",
                               b->idstr, psize, b->offset, b->used_length, b->max_length,
                               (uint64_t)(uintptr_t)b->host,
                               (b->flags & RAM_BLOCK_READONLY) ? "ro" : "rw");
    }
    g_mutex_unlock(&ram_blocks_lock);
}

/* ---- dirty bitmap ------------------------------------------------------ */

static uint64_t dirty_max_pages(const RamBlock *block)
{
    return block->max_length >> RAM_DIRTY_PAGE_SHIFT;
}

uint64_t ram_block_dirty_pages(const RamBlock *block)
{
    return block->used_length >> RAM_DIRTY_PAGE_SHIFT;
}

/* Bits [from, to) of one word, 0 <= from < to <= 64. */
static uint64_t word_mask(unsigned from, unsigned to)
{
    uint64_t high = to == 64 ? UINT64_MAX : (1ull << to) - 1;
    return high & ~((1ull << from) - 1);
}

void ram_block_dirty_set_range(RamBlock *block, uint64_t first_page, uint64_t npages)
{
    uint64_t max = dirty_max_pages(block);

    if (!block->dirty || first_page >= max)
        return;
    uint64_t end = npages > max - first_page ? max : first_page + npages;
    for (uint64_t p = first_page; p < end;) {
        uint64_t w = p / 64;
        unsigned from = p % 64;
        unsigned to = end - w * 64 >= 64 ? 64 : (unsigned)(end - w * 64);
        __atomic_fetch_or(&block->dirty[w], word_mask(from, to), __ATOMIC_RELEASE);
        p = w * 64 + to;
    }
}

void ram_block_mark_dirty(RamBlock *block, uint64_t offset, uint64_t len)
{
    if (len == 0 || offset >= block->max_length)
        return;
    uint64_t last = len - 1 > block->max_length - 1 - offset ? block->max_length - 1
                                                              : offset + len - 1;
    uint64_t first_page = offset >> RAM_DIRTY_PAGE_SHIFT;
    ram_block_dirty_set_range(block, first_page, (last >> RAM_DIRTY_PAGE_SHIFT) - first_page + 1);
}

void ram_block_dirty_set_all(RamBlock *block)
{
    ram_block_dirty_set_range(block, 0, dirty_max_pages(block));
}

void ram_block_dirty_clear_all(RamBlock *block)
{
    if (!block->dirty)
        return;
    for (uint64_t w = 0; w < dirty_words(block->max_length); w++)
        __atomic_store_n(&block->dirty[w], 0, __ATOMIC_RELAXED);
}

bool ram_block_dirty_test(const RamBlock *block, uint64_t page)
{
    if (!block->dirty || page >= dirty_max_pages(block))
        return false;
    return (__atomic_load_n(&block->dirty[page / 64], __ATOMIC_RELAXED) >> (page % 64)) & 1;
}

bool ram_block_dirty_test_and_clear(RamBlock *block, uint64_t page)
{
    if (!block->dirty || page >= dirty_max_pages(block))
        return false;
    uint64_t bit = 1ull << (page % 64);
    return (__atomic_fetch_and(&block->dirty[page / 64], ~bit, __ATOMIC_ACQ_REL) & bit) != 0;
}

uint64_t ram_block_dirty_take(RamBlock *block, uint64_t first_page, uint64_t npages,
                             uint64_t *bits)
{
    uint64_t used = ram_block_dirty_pages(block);
    uint64_t taken = 0;

    g_return_val_if_fail(first_page % 64 == 0, 0);
    memset(bits, 0, (npages + 63) / 64 * sizeof(uint64_t));
    if (!block->dirty || first_page >= used)
        return 0;
    npages = MIN(npages, used - first_page);
    for (uint64_t w = 0; w * 64 < npages; w++) {
        uint64_t mask = npages - w * 64 >= 64 ? UINT64_MAX : word_mask(0, npages - w * 64);
        if (!(__atomic_load_n(&block->dirty[first_page / 64 + w], __ATOMIC_RELAXED) & mask))
            continue; /* most words are clear: skip the locked operation */
        /* Acquire: the page contents read after this are at least as new
         * as whatever set the bits. */
        bits[w] = __atomic_fetch_and(&block->dirty[first_page / 64 + w], ~mask,
                                     __ATOMIC_ACQ_REL) & mask;
        taken += (uint64_t)__builtin_popcountll(bits[w]);
    }
    return taken;
}

void ram_block_dirty_merge(RamBlock *block, uint64_t first_page, const uint64_t *bits,
                           uint64_t npages)
{
    uint64_t max = dirty_max_pages(block);

    if (!block->dirty || first_page >= max)
        return;
    if (npages > max - first_page)
        npages = max - first_page;
    unsigned shift = first_page % 64;
    uint64_t base = first_page / 64;
    for (uint64_t i = 0; i * 64 < npages; i++) {
        uint64_t w = bits[i];
        if (npages - i * 64 < 64)
            w &= word_mask(0, (unsigned)(npages - i * 64));
        if (!w)
            continue;
        /* Source word i lands on target words base+i and base+i+1. */
        __atomic_fetch_or(&block->dirty[base + i], w << shift, __ATOMIC_RELAXED);
        if (shift && (w >> (64 - shift)))
            __atomic_fetch_or(&block->dirty[base + i + 1], w >> (64 - shift), __ATOMIC_RELAXED);
    }
}

uint64_t ram_block_dirty_count(const RamBlock *block)
{
    uint64_t used = ram_block_dirty_pages(block), count = 0;

    if (!block->dirty)
        return 0;
    for (uint64_t w = 0; w * 64 < used; w++) {
        uint64_t bits = __atomic_load_n(&block->dirty[w], __ATOMIC_RELAXED);
        if (used - w * 64 < 64)
            bits &= word_mask(0, (unsigned)(used - w * 64));
        count += (uint64_t)__builtin_popcountll(bits);
    }
    return count;
}

uint64_t ram_block_dirty_find_next(const RamBlock *block, uint64_t page)
{
    uint64_t used = ram_block_dirty_pages(block);

    if (!block->dirty)
        return used;
    while (page < used) {
        uint64_t w = page / 64;
        uint64_t bits = __atomic_load_n(&block->dirty[w], __ATOMIC_RELAXED) &
                        word_mask(page % 64, 64);
        if (bits) {
            uint64_t found = w * 64 + (uint64_t)__builtin_ctzll(bits);
            return found < used ? found : used;
        }
        page = (w + 1) * 64;
    }
    return used;
}

void ram_blocks_dirty_set_all(void)
{
    g_mutex_lock(&ram_blocks_lock);
    for (GList *l = ram_blocks; l; l = l->next)
        ram_block_dirty_set_all(l->data);
    g_mutex_unlock(&ram_blocks_lock);
}
