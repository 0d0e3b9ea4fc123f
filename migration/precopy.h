/* Precopy live migration, the source side.
 *
 *   SETUP      header, machine description, RAM block list; dirty logging
 *              on (every page starts dirty)
 *   ACTIVE     rounds: send every dirty page, sync the dirty log, measure;
 *              stop iterating when the dirty bytes left fit downtime-limit
 *              at the measured bandwidth and a round no longer shrinks
 *              them by a quarter (or after max-iterations); with
 *              auto-converge, the vCPUs are throttled while the guest
 *              outruns the link
 *   DEVICE     pause the vCPUs, final sync, the last pages (checksummed),
 *              every device-state section, END; wait for the destination's
 *              acknowledgement and give it the go-ahead
 *   COMPLETED  the source stays paused ("postmigrate") until quit
 *   FAILED / CANCELLED   dirty logging off, vCPUs resumed: the guest runs
 *              on as if nothing happened
 *
 * The loop runs in its own thread; the hooks are called from it. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "migration/machine_fdt.h"
#include "migration/stream.h"
#include "migration/vmstate.h"

typedef enum MigrationStatus {
    MIGRATION_STATUS_NONE,
    MIGRATION_STATUS_SETUP,
    MIGRATION_STATUS_ACTIVE,
    MIGRATION_STATUS_DEVICE,
    MIGRATION_STATUS_COMPLETED,
    MIGRATION_STATUS_FAILED,
    MIGRATION_STATUS_CANCELLED,
} MigrationStatus;

/* QMP's names: "setup", "active", "device", "completed", ... */
const char *migration_status_name(MigrationStatus status);

typedef struct PrecopyParams {
    uint64_t downtime_limit_ms; /* QEMU's default: 300 */
    uint64_t max_bandwidth; /* bytes/s; 0 = unlimited */
    unsigned max_iterations; /* 0 = no limit */
    bool auto_converge; /* throttle the vCPUs when dirtying outruns the link */
} PrecopyParams;

typedef struct PrecopyChannel {
    MigrationWriteFn write;
    /* Waits until everything written left (zero-copy buffers released). */
    bool (*flush)(void *opaque, GError **errp);
    /* The switch-over: waits for the destination's acknowledgement
     * (everything loaded), then sends the go-ahead without which it
     * never runs the guest.  False if either failed: the destination
     * then does not run the guest, so the source may. */
    bool (*switch_over)(void *opaque, GError **errp);
    /* A failed or cancelled migration hangs up, so the destination gives up too. */
    void (*hang_up)(void *opaque);
    void *opaque;
} PrecopyChannel;

typedef struct PrecopyHooks {
    void (*pause)(void *opaque);
    void (*resume)(void *opaque);
    void (*status_changed)(void *opaque, MigrationStatus status);
    /* auto-converge: run the vCPUs at (100 - percent)%; 0 = full speed. */
    void (*throttle)(void *opaque, unsigned percent);
    void *opaque;
} PrecopyHooks;

typedef struct PrecopyStats {
    MigrationStatus status;
    char *error; /* why it failed, or NULL */
    int64_t setup_ms, total_ms, downtime_ms;
    uint64_t transferred, remaining, total; /* bytes */
    uint64_t iterations;
    uint64_t dirty_pages_rate; /* pages/s in the last round */
    uint64_t throughput; /* bytes/s in the last round */
    uint64_t normal_pages, zero_pages;
    unsigned cpu_throttle_percentage; /* auto-converge's brake now, 0 = none */
} PrecopyStats;

typedef struct Precopy Precopy;

/* Starts the migration thread; `desc` and `registry` must outlive it. */
Precopy *precopy_start(const PrecopyChannel *channel, const PrecopyHooks *hooks,
                       const PrecopyParams *params, const MachineDescription *desc,
                       const VmStateRegistry *registry);
/* Asks the loop to stop at the next page batch; precopy_join() waits. */
void precopy_cancel(Precopy *p);
/* Fails the migration with `reason` (a RAM block resized, ...). */
void precopy_abort(Precopy *p, const char *reason);
void precopy_join(Precopy *p);
void precopy_free(Precopy *p);
/* A snapshot; free stats->error with g_free(). */
void precopy_query(Precopy *p, PrecopyStats *stats);
