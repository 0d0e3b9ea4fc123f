/* Memory backends, the hotplug window and PC-DIMM plug/unplug, with the
 * KVM memslot listener behind a fake KVM_SET_USER_MEMORY_REGION. */
#include <glib.h>
#include <glib/gstdio.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "hw/device_memory.h"
#include "hw/memory_backend.h"
#include "hw/pc_dimm.h"
#include "mem/kvm_memslots.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

typedef struct Fixture {
    GuestRam *g; /* 2 MiB of boot RAM at 0, in g->system */
    KvmMemslots *slots;
    GString *log; /* fake set_slot calls: "add GPA+SIZE;" / "del GPA;" */
    DeviceMemory *dm;
    unsigned blocks_at_start; /* ram_block_list() length after set-up */
} Fixture;

static int fake_set_slot(void *opaque, const struct kvm_userspace_memory_region *slot)
{
    Fixture *f = opaque;

    if (slot->memory_size)
        g_string_append_printf(f->log, "add %llx+%llx;", (unsigned long long)slot->guest_phys_addr,
                               (unsigned long long)slot->memory_size);
    else
        g_string_append_printf(f->log, "del %llx;", (unsigned long long)slot->guest_phys_addr);
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

#define ASSERT_LOG(f, expected)                      \
    do {                                             \
        g_assert_cmpstr((f)->log->str, ==, expected); \
        g_string_truncate((f)->log, 0);              \
    } while (0)

static void setup(Fixture *f, gconstpointer data)
{
    f->g = guest_ram_new("dimm-test", 2 * MiB, 0);
    f->log = g_string_new(NULL);
    f->slots = kvm_memslots_new(-1, 32, fake_set_slot, f);
    KvmMemslotsQuiesce quiesce = { .pause = fake_pause, .resume = fake_resume, .opaque = f };
    kvm_memslots_set_quiesce(f->slots, &quiesce);
    memory_listener_register(kvm_memslots_listener(f->slots), f->g->as);
    g_assert_cmpuint(kvm_memslots_count(f->slots), ==, 1);
    g_string_truncate(f->log, 0);
    f->blocks_at_start = g_list_length(ram_block_list());
}

static void free_backend(MemoryBackend *backend, void *opaque)
{
    g_ptr_array_add(opaque, backend);
}

static void free_all_backends(void)
{
    g_autoptr(GPtrArray) all = g_ptr_array_new();
    memory_backends_foreach(free_backend, all);
    for (unsigned i = 0; i < all->len; i++)
        memory_backend_free(g_ptr_array_index(all, i));
}

static void teardown(Fixture *f, gconstpointer data)
{
    device_memory_free(f->dm);
    free_all_backends();
    g_assert_cmpuint(g_list_length(ram_block_list()), ==, f->blocks_at_start);
    kvm_memslots_free(f->slots);
    guest_ram_free(f->g);
    g_string_free(f->log, TRUE);
}

/* The window of a guest with `ram` bytes (all below 4 GiB) and `maxmem`. */
static void make_window(Fixture *f, uint64_t ram, uint64_t maxmem, unsigned slots)
{
    DeviceMemoryWindow window;
    g_autoptr(GError) err = NULL;

    g_assert_true(device_memory_window_for(ram, 0, maxmem, slots, &window, &err));
    g_assert_no_error(err);
    f->dm = device_memory_new(f->g->system, &window);
    ASSERT_LOG(f, ""); /* an empty container maps nothing */
}

static MemoryBackend *new_ram_backend(const char *id, uint64_t size)
{
    g_autoptr(GError) err = NULL;
    MemoryBackendConfig cfg = { .kind = MEMORY_BACKEND_RAM, .id = id, .size = size };
    MemoryBackend *backend = memory_backend_new(&cfg, &err);

    g_assert_no_error(err);
    g_assert_nonnull(backend);
    return backend;
}

static PcDimm *plug(Fixture *f, const char *id, const char *memdev)
{
    g_autoptr(GError) err = NULL;
    PcDimmConfig cfg = { .id = id, .memdev = memdev, .slot = -1 };
    PcDimm *dimm = pc_dimm_plug(f->dm, &cfg, &err);

    g_assert_no_error(err);
    g_assert_nonnull(dimm);
    return dimm;
}

/* Plug must fail with exactly `expected` and change nothing. */
static void assert_plug_fails(Fixture *f, const PcDimmConfig *cfg, const char *expected)
{
    g_autoptr(GError) err = NULL;
    unsigned dimms = f->dm ? device_memory_dimm_count(f->dm) : 0;
    uint64_t plugged = f->dm ? device_memory_plugged_size(f->dm) : 0;
    MemoryBackend *backend = cfg->memdev ? memory_backend_find(cfg->memdev) : NULL;
    const char *user = backend ? memory_backend_user(backend) : NULL;

    g_assert_null(pc_dimm_plug(f->dm, cfg, &err));
    g_assert_nonnull(err);
    g_assert_true(err->domain == DEVICE_MEMORY_ERROR);
    g_assert_cmpstr(err->message, ==, expected);
    g_assert_null(strchr(err->message, '\n'));
    if (f->dm) {
        g_assert_cmpuint(device_memory_dimm_count(f->dm), ==, dimms);
        g_assert_cmpuint(device_memory_plugged_size(f->dm), ==, plugged);
        g_assert_cmpuint(device_memory_region(f->dm)->subregions->len, ==, dimms);
    }
    if (backend)
        g_assert_cmpstr(memory_backend_user(backend), ==, user);
    ASSERT_LOG(f, "");
}

/* ---- the window ---- */

static void test_window_low_ram(void)
{
    DeviceMemoryWindow w;
    g_autoptr(GError) err = NULL;

    /* -m 256M,slots=4,maxmem=4G: at 4 GiB, (4G - 256M) + 4 x 1 GiB. */
    g_assert_true(device_memory_window_for(256 * MiB, 0, 4 * GiB, 4, &w, &err));
    g_assert_no_error(err);
    g_assert_cmphex(w.base, ==, 4 * GiB);
    g_assert_cmphex(w.capacity, ==, 4 * GiB - 256 * MiB);
    g_assert_cmphex(w.size, ==, 4 * GiB - 256 * MiB + 4 * GiB);
    g_assert_cmpuint(w.slots, ==, 4);
    g_assert_cmpuint(w.numa_nodes, ==, 1);
}

static void test_window_high_ram(void)
{
    DeviceMemoryWindow w;
    g_autoptr(GError) err = NULL;

    /* 6 GiB: 3 below the hole, 3 at 4 GiB; the window starts where RAM ends. */
    g_assert_true(device_memory_window_for(6 * GiB, 3 * GiB, 16 * GiB, 8, &w, &err));
    g_assert_cmphex(w.base, ==, 7 * GiB);
    g_assert_cmphex(w.size, ==, 10 * GiB + 8 * GiB);

    /* RAM ending off a gigabyte boundary: rounded up to the next one. */
    g_assert_true(device_memory_window_for(3 * GiB + 512 * MiB, 512 * MiB, 8 * GiB, 2, &w, &err));
    g_assert_cmphex(w.base, ==, 5 * GiB);
    g_assert_cmphex(w.capacity, ==, 8 * GiB - 3 * GiB - 512 * MiB);
    g_assert_cmphex(w.size, ==, w.capacity + 2 * GiB);
    g_assert_no_error(err);
}

static void assert_window_fails(uint64_t ram, uint64_t above, uint64_t maxmem, unsigned slots,
                                const char *expected)
{
    DeviceMemoryWindow w;
    g_autoptr(GError) err = NULL;

    g_assert_false(device_memory_window_for(ram, above, maxmem, slots, &w, &err));
    g_assert_error(err, DEVICE_MEMORY_ERROR, DEVICE_MEMORY_ERROR_INVALID);
    g_assert_cmpstr(err->message, ==, expected);
}

static void test_window_errors(void)
{
    DeviceMemoryWindow w;
    g_autoptr(GError) err = NULL;

    /* No hotplug at all is not an error: just no window. */
    g_assert_true(device_memory_window_for(256 * MiB, 0, 256 * MiB, 0, &w, &err));
    g_assert_cmpuint(w.size, ==, 0);

    assert_window_fails(1 * GiB, 0, 512 * MiB, 2,
                        "maxmem 0x20000000 is below the memory size 0x40000000; raise maxmem to "
                        "at least the memory size");
    assert_window_fails(1 * GiB, 0, 1 * GiB, 2,
                        "2 memory slots but maxmem equals the memory size 0x40000000; raise "
                        "maxmem to leave room for DIMMs");
    assert_window_fails(1 * GiB, 0, 2 * GiB, 0,
                        "maxmem 0x80000000 is above the memory size 0x40000000 but there are no "
                        "memory slots; give slots=N");
    assert_window_fails(1 * GiB, 0, 2 * GiB, 257, "257 memory slots is too many; at most 256");
    assert_window_fails(1 * GiB, 2 * GiB, 2 * GiB, 1,
                        "hotplug window: RAM above 4 GiB (0x80000000) exceeds the RAM size "
                        "0x40000000");
    assert_window_fails(1 * GiB, 0, UINT64_MAX - GiB, 4,
                        "maxmem 0xffffffffbfffffff puts the hotplug window beyond the end of the "
                        "address space; lower maxmem");
}

/* ---- backends ---- */

static void test_backend_kind_names(void)
{
    MemoryBackendKind kind;

    g_assert_cmpstr(memory_backend_kind_name(MEMORY_BACKEND_RAM), ==, "memory-backend-ram");
    g_assert_cmpstr(memory_backend_kind_name(MEMORY_BACKEND_MEMFD), ==, "memory-backend-memfd");
    g_assert_cmpstr(memory_backend_kind_name(MEMORY_BACKEND_FILE), ==, "memory-backend-file");
    g_assert_null(memory_backend_kind_name((MemoryBackendKind)7));
    for (MemoryBackendKind k = MEMORY_BACKEND_RAM; k <= MEMORY_BACKEND_FILE; k++) {
        g_assert_true(memory_backend_kind_from_name(memory_backend_kind_name(k), &kind));
        g_assert_cmpint(kind, ==, k);
    }
    g_assert_false(memory_backend_kind_from_name("memory-backend-epc", &kind));
    g_assert_false(memory_backend_kind_from_name(NULL, &kind));

    g_assert_true(object_id_is_wellformed("mem-1.a_b"));
    g_assert_false(object_id_is_wellformed("1mem"));
    g_assert_false(object_id_is_wellformed("mem 1"));
    g_assert_false(object_id_is_wellformed("mem/1"));
    g_assert_false(object_id_is_wellformed(""));
}

static void assert_backend(MemoryBackend *b, const char *id, MemoryBackendKind kind,
                           uint64_t size, bool share)
{
    RamBlock *block = memory_backend_block(b);

    g_assert_cmpstr(memory_backend_id(b), ==, id);
    g_assert_cmpint(memory_backend_kind(b), ==, kind);
    g_assert_cmphex(memory_backend_size(b), ==, size);
    g_assert_cmpint(memory_backend_share(b), ==, share);
    g_assert_false(memory_backend_in_use(b));
    g_assert_true(memory_backend_find(id) == b);
    /* Migration finds the block by the backend's id. */
    g_assert_true(ram_block_find(id) == block);
    g_assert_cmpstr(block->idstr, ==, id);
    g_assert_cmphex(block->used_length, ==, size);
    g_assert_true(block->flags & RAM_BLOCK_MIGRATABLE);
    g_assert_false(block->flags & (RAM_BLOCK_RESIZABLE | RAM_BLOCK_READONLY));
    /* The memory is there and writable. */
    block->host[0] = 0x5a;
    block->host[size - 1] = 0xa5;
}

static void test_backend_kinds(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("ferry-dimm-XXXXXX", &err);
    g_assert_no_error(err);
    g_autofree char *file = g_build_filename(dir, "mem-file", NULL);

    MemoryBackendConfig ram = { .kind = MEMORY_BACKEND_RAM, .id = "mem-ram", .size = 4 * MiB };
    MemoryBackendConfig shared = { .kind = MEMORY_BACKEND_RAM, .id = "mem-shared",
                                   .size = 4 * MiB, .share = true, .prealloc = true };
    MemoryBackendConfig memfd = { .kind = MEMORY_BACKEND_MEMFD, .id = "mem-memfd",
                                  .size = 4 * MiB };
    MemoryBackendConfig in_dir = { .kind = MEMORY_BACKEND_FILE, .id = "mem-dir", .size = 4 * MiB,
                                   .mem_path = dir };
    MemoryBackendConfig named = { .kind = MEMORY_BACKEND_FILE, .id = "mem.file", .size = 4 * MiB,
                                  .mem_path = file, .share = true };

    MemoryBackend *b_ram = memory_backend_new(&ram, &err);
    g_assert_no_error(err);
    MemoryBackend *b_shared = memory_backend_new(&shared, &err);
    g_assert_no_error(err);
    MemoryBackend *b_memfd = memory_backend_new(&memfd, &err);
    g_assert_no_error(err);
    MemoryBackend *b_dir = memory_backend_new(&in_dir, &err);
    g_assert_no_error(err);
    MemoryBackend *b_file = memory_backend_new(&named, &err);
    g_assert_no_error(err);

    assert_backend(b_ram, "mem-ram", MEMORY_BACKEND_RAM, 4 * MiB, false);
    assert_backend(b_shared, "mem-shared", MEMORY_BACKEND_RAM, 4 * MiB, true);
    g_assert_true(memory_backend_prealloc(b_shared));
    assert_backend(b_memfd, "mem-memfd", MEMORY_BACKEND_MEMFD, 4 * MiB, true); /* always shared */
    g_assert_cmpint(memory_backend_block(b_memfd)->fd, >=, 0);
    assert_backend(b_dir, "mem-dir", MEMORY_BACKEND_FILE, 4 * MiB, false);
    assert_backend(b_file, "mem.file", MEMORY_BACKEND_FILE, 4 * MiB, true);
    g_assert_cmpstr(memory_backend_mem_path(b_file), ==, file);
    g_assert_null(memory_backend_mem_path(b_ram));
    g_assert_cmphex(memory_backend_page_size(b_ram), ==, (uint64_t)getpagesize());

    /* A shared file backend writes through to the file. */
    GStatBuf st;
    g_assert_cmpint(g_stat(file, &st), ==, 0);
    g_assert_cmpuint(st.st_size, ==, 4 * MiB);
    g_autofree char *contents = NULL;
    gsize len = 0;
    g_assert_true(g_file_get_contents(file, &contents, &len, NULL));
    g_assert_cmpuint(len, ==, 4 * MiB);
    g_assert_cmphex((uint8_t)contents[0], ==, 0x5a);

    /* The registry, in creation order. */
    g_assert_cmpuint(memory_backends_count(), ==, 5);
    g_autoptr(GPtrArray) all = g_ptr_array_new();
    memory_backends_foreach(free_backend, all);
    g_assert_true(g_ptr_array_index(all, 0) == b_ram);
    g_assert_true(g_ptr_array_index(all, 4) == b_file);
    g_assert_cmpuint(g_list_length(ram_block_list()), ==, f->blocks_at_start + 5);

    /* Users. */
    memory_backend_set_user(b_ram, "dimm0");
    g_assert_true(memory_backend_in_use(b_ram));
    g_assert_cmpstr(memory_backend_user(b_ram), ==, "dimm0");
    /* Freeing a backend in use is a bug: refused loudly, nothing unmapped. */
    g_test_expect_message(NULL, G_LOG_LEVEL_CRITICAL, "*memory_backend_in_use*");
    memory_backend_free(b_ram);
    g_test_assert_expected_messages();
    g_assert_true(memory_backend_find("mem-ram") == b_ram);
    memory_backend_set_user(b_ram, NULL);
    g_assert_false(memory_backend_in_use(b_ram));

    memory_backend_free(b_dir); /* its file was unlinked at creation */
    g_assert_null(memory_backend_find("mem-dir"));
    g_assert_null(ram_block_find("mem-dir"));
    g_assert_cmpuint(memory_backends_count(), ==, 4);
    free_all_backends();
    g_assert_cmpuint(memory_backends_count(), ==, 0);
    g_assert_cmpint(g_unlink(file), ==, 0);
    g_assert_cmpint(g_rmdir(dir), ==, 0); /* nothing else was left in it */
}

static void assert_backend_fails(const MemoryBackendConfig *cfg, int code, const char *expected)
{
    g_autoptr(GError) err = NULL;
    unsigned backends = memory_backends_count();
    unsigned blocks = g_list_length(ram_block_list());

    g_assert_null(memory_backend_new(cfg, &err));
    g_assert_error(err, MEMORY_BACKEND_ERROR, code);
    g_assert_cmpstr(err->message, ==, expected);
    g_assert_cmpuint(memory_backends_count(), ==, backends);
    g_assert_cmpuint(g_list_length(ram_block_list()), ==, blocks);
}

static void test_backend_errors(Fixture *f, gconstpointer data)
{
    enum { INVALID = MEMORY_BACKEND_ERROR_INVALID, EXISTS = MEMORY_BACKEND_ERROR_EXISTS };
    const MemoryBackendKind RAM = MEMORY_BACKEND_RAM, MEMFD = MEMORY_BACKEND_MEMFD,
                            FILE_ = MEMORY_BACKEND_FILE;

    new_ram_backend("mem0", 4 * MiB);

    assert_backend_fails(&(MemoryBackendConfig){ .kind = RAM, .size = MiB }, INVALID,
                         "memory backend: the id is empty; give it one, e.g. id=mem1");
    assert_backend_fails(&(MemoryBackendConfig){ .kind = RAM, .id = "", .size = MiB }, INVALID,
                         "memory backend: the id is empty; give it one, e.g. id=mem1");
    assert_backend_fails(&(MemoryBackendConfig){ .kind = RAM, .id = "0mem", .size = MiB }, INVALID,
                         "memory backend id '0mem' is invalid: use a letter, then letters, "
                         "digits, '-', '.' or '_'");
    assert_backend_fails(&(MemoryBackendConfig){ .kind = 7, .id = "m", .size = MiB }, INVALID,
                         "memory backend 'm': unknown backend kind 7");
    assert_backend_fails(&(MemoryBackendConfig){ .kind = RAM, .id = "mem0", .size = MiB }, EXISTS,
                         "memory backend 'mem0' already exists; pick another id");
    const char *boot_ram = f->g->block->idstr;
    g_autofree char *clash = g_strdup_printf(
        "memory backend '%s': a RAM block of that name exists; pick another id", boot_ram);
    assert_backend_fails(&(MemoryBackendConfig){ .kind = RAM, .id = boot_ram, .size = MiB },
                         EXISTS, clash);
    assert_backend_fails(&(MemoryBackendConfig){ .kind = RAM, .id = "m" }, INVALID,
                         "memory backend 'm': size is 0; give a size, e.g. size=128M");
    g_autofree char *odd_size = g_strdup_printf(
        "memory backend 'm': size 0x100001 is not a multiple of the page size 0x%x",
        getpagesize());
    assert_backend_fails(&(MemoryBackendConfig){ .kind = RAM, .id = "m", .size = MiB + 1 }, INVALID,
                         odd_size);

    /* Options for another kind. */
    assert_backend_fails(&(MemoryBackendConfig){ .kind = FILE_, .id = "m", .size = MiB }, INVALID,
                         "memory backend 'm': memory-backend-file needs a mem-path");
    assert_backend_fails(&(MemoryBackendConfig){ .kind = RAM, .id = "m", .size = MiB,
                                                 .mem_path = "/tmp" },
                         INVALID,
                         "memory backend 'm': mem-path applies only to memory-backend-file, not "
                         "memory-backend-ram");
    assert_backend_fails(&(MemoryBackendConfig){ .kind = RAM, .id = "m", .size = MiB,
                                                 .hugetlb = true },
                         INVALID,
                         "memory backend 'm': hugetlb and hugetlbsize apply only to "
                         "memory-backend-memfd, not memory-backend-ram");
    assert_backend_fails(&(MemoryBackendConfig){ .kind = FILE_, .id = "m", .size = MiB,
                                                 .mem_path = "/tmp", .hugetlbsize = 2 * MiB },
                         INVALID,
                         "memory backend 'm': hugetlb and hugetlbsize apply only to "
                         "memory-backend-memfd, not memory-backend-file (use a hugetlbfs "
                         "mem-path)");
    assert_backend_fails(&(MemoryBackendConfig){ .kind = MEMFD, .id = "m", .size = 2 * MiB,
                                                 .hugetlbsize = 2 * MiB },
                         INVALID, "memory backend 'm': hugetlbsize needs hugetlb=on");
    assert_backend_fails(&(MemoryBackendConfig){ .kind = MEMFD, .id = "m", .size = 6 * MiB,
                                                 .hugetlb = true, .hugetlbsize = 3 * MiB },
                         INVALID,
                         "memory backend 'm': hugetlbsize 0x300000 is not a huge page size (a "
                         "power of two above 0x1000, e.g. 2M)");
    assert_backend_fails(&(MemoryBackendConfig){ .kind = MEMFD, .id = "m", .size = 3 * MiB,
                                                 .hugetlb = true, .hugetlbsize = 2 * MiB },
                         INVALID,
                         "memory backend 'm': size 0x300000 is not a multiple of the huge page "
                         "size 0x200000 (hugetlb size mismatch)");

    /* The host says no. */
    assert_backend_fails(&(MemoryBackendConfig){ .kind = FILE_, .id = "m", .size = MiB,
                                                 .mem_path = "/nonexistent-ferry-dir/m" },
                         MEMORY_BACKEND_ERROR_HOST,
                         "memory backend 'm': cannot open mem-path '/nonexistent-ferry-dir/m': "
                         "No such file or directory");
}

/* ---- plugging ---- */

static void test_plug_first_fit(Fixture *f, gconstpointer data)
{
    make_window(f, 256 * MiB, 4 * GiB, 4);
    MemoryBackend *mem0 = new_ram_backend("mem0", 128 * MiB);
    new_ram_backend("mem1", 256 * MiB);

    PcDimm *d0 = plug(f, "dimm0", "mem0");
    ASSERT_LOG(f, "add 100000000+8000000;"); /* one new memslot, no pause */
    PcDimm *d1 = plug(f, "dimm1", "mem1");
    ASSERT_LOG(f, "add 108000000+10000000;");

    g_assert_cmpuint(pc_dimm_slot(d0), ==, 0);
    g_assert_cmphex(pc_dimm_addr(d0), ==, 4 * GiB);
    g_assert_cmpuint(pc_dimm_slot(d1), ==, 1);
    g_assert_cmphex(pc_dimm_addr(d1), ==, 4 * GiB + 128 * MiB);
    g_assert_cmphex(pc_dimm_size(d1), ==, 256 * MiB);
    g_assert_cmphex(device_memory_plugged_size(f->dm), ==, 384 * MiB);
    g_assert_cmpuint(kvm_memslots_count(f->slots), ==, 3);
    g_assert_cmpstr(memory_backend_user(mem0), ==, "dimm0");
    g_assert_true(pc_dimm_backend(d0) == mem0);

    /* The region: named after the DIMM, over the backend's block, at
     * (addr - base) in the container. */
    MemoryRegion *mr = pc_dimm_region(d0);
    g_assert_cmpstr(mr->name, ==, "dimm0");
    g_assert_true(mr->ram_block == memory_backend_block(mem0));
    g_assert_true(mr->parent == device_memory_region(f->dm));
    g_assert_cmphex(mr->addr, ==, 0);
    g_assert_cmphex(pc_dimm_region(d1)->addr, ==, 128 * MiB);

    /* The guest sees the backend's memory there. */
    uint8_t *p = address_space_ram_ptr(f->g->as, 4 * GiB + 128 * MiB - 8, 8, false);
    g_assert_true(p == memory_backend_block(mem0)->host + 128 * MiB - 8);
    g_assert_null(address_space_ram_ptr(f->g->as, 4 * GiB + 128 * MiB - 8, 16, false));

    /* Lookups and query-memory-devices. */
    g_assert_true(device_memory_find_dimm(f->dm, "dimm1") == d1);
    g_assert_null(device_memory_find_dimm(f->dm, "dimm9"));
    g_assert_true(device_memory_dimm_at_slot(f->dm, 1) == d1);
    g_assert_null(device_memory_dimm_at_slot(f->dm, 2));
    g_assert_null(device_memory_dimm_at_slot(f->dm, 4000));
    PcDimmInfo info;
    pc_dimm_get_info(d1, &info);
    g_assert_cmpstr(info.id, ==, "dimm1");
    g_assert_cmphex(info.addr, ==, 0x108000000);
    g_assert_cmphex(info.size, ==, 0x10000000);
    g_assert_cmpuint(info.slot, ==, 1);
    g_assert_cmpuint(info.node, ==, 0);
    g_assert_cmpstr(info.memdev, ==, "mem1");
    g_assert_true(info.hotpluggable);
    g_assert_true(info.hotplugged);
}

static void collect_id(PcDimm *dimm, void *opaque)
{
    g_string_append_printf(opaque, "%s@%u ", pc_dimm_id(dimm), pc_dimm_slot(dimm));
}

static void test_plug_explicit(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    make_window(f, 256 * MiB, 4 * GiB, 4);
    new_ram_backend("mem0", 128 * MiB);
    new_ram_backend("mem1", 128 * MiB);
    new_ram_backend("mem2", 128 * MiB);

    PcDimmConfig cfg = { .id = "dimm-hi", .memdev = "mem0", .slot = 3, .has_addr = true,
                         .addr = 5 * GiB, .cold_plugged = true };
    PcDimm *hi = pc_dimm_plug(f->dm, &cfg, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(pc_dimm_slot(hi), ==, 3);
    g_assert_cmphex(pc_dimm_addr(hi), ==, 5 * GiB);
    g_assert_cmphex(pc_dimm_region(hi)->addr, ==, 1 * GiB);
    ASSERT_LOG(f, "add 140000000+8000000;");
    PcDimmInfo info;
    pc_dimm_get_info(hi, &info);
    g_assert_false(info.hotplugged);

    /* Automatic ones still start at the bottom, in the lowest free slot. */
    PcDimm *lo = plug(f, "dimm-lo", "mem1");
    g_assert_cmpuint(pc_dimm_slot(lo), ==, 0);
    g_assert_cmphex(pc_dimm_addr(lo), ==, 4 * GiB);
    /* An address right after another DIMM is fine. */
    cfg = (PcDimmConfig){ .id = "dimm-mid", .memdev = "mem2", .slot = -1, .has_addr = true,
                          .addr = 4 * GiB + 128 * MiB };
    PcDimm *mid = pc_dimm_plug(f->dm, &cfg, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(pc_dimm_slot(mid), ==, 1);

    /* Listed in address order. */
    g_autoptr(GString) order = g_string_new(NULL);
    device_memory_foreach_dimm(f->dm, collect_id, order);
    g_assert_cmpstr(order->str, ==, "dimm-lo@0 dimm-mid@1 dimm-hi@3 ");
}

static void test_plug_errors(Fixture *f, gconstpointer data)
{
    /* 256 MiB of RAM, maxmem 768 MiB: 512 MiB of DIMMs in 8 slots. */
    make_window(f, 256 * MiB, 768 * MiB, 8);
    const uint64_t base = 4 * GiB, end = 4 * GiB + 512 * MiB + 8 * GiB;
    g_assert_cmphex(device_memory_size(f->dm), ==, end - base);
    new_ram_backend("mem0", 128 * MiB);
    new_ram_backend("mem1", 128 * MiB);
    new_ram_backend("mem2", 256 * MiB);
    new_ram_backend("mem3", 256 * MiB);
    new_ram_backend("small", 64 * MiB);
    plug(f, "dimm0", "mem0");
    ASSERT_LOG(f, "add 100000000+8000000;");

    /* Names. */
    assert_plug_fails(f, &(PcDimmConfig){ .memdev = "mem1", .slot = -1 },
                      "pc-dimm: the id is empty; give it one, e.g. id=dimm1");
    assert_plug_fails(f, &(PcDimmConfig){ .id = "dimm#1", .memdev = "mem1", .slot = -1 },
                      "pc-dimm id 'dimm#1' is invalid: use a letter, then letters, digits, '-', "
                      "'.' or '_'");
    assert_plug_fails(f, &(PcDimmConfig){ .id = "dimm0", .memdev = "mem1", .slot = -1 },
                      "pc-dimm 'dimm0' already exists; pick another id");

    /* The backend. */
    assert_plug_fails(f, &(PcDimmConfig){ .id = "dimm1", .slot = -1 },
                      "pc-dimm 'dimm1': memdev is not set; name a memory backend, e.g. "
                      "memdev=mem1");
    assert_plug_fails(f, &(PcDimmConfig){ .id = "dimm1", .memdev = "nope", .slot = -1 },
                      "pc-dimm 'dimm1': memdev 'nope' does not exist; create it first with "
                      "object-add");
    assert_plug_fails(f, &(PcDimmConfig){ .id = "dimm1", .memdev = "mem0", .slot = -1 },
                      "pc-dimm 'dimm1': memdev 'mem0' is already in use by dimm0");
    assert_plug_fails(f, &(PcDimmConfig){ .id = "dimm1", .memdev = "small", .slot = -1 },
                      "pc-dimm 'dimm1': size 0x4000000 of memdev 'small' is not a multiple of "
                      "0x8000000 (the guest adds memory in 128 MiB blocks)");
    assert_plug_fails(f, &(PcDimmConfig){ .id = "dimm1", .memdev = "mem1", .slot = -1, .node = 1 },
                      "pc-dimm 'dimm1': node 1 is out of range (nodes=1)");

    /* Slots. */
    assert_plug_fails(f, &(PcDimmConfig){ .id = "dimm1", .memdev = "mem1", .slot = 9 },
                      "pc-dimm 'dimm1': slot 9 is out of range (slots=8)");
    assert_plug_fails(f, &(PcDimmConfig){ .id = "dimm1", .memdev = "mem1", .slot = -2 },
                      "pc-dimm 'dimm1': slot -2 is out of range (slots=8)");
    assert_plug_fails(f, &(PcDimmConfig){ .id = "dimm1", .memdev = "mem1", .slot = 0 },
                      "pc-dimm 'dimm1': slot 0 is in use by dimm0");

    /* Addresses. */
    assert_plug_fails(f, &(PcDimmConfig){ .id = "dimm1", .memdev = "mem1", .slot = -1,
                                          .has_addr = true, .addr = base + 64 * MiB },
                      "pc-dimm 'dimm1': address 0x104000000 is not aligned to 0x8000000");
    assert_plug_fails(f, &(PcDimmConfig){ .id = "dimm1", .memdev = "mem1", .slot = -1,
                                          .has_addr = true, .addr = 3 * GiB },
                      "pc-dimm 'dimm1': [0xc0000000, 0xc8000000) is outside the hotplug window "
                      "[0x100000000, 0x320000000)");
    assert_plug_fails(f, &(PcDimmConfig){ .id = "dimm1", .memdev = "mem1", .slot = -1,
                                          .has_addr = true, .addr = end },
                      "pc-dimm 'dimm1': [0x320000000, 0x328000000) is outside the hotplug window "
                      "[0x100000000, 0x320000000)");
    assert_plug_fails(f, &(PcDimmConfig){ .id = "dimm1", .memdev = "mem2", .slot = -1,
                                          .has_addr = true, .addr = end - 128 * MiB },
                      "pc-dimm 'dimm1': [0x318000000, 0x328000000) is outside the hotplug window "
                      "[0x100000000, 0x320000000)");
    assert_plug_fails(f, &(PcDimmConfig){ .id = "dimm1", .memdev = "mem1", .slot = -1,
                                          .has_addr = true, .addr = UINT64_MAX - 128 * MiB + 1 },
                      "pc-dimm 'dimm1': [0xfffffffff8000000, 0x0) is outside the hotplug window "
                      "[0x100000000, 0x320000000)");
    assert_plug_fails(f, &(PcDimmConfig){ .id = "dimm1", .memdev = "mem1", .slot = -1,
                                          .has_addr = true, .addr = base },
                      "pc-dimm 'dimm1': address 0x100000000 overlaps dimm0 [0x100000000, "
                      "0x108000000)");
    /* The last DIMM-sized range of the window is fine. */
    PcDimmConfig last = { .id = "dimm-last", .memdev = "mem1", .slot = -1, .has_addr = true,
                          .addr = end - 128 * MiB };
    g_autoptr(GError) err = NULL;
    PcDimm *d_last = pc_dimm_plug(f->dm, &last, &err);
    g_assert_no_error(err);
    ASSERT_LOG(f, "add 318000000+8000000;");

    /* Beyond maxmem: 128 + 128 + 256 = 512 MiB is all there is. */
    plug(f, "dimm2", "mem2");
    ASSERT_LOG(f, "add 108000000+10000000;");
    assert_plug_fails(f, &(PcDimmConfig){ .id = "dimm3", .memdev = "mem3", .slot = -1 },
                      "pc-dimm 'dimm3': not enough space, currently 0x20000000 in use of total "
                      "space for memory devices 0x20000000");
    pc_dimm_unplug(f->dm, d_last);
    ASSERT_LOG(f, "pause;del 318000000;resume;");
    assert_plug_fails(f, &(PcDimmConfig){ .id = "dimm3", .memdev = "mem3", .slot = -1 },
                      "pc-dimm 'dimm3': not enough space, currently 0x18000000 in use of total "
                      "space for memory devices 0x20000000");

    /* No window at all. */
    DeviceMemory *dm = f->dm;
    f->dm = NULL;
    assert_plug_fails(f, &(PcDimmConfig){ .id = "dimm3", .memdev = "mem1", .slot = -1 },
                      "pc-dimm 'dimm3': memory hotplug is not enabled; start the VM with maxmem "
                      "and slots");
    f->dm = dm;
}

static void test_plug_no_free_slot(Fixture *f, gconstpointer data)
{
    make_window(f, 256 * MiB, 768 * MiB, 2);
    new_ram_backend("mem0", 128 * MiB);
    new_ram_backend("mem1", 128 * MiB);
    new_ram_backend("mem2", 128 * MiB);
    plug(f, "dimm0", "mem0");
    plug(f, "dimm1", "mem1");
    g_string_truncate(f->log, 0);
    assert_plug_fails(f, &(PcDimmConfig){ .id = "dimm2", .memdev = "mem2", .slot = -1 },
                      "pc-dimm 'dimm2': no free slot (slots=2); unplug a DIMM first");
}

static void test_plug_fragmented(Fixture *f, gconstpointer data)
{
    /* 3 GiB of DIMMs in 3 slots: a 6 GiB window.  Two small DIMMs leave
     * gaps of 1.875, 1.875 and 2 GiB: 2.75 GiB fits below maxmem but in
     * no gap. */
    make_window(f, 256 * MiB, 256 * MiB + 3 * GiB, 3);
    const uint64_t base = 4 * GiB;
    new_ram_backend("mem0", 128 * MiB);
    new_ram_backend("mem1", 128 * MiB);
    new_ram_backend("big", 2 * GiB + 768 * MiB);
    g_autoptr(GError) err = NULL;
    PcDimmConfig a = { .id = "a", .memdev = "mem0", .slot = -1, .has_addr = true,
                       .addr = base + 15 * 128 * MiB };
    PcDimmConfig b = { .id = "b", .memdev = "mem1", .slot = -1, .has_addr = true,
                       .addr = base + 31 * 128 * MiB };
    g_assert_nonnull(pc_dimm_plug(f->dm, &a, &err));
    g_assert_nonnull(pc_dimm_plug(f->dm, &b, &err));
    g_assert_no_error(err);
    g_string_truncate(f->log, 0);
    assert_plug_fails(f, &(PcDimmConfig){ .id = "c", .memdev = "big", .slot = -1 },
                      "pc-dimm 'c': no free 0xb0000000-byte range in the hotplug window "
                      "[0x100000000, 0x280000000): it is fragmented; unplug a DIMM or give a "
                      "free addr");
}

static void test_unplug_reuse(Fixture *f, gconstpointer data)
{
    make_window(f, 256 * MiB, 4 * GiB, 4);
    MemoryBackend *mem0 = new_ram_backend("mem0", 128 * MiB);
    new_ram_backend("mem1", 128 * MiB);
    new_ram_backend("mem2", 256 * MiB);
    PcDimm *d0 = plug(f, "dimm0", "mem0");
    plug(f, "dimm1", "mem1");
    ASSERT_LOG(f, "add 100000000+8000000;add 108000000+8000000;");
    unsigned regions = device_memory_region(f->dm)->subregions->len;

    pc_dimm_unplug(f->dm, d0);
    /* One memslot gone, with the vCPUs paused around it. */
    ASSERT_LOG(f, "pause;del 100000000;resume;");
    g_assert_cmpuint(device_memory_region(f->dm)->subregions->len, ==, regions - 1);
    g_assert_null(device_memory_find_dimm(f->dm, "dimm0"));
    g_assert_null(device_memory_dimm_at_slot(f->dm, 0));
    g_assert_false(memory_backend_in_use(mem0));
    g_assert_cmphex(device_memory_plugged_size(f->dm), ==, 128 * MiB);
    g_assert_null(address_space_ram_ptr(f->g->as, 4 * GiB, 8, true));

    /* The freed slot and range go to the next DIMM that fits... */
    PcDimm *again = plug(f, "dimm0", "mem0");
    g_assert_cmpuint(pc_dimm_slot(again), ==, 0);
    g_assert_cmphex(pc_dimm_addr(again), ==, 4 * GiB);
    ASSERT_LOG(f, "add 100000000+8000000;");
    pc_dimm_unplug(f->dm, again);
    ASSERT_LOG(f, "pause;del 100000000;resume;");
    /* ...and one that does not fit the hole goes above the others. */
    PcDimm *big = plug(f, "dimm2", "mem2");
    g_assert_cmpuint(pc_dimm_slot(big), ==, 0);
    g_assert_cmphex(pc_dimm_addr(big), ==, 4 * GiB + 256 * MiB);
    /* A freed backend can also go to another DIMM. */
    PcDimm *other = plug(f, "dimm3", "mem0");
    g_assert_cmphex(pc_dimm_addr(other), ==, 4 * GiB);
    g_assert_cmpuint(pc_dimm_slot(other), ==, 2);
}

static void test_free_with_dimms(Fixture *f, gconstpointer data)
{
    make_window(f, 256 * MiB, 4 * GiB, 4);
    MemoryBackend *mem0 = new_ram_backend("mem0", 128 * MiB);
    new_ram_backend("mem1", 128 * MiB);
    plug(f, "dimm0", "mem0");
    plug(f, "dimm1", "mem1");
    g_string_truncate(f->log, 0);

    device_memory_free(f->dm);
    f->dm = NULL;
    ASSERT_LOG(f, "pause;del 108000000;resume;pause;del 100000000;resume;");
    g_assert_cmpuint(kvm_memslots_count(f->slots), ==, 1);
    g_assert_cmpuint(f->g->system->subregions->len, ==, 1); /* boot RAM only */
    g_assert_false(memory_backend_in_use(mem0)); /* released, not freed */
    g_assert_cmpuint(memory_backends_count(), ==, 2);
}

static void test_cycles(Fixture *f, gconstpointer data)
{
    make_window(f, 256 * MiB, 4 * GiB, 4);
    unsigned blocks = g_list_length(ram_block_list());
    MemoryBackend *resident = new_ram_backend("resident", 128 * MiB);
    plug(f, "resident", "resident");
    g_string_truncate(f->log, 0);

    for (unsigned i = 0; i < 200; i++) {
        g_autofree char *id = g_strdup_printf("mem%u", i);
        g_autofree char *dimm_id = g_strdup_printf("dimm%u", i);
        MemoryBackend *backend = new_ram_backend(id, (1 + i % 3) * 128 * MiB);
        PcDimm *dimm = plug(f, dimm_id, id);
        g_assert_cmpuint(pc_dimm_slot(dimm), ==, 1);
        g_assert_cmphex(pc_dimm_addr(dimm), ==, 4 * GiB + 128 * MiB);
        g_autofree char *added = g_strdup_printf("add 108000000+%" PRIx64 ";",
                                                 memory_backend_size(backend));
        ASSERT_LOG(f, added);
        g_assert_cmpuint(kvm_memslots_count(f->slots), ==, 3);

        pc_dimm_unplug(f->dm, dimm);
        ASSERT_LOG(f, "pause;del 108000000;resume;");
        g_assert_false(memory_backend_in_use(backend));
        memory_backend_free(backend);
    }
    g_assert_cmpuint(kvm_memslots_count(f->slots), ==, 2);
    g_assert_cmpuint(device_memory_dimm_count(f->dm), ==, 1);
    g_assert_cmpuint(device_memory_region(f->dm)->subregions->len, ==, 1);
    g_assert_cmphex(device_memory_plugged_size(f->dm), ==, 128 * MiB);
    g_assert_cmpuint(g_list_length(ram_block_list()), ==, blocks + 1);

    pc_dimm_unplug(f->dm, device_memory_find_dimm(f->dm, "resident"));
    memory_backend_free(resident);
    g_assert_cmpuint(kvm_memslots_count(f->slots), ==, 1);
    g_assert_cmpuint(device_memory_region(f->dm)->subregions->len, ==, 0);
    g_assert_cmpuint(g_list_length(ram_block_list()), ==, blocks);
    g_assert_cmpuint(memory_backends_count(), ==, 0);
}

#define ADD(path, fn) g_test_add(path, Fixture, NULL, setup, fn, teardown)

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pc-dimm/window/low-ram", test_window_low_ram);
    g_test_add_func("/pc-dimm/window/high-ram", test_window_high_ram);
    g_test_add_func("/pc-dimm/window/errors", test_window_errors);
    g_test_add_func("/pc-dimm/backend/kind-names", test_backend_kind_names);
    ADD("/pc-dimm/backend/kinds", test_backend_kinds);
    ADD("/pc-dimm/backend/errors", test_backend_errors);
    ADD("/pc-dimm/plug/first-fit", test_plug_first_fit);
    ADD("/pc-dimm/plug/explicit", test_plug_explicit);
    ADD("/pc-dimm/plug/errors", test_plug_errors);
    ADD("/pc-dimm/plug/no-free-slot", test_plug_no_free_slot);
    ADD("/pc-dimm/plug/fragmented", test_plug_fragmented);
    ADD("/pc-dimm/unplug/reuse", test_unplug_reuse);
    ADD("/pc-dimm/unplug/free-with-dimms", test_free_with_dimms);
    ADD("/pc-dimm/cycles", test_cycles);
    return g_test_run();
}
