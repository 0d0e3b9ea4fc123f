#include "vmm/vcpu_cpuid.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_HTT (1u << 28)

struct kvm_cpuid2 *cpuid_supported(const Kvm *kvm, GError **errp)
{
    for (unsigned nent = 64; nent <= 4096; nent *= 2) {
        struct kvm_cpuid2 *table =
            g_malloc0(sizeof(*table) + nent * sizeof(struct kvm_cpuid_entry2));

        table->nent = nent;
        if (ioctl(kvm->dev_fd, KVM_GET_SUPPORTED_CPUID, table) == 0)
            return table;
        g_free(table);
        if (errno != E2BIG) {
            g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno),
                        "KVM: KVM_GET_SUPPORTED_CPUID failed: %s", g_strerror(errno));
            return NULL;
        }
    }
    g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                "KVM: KVM_GET_SUPPORTED_CPUID wants more than 4096 entries");
    return NULL;
}

/* Bits needed to number `count` things (the x2APIC ID shift of a level). */
static unsigned id_bits(unsigned count)
{
    unsigned bits = 0;

    while ((1u << bits) < count)
        bits++;
    return bits;
}

static void set_topology(struct kvm_cpuid_entry2 *e, unsigned apic_id, unsigned ncpus)
{
    switch (e->function) {
    case 1:
        e->ebx = (e->ebx & 0x0000ffff) | (apic_id << 24) |
                 ((1u << id_bits(ncpus)) & 0xff) << 16;
        e->ecx |= CPUID_1_ECX_HYPERVISOR;
        if (ncpus > 1)
            e->edx |= CPUID_1_EDX_HTT;
        else
            e->edx &= ~CPUID_1_EDX_HTT;
        break;
    case 4:
        /* Cores per package - 1 in EAX[31:26]; the cache is private to one core. */
        if (e->eax & 0x1f)
            e->eax = (e->eax & 0x3ff) | ((((1u << id_bits(ncpus)) - 1) & 0x3f) << 26);
        break;
    case 0xb:
    case 0x1f:
        /* Level 0: SMT, one thread per core.  Level 1: cores.  Then invalid. */
        if (e->index == 0) {
            e->eax = 0;
            e->ebx = 1;
            e->ecx = (1u << 8) | 0;
        } else if (e->index == 1) {
            e->eax = id_bits(ncpus);
            e->ebx = ncpus;
            e->ecx = (2u << 8) | 1;
        } else {
            e->eax = e->ebx = 0;
            e->ecx = e->index;
        }
        e->edx = apic_id;
        break;
    }
}

struct kvm_cpuid2 *cpuid_for_vcpu(const struct kvm_cpuid2 *supported, unsigned apic_id,
                                  unsigned ncpus)
{
    size_t size = sizeof(*supported) + supported->nent * sizeof(struct kvm_cpuid_entry2);
    struct kvm_cpuid2 *table = g_memdup2(supported, size);

    for (unsigned i = 0; i < table->nent; i++)
        set_topology(&table->entries[i], apic_id, ncpus);
    return table;
}
