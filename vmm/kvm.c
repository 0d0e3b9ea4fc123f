#include "vmm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Where KVM puts its real-mode TSS and identity page table on Intel: three
 * pages and one page at the top of the 32-bit hole, reserved in e820. */
#define KVM_IDENTITY_MAP_ADDR 0xfeffc000ull
#define KVM_TSS_ADDR 0xfeffd000ull

static bool kvm_vm_ioctl_ok(Kvm *kvm, unsigned long req, void *arg, const char *what,
                            GError **errp)
{
    if (ioctl(kvm->vm_fd, req, arg) < 0) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno), "KVM: %s failed: %s",
                    what, g_strerror(errno));
        return false;
    }
    return true;
}

static bool kvm_create_platform(Kvm *kvm, GError **errp)
{
    uint64_t identity = KVM_IDENTITY_MAP_ADDR;
    struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

    if (ioctl(kvm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "KVM: KVM_SET_TSS_ADDR failed: %s", g_strerror(errno));
        return false;
    }
    kvm->reset_pic_master.chip_id = KVM_IRQCHIP_PIC_MASTER;
    kvm->reset_pic_slave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
    kvm->reset_ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
    return kvm_vm_ioctl_ok(kvm, KVM_SET_IDENTITY_MAP_ADDR, &identity, "KVM_SET_IDENTITY_MAP_ADDR",
                           errp) &&
           kvm_vm_ioctl_ok(kvm, KVM_CREATE_IRQCHIP, NULL, "KVM_CREATE_IRQCHIP", errp) &&
           kvm_vm_ioctl_ok(kvm, KVM_CREATE_PIT2, &pit, "KVM_CREATE_PIT2", errp) &&
           kvm_vm_ioctl_ok(kvm, KVM_GET_IRQCHIP, &kvm->reset_pic_master, "KVM_GET_IRQCHIP", errp) &&
           kvm_vm_ioctl_ok(kvm, KVM_GET_IRQCHIP, &kvm->reset_pic_slave, "KVM_GET_IRQCHIP", errp) &&
           kvm_vm_ioctl_ok(kvm, KVM_GET_IRQCHIP, &kvm->reset_ioapic, "KVM_GET_IRQCHIP", errp) &&
           kvm_vm_ioctl_ok(kvm, KVM_GET_PIT2, &kvm->reset_pit, "KVM_GET_PIT2", errp);
}

bool kvm_reset_platform(Kvm *kvm, GError **errp)
{
    return kvm_vm_ioctl_ok(kvm, KVM_SET_IRQCHIP, &kvm->reset_pic_master, "KVM_SET_IRQCHIP", errp) &&
           kvm_vm_ioctl_ok(kvm, KVM_SET_IRQCHIP, &kvm->reset_pic_slave, "KVM_SET_IRQCHIP", errp) &&
           kvm_vm_ioctl_ok(kvm, KVM_SET_IRQCHIP, &kvm->reset_ioapic, "KVM_SET_IRQCHIP", errp) &&
           kvm_vm_ioctl_ok(kvm, KVM_SET_PIT2, &kvm->reset_pit, "KVM_SET_PIT2", errp);
}

Kvm *kvm_open(GError **errp)
{
    g_autofree Kvm *kvm = g_new0(Kvm, 1);
    int version, mmap_size;

    kvm->vm_fd = -1;
    kvm->dev_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm->dev_fd < 0) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "/dev/kvm: %s (is KVM enabled and are you in the kvm group?)",
                    g_strerror(errno));
        return NULL;
    }
    version = ioctl(kvm->dev_fd, KVM_GET_API_VERSION, 0);
    if (version != KVM_API_VERSION) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "/dev/kvm: API version %d, ferry needs %d", version, KVM_API_VERSION);
        goto fail;
    }
    mmap_size = ioctl(kvm->dev_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (mmap_size <= 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED, "KVM: KVM_GET_VCPU_MMAP_SIZE failed");
        goto fail;
    }
    kvm->vcpu_mmap_size = mmap_size;
    kvm->vm_fd = ioctl(kvm->dev_fd, KVM_CREATE_VM, 0);
    if (kvm->vm_fd < 0) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "KVM: KVM_CREATE_VM failed: %s", g_strerror(errno));
        goto fail;
    }
    kvm->max_vcpus = kvm_check_cap(kvm, KVM_CAP_MAX_VCPUS);
    if (!kvm->max_vcpus)
        kvm->max_vcpus = kvm_check_cap(kvm, KVM_CAP_NR_VCPUS);
    if (!kvm->max_vcpus)
        kvm->max_vcpus = 4; /* what the API documents when neither cap answers */
    kvm->nr_memslots = kvm_check_cap(kvm, KVM_CAP_NR_MEMSLOTS);
    if (!kvm->nr_memslots)
        kvm->nr_memslots = 32;
    if (!kvm_create_platform(kvm, errp))
        goto fail;
    return g_steal_pointer(&kvm);

fail:
    if (kvm->vm_fd >= 0)
        close(kvm->vm_fd);
    close(kvm->dev_fd);
    return NULL;
}

void kvm_close(Kvm *kvm)
{
    if (!kvm)
        return;
    close(kvm->vm_fd);
    close(kvm->dev_fd);
    g_free(kvm);
}

int kvm_check_cap(const Kvm *kvm, long cap)
{
    int ret = ioctl(kvm->vm_fd, KVM_CHECK_EXTENSION, cap);

    return ret < 0 ? 0 : ret;
}

static bool kvm_enable_cap(Kvm *kvm, unsigned cap, uint64_t arg, const char *what,
                           GError **errp)
{
    struct kvm_enable_cap enable = { .cap = cap, .args = { arg } };

    if (ioctl(kvm->vm_fd, KVM_ENABLE_CAP, &enable) < 0) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "KVM: enabling %s (0x%" G_GINT64_MODIFIER "x) failed: %s", what, arg,
                    g_strerror(errno));
        return false;
    }
    return true;
}

static bool kvm_enable_dirty_bitmap(Kvm *kvm, GError **errp)
{
    uint32_t offered = (uint32_t)kvm_check_cap(kvm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
    uint32_t flags = offered & (KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET);

    kvm->dirty_tracking = DIRTY_TRACKING_BITMAP;
    kvm->dirty_log_manual = 0;
    /* Without manual protection KVM_GET_DIRTY_LOG still works, only
     * re-protecting all of a slot at every sync. */
    if (!(flags & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE))
        return true;
    if (!kvm_enable_cap(kvm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, flags,
                        "KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2", errp))
        return false;
    kvm->dirty_log_manual = flags;
    return true;
}

static bool kvm_enable_dirty_ring(Kvm *kvm, unsigned entries, GError **errp)
{
    const struct kvm_dirty_gfn *gfn = NULL;
    unsigned cap = KVM_CAP_DIRTY_LOG_RING_ACQ_REL;
    const char *cap_name = "KVM_CAP_DIRTY_LOG_RING_ACQ_REL";
    int max_bytes = kvm_check_cap(kvm, cap);

    if (max_bytes <= 0) {
        cap = KVM_CAP_DIRTY_LOG_RING;
        cap_name = "KVM_CAP_DIRTY_LOG_RING";
        max_bytes = kvm_check_cap(kvm, cap);
    }
    if (max_bytes <= 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_NOSYS,
                    "--dirty-tracking ring: this host's KVM has no dirty ring "
                    "(neither KVM_CAP_DIRTY_LOG_RING_ACQ_REL nor KVM_CAP_DIRTY_LOG_RING; "
                    "Linux 5.11 or newer on x86); use --dirty-tracking bitmap");
        return false;
    }
    if (!entries)
        entries = KVM_DIRTY_RING_DEFAULT_ENTRIES;
    if (entries & (entries - 1)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "dirty ring: %u entries is not a power of two", entries);
        return false;
    }
    uint64_t bytes = (uint64_t)entries * sizeof(*gfn);
    if (bytes > (uint64_t)max_bytes)
        bytes = (uint64_t)max_bytes; /* a power of two too */
    if (bytes < (uint64_t)getpagesize()) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "dirty ring: %u entries is less than a page (%zu entries)", entries,
                    (size_t)getpagesize() / sizeof(*gfn));
        return false;
    }
    if (!kvm_enable_cap(kvm, cap, bytes, cap_name, errp)) {
        g_prefix_error(errp, "--dirty-tracking ring (before any vCPU exists, %" G_GUINT64_FORMAT
                       " bytes per vCPU, host maximum %d): ", bytes, max_bytes);
        return false;
    }
    kvm->dirty_tracking = DIRTY_TRACKING_RING;
    kvm->dirty_log_manual = 0;
    kvm->dirty_ring_bytes = (uint32_t)bytes;
    return true;
}

bool kvm_enable_dirty_tracking(Kvm *kvm, DirtyTracking mode, unsigned ring_entries,
                               GError **errp)
{
    if (kvm->dirty_ring_bytes) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "KVM: dirty tracking is already set up (ring)");
        return false;
    }
    return mode == DIRTY_TRACKING_RING ? kvm_enable_dirty_ring(kvm, ring_entries, errp)
                                       : kvm_enable_dirty_bitmap(kvm, errp);
}

static void kvm_set_irq_level(void *opaque, unsigned gsi, bool level)
{
    Kvm *kvm = opaque;
    struct kvm_irq_level irq = { .irq = gsi, .level = level };

    /* Only fails for a GSI the irqchip does not have: a programming error. */
    if (ioctl(kvm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
        g_error("KVM_IRQ_LINE gsi %u: %s", gsi, g_strerror(errno));
}

IrqLine kvm_irq_line(Kvm *kvm, unsigned gsi)
{
    return (IrqLine){ .set_level = kvm_set_irq_level, .opaque = kvm, .gsi = gsi };
}
