/* Dirty logging: the RAM block bitmap, the memslot listener's bookkeeping
 * against a fake KVM (slot -> block offsets, split and aliased slots, RAM
 * added or removed while logging, KVM_CLEAR_DIRTY_LOG chunks, ring
 * reaping), then a real guest on /dev/kvm in both modes: it writes chosen
 * pages and exactly those come back dirty. */
#include <glib.h>
#include <inttypes.h>
#include <string.h>
#include <sys/ioctl.h>

#include "mem/kvm_memslots.h"
#include "mem/region.h"
#include "vmm/kvm.h"
#include "vmm/vcpu.h"

#define KiB (1024ull)
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)
#define PAGE RAM_DIRTY_PAGE_SIZE

/* The dirty pages of a block, as "1,6,69" (or "" when clean). */
static char *dirty_pages(const RamBlock *block)
{
    GString *out = g_string_new(NULL);
    uint64_t end = ram_block_dirty_pages(block);

    for (uint64_t p = ram_block_dirty_find_next(block, 0); p < end;
         p = ram_block_dirty_find_next(block, p + 1))
        g_string_append_printf(out, "%s%" PRIu64, out->len ? "," : "", p);
    return g_string_free(out, FALSE);
}

#define ASSERT_DIRTY(block, expected)                     \
    do {                                                  \
        g_autofree char *got_ = dirty_pages(block);       \
        g_assert_cmpstr(got_, ==, expected);              \
    } while (0)

/* ---- the bitmap --------------------------------------------------------- */

static void test_bitmap_helpers(void)
{
    g_autoptr(GError) err = NULL;
    RamBlock *b = ram_block_new("dl.bits", 1 * MiB, 2 * MiB, RAM_BLOCK_RESIZABLE, NULL, &err);

    g_assert_no_error(err);
    g_assert_cmpuint(ram_block_dirty_pages(b), ==, 256);
    g_assert_cmpuint(ram_block_dirty_count(b), ==, 0);
    g_assert_cmpuint(ram_block_dirty_find_next(b, 0), ==, 256);

    ram_block_dirty_set_range(b, 3, 130);
    g_assert_cmpuint(ram_block_dirty_count(b), ==, 130);
    g_assert_cmpuint(ram_block_dirty_find_next(b, 0), ==, 3);
    g_assert_cmpuint(ram_block_dirty_find_next(b, 132), ==, 132);
    g_assert_cmpuint(ram_block_dirty_find_next(b, 133), ==, 256);
    g_assert_true(ram_block_dirty_test_and_clear(b, 3));
    g_assert_false(ram_block_dirty_test_and_clear(b, 3));
    g_assert_false(ram_block_dirty_test(b, 3));
    g_assert_true(ram_block_dirty_test(b, 4));
    /* take: pages 64..127 are all set, and then all clear. */
    uint64_t bits[2];
    g_assert_cmpuint(ram_block_dirty_take(b, 64, 64, bits), ==, 64);
    g_assert_cmphex(bits[0], ==, UINT64_MAX);
    g_assert_cmpuint(ram_block_dirty_take(b, 64, 64, bits), ==, 0);
    g_assert_cmphex(bits[0], ==, 0);
    g_assert_cmpuint(ram_block_dirty_count(b), ==, 129 - 64);
    /* It stops at used_length (256 pages): 200..255 of 200..299. */
    ram_block_dirty_clear_all(b);
    ram_block_dirty_set_range(b, 200, 100);
    g_assert_cmpuint(ram_block_dirty_take(b, 192, 128, bits), ==, 56);
    g_assert_cmphex(bits[0], ==, ~0xffull);
    g_assert_cmphex(bits[1], ==, 0);
    g_assert_true(ram_block_dirty_test(b, 256));
    ram_block_dirty_clear_all(b);
    g_assert_cmpuint(ram_block_dirty_count(b), ==, 0);

    /* Byte ranges cover every page they touch. */
    ram_block_mark_dirty(b, PAGE - 1, 2);
    ram_block_mark_dirty(b, 10 * PAGE, PAGE);
    ram_block_mark_dirty(b, 20 * PAGE + 1, 0);
    ASSERT_DIRTY(b, "0,1,10");
    ram_block_dirty_clear_all(b);

    /* Merging a KVM-style bitmap at an offset that is not word aligned:
     * source bits 0, 63, 64 and 69 land on pages 5, 68, 69 and 74; bits
     * past npages are ignored. */
    uint64_t src[2] = { 1ull | (1ull << 63), 1ull | (1ull << 5) | (1ull << 40) };
    ram_block_dirty_merge(b, 5, src, 70);
    ASSERT_DIRTY(b, "5,68,69,74");
    ram_block_dirty_clear_all(b);
    ram_block_dirty_merge(b, 128, src, 128);
    ASSERT_DIRTY(b, "128,191,192,197,232");
    ram_block_dirty_clear_all(b);

    /* Past used_length: kept, but neither counted nor found until the
     * block grows over it; past max_length: cut. */
    ram_block_dirty_set_range(b, 250, 20);
    ram_block_mark_dirty(b, 2 * MiB - PAGE, 100 * PAGE);
    g_assert_cmpuint(ram_block_dirty_count(b), ==, 6);
    g_assert_true(ram_block_resize(b, 2 * MiB, &err));
    g_assert_cmpuint(ram_block_dirty_count(b), ==, 21);
    g_assert_true(ram_block_dirty_test(b, 511));
    g_assert_false(ram_block_dirty_test(b, 512));

    ram_block_dirty_set_all(b);
    g_assert_cmpuint(ram_block_dirty_count(b), ==, 512);
    ram_block_free(b);
}

/* ---- the listener against a fake KVM ------------------------------------ */

#define FAKE_SLOTS 8
#define FAKE_WORDS 32 /* 2048 pages per slot */

typedef struct FakeSlot {
    uint64_t gpa, size; /* size 0: not mapped */
    uint32_t flags;
} FakeSlot;

typedef struct Fixture {
    RamBlock *block, *dimm;
    MemoryRegion *system, *ram, *low, *high, *hole, *dimm_mr;
    AddressSpace *as;
    KvmMemslots *slots;
    FakeSlot kvm[FAKE_SLOTS];
    uint64_t kvm_dirty[FAKE_SLOTS][FAKE_WORDS];
    GString *log; /* clear and reset calls */
    struct kvm_dirty_gfn ring[8];
    uint32_t ring_push; /* KVM's free-running index */
    KvmDirtyRing *ring_reg;
} Fixture;

static int fake_set_slot(void *opaque, const struct kvm_userspace_memory_region *r)
{
    Fixture *f = opaque;

    g_assert_cmpuint(r->slot, <, FAKE_SLOTS);
    f->kvm[r->slot] = (FakeSlot){ r->guest_phys_addr, r->memory_size, r->flags };
    memset(f->kvm_dirty[r->slot], 0, sizeof(f->kvm_dirty[r->slot]));
    return 0;
}

static int fake_get_dirty_log(void *opaque, struct kvm_dirty_log *log)
{
    Fixture *f = opaque;
    FakeSlot *s = &f->kvm[log->slot];

    g_assert_cmpuint(log->slot, <, FAKE_SLOTS);
    if (!s->size || !(s->flags & KVM_MEM_LOG_DIRTY_PAGES))
        return -ENOENT;
    uint64_t words = (s->size / PAGE + 63) / 64;
    g_assert_cmpuint(words, <=, FAKE_WORDS);
    memcpy(log->dirty_bitmap, f->kvm_dirty[log->slot], words * 8);
    return 0;
}

static int fake_clear_dirty_log(void *opaque, struct kvm_clear_dirty_log *log)
{
    Fixture *f = opaque;
    FakeSlot *s = &f->kvm[log->slot];
    const uint64_t *bits = log->dirty_bitmap;
    unsigned words = (log->num_pages + 63) / 64;

    /* KVM's own checks. */
    g_assert_cmpuint(log->first_page % 64, ==, 0);
    g_assert_true(log->num_pages % 64 == 0 || log->first_page + log->num_pages == s->size / PAGE);
    g_assert_cmpuint(log->first_page + log->num_pages, <=, s->size / PAGE);
    if (log->num_pages % 64)
        g_assert_cmphex(bits[words - 1] >> (log->num_pages % 64), ==, 0);
    g_string_append_printf(f->log, "clear %u %" PRIx64 "+%u ", log->slot,
                           (uint64_t)log->first_page, log->num_pages);
    for (unsigned w = 0; w < words; w++)
        g_string_append_printf(f->log, "%s%" PRIx64, w ? "," : "", bits[w]);
    g_string_append_c(f->log, ';');
    return 0;
}

/* What KVM does on KVM_RESET_DIRTY_RINGS: harvested entries become free. */
static int fake_reset_dirty_rings(void *opaque)
{
    Fixture *f = opaque;
    int n = 0;

    for (unsigned i = 0; i < G_N_ELEMENTS(f->ring); i++) {
        if (f->ring[i].flags == KVM_DIRTY_GFN_F_RESET) {
            f->ring[i].flags = 0;
            n++;
        }
    }
    g_string_append_printf(f->log, "reset %d;", n);
    return n;
}

/* The slot KVM has at gpa's page; asserts there is one. */
static unsigned fake_slot_at(Fixture *f, uint64_t gpa)
{
    for (unsigned i = 0; i < FAKE_SLOTS; i++) {
        if (f->kvm[i].size && gpa >= f->kvm[i].gpa && gpa - f->kvm[i].gpa < f->kvm[i].size)
            return i;
    }
    g_assert_not_reached();
}

/* The guest writes gpa: KVM's bitmap learns of it. */
static void fake_guest_write(Fixture *f, uint64_t gpa)
{
    unsigned id = fake_slot_at(f, gpa);
    uint64_t page = (gpa - f->kvm[id].gpa) / PAGE;

    f->kvm_dirty[id][page / 64] |= 1ull << (page % 64);
}

/* The guest writes gpa: the ring learns of it. */
static void fake_ring_push(Fixture *f, uint32_t slot, uint64_t offset)
{
    struct kvm_dirty_gfn *e = &f->ring[f->ring_push++ % G_N_ELEMENTS(f->ring)];

    g_assert_cmpuint(e->flags, ==, 0); /* not full */
    e->slot = slot;
    e->offset = offset;
    __atomic_store_n(&e->flags, KVM_DIRTY_GFN_F_DIRTY, __ATOMIC_RELEASE);
}

static char *log_take(Fixture *f)
{
    char *s = g_strdup(f->log->str);
    g_string_truncate(f->log, 0);
    return s;
}

#define ASSERT_LOG(f, expected)                  \
    do {                                         \
        g_autofree char *got_ = log_take(f);     \
        g_assert_cmpstr(got_, ==, expected);     \
    } while (0)

static uint64_t io_read(void *opaque, uint64_t offset, unsigned size)
{
    return 0;
}

static void io_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
}

static const MemoryRegionOps io_ops = { .read = io_read, .write = io_write };

/* A 4 MiB block as a PC maps it: [0, 2 MiB) at 0 with a one-page device
 * at 0x5000 punched into it, [2 MiB, 4 MiB) at 4 GiB.  Three slots:
 *   A  0x0-0x5000        block pages 0..4
 *   B  0x6000-0x200000   block pages 6..511
 *   C  4 GiB + 2 MiB     block pages 512..1023 */
static void setup_mode(Fixture *f, DirtyTracking mode, uint32_t manual)
{
    g_autoptr(GError) err = NULL;

    f->log = g_string_new(NULL);
    f->block = ram_block_new("dl.ram", 4 * MiB, 4 * MiB, 0, NULL, &err);
    g_assert_no_error(err);
    f->system = memory_region_new_container("system", MR_SIZE_ALL);
    f->as = address_space_new("dirty-test", f->system);
    f->slots = kvm_memslots_new(-1, FAKE_SLOTS, fake_set_slot, f);
    kvm_memslots_set_dirty_tracking(f->slots, mode, manual);
    kvm_memslots_set_dirty_log_ops(f->slots, &(KvmDirtyLogOps){
        .get_dirty_log = fake_get_dirty_log,
        .clear_dirty_log = fake_clear_dirty_log,
        .reset_dirty_rings = fake_reset_dirty_rings,
        .opaque = f });
    memory_listener_register(kvm_memslots_listener(f->slots), f->as);

    memory_region_transaction_begin();
    f->ram = memory_region_new_ram("dl.ram", f->block);
    f->low = memory_region_new_alias("dl.low", f->ram, 0, 2 * MiB);
    f->high = memory_region_new_alias("dl.high", f->ram, 2 * MiB, 2 * MiB);
    f->hole = memory_region_new_io("dl.hole", PAGE, &io_ops, NULL);
    memory_region_add_subregion(f->system, 0, f->low);
    memory_region_add_subregion(f->system, 4 * GiB, f->high);
    memory_region_add_subregion_overlap(f->system, 0x5000, f->hole, 1);
    memory_region_transaction_commit();
    g_assert_cmpuint(kvm_memslots_count(f->slots), ==, 3);
    if (mode == DIRTY_TRACKING_RING)
        f->ring_reg = kvm_memslots_add_dirty_ring(f->slots, f->ring, G_N_ELEMENTS(f->ring));
}

static void setup_bitmap(Fixture *f, gconstpointer data)
{
    setup_mode(f, DIRTY_TRACKING_BITMAP,
               KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET);
}

static void setup_bitmap_auto(Fixture *f, gconstpointer data)
{
    setup_mode(f, DIRTY_TRACKING_BITMAP, 0);
}

static void setup_ring(Fixture *f, gconstpointer data)
{
    setup_mode(f, DIRTY_TRACKING_RING, 0);
}

static void teardown(Fixture *f, gconstpointer data)
{
    memory_global_dirty_log_stop();
    kvm_memslots_remove_dirty_ring(f->slots, f->ring_reg);
    memory_region_transaction_begin();
    memory_region_del_subregion(f->system, f->hole);
    if (f->high->parent)
        memory_region_del_subregion(f->system, f->high);
    memory_region_del_subregion(f->system, f->low);
    if (f->dimm_mr)
        memory_region_del_subregion(f->system, f->dimm_mr);
    memory_region_transaction_commit();
    kvm_memslots_free(f->slots);
    address_space_free(f->as);
    memory_region_free(f->hole);
    memory_region_free(f->high);
    memory_region_free(f->low);
    memory_region_free(f->ram);
    memory_region_free(f->dimm_mr);
    memory_region_free(f->system);
    ram_block_free(f->dimm);
    ram_block_free(f->block);
    g_string_free(f->log, TRUE);
}

/* Logging on, and everything the start marked dirty taken away. */
static void start_clean(Fixture *f)
{
    memory_global_dirty_log_start();
    for (unsigned i = 0; i < FAKE_SLOTS; i++) {
        if (f->kvm[i].size)
            g_assert_true(f->kvm[i].flags & KVM_MEM_LOG_DIRTY_PAGES);
    }
    memory_global_dirty_log_sync();
    /* Start: every page of every block counts as dirty. */
    g_assert_cmpuint(ram_block_dirty_count(f->block), ==, 1024);
    ram_block_dirty_clear_all(f->block);
    g_string_truncate(f->log, 0);
}

static void test_sync_offsets(Fixture *f, gconstpointer data)
{
    start_clean(f);
    fake_guest_write(f, 0x1000); /* A page 1: block page 1 */
    fake_guest_write(f, 0x6000); /* B page 0: block page 6 */
    fake_guest_write(f, 0x6000 + 63 * PAGE); /* B page 63: block page 69 */
    fake_guest_write(f, 0x6000 + 64 * PAGE); /* B page 64: block page 70 */
    fake_guest_write(f, 4 * GiB); /* C page 0: block page 512 */
    fake_guest_write(f, 4 * GiB + 2 * MiB - PAGE); /* C's last page: block page 1023 */
    memory_global_dirty_log_sync();
    ASSERT_DIRTY(f->block, "1,6,69,70,512,1023");
    ASSERT_LOG(f, ""); /* a sync never clears */

    /* Writes ferry makes through the address space count too. */
    ram_block_dirty_clear_all(f->block);
    memset(f->kvm_dirty, 0, sizeof(f->kvm_dirty));
    uint8_t byte = 1;
    g_assert_cmpint(address_space_write(f->as, 0x10000, &byte, 1), ==, MEMTX_OK);
    ASSERT_DIRTY(f->block, "16");
    /* And so do host writes through a pointer, once marked. */
    address_space_mark_dirty(f->as, 4 * GiB + 0x2fff, 2);
    address_space_mark_dirty(f->as, 0x4000, 3 * PAGE); /* over the hole */
    ASSERT_DIRTY(f->block, "4,6,16,514,515");
}

/* Taking a range clears exactly its dirty pages in KVM: one call per slot
 * it touches, over that slot's 64-page chunks. */
static void test_take_clears_in_chunks(Fixture *f, gconstpointer data)
{
    unsigned a = fake_slot_at(f, 0), b = fake_slot_at(f, 0x6000), c = fake_slot_at(f, 4 * GiB);
    uint64_t bits[16];
    g_autofree char *expected = NULL;

    start_clean(f);
    /* Block pages 64..127 are B's pages 58..121: its chunks 0 and 64. */
    ram_block_dirty_set_range(f->block, 64, 64);
    g_assert_cmpuint(memory_global_dirty_log_take(f->block, 64, 64, bits), ==, 64);
    g_assert_cmphex(bits[0], ==, UINT64_MAX);
    expected = g_strdup_printf("clear %u 0+128 fc00000000000000,3ffffffffffffff;", b);
    ASSERT_LOG(f, expected);

    /* Block pages 1, 6, 7: A's page 1 (A has 5 pages: a short chunk) and
     * B's pages 0 and 1. */
    ram_block_dirty_set_range(f->block, 1, 1);
    ram_block_dirty_set_range(f->block, 6, 2);
    g_assert_cmpuint(memory_global_dirty_log_take(f->block, 0, 64, bits), ==, 3);
    g_assert_cmphex(bits[0], ==, 0xc2);
    g_free(expected);
    expected = g_strdup_printf("clear %u 0+5 2;clear %u 0+64 3;", a, b);
    ASSERT_LOG(f, expected);

    /* B's end: 506 pages, so the range stops short at 0x180 + 122. */
    ram_block_dirty_set_range(f->block, 448, 64);
    g_assert_cmpuint(memory_global_dirty_log_take(f->block, 448, 64, bits), ==, 64);
    g_free(expected);
    expected = g_strdup_printf("clear %u 180+122 fc00000000000000,3ffffffffffffff;", b);
    ASSERT_LOG(f, expected);

    /* Nothing dirty: nothing cleared, the pages stay armed as they are. */
    g_assert_cmpuint(memory_global_dirty_log_take(f->block, 128, 64, bits), ==, 0);
    ASSERT_LOG(f, "");

    /* One range over B's tail and the high alias C: a call each, and the
     * clear pages between stay armed. */
    ram_block_dirty_set_range(f->block, 500, 2);
    ram_block_dirty_set_range(f->block, 513, 1);
    ram_block_dirty_set_range(f->block, 1000, 24);
    g_assert_cmpuint(memory_global_dirty_log_take(f->block, 448, 576, bits), ==, 27);
    g_free(expected);
    expected = g_strdup_printf("clear %u 180+122 0,c00000000000;"
                               "clear %u 0+512 2,0,0,0,0,0,0,ffffff0000000000;", b, c);
    ASSERT_LOG(f, expected);
}

/* Without manual protection KVM re-protects at GET_DIRTY_LOG: no clears. */
static void test_no_manual_protect(Fixture *f, gconstpointer data)
{
    uint64_t bits[2];

    start_clean(f);
    ram_block_dirty_set_range(f->block, 0, 128);
    g_assert_cmpuint(memory_global_dirty_log_take(f->block, 0, 128, bits), ==, 128);
    ASSERT_LOG(f, "");
}

/* RAM plugged while logging is on is logged and all dirty; the rest
 * stays as it was. */
static void test_added_while_logging(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;

    start_clean(f);
    f->dimm = ram_block_new("dl.dimm", 1 * MiB, 1 * MiB, 0, NULL, &err);
    g_assert_no_error(err);
    f->dimm_mr = memory_region_new_ram("dl.dimm", f->dimm);
    memory_region_add_subregion(f->system, 1 * GiB, f->dimm_mr);
    unsigned id = fake_slot_at(f, 1 * GiB);
    g_assert_true(f->kvm[id].flags & KVM_MEM_LOG_DIRTY_PAGES);
    g_assert_cmpuint(ram_block_dirty_count(f->dimm), ==, 256);
    g_assert_cmpuint(ram_block_dirty_count(f->block), ==, 0);

    /* And its pages sync into its own block. */
    ram_block_dirty_clear_all(f->dimm);
    fake_guest_write(f, 1 * GiB + 5 * PAGE);
    memory_global_dirty_log_sync();
    ASSERT_DIRTY(f->dimm, "5");
    ASSERT_DIRTY(f->block, "");

    /* Logging stops: the flag goes, in place. */
    memory_global_dirty_log_stop();
    for (unsigned i = 0; i < FAKE_SLOTS; i++)
        g_assert_false(f->kvm[i].flags & KVM_MEM_LOG_DIRTY_PAGES);
}

/* A logged slot that goes away gives up its dirty pages first. */
static void test_removed_while_logging(Fixture *f, gconstpointer data)
{
    start_clean(f);
    fake_guest_write(f, 4 * GiB + 3 * PAGE); /* C page 3: block page 515 */
    memory_region_del_subregion(f->system, f->high);
    ASSERT_DIRTY(f->block, "515");
}

static void test_ring_reap(Fixture *f, gconstpointer data)
{
    unsigned a = fake_slot_at(f, 0), b = fake_slot_at(f, 0x6000), c = fake_slot_at(f, 4 * GiB);
    g_autofree char *expected = NULL;

    start_clean(f);
    fake_ring_push(f, a, 1); /* block page 1 */
    fake_ring_push(f, b, 0); /* block page 6 */
    fake_ring_push(f, c, 511); /* block page 1023 */
    fake_ring_push(f, 7, 0); /* no such slot: dropped */
    fake_ring_push(f, b, 506); /* past B's end: dropped */
    fake_ring_push(f, (1u << 16) | a, 2); /* another address space: dropped */
    memory_global_dirty_log_sync();
    ASSERT_DIRTY(f->block, "1,6,1023");
    ASSERT_LOG(f, "reset 6;");
    for (unsigned i = 0; i < G_N_ELEMENTS(f->ring); i++)
        g_assert_cmpuint(f->ring[i].flags, ==, 0);

    /* Around the end of the ring, one ring at a time (the ring-full exit). */
    ram_block_dirty_clear_all(f->block);
    for (unsigned i = 0; i < 5; i++)
        fake_ring_push(f, b, 10 + i);
    g_assert_cmpuint(kvm_memslots_reap_dirty_ring(f->slots, f->ring_reg), ==, 5);
    ASSERT_DIRTY(f->block, "16,17,18,19,20");
    ASSERT_LOG(f, "reset 5;");
    /* An empty ring: no reset. */
    g_assert_cmpuint(kvm_memslots_reap_dirty_rings(f->slots), ==, 0);
    ASSERT_LOG(f, "");

    /* Nothing to clear in ring mode. */
    uint64_t bits[1];
    ram_block_dirty_set_range(f->block, 0, 64);
    g_assert_cmpuint(memory_global_dirty_log_take(f->block, 0, 64, bits), ==, 64);
    ASSERT_LOG(f, "");

    /* A slot that goes away: the rings are reaped while its id still
     * means it, before the id can be reused. */
    ram_block_dirty_clear_all(f->block);
    fake_ring_push(f, c, 3); /* block page 515 */
    memory_region_del_subregion(f->system, f->high);
    ASSERT_DIRTY(f->block, "515");
    g_free(expected);
    expected = g_strdup_printf("reset 1;");
    ASSERT_LOG(f, expected);
}

/* ---- a real guest -------------------------------------------------------- */

#define CODE_ADDR 0x1000
#define LIST_ADDR 0x2000 /* 32-bit addresses to write one byte at, 0-terminated */
#define LIST_MAX 8192
#define GEN_ADDR 0xa000 /* the host bumps it to start a pass */
#define DONE_PORT 0x80
#define TICK_PORT 0x81 /* unassigned: an exit, nothing else */
#define VM_RAM (32 * MiB)

/* 32-bit flat protected mode, no stack, no writes but the listed ones:
 *   top:  mov esi, LIST
 *   next: lodsd; test eax, eax; jz done; mov [eax], al; out TICK_PORT, al; jmp next
 *   done: mov eax, [GEN]; out DONE_PORT, al
 *   wait: cmp [GEN], eax; je wait; jmp top
 * The exit after every write matters on hosts where KVM emulates guest
 * ring 0 (PVM): its emulator pushes dirty-ring entries without checking
 * for a full ring between instructions, so a long exit-free run of writes
 * overflows the ring in the kernel (a WARN in kvm_dirty_ring_push, lost
 * entries).  An exit lets KVM raise KVM_EXIT_DIRTY_RING_FULL in time. */
static const uint8_t guest_code[] = {
    0xbe, 0x00, 0x20, 0x00, 0x00, /* 00 mov esi, 0x2000 */
    0xad, /* 05 lodsd */
    0x85, 0xc0, /* 06 test eax, eax */
    0x74, 0x06, /* 08 jz 0x10 */
    0x88, 0x00, /* 0a mov [eax], al */
    0xe6, TICK_PORT, /* 0c out TICK_PORT, al */
    0xeb, 0xf5, /* 0e jmp 0x05 */
    0xa1, 0x00, 0xa0, 0x00, 0x00, /* 10 mov eax, [0xa000] */
    0xe6, DONE_PORT, /* 15 out DONE_PORT, al */
    0x39, 0x05, 0x00, 0xa0, 0x00, 0x00, /* 17 cmp [0xa000], eax */
    0x74, 0xf8, /* 1d je 0x17 */
    0xeb, 0xdf, /* 1f jmp 0x00 */
};

typedef struct DirtyVm {
    Kvm *kvm;
    RamBlock *ram;
    MemoryRegion *system, *io_root, *ram_mr, *done;
    AddressSpace *memory, *io;
    KvmMemslots *slots;
    Vcpus *vcpus;
    int done_gen; /* the last generation the guest finished */
} DirtyVm;

static uint64_t done_read(void *opaque, uint64_t offset, unsigned size)
{
    return 0;
}

static void done_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    DirtyVm *vm = opaque;
    g_atomic_int_set(&vm->done_gen, (int)(value & 0xff));
}

static const MemoryRegionOps done_ops = { .read = done_read, .write = done_write };

static void set_flat_segment(struct kvm_segment *seg, uint16_t selector, uint8_t type)
{
    *seg = (struct kvm_segment){
        .base = 0, .limit = 0xffffffff, .selector = selector, .type = type,
        .present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
    };
}

static void dirty_vm_init(DirtyVm *vm, DirtyTracking mode, unsigned ring_entries)
{
    g_autoptr(GError) err = NULL;
    struct kvm_sregs sregs;
    struct kvm_regs regs = { .rip = CODE_ADDR, .rflags = 2 };

    vm->kvm = kvm_open(&err);
    g_assert_no_error(err);
    if (!kvm_enable_dirty_tracking(vm->kvm, mode, ring_entries, &err))
        g_error("this host cannot do --dirty-tracking %s: %s", dirty_tracking_name(mode),
                err->message);
    vm->ram = ram_block_new("dirty.ram", VM_RAM, VM_RAM, 0, NULL, &err);
    g_assert_no_error(err);
    memcpy(vm->ram->host + CODE_ADDR, guest_code, sizeof(guest_code));
    vm->system = memory_region_new_container("system", MR_SIZE_ALL);
    vm->io_root = memory_region_new_container("io", 0x10000);
    vm->memory = address_space_new("memory", vm->system);
    vm->io = address_space_new("I/O", vm->io_root);
    vm->slots = kvm_memslots_new(vm->kvm->vm_fd, vm->kvm->nr_memslots, NULL, NULL);
    kvm_memslots_set_dirty_tracking(vm->slots, vm->kvm->dirty_tracking,
                                    vm->kvm->dirty_log_manual);
    memory_listener_register(kvm_memslots_listener(vm->slots), vm->memory);
    vm->ram_mr = memory_region_new_ram("dirty.ram", vm->ram);
    memory_region_add_subregion(vm->system, 0, vm->ram_mr);
    vm->done = memory_region_new_io("done", 1, &done_ops, vm);
    memory_region_add_subregion(vm->io_root, DONE_PORT, vm->done);

    vm->vcpus = vcpus_new(&(VcpusConfig){ .kvm = vm->kvm, .count = 1, .memory = vm->memory,
                                          .io = vm->io, .memslots = vm->slots }, &err);
    g_assert_no_error(err);
    Vcpu *bsp = vcpus_get(vm->vcpus, 0);
    g_assert_true((mode == DIRTY_TRACKING_RING) == (bsp->dirty_gfns != NULL));
    g_assert_cmpint(ioctl(bsp->fd, KVM_GET_SREGS, &sregs), ==, 0);
    set_flat_segment(&sregs.cs, 0x08, 0xb);
    set_flat_segment(&sregs.ds, 0x10, 0x3);
    sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
    sregs.cr0 |= 1; /* PE, no paging */
    g_assert_cmpint(ioctl(bsp->fd, KVM_SET_SREGS, &sregs), ==, 0);
    g_assert_cmpint(ioctl(bsp->fd, KVM_SET_REGS, &regs), ==, 0);
}

static void dirty_vm_free(DirtyVm *vm)
{
    memory_global_dirty_log_stop();
    vcpus_free(vm->vcpus);
    memory_region_del_subregion(vm->io_root, vm->done);
    memory_region_del_subregion(vm->system, vm->ram_mr);
    kvm_memslots_free(vm->slots);
    address_space_free(vm->memory);
    address_space_free(vm->io);
    memory_region_free(vm->done);
    memory_region_free(vm->ram_mr);
    memory_region_free(vm->system);
    memory_region_free(vm->io_root);
    ram_block_free(vm->ram);
    kvm_close(vm->kvm);
}

/* What migration does with each block: take every dirty chunk (which
 * re-arms those pages in KVM) and "send" it. */
static void drain(DirtyVm *vm)
{
    uint64_t bits[8];

    for (uint64_t p = 0; p < ram_block_dirty_pages(vm->ram); p += 512)
        memory_global_dirty_log_take(vm->ram, p, 512, bits);
    g_assert_cmpuint(ram_block_dirty_count(vm->ram), ==, 0);
}

/* Hand the guest a list of pages to write, let it run one pass, pause it. */
static void run_pass(DirtyVm *vm, int gen, const uint64_t *pages, unsigned n, bool first)
{
    uint32_t *list = (uint32_t *)(vm->ram->host + LIST_ADDR);

    g_assert_cmpuint(n, <, LIST_MAX);
    for (unsigned i = 0; i < n; i++)
        list[i] = (uint32_t)(pages[i] * PAGE + (i % 7) * 8);
    list[n] = 0;
    __atomic_store_n((uint32_t *)(vm->ram->host + GEN_ADDR), (uint32_t)gen, __ATOMIC_RELEASE);
    if (first)
        vcpus_start(vm->vcpus);
    else
        vcpus_resume(vm->vcpus);
    /* meson's timeout ends a hang */
    while (g_atomic_int_get(&vm->done_gen) != gen)
        g_usleep(1000);
    vcpus_pause(vm->vcpus);
    for (unsigned i = 0; i < n; i++)
        g_assert_cmpuint(vm->ram->host[pages[i] * PAGE + (i % 7) * 8], ==, (uint8_t)((i % 7) * 8));
}

static char *pages_text(const uint64_t *pages, unsigned n)
{
    GString *out = g_string_new(NULL);
    for (unsigned i = 0; i < n; i++)
        g_string_append_printf(out, "%s%" PRIu64, i ? "," : "", pages[i]);
    return g_string_free(out, FALSE);
}

static void check_guest_writes(DirtyTracking mode)
{
    static const uint64_t first[] = { 0x10, 0x11, 0x40, 0x3ff, 0x400, 0x7ff };
    static const uint64_t second[] = { 0x5, 0x80, 0x81, 0x100, 0x555 };
    DirtyVm vm = { 0 };
    g_autofree char *want1 = pages_text(first, G_N_ELEMENTS(first));
    g_autofree char *want2 = pages_text(second, G_N_ELEMENTS(second));

    dirty_vm_init(&vm, mode, 0);
    memory_global_dirty_log_start();
    g_assert_cmpuint(ram_block_dirty_count(vm.ram), ==, VM_RAM / PAGE);
    memory_global_dirty_log_sync();
    drain(&vm);

    run_pass(&vm, 1, first, G_N_ELEMENTS(first), true);
    memory_global_dirty_log_sync();
    ASSERT_DIRTY(vm.ram, want1);
    drain(&vm);
    memory_global_dirty_log_sync();
    ASSERT_DIRTY(vm.ram, ""); /* taken means re-armed: nothing comes back */

    /* Only the pages of the second pass, and the first pass's pages again
     * when the guest rewrites one of them. */
    run_pass(&vm, 2, second, G_N_ELEMENTS(second), false);
    memory_global_dirty_log_sync();
    ASSERT_DIRTY(vm.ram, want2);
    drain(&vm);

    run_pass(&vm, 3, first, 1, false);
    memory_global_dirty_log_sync();
    ASSERT_DIRTY(vm.ram, "16");
    dirty_vm_free(&vm);
}

static void test_kvm_bitmap(void)
{
    check_guest_writes(DIRTY_TRACKING_BITMAP);
}

static void test_kvm_ring(void)
{
    check_guest_writes(DIRTY_TRACKING_RING);
}

/* A small ring and a guest that dirties more pages than it holds: the vCPU
 * exits with KVM_EXIT_DIRTY_RING_FULL, reaps its ring and goes on; no page
 * is lost. */
static void test_kvm_ring_full(void)
{
    enum { N = 1800, RING_ENTRIES = 1024 };
    g_autofree uint64_t *pages = g_new(uint64_t, N);
    DirtyVm vm = { 0 };

    for (unsigned i = 0; i < N; i++)
        pages[i] = 0x10 + i; /* 0x10000 up to about 7.1 MiB */
    dirty_vm_init(&vm, DIRTY_TRACKING_RING, RING_ENTRIES);
    g_assert_cmpuint(vm.kvm->dirty_ring_bytes, ==, RING_ENTRIES * sizeof(struct kvm_dirty_gfn));
    memory_global_dirty_log_start();
    memory_global_dirty_log_sync();
    drain(&vm);

    run_pass(&vm, 1, pages, N, true);
    unsigned before = (unsigned)ram_block_dirty_count(vm.ram);
    unsigned full = __atomic_load_n(&vcpus_get(vm.vcpus, 0)->dirty_ring_full_exits,
                                    __ATOMIC_RELAXED);
    memory_global_dirty_log_sync();
    g_test_message("%u ring-full exits for %u pages; %u of them reaped by the vCPU", full,
                   (unsigned)N, before);
    g_assert_cmpuint(ram_block_dirty_count(vm.ram), ==, N);
    for (unsigned i = 0; i < N; i++)
        g_assert_true(ram_block_dirty_test(vm.ram, pages[i]));
    g_assert_cmpuint(full, >=, 1);
    dirty_vm_free(&vm);
}

/* The design notes promise both mechanisms on this host; say so loudly if
 * it changes rather than skip. */
static void test_host_caps(void)
{
    g_autoptr(GError) err = NULL;
    Kvm *kvm = kvm_open(&err);

    g_assert_no_error(err);
    int manual = kvm_check_cap(kvm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
    int ring = kvm_check_cap(kvm, KVM_CAP_DIRTY_LOG_RING);
    int ring_acq_rel = kvm_check_cap(kvm, KVM_CAP_DIRTY_LOG_RING_ACQ_REL);
    g_test_message("MANUAL_DIRTY_LOG_PROTECT2=0x%x DIRTY_LOG_RING=%d DIRTY_LOG_RING_ACQ_REL=%d",
                   manual, ring, ring_acq_rel);
    if (!(manual & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE))
        g_error("this host's KVM lacks KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2");
    if (ring <= 0 && ring_acq_rel <= 0)
        g_error("this host's KVM lacks the dirty ring (KVM_CAP_DIRTY_LOG_RING[_ACQ_REL])");
    kvm_close(kvm);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/dirty-log/bitmap-helpers", test_bitmap_helpers);
    g_test_add("/dirty-log/fake/sync-offsets", Fixture, NULL, setup_bitmap, test_sync_offsets,
               teardown);
    g_test_add("/dirty-log/fake/take-clears-in-chunks", Fixture, NULL, setup_bitmap,
               test_take_clears_in_chunks, teardown);
    g_test_add("/dirty-log/fake/no-manual-protect", Fixture, NULL, setup_bitmap_auto,
               test_no_manual_protect, teardown);
    g_test_add("/dirty-log/fake/added-while-logging", Fixture, NULL, setup_bitmap,
               test_added_while_logging, teardown);
    g_test_add("/dirty-log/fake/removed-while-logging", Fixture, NULL, setup_bitmap,
               test_removed_while_logging, teardown);
    g_test_add("/dirty-log/fake/ring-reap", Fixture, NULL, setup_ring, test_ring_reap, teardown);
    g_test_add_func("/dirty-log/kvm/host-caps", test_host_caps);
    g_test_add_func("/dirty-log/kvm/bitmap", test_kvm_bitmap);
    g_test_add_func("/dirty-log/kvm/ring", test_kvm_ring);
    g_test_add_func("/dirty-log/kvm/ring-full", test_kvm_ring_full);
    return g_test_run();
}
