/* The memory-hotplug QMP commands and events: object-add/object-del
 * (memory backends), device_add/device_del (pc-dimm), query-memory-devices,
 * query-memdev, query-acpi-ospm-status; DEVICE_DELETED, ACPI_DEVICE_OST. */
#pragma once

#include "vmm/memory_hotplug.h"
#include "vmm/qmp_server.h"

void qmp_hotplug_register(QmpServer *s, MemoryHotplug *mh);
