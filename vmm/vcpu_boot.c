/* The boot vCPU's registers for a direct kernel boot: flat 32-bit protected
 * mode (PVH, multiboot) or 64-bit mode on the loader's page tables (Linux
 * 64-bit boot protocol).  The hidden segment state is set directly, so the
 * guest needs no GDT until it loads its own. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/vcpu.h"

#define CR0_PE (1ull << 0)
#define CR0_ET (1ull << 4)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

#define SEG_TYPE_CODE_XR_ACCESSED 0xb
#define SEG_TYPE_DATA_RW_ACCESSED 0x3
#define SEG_TYPE_TSS32_BUSY 0xb

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type, bool long_code)
{
    return (struct kvm_segment){
        .base = 0,
        .limit = 0xffffffff,
        .selector = selector,
        .type = type,
        .present = 1,
        .s = 1,
        .db = long_code ? 0 : 1,
        .l = long_code,
        .g = 1,
    };
}

static void set_segments(struct kvm_sregs *sregs, const BootEntry *entry)
{
    bool long64 = entry->mode == BOOT_CPU_LONG64;
    /* Selectors of the Linux boot GDT; PVH and multiboot do not care. */
    struct kvm_segment code = flat_segment(0x10, SEG_TYPE_CODE_XR_ACCESSED, long64);
    struct kvm_segment data = flat_segment(0x18, SEG_TYPE_DATA_RW_ACCESSED, false);

    sregs->cs = code;
    sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = data;
    /* VMX refuses to enter protected mode without a usable TSS. */
    sregs->tr = (struct kvm_segment){
        .limit = 0x67, .selector = 0x20, .type = SEG_TYPE_TSS32_BUSY, .present = 1,
    };
    sregs->ldt = (struct kvm_segment){ .type = 2, .present = 1, .unusable = 1 };
}

bool vcpu_set_boot_state(Vcpu *vcpu, const BootEntry *entry, GError **errp)
{
    struct kvm_sregs sregs = vcpu->reset_sregs;
    struct kvm_regs regs = {
        .rflags = 0x2, /* bit 1 is reserved and always set; IF off */
        .rip = entry->rip,
        .rax = entry->rax,
        .rbx = entry->rbx,
        .rsi = entry->rsi,
    };

    set_segments(&sregs, entry);
    sregs.cr0 = CR0_PE | CR0_ET;
    sregs.cr4 = 0;
    sregs.efer = 0;
    if (entry->mode == BOOT_CPU_LONG64) {
        sregs.cr0 |= CR0_PG;
        sregs.cr3 = entry->cr3;
        sregs.cr4 = CR4_PAE;
        sregs.efer = EFER_LME | EFER_LMA;
        sregs.gdt.base = entry->gdt_base;
        sregs.gdt.limit = entry->gdt_limit;
    }
    if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "vCPU %u: cannot set the boot registers: %s", vcpu->index, g_strerror(errno));
        return false;
    }
    return true;
}
