/* /dev/kvm and the VM file descriptor: opening, capabilities, and the
 * x86 platform pieces KVM emulates in the kernel (irqchip, PIT). */
#pragma once

#include <glib.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>

#include "hw/irq.h"

typedef struct Kvm {
    int dev_fd; /* /dev/kvm */
    int vm_fd;
    size_t vcpu_mmap_size; /* struct kvm_run plus what follows it */
    unsigned max_vcpus;
    unsigned nr_memslots;
    /* In-kernel PIC, IOAPIC and PIT as created, for machine reset. */
    struct kvm_irqchip reset_pic_master, reset_pic_slave, reset_ioapic;
    struct kvm_pit_state2 reset_pit;
} Kvm;

/* Opens /dev/kvm, checks the API version and creates a VM with the
 * in-kernel irqchip (PIC, IOAPIC, LAPIC) and PIT. */
Kvm *kvm_open(GError **errp);
void kvm_close(Kvm *kvm);

/* Put the in-kernel PIC, IOAPIC and PIT back to their power-on state. */
bool kvm_reset_platform(Kvm *kvm, GError **errp);

/* KVM_CHECK_EXTENSION on the VM; 0 when absent. */
int kvm_check_cap(const Kvm *kvm, long cap);

/* An interrupt line into the in-kernel PIC and IOAPIC (KVM_IRQ_LINE). */
IrqLine kvm_irq_line(Kvm *kvm, unsigned gsi);
