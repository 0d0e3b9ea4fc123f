/* vCPUs: one thread each, running KVM_RUN and dispatching exits.
 *
 * State machine (per vCPU, changed only by vcpu_transition()):
 *
 *   CREATED -> RUNNING    the thread starts and no pause is asked for
 *   CREATED -> PAUSED     a pause was asked before the thread first ran
 *   RUNNING <-> PAUSED    vcpus_pause() / vcpus_resume()
 *   any     -> STOPPED    vcpus_stop(), or the guest crashed on this vCPU
 *
 * Another thread pauses every vCPU with vcpus_pause(): it sets
 * kvm_run.immediate_exit and kicks each thread with a signal, so that a vCPU
 * inside KVM_RUN returns at once and one about to enter does not stay.
 * vcpus_pause() returns when every vCPU is PAUSED or STOPPED; migration and
 * machine reset rely on that.  Application processors sit in KVM_RUN in the
 * in-kernel LAPIC's wait-for-SIPI state until the BSP sends INIT-SIPI-SIPI.
 *
 * With a dirty ring on the VM (kvm->dirty_ring_bytes), each vCPU maps its
 * ring and registers it with the memslot listener, which reaps every ring
 * on a dirty-log sync.  A vCPU whose ring fills exits with
 * KVM_EXIT_DIRTY_RING_FULL; its thread reaps its own ring and runs on.
 */
#pragma once

#include <glib.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>

#include "firmware/boot.h"
#include "mem/address_space.h"
#include "vmm/kvm.h"

typedef enum VcpuState {
    VCPU_CREATED,
    VCPU_RUNNING,
    VCPU_PAUSED,
    VCPU_STOPPED,
} VcpuState;

typedef struct Vcpus Vcpus;

typedef struct Vcpu {
    Vcpus *set;
    unsigned index; /* also the APIC ID */
    int fd;
    struct kvm_run *run;
    pthread_t thread;
    bool started; /* thread exists and has not been joined */
    VcpuState state;
    /* Architectural state right after creation, for machine reset. */
    struct kvm_regs reset_regs;
    struct kvm_sregs reset_sregs;
    struct kvm_fpu reset_fpu;
    struct kvm_lapic_state reset_lapic;
    /* Dirty ring mode only. */
    struct kvm_dirty_gfn *dirty_gfns; /* the mmapped ring */
    KvmDirtyRing *dirty_ring; /* its registration with the memslots */
    unsigned dirty_ring_full_exits; /* atomic; for tests and statistics */
    unsigned dirty_ring_empty_exits; /* ring-full exits in a row that found nothing */
} Vcpu;

typedef struct VcpusConfig {
    Kvm *kvm;
    unsigned count;
    AddressSpace *memory; /* MMIO exits */
    AddressSpace *io; /* port I/O exits */
    bool trace_unassigned; /* log accesses nobody claims to stderr */
    KvmMemslots *memslots; /* required with a dirty ring: where the rings are reaped */
} VcpusConfig;

Vcpus *vcpus_new(const VcpusConfig *config, GError **errp);
/* Stops (if running) and frees. */
void vcpus_free(Vcpus *set);
unsigned vcpus_count(const Vcpus *set);
Vcpu *vcpus_get(Vcpus *set, unsigned index);

/* BSP starts at `entry`, APs wait for SIPI; then the threads start. */
void vcpus_start(Vcpus *set);
void vcpus_pause(Vcpus *set);
void vcpus_resume(Vcpus *set);
/* End every vCPU thread and join it. */
void vcpus_stop(Vcpus *set);

/* Back to power-on state (vCPUs must be paused): APs wait for SIPI again,
 * the BSP starts at `entry`, or at the reset vector when it is NULL. */
bool vcpus_reset(Vcpus *set, const BootEntry *entry, GError **errp);

/* The memory address space, for device-free reads of guest memory. */
AddressSpace *vcpu_memory(Vcpu *vcpu);

/* vcpu_boot.c: the boot vCPU's registers for a direct kernel boot. */
bool vcpu_set_boot_state(Vcpu *vcpu, const BootEntry *entry, GError **errp);

/* vcpu_dump.c: registers, segments, control registers and the bytes at
 * RIP, for crash reports. */
void vcpu_dump_state(Vcpu *vcpu, FILE *out);
