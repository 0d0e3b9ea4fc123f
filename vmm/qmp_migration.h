/* The migration QMP commands: migrate, migrate_cancel, query-migrate,
 * migrate-set-parameters, migrate-incoming, x-ram-digest. */
#pragma once

#include "vmm/machine.h"
#include "vmm/qmp_server.h"

void qmp_migration_register(QmpServer *s, Machine *machine);
