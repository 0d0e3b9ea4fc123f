/* The KVM memslot listener, against a fake KVM_SET_USER_MEMORY_REGION. */
#include <glib.h>
#include <inttypes.h>
#include <string.h>

#include "mem/kvm_memslots.h"

#define KiB (1024ull)
#define MiB (1024ull * KiB)
#define FAKE_HOST 0x10000000ull

typedef struct Fixture {
    RamBlock ram_block, rom_block;
    MemoryRegion *system, *ram, *rom;
    AddressSpace *as;
    KvmMemslots *slots;
    GString *log; /* set_slot calls and quiesce, in order */
} Fixture;

/* "set ID GPA+SIZE @HOSTOFFSET FLAGS;" with host offsets from FAKE_HOST. */
static int fake_set_slot(void *opaque, const struct kvm_userspace_memory_region *slot)
{
    Fixture *f = opaque;
    g_string_append_printf(f->log, "set %u %llx+%llx @%llx%s%s;", slot->slot,
                           (unsigned long long)slot->guest_phys_addr,
                           (unsigned long long)slot->memory_size,
                           (unsigned long long)(slot->userspace_addr - FAKE_HOST),
                           (slot->flags & KVM_MEM_READONLY) ? " ro" : "",
                           (slot->flags & KVM_MEM_LOG_DIRTY_PAGES) ? " log" : "");
    return 0;
}

static void fake_pause(void *opaque)
{
    g_string_append(((Fixture *)opaque)->log, "pause;");
}

static void fake_resume(void *opaque)
{
    g_string_append(((Fixture *)opaque)->log, "resume;");
}

static char *log_take(Fixture *f)
{
    char *s = g_strdup(f->log->str);
    g_string_truncate(f->log, 0);
    return s;
}

static void log_clear(Fixture *f)
{
    g_string_truncate(f->log, 0);
}

#define ASSERT_LOG(f, expected)                  \
    do {                                         \
        g_autofree char *got_ = log_take(f);     \
        g_assert_cmpstr(got_, ==, expected);     \
    } while (0)

/* Blocks that only carry a (page-aligned) host address: the listener
 * never touches guest memory. */
static void fake_block(RamBlock *b, const char *name, uint64_t size, uint64_t host)
{
    *b = (RamBlock){
        .idstr = (char *)name,
        .page_size = 4096,
        .used_length = size,
        .max_length = size,
        .host = (uint8_t *)(uintptr_t)host,
        .fd = -1,
    };
}

static void setup_slots(Fixture *f, unsigned max_slots)
{
    f->log = g_string_new(NULL);
    fake_block(&f->ram_block, "kvm.ram", 1 * MiB, FAKE_HOST);
    fake_block(&f->rom_block, "kvm.rom", 64 * KiB, FAKE_HOST + 16 * MiB);
    f->system = memory_region_new_container("system", MR_SIZE_ALL);
    f->ram = memory_region_new_ram("ram", &f->ram_block);
    f->rom = memory_region_new_rom("rom", &f->rom_block);
    memory_region_add_subregion(f->system, 0, f->ram);
    f->as = address_space_new("kvm-test", f->system);

    f->slots = kvm_memslots_new(-1, max_slots, fake_set_slot, f);
    KvmMemslotsQuiesce quiesce = { .pause = fake_pause, .resume = fake_resume, .opaque = f };
    kvm_memslots_set_quiesce(f->slots, &quiesce);
    memory_listener_register(kvm_memslots_listener(f->slots), f->as);
}

static void setup(Fixture *f, gconstpointer data)
{
    setup_slots(f, 32);
}

static void teardown(Fixture *f, gconstpointer data)
{
    kvm_memslots_free(f->slots);
    address_space_free(f->as);
    if (f->rom->parent)
        memory_region_del_subregion(f->system, f->rom);
    memory_region_del_subregion(f->system, f->ram);
    memory_region_free(f->rom);
    memory_region_free(f->ram);
    memory_region_free(f->system);
    g_string_free(f->log, TRUE);
}

static uint64_t io_read(void *opaque, uint64_t offset, unsigned size)
{
    return 0;
}

static void io_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
}

static const MemoryRegionOps io_ops = { .read = io_read, .write = io_write };

static void test_initial_add(Fixture *f, gconstpointer data)
{
    /* Registering replays the RAM that is already there; adding needs no
     * quiesce. */
    ASSERT_LOG(f, "set 0 0+100000 @0;");
    g_assert_cmpuint(kvm_memslots_count(f->slots), ==, 1);
}

static void test_split_and_merge(Fixture *f, gconstpointer data)
{
    MemoryRegion *overlay = memory_region_new_io("overlay", 0x1000, &io_ops, NULL);
    log_clear(f);

    memory_region_add_subregion_overlap(f->system, 0x4000, overlay, 1);
    ASSERT_LOG(f, "pause;set 0 0+0 @0;set 0 0+4000 @0;set 1 5000+fb000 @5000;resume;");
    g_assert_cmpuint(kvm_memslots_count(f->slots), ==, 2);

    memory_region_del_subregion(f->system, overlay);
    ASSERT_LOG(f, "pause;set 0 0+0 @0;set 1 5000+0 @5000;set 0 0+100000 @0;resume;");
    g_assert_cmpuint(kvm_memslots_count(f->slots), ==, 1);
    memory_region_free(overlay);
}

static void test_readonly(Fixture *f, gconstpointer data)
{
    log_clear(f);
    memory_region_add_subregion(f->system, 0x200000, f->rom);
    ASSERT_LOG(f, "set 1 200000+10000 @1000000 ro;");

    /* A read-only alias of RAM maps read-only too, as a replacement. */
    MemoryRegion *pam = memory_region_new_alias("pam", f->ram, 0xe0000, 0x20000);
    memory_region_set_readonly(pam, true);
    memory_region_add_subregion_overlap(f->system, 0xe0000, pam, 1);
    ASSERT_LOG(f, "pause;set 0 0+0 @0;set 0 0+e0000 @0;set 2 e0000+20000 @e0000 ro;"
                  "resume;");
    memory_region_del_subregion(f->system, pam);
    memory_region_free(pam);
}

static void test_unaligned_trimmed(Fixture *f, gconstpointer data)
{
    MemoryRegion *overlay = memory_region_new_io("odd", 0x100, &io_ops, NULL);
    log_clear(f);

    memory_region_add_subregion_overlap(f->system, 0x4800, overlay, 1);
    /* RAM now ends at 0x4800 and resumes at 0x4900: the page edges around
     * the device stay out of the slots. */
    ASSERT_LOG(f, "pause;set 0 0+0 @0;set 0 0+4000 @0;set 1 5000+fb000 @5000;resume;");

    /* RAM smaller than a page never becomes a slot. */
    RamBlock tiny_block;
    fake_block(&tiny_block, "tiny", 0x800, FAKE_HOST + 32 * MiB);
    MemoryRegion *tiny = memory_region_new_ram("tiny", &tiny_block);
    memory_region_add_subregion(f->system, 0x300000, tiny);
    ASSERT_LOG(f, "");

    /* Guest and host offsets that disagree within a page cannot map. */
    MemoryRegion *skew = memory_region_new_alias("skew", f->ram, 0x800, 0x8000);
    memory_region_add_subregion(f->system, 0x400000, skew);
    ASSERT_LOG(f, "");
    g_assert_cmpuint(kvm_memslots_count(f->slots), ==, 2);

    memory_region_transaction_begin();
    memory_region_del_subregion(f->system, skew);
    memory_region_del_subregion(f->system, tiny);
    memory_region_del_subregion(f->system, overlay);
    memory_region_transaction_commit();
    memory_region_free(skew);
    memory_region_free(tiny);
    memory_region_free(overlay);
}

static void test_unrelated_commit(Fixture *f, gconstpointer data)
{
    MemoryRegion *dev = memory_region_new_io("dev", 0x1000, &io_ops, NULL);
    log_clear(f);

    memory_region_add_subregion(f->system, 0xfec00000, dev);
    ASSERT_LOG(f, ""); /* no ioctl, no quiesce */
    memory_region_del_subregion(f->system, dev);
    ASSERT_LOG(f, "");
    g_assert_cmpuint(kvm_memslots_count(f->slots), ==, 1);
    memory_region_free(dev);
}

static void test_dirty_log(Fixture *f, gconstpointer data)
{
    memory_region_add_subregion(f->system, 0x200000, f->rom);
    log_clear(f);

    /* Flags-only changes happen in place: same slot ids, no quiesce. */
    memory_global_dirty_log_start();
    ASSERT_LOG(f, "set 0 0+100000 @0 log;set 1 200000+10000 @1000000 ro log;");

    /* RAM that appears while logging is on is logged from the start. */
    MemoryRegion *overlay = memory_region_new_io("overlay", 0x1000, &io_ops, NULL);
    memory_region_add_subregion_overlap(f->system, 0x4000, overlay, 1);
    ASSERT_LOG(f, "pause;set 0 0+0 @0 log;set 0 0+4000 @0 log;set 2 5000+fb000 @5000 log;resume;");

    memory_global_dirty_log_stop();
    ASSERT_LOG(f, "set 0 0+4000 @0;set 2 5000+fb000 @5000;set 1 200000+10000 @1000000 ro;");

    memory_region_del_subregion(f->system, overlay);
    memory_region_free(overlay);
}

static void test_format(Fixture *f, gconstpointer data)
{
    memory_region_add_subregion(f->system, 0x200000, f->rom);
    g_autoptr(GString) out = g_string_new(NULL);
    kvm_memslots_format(f->slots, out);

    g_assert_true(g_str_has_prefix(out->str, "slot  guest physical"));
    g_autofree char *ram_row = g_strdup_printf(
        "   0  0x0000000000000000-0x00000000000fffff  0x0000000000100000  0x%016llx  rw      ram\n",
        FAKE_HOST);
    g_assert_nonnull(strstr(out->str, ram_row));
    g_assert_nonnull(strstr(out->str, "  ro      rom\n"));
    g_assert_null(strstr(out->str, "out of slots"));
}

static void setup_two_slots(Fixture *f, gconstpointer data)
{
    setup_slots(f, 2);
}

static void test_out_of_slots(Fixture *f, gconstpointer data)
{
    MemoryRegion *more = memory_region_new_alias("more", f->ram, 0, 0x10000);
    log_clear(f);

    memory_region_add_subregion(f->system, 0x200000, f->rom);
    memory_region_add_subregion(f->system, 0x400000, more); /* a third slot: none left */
    g_assert_cmpuint(kvm_memslots_count(f->slots), ==, 2);
    ASSERT_LOG(f, "set 1 200000+10000 @1000000 ro;");

    g_autoptr(GString) out = g_string_new(NULL);
    kvm_memslots_format(f->slots, out);
    g_assert_nonnull(strstr(out->str, "out of slots (max 2): 1 RAM ranges not mapped"));

    /* A slot frees up: the waiting range gets it at the next commit. */
    memory_region_del_subregion(f->system, f->rom);
    ASSERT_LOG(f, "pause;set 1 200000+0 @1000000 ro;set 1 400000+10000 @0;resume;");
    g_assert_cmpuint(kvm_memslots_count(f->slots), ==, 2);

    memory_region_del_subregion(f->system, more);
    memory_region_free(more);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add("/kvm-memslots/initial-add", Fixture, NULL, setup, test_initial_add, teardown);
    g_test_add("/kvm-memslots/split-and-merge", Fixture, NULL, setup, test_split_and_merge,
               teardown);
    g_test_add("/kvm-memslots/readonly", Fixture, NULL, setup, test_readonly, teardown);
    g_test_add("/kvm-memslots/unaligned-trimmed", Fixture, NULL, setup, test_unaligned_trimmed,
               teardown);
    g_test_add("/kvm-memslots/unrelated-commit", Fixture, NULL, setup, test_unrelated_commit,
               teardown);
    g_test_add("/kvm-memslots/dirty-log", Fixture, NULL, setup, test_dirty_log, teardown);
    g_test_add("/kvm-memslots/format", Fixture, NULL, setup, test_format, teardown);
    g_test_add("/kvm-memslots/out-of-slots", Fixture, NULL, setup_two_slots, test_out_of_slots,
               teardown);
    return g_test_run();
}
