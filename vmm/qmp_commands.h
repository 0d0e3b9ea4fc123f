/* The machine-level QMP commands: query-status, stop, cont, quit,
 * system_powerdown, human-monitor-command ("info mtree|ramblock|memslots").
 * (qmp_capabilities and query-commands belong to the server itself.) */
#pragma once

#include "vmm/machine.h"
#include "vmm/qmp_server.h"

void qmp_commands_register_machine(QmpServer *s, Machine *machine);
