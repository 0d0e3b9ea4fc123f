/* The machine configuration a migration stream carries, as a flattened
 * device tree.
 *
 * The destination must be built like the source before it can take RAM:
 * the same vCPU count and memory layout, and every memory backend and
 * DIMM that was hot-plugged since the source started (without them the
 * backend's RAM block is an "Unknown ramblock").  The source describes
 * itself in a MachineDescription, sends it as a DTB (libfdt builds it;
 * `dtc -I dtb -O dts` reads it), and the destination parses it only after
 * fdt_check_full() accepted the blob, then checks every value.
 *
 * The tree (FDT cells are big-endian, as the DT spec says; the stream
 * around it is little-endian):
 *
 *   / { compatible = "ferry,machine";  format-version = <u32 1>;
 *     cpus     { count = <u32>; };
 *     memory   { ram-size, ram-below-4g, ram-above-4g, maxmem = <u64>;
 *                slots = <u32>;  hotplug-base, hotplug-size = <u64>; };
 *     backends { backend@ID { id = "ID"; kind = "memory-backend-ram";
 *                             size, page-size = <u64>;
 *                             [share;] [prealloc;] [mem-path = "PATH";] }; ... };
 *     hotplug  { dimm@SLOT { id = "dimm1"; slot = <u32>; addr, size = <u64>;
 *                            node = <u32>; memdev = "ID"; }; ... };
 *   };
 *
 * share and prealloc are boolean properties: present means true.  SLOT
 * in the node name is hexadecimal, as DT unit addresses are; the slot
 * property is what counts.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/device_memory.h"
#include "hw/memory_backend.h"

/* Largest DTB a stream may carry: a few KiB in practice. */
#define MACHINE_FDT_MAX_SIZE (1u << 20)
/* Bounds the parser applies (also to what it allocates). */
#define MACHINE_MAX_CPUS 1024u
#define MACHINE_MAX_BACKENDS 512u

typedef struct MachineBackendDesc {
    char *id;
    MemoryBackendKind kind;
    uint64_t size;
    uint64_t page_size; /* > host page size on a memfd: hugetlb of that size */
    bool share;
    bool prealloc;
    char *mem_path; /* memory-backend-file only, else NULL */
} MachineBackendDesc;

typedef struct MachineDimmDesc {
    char *id;
    unsigned slot;
    uint64_t addr;
    uint64_t size;
    uint32_t node;
    char *memdev; /* a backend's id */
} MachineDimmDesc;

typedef struct MachineDescription {
    uint32_t cpus;
    uint64_t ram_size; /* boot RAM = ram_below_4g + ram_above_4g */
    uint64_t ram_below_4g;
    uint64_t ram_above_4g;
    uint64_t maxmem; /* == ram_size without memory hotplug */
    uint32_t slots; /* 0: no hotplug window */
    uint64_t hotplug_base; /* the window; 0 and 0 without one */
    uint64_t hotplug_size;
    GPtrArray *backends; /* MachineBackendDesc *, creation order */
    GPtrArray *dimms; /* MachineDimmDesc *, address order */
} MachineDescription;

MachineDescription *machine_description_new(void);
void machine_description_free(MachineDescription *desc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MachineDescription, machine_description_free)

/* Copy entries in (strings are duplicated). */
void machine_description_add_backend(MachineDescription *desc, const MachineBackendDesc *backend);
void machine_description_add_dimm(MachineDescription *desc, const MachineDimmDesc *dimm);

/* Source side: every registered memory backend (plugged or not: each one
 * owns a migratable RAM block), and the DIMMs of `dm` (may be NULL) with
 * the window's base and size.  The caller fills in cpus and the RAM
 * fields from its configuration. */
void machine_description_add_live_backends(MachineDescription *desc);
void machine_description_add_live_dimms(MachineDescription *desc, const DeviceMemory *dm);

/* Destination side: the options that recreate `backend` with
 * memory_backend_new().  Strings point into `backend`. */
void machine_backend_desc_to_config(const MachineBackendDesc *backend, MemoryBackendConfig *cfg);

/* The DTB (a GBytes of fdt_totalsize() bytes).  Fails only on a
 * description libfdt cannot hold (names with characters a node name
 * cannot have are caught here). */
GBytes *machine_fdt_build(const MachineDescription *desc, GError **errp);

/* Parse a DTB of exactly `len` bytes from the network: fdt_check_full()
 * first, then every node, property length and value (counts, ids, slots
 * below `slots`, DIMMs inside the window and naming a listed backend, no
 * duplicates).  Errors are one line: "machine config: ...". */
MachineDescription *machine_fdt_parse(const void *blob, size_t len, GError **errp);

/* `--info machine-fdt FILE`: the DTB of `desc` into FILE. */
bool machine_fdt_write_file(const MachineDescription *desc, const char *path, GError **errp);
