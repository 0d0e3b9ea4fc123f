/* The KVM memslot listener: RAM-backed flat ranges of the `memory` address
 * space become KVM memory slots.
 *
 * Changes are collected during a transaction and applied at commit: slots
 * whose range, host address and flags are unchanged stay untouched; a slot
 * whose only change is the dirty-log flag is updated in place (same slot
 * id, no quiesce); the rest are deleted and re-added.  When a commit must
 * delete or replace a slot, the vCPUs are quiesced around the update (if a
 * quiesce hook is set) so that no vCPU ever sees a hole where memory stays
 * mapped.  The listener and its quiesce hook run in the committing thread
 * with the memory lock held.
 * Ranges (or their edges) that are not page aligned are left out: accesses
 * there exit to ferry and are served from the FlatView.
 *
 * Dirty logging.  log_start/log_stop set and clear KVM_MEM_LOG_DIRTY_PAGES
 * (a flags-only slot update) and log_start marks the range dirty in its
 * RAM block, so RAM added while logging is on is sent in full.  Where the
 * dirty pages come from is chosen once, at machine creation:
 *
 *   bitmap  log_sync runs KVM_GET_DIRTY_LOG on each logged slot and ORs
 *           the result into the block's bitmap at the slot's offset in the
 *           block.  With KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 on the VM, KVM
 *           does not re-protect on its own: each page must be re-armed
 *           with KVM_CLEAR_DIRTY_LOG right before it is read for sending
 *           (log_clear).  With
 *           KVM_DIRTY_LOG_INITIALLY_SET, KVM starts with every page dirty
 *           and write-protects only what is cleared.
 *   ring    each vCPU has a ring of (slot, page) entries that KVM fills
 *           as the guest dirties pages.  log_sync (all rings, once per
 *           sync) and a vCPU that exits with KVM_EXIT_DIRTY_RING_FULL (its
 *           own ring) harvest entries into the block bitmaps, then
 *           KVM_RESET_DIRTY_RINGS re-arms the pages.  Nothing to clear.
 *
 * A slot that goes away while logged is harvested first (its bitmap read,
 * or every ring reaped, with the vCPUs quiesced), so no dirty page is lost
 * and no ring entry is read against a slot id that was reused.
 */
#pragma once

#include <glib.h>
#include <linux/kvm.h>
#include <stdbool.h>

#include "mem/address_space.h"

typedef struct KvmMemslots KvmMemslots;

/* The ioctl, behind a function so that tests can watch slot updates. */
typedef int (*KvmSetSlotFn)(void *opaque, const struct kvm_userspace_memory_region *slot);

typedef struct KvmMemslotsQuiesce {
    void (*pause)(void *opaque);
    void (*resume)(void *opaque);
    void *opaque;
} KvmMemslotsQuiesce;

typedef enum DirtyTracking {
    DIRTY_TRACKING_BITMAP, /* KVM_GET_DIRTY_LOG (+ MANUAL_DIRTY_LOG_PROTECT2 when present) */
    DIRTY_TRACKING_RING, /* per-vCPU dirty rings (KVM_CAP_DIRTY_LOG_RING[_ACQ_REL]) */
} DirtyTracking;

/* "bitmap" / "ring", for --dirty-tracking. */
bool dirty_tracking_parse(const char *text, DirtyTracking *mode, GError **errp);
const char *dirty_tracking_name(DirtyTracking mode);

/* With set_slot == NULL, uses KVM_SET_USER_MEMORY_REGION on vm_fd. */
KvmMemslots *kvm_memslots_new(int vm_fd, unsigned max_slots, KvmSetSlotFn set_slot, void *opaque);
void kvm_memslots_free(KvmMemslots *slots);
MemoryListener *kvm_memslots_listener(KvmMemslots *slots);
void kvm_memslots_set_quiesce(KvmMemslots *slots, const KvmMemslotsQuiesce *quiesce);
unsigned kvm_memslots_count(const KvmMemslots *slots);
/* The slot table as `info memslots` prints it. */
void kvm_memslots_format(const KvmMemslots *slots, GString *out);

/* ---- dirty logging ------------------------------------------------------ */

/* How this VM tracks dirty pages, as vmm/kvm.c enabled it on the VM:
 * the mode and, for the bitmap, the KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2
 * flags in force (0: KVM_GET_DIRTY_LOG re-protects by itself).  Set it
 * before logging starts; the default is the bitmap without manual
 * protection. */
void kvm_memslots_set_dirty_tracking(KvmMemslots *slots, DirtyTracking mode,
                                     uint32_t manual_protect);
DirtyTracking kvm_memslots_dirty_tracking(const KvmMemslots *slots);

/* The dirty-log ioctls, behind functions so that tests can fake them.
 * Each returns 0 (reset: the entries reset) or -errno. */
typedef struct KvmDirtyLogOps {
    int (*get_dirty_log)(void *opaque, struct kvm_dirty_log *log);
    int (*clear_dirty_log)(void *opaque, struct kvm_clear_dirty_log *log);
    int (*reset_dirty_rings)(void *opaque);
    void *opaque;
} KvmDirtyLogOps;

/* NULL: the ioctls on vm_fd. */
void kvm_memslots_set_dirty_log_ops(KvmMemslots *slots, const KvmDirtyLogOps *ops);

/* Dirty rings.  A vCPU registers the ring it mmapped (`entries` struct
 * kvm_dirty_gfn, a power of two) and removes it before unmapping. */
typedef struct KvmDirtyRing KvmDirtyRing;

KvmDirtyRing *kvm_memslots_add_dirty_ring(KvmMemslots *slots, struct kvm_dirty_gfn *gfns,
                                          uint32_t entries);
void kvm_memslots_remove_dirty_ring(KvmMemslots *slots, KvmDirtyRing *ring);
/* Harvest one ring into the block bitmaps, then KVM_RESET_DIRTY_RINGS:
 * what a vCPU thread does on KVM_EXIT_DIRTY_RING_FULL before it runs on.
 * Safe against a concurrent sync or commit.  Returns the entries taken. */
unsigned kvm_memslots_reap_dirty_ring(KvmMemslots *slots, KvmDirtyRing *ring);
/* The same over every registered ring (log_sync does this). */
unsigned kvm_memslots_reap_dirty_rings(KvmMemslots *slots);
