/* One vCPU's architectural state as a migration section ("cpu0", "cpu1"...).
 *
 * Layout, version 1 (every integer little-endian; KVM's structures are
 * copied as the x86_64 <linux/kvm.h> ABI lays them out, which is fixed):
 *
 *   header   u8 magic[4] "FCPU", u32 vcpu index (also the APIC ID),
 *            u32 flags (0; bit 0 = the source failed, see below),
 *            u32 number of records that follow
 *   record   u32 tag, u32 length, u8 payload[length]
 *
 *   tag  payload                                   length
 *   1    struct kvm_regs                           144
 *   2    struct kvm_sregs                          312
 *   3    XSAVE area (KVM_GET_XSAVE2 / KVM_GET_XSAVE) 4096 .. 1 MiB, multiple of 4
 *   4    struct kvm_fpu (only without XSAVE)       416
 *   5    struct kvm_xcrs                           392
 *   6    MSRs: u32 count, u32 0, count x {u32 index, u32 0, u64 value}
 *                                                  8 + 16 * count, count <= 256
 *   7    struct kvm_lapic_state                    1024
 *   8    struct kvm_vcpu_events                    64
 *   9    struct kvm_mp_state                       4
 *   10   struct kvm_debugregs                      128
 *   11   error text from the source (flag bit 0)   1 .. 4096
 *
 * Each tag appears at most once.  Required: 1, 2, 3 or 4 (not both), 6, 7,
 * 8, 9; optional: 5 and 10 (a host without KVM_CAP_XCRS / _DEBUGREGS).  A
 * load parses and checks the whole section before it changes the vCPU;
 * then it applies the pieces in the order KVM needs (see vcpu_state.c).
 *
 * The MSRs are those of vcpu_state_msr_list(): the intersection of this
 * host's KVM_GET_MSR_INDEX_LIST with what a VMM must carry over (TSC and
 * TSC_ADJUST, SYSENTER, PAT, MISC_ENABLE, SPEC_CTRL, XSS, the SYSCALL MSRs,
 * KERNEL_GS_BASE, TSC_AUX, APIC base, the kvmclock / async-PF / steal-time /
 * PV-EOI / poll-control MSRs, TSC_DEADLINE).  FS/GS base, EFER and CR8 ride
 * in sregs.
 *
 * The vCPU must not be running: pause every vCPU (vcpus_pause) around a
 * save or a load.  A load also needs guest RAM in place first: the kvmclock
 * and steal-time MSRs make KVM write guest memory.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/vcpu.h"

#define VCPU_STATE_VERSION 1u

/* Appends the section; false (with nothing appended) if KVM refused a read. */
bool vcpu_state_save(Vcpu *vcpu, GByteArray *out, GError **errp);
/* Checks every length and tag, then sets the state.  `version` is what the
 * source wrote (1).  A bad section changes nothing; if KVM itself refuses a
 * value after that (an MSR this host lacks), the vCPU is left part-loaded
 * and must not run: the migration has failed. */
bool vcpu_state_load(Vcpu *vcpu, const uint8_t *data, size_t len, uint32_t version,
                     GError **errp);

/* The same, shaped as migration/vmstate.h's VmStateSaveFn / VmStateLoadFn
 * with a Vcpu * as opaque.  A save that fails writes a section holding only
 * the error (flag bit 0, record 11) and logs it, so that the destination's
 * load fails with the source's message instead of loading half a vCPU. */
void vcpu_state_section_save(void *opaque, GByteArray *out);
bool vcpu_state_section_load(void *opaque, const uint8_t *data, size_t len, uint32_t version,
                             GError **errp);

/* The MSRs this host saves, in the order a load writes them (TSC first,
 * TSC_DEADLINE last).  Probed once per process from /dev/kvm; NULL with
 * errp if that fails. */
const uint32_t *vcpu_state_msr_list(unsigned *count, GError **errp);
