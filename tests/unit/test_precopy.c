/* Precopy end to end in one process: the source loop sends a guest RAM
 * block that another thread keeps rewriting, into a byte array; the
 * stream then loads into fresh blocks of the same names, which must equal
 * the source's memory as it was when the vCPUs were paused. */
#include <glib.h>
#include <string.h>

#include "mem/address_space.h"
#include "mem/ram_block.h"
#include "migration/precopy.h"

#define RAM_SIZE (16u << 20)
#define PAGE 4096u

typedef struct Guest {
    RamBlock *ram;
    gint paused; /* the "vCPU" stops writing */
    gint pauses, resumes;
    GThread *thread;
    GArray *statuses;
    GArray *throttles; /* every percentage auto-converge asked for */
    GMutex lock;
} Guest;

/* A "vCPU": rewrites pages and marks them dirty, as KVM's log would. */
static gpointer guest_writer(gpointer data)
{
    Guest *g = data;
    uint32_t round = 1;

    while (!g_atomic_int_get(&g->paused)) {
        for (uint64_t off = 0; off < RAM_SIZE && !g_atomic_int_get(&g->paused);
             off += 7 * PAGE) {
            memset(g->ram->host + off, (int)(round + off / PAGE), PAGE);
            ram_block_mark_dirty(g->ram, off, PAGE);
        }
        round++;
        g_usleep(200);
    }
    return NULL;
}

static void guest_pause(void *opaque)
{
    Guest *g = opaque;

    g_atomic_int_set(&g->paused, 1);
    g_thread_join(g->thread);
    g->thread = NULL;
    g_atomic_int_inc(&g->pauses);
}

static void guest_resume(void *opaque)
{
    Guest *g = opaque;

    g_atomic_int_inc(&g->resumes);
}

static void record_status(void *opaque, MigrationStatus status)
{
    Guest *g = opaque;
    int s = status;

    g_mutex_lock(&g->lock);
    g_array_append_val(g->statuses, s);
    g_mutex_unlock(&g->lock);
}

static void record_throttle(void *opaque, unsigned percent)
{
    Guest *g = opaque;

    g_mutex_lock(&g->lock);
    g_array_append_val(g->throttles, percent);
    g_mutex_unlock(&g->lock);
}

static bool no_flush(void *opaque, GError **errp)
{
    return true;
}

static bool ack_ok(void *opaque, GError **errp)
{
    return true;
}

static bool ack_refused(void *opaque, GError **errp)
{
    g_set_error_literal(errp, G_FILE_ERROR, G_FILE_ERROR_IO,
                        "the destination closed the connection");
    return false;
}

static const PrecopyParams default_params = { .downtime_limit_ms = 300, .max_iterations = 5 };

static void run(Guest *g, GByteArray *stream, bool (*ack)(void *, GError **),
                const PrecopyParams *params, PrecopyStats *out)
{
    g_autoptr(MachineDescription) desc = machine_description_new();
    g_autoptr(VmStateRegistry) registry = vmstate_registry_new();
    PrecopyChannel channel = {
        .write = migration_byte_array_write, .flush = no_flush, .switch_over = ack, .opaque = stream,
    };
    PrecopyHooks hooks = {
        .pause = guest_pause, .resume = guest_resume, .status_changed = record_status,
        .throttle = record_throttle, .opaque = g,
    };
    Precopy *p;

    desc->cpus = 1;
    desc->ram_size = desc->ram_below_4g = desc->maxmem = RAM_SIZE;
    g->thread = g_thread_new("guest", guest_writer, g);
    p = precopy_start(&channel, &hooks, params, desc, registry);
    precopy_join(p);
    precopy_query(p, out);
    precopy_free(p);
    if (g->thread)
        guest_pause(g);
}

static void guest_init(Guest *g)
{
    g_autoptr(GError) err = NULL;

    memset(g, 0, sizeof(*g));
    g_mutex_init(&g->lock);
    g->statuses = g_array_new(FALSE, FALSE, sizeof(int));
    g->throttles = g_array_new(FALSE, FALSE, sizeof(unsigned));
    g->ram = ram_block_new("pc.ram", RAM_SIZE, RAM_SIZE, RAM_BLOCK_MIGRATABLE, NULL, &err);
    g_assert_no_error(err);
    for (uint64_t off = 0; off < RAM_SIZE; off += PAGE)
        if ((off / PAGE) % 3) /* every third page stays zero: sent as a flag */
            memset(g->ram->host + off, 0x5a, PAGE);
}

static void guest_destroy(Guest *g)
{
    ram_block_free(g->ram);
    g_array_unref(g->statuses);
    g_array_unref(g->throttles);
    g_mutex_clear(&g->lock);
}

static void test_migrates_a_changing_guest(void)
{
    Guest g;
    g_autoptr(GByteArray) stream = g_byte_array_new();
    g_autoptr(GError) err = NULL;
    PrecopyStats stats;
    g_autofree uint8_t *expected = NULL;
    RamBlock *dest;
    MigrationBufferSource source;
    MigrationReader *reader;

    guest_init(&g);
    run(&g, stream, ack_ok, &default_params, &stats);
    g_assert_cmpint(stats.status, ==, MIGRATION_STATUS_COMPLETED);
    g_assert_null(stats.error);
    g_assert_cmpint(g.pauses, ==, 1);
    g_assert_cmpint(g.resumes, ==, 0); /* the source stays paused */
    g_assert_cmpuint(g.throttles->len, ==, 0); /* auto-converge is off */
    g_assert_cmpuint(stats.iterations, >=, 1);
    /* A third of the pages start zero; the guest rewrites one in seven. */
    g_assert_cmpuint(stats.zero_pages, >=, RAM_SIZE / PAGE / 4);
    g_assert_false(memory_global_dirty_log_enabled());
    g_assert_cmpint(g_array_index(g.statuses, int, 0), ==, MIGRATION_STATUS_SETUP);
    g_assert_cmpint(g_array_index(g.statuses, int, g.statuses->len - 1), ==,
                    MIGRATION_STATUS_COMPLETED);

    /* The destination: a fresh block of the same name, full of junk. */
    expected = g_memdup2(g.ram->host, RAM_SIZE);
    guest_destroy(&g);
    dest = ram_block_new("pc.ram", RAM_SIZE, RAM_SIZE, RAM_BLOCK_MIGRATABLE, NULL, &err);
    g_assert_no_error(err);
    memset(dest->host, 0xee, RAM_SIZE);
    source = (MigrationBufferSource){ .data = stream->data, .len = stream->len };
    reader = migration_reader_new(migration_buffer_source_read, &source, NULL);
    g_assert_true(migration_reader_load(reader, &err));
    g_assert_no_error(err);
    g_assert_true(memcmp(dest->host, expected, RAM_SIZE) == 0);
    migration_reader_free(reader);
    ram_block_free(dest);
}

/* A destination that never acknowledges: the guest runs on. */
static void test_failure_resumes_the_guest(void)
{
    Guest g;
    g_autoptr(GByteArray) stream = g_byte_array_new();
    PrecopyStats stats;

    guest_init(&g);
    run(&g, stream, ack_refused, &default_params, &stats);
    g_assert_cmpint(stats.status, ==, MIGRATION_STATUS_FAILED);
    g_assert_nonnull(strstr(stats.error, "closed the connection"));
    g_assert_cmpint(g.pauses, ==, 1);
    g_assert_cmpint(g.resumes, ==, 1);
    g_assert_false(memory_global_dirty_log_enabled());
    g_free(stats.error);
    guest_destroy(&g);
}

/* A guest that redirties everything each round, and a limit it never
 * fits: auto-converge brakes at 20%, then 10 points more every second
 * round that dirtied over half of what it sent (round 0 sends all of RAM:
 * not such a round), and lets go at the end. */
static void test_auto_converge_throttles(void)
{
    Guest g;
    g_autoptr(GByteArray) stream = g_byte_array_new();
    PrecopyParams params = { .downtime_limit_ms = 0, .max_iterations = 8,
                             .max_bandwidth = 64u << 20, .auto_converge = true };
    static const unsigned expected[] = { 20, 30, 40, 0 };
    PrecopyStats stats;

    guest_init(&g);
    run(&g, stream, ack_ok, &params, &stats);
    g_assert_cmpint(stats.status, ==, MIGRATION_STATUS_COMPLETED);
    g_assert_cmpuint(stats.iterations, ==, 8);
    g_assert_cmpuint(stats.cpu_throttle_percentage, ==, 0); /* released at the end */
    g_assert_cmpmem(g.throttles->data, g.throttles->len * sizeof(unsigned), expected,
                    sizeof(expected));
    guest_destroy(&g);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/precopy/migrates-a-changing-guest", test_migrates_a_changing_guest);
    g_test_add_func("/precopy/failure-resumes-the-guest", test_failure_resumes_the_guest);
    g_test_add_func("/precopy/auto-converge-throttles", test_auto_converge_throttles);
    return g_test_run();
}
