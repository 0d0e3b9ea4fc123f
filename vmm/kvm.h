/* /dev/kvm and the VM file descriptor: opening, capabilities, and the
 * x86 platform pieces KVM emulates in the kernel (irqchip, PIT). */
#pragma once

#include <glib.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>

#include "hw/irq.h"
#include "mem/kvm_memslots.h"

typedef struct Kvm {
    int dev_fd; /* /dev/kvm */
    int vm_fd;
    size_t vcpu_mmap_size; /* struct kvm_run plus what follows it */
    unsigned max_vcpus;
    unsigned nr_memslots;
    /* In-kernel PIC, IOAPIC and PIT as created, for machine reset. */
    struct kvm_irqchip reset_pic_master, reset_pic_slave, reset_ioapic;
    struct kvm_pit_state2 reset_pit;
    /* Dirty tracking, as kvm_enable_dirty_tracking() set it up. */
    DirtyTracking dirty_tracking;
    uint32_t dirty_log_manual; /* bitmap: KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 flags enabled */
    uint32_t dirty_ring_bytes; /* ring: each vCPU's ring, bytes (0 = no ring) */
} Kvm;

/* The default dirty ring: 4096 entries (64 KiB) per vCPU. */
#define KVM_DIRTY_RING_DEFAULT_ENTRIES 4096u

/* Opens /dev/kvm, checks the API version and creates a VM with the
 * in-kernel irqchip (PIC, IOAPIC, LAPIC) and PIT. */
Kvm *kvm_open(GError **errp);
void kvm_close(Kvm *kvm);

/* Put the in-kernel PIC, IOAPIC and PIT back to their power-on state. */
bool kvm_reset_platform(Kvm *kvm, GError **errp);

/* Choose how the VM tracks dirty pages; call before creating vCPUs.
 * bitmap: enables KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 (with
 *   KVM_DIRTY_LOG_INITIALLY_SET) where the host has it; plain
 *   KVM_GET_DIRTY_LOG otherwise.
 * ring: enables KVM_CAP_DIRTY_LOG_RING_ACQ_REL (or KVM_CAP_DIRTY_LOG_RING)
 *   with `ring_entries` per vCPU (0 = the default; a power of two, capped
 *   at what the host allows); fails with a clear message where the host
 *   has no dirty ring.
 * Then hand the result to the memslot listener:
 *   kvm_memslots_set_dirty_tracking(slots, kvm->dirty_tracking, kvm->dirty_log_manual). */
bool kvm_enable_dirty_tracking(Kvm *kvm, DirtyTracking mode, unsigned ring_entries,
                               GError **errp);

/* KVM_CHECK_EXTENSION on the VM; 0 when absent. */
int kvm_check_cap(const Kvm *kvm, long cap);

/* An interrupt line into the in-kernel PIC and IOAPIC (KVM_IRQ_LINE). */
IrqLine kvm_irq_line(Kvm *kvm, unsigned gsi);
