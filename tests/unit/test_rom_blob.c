/* ROM blobs: fw_cfg files over resizable "/rom@" RAM blocks. */
#include <glib.h>
#include <string.h>
#include <unistd.h>

#include "firmware/fw_cfg.h"
#include "firmware/rom_blob.h"
#include "fixture.h"

#define RAM_SIZE (1u << 20)
#define DESC 0x1000u
#define BUF 0x2000u

typedef struct Rig {
    IoBus bus;
    GuestRam *ram;
    FwCfg *fw;
} Rig;

static void rig_init(Rig *r)
{
    io_bus_init(&r->bus);
    r->ram = guest_ram_new("pc.ram", RAM_SIZE, 0);
    r->fw = fw_cfg_new(r->bus.io, r->ram->as);
}

static void rig_destroy(Rig *r)
{
    fw_cfg_free(r->fw);
    guest_ram_free(r->ram);
    io_bus_destroy(&r->bus);
}

static void select_key(Rig *r, uint16_t key)
{
    g_assert_cmpint(address_space_write(r->bus.as, 0x510, &key, 2), ==, MEMTX_OK);
}

static uint8_t read_byte(Rig *r)
{
    uint8_t v;
    g_assert_cmpint(address_space_read(r->bus.as, 0x511, &v, 1), ==, MEMTX_OK);
    return v;
}

static uint32_t be32_at(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return GUINT32_FROM_BE(v);
}

/* The size the fw_cfg directory gives `name`, read through the ports. */
static uint32_t dir_size(Rig *r, const char *name)
{
    uint8_t head[4], entry[64];

    select_key(r, FW_CFG_FILE_DIR);
    for (int i = 0; i < 4; i++)
        head[i] = read_byte(r);
    for (uint32_t n = be32_at(head); n > 0; n--) {
        for (int i = 0; i < 64; i++)
            entry[i] = read_byte(r);
        if (strcmp((const char *)entry + 8, name) == 0)
            return be32_at(entry);
    }
    g_assert_not_reached();
}

static uint64_t page_up(uint64_t len)
{
    uint64_t page = (uint64_t)getpagesize();
    return (MAX(len, 1) + page - 1) / page * page;
}

/* The `info ramblock` line of a block. */
static char *ramblock_line(const char *name)
{
    g_autoptr(GString) out = g_string_new(NULL);
    g_auto(GStrv) lines = NULL;

    ram_block_format(out);
    lines = g_strsplit(out->str, "\n", -1);
    for (char **l = lines; *l; l++) {
        g_autofree char *stripped = g_strstrip(g_strdup(*l));
        if (g_str_has_prefix(stripped, name) && stripped[strlen(name)] == ' ')
            return g_strdup(*l);
    }
    return NULL;
}

static void test_block_and_lengths(void)
{
    Rig r;
    g_autoptr(GError) err = NULL;
    uint8_t data[5000];

    rig_init(&r);
    RomBlob *blob = rom_blob_new(r.fw, "etc/acpi/tables", ROM_BLOB_ACPI_TABLES_MAX, NULL, NULL,
                                 &err);
    g_assert_no_error(err);
    RamBlock *block = rom_blob_ram_block(blob);
    g_assert_true(ram_block_find("/rom@etc/acpi/tables") == block);
    g_assert_cmpuint(block->max_length, ==, 2u << 20);
    g_assert_true(block->flags & RAM_BLOCK_RESIZABLE);
    g_assert_true(block->flags & RAM_BLOCK_MIGRATABLE);
    g_assert_cmpuint(dir_size(&r, "etc/acpi/tables"), ==, 0);

    memset(data, 0xab, sizeof(data));
    g_assert_true(rom_blob_set_data(blob, data, sizeof(data), &err));
    g_assert_cmpuint(block->used_length, ==, page_up(sizeof(data)));
    g_assert_cmpuint(rom_blob_length(blob), ==, sizeof(data));
    /* The directory has the exact length, not the page-rounded one. */
    g_assert_cmpuint(dir_size(&r, "etc/acpi/tables"), ==, sizeof(data));

    g_autofree char *line = ramblock_line("/rom@etc/acpi/tables");
    g_assert_nonnull(line);
    g_autofree char *used = g_strdup_printf(" 0x%016" G_GINT64_MODIFIER "x 0x%016" G_GINT64_MODIFIER
                                            "x ",
                                            (guint64)page_up(sizeof(data)), (guint64)(2u << 20));
    g_assert_nonnull(strstr(line, used));
    g_assert_true(g_str_has_suffix(line, " ro"));

    rom_blob_free(blob);
    g_assert_null(ram_block_find("/rom@etc/acpi/tables"));
    rig_destroy(&r);
}

static void test_resize_within_max(void)
{
    Rig r;
    g_autoptr(GError) err = NULL;
    g_autofree uint8_t *big = g_malloc(40000);

    rig_init(&r);
    RomBlob *blob = rom_blob_new(r.fw, "etc/table-loader", ROM_BLOB_TABLE_LOADER_MAX, NULL, NULL,
                                 &err);
    g_assert_no_error(err);
    RamBlock *block = rom_blob_ram_block(blob);
    for (unsigned i = 0; i < 40000; i++)
        big[i] = (uint8_t)(i * 31 + 7);

    g_assert_true(rom_blob_set_data(blob, big, 40000, &err));
    g_assert_cmpuint(block->used_length, ==, page_up(40000));
    g_assert_cmpmem(rom_blob_data(blob), 40000, big, 40000);
    /* Shrink: the tail of the last page is zero, the directory follows. */
    g_assert_true(rom_blob_set_data(blob, "hello", 5, &err));
    g_assert_cmpuint(block->used_length, ==, page_up(5));
    g_assert_cmpmem(rom_blob_data(blob), 6, "hello\0", 6);
    for (uint64_t i = 5; i < block->used_length; i++)
        g_assert_cmpuint(block->host[i], ==, 0);
    g_assert_cmpuint(dir_size(&r, "etc/table-loader"), ==, 5);
    /* Exactly the max fits. */
    g_autofree uint8_t *max = g_malloc0(ROM_BLOB_TABLE_LOADER_MAX);
    g_assert_true(rom_blob_set_data(blob, max, ROM_BLOB_TABLE_LOADER_MAX, &err));
    g_assert_cmpuint(block->used_length, ==, ROM_BLOB_TABLE_LOADER_MAX);
    /* Empty: one page stays reserved as used, the file is empty. */
    g_assert_true(rom_blob_set_data(blob, NULL, 0, &err));
    g_assert_cmpuint(block->used_length, ==, page_up(1));
    g_assert_cmpuint(dir_size(&r, "etc/table-loader"), ==, 0);
    g_assert_no_error(err);
    rom_blob_free(blob);
    rig_destroy(&r);
}

static void test_over_max(void)
{
    Rig r;
    g_autoptr(GError) err = NULL;
    uint8_t rsdp[36];
    g_autofree uint8_t *big = g_malloc0(0x10000);

    rig_init(&r);
    RomBlob *blob = rom_blob_new(r.fw, "etc/acpi/rsdp", ROM_BLOB_RSDP_MAX, NULL, NULL, &err);
    g_assert_no_error(err);
    RamBlock *block = rom_blob_ram_block(blob);
    memcpy(rsdp, "RSD PTR ", 8);
    memset(rsdp + 8, 0x5a, sizeof(rsdp) - 8);
    g_assert_true(rom_blob_set_data(blob, rsdp, sizeof(rsdp), &err));

    g_assert_false(rom_blob_set_data(blob, big, 0x10000, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "Size too large"));
    g_assert_nonnull(strstr(err->message, "/rom@etc/acpi/rsdp"));
    g_assert_nonnull(strstr(err->message, "0x10000"));
    /* Nothing changed. */
    g_assert_cmpuint(block->used_length, ==, page_up(sizeof(rsdp)));
    g_assert_cmpuint(block->max_length, ==, page_up(ROM_BLOB_RSDP_MAX));
    g_assert_cmpuint(rom_blob_length(blob), ==, sizeof(rsdp));
    g_assert_cmpmem(rom_blob_data(blob), sizeof(rsdp), rsdp, sizeof(rsdp));
    g_assert_cmpuint(dir_size(&r, "etc/acpi/rsdp"), ==, sizeof(rsdp));
    rom_blob_free(blob);
    rig_destroy(&r);
}

static void test_duplicate_file(void)
{
    Rig r;
    g_autoptr(GError) err = NULL;

    rig_init(&r);
    RomBlob *blob = rom_blob_new(r.fw, "etc/acpi/rsdp", ROM_BLOB_RSDP_MAX, NULL, NULL, &err);
    g_assert_no_error(err);
    /* Same block name: refused by the RAM block layer, nothing left over. */
    g_assert_null(rom_blob_new(r.fw, "etc/acpi/rsdp", ROM_BLOB_RSDP_MAX, NULL, NULL, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    /* A file name fw_cfg refuses: the block goes away again. */
    char name[64];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    g_assert_null(rom_blob_new(r.fw, name, ROM_BLOB_RSDP_MAX, NULL, NULL, &err));
    g_assert_nonnull(err);
    g_autofree char *idstr = g_strconcat("/rom@", name, NULL);
    g_assert_null(ram_block_find(idstr));
    rom_blob_free(blob);
    rig_destroy(&r);
}

/* What the machine does: one rebuild callback on all three files that
 * regenerates every blob on the first select after a reset. */
typedef struct Acpi {
    RomBlob *tables, *loader, *rsdp;
    unsigned builds;
    bool patched; /* cleared by reset */
} Acpi;

static void acpi_rebuild(void *opaque)
{
    Acpi *acpi = opaque;
    g_autoptr(GError) err = NULL;

    if (acpi->patched)
        return;
    acpi->patched = true;
    acpi->builds++;
    /* Grows with every build, as tables can after a reconfiguration. */
    size_t len = 4096 * acpi->builds + 100;
    g_autofree uint8_t *tables = g_malloc(len);
    memset(tables, (int)acpi->builds, len);
    g_autofree char *loader = g_strdup_printf("loader build %u", acpi->builds);
    g_assert_true(rom_blob_set_data(acpi->tables, tables, len, &err));
    g_assert_true(rom_blob_set_data(acpi->loader, loader, strlen(loader) + 1, &err));
    g_assert_true(rom_blob_set_data(acpi->rsdp, "RSD PTR ", 8, &err));
    g_assert_no_error(err);
}

static void test_rebuild_on_select(void)
{
    Rig r;
    g_autoptr(GError) err = NULL;
    Acpi acpi = { 0 };

    rig_init(&r);
    acpi.tables = rom_blob_new(r.fw, "etc/acpi/tables", ROM_BLOB_ACPI_TABLES_MAX, acpi_rebuild,
                               &acpi, &err);
    acpi.loader = rom_blob_new(r.fw, "etc/table-loader", ROM_BLOB_TABLE_LOADER_MAX, acpi_rebuild,
                               &acpi, &err);
    acpi.rsdp = rom_blob_new(r.fw, "etc/acpi/rsdp", ROM_BLOB_RSDP_MAX, acpi_rebuild, &acpi, &err);
    g_assert_no_error(err);
    /* The first build, at machine set-up, outside any callback. */
    acpi_rebuild(&acpi);
    g_assert_cmpuint(acpi.builds, ==, 1);
    g_assert_cmpuint(dir_size(&r, "etc/acpi/tables"), ==, 4096 + 100);

    /* A reset clears `patched`; the firmware's first select rebuilds. */
    acpi.patched = false;
    fw_cfg_reset(r.fw);
    int loader_key = fw_cfg_file_key(r.fw, "etc/table-loader");
    g_assert_cmpint(loader_key, >=, 0x20);
    select_key(&r, (uint16_t)loader_key);
    g_assert_cmpuint(acpi.builds, ==, 2);
    char got[32] = { 0 };
    for (size_t i = 0; i < strlen("loader build 2"); i++)
        got[i] = (char)read_byte(&r);
    g_assert_cmpstr(got, ==, "loader build 2");
    /* The other blobs were rebuilt too, and the directory follows. */
    g_assert_cmpuint(dir_size(&r, "etc/acpi/tables"), ==, 2 * 4096 + 100);
    g_assert_cmpuint(rom_blob_ram_block(acpi.tables)->used_length, ==, page_up(2 * 4096 + 100));
    select_key(&r, (uint16_t)fw_cfg_file_key(r.fw, "etc/acpi/tables"));
    g_assert_cmpuint(acpi.builds, ==, 2); /* once per reset */

    /* Through DMA select too. */
    acpi.patched = false;
    uint8_t *ram = r.ram->block->host;
    uint32_t control = GUINT32_TO_BE(((uint32_t)fw_cfg_file_key(r.fw, "etc/acpi/tables") << 16) |
                                     0x08 | 0x02);
    uint32_t length = GUINT32_TO_BE(16);
    uint64_t address = GUINT64_TO_BE(BUF);
    memcpy(ram + DESC, &control, 4);
    memcpy(ram + DESC + 4, &length, 4);
    memcpy(ram + DESC + 8, &address, 8);
    uint32_t low = GUINT32_SWAP_LE_BE(DESC);
    g_assert_cmpint(address_space_write(r.bus.as, 0x518, &low, 4), ==, MEMTX_OK);
    g_assert_cmpuint(be32_at(ram + DESC), ==, 0);
    g_assert_cmpuint(acpi.builds, ==, 3);
    for (int i = 0; i < 16; i++)
        g_assert_cmpuint(ram[BUF + i], ==, 3);

    rom_blob_free(acpi.tables);
    rom_blob_free(acpi.loader);
    rom_blob_free(acpi.rsdp);
    rig_destroy(&r);
}

static void test_info_ramblock_three_blobs(void)
{
    Rig r;
    g_autoptr(GError) err = NULL;

    rig_init(&r);
    RomBlob *tables = rom_blob_new(r.fw, "etc/acpi/tables", ROM_BLOB_ACPI_TABLES_MAX, NULL, NULL,
                                   &err);
    RomBlob *loader = rom_blob_new(r.fw, "etc/table-loader", ROM_BLOB_TABLE_LOADER_MAX, NULL,
                                   NULL, &err);
    RomBlob *rsdp = rom_blob_new(r.fw, "etc/acpi/rsdp", ROM_BLOB_RSDP_MAX, NULL, NULL, &err);
    g_assert_no_error(err);
    g_autofree uint8_t *t = g_malloc0(0x20000);
    g_assert_true(rom_blob_set_data(tables, t, 0x20000, &err));
    g_assert_true(rom_blob_set_data(loader, t, 0x1000, &err));
    g_assert_true(rom_blob_set_data(rsdp, t, 36, &err));

    /* As QEMU's x86 4 KiB host shows them (seed notes). */
    static const struct {
        const char *name;
        uint64_t used, total;
    } want[] = {
        { "/rom@etc/acpi/tables", 0x20000, 0x200000 },
        { "/rom@etc/table-loader", 0x1000, 0x10000 },
        { "/rom@etc/acpi/rsdp", 0x1000, 0x1000 },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(want); i++) {
        g_autofree char *line = ramblock_line(want[i].name);
        g_assert_nonnull(line);
        g_autofree char *cols = g_strdup_printf(" 0x%016" G_GINT64_MODIFIER "x 0x%016" G_GINT64_MODIFIER
                                                "x ",
                                                (guint64)page_up(want[i].used),
                                                (guint64)page_up(want[i].total));
        g_assert_nonnull(strstr(line, cols));
        g_assert_true(g_str_has_suffix(line, " ro"));
    }
    rom_blob_free(tables);
    rom_blob_free(loader);
    rom_blob_free(rsdp);
    rig_destroy(&r);
}

static void test_free_empties_file(void)
{
    Rig r;
    g_autoptr(GError) err = NULL;

    rig_init(&r);
    RomBlob *blob = rom_blob_new(r.fw, "etc/acpi/rsdp", ROM_BLOB_RSDP_MAX, NULL, NULL, &err);
    g_assert_true(rom_blob_set_data(blob, "RSD PTR ", 8, &err));
    rom_blob_free(blob);
    /* The file stays (keys do not move) but no longer points at the block. */
    g_assert_cmpuint(dir_size(&r, "etc/acpi/rsdp"), ==, 0);
    select_key(&r, (uint16_t)fw_cfg_file_key(r.fw, "etc/acpi/rsdp"));
    g_assert_cmpuint(read_byte(&r), ==, 0);
    rig_destroy(&r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/rom_blob/block_and_lengths", test_block_and_lengths);
    g_test_add_func("/rom_blob/resize_within_max", test_resize_within_max);
    g_test_add_func("/rom_blob/over_max", test_over_max);
    g_test_add_func("/rom_blob/duplicate_or_bad_name", test_duplicate_file);
    g_test_add_func("/rom_blob/rebuild_on_select", test_rebuild_on_select);
    g_test_add_func("/rom_blob/info_ramblock", test_info_ramblock_three_blobs);
    g_test_add_func("/rom_blob/free_empties_file", test_free_empties_file);
    return g_test_run();
}
