#include "migration/precopy.h"

#include "mem/address_space.h"
#include "migration/ram_blocks.h"

/* Page groups of 64: the unit KVM's dirty log is cleared and taken in. */
#define GROUP_PAGES 64u

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

/* query-migrate's counts while a (long) round runs. */
static void precopy_publish_progress(Precopy *p, const MigrationWriter *w, GPtrArray *blocks)
{
    uint64_t left = dirty_bytes(blocks);

    g_mutex_lock(&p->lock);
    p->stats.transferred = migration_writer_stats(w)->bytes;
    p->stats.remaining = left;
    g_mutex_unlock(&p->lock);
}

/* Sends every page that is dirty now, group by group. */
static bool send_dirty_pages(Precopy *p, MigrationWriter *w, GPtrArray *blocks, GError **errp)
{
    for (guint i = 0; i < blocks->len; i++) {
        RamBlock *block = g_ptr_array_index(blocks, i);
        uint64_t end = ram_block_dirty_pages(block);

        for (uint64_t page = ram_block_dirty_find_next(block, 0); page < end;
             page = ram_block_dirty_find_next(block, page)) {
            uint64_t group = page & ~(uint64_t)(GROUP_PAGES - 1);
            uint64_t mask = memory_global_dirty_log_take(block, group);

            for (unsigned bit = 0; mask; bit++, mask >>= 1)
                if ((mask & 1) &&
                    !migration_writer_add_page(w, i, (group + bit) * MIGRATION_PAGE_SIZE, errp))
                    return false;
            page = group + GROUP_PAGES;
            if (precopy_stopping(p, errp))
                return false;
            if ((group / GROUP_PAGES) % 256 == 0)
                precopy_publish_progress(p, w, blocks);
        }
    }
    return migration_writer_flush_pages(w, errp);
}

/* Sleep off what max-bandwidth does not allow yet. */
static void precopy_throttle(Precopy *p, uint64_t bytes, int64_t since_us)
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

/* ACTIVE: rounds until what is left fits the downtime at this bandwidth. */
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
        precopy_throttle(p, round_bytes, t0);
        memory_global_dirty_log_sync();
        precopy_update(p, w, blocks, round_bytes,
                       migration_writer_stats(w)->normal_pages +
                           migration_writer_stats(w)->zero_pages - pages0,
                       g_get_monotonic_time() - t0);
        g_mutex_lock(&p->lock);
        p->stats.iterations++;
        throughput = MAX(p->stats.throughput, 1);
        left = p->stats.remaining;
        g_mutex_unlock(&p->lock);
        if (precopy_stopping(p, errp))
            return false;
        if (left * 1000 / throughput <= p->params.downtime_limit_ms ||
            (p->params.max_iterations && p->stats.iterations >= p->params.max_iterations))
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
         p->channel.read_ack(p->channel.opaque, errp);
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
