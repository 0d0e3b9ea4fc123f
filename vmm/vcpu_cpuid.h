/* The CPUID a vCPU sees: what KVM supports, with a topology that matches
 * the number of vCPUs (one package, one thread per core). */
#pragma once

#include <glib.h>
#include <linux/kvm.h>

#include "vmm/kvm.h"

/* KVM_GET_SUPPORTED_CPUID; free with g_free(). */
struct kvm_cpuid2 *cpuid_supported(const Kvm *kvm, GError **errp);

/* A copy of `supported` for the vCPU with this APIC ID; g_free() it. */
struct kvm_cpuid2 *cpuid_for_vcpu(const struct kvm_cpuid2 *supported, unsigned apic_id,
                                  unsigned ncpus);
