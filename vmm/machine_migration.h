/* Live migration of the PC machine: the device-state sections it offers,
 * the source (migrate, cancel, query, parameters) and the destination
 * (--incoming, migrate-incoming).  Main thread, except where noted. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>

#include "migration/precopy.h"
#include "migration/transport.h"
#include "vmm/machine.h"

typedef struct MachineMigration MachineMigration;

/* migrate-set-parameters: the loop's, and the transport's. */
typedef struct MigrationParams {
    PrecopyParams precopy;
    bool zero_copy_send; /* page records with io_uring SENDMSG_ZC (TCP only) */
} MigrationParams;

/* Registers every device's section; the machine is fully built. */
MachineMigration *machine_migration_new(Machine *m, GError **errp);
void machine_migration_free(MachineMigration *mm);

/* Source.  Refused while one runs or after one completed. */
bool machine_migration_start(Machine *m, const char *uri, GError **errp);
void machine_migration_cancel(Machine *m);
/* false when no migration was ever started; free stats->error.  The
 * channel's counters too (zero-copy sends), when `channel` is not NULL. */
bool machine_migration_query(Machine *m, PrecopyStats *stats, MigrationChannelStats *channel);
/* What the next migrate uses. */
MigrationParams *machine_migration_params(Machine *m);
/* The source finished: vCPUs stay paused until quit ("postmigrate"). */
bool machine_migration_completed(Machine *m);
/* cont in postmigrate, as QEMU allows: the operator takes the guest back
 * (the destination never ran it; it refuses to without the go-ahead).
 * False if no migration completed. */
bool machine_migration_take_back(Machine *m);

/* Destination: accept one stream on `uri` in a thread, load it, then run
 * the guest (or stay paused with --paused).  A failure ends ferry with
 * one line and status 1; a half-loaded guest never runs. */
bool machine_migration_incoming(Machine *m, const char *uri, GError **errp);

/* --info machine-fdt FILE: the MACHINE record's device tree, for dtc. */
bool machine_write_machine_fdt(Machine *m, const char *path, GError **errp);

/* x-ram-digest: SHA-256 of each migratable RAM block's used bytes. */
JsonArray *machine_ram_digest(Machine *m);
