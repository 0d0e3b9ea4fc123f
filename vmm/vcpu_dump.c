/* Crash reports: what a person needs to see why the guest died. */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/vcpu.h"

#define INSN_BYTES 16

static void dump_segment(FILE *out, const char *name, const struct kvm_segment *s)
{
    fprintf(out, "%-3s sel=%04x base=%016llx limit=%08x type=%x dpl=%u p=%u db=%u l=%u g=%u%s\n",
            name, s->selector, (unsigned long long)s->base, s->limit, s->type, s->dpl,
            s->present, s->db, s->l, s->g, s->unusable ? " unusable" : "");
}

/* The bytes at CS:RIP, found through the guest's own page tables. */
static void dump_code(Vcpu *vcpu, const struct kvm_sregs *sregs, uint64_t rip, FILE *out)
{
    struct kvm_translation tr = { .linear_address = sregs->cs.base + rip };
    const uint8_t *bytes;

    if (ioctl(vcpu->fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid) {
        fprintf(out, "code: linear address %016llx is not mapped\n",
                (unsigned long long)tr.linear_address);
        return;
    }
    /* RAM only: reading a device register here could change the device. */
    bytes = address_space_ram_ptr(vcpu_memory(vcpu), tr.physical_address, INSN_BYTES, true);
    if (!bytes) {
        fprintf(out, "code: physical address %016llx is not RAM\n",
                (unsigned long long)tr.physical_address);
        return;
    }
    fprintf(out, "code at %016llx (phys %016llx):", (unsigned long long)tr.linear_address,
            (unsigned long long)tr.physical_address);
    for (unsigned i = 0; i < INSN_BYTES; i++)
        fprintf(out, " %02x", bytes[i]);
    fputc('\n', out);
}

void vcpu_dump_state(Vcpu *vcpu, FILE *out)
{
    struct kvm_regs r;
    struct kvm_sregs s;

    if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0) {
        fprintf(out, "(vCPU %u registers are unavailable)\n", vcpu->index);
        return;
    }
    fprintf(out, "RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n", r.rax, r.rbx, r.rcx, r.rdx);
    fprintf(out, "RSI=%016llx RDI=%016llx RBP=%016llx RSP=%016llx\n", r.rsi, r.rdi, r.rbp, r.rsp);
    fprintf(out, "R8 =%016llx R9 =%016llx R10=%016llx R11=%016llx\n", r.r8, r.r9, r.r10, r.r11);
    fprintf(out, "R12=%016llx R13=%016llx R14=%016llx R15=%016llx\n", r.r12, r.r13, r.r14, r.r15);
    fprintf(out, "RIP=%016llx RFLAGS=%08llx\n", r.rip, r.rflags);
    dump_segment(out, "CS", &s.cs);
    dump_segment(out, "DS", &s.ds);
    dump_segment(out, "ES", &s.es);
    dump_segment(out, "SS", &s.ss);
    dump_segment(out, "FS", &s.fs);
    dump_segment(out, "GS", &s.gs);
    dump_segment(out, "TR", &s.tr);
    fprintf(out, "GDT base=%016llx limit=%04x  IDT base=%016llx limit=%04x\n",
            (unsigned long long)s.gdt.base, s.gdt.limit, (unsigned long long)s.idt.base,
            s.idt.limit);
    fprintf(out, "CR0=%016llx CR2=%016llx CR3=%016llx CR4=%016llx EFER=%016llx\n", s.cr0, s.cr2,
            s.cr3, s.cr4, s.efer);
    dump_code(vcpu, &s, r.rip, out);
}
