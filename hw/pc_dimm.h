/* PC-DIMM: a memory backend plugged into a slot of the hotplug window.
 *
 * Plugging (device_add pc-dimm,id=dimm1,memdev=mem1[,slot=N][,addr=A][,node=P])
 * checks everything first and changes nothing on failure; then, in one
 * memory transaction, adds a RAM region over the backend's block (named
 * after the DIMM id) to the device-memory container at addr - base.  The
 * KVM memslot listener maps it at that commit.  Telling the guest (the
 * ACPI memory-hotplug controller: slot inserted, GPE, SCI) is the
 * machine's next step, not this file's.
 *
 * Unplugging removes the region in one transaction (the listener deletes
 * the memslot, quiescing the vCPUs around it), frees the region, the slot
 * and the range, and releases the backend, which the user may then
 * object-del.  Call it outside any memory transaction (the region is
 * freed right after the commit, which must not be deferred) and from the
 * main thread, never from a vCPU's I/O
 * handler (the guest's _EJ0 write): the commit pauses every vCPU, and a
 * vCPU cannot wait for itself.  Other threads that read guest memory
 * through the address space (migration) must not run across an unplug;
 * refuse device_add/device_del while migrating, as QEMU does.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "hw/device_memory.h"
#include "hw/memory_backend.h"

typedef struct PcDimmConfig {
    const char *id; /* the device id; names the region and the errors */
    const char *memdev; /* id of a memory backend (memory_backend_find()) */
    int slot; /* -1: the lowest free slot */
    bool has_addr; /* false: the lowest free aligned range */
    uint64_t addr; /* guest-physical, inside the window */
    uint32_t node; /* NUMA proximity domain, below the window's numa_nodes */
    bool cold_plugged; /* present at start-up (command line, migration
                        * destination): query shows hotplugged=false */
} PcDimmConfig;

/* Every error is one line naming the DIMM: "pc-dimm 'dimm1': slot 9 is
 * out of range (slots=8)".  A NULL `dm` (no hotplug window) is an error,
 * so that the caller may pass what the machine has. */
PcDimm *pc_dimm_plug(DeviceMemory *dm, const PcDimmConfig *cfg, GError **errp);
void pc_dimm_unplug(DeviceMemory *dm, PcDimm *dimm);

const char *pc_dimm_id(const PcDimm *dimm);
unsigned pc_dimm_slot(const PcDimm *dimm);
uint64_t pc_dimm_addr(const PcDimm *dimm);
uint64_t pc_dimm_size(const PcDimm *dimm);
uint32_t pc_dimm_node(const PcDimm *dimm);
MemoryBackend *pc_dimm_backend(const PcDimm *dimm);
MemoryRegion *pc_dimm_region(const PcDimm *dimm);

/* One entry of query-memory-devices ({"type": "dimm", "data": {...}}).
 * QEMU shows memdev as the backend's QOM path, "/objects/" + memdev. */
typedef struct PcDimmInfo {
    const char *id;
    uint64_t addr;
    uint64_t size;
    unsigned slot;
    uint32_t node;
    const char *memdev; /* the backend id */
    bool hotpluggable; /* always true */
    bool hotplugged; /* false for cold-plugged DIMMs */
} PcDimmInfo;

/* Strings point into the DIMM and its backend: valid until unplug. */
void pc_dimm_get_info(const PcDimm *dimm, PcDimmInfo *info);
