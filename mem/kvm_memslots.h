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

/* With set_slot == NULL, uses KVM_SET_USER_MEMORY_REGION on vm_fd. */
KvmMemslots *kvm_memslots_new(int vm_fd, unsigned max_slots, KvmSetSlotFn set_slot, void *opaque);
void kvm_memslots_free(KvmMemslots *slots);
MemoryListener *kvm_memslots_listener(KvmMemslots *slots);
void kvm_memslots_set_quiesce(KvmMemslots *slots, const KvmMemslotsQuiesce *quiesce);
unsigned kvm_memslots_count(const KvmMemslots *slots);
/* The slot table as `info memslots` prints it. */
void kvm_memslots_format(const KvmMemslots *slots, GString *out);
