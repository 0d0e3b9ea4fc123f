/* The migration stream: round trips (whole stream, machine DTB), RAM
 * block matching with QEMU's error texts, the device-state registry, and
 * hostile input (every truncation, byte flips, huge lengths, bad indexes).
 *
 * RAM block names are process-wide and unique, so a test writes a stream
 * from source blocks, frees them, and loads it into fresh blocks of the
 * same names, as a destination process would. */
#include <glib.h>
#include <glib/gstdio.h>
#include <inttypes.h>
#include <libfdt.h>
#include <string.h>
#include <unistd.h>

#include "hw/memory_backend.h"
#include "mem/ram_populated.h"
#include "migration/crc32c.h"
#include "migration/machine_fdt.h"
#include "migration/ram_blocks.h"
#include "migration/stream.h"
#include "migration/vmstate.h"

#define KiB (1024ull)
#define MiB (1024ull * KiB)
#define PAGE MIGRATION_PAGE_SIZE

/* ---- Helpers ---- */

static RamBlock *new_block(const char *name, uint64_t size, uint64_t max, RamBlockFlags flags)
{
    GError *err = NULL;
    RamBlock *block = ram_block_new(name, size, max, flags, NULL, &err);

    g_assert_no_error(err);
    g_assert_nonnull(block);
    return block;
}

/* Every third page zero, the rest a pattern that differs per page. */
static void fill_pattern(RamBlock *block, uint8_t seed)
{
    for (uint64_t page = 0; page < block->used_length / PAGE; page++) {
        uint8_t *p = block->host + page * PAGE;
        if (page % 3 == 0) {
            memset(p, 0, PAGE);
            continue;
        }
        for (unsigned i = 0; i < PAGE; i++)
            p[i] = (uint8_t)(seed + page * 7 + i * 13 + (i >> 8));
    }
}

static MachineDescription *test_machine(void)
{
    MachineDescription *desc = machine_description_new();

    desc->cpus = 2;
    desc->ram_size = 4ull << 30;
    desc->ram_below_4g = 3ull << 30;
    desc->ram_above_4g = 1ull << 30;
    desc->maxmem = 8ull << 30;
    desc->slots = 4;
    desc->hotplug_base = 5ull << 30;
    desc->hotplug_size = (4ull << 30) + 4 * (1ull << 30);
    MachineBackendDesc ram = { .id = "mem1", .kind = MEMORY_BACKEND_RAM, .size = 128 * MiB,
                               .page_size = 4096, .share = true };
    MachineBackendDesc file = { .id = "mem2", .kind = MEMORY_BACKEND_FILE, .size = 256 * MiB,
                                .page_size = 2 * MiB, .prealloc = true,
                                .mem_path = "/dev/hugepages" };
    MachineBackendDesc spare = { .id = "mem3", .kind = MEMORY_BACKEND_MEMFD, .size = 2 * MiB,
                                 .page_size = 2 * MiB };
    machine_description_add_backend(desc, &ram);
    machine_description_add_backend(desc, &file);
    machine_description_add_backend(desc, &spare);
    MachineDimmDesc d1 = { .id = "dimm1", .slot = 0, .addr = 5ull << 30, .size = 128 * MiB,
                           .node = 0, .memdev = "mem1" };
    MachineDimmDesc d2 = { .id = "dimm2", .slot = 3, .addr = 6ull << 30, .size = 256 * MiB,
                           .node = 1, .memdev = "mem2" };
    machine_description_add_dimm(desc, &d1);
    machine_description_add_dimm(desc, &d2);
    return desc;
}

static void assert_machines_equal(const MachineDescription *a, const MachineDescription *b)
{
    g_assert_cmpuint(a->cpus, ==, b->cpus);
    g_assert_cmpuint(a->ram_size, ==, b->ram_size);
    g_assert_cmpuint(a->ram_below_4g, ==, b->ram_below_4g);
    g_assert_cmpuint(a->ram_above_4g, ==, b->ram_above_4g);
    g_assert_cmpuint(a->maxmem, ==, b->maxmem);
    g_assert_cmpuint(a->slots, ==, b->slots);
    g_assert_cmpuint(a->hotplug_base, ==, b->hotplug_base);
    g_assert_cmpuint(a->hotplug_size, ==, b->hotplug_size);
    g_assert_cmpuint(a->backends->len, ==, b->backends->len);
    for (unsigned i = 0; i < a->backends->len; i++) {
        const MachineBackendDesc *x = g_ptr_array_index(a->backends, i);
        const MachineBackendDesc *y = g_ptr_array_index(b->backends, i);
        g_assert_cmpstr(x->id, ==, y->id);
        g_assert_cmpint(x->kind, ==, y->kind);
        g_assert_cmpuint(x->size, ==, y->size);
        g_assert_cmpuint(x->page_size, ==, y->page_size);
        g_assert_cmpint(x->share, ==, y->share);
        g_assert_cmpint(x->prealloc, ==, y->prealloc);
        g_assert_cmpstr(x->mem_path, ==, y->mem_path);
    }
    g_assert_cmpuint(a->dimms->len, ==, b->dimms->len);
    for (unsigned i = 0; i < a->dimms->len; i++) {
        const MachineDimmDesc *x = g_ptr_array_index(a->dimms, i);
        const MachineDimmDesc *y = g_ptr_array_index(b->dimms, i);
        g_assert_cmpstr(x->id, ==, y->id);
        g_assert_cmpuint(x->slot, ==, y->slot);
        g_assert_cmpuint(x->addr, ==, y->addr);
        g_assert_cmpuint(x->size, ==, y->size);
        g_assert_cmpuint(x->node, ==, y->node);
        g_assert_cmpstr(x->memdev, ==, y->memdev);
    }
}

/* A device whose state is a byte string; load() keeps what it got. */
typedef struct FakeDevice {
    GByteArray *state; /* what save() writes */
    GByteArray *loaded; /* what load() received */
    uint32_t loaded_version;
    unsigned loads;
} FakeDevice;

static void fake_save(void *opaque, GByteArray *out)
{
    FakeDevice *dev = opaque;
    g_byte_array_append(out, dev->state->data, dev->state->len);
}

static bool fake_load(void *opaque, const uint8_t *data, size_t len, uint32_t version,
                      GError **errp)
{
    FakeDevice *dev = opaque;

    dev->loads++;
    dev->loaded_version = version;
    g_byte_array_set_size(dev->loaded, 0);
    g_byte_array_append(dev->loaded, data, (guint)len);
    return true;
}

static void fake_device_init(FakeDevice *dev, const char *text)
{
    memset(dev, 0, sizeof(*dev));
    dev->state = g_byte_array_new();
    dev->loaded = g_byte_array_new();
    g_byte_array_append(dev->state, (const uint8_t *)text, (guint)strlen(text));
}

static void fake_device_clear(FakeDevice *dev)
{
    g_byte_array_unref(dev->state);
    g_byte_array_unref(dev->loaded);
}

static void register_fake(VmStateRegistry *registry, const char *name, uint32_t version,
                          FakeDevice *dev)
{
    GError *err = NULL;
    VmStateHandler h = {
        .name = name, .version = version, .save = fake_save, .load = fake_load, .opaque = dev
    };
    g_assert_true(vmstate_register(registry, &h, &err));
    g_assert_no_error(err);
}

static bool load_buffer(const uint8_t *data, size_t len, VmStateRegistry *registry,
                        GError **errp)
{
    MigrationBufferSource src = { .data = data, .len = len };
    g_autoptr(MigrationReader) reader =
        migration_reader_new(migration_buffer_source_read, &src, registry);
    return migration_reader_load(reader, errp);
}

/* ---- CRC32C ---- */

static void test_crc32c(void)
{
    static const char check[] = "123456789";
    uint8_t big[1000];

    /* The standard check value of CRC-32C. */
    g_assert_cmphex(crc32c_update(0, check, 9), ==, 0xe3069283);
    g_assert_cmphex(crc32c_update(crc32c_update(0, check, 4), check + 4, 5), ==, 0xe3069283);
    for (unsigned i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    uint32_t whole = crc32c_update(0, big, sizeof(big));
    g_assert_cmphex(crc32c_update_portable(0, check, 9), ==, 0xe3069283);
    for (unsigned len = 0; len < 40; len++)
        g_assert_cmphex(crc32c_update_portable(7, big + 1, len), ==,
                        crc32c_update(7, big + 1, len));
    g_assert_cmphex(crc32c_update_portable(0, big, sizeof(big)), ==, whole);
    for (unsigned split = 0; split <= sizeof(big); split += 37)
        g_assert_cmphex(crc32c_update(crc32c_update(0, big, split), big + split,
                                      sizeof(big) - split),
                        ==, whole);
}

/* ---- Machine DTB ---- */

static void test_fdt_round_trip(void)
{
    g_autoptr(MachineDescription) desc = test_machine();
    GError *err = NULL;

    g_autoptr(GBytes) dtb = machine_fdt_build(desc, &err);
    g_assert_no_error(err);
    gsize len;
    const uint8_t *data = g_bytes_get_data(dtb, &len);
    g_assert_cmpint(fdt_check_full(data, len), ==, 0);
    g_assert_cmpuint(fdt_totalsize(data), ==, len);
    g_assert_cmpint(fdt_path_offset(data, "/hotplug/dimm@3"), >=, 0);
    g_assert_cmpint(fdt_path_offset(data, "/backends/backend@mem2"), >=, 0);

    g_autoptr(MachineDescription) parsed = machine_fdt_parse(data, len, &err);
    g_assert_no_error(err);
    assert_machines_equal(desc, parsed);

    /* --info machine-fdt FILE writes the same bytes. */
    g_autofree char *dir = g_dir_make_tmp("ferry-mig-XXXXXX", &err);
    g_assert_no_error(err);
    g_autofree char *path = g_build_filename(dir, "machine.dtb", NULL);
    g_assert_true(machine_fdt_write_file(desc, path, &err));
    g_assert_no_error(err);
    g_autofree char *file = NULL;
    gsize file_len;
    g_assert_true(g_file_get_contents(path, &file, &file_len, NULL));
    g_assert_cmpmem(file, file_len, data, len);
    g_unlink(path);
    g_rmdir(dir);

    /* Without hotplug. */
    g_autoptr(MachineDescription) plain = machine_description_new();
    plain->cpus = 1;
    plain->ram_size = plain->ram_below_4g = plain->maxmem = 256 * MiB;
    g_autoptr(GBytes) plain_dtb = machine_fdt_build(plain, &err);
    g_assert_no_error(err);
    data = g_bytes_get_data(plain_dtb, &len);
    g_autoptr(MachineDescription) plain_parsed = machine_fdt_parse(data, len, &err);
    g_assert_no_error(err);
    assert_machines_equal(plain, plain_parsed);
}

/* Each semantic check names what is wrong. */
static void test_fdt_refuses_bad_values(void)
{
    static const struct {
        const char *what;
        const char *message;
    } cases[] = {
        { "slot", "slot 4 is out of range (slots=4)" },
        { "memdev", "memdev 'nope' is not among the backends" },
        { "window", "outside the hotplug window" },
        { "ram", "!= ram-size" },
        { "cpus", "0 vCPUs" },
        { "dup-slot", "share slot 0" },
        { "mem-path", "mem-path goes with memory-backend-file" },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(MachineDescription) desc = test_machine();
        MachineDimmDesc *d2 = g_ptr_array_index(desc->dimms, 1);
        MachineBackendDesc *b1 = g_ptr_array_index(desc->backends, 0);
        const char *what = cases[i].what;
        if (!strcmp(what, "slot"))
            d2->slot = 4;
        else if (!strcmp(what, "memdev")) {
            g_free(d2->memdev);
            d2->memdev = g_strdup("nope");
        } else if (!strcmp(what, "window"))
            d2->addr = desc->hotplug_base + desc->hotplug_size - MiB;
        else if (!strcmp(what, "ram"))
            desc->ram_above_4g++;
        else if (!strcmp(what, "cpus"))
            desc->cpus = 0;
        else if (!strcmp(what, "dup-slot"))
            d2->slot = 0;
        else if (!strcmp(what, "mem-path"))
            b1->mem_path = g_strdup("/tmp");

        GError *err = NULL;
        g_autoptr(GBytes) dtb = machine_fdt_build(desc, &err);
        g_assert_no_error(err);
        gsize len;
        const void *data = g_bytes_get_data(dtb, &len);
        g_assert_null(machine_fdt_parse(data, len, &err));
        g_assert_error(err, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_INVALID);
        if (!strstr(err->message, cases[i].message))
            g_error("%s: got \"%s\", want \"%s\"", what, err->message, cases[i].message);
        g_assert_true(g_str_has_prefix(err->message, "machine config: "));
        g_clear_error(&err);
    }
}

/* Any byte of a DTB flipped, or any prefix: an error or a valid
 * description, never a crash or an out-of-bounds read (ASan). */
static void test_fdt_hostile(void)
{
    g_autoptr(MachineDescription) desc = test_machine();
    g_autoptr(GBytes) dtb = machine_fdt_build(desc, NULL);
    gsize len;
    const uint8_t *data = g_bytes_get_data(dtb, &len);
    g_autofree uint8_t *copy = g_malloc(len);
    unsigned refused = 0;

    for (gsize cut = 0; cut < len; cut++) {
        GError *err = NULL;
        g_assert_null(machine_fdt_parse(data, cut, &err));
        g_assert_nonnull(err);
        g_clear_error(&err);
    }
    for (gsize pos = 0; pos < len; pos++) {
        static const uint8_t masks[] = { 0x01, 0x80, 0xff };
        for (unsigned m = 0; m < G_N_ELEMENTS(masks); m++) {
            memcpy(copy, data, len);
            copy[pos] ^= masks[m];
            GError *err = NULL;
            MachineDescription *parsed = machine_fdt_parse(copy, len, &err);
            g_assert_true((parsed == NULL) == (err != NULL));
            refused += parsed == NULL;
            machine_description_free(parsed);
            g_clear_error(&err);
        }
    }
    /* Most flips break the structure; a few only change a value. */
    g_assert_cmpuint(refused, >, len);
}

/* The source describes its live backends and recreates them from that. */
static void test_fdt_live_backends(void)
{
    GError *err = NULL;
    MemoryBackendConfig cfg = { .kind = MEMORY_BACKEND_RAM, .id = "migbe1", .size = 2 * MiB,
                                .share = true };
    MemoryBackend *backend = memory_backend_new(&cfg, &err);
    g_assert_no_error(err);

    g_autoptr(MachineDescription) desc = machine_description_new();
    machine_description_add_live_backends(desc);
    machine_description_add_live_dimms(desc, NULL);
    g_assert_cmpuint(desc->backends->len, ==, 1);
    const MachineBackendDesc *b = g_ptr_array_index(desc->backends, 0);
    g_assert_cmpstr(b->id, ==, "migbe1");
    g_assert_cmpuint(b->size, ==, 2 * MiB);
    g_assert_true(b->share);
    g_assert_null(b->mem_path);

    MemoryBackendConfig again;
    machine_backend_desc_to_config(b, &again);
    g_assert_cmpint(again.kind, ==, cfg.kind);
    g_assert_cmpstr(again.id, ==, cfg.id);
    g_assert_cmpuint(again.size, ==, cfg.size);
    g_assert_true(again.share);
    g_assert_false(again.hugetlb);
    memory_backend_free(backend);
}

/* ---- RAM block matching ---- */

static bool match_one(const char *name, uint64_t used, GError **errp)
{
    MigrationBlockInfo info = { .name = (char *)name, .used_length = used, .max_length = used,
                                .page_size = PAGE };
    RamBlock *matched = NULL;

    return migration_ram_blocks_match(&info, 1, &matched, errp);
}

static void test_block_matching(void)
{
    RamBlock *ram = new_block("match.ram", 512 * KiB, 0, RAM_BLOCK_MIGRATABLE);
    RamBlock *rom = new_block("/rom@etc/acpi/tables", 8 * KiB, 64 * KiB,
                              RAM_BLOCK_MIGRATABLE | RAM_BLOCK_RESIZABLE | RAM_BLOCK_READONLY);
    RamBlock *vram = new_block("match.nomigrate", 64 * KiB, 0, 0);
    GError *err = NULL;

    g_assert_false(match_one("hp_mem0", 1 * MiB, &err));
    g_assert_error(err, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_MISMATCH);
    g_assert_cmpstr(err->message, ==, "Unknown ramblock \"hp_mem0\", cannot accept migration");
    g_clear_error(&err);

    g_assert_false(match_one("match.ram", 1 * MiB, &err));
    g_assert_cmpstr(err->message, ==, "Size mismatch: match.ram: 0x100000 != 0x80000");
    g_clear_error(&err);

    g_assert_false(match_one("/rom@etc/acpi/tables", 128 * KiB, &err));
    g_assert_cmpstr(err->message, ==, "Size too large: /rom@etc/acpi/tables: 0x20000 > 0x10000");
    g_clear_error(&err);
    g_assert_cmpuint(rom->used_length, ==, 8 * KiB);

    /* A block the destination does not migrate cannot take pages. */
    g_assert_false(match_one("match.nomigrate", 64 * KiB, &err));
    g_assert_nonnull(strstr(err->message, "not migratable"));
    g_clear_error(&err);

    /* A ROM blob follows the source's used length, up or down. */
    g_assert_true(match_one("/rom@etc/acpi/tables", 32 * KiB, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(rom->used_length, ==, 32 * KiB);
    g_assert_true(match_one("/rom@etc/acpi/tables", 4 * KiB, &err));
    g_assert_cmpuint(rom->used_length, ==, 4 * KiB);

    /* All or nothing: the ROM is not resized when a later block fails. */
    MigrationBlockInfo two[] = {
        { .name = "/rom@etc/acpi/tables", .used_length = 16 * KiB, .max_length = 64 * KiB,
          .page_size = PAGE },
        { .name = "match.ram", .used_length = 4 * KiB, .max_length = 4 * KiB, .page_size = PAGE },
    };
    RamBlock *matched[2] = { 0 };
    g_assert_false(migration_ram_blocks_match(two, 2, matched, &err));
    g_assert_true(g_str_has_prefix(err->message, "Size mismatch: match.ram"));
    g_clear_error(&err);
    g_assert_cmpuint(rom->used_length, ==, 4 * KiB);

    /* The source lists migratable blocks only, in creation order. */
    g_autoptr(GPtrArray) listed = migration_ram_blocks_collect();
    bool saw_ram = false, saw_rom = false;
    for (unsigned i = 0; i < listed->len; i++) {
        RamBlock *b = g_ptr_array_index(listed, i);
        g_assert_true(b != vram);
        saw_ram |= b == ram;
        saw_rom |= b == rom;
    }
    g_assert_true(saw_ram && saw_rom);

    ram_block_free(ram);
    ram_block_free(rom);
    ram_block_free(vram);
}

/* ---- Device-state registry ---- */

static void test_vmstate_registry(void)
{
    g_autoptr(VmStateRegistry) registry = vmstate_registry_new();
    FakeDevice dev;
    GError *err = NULL;

    fake_device_init(&dev, "x");
    register_fake(registry, "serial", 2, &dev);
    VmStateHandler dup = { .name = "serial", .version = 1, .save = fake_save, .load = fake_load };
    g_assert_false(vmstate_register(registry, &dup, &err));
    g_assert_nonnull(strstr(err->message, "already registered"));
    g_clear_error(&err);
    VmStateHandler v0 = { .name = "rtc", .version = 0, .save = fake_save, .load = fake_load };
    g_assert_false(vmstate_register(registry, &v0, &err));
    g_clear_error(&err);
    g_autofree char *long_name = g_strnfill(VMSTATE_NAME_MAX + 1, 'a');
    VmStateHandler longer = { .name = long_name, .version = 1, .save = fake_save,
                              .load = fake_load };
    g_assert_false(vmstate_register(registry, &longer, &err));
    g_clear_error(&err);

    g_assert_cmpuint(vmstate_count(registry), ==, 1);
    g_assert_nonnull(vmstate_find(registry, "serial"));
    g_assert_null(vmstate_find(registry, "rtc"));
    g_assert_true(vmstate_unregister(registry, "serial"));
    g_assert_false(vmstate_unregister(registry, "serial"));
    g_assert_cmpuint(vmstate_count(registry), ==, 0);
    fake_device_clear(&dev);
}

/* ---- Whole stream ---- */

typedef struct HookProbe {
    const MachineDescription *expected;
    unsigned calls;
    unsigned blocks_at_call; /* matching has not happened yet */
} HookProbe;

static bool probe_machine(void *opaque, const MachineDescription *desc, GError **errp)
{
    HookProbe *probe = opaque;

    probe->calls++;
    assert_machines_equal(probe->expected, desc);
    return true;
}

/* A sink that checks that page data is sent from guest memory, not a copy. */
typedef struct IovProbe {
    GByteArray *out;
    const RamBlock *block;
    unsigned in_block_iovs;
    size_t longest_in_block;
} IovProbe;

static bool probe_write(void *opaque, const struct iovec *iov, int iovcnt, GError **errp)
{
    IovProbe *probe = opaque;

    for (int i = 0; i < iovcnt; i++) {
        const uint8_t *base = iov[i].iov_base;
        if (base >= probe->block->host && base < probe->block->host + probe->block->used_length) {
            g_assert_true(base + iov[i].iov_len <= probe->block->host + probe->block->used_length);
            probe->in_block_iovs++;
            probe->longest_in_block = MAX(probe->longest_in_block, iov[i].iov_len);
        }
    }
    return migration_byte_array_write(probe->out, iov, iovcnt, errp);
}

static void test_stream_round_trip(void)
{
    g_autoptr(MachineDescription) machine = test_machine();
    g_autoptr(GByteArray) stream = g_byte_array_new();
    FakeDevice src_a, src_b, dst_a, dst_b;
    GError *err = NULL;

    fake_device_init(&src_a, "serial: lcr=0x03 ier=0x01");
    fake_device_init(&src_b, "");
    fake_device_init(&dst_a, "");
    fake_device_init(&dst_b, "");

    /* Source: guest RAM, a ROM blob the source grew, a block that is not
     * migrated. */
    RamBlock *ram = new_block("rt.ram", 1 * MiB, 0, RAM_BLOCK_MIGRATABLE);
    RamBlock *rom = new_block("rt.rom", 16 * KiB, 64 * KiB,
                              RAM_BLOCK_MIGRATABLE | RAM_BLOCK_RESIZABLE | RAM_BLOCK_READONLY);
    RamBlock *scratch = new_block("rt.scratch", 64 * KiB, 0, 0);
    fill_pattern(ram, 1);
    fill_pattern(rom, 2);
    memset(scratch->host, 0x5a, scratch->used_length);

    g_autoptr(VmStateRegistry) src_registry = vmstate_registry_new();
    register_fake(src_registry, "serial", 2, &src_a);
    register_fake(src_registry, "empty", 1, &src_b);

    /* Only the migratable blocks travel (earlier tests freed theirs). */
    g_autoptr(GPtrArray) blocks = migration_ram_blocks_collect();
    g_assert_cmpuint(blocks->len, ==, 2);
    g_assert_true(g_ptr_array_index(blocks, 0) == ram);
    g_assert_true(g_ptr_array_index(blocks, 1) == rom);

    IovProbe probe = { .out = stream, .block = ram };
    g_autoptr(MigrationWriter) writer = migration_writer_new(probe_write, &probe);
    g_assert_true(migration_writer_put_header(writer, &err));
    g_assert_true(migration_writer_put_machine(writer, machine, &err));
    g_assert_true(migration_writer_put_ram_blocks(writer, blocks, &err));
    g_assert_no_error(err);

    /* Round 0 while "vCPUs run": every page, data outside the checksum. */
    g_assert_true(migration_writer_set_page_checksum(writer, false, &err));
    for (unsigned b = 0; b < blocks->len; b++) {
        const RamBlock *block = g_ptr_array_index(blocks, b);
        for (uint64_t off = 0; off < block->used_length; off += PAGE)
            g_assert_true(migration_writer_add_page(writer, b, off, &err));
    }
    g_assert_true(migration_writer_flush_pages(writer, &err));
    g_assert_no_error(err);

    /* The guest dirties pages; the final round (paused) resends them. */
    memset(ram->host + 5 * PAGE, 0xee, PAGE);
    memset(ram->host + 7 * PAGE, 0, PAGE);
    rom->host[3] ^= 0xff;
    g_assert_true(migration_writer_set_page_checksum(writer, true, &err));
    g_assert_true(migration_writer_add_page(writer, 0, 5 * PAGE, &err));
    g_assert_true(migration_writer_add_page(writer, 0, 7 * PAGE, &err));
    g_assert_true(migration_writer_add_page(writer, 1, 0, &err));
    g_assert_true(migration_writer_put_device_states(writer, src_registry, &err));
    g_assert_true(migration_writer_put_end(writer, &err));
    g_assert_no_error(err);

    /* Page data went out as iovecs into guest memory, neighbours merged. */
    g_assert_cmpuint(probe.in_block_iovs, >, 0);
    g_assert_cmpuint(probe.longest_in_block, ==, 2 * PAGE);
    const MigrationWriterStats *ws = migration_writer_stats(writer);
    g_assert_cmpuint(ws->bytes, ==, stream->len);
    uint64_t total_pages = (ram->used_length + rom->used_length) / PAGE + 3;
    g_assert_cmpuint(ws->normal_pages + ws->zero_pages, ==, total_pages);
    g_assert_cmpuint(ws->zero_pages, >=, total_pages / 3);

    /* Every byte that should arrive, then the source goes away. */
    g_autofree uint8_t *want_ram = g_memdup2(ram->host, ram->used_length);
    g_autofree uint8_t *want_rom = g_memdup2(rom->host, rom->used_length);
    ram_block_free(ram);
    ram_block_free(rom);
    ram_block_free(scratch);

    /* Destination: fresh blocks of the same names, full of junk so that
     * zero pages must really be cleared; its ROM blob starts smaller. */
    RamBlock *dst_ram = new_block("rt.ram", 1 * MiB, 0, RAM_BLOCK_MIGRATABLE);
    RamBlock *dst_rom = new_block("rt.rom", 4 * KiB, 64 * KiB,
                                  RAM_BLOCK_MIGRATABLE | RAM_BLOCK_RESIZABLE | RAM_BLOCK_READONLY);
    RamBlock *dst_scratch = new_block("rt.scratch", 128 * KiB, 0, 0);
    memset(dst_ram->host, 0xa5, dst_ram->used_length);
    memset(dst_rom->host, 0xa5, dst_rom->max_length);
    g_autoptr(VmStateRegistry) dst_registry = vmstate_registry_new();
    register_fake(dst_registry, "serial", 3, &dst_a); /* newer: loads version 2 */
    register_fake(dst_registry, "empty", 1, &dst_b);

    MigrationBufferSource src = { .data = stream->data, .len = stream->len };
    g_autoptr(MigrationReader) reader =
        migration_reader_new(migration_buffer_source_read, &src, dst_registry);
    HookProbe hook = { .expected = machine };
    migration_reader_set_machine_hook(reader, probe_machine, &hook);

    g_assert_cmpint(migration_reader_next(reader, &err), ==, MIGRATION_RECORD_MACHINE);
    g_assert_no_error(err);
    g_assert_cmpuint(hook.calls, ==, 1);
    g_assert_nonnull(migration_reader_machine(reader));
    g_assert_cmpint(migration_reader_next(reader, &err), ==, MIGRATION_RECORD_RAM_BLOCKS);
    g_assert_true(migration_reader_block(reader, 0) == dst_ram);
    g_assert_true(migration_reader_block(reader, 1) == dst_rom);
    g_assert_cmpuint(dst_rom->used_length, ==, 16 * KiB); /* resized to the source's */
    g_assert_true(migration_reader_load(reader, &err));
    g_assert_no_error(err);
    g_assert_cmpint(src.pos, ==, stream->len);

    g_assert_cmpmem(dst_ram->host, dst_ram->used_length, want_ram, 1 * MiB);
    g_assert_cmpmem(dst_rom->host, dst_rom->used_length, want_rom, 16 * KiB);
    for (uint64_t i = 0; i < dst_scratch->used_length; i++)
        g_assert_cmpuint(dst_scratch->host[i], ==, 0); /* untouched */
    g_assert_cmpuint(dst_a.loads, ==, 1);
    g_assert_cmpuint(dst_a.loaded_version, ==, 2);
    g_assert_cmpmem(dst_a.loaded->data, dst_a.loaded->len, src_a.state->data, src_a.state->len);
    g_assert_cmpuint(dst_b.loads, ==, 1);
    g_assert_cmpuint(dst_b.loaded->len, ==, 0);
    const MigrationReaderStats *rs = migration_reader_stats(reader);
    g_assert_cmpuint(rs->bytes, ==, stream->len);
    g_assert_cmpuint(rs->normal_pages, ==, ws->normal_pages);
    g_assert_cmpuint(rs->zero_pages, ==, ws->zero_pages);

    /* A finished reader reads no more. */
    g_assert_cmpint(migration_reader_next(reader, &err), ==, MIGRATION_RECORD_NONE);
    g_clear_error(&err);

    ram_block_free(dst_ram);
    ram_block_free(dst_rom);
    ram_block_free(dst_scratch);
    fake_device_clear(&src_a);
    fake_device_clear(&src_b);
    fake_device_clear(&dst_a);
    fake_device_clear(&dst_b);
}

/* A writer into `stream` that has sent the header, `machine` and `blocks`. */
static MigrationWriter *writer_at_pages(GByteArray *stream, const MachineDescription *machine,
                                        GPtrArray *blocks)
{
    MigrationWriter *writer = migration_writer_new(migration_byte_array_write, stream);
    GError *err = NULL;

    g_assert_true(migration_writer_put_header(writer, &err));
    g_assert_true(migration_writer_put_machine(writer, machine, &err));
    g_assert_true(migration_writer_put_ram_blocks(writer, blocks, &err));
    g_assert_no_error(err);
    return writer;
}

/* How many records of `type` a stream holds. */
static unsigned count_records(const GByteArray *stream, uint32_t type)
{
    unsigned n = 0;

    for (size_t pos = MIGRATION_HEADER_SIZE; pos + MIGRATION_RECORD_HEADER_SIZE <= stream->len;) {
        uint32_t t, len;
        memcpy(&t, stream->data + pos, 4);
        memcpy(&len, stream->data + pos + 4, 4);
        n += GUINT32_FROM_LE(t) == type;
        pos += MIGRATION_RECORD_HEADER_SIZE + GUINT32_FROM_LE(len);
    }
    return n;
}

/* Runs of zero pages travel as ZEROS records, merged while they continue
 * each other; the destination clears only the pages it has, and leaves
 * the rest unallocated. */
static void test_stream_zeros(void)
{
    g_autoptr(MachineDescription) machine = machine_description_new();
    g_autoptr(GByteArray) stream = g_byte_array_new();
    uint64_t bits[4];
    GError *err = NULL;

    machine->cpus = 1;
    machine->ram_size = machine->ram_below_4g = machine->maxmem = 1 * MiB;
    RamBlock *ram = new_block("z.ram", 1 * MiB, 0, RAM_BLOCK_MIGRATABLE);
    memset(ram->host + 10 * PAGE, 0x33, 10 * PAGE);
    g_autoptr(GPtrArray) blocks = g_ptr_array_new();
    g_ptr_array_add(blocks, ram);

    g_autoptr(MigrationWriter) writer = writer_at_pages(stream, machine, blocks);
    g_assert_true(migration_writer_add_zero_pages(writer, 0, 0, 5 * PAGE, &err));
    g_assert_true(migration_writer_add_zero_pages(writer, 0, 5 * PAGE, 5 * PAGE, &err));
    for (unsigned i = 10; i < 20; i++)
        g_assert_true(migration_writer_add_page(writer, 0, i * PAGE, &err));
    g_assert_true(migration_writer_add_zero_pages(writer, 0, 20 * PAGE, 236 * PAGE, &err));
    g_assert_false(migration_writer_add_zero_pages(writer, 0, 255 * PAGE, 2 * PAGE, &err));
    g_assert_error(err, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_INVALID);
    g_clear_error(&err);
    g_assert_true(migration_writer_put_end(writer, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(count_records(stream, MIGRATION_RECORD_ZEROS), ==, 2);
    g_assert_cmpuint(migration_writer_stats(writer)->zero_pages, ==, 246);
    ram_block_free(ram);

    /* The destination has junk in pages 2 and 100 and has read page 150. */
    RamBlock *dst = new_block("z.ram", 1 * MiB, 0, RAM_BLOCK_MIGRATABLE);
    dst->host[2 * PAGE] = 0xaa;
    dst->host[100 * PAGE + 7] = 0xbb;
    (void)*(volatile uint8_t *)(dst->host + 150 * PAGE);
    g_assert_true(load_buffer(stream->data, stream->len, NULL, &err));
    g_assert_no_error(err);
    ram_block_populated(dst, 0, 256, bits);
    g_assert_cmphex(bits[0], ==, 0xffc04); /* 2, 10..19 */
    g_assert_cmphex(bits[1], ==, 1ull << (100 - 64));
    g_assert_cmphex(bits[2], ==, 1ull << (150 - 128));
    g_assert_cmphex(bits[3], ==, 0);
    for (uint64_t i = 0; i < dst->used_length; i++) /* (reading maps every page) */
        g_assert_cmphex(dst->host[i], ==, i >= 10 * PAGE && i < 20 * PAGE ? 0x33 : 0);
    ram_block_free(dst);
}

/* ---- Hostile input ---- */

/* A small complete stream of one 4-page block "h.ram" (pages: data, zero,
 * data, data) and one device section "dev" version 1. */
static GByteArray *small_stream(void)
{
    g_autoptr(MachineDescription) machine = machine_description_new();
    GByteArray *stream = g_byte_array_new();
    FakeDevice dev;
    GError *err = NULL;

    machine->cpus = 1;
    machine->ram_size = machine->ram_below_4g = machine->maxmem = 16 * KiB;
    fake_device_init(&dev, "state!");
    g_autoptr(VmStateRegistry) registry = vmstate_registry_new();
    register_fake(registry, "dev", 1, &dev);

    RamBlock *ram = new_block("h.ram", 4 * PAGE, 0, RAM_BLOCK_MIGRATABLE);
    memset(ram->host, 0x11, PAGE);
    memset(ram->host + 2 * PAGE, 0x22, 2 * PAGE);
    g_autoptr(GPtrArray) blocks = g_ptr_array_new();
    g_ptr_array_add(blocks, ram);

    g_autoptr(MigrationWriter) writer = writer_at_pages(stream, machine, blocks);
    for (unsigned i = 0; i < 4; i++)
        g_assert_true(migration_writer_add_page(writer, 0, i * PAGE, &err));
    g_assert_true(migration_writer_put_device_states(writer, registry, &err));
    g_assert_true(migration_writer_put_end(writer, &err));
    g_assert_no_error(err);

    ram_block_free(ram);
    fake_device_clear(&dev);
    return stream;
}

/* The destination side of small_stream(). */
typedef struct SmallDest {
    RamBlock *ram;
    VmStateRegistry *registry;
    FakeDevice dev;
} SmallDest;

static void small_dest_init(SmallDest *d)
{
    d->ram = new_block("h.ram", 4 * PAGE, 0, RAM_BLOCK_MIGRATABLE);
    d->registry = vmstate_registry_new();
    fake_device_init(&d->dev, "");
    register_fake(d->registry, "dev", 1, &d->dev);
}

static void small_dest_clear(SmallDest *d)
{
    ram_block_free(d->ram);
    vmstate_registry_free(d->registry);
    fake_device_clear(&d->dev);
}

static void test_small_stream_loads(void)
{
    g_autoptr(GByteArray) stream = small_stream();
    SmallDest d;
    GError *err = NULL;

    small_dest_init(&d);
    g_assert_true(load_buffer(stream->data, stream->len, d.registry, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(d.ram->host[0], ==, 0x11);
    g_assert_cmpuint(d.ram->host[PAGE], ==, 0);
    g_assert_cmpuint(d.ram->host[4 * PAGE - 1], ==, 0x22);
    g_assert_cmpuint(d.dev.loads, ==, 1);
    small_dest_clear(&d);
}

/* Every prefix of a valid stream fails cleanly and loads no device. */
static void test_truncation_everywhere(void)
{
    g_autoptr(GByteArray) stream = small_stream();
    SmallDest d;

    small_dest_init(&d);
    for (guint cut = 0; cut < stream->len; cut++) {
        GError *err = NULL;
        g_assert_false(load_buffer(stream->data, cut, d.registry, &err));
        g_assert_error(err, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_TRUNCATED);
        g_assert_true(g_str_has_prefix(err->message, "stream: truncated inside "));
        g_assert_null(strchr(err->message, '\n'));
        g_clear_error(&err);
    }
    g_assert_cmpuint(d.dev.loads, ==, 0);
    small_dest_clear(&d);
}

/* Every byte flipped three ways: always refused (by validation or, for
 * page data and values that parse, by the checksum), never loaded. */
static void test_byte_flips(void)
{
    g_autoptr(GByteArray) stream = small_stream();
    g_autofree uint8_t *copy = g_malloc(stream->len);
    unsigned by_checksum = 0;
    SmallDest d;

    small_dest_init(&d);
    for (guint pos = 0; pos < stream->len; pos++) {
        static const uint8_t masks[] = { 0x01, 0x80, 0xff };
        for (unsigned m = 0; m < G_N_ELEMENTS(masks); m++) {
            GError *err = NULL;
            memcpy(copy, stream->data, stream->len);
            copy[pos] ^= masks[m];
            if (load_buffer(copy, stream->len, d.registry, &err))
                g_error("a flip of 0x%02x at byte %u was accepted", masks[m], pos);
            g_assert_nonnull(err);
            g_assert_null(strchr(err->message, '\n'));
            by_checksum += g_error_matches(err, MIGRATION_STREAM_ERROR,
                                           MIGRATION_STREAM_ERROR_CHECKSUM);
            g_clear_error(&err);
        }
    }
    /* The three pages of data alone are 3 * 4096 * 3 flips. */
    g_assert_cmpuint(by_checksum, >=, 3 * PAGE * 3);
    g_assert_cmpuint(d.dev.loads, ==, 0);
    small_dest_clear(&d);
}

/* Many random multi-byte corruptions: never a crash, a leak or a read out
 * of bounds (the point under ASan); any outcome but success is fine. */
static void test_random_corruption(void)
{
    g_autoptr(GByteArray) stream = small_stream();
    g_autofree uint8_t *copy = g_malloc(stream->len);
    GRand *rand = g_rand_new_with_seed(0xfe77);
    SmallDest d;

    small_dest_init(&d);
    for (unsigned round = 0; round < 3000; round++) {
        GError *err = NULL;
        memcpy(copy, stream->data, stream->len);
        unsigned flips = g_rand_int_range(rand, 1, 9);
        for (unsigned f = 0; f < flips; f++) {
            guint pos = g_rand_int_range(rand, 0, (gint32)stream->len);
            copy[pos] = (uint8_t)g_rand_int(rand);
        }
        guint len = g_rand_boolean(rand) ? stream->len
                                          : (guint)g_rand_int_range(rand, 0, (gint32)stream->len);
        if (load_buffer(copy, len, d.registry, &err))
            g_assert_cmpmem(copy, len, stream->data, stream->len); /* only if nothing changed */
        else
            g_assert_nonnull(err);
        g_clear_error(&err);
    }
    g_rand_free(rand);
    small_dest_clear(&d);
}

/* The valid start of small_stream(): header, MACHINE, RAM_BLOCKS. */
static GByteArray *stream_prefix(void)
{
    g_autoptr(GByteArray) whole = small_stream();
    /* The first PAGES record follows the RAM_BLOCKS record: walk records. */
    size_t pos = MIGRATION_HEADER_SIZE;
    for (int record = 0; record < 2; record++) {
        uint32_t len;
        memcpy(&len, whole->data + pos + 4, 4);
        pos += MIGRATION_RECORD_HEADER_SIZE + GUINT32_FROM_LE(len);
    }
    GByteArray *prefix = g_byte_array_new();
    g_byte_array_append(prefix, whole->data, (guint)pos);
    return prefix;
}

static void put32(GByteArray *out, uint32_t v)
{
    v = GUINT32_TO_LE(v);
    g_byte_array_append(out, (const uint8_t *)&v, 4);
}

static void put64(GByteArray *out, uint64_t v)
{
    v = GUINT64_TO_LE(v);
    g_byte_array_append(out, (const uint8_t *)&v, 8);
}

static void put_pages_head(GByteArray *out, uint32_t length, uint32_t block, uint32_t count,
                           uint32_t flags)
{
    put32(out, MIGRATION_RECORD_PAGES);
    put32(out, length);
    put32(out, block);
    put32(out, count);
    put32(out, flags);
}

static void put_device_state(GByteArray *out, const char *name, uint16_t name_len,
                             uint32_t version, uint32_t data_len, uint32_t record_len)
{
    put32(out, MIGRATION_RECORD_DEVICE_STATE);
    put32(out, record_len);
    uint16_t n = GUINT16_TO_LE(name_len);
    g_byte_array_append(out, (const uint8_t *)&n, 2);
    g_byte_array_append(out, (const uint8_t *)name, strlen(name) + 1);
    put32(out, version);
    put32(out, data_len);
}

/* A ZEROS record with `record_len` in its header; the 20-byte payload as given. */
static void put_zeros(GByteArray *out, uint32_t record_len, uint32_t block, uint64_t offset,
                      uint64_t length)
{
    put32(out, MIGRATION_RECORD_ZEROS);
    put32(out, record_len);
    put32(out, block);
    put64(out, offset);
    put64(out, length);
}

/* Hand-made records after a valid prefix, each with the error it must
 * give.  Nothing is allocated from the hostile lengths (ASan's
 * allocation-size-too-big would say so). */
static void test_hostile_records(void)
{
    g_autoptr(GByteArray) prefix = stream_prefix(); /* before h.ram exists here */
    SmallDest d;
    small_dest_init(&d);

    for (unsigned c = 0;; c++) {
        g_autoptr(GByteArray) s = g_byte_array_new();
        g_byte_array_append(s, prefix->data, prefix->len);
        const char *want = NULL;

        switch (c) {
        case 0:
            put_pages_head(s, 0xfffffff0u, 0, 1, 0);
            want = "stream: PAGES record of 4294967280 bytes is not in";
            break;
        case 1:
            put_pages_head(s, 12 + 16 + PAGE, 3, 1, 0);
            want = "stream: page record for block 3, but the stream listed 1 blocks";
            break;
        case 2:
            put_pages_head(s, 12 + 16 + PAGE, 0, 0xffffffffu, 0);
            want = "stream: page batch of 4294967295 pages is not in 1..128";
            break;
        case 3:
            put_pages_head(s, 12 + 16 + PAGE, 0, 0, 0);
            want = "stream: page batch of 0 pages";
            break;
        case 4:
            put_pages_head(s, 12 + 16 + PAGE, 0, 1, 0);
            put64(s, 4 * PAGE);
            put32(s, MIGRATION_PAGE_NORMAL);
            put32(s, 0);
            want = "stream: page record for block 0 (\"h.ram\") at offset 0x4000 beyond its used "
                   "length 0x4000";
            break;
        case 5:
            put_pages_head(s, 12 + 16 + PAGE, 0, 1, 0);
            put64(s, UINT64_MAX - PAGE + 1);
            put32(s, MIGRATION_PAGE_NORMAL);
            put32(s, 0);
            want = "beyond its used length 0x4000";
            break;
        case 6:
            put_pages_head(s, 12 + 16 + PAGE, 0, 1, 0);
            put64(s, 0x800);
            put32(s, MIGRATION_PAGE_NORMAL);
            put32(s, 0);
            want = "at offset 0x800 is not page-aligned";
            break;
        case 7:
            put_pages_head(s, 12 + 16, 0, 1, 0);
            put64(s, 0);
            put32(s, MIGRATION_PAGE_NORMAL | MIGRATION_PAGE_ZERO);
            put32(s, 0);
            want = "has flags 0x3";
            break;
        case 8: /* a NORMAL page whose data the record length leaves out */
            put_pages_head(s, 12 + 16, 0, 1, 0);
            put64(s, 0);
            put32(s, MIGRATION_PAGE_NORMAL);
            put32(s, 0);
            want = "stream: PAGES record of 28 bytes, but its 1 entries (1 with data) make 4124";
            break;
        case 9:
            put_pages_head(s, 12 + 16, 0, 2, 0);
            want = "cannot hold 2 entries";
            break;
        case 10:
            put_pages_head(s, 12 + 16, 0, 1, 0x80);
            want = "page batch has unknown flags 0x80";
            break;
        case 11:
            put32(s, 99);
            put32(s, 0);
            want = "stream: unknown record type 99";
            break;
        case 12:
            put32(s, MIGRATION_RECORD_MACHINE);
            put32(s, 0);
            want = "stream: unexpected MACHINE record where PAGES, ZEROS, DEVICE_STATE or END "
                   "belongs";
            break;
        case 13:
            put32(s, MIGRATION_RECORD_DEVICE_STATE);
            put32(s, 0xffffffffu);
            want = "DEVICE_STATE record of 4294967295 bytes exceeds the limit";
            break;
        case 14: /* the name's length runs past the record */
            put_device_state(s, "dev", 0xffff, 1, 0, 2 + 4 + 8);
            want = "device state name of 65535 bytes runs past its record";
            break;
        case 15: /* no NUL where the length says the name ends */
            put_device_state(s, "devX", 4, 1, 1, 2 + 5 + 8);
            want = "device state name is not NUL-terminated";
            break;
        case 16:
            put_device_state(s, "nosuch", 7, 1, 0, 2 + 7 + 8);
            want = "stream: device state 'nosuch' is unknown here";
            break;
        case 17:
            put_device_state(s, "dev", 4, 2, 0, 2 + 4 + 8);
            want = "stream: device state 'dev' has version 2, this ferry loads 1..1";
            break;
        case 18:
            put_device_state(s, "dev", 4, 1, 0x7fffffff, 2 + 4 + 8);
            want = "device state 'dev' says 2147483647 bytes, its record holds 0";
            break;
        case 19:
            put_device_state(s, "dev", 4, 1, 0, 2 + 4 + 8);
            put32(s, MIGRATION_RECORD_PAGES);
            put32(s, 12);
            want = "unexpected PAGES record where DEVICE_STATE or END belongs";
            break;
        case 20:
            put32(s, MIGRATION_RECORD_END);
            put32(s, 8);
            want = "stream: END record of 8 bytes, not 4";
            break;
        case 21:
            put_device_state(s, "dev", 4, 1, 0, 2 + 4 + 8);
            put_device_state(s, "dev", 4, 1, 0, 2 + 4 + 8);
            want = "device state 'dev' appears twice";
            break;
        case 22: /* a well-formed end whose checksum is wrong */
            put32(s, MIGRATION_RECORD_END);
            put32(s, 4);
            put32(s, 0);
            want = "stream: bad checksum";
            break;
        case 23:
            put_zeros(s, 8, 0, 0, PAGE);
            want = "stream: ZEROS record of 8 bytes (want 20)";
            break;
        case 24:
            put_zeros(s, MIGRATION_ZEROS_SIZE, 3, 0, PAGE);
            want = "stream: ZEROS record for block 3, but the stream listed 1 blocks";
            break;
        case 25:
            put_zeros(s, MIGRATION_ZEROS_SIZE, 0, 0x800, PAGE);
            want = "ZEROS record for block 0 (\"h.ram\") at 0x800+0x1000 is unaligned, empty";
            break;
        case 26:
            put_zeros(s, MIGRATION_ZEROS_SIZE, 0, 0, 0);
            want = "at 0x0+0x0 is unaligned, empty";
            break;
        case 27: /* offset + length wraps around */
            put_zeros(s, MIGRATION_ZEROS_SIZE, 0, PAGE, UINT64_MAX - PAGE + 1);
            want = "beyond its used length 0x4000";
            break;
        case 28:
            put_zeros(s, MIGRATION_ZEROS_SIZE, 0, 3 * PAGE, 2 * PAGE);
            want = "beyond its used length 0x4000";
            break;
        case 29:
            put_device_state(s, "dev", 4, 1, 0, 2 + 4 + 8);
            put_zeros(s, MIGRATION_ZEROS_SIZE, 0, 0, PAGE);
            want = "unexpected ZEROS record where DEVICE_STATE or END belongs";
            break;
        default:
            small_dest_clear(&d);
            return;
        }
        GError *err = NULL;
        g_assert_false(load_buffer(s->data, s->len, d.registry, &err));
        g_assert_nonnull(err);
        if (!strstr(err->message, want))
            g_error("case %u: got \"%s\", want \"%s\"", c, err->message, want);
        g_clear_error(&err);
        g_assert_cmpuint(d.dev.loads, ==, 0);
    }
}

/* Header and block-list damage, and block matching through the reader. */
static void test_hostile_header_and_blocks(void)
{
    g_autoptr(GByteArray) good = small_stream();
    GError *err = NULL;

    struct {
        unsigned pos;
        uint32_t value;
        const char *want;
    } header_cases[] = {
        { 0, 0x4b524f46, "not a ferry migration stream (bad magic)" },
        { 8, 1, "stream: version 1, this ferry reads version 2" },
        { 12, 1, "stream: unknown header flags 0x1" },
        { 16, 8192, "stream: page size 0x2000" },
        { 24, 0x7fffffff, "MACHINE record of 2147483647 bytes exceeds the limit" },
    };
    SmallDest d;
    small_dest_init(&d);
    for (unsigned i = 0; i < G_N_ELEMENTS(header_cases); i++) {
        g_autoptr(GByteArray) s = g_byte_array_new();
        g_byte_array_append(s, good->data, good->len);
        uint32_t v = GUINT32_TO_LE(header_cases[i].value);
        memcpy(s->data + header_cases[i].pos, &v, 4);
        g_assert_false(load_buffer(s->data, s->len, d.registry, &err));
        if (!strstr(err->message, header_cases[i].want))
            g_error("header case %u: got \"%s\"", i, err->message);
        g_clear_error(&err);
    }
    small_dest_clear(&d);

    /* The destination lacks the block, or has it at another size. */
    g_autoptr(VmStateRegistry) registry = vmstate_registry_new();
    g_assert_false(load_buffer(good->data, good->len, registry, &err));
    g_assert_cmpstr(err->message, ==, "Unknown ramblock \"h.ram\", cannot accept migration");
    g_clear_error(&err);
    RamBlock *bigger = new_block("h.ram", 8 * PAGE, 0, RAM_BLOCK_MIGRATABLE);
    g_assert_false(load_buffer(good->data, good->len, registry, &err));
    g_assert_cmpstr(err->message, ==, "Size mismatch: h.ram: 0x4000 != 0x8000");
    g_clear_error(&err);
    ram_block_free(bigger);
    RamBlock *small_rom = new_block("h.ram", PAGE, 2 * PAGE,
                                    RAM_BLOCK_MIGRATABLE | RAM_BLOCK_RESIZABLE);
    g_assert_false(load_buffer(good->data, good->len, registry, &err));
    g_assert_cmpstr(err->message, ==, "Size too large: h.ram: 0x4000 > 0x2000");
    g_clear_error(&err);
    ram_block_free(small_rom);

    /* A device registered here that the stream does not carry. */
    small_dest_init(&d);
    FakeDevice extra;
    fake_device_init(&extra, "");
    register_fake(d.registry, "extra", 1, &extra);
    g_assert_false(load_buffer(good->data, good->len, d.registry, &err));
    g_assert_cmpstr(err->message, ==, "stream: device state 'extra' is missing");
    g_clear_error(&err);
    g_assert_cmpuint(d.dev.loads, ==, 0);
    fake_device_clear(&extra);
    small_dest_clear(&d);
}

/* The writer refuses what the reader would: bad indexes and offsets. */
static void test_writer_checks(void)
{
    g_autoptr(GByteArray) out = g_byte_array_new();
    g_autoptr(MachineDescription) machine = machine_description_new();
    GError *err = NULL;

    machine->cpus = 1;
    machine->ram_size = machine->ram_below_4g = machine->maxmem = 16 * KiB;
    RamBlock *ram = new_block("w.ram", 4 * PAGE, 0, RAM_BLOCK_MIGRATABLE);
    g_autoptr(GPtrArray) blocks = g_ptr_array_new();
    g_ptr_array_add(blocks, ram);

    g_autoptr(MigrationWriter) writer = migration_writer_new(migration_byte_array_write, out);
    g_assert_true(migration_writer_put_header(writer, &err));
    g_assert_true(migration_writer_put_machine(writer, machine, &err));
    g_assert_true(migration_writer_put_ram_blocks(writer, blocks, &err));
    g_assert_false(migration_writer_add_page(writer, 1, 0, &err));
    g_assert_nonnull(strstr(err->message, "page for block 1, but only 1 blocks"));
    g_clear_error(&err);
    g_assert_false(migration_writer_add_page(writer, 0, 4 * PAGE, &err));
    g_assert_nonnull(strstr(err->message, "beyond its used length 0x4000"));
    g_clear_error(&err);
    g_assert_false(migration_writer_add_page(writer, 0, 100, &err));
    g_clear_error(&err);

    /* A full batch goes out by itself. */
    guint before = out->len;
    for (unsigned i = 0; i < MIGRATION_BATCH_MAX_PAGES; i++)
        g_assert_true(migration_writer_add_page(writer, 0, (i % 4) * PAGE, &err));
    g_assert_cmpuint(out->len, ==, before);
    g_assert_true(migration_writer_add_page(writer, 0, 0, &err));
    g_assert_cmpuint(out->len, >, before);
    g_assert_cmpuint(migration_writer_stats(writer)->batches, ==, 1);
    ram_block_free(ram);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration/crc32c", test_crc32c);
    g_test_add_func("/migration/fdt/round-trip", test_fdt_round_trip);
    g_test_add_func("/migration/fdt/refuses-bad-values", test_fdt_refuses_bad_values);
    g_test_add_func("/migration/fdt/hostile", test_fdt_hostile);
    g_test_add_func("/migration/fdt/live-backends", test_fdt_live_backends);
    g_test_add_func("/migration/blocks/matching", test_block_matching);
    g_test_add_func("/migration/vmstate/registry", test_vmstate_registry);
    g_test_add_func("/migration/stream/round-trip", test_stream_round_trip);
    g_test_add_func("/migration/stream/small", test_small_stream_loads);
    g_test_add_func("/migration/stream/zeros", test_stream_zeros);
    g_test_add_func("/migration/stream/truncation", test_truncation_everywhere);
    g_test_add_func("/migration/stream/byte-flips", test_byte_flips);
    g_test_add_func("/migration/stream/random-corruption", test_random_corruption);
    g_test_add_func("/migration/stream/hostile-records", test_hostile_records);
    g_test_add_func("/migration/stream/hostile-header-and-blocks", test_hostile_header_and_blocks);
    g_test_add_func("/migration/stream/writer-checks", test_writer_checks);
    return g_test_run();
}
