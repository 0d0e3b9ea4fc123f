/* RAM blocks: names, sizes, resizing, backends, `info ramblock`. */
#include <glib.h>
#include <glib/gstdio.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem/ram_block.h"
#include "mem/ram_populated.h"

#define KiB (1024ull)
#define MiB (1024ull * KiB)

static void test_size_to_str(void)
{
    static const struct {
        uint64_t size;
        const char *text;
    } cases[] = {
        { 512, "512 B" },
        { 4 * KiB, "4 KiB" },
        { 2 * MiB, "2 MiB" },
        { 1024 * MiB, "1 GiB" },
        { 1536 * MiB, "1.5 GiB" },
        { 1000, "0.977 KiB" },
        { 0, "0 B" },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *text = ram_size_to_str(cases[i].size);
        g_assert_cmpstr(text, ==, cases[i].text);
    }
}

static void test_new_and_duplicate(void)
{
    GError *err = NULL;
    RamBlock *a = ram_block_new("dup", 10000, 0, 0, NULL, &err);

    g_assert_no_error(err);
    g_assert_nonnull(a);
    g_assert_cmpuint(a->page_size, ==, (uint64_t)getpagesize());
    g_assert_cmpuint(a->used_length % a->page_size, ==, 0);
    g_assert_cmpuint(a->used_length, >=, 10000);
    g_assert_cmpuint(a->max_length, ==, a->used_length);
    g_assert_cmpint(a->fd, ==, -1);
    a->host[a->used_length - 1] = 1; /* mapped and writable */
    g_assert_true(ram_block_find("dup") == a);

    RamBlock *b = ram_block_new("dup", 4096, 0, 0, NULL, &err);
    g_assert_null(b);
    g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_EXIST);
    g_assert_nonnull(strstr(err->message, "'dup'"));
    g_clear_error(&err);

    g_assert_null(ram_block_new("zero", 0, 0, 0, NULL, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    g_assert_null(ram_block_new("small-max", 8192, 4096, RAM_BLOCK_RESIZABLE, NULL, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);

    ram_block_free(a);
    g_assert_null(ram_block_find("dup"));
}

static void test_offsets_first_fit(void)
{
    GError *err = NULL;
    RamBlock *a = ram_block_new("fit.a", 1 * MiB, 0, 0, NULL, &err);
    RamBlock *b = ram_block_new("fit.b", 1 * MiB, 0, 0, NULL, &err);
    g_assert_no_error(err);

    /* Non-overlapping in the ram_addr space. */
    g_assert_true(a->offset + a->max_length <= b->offset || b->offset + b->max_length <= a->offset);
    uint64_t a_offset = a->offset;

    /* A freed hole is reused by the next block that fits in it. */
    ram_block_free(a);
    RamBlock *c = ram_block_new("fit.c", 512 * KiB, 0, 0, NULL, &err);
    g_assert_no_error(err);
    g_assert_cmphex(c->offset, ==, a_offset);

    /* List order is creation order. */
    GList *l = g_list_find(ram_block_list(), b);
    g_assert_nonnull(l);
    g_assert_true(g_list_find(l, c) != NULL);

    ram_block_free(b);
    ram_block_free(c);
}

typedef struct ResizeSeen {
    unsigned calls;
    uint64_t old_used;
    uint64_t new_used;
} ResizeSeen;

static void on_resized(RamBlock *block, uint64_t old_used, void *opaque)
{
    ResizeSeen *seen = opaque;
    seen->calls++;
    seen->old_used = old_used;
    seen->new_used = block->used_length;
}

static void test_resize(void)
{
    GError *err = NULL;
    ResizeSeen seen = { 0 };
    RamBlock *blk = ram_block_new("resizable", 1 * MiB, 4 * MiB, RAM_BLOCK_RESIZABLE, NULL, &err);

    g_assert_no_error(err);
    g_assert_cmphex(blk->max_length, ==, 4 * MiB);
    ram_block_set_resized_notifier(blk, on_resized, &seen);

    uint8_t *host = blk->host;
    g_assert_true(ram_block_resize(blk, 3 * MiB, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(seen.calls, ==, 1);
    g_assert_cmphex(seen.old_used, ==, 1 * MiB);
    g_assert_cmphex(seen.new_used, ==, 3 * MiB);
    g_assert_true(blk->host == host); /* grows in place */
    blk->host[3 * MiB - 1] = 7;

    /* Same size: nothing happens. */
    g_assert_true(ram_block_resize(blk, 3 * MiB, &err));
    g_assert_cmpuint(seen.calls, ==, 1);

    g_assert_false(ram_block_resize(blk, 4 * MiB + 1, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "ram block 'resizable'"));
    g_assert_nonnull(strstr(err->message, "exceeds max 0x400000"));
    g_clear_error(&err);
    g_assert_cmphex(blk->used_length, ==, 3 * MiB);
    g_assert_cmpuint(seen.calls, ==, 1);

    ram_block_free(blk);

    /* A fixed-size block refuses to change. */
    RamBlock *fixed = ram_block_new("fixed", 1 * MiB, 0, 0, NULL, &err);
    g_assert_false(ram_block_resize(fixed, 2 * MiB, &err));
    g_assert_nonnull(strstr(err->message, "'fixed'"));
    g_clear_error(&err);
    ram_block_free(fixed);
}

static void test_memfd_shared(void)
{
    GError *err = NULL;
    RamBackendSpec spec = { .kind = RAM_BACKEND_MEMFD };
    RamBlock *blk = ram_block_new("memfd.ram", 64 * KiB, 0, 0, &spec, &err);

    g_assert_no_error(err);
    g_assert_cmpint(blk->fd, >=, 0);
    g_assert_cmpint(blk->backend, ==, RAM_BACKEND_MEMFD);
    memcpy(blk->host + 0x1000, "ferry", 5);

    char buf[5];
    g_assert_cmpint(pread(blk->fd, buf, 5, 0x1000), ==, 5);
    g_assert_cmpmem(buf, 5, "ferry", 5);
    ram_block_free(blk);
}

static void test_file_backend(void)
{
    GError *err = NULL;
    g_autofree char *dir = g_dir_make_tmp("ferry-ramblock-XXXXXX", &err);
    g_assert_no_error(err);

    /* A directory: an unlinked file inside it, shared with the fd. */
    RamBackendSpec spec = { .kind = RAM_BACKEND_FILE, .mem_path = dir, .share = true };
    RamBlock *blk = ram_block_new("file.dir", 64 * KiB, 0, 0, &spec, &err);
    g_assert_no_error(err);
    g_assert_cmpint(blk->fd, >=, 0);
    struct stat st;
    g_assert_cmpint(fstat(blk->fd, &st), ==, 0);
    g_assert_cmpint(st.st_nlink, ==, 0); /* unlinked */
    g_assert_cmpint(st.st_size, ==, 64 * KiB);
    blk->host[0x10] = 0x77;
    uint8_t byte = 0;
    g_assert_cmpint(pread(blk->fd, &byte, 1, 0x10), ==, 1);
    g_assert_cmphex(byte, ==, 0x77);
    ram_block_free(blk);

    /* A named file: created and extended; private mapping keeps the file
     * as it was. */
    g_autofree char *path = g_build_filename(dir, "guest.ram", NULL);
    spec.mem_path = path;
    spec.share = false;
    spec.prealloc = true;
    blk = ram_block_new("file.path", 128 * KiB, 0, 0, &spec, &err);
    g_assert_no_error(err);
    g_assert_cmpint(stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_size, ==, 128 * KiB);
    blk->host[0] = 0x55;
    byte = 0xff;
    g_assert_cmpint(pread(blk->fd, &byte, 1, 0), ==, 1);
    g_assert_cmphex(byte, ==, 0);
    ram_block_free(blk);
    g_assert_cmpint(g_unlink(path), ==, 0);

    /* A directory that is not there. */
    g_autofree char *missing = g_build_filename(dir, "no", "such", NULL);
    spec.mem_path = missing;
    g_assert_null(ram_block_new("file.missing", 4096, 0, 0, &spec, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "file.missing"));
    g_clear_error(&err);

    g_assert_cmpint(g_rmdir(dir), ==, 0);
}

/* Which pages exist, per backend.  Blocks stay under 2 MiB, so that no
 * transparent huge page turns one write into 512 present pages. */
static void test_populated(void)
{
    GError *err = NULL;
    uint64_t bits[5];
    RamBackendSpec memfd = { .kind = RAM_BACKEND_MEMFD };
    RamBlock *anon = ram_block_new("pop.anon", 1 * MiB, 0, 0, NULL, &err);
    RamBlock *shared = ram_block_new("pop.memfd", 1 * MiB, 0, 0, &memfd, &err);
    g_assert_no_error(err);

    for (unsigned i = 0; i < 2; i++) {
        RamBlock *blk = i ? shared : anon;
        ram_block_populated(blk, 0, 256, bits);
        for (unsigned w = 0; w < 4; w++)
            g_assert_cmphex(bits[w], ==, 0); /* nothing written yet */
        blk->host[3 * 4096] = 1;
        blk->host[130 * 4096 + 4095] = 1;
        (void)*(volatile uint8_t *)(blk->host + 200 * 4096); /* a read */
        ram_block_populated(blk, 0, 256, bits);
        g_assert_cmphex(bits[0], ==, 1ull << 3);
        g_assert_cmphex(bits[2], ==, 1ull << 2);
        /* A window that does not start at page 0, and stops at the end. */
        bits[4] = UINT64_MAX;
        ram_block_populated(blk, 128, 300, bits);
        g_assert_cmphex(bits[0], ==, 1ull << 2);
        g_assert_cmphex(bits[4], ==, 0);
    }
    /* A page that was only read exists too (anonymous memory maps the
     * zero page, shmem allocates one): too large an answer, never wrong. */
    for (unsigned i = 0; i < 2; i++) {
        ram_block_populated(i ? shared : anon, 192, 64, bits);
        g_assert_cmphex(bits[0], ==, 1ull << 8);
    }
    ram_block_free(anon);
    ram_block_free(shared);

    /* A private file mapping cannot say: everything counts. */
    g_autofree char *dir = g_dir_make_tmp("ferry-populated-XXXXXX", &err);
    g_assert_no_error(err);
    RamBackendSpec file = { .kind = RAM_BACKEND_FILE, .mem_path = dir };
    RamBlock *priv = ram_block_new("pop.file", 256 * KiB, 0, 0, &file, &err);
    g_assert_no_error(err);
    ram_block_populated(priv, 0, 64, bits);
    g_assert_cmphex(bits[0], ==, UINT64_MAX);
    ram_block_free(priv);
    g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static void test_format(void)
{
    GError *err = NULL;
    RamBackendSpec spec = { .kind = RAM_BACKEND_MEMFD };
    RamBlock *blk = ram_block_new("fmt.ram", 1 * MiB, 2 * MiB, RAM_BLOCK_RESIZABLE | RAM_BLOCK_READONLY,
                                  &spec, &err);
    g_assert_no_error(err);

    g_autoptr(GString) out = g_string_new(NULL);
    ram_block_format(out);
    g_assert_true(g_str_has_prefix(out->str, "              Block Name    PSize             Offset"
                                             "               Used              Total"
                                             "                HVA  RO\n"));
    g_autofree char *row = g_strdup_printf("                 fmt.ram    4 KiB 0x%016" PRIx64
                                           " 0x0000000000100000 0x0000000000200000 0x%016" PRIx64
                                           "  ro\n",
                                           blk->offset, (uint64_t)(uintptr_t)blk->host);
    g_assert_nonnull(strstr(out->str, row));
    ram_block_free(blk);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ram-block/size-to-str", test_size_to_str);
    g_test_add_func("/ram-block/new-and-duplicate", test_new_and_duplicate);
    g_test_add_func("/ram-block/offsets-first-fit", test_offsets_first_fit);
    g_test_add_func("/ram-block/resize", test_resize);
    g_test_add_func("/ram-block/memfd-shared", test_memfd_shared);
    g_test_add_func("/ram-block/file-backend", test_file_backend);
    g_test_add_func("/ram-block/populated", test_populated);
    g_test_add_func("/ram-block/format", test_format);
    return g_test_run();
}
