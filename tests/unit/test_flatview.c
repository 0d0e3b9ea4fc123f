/* FlatView rendering, listeners, guest access and `info mtree`. */
#include <glib.h>
#include <inttypes.h>
#include <string.h>

#include "mem/address_space.h"
#include "mem/flatview.h"
#include "mem/region.h"

#define KiB (1024ull)
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)

/* A block that only carries sizes: rendering never touches host memory. */
static RamBlock *fake_block(const char *name, uint64_t size)
{
    RamBlock *b = g_new0(RamBlock, 1);
    b->idstr = g_strdup(name);
    b->used_length = b->max_length = size;
    b->page_size = 4096;
    b->fd = -1;
    return b;
}

static void fake_block_free(RamBlock *b)
{
    g_free(b->idstr);
    g_free(b);
}

static void assert_range(const FlatView *v, unsigned i, uint64_t addr, uint64_t size,
                         const MemoryRegion *mr, uint64_t offset, bool readonly)
{
    g_assert_cmpuint(i, <, v->nr);
    const FlatRange *fr = &v->ranges[i];
    g_assert_cmphex(fr->addr, ==, addr);
    g_assert_cmphex(fr->size, ==, size);
    g_assert_cmpstr(fr->mr->name, ==, mr->name);
    g_assert_true(fr->mr == mr);
    g_assert_cmphex(fr->offset_in_region, ==, offset);
    g_assert_cmpint(fr->readonly, ==, readonly);
}

static uint64_t dummy_read(void *opaque, uint64_t offset, unsigned size)
{
    return 0;
}

static void dummy_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
}

static const MemoryRegionOps dummy_ops = { .read = dummy_read, .write = dummy_write };

static void test_nested_containers(void)
{
    RamBlock *blk = fake_block("nested.ram", 64 * KiB);
    MemoryRegion *root = memory_region_new_container("root", MR_SIZE_ALL);
    MemoryRegion *outer = memory_region_new_container("outer", 1 * MiB);
    MemoryRegion *inner = memory_region_new_container("inner", 256 * KiB);
    MemoryRegion *ram = memory_region_new_ram("ram", blk);
    MemoryRegion *io = memory_region_new_io("io", 0x100, &dummy_ops, NULL);

    memory_region_add_subregion(inner, 0x1000, ram);
    memory_region_add_subregion(outer, 0x20000, inner);
    memory_region_add_subregion(outer, 0x80000, io);
    memory_region_add_subregion(root, 0x100000, outer);

    FlatView *v = flatview_render(root);
    g_assert_cmpuint(v->nr, ==, 2);
    assert_range(v, 0, 0x121000, 64 * KiB, ram, 0, false);
    assert_range(v, 1, 0x180000, 0x100, io, 0, false);
    flatview_unref(v);

    /* A child clipped by its container: only the part inside shows. */
    memory_region_set_address(ram, 256 * KiB - 0x2000);
    v = flatview_render(root);
    assert_range(v, 0, 0x120000 + 256 * KiB - 0x2000, 0x2000, ram, 0, false);
    flatview_unref(v);

    memory_region_del_subregion(root, outer);
    memory_region_del_subregion(outer, io);
    memory_region_del_subregion(outer, inner);
    memory_region_del_subregion(inner, ram);
    memory_region_free(io);
    memory_region_free(ram);
    memory_region_free(inner);
    memory_region_free(outer);
    memory_region_free(root);
    fake_block_free(blk);
}

/* RAM split around the 32-bit hole as two aliases of one block. */
static void test_alias_below_above_4g(void)
{
    RamBlock *blk = fake_block("pc.ram", 4 * GiB);
    MemoryRegion *system = memory_region_new_container("system", MR_SIZE_ALL);
    MemoryRegion *ram = memory_region_new_ram("pc.ram", blk);
    MemoryRegion *below = memory_region_new_alias("ram-below-4g", ram, 0, 3 * GiB);
    MemoryRegion *above = memory_region_new_alias("ram-above-4g", ram, 3 * GiB, 1 * GiB);
    MemoryRegion *mmio = memory_region_new_io("ioapic", 0x1000, &dummy_ops, NULL);

    memory_region_add_subregion(system, 0, below);
    memory_region_add_subregion(system, 4 * GiB, above);
    memory_region_add_subregion(system, 0xfec00000, mmio);

    FlatView *v = flatview_render(system);
    g_assert_cmpuint(v->nr, ==, 3);
    assert_range(v, 0, 0, 3 * GiB, ram, 0, false);
    assert_range(v, 1, 0xfec00000, 0x1000, mmio, 0, false);
    assert_range(v, 2, 4 * GiB, 1 * GiB, ram, 3 * GiB, false);
    flatview_unref(v);

    /* The alias's own position counts, not the target's addr: a target
     * that sits somewhere else in another tree does not move the window. */
    ram->addr = 0x123000;
    v = flatview_render(system);
    assert_range(v, 0, 0, 3 * GiB, ram, 0, false);
    assert_range(v, 2, 4 * GiB, 1 * GiB, ram, 3 * GiB, false);
    flatview_unref(v);
    ram->addr = 0;

    /* Moving the window into the block. */
    memory_region_set_alias_offset(above, 2 * GiB);
    v = flatview_render(system);
    assert_range(v, 2, 4 * GiB, 1 * GiB, ram, 2 * GiB, false);
    flatview_unref(v);

    memory_region_del_subregion(system, below);
    memory_region_del_subregion(system, above);
    memory_region_del_subregion(system, mmio);
    memory_region_free(below);
    memory_region_free(above);
    memory_region_free(mmio);
    memory_region_free(ram);
    memory_region_free(system);
    fake_block_free(blk);
}

/* A PAM-like read-only window of RAM at priority 1 over the BIOS area. */
static void test_priority_readonly_alias(void)
{
    RamBlock *blk = fake_block("pam.ram", 2 * MiB);
    MemoryRegion *system = memory_region_new_container("system", MR_SIZE_ALL);
    MemoryRegion *ram = memory_region_new_ram("pam.ram", blk);
    MemoryRegion *ram_all = memory_region_new_alias("ram-below-4g", ram, 0, 2 * MiB);
    MemoryRegion *pam = memory_region_new_alias("pam-rom", ram, 0xe0000, 0x20000);

    memory_region_add_subregion(system, 0, ram_all);
    memory_region_set_readonly(pam, true);
    memory_region_add_subregion_overlap(system, 0xe0000, pam, 1);

    FlatView *v = flatview_render(system);
    g_assert_cmpuint(v->nr, ==, 3);
    assert_range(v, 0, 0, 0xe0000, ram, 0, false);
    assert_range(v, 1, 0xe0000, 0x20000, ram, 0xe0000, true);
    assert_range(v, 2, 0x100000, 1 * MiB, ram, 0x100000, false);
    flatview_unref(v);

    /* Back to read-write: the three pieces merge into one. */
    memory_region_set_readonly(pam, false);
    v = flatview_render(system);
    g_assert_cmpuint(v->nr, ==, 1);
    assert_range(v, 0, 0, 2 * MiB, ram, 0, false);
    flatview_unref(v);

    /* Priority beats insertion order: a lower-priority region added
     * later stays under. */
    MemoryRegion *low = memory_region_new_io("low", 0x100000, &dummy_ops, NULL);
    memory_region_add_subregion_overlap(system, 0, low, -1);
    v = flatview_render(system);
    g_assert_cmpuint(v->nr, ==, 1);
    assert_range(v, 0, 0, 2 * MiB, ram, 0, false);
    flatview_unref(v);

    memory_region_del_subregion(system, low);
    memory_region_del_subregion(system, pam);
    memory_region_del_subregion(system, ram_all);
    memory_region_free(low);
    memory_region_free(pam);
    memory_region_free(ram_all);
    memory_region_free(ram);
    memory_region_free(system);
    fake_block_free(blk);
}

static void test_disabled_does_not_obscure(void)
{
    RamBlock *blk = fake_block("dis.ram", 1 * MiB);
    MemoryRegion *system = memory_region_new_container("system", MR_SIZE_ALL);
    MemoryRegion *ram = memory_region_new_ram("dis.ram", blk);
    MemoryRegion *overlay = memory_region_new_io("overlay", 0x1000, &dummy_ops, NULL);

    memory_region_add_subregion(system, 0, ram);
    memory_region_set_enabled(overlay, false);
    memory_region_add_subregion_overlap(system, 0x4000, overlay, 1);

    FlatView *v = flatview_render(system);
    g_assert_cmpuint(v->nr, ==, 1);
    assert_range(v, 0, 0, 1 * MiB, ram, 0, false);
    flatview_unref(v);

    memory_region_set_enabled(overlay, true);
    v = flatview_render(system);
    g_assert_cmpuint(v->nr, ==, 3);
    assert_range(v, 0, 0, 0x4000, ram, 0, false);
    assert_range(v, 1, 0x4000, 0x1000, overlay, 0, false);
    assert_range(v, 2, 0x5000, 1 * MiB - 0x5000, ram, 0x5000, false);
    flatview_unref(v);

    /* A disabled alias hides its target too. */
    MemoryRegion *alias = memory_region_new_alias("alias", ram, 0, 0x1000);
    memory_region_set_enabled(alias, false);
    memory_region_add_subregion_overlap(system, 0x4000, alias, 2);
    v = flatview_render(system);
    assert_range(v, 1, 0x4000, 0x1000, overlay, 0, false);
    flatview_unref(v);

    memory_region_del_subregion(system, alias);
    memory_region_del_subregion(system, overlay);
    memory_region_del_subregion(system, ram);
    memory_region_free(alias);
    memory_region_free(overlay);
    memory_region_free(ram);
    memory_region_free(system);
    fake_block_free(blk);
}

static void test_later_added_wins(void)
{
    MemoryRegion *system = memory_region_new_container("system", MR_SIZE_ALL);
    MemoryRegion *first = memory_region_new_io("first", 0x100, &dummy_ops, NULL);
    MemoryRegion *second = memory_region_new_io("second", 0x100, &dummy_ops, NULL);

    memory_region_add_subregion(system, 0x1000, first);
    memory_region_add_subregion(system, 0x1080, second);

    FlatView *v = flatview_render(system);
    g_assert_cmpuint(v->nr, ==, 2);
    assert_range(v, 0, 0x1000, 0x80, first, 0, false);
    assert_range(v, 1, 0x1080, 0x100, second, 0, false);
    flatview_unref(v);

    /* Re-adding `first` makes it the newest, so now it wins. */
    memory_region_del_subregion(system, first);
    memory_region_add_subregion(system, 0x1000, first);
    v = flatview_render(system);
    g_assert_cmpuint(v->nr, ==, 2);
    assert_range(v, 0, 0x1000, 0x100, first, 0, false);
    assert_range(v, 1, 0x1100, 0x80, second, 0x80, false);
    flatview_unref(v);

    memory_region_del_subregion(system, first);
    memory_region_del_subregion(system, second);
    memory_region_free(first);
    memory_region_free(second);
    memory_region_free(system);
}

static void test_merge_adjacent(void)
{
    RamBlock *blk = fake_block("merge.ram", 1 * MiB);
    MemoryRegion *system = memory_region_new_container("system", MR_SIZE_ALL);
    MemoryRegion *ram = memory_region_new_ram("merge.ram", blk);
    MemoryRegion *a = memory_region_new_alias("a", ram, 0, 0x10000);
    MemoryRegion *b = memory_region_new_alias("b", ram, 0x10000, 0x10000);

    memory_region_add_subregion(system, 0x100000, a);
    memory_region_add_subregion(system, 0x110000, b);

    /* Same region, contiguous in both address and offset: one range. */
    FlatView *v = flatview_render(system);
    g_assert_cmpuint(v->nr, ==, 1);
    assert_range(v, 0, 0x100000, 0x20000, ram, 0, false);
    flatview_unref(v);

    /* Offsets no longer contiguous: two ranges. */
    memory_region_set_alias_offset(b, 0x30000);
    v = flatview_render(system);
    g_assert_cmpuint(v->nr, ==, 2);
    assert_range(v, 0, 0x100000, 0x10000, ram, 0, false);
    assert_range(v, 1, 0x110000, 0x10000, ram, 0x30000, false);
    flatview_unref(v);

    memory_region_del_subregion(system, a);
    memory_region_del_subregion(system, b);
    memory_region_free(a);
    memory_region_free(b);
    memory_region_free(ram);
    memory_region_free(system);
    fake_block_free(blk);
}

static void test_lookup_boundaries(void)
{
    RamBlock *blk = fake_block("lookup.ram", 0x10000);
    MemoryRegion *system = memory_region_new_container("system", MR_SIZE_ALL);
    MemoryRegion *ram = memory_region_new_ram("lookup.ram", blk);
    MemoryRegion *io = memory_region_new_io("io", 0x10, &dummy_ops, NULL);
    MemoryRegion *top = memory_region_new_io("top", 0x1000, &dummy_ops, NULL);

    memory_region_add_subregion(system, 0x10000, ram);
    memory_region_add_subregion(system, 0x20000, io);
    memory_region_add_subregion(system, UINT64_MAX - 0xfff, top);

    FlatView *v = flatview_render(system);
    g_assert_cmpuint(v->nr, ==, 3);
    g_assert_null(flatview_lookup(v, 0));
    g_assert_null(flatview_lookup(v, 0xffff));
    g_assert_true(flatview_lookup(v, 0x10000)->mr == ram);
    g_assert_true(flatview_lookup(v, 0x1ffff)->mr == ram);
    g_assert_true(flatview_lookup(v, 0x20000)->mr == io);
    g_assert_true(flatview_lookup(v, 0x2000f)->mr == io);
    g_assert_null(flatview_lookup(v, 0x20010));
    g_assert_null(flatview_lookup(v, UINT64_MAX - 0x1000));
    g_assert_true(flatview_lookup(v, UINT64_MAX - 0xfff)->mr == top);
    g_assert_true(flatview_lookup(v, UINT64_MAX)->mr == top);
    flatview_unref(v);

    /* A catch-all of 2^64 bytes under everything fills every hole. */
    MemoryRegion *all = memory_region_new_io("unassigned", MR_SIZE_ALL, &dummy_ops, NULL);
    memory_region_add_subregion_overlap(system, 0, all, -1);
    v = flatview_render(system);
    uint64_t covered = 0;
    for (unsigned i = 0; i < v->nr; i++) {
        g_assert_cmphex(v->ranges[i].addr, ==, covered);
        covered += v->ranges[i].size;
    }
    g_assert_cmphex(covered, ==, 0); /* wrapped: exactly 2^64 bytes */
    g_assert_true(flatview_lookup(v, 0)->mr == all);
    g_assert_cmphex(flatview_lookup(v, 0x20010)->offset_in_region, ==, 0x20010);
    g_assert_true(flatview_lookup(v, 0x1ffff)->mr == ram);
    g_assert_true(flatview_lookup(v, UINT64_MAX)->mr == top);
    flatview_unref(v);

    memory_region_del_subregion(system, all);
    memory_region_del_subregion(system, ram);
    memory_region_del_subregion(system, io);
    memory_region_del_subregion(system, top);
    memory_region_free(all);
    memory_region_free(ram);
    memory_region_free(io);
    memory_region_free(top);
    memory_region_free(system);
    fake_block_free(blk);
}

/* --- listeners --------------------------------------------------------- */

typedef struct Recorder {
    MemoryListener listener;
    GString *log;
} Recorder;

static void rec_event(MemoryListener *l, const char *kind, const FlatRange *fr)
{
    Recorder *r = (Recorder *)l;
    if (fr) {
        g_string_append_printf(r->log, "%s %" PRIx64 "+%" PRIx64 " %s;", kind, fr->addr, fr->size,
                               fr->mr->name);
    } else {
        g_string_append_printf(r->log, "%s;", kind);
    }
}

static void rec_begin(MemoryListener *l) { rec_event(l, "begin", NULL); }
static void rec_commit(MemoryListener *l) { rec_event(l, "commit", NULL); }
static void rec_add(MemoryListener *l, const FlatRange *fr) { rec_event(l, "add", fr); }
static void rec_del(MemoryListener *l, const FlatRange *fr) { rec_event(l, "del", fr); }
static void rec_nop(MemoryListener *l, const FlatRange *fr) { rec_event(l, "nop", fr); }
static void rec_log_start(MemoryListener *l, const FlatRange *fr) { rec_event(l, "log_start", fr); }
static void rec_log_stop(MemoryListener *l, const FlatRange *fr) { rec_event(l, "log_stop", fr); }
static void rec_log_sync(MemoryListener *l, const FlatRange *fr) { rec_event(l, "log_sync", fr); }

static void recorder_init(Recorder *r)
{
    *r = (Recorder){
        .listener = {
            .begin = rec_begin,
            .region_add = rec_add,
            .region_del = rec_del,
            .region_nop = rec_nop,
            .log_start = rec_log_start,
            .log_stop = rec_log_stop,
            .log_sync = rec_log_sync,
            .commit = rec_commit,
        },
        .log = g_string_new(NULL),
    };
}

/* The events since the last call. */
static char *recorder_take(Recorder *r)
{
    char *s = g_strdup(r->log->str);
    g_string_truncate(r->log, 0);
    return s;
}

#define ASSERT_EVENTS(rec, expected)                 \
    do {                                             \
        g_autofree char *got_ = recorder_take(rec);  \
        g_assert_cmpstr(got_, ==, expected);         \
    } while (0)

static void test_listener_events(void)
{
    RamBlock *blk = fake_block("lis.ram", 1 * MiB);
    MemoryRegion *system = memory_region_new_container("system", MR_SIZE_ALL);
    MemoryRegion *ram = memory_region_new_ram("ram", blk);
    MemoryRegion *overlay = memory_region_new_io("overlay", 0x1000, &dummy_ops, NULL);
    MemoryRegion *other = memory_region_new_io("other", 0x10, &dummy_ops, NULL);
    AddressSpace *as = address_space_new("lis", system);
    Recorder rec;

    recorder_init(&rec);
    memory_listener_register(&rec.listener, as);
    g_assert_true(rec.listener.as == as);
    ASSERT_EVENTS(&rec, "begin;commit;");

    memory_region_add_subregion(system, 0, ram);
    ASSERT_EVENTS(&rec, "begin;add 0+100000 ram;commit;");

    /* An overlay splits the RAM: the whole goes, three pieces come. */
    memory_region_add_subregion_overlap(system, 0x4000, overlay, 1);
    ASSERT_EVENTS(&rec, "begin;del 0+100000 ram;add 0+4000 ram;add 4000+1000 overlay;"
                        "add 5000+fb000 ram;commit;");

    /* Unrelated change: the rest is nop. */
    memory_region_add_subregion(system, 0x200000, other);
    ASSERT_EVENTS(&rec, "begin;nop 0+4000 ram;nop 4000+1000 overlay;nop 5000+fb000 ram;"
                        "add 200000+10 other;commit;");

    /* Removing the overlay merges the RAM back. */
    memory_region_del_subregion(system, overlay);
    ASSERT_EVENTS(&rec, "begin;del 0+4000 ram;del 4000+1000 overlay;del 5000+fb000 ram;"
                        "add 0+100000 ram;nop 200000+10 other;commit;");

    /* A transaction shows only the net effect, once. */
    memory_region_transaction_begin();
    memory_region_del_subregion(system, other);
    memory_region_add_subregion(system, 0x200000, other);
    memory_region_set_address(other, 0x300000);
    g_assert_cmpuint(rec.log->len, ==, 0);
    memory_region_transaction_commit();
    ASSERT_EVENTS(&rec, "begin;del 200000+10 other;nop 0+100000 ram;add 300000+10 other;commit;");

    /* A change outside the tree renders the same view: only nops. */
    memory_region_set_enabled(overlay, false);
    ASSERT_EVENTS(&rec, "begin;nop 0+100000 ram;nop 300000+10 other;commit;");

    /* Global dirty logging covers RAM ranges only, and new RAM added while
     * it is on gets log_start right after region_add. */
    memory_global_dirty_log_start();
    g_assert_true(memory_global_dirty_log_enabled());
    ASSERT_EVENTS(&rec, "begin;log_start 0+100000 ram;commit;");
    memory_region_set_enabled(overlay, true);
    ASSERT_EVENTS(&rec, "begin;nop 0+100000 ram;nop 300000+10 other;commit;");
    memory_region_add_subregion_overlap(system, 0x4000, overlay, 1);
    ASSERT_EVENTS(&rec, "begin;del 0+100000 ram;add 0+4000 ram;log_start 0+4000 ram;"
                        "add 4000+1000 overlay;add 5000+fb000 ram;log_start 5000+fb000 ram;"
                        "nop 300000+10 other;commit;");
    memory_global_dirty_log_sync();
    ASSERT_EVENTS(&rec, "begin;log_sync 0+4000 ram;log_sync 5000+fb000 ram;commit;");
    memory_global_dirty_log_stop();
    g_assert_false(memory_global_dirty_log_enabled());
    ASSERT_EVENTS(&rec, "begin;log_stop 0+4000 ram;log_stop 5000+fb000 ram;commit;");

    /* A late listener catches up by replay. */
    Recorder late;
    recorder_init(&late);
    memory_listener_register(&late.listener, as);
    ASSERT_EVENTS(&late, "begin;add 0+4000 ram;add 4000+1000 overlay;add 5000+fb000 ram;"
                         "add 300000+10 other;commit;");
    memory_listener_unregister(&late.listener);
    ASSERT_EVENTS(&late, "begin;del 0+4000 ram;del 4000+1000 overlay;del 5000+fb000 ram;"
                         "del 300000+10 other;commit;");
    g_assert_null(late.listener.as);
    memory_region_del_subregion(system, other);
    ASSERT_EVENTS(&late, ""); /* no longer listening */
    g_string_free(late.log, TRUE);

    memory_listener_unregister(&rec.listener);
    g_string_free(rec.log, TRUE);
    address_space_free(as);
    memory_region_del_subregion(system, overlay);
    memory_region_del_subregion(system, ram);
    memory_region_free(overlay);
    memory_region_free(other);
    memory_region_free(ram);
    memory_region_free(system);
    fake_block_free(blk);
}

/* --- guest access ------------------------------------------------------ */

typedef struct IoLog {
    GString *calls;
    uint64_t next_read;
} IoLog;

static uint64_t log_read(void *opaque, uint64_t offset, unsigned size)
{
    IoLog *log = opaque;
    g_string_append_printf(log->calls, "r%u@%" PRIx64 ";", size, offset);
    uint64_t mask = size == 8 ? UINT64_MAX : (1ull << (8 * size)) - 1;
    return (log->next_read >> (8 * (offset & 7))) & mask;
}

static void log_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    IoLog *log = opaque;
    g_string_append_printf(log->calls, "w%u@%" PRIx64 "=%" PRIx64 ";", size, offset, value);
}

static const MemoryRegionOps log_ops = { .read = log_read, .write = log_write };

typedef struct AccessFixture {
    RamBlock *ram_block, *rom_block;
    MemoryRegion *system, *ram, *rom, *io;
    AddressSpace *as;
    IoLog io_log;
    GMutex io_lock;
} AccessFixture;

static void access_setup(AccessFixture *f, gconstpointer data)
{
    GError *err = NULL;

    f->ram_block = ram_block_new("access.ram", 64 * KiB, 0, 0, NULL, &err);
    g_assert_no_error(err);
    f->rom_block = ram_block_new("access.rom", 4 * KiB, 0, 0, NULL, &err);
    g_assert_no_error(err);
    f->io_log.calls = g_string_new(NULL);
    g_mutex_init(&f->io_lock);

    f->system = memory_region_new_container("system", MR_SIZE_ALL);
    f->ram = memory_region_new_ram("ram", f->ram_block);
    f->rom = memory_region_new_rom("rom", f->rom_block);
    f->io = memory_region_new_io("dev", 0x100, &log_ops, &f->io_log);
    memory_region_set_lock(f->io, &f->io_lock);
    memory_region_add_subregion(f->system, 0, f->ram); /* [0, 0x10000) */
    memory_region_add_subregion(f->system, 0x10000, f->io); /* [0x10000, 0x10100) */
    memory_region_add_subregion(f->system, 0x20000, f->rom); /* [0x20000, 0x21000) */
    f->as = address_space_new("access", f->system);
}

static void access_teardown(AccessFixture *f, gconstpointer data)
{
    address_space_free(f->as);
    memory_region_del_subregion(f->system, f->ram);
    memory_region_del_subregion(f->system, f->io);
    memory_region_del_subregion(f->system, f->rom);
    memory_region_free(f->ram);
    memory_region_free(f->io);
    memory_region_free(f->rom);
    memory_region_free(f->system);
    ram_block_free(f->ram_block);
    ram_block_free(f->rom_block);
    g_string_free(f->io_log.calls, TRUE);
    g_mutex_clear(&f->io_lock);
}

static void test_access_ram(AccessFixture *f, gconstpointer data)
{
    uint8_t buf[16];

    memcpy(buf, "0123456789abcdef", 16);
    g_assert_cmpint(address_space_write(f->as, 0x100, buf, 16), ==, MEMTX_OK);
    g_assert_cmpmem(f->ram_block->host + 0x100, 16, buf, 16);
    memset(buf, 0, sizeof(buf));
    g_assert_cmpint(address_space_read(f->as, 0x104, buf, 4), ==, MEMTX_OK);
    g_assert_cmpmem(buf, 4, "4567", 4);
}

static void test_access_io(AccessFixture *f, gconstpointer data)
{
    uint8_t buf[8];
    uint32_t v32 = 0x11223344;

    g_assert_cmpint(address_space_write(f->as, 0x10004, &v32, 4), ==, MEMTX_OK);
    g_assert_cmpstr(f->io_log.calls->str, ==, "w4@4=11223344;");
    g_string_truncate(f->io_log.calls, 0);

    f->io_log.next_read = 0x8877665544332211ull;
    g_assert_cmpint(address_space_read(f->as, 0x10008, buf, 8), ==, MEMTX_OK);
    g_assert_cmpstr(f->io_log.calls->str, ==, "r8@8;");
    g_assert_cmphex(buf[0], ==, 0x11);
    g_assert_cmphex(buf[7], ==, 0x88);
    g_string_truncate(f->io_log.calls, 0);

    /* Unaligned: byte accesses, assembled little-endian. */
    uint16_t v16 = 0;
    g_assert_cmpint(address_space_read(f->as, 0x10001, &v16, 2), ==, MEMTX_OK);
    g_assert_cmpstr(f->io_log.calls->str, ==, "r1@1;r1@2;");
    g_assert_cmphex(v16, ==, 0x3322);
    g_string_truncate(f->io_log.calls, 0);

    uint8_t three[3] = { 0xaa, 0xbb, 0xcc };
    g_assert_cmpint(address_space_write(f->as, 0x10010, three, 3), ==, MEMTX_OK);
    g_assert_cmpstr(f->io_log.calls->str, ==, "w1@10=aa;w1@11=bb;w1@12=cc;");
    g_string_truncate(f->io_log.calls, 0);

    /* The device lock is held around the callback, so it is free now. */
    g_assert_true(g_mutex_trylock(&f->io_lock));
    g_mutex_unlock(&f->io_lock);
}

static void test_access_unassigned(AccessFixture *f, gconstpointer data)
{
    uint8_t buf[8];

    memset(buf, 0, sizeof(buf));
    g_assert_cmpint(address_space_read(f->as, 0x30000, buf, 8), ==, MEMTX_UNASSIGNED);
    for (unsigned i = 0; i < 8; i++)
        g_assert_cmphex(buf[i], ==, 0xff);
    g_assert_cmpint(address_space_write(f->as, 0x30000, buf, 8), ==, MEMTX_UNASSIGNED);

    /* Across the end of RAM into the device: RAM bytes, then its reply. */
    memset(f->ram_block->host + 0xfffc, 0x5a, 4);
    memset(buf, 0, sizeof(buf));
    g_assert_cmpint(address_space_read(f->as, 0xfffc, buf, 8), ==, MEMTX_OK);
    g_assert_cmphex(buf[3], ==, 0x5a);
    g_assert_cmphex(buf[4], ==, 0x00); /* next_read is 0 */
    g_assert_cmpstr(f->io_log.calls->str, ==, "r4@0;");
    /* Across a hole into ROM: all-ones, then ROM bytes. */
    memset(buf, 0, sizeof(buf));
    g_assert_cmpint(address_space_read(f->as, 0x1fffc, buf, 8), ==, MEMTX_UNASSIGNED);
    g_assert_cmphex(buf[3], ==, 0xff);
    g_assert_cmphex(buf[4], ==, f->rom_block->host[0]);

    /* Wrapping past the top of the space is unassigned, not a crash. */
    g_assert_cmpint(address_space_read(f->as, UINT64_MAX - 1, buf, 4), ==, MEMTX_UNASSIGNED);
    g_assert_cmphex(buf[0], ==, 0xff);
    g_assert_cmphex(buf[2], ==, f->ram_block->host[0]);
}

static void test_access_readonly(AccessFixture *f, gconstpointer data)
{
    uint32_t v = 0xdeadbeef, got = 0;

    memset(f->rom_block->host, 0x42, 4 * KiB);
    g_assert_cmpint(address_space_write(f->as, 0x20010, &v, 4), ==, MEMTX_READONLY);
    g_assert_cmphex(f->rom_block->host[0x10], ==, 0x42);
    g_assert_cmpint(address_space_read(f->as, 0x20010, &got, 4), ==, MEMTX_OK);
    g_assert_cmphex(got, ==, 0x42424242);
}

static void test_ram_ptr_bounds(AccessFixture *f, gconstpointer data)
{
    uint8_t *host = f->ram_block->host;

    g_assert_true(address_space_ram_ptr(f->as, 0, 64 * KiB, false) == host);
    g_assert_true(address_space_ram_ptr(f->as, 0x1234, 16, false) == host + 0x1234);
    g_assert_true(address_space_ram_ptr(f->as, 0xffff, 1, false) == host + 0xffff);
    /* Straddling the end of RAM (into the device). */
    g_assert_null(address_space_ram_ptr(f->as, 0xffff, 2, false));
    g_assert_null(address_space_ram_ptr(f->as, 0, 64 * KiB + 1, true));
    /* Devices and holes are not RAM. */
    g_assert_null(address_space_ram_ptr(f->as, 0x10000, 4, true));
    g_assert_null(address_space_ram_ptr(f->as, 0x30000, 4, true));
    /* addr + len wraps around. */
    g_assert_null(address_space_ram_ptr(f->as, 0x100, UINT64_MAX, true));
    g_assert_null(address_space_ram_ptr(f->as, UINT64_MAX - 1, 4, true));
    /* Length 0 is refused. */
    g_assert_null(address_space_ram_ptr(f->as, 0x100, 0, true));
    /* ROM: readable, not writable. */
    g_assert_true(address_space_ram_ptr(f->as, 0x20000, 4 * KiB, true) == f->rom_block->host);
    g_assert_null(address_space_ram_ptr(f->as, 0x20000, 4, false));
}

/* A vCPU-like thread reads through the address space while the main
 * thread keeps switching an overlay on and off: every read sees either
 * the RAM or the device, never a freed view. */
typedef struct ReaderCtx {
    AddressSpace *as;
    gint stop;
} ReaderCtx;

static uint64_t const_read(void *opaque, uint64_t offset, unsigned size)
{
    return 0xd0d0d0d0;
}

static const MemoryRegionOps const_ops = { .read = const_read, .write = dummy_write };

static void *reader_thread(void *opaque)
{
    ReaderCtx *ctx = opaque;

    while (!g_atomic_int_get(&ctx->stop)) {
        uint32_t v = 0;
        address_space_read(ctx->as, 0x1000, &v, 4);
        g_assert_true(v == 0x5a5a5a5a || v == 0xd0d0d0d0);
    }
    return NULL;
}

static void test_concurrent_readers(void)
{
    GError *err = NULL;
    RamBlock *blk = ram_block_new("concurrent.ram", 64 * KiB, 0, 0, NULL, &err);
    g_assert_no_error(err);
    memset(blk->host, 0x5a, 64 * KiB);
    MemoryRegion *system = memory_region_new_container("system", MR_SIZE_ALL);
    MemoryRegion *ram = memory_region_new_ram("ram", blk);
    MemoryRegion *dev = memory_region_new_io("dev", 0x1000, &const_ops, NULL);
    memory_region_add_subregion(system, 0, ram);
    memory_region_add_subregion_overlap(system, 0x1000, dev, 1);
    AddressSpace *as = address_space_new("concurrent", system);

    ReaderCtx ctx = { .as = as };
    GThread *threads[2];
    for (unsigned i = 0; i < G_N_ELEMENTS(threads); i++)
        threads[i] = g_thread_new("reader", reader_thread, &ctx);
    for (unsigned i = 0; i < 2000; i++)
        memory_region_set_enabled(dev, i % 2 == 0);
    g_atomic_int_set(&ctx.stop, 1);
    for (unsigned i = 0; i < G_N_ELEMENTS(threads); i++)
        g_thread_join(threads[i]);

    address_space_free(as);
    memory_region_del_subregion(system, dev);
    memory_region_del_subregion(system, ram);
    memory_region_free(dev);
    memory_region_free(ram);
    memory_region_free(system);
    ram_block_free(blk);
}

/* --- info mtree -------------------------------------------------------- */

static void test_mtree_info(void)
{
    RamBlock *blk = fake_block("pc.ram", 8 * MiB);
    MemoryRegion *system = memory_region_new_container("system", MR_SIZE_ALL);
    MemoryRegion *ram = memory_region_new_ram("pc.ram", blk);
    MemoryRegion *below = memory_region_new_alias("ram-below-4g", ram, 0, 8 * MiB);
    MemoryRegion *bios = memory_region_new_alias("isa-bios", ram, 0x7e0000, 0x20000);
    MemoryRegion *dev = memory_region_new_io("dev", 0x1000, &dummy_ops, NULL);
    MemoryRegion *io = memory_region_new_container("io", 64 * KiB);
    MemoryRegion *port = memory_region_new_io("serial", 8, &dummy_ops, NULL);

    memory_region_add_subregion(system, 0, below);
    memory_region_set_readonly(bios, true);
    memory_region_add_subregion_overlap(system, 0xe0000, bios, 1);
    memory_region_add_subregion(system, 0xfec00000, dev);
    memory_region_set_enabled(dev, false);
    memory_region_add_subregion(io, 0x3f8, port);
    AddressSpace *as_mem = address_space_new("mtree-memory", system);
    AddressSpace *as_io = address_space_new("mtree-io", io);

    g_autoptr(GString) out = g_string_new(NULL);
    mtree_info(out);
    const char *expected =
        "address-space: mtree-memory\n"
        "  0000000000000000-ffffffffffffffff (prio 0, RW): system\n"
        "    0000000000000000-00000000007fffff (prio 0, RW): alias ram-below-4g @pc.ram "
        "0000000000000000-00000000007fffff\n"
        "    00000000000e0000-00000000000fffff (prio 1, R-): alias isa-bios @pc.ram "
        "00000000007e0000-00000000007fffff\n"
        "    00000000fec00000-00000000fec00fff (prio 0, RW): dev [disabled]\n"
        "\n"
        "address-space: mtree-io\n"
        "  0000000000000000-000000000000ffff (prio 0, RW): io\n"
        "    00000000000003f8-00000000000003ff (prio 0, RW): serial\n"
        "\n";
    g_assert_nonnull(strstr(out->str, expected));
    g_assert_nonnull(strstr(out->str, "memory-region: pc.ram\n"
                                      "  0000000000000000-00000000007fffff (prio 0, RW): pc.ram\n"
                                      "\n"));
    /* Each alias target once. */
    const char *first = strstr(out->str, "memory-region: pc.ram");
    g_assert_null(strstr(first + 1, "memory-region: pc.ram"));

    address_space_free(as_mem);
    address_space_free(as_io);
    memory_region_del_subregion(io, port);
    memory_region_del_subregion(system, below);
    memory_region_del_subregion(system, bios);
    memory_region_del_subregion(system, dev);
    memory_region_free(port);
    memory_region_free(io);
    memory_region_free(dev);
    memory_region_free(bios);
    memory_region_free(below);
    memory_region_free(ram);
    memory_region_free(system);
    fake_block_free(blk);
}

/* A reader holding an old view is unaffected by commits in between. */
static void test_view_survives_commit(void)
{
    RamBlock *blk = fake_block("keep.ram", 1 * MiB);
    MemoryRegion *system = memory_region_new_container("system", MR_SIZE_ALL);
    MemoryRegion *ram = memory_region_new_ram("ram", blk);
    AddressSpace *as = address_space_new("keep", system);

    memory_region_add_subregion(system, 0, ram);
    FlatView *old = address_space_get_flatview(as);
    g_assert_cmpuint(old->nr, ==, 1);
    memory_region_del_subregion(system, ram);
    FlatView *now = address_space_get_flatview(as);
    g_assert_cmpuint(now->nr, ==, 0);
    g_assert_cmpuint(old->nr, ==, 1);
    g_assert_true(old->ranges[0].mr == ram);
    flatview_unref(old);
    flatview_unref(now);

    address_space_free(as);
    memory_region_free(ram);
    memory_region_free(system);
    fake_block_free(blk);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/flatview/nested-containers", test_nested_containers);
    g_test_add_func("/flatview/alias-below-above-4g", test_alias_below_above_4g);
    g_test_add_func("/flatview/priority-readonly-alias", test_priority_readonly_alias);
    g_test_add_func("/flatview/disabled-does-not-obscure", test_disabled_does_not_obscure);
    g_test_add_func("/flatview/later-added-wins", test_later_added_wins);
    g_test_add_func("/flatview/merge-adjacent", test_merge_adjacent);
    g_test_add_func("/flatview/lookup-boundaries", test_lookup_boundaries);
    g_test_add_func("/listener/events", test_listener_events);
    g_test_add_func("/address-space/view-survives-commit", test_view_survives_commit);
    g_test_add("/address-space/ram", AccessFixture, NULL, access_setup, test_access_ram,
               access_teardown);
    g_test_add("/address-space/io", AccessFixture, NULL, access_setup, test_access_io,
               access_teardown);
    g_test_add("/address-space/unassigned", AccessFixture, NULL, access_setup,
               test_access_unassigned, access_teardown);
    g_test_add("/address-space/readonly", AccessFixture, NULL, access_setup,
               test_access_readonly, access_teardown);
    g_test_add("/address-space/ram-ptr-bounds", AccessFixture, NULL, access_setup,
               test_ram_ptr_bounds, access_teardown);
    g_test_add_func("/address-space/concurrent-readers", test_concurrent_readers);
    g_test_add_func("/mtree/info", test_mtree_info);
    return g_test_run();
}
