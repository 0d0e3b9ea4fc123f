#include "migration/precopy.h"

#include "mem/address_space.h"
#include "mem/ram_populated.h"
#include "migration/ram_blocks.h"

/* Dirty pages are taken (and re-armed in KVM, one call per slot) 16 MiB at
 * a time, just before they are read: a page the guest writes while its
 * chunk is on the wire is sent again next round, so chunks stay small
 * next to a round. */
#define CHUNK_PAGES 4096u

struct Precopy {
    PrecopyChannel channel;
    PrecopyHooks hooks;
    PrecopyParams params;
    const MachineDescription *desc;
    const VmStateRegistry *registry;
    GThread *thread;
    gint stop; /* cancel or abort asked (atomic) */

    GMutex lock; /* guards stats */
    PrecopyStats stats;
    int64_t start_us;
    unsigned dirty_high_rounds; /* auto-converge: rounds in a row that dirtied too much */
    int64_t published_us; /* when precopy_publish_progress() last counted */
};

const char *migration_status_name(MigrationStatus status)
{
    static const char *const names[] = {
        [MIGRATION_STATUS_NONE] = "none",
        [MIGRATION_STATUS_SETUP] = "setup",
        [MIGRATION_STATUS_ACTIVE] = "active",
        [MIGRATION_STATUS_DEVICE] = "device",
        [MIGRATION_STATUS_COMPLETED] = "completed",
        [MIGRATION_STATUS_FAILED] = "failed",
        [MIGRATION_STATUS_CANCELLED] = "cancelled",
    };
    return names[status];
}

static void precopy_set_status(Precopy *p, MigrationStatus status)
{
    g_mutex_lock(&p->lock);
    p->stats.status = status;
    g_mutex_unlock(&p->lock);
    if (p->hooks.status_changed)
        p->hooks.status_changed(p->hooks.opaque, status);
}

static bool precopy_stopping(Precopy *p, GError **errp)
{
    if (!g_atomic_int_get(&p->stop))
        return false;
    g_set_error_literal(errp, MIGRATION_STREAM_ERROR, 0, "migration cancelled");
    return true;
}

static uint64_t dirty_bytes(GPtrArray *blocks)
{
    uint64_t pages = 0;

    for (guint i = 0; i < blocks->len; i++)
        pages += ram_block_dirty_count(g_ptr_array_index(blocks, i));
    return pages * MIGRATION_PAGE_SIZE;
}

/* query-migrate's counts while a (long) round runs, refreshed every
 * PROGRESS_US: counting the dirty bits of every block is not free. */
#define PROGRESS_US 50000

static void precopy_publish_progress(Precopy *p, const MigrationWriter *w, GPtrArray *blocks)
{
    int64_t now = g_get_monotonic_time();

    if (now - p->published_us < PROGRESS_US)
        return;
    p->published_us = now;
    uint64_t left = dirty_bytes(blocks);
    g_mutex_lock(&p->lock);
    p->stats.transferred = migration_writer_stats(w)->bytes;
    p->stats.remaining = left;
    g_mutex_unlock(&p->lock);
}

/* Sends the pages of one chunk whose bits are set in dirty[]: those the
 * process never populated as zero runs without reading them, the rest
 * as pages (the writer spots zero pages among them). */
static bool send_chunk(MigrationWriter *w, unsigned index, RamBlock *block, uint64_t first,
                       const uint64_t *dirty, GError **errp)
{
    uint64_t populated[CHUNK_PAGES / 64];
    unsigned lo = 0, hi = CHUNK_PAGES / 64;

    while (!dirty[lo])
        lo++;
    while (!dirty[hi - 1])
        hi--;
    ram_block_populated(block, first + lo * 64ull, (hi - lo) * 64ull, populated);
    for (unsigned word = lo; word < hi; word++) {
        uint64_t base = (first + word * 64ull) * MIGRATION_PAGE_SIZE;
        uint64_t empty = dirty[word] & ~populated[word - lo];

        if (empty == UINT64_MAX) {
            if (!migration_writer_add_zero_pages(w, index, base, 64 * MIGRATION_PAGE_SIZE, errp))
                return false;
            continue;
        }
        for (uint64_t bits = dirty[word]; bits; bits &= bits - 1) {
            unsigned bit = (unsigned)__builtin_ctzll(bits);
            uint64_t offset = base + bit * (uint64_t)MIGRATION_PAGE_SIZE;
            bool ok = empty >> bit & 1
                          ? migration_writer_add_zero_pages(w, index, offset, MIGRATION_PAGE_SIZE,
                                                            errp)
                          : migration_writer_add_page(w, index, offset, errp);
            if (!ok)
                return false;
        }
    }
    return true;
}

/* Sends every page that is dirty now, chunk by chunk. */
static bool send_dirty_pages(Precopy *p, MigrationWriter *w, GPtrArray *blocks, GError **errp)
{
    uint64_t dirty[CHUNK_PAGES / 64];

    for (guint i = 0; i < blocks->len; i++) {
        RamBlock *block = g_ptr_array_index(blocks, i);
        uint64_t end = ram_block_dirty_pages(block);

        for (uint64_t page = ram_block_dirty_find_next(block, 0); page < end;
             page = ram_block_dirty_find_next(block, page)) {
            uint64_t chunk = page & ~(uint64_t)(CHUNK_PAGES - 1);

            if (memory_global_dirty_log_take(block, chunk, CHUNK_PAGES, dirty) &&
                !send_chunk(w, i, block, chunk, dirty, errp))
                return false;
            page = chunk + CHUNK_PAGES;
            if (precopy_stopping(p, errp))
                return false;
            precopy_publish_progress(p, w, blocks);
        }
    }
    return migration_writer_flush_pages(w, errp);
}

/* Sleep off what max-bandwidth does not allow yet. */
static void precopy_limit_bandwidth(Precopy *p, uint64_t bytes, int64_t since_us)
{
    int64_t due_us;

    if (!p->params.max_bandwidth)
        return;
    due_us = since_us + (int64_t)(bytes * G_USEC_PER_SEC / p->params.max_bandwidth);
    while (g_get_monotonic_time() < due_us && !g_atomic_int_get(&p->stop))
        g_usleep(MIN(due_us - g_get_monotonic_time(), 10000));
}

static void precopy_update(Precopy *p, const MigrationWriter *w, GPtrArray *blocks,
                           uint64_t round_bytes, uint64_t round_pages, int64_t round_us)
{
    const MigrationWriterStats *ws = migration_writer_stats(w);

    g_mutex_lock(&p->lock);
    p->stats.transferred = ws->bytes;
    p->stats.normal_pages = ws->normal_pages;
    p->stats.zero_pages = ws->zero_pages;
    p->stats.remaining = dirty_bytes(blocks);
    p->stats.total_ms = (g_get_monotonic_time() - p->start_us) / 1000;
    if (round_us > 0) {
        p->stats.throughput = round_bytes * G_USEC_PER_SEC / round_us;
        p->stats.dirty_pages_rate = round_pages * G_USEC_PER_SEC / round_us;
    }
    g_mutex_unlock(&p->lock);
}

/* auto-converge, as QEMU does it: when the guest dirtied more than half
 * of what a round sent, twice in a row, brake harder. */
#define THROTTLE_INITIAL 20u
#define THROTTLE_STEP 10u
#define THROTTLE_MAX 99u

static void precopy_throttle_guest(Precopy *p, uint64_t sent, uint64_t left)
{
    unsigned percent;

    if (!p->params.auto_converge || !p->hooks.throttle)
        return;
    if (left * 2 <= sent) {
        p->dirty_high_rounds = 0;
        return;
    }
    if (++p->dirty_high_rounds < 2)
        return;
    p->dirty_high_rounds = 0;
    g_mutex_lock(&p->lock);
    percent = p->stats.cpu_throttle_percentage;
    percent = percent ? MIN(percent + THROTTLE_STEP, THROTTLE_MAX) : THROTTLE_INITIAL;
    p->stats.cpu_throttle_percentage = percent;
    g_mutex_unlock(&p->lock);
    p->hooks.throttle(p->hooks.opaque, percent);
}

/* After a round that sent `sent` bytes and left `left` dirty: pause now?
 * Only once what is left fits downtime-limit at this round's bandwidth,
 * and not while rounds still shrink the dirty set by a quarter or more:
 * such rounds get shorter and shorter and each takes downtime off the
 * final one.  Round 0 says nothing about that (it sends all of RAM, into
 * memory the destination has yet to allocate), so round 1 always runs. */
static bool precopy_converged(Precopy *p, uint64_t sent, uint64_t left, uint64_t throughput)
{
    uint64_t expected_ms = left * 1000 / MAX(throughput, 1);

    if (p->params.max_iterations && p->stats.iterations >= p->params.max_iterations)
        return true;
    if (expected_ms > p->params.downtime_limit_ms) {
        precopy_throttle_guest(p, sent, left);
        return false;
    }
    return expected_ms == 0 || (p->stats.iterations >= 2 && left * 4 > sent * 3);
}

/* ACTIVE: rounds until precopy_converged(). */
static bool precopy_iterate(Precopy *p, MigrationWriter *w, GPtrArray *blocks, GError **errp)
{
    for (;;) {
        int64_t t0 = g_get_monotonic_time();
        uint64_t bytes0 = migration_writer_stats(w)->bytes;
        uint64_t pages0 = migration_writer_stats(w)->normal_pages +
                          migration_writer_stats(w)->zero_pages;
        uint64_t round_bytes, throughput, left;

        if (!send_dirty_pages(p, w, blocks, errp) || !p->channel.flush(p->channel.opaque, errp))
            return false;
        round_bytes = migration_writer_stats(w)->bytes - bytes0;
        precopy_limit_bandwidth(p, round_bytes, t0);
        memory_global_dirty_log_sync();
        precopy_update(p, w, blocks, round_bytes,
                       migration_writer_stats(w)->normal_pages +
                           migration_writer_stats(w)->zero_pages - pages0,
                       g_get_monotonic_time() - t0);
        g_mutex_lock(&p->lock);
        p->stats.iterations++;
        throughput = p->stats.throughput;
        left = p->stats.remaining;
        g_mutex_unlock(&p->lock);
        if (precopy_stopping(p, errp))
            return false;
        if (precopy_converged(p, round_bytes, left, throughput))
            return true;
    }
}

/* DEVICE: paused, the rest of RAM and every device, then the ack. */
static bool precopy_complete(Precopy *p, MigrationWriter *w, GPtrArray *blocks, GError **errp)
{
    int64_t paused_at = g_get_monotonic_time();
    bool ok;

    p->hooks.pause(p->hooks.opaque);
    precopy_set_status(p, MIGRATION_STATUS_DEVICE);
    memory_global_dirty_log_sync();
    ok = migration_writer_set_page_checksum(w, true, errp) &&
         send_dirty_pages(p, w, blocks, errp) &&
         migration_writer_put_device_states(w, p->registry, errp) &&
         migration_writer_put_end(w, errp) && p->channel.flush(p->channel.opaque, errp) &&
         p->channel.switch_over(p->channel.opaque, errp);
    g_mutex_lock(&p->lock);
    p->stats.downtime_ms = (g_get_monotonic_time() - paused_at) / 1000;
    g_mutex_unlock(&p->lock);
    if (!ok)
        p->hooks.resume(p->hooks.opaque);
    return ok;
}

static gpointer precopy_thread(gpointer data)
{
    Precopy *p = data;
    g_autoptr(GError) err = NULL;
    g_autoptr(MigrationWriter) w = migration_writer_new(p->channel.write, p->channel.opaque);
    g_autoptr(GPtrArray) blocks = migration_ram_blocks_collect();
    bool ok;

    precopy_set_status(p, MIGRATION_STATUS_SETUP);
    memory_global_dirty_log_start();
    ok = migration_writer_put_header(w, &err) && migration_writer_put_machine(w, p->desc, &err) &&
         migration_writer_put_ram_blocks(w, blocks, &err) &&
         migration_writer_set_page_checksum(w, false, &err);
    g_mutex_lock(&p->lock);
    p->stats.setup_ms = (g_get_monotonic_time() - p->start_us) / 1000;
    p->stats.total = dirty_bytes(blocks);
    g_mutex_unlock(&p->lock);
    if (ok) {
        precopy_set_status(p, MIGRATION_STATUS_ACTIVE);
        ok = precopy_iterate(p, w, blocks, &err) && precopy_complete(p, w, blocks, &err);
    }
    memory_global_dirty_log_stop();
    if (p->stats.cpu_throttle_percentage) {
        p->hooks.throttle(p->hooks.opaque, 0);
        g_mutex_lock(&p->lock);
        p->stats.cpu_throttle_percentage = 0; /* query-migrate: no longer braking */
        g_mutex_unlock(&p->lock);
    }
    if (!ok && p->channel.hang_up)
        p->channel.hang_up(p->channel.opaque);
    precopy_update(p, w, blocks, 0, 0, 0);
    g_mutex_lock(&p->lock);
    if (!ok && !p->stats.error)
        p->stats.error = g_strdup(err ? err->message : "migration failed");
    g_mutex_unlock(&p->lock);
    precopy_set_status(p, ok ? MIGRATION_STATUS_COMPLETED
                          : g_atomic_int_get(&p->stop) == 1 ? MIGRATION_STATUS_CANCELLED
                                                           : MIGRATION_STATUS_FAILED);
    return NULL;
}

Precopy *precopy_start(const PrecopyChannel *channel, const PrecopyHooks *hooks,
                       const PrecopyParams *params, const MachineDescription *desc,
                       const VmStateRegistry *registry)
{
    Precopy *p = g_new0(Precopy, 1);

    p->channel = *channel;
    p->hooks = *hooks;
    p->params = *params;
    p->desc = desc;
    p->registry = registry;
    g_mutex_init(&p->lock);
    p->start_us = g_get_monotonic_time();
    p->thread = g_thread_new("migration", precopy_thread, p);
    return p;
}

void precopy_cancel(Precopy *p)
{
    g_atomic_int_compare_and_exchange(&p->stop, 0, 1);
}

void precopy_abort(Precopy *p, const char *reason)
{
    g_mutex_lock(&p->lock);
    if (!p->stats.error)
        p->stats.error = g_strdup(reason);
    g_mutex_unlock(&p->lock);
    g_atomic_int_compare_and_exchange(&p->stop, 0, 2);
}

void precopy_join(Precopy *p)
{
    if (p->thread) {
        g_thread_join(p->thread);
        p->thread = NULL;
    }
}

void precopy_free(Precopy *p)
{
    if (!p)
        return;
    precopy_cancel(p);
    precopy_join(p);
    g_free(p->stats.error);
    g_mutex_clear(&p->lock);
    g_free(p);
}

void precopy_query(Precopy *p, PrecopyStats *stats)
{
    g_mutex_lock(&p->lock);
    *stats = p->stats;
    stats->error = g_strdup(p->stats.error);
    g_mutex_unlock(&p->lock);
}
