/* The VM-wide state KVM keeps in the kernel, as one migration section
 * ("kvm"): the two 8259 PICs, the IOAPIC, the PIT and the kvmclock.
 *
 * Layout, version 1 (integers little-endian; KVM's structures copied as
 * the x86_64 <linux/kvm.h> ABI lays them out):
 *
 *   header   u8 magic[4] "FKVM", u32 number of records (5)
 *   record   u32 tag, u32 length, u8 payload[length]
 *
 *   tag  payload                                   length
 *   1    struct kvm_irqchip, chip_id 0 (PIC master) 520
 *   2    struct kvm_irqchip, chip_id 1 (PIC slave)  520
 *   3    struct kvm_irqchip, chip_id 2 (IOAPIC)     520
 *   4    struct kvm_pit_state2                     112
 *   5    struct kvm_clock_data (KVM_GET_CLOCK)     48
 *
 * Every tag exactly once; a load checks the whole section (lengths, tags,
 * chip ids, clock flags) before changing anything.
 *
 * The clock: the source reads KVM_GET_CLOCK at the final pause.  When its
 * flags say `realtime` is valid (KVM_CLOCK_REALTIME, Linux 5.16+ on a
 * TSC-clocksource host), the destination asks KVM_SET_CLOCK to add the
 * time elapsed since then (or adds it itself on a kernel that cannot), so
 * the guest's clock runs on across the transfer instead of stopping; both
 * hosts' wall clocks must agree (NTP).  Without it the value is set as
 * saved: the guest's clock stands still during the downtime, it never
 * goes back.  `host_tsc` is carried for the record; ferry does not move
 * TSC offsets with it.
 *
 * Call with the vCPUs paused.  Load this after every vCPU's state.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/kvm.h"

#define KVM_STATE_VERSION 1u

bool kvm_state_save(Kvm *kvm, GByteArray *out, GError **errp);
bool kvm_state_load(Kvm *kvm, const uint8_t *data, size_t len, uint32_t version, GError **errp);

/* VmStateSaveFn / VmStateLoadFn shapes with a Kvm * as opaque.  A failed
 * save writes a section with zero records and logs the error: the
 * destination refuses it ("the source could not save it"). */
void kvm_state_section_save(void *opaque, GByteArray *out);
bool kvm_state_section_load(void *opaque, const uint8_t *data, size_t len, uint32_t version,
                            GError **errp);

/* KVM_GET_CLOCK / KVM_SET_CLOCK alone, for tests and for the above. */
bool kvm_clock_get(Kvm *kvm, struct kvm_clock_data *clock, GError **errp);
/* Sets the clock to `saved`, plus the wall time elapsed since saved->realtime
 * when saved->flags has KVM_CLOCK_REALTIME. */
bool kvm_clock_restore(Kvm *kvm, const struct kvm_clock_data *saved, GError **errp);
