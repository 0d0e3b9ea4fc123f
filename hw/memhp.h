/* The ACPI memory-hotplug controller of ferry's PC: QEMU's PC register
 * block, so that the DSDT's scan method (built here too) and a guest
 * written for QEMU work unchanged.
 *
 * Registers, 24 ports at MEMHP_IO_BASE, 1-4 byte accesses, decoded by the
 * offset an access starts at (little-endian, truncated to its size):
 *
 *   off   read                                write
 *   0x00  base of the selected DIMM, low 32   slot selector
 *   0x04  base, high 32                       _OST event code
 *   0x08  size, low 32                        _OST status code (-> MemhpOstFn)
 *   0x0c  size, high 32                       ignored
 *   0x10  proximity domain (_PXM)             ignored
 *   0x14  bit0 enabled, bit1 insert pending,  bit1 clears insert, else bit2
 *         bit2 remove pending                 clears remove, else bit3 ejects
 *                                             (-> MemhpEjectFn)
 *
 * With the selector at or above the slot count every register reads 0 and
 * only the selector can be written; other offsets (0x01, 0x15, ...) read
 * all-ones; with 0 slots every write is ignored.
 *
 * Life of a slot, as the machine drives it:
 *
 *   empty --memhp_plug--> enabled+insert (GPE 3) --guest clears insert-->
 *   enabled --memhp_request_unplug--> enabled+remove (GPE 3) --guest _EJ0-->
 *   ejecting (reads as empty; MemhpEjectFn called) --memhp_slot_cleared-->
 *   empty
 *
 * The guest may also eject an enabled slot without a request (Linux does
 * on `echo 1 > .../eject`): same path.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "acpi/aml.h"
#include "hw/acpi_pm.h"
#include "mem/region.h"

#define MEMHP_IO_BASE 0x0a00
#define MEMHP_IO_LEN 24
#define MEMHP_GPE_BIT 3 /* \_GPE._E03 */
#define MEMHP_MAX_SLOTS 256

/* _OST event codes the guest reports (ACPI 6.x §6.3.5). */
#define MEMHP_OST_EVENT_INSERT 0x01 /* after a device check (Notify 1) */
#define MEMHP_OST_EVENT_EJECT 0x03 /* after an eject request (Notify 3) */
#define MEMHP_OST_STATUS_SUCCESS 0x00

typedef struct Memhp Memhp;

#define MEMHP_ERROR memhp_error_quark()
GQuark memhp_error_quark(void);

typedef enum MemhpError {
    MEMHP_ERROR_INVALID, /* too many slots, or a slot out of range */
    MEMHP_ERROR_BUSY, /* plug into a slot that holds a DIMM or is still ejecting */
    MEMHP_ERROR_EMPTY, /* unplug request for a slot without an enabled DIMM */
} MemhpError;

/* Both are called on a vCPU thread, from inside the guest's port write,
 * after the controller has dropped its lock: they may call memhp_*()
 * (memhp_slot_cleared included).  They must not free the controller or
 * take its region out of the I/O space (the write is still in flight):
 * the machine defers the actual DIMM removal to its main loop and calls
 * memhp_slot_cleared() from there. */
/* The guest ejected `slot` (_EJ0): unplug its DIMM. */
typedef void (*MemhpEjectFn)(void *opaque, unsigned slot);
/* The guest reported _OST for `slot`: QMP's ACPI_DEVICE_OST event. */
typedef void (*MemhpOstFn)(void *opaque, unsigned slot, uint32_t event, uint32_t status);

/* Registers the 24 ports at `base` in `io` (the region is registered even
 * with 0 slots, where it ignores the guest).  `pm` receives the GPE; either
 * callback may be NULL.  Fails on more than MEMHP_MAX_SLOTS slots. */
Memhp *memhp_create(MemoryRegion *io, uint16_t base, unsigned nr_slots, AcpiPm *pm,
                    MemhpEjectFn eject, MemhpOstFn ost, void *opaque, GError **errp);
/* Takes the ports out of the I/O space and frees; NULL is fine. */
void memhp_free(Memhp *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Memhp, memhp_free)

unsigned memhp_nr_slots(const Memhp *m);

/* A DIMM now backs [addr, addr + size) in `slot`: marks it enabled and
 * inserting and raises GPE 3, so the guest's scan sends it a device
 * check.  Call after the DIMM's memory is mapped.  Fails if the slot is
 * out of range or not empty (still ejecting counts as not empty), or the
 * range is empty or wraps. */
bool memhp_plug(Memhp *m, unsigned slot, uint64_t addr, uint64_t size, uint32_t node,
                GError **errp);
/* Asks the guest to release `slot` (device_del): marks it removing and
 * raises GPE 3.  The guest answers with _EJ0 (MemhpEjectFn) or an _OST
 * failure status, or not at all.  Fails unless the slot is enabled. */
bool memhp_request_unplug(Memhp *m, unsigned slot, GError **errp);
/* The machine removed the DIMM that was in `slot` (after MemhpEjectFn, or
 * a surprise removal): the slot is empty again.  The last _OST stays.
 * Out-of-range slots are ignored. */
void memhp_slot_cleared(Memhp *m, unsigned slot);

/* The last _OST the guest reported for `slot`, as query-acpi-ospm-status
 * lists it; false if the slot is out of range. */
bool memhp_slot_ost(Memhp *m, unsigned slot, uint32_t *event, uint32_t *status);
/* Whether `slot` holds a DIMM the guest may use (read as enabled). */
bool memhp_slot_enabled(Memhp *m, unsigned slot);

/* Machine reset: the selector returns to 0 and pending insert events are
 * dropped (the rebooted OS finds plugged DIMMs through _STA at boot);
 * plugged DIMMs, pending unplug requests and ejects in progress stay, as
 * they are the machine's state, not the guest's. */
void memhp_reset(Memhp *m);

/* The controller's AML: \_SB.MHPD (claims the ports), \_SB.MHPC (the
 * register fields, the slot methods and one MPxx device per slot, PNP0C80)
 * and \_GPE._E03, which runs \_SB.MHPC.MSCN.  Adds nothing for 0 slots. */
void memhp_build_aml(Aml *sb, Aml *gpe, unsigned nr_slots, uint16_t base);
/* For AcpiConfig.dsdt_hook, with the Memhp as dsdt_hook_opaque. */
void memhp_dsdt_hook(void *opaque, Aml *sb, Aml *gpe);

/* Migration section "memhp", version 1 (little-endian):
 *   u32 slot count (must equal this controller's), u32 selector (as the
 *   guest wrote it: may be out of range),
 *   per slot, 29 bytes: u64 base, u64 size, u32 proximity node,
 *     u8 flags (bit 0 enabled, bit 1 insert pending, bit 2 remove pending,
 *     bit 3 ejecting), u32 last _OST event, u32 last _OST status.
 * Checked on load: an enabled slot has a non-empty range that does not
 * wrap; insert/remove pending only on an enabled slot; ejecting only on a
 * disabled one; an empty slot has base, size and node 0.  The GPE itself
 * is the PM block's state.  A slot that was ejecting at the source is still
 * ejecting here: the machine finishes the removal (memhp_slot_cleared). */
#define MEMHP_STATE_VERSION 1u
void memhp_state_save(Memhp *m, GByteArray *out);
bool memhp_state_load(Memhp *m, const uint8_t *data, size_t len, uint32_t version,
                      GError **errp);
