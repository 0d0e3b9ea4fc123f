/* Memory hotplug of ferry's PC, QEMU's plug path end to end:
 *
 *   object-add   a memory backend (a RAM block named after its id)
 *   device_add   a PC-DIMM: region under the device-memory window (the KVM
 *                listener adds a memslot at commit), the ACPI controller
 *                marks the slot inserting and raises GPE 3 -> SCI -> the
 *                guest's \_SB.MHPC.MSCN finds it
 *   device_del   asks the guest (remove pending, GPE 3); its _EJ0 ends in
 *                the DIMM's removal and DEVICE_DELETED.  A guest that never
 *                enabled the hotplug GPE (no ACPI OS) loses the DIMM at once.
 *   object-del   frees a backend no DIMM uses
 *
 * Everything runs on the main thread; the controller's callbacks (on vCPU
 * threads, inside a port write) hop to the main loop before touching
 * anything. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "acpi/aml.h"
#include "hw/acpi_pm.h"
#include "hw/device_memory.h"
#include "hw/memory_backend.h"
#include "hw/pc_dimm.h"
#include "mem/region.h"

typedef struct MemoryHotplug MemoryHotplug;

/* What the control socket turns into events. */
typedef struct MemoryHotplugEvents {
    void (*device_deleted)(void *opaque, const char *id);
    void (*ost)(void *opaque, const char *id, unsigned slot, uint32_t event, uint32_t status);
    void *opaque;
} MemoryHotplugEvents;

/* The window and its controller; fails if KVM has too few memory slots.
 * An empty window (no slots) gives a controller with no slots, which the
 * guest sees but cannot use, and DIMM commands that say hotplug is off. */
MemoryHotplug *memory_hotplug_new(MemoryRegion *system, MemoryRegion *io, AcpiPm *pm,
                                  const DeviceMemoryWindow *window, unsigned free_memslots,
                                  GError **errp);
/* Unplugs every DIMM, frees every backend. */
void memory_hotplug_free(MemoryHotplug *mh);
void memory_hotplug_set_events(MemoryHotplug *mh, const MemoryHotplugEvents *events);
/* Machine reset: the controller forgets pending events. */
void memory_hotplug_reset(MemoryHotplug *mh);

/* For AcpiConfig: the DSDT hook and the window. */
void memory_hotplug_acpi_config(MemoryHotplug *mh, void (**hook)(void *, Aml *, Aml *),
                                void **hook_opaque, uint64_t *base, uint64_t *size);

bool memory_hotplug_add_backend(MemoryHotplug *mh, const MemoryBackendConfig *cfg,
                                GError **errp);
bool memory_hotplug_del_backend(MemoryHotplug *mh, const char *id, GError **errp);
bool memory_hotplug_add_dimm(MemoryHotplug *mh, const PcDimmConfig *cfg, GError **errp);
bool memory_hotplug_del_dimm(MemoryHotplug *mh, const char *id, GError **errp);

/* Slots 0 when the VM has no hotplug window (no slots= given). */
unsigned memory_hotplug_slots(MemoryHotplug *mh);
/* The window (NULL without slots) and the ACPI controller, for migration. */
DeviceMemory *memory_hotplug_device_memory(MemoryHotplug *mh);
struct Memhp *memory_hotplug_memhp(MemoryHotplug *mh);
PcDimm *memory_hotplug_dimm_at_slot(MemoryHotplug *mh, unsigned slot);
void memory_hotplug_foreach_dimm(MemoryHotplug *mh, PcDimmFn fn, void *opaque);
/* The guest's last _OST for a slot (query-acpi-ospm-status). */
bool memory_hotplug_slot_ost(MemoryHotplug *mh, unsigned slot, uint32_t *event,
                             uint32_t *status);

/* `info memory-devices`, in QEMU's HMP layout. */
void memory_hotplug_format(MemoryHotplug *mh, GString *out);
