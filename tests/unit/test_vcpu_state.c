/* vCPU and VM-wide KVM state on a real /dev/kvm: a tiny real-mode guest
 * runs a port-writing loop on one VM, is paused and saved; a second VM
 * (same RAM bytes, as RAM migration would leave them) loads the state,
 * must read back the same registers, and must go on with the loop.  Then
 * hostile sections: every truncation and a set of bad fields must fail
 * cleanly, before the vCPU is touched. */
#include <glib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "tiny_vm.h"
#include "vmm/kvm.h"
#include "vmm/kvm_state.h"
#include "vmm/vcpu.h"
#include "vmm/vcpu_state.h"


static Vcpu *bsp(TinyVm *vm)
{
    return vcpus_get(vm->vcpus, 0);
}

static void get(Vcpu *vcpu, unsigned long req, void *arg)
{
    g_assert_cmpint(ioctl(vcpu->fd, req, arg), ==, 0);
}

/* The MSR values KVM reports for `vcpu`, in vcpu_state_msr_list() order. */
static void read_msrs(Vcpu *vcpu, uint64_t *values, unsigned *count)
{
    g_autoptr(GError) err = NULL;
    const uint32_t *list = vcpu_state_msr_list(count, &err);
    g_assert_no_error(err);
    g_autofree struct kvm_msrs *msrs =
        g_malloc0(sizeof(*msrs) + *count * sizeof(struct kvm_msr_entry));

    for (unsigned i = 0; i < *count; i++) {
        msrs->entries[msrs->nmsrs++].index = list[i];
    }
    int got = ioctl(vcpu->fd, KVM_GET_MSRS, msrs);
    g_assert_cmpint(got, >=, 0);
    for (unsigned i = 0; i < *count; i++)
        values[i] = (int)i < got ? msrs->entries[i].data : 0;
}

static struct {
    GByteArray *cpu, *kvm;
} saved;

static void test_round_trip(void)
{
    TinyVm src = { 0 }, dst = { 0 };
    g_autoptr(GError) err = NULL;
    struct kvm_regs regs_src, regs_dst;
    struct kvm_sregs sregs_src, sregs_dst;
    struct kvm_lapic_state lapic_src, lapic_dst;
    struct kvm_mp_state mp_src, mp_dst;
    uint64_t msrs_src[64], msrs_dst[64];
    unsigned nmsrs;

    tiny_vm_init(&src, 1, true);
    vcpus_start(src.vcpus);
    tiny_vm_wait_writes_above(&src, 200);
    vcpus_pause(src.vcpus);
    int paused_at = g_atomic_int_get(&src.counter.writes);

    saved.cpu = g_byte_array_new();
    saved.kvm = g_byte_array_new();
    g_assert_true(vcpu_state_save(bsp(&src), saved.cpu, &err));
    g_assert_no_error(err);
    g_assert_true(kvm_state_save(src.kvm, saved.kvm, &err));
    g_assert_no_error(err);
    g_test_message("vCPU section %u bytes, KVM section %u bytes", saved.cpu->len,
                   saved.kvm->len);
    get(bsp(&src), KVM_GET_REGS, &regs_src);
    get(bsp(&src), KVM_GET_SREGS, &sregs_src);
    get(bsp(&src), KVM_GET_LAPIC, &lapic_src);
    get(bsp(&src), KVM_GET_MP_STATE, &mp_src);
    const uint32_t *list = vcpu_state_msr_list(&nmsrs, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(nmsrs, <=, G_N_ELEMENTS(msrs_src));
    g_autoptr(GString) names = g_string_new(NULL);
    for (unsigned i = 0; i < nmsrs; i++)
        g_string_append_printf(names, " 0x%x", list[i]);
    g_test_message("%u MSRs saved:%s", nmsrs, names->str);
    read_msrs(bsp(&src), msrs_src, &nmsrs);

    /* The kvmclock value the section carries: its last 48 bytes. */
    struct kvm_clock_data clock_saved;
    memcpy(&clock_saved, saved.kvm->data + saved.kvm->len - sizeof(clock_saved),
           sizeof(clock_saved));
    g_test_message("kvmclock %" G_GUINT64_FORMAT " ns, flags 0x%x", (guint64)clock_saved.clock,
                   clock_saved.flags);

    /* The destination: RAM first (what precopy leaves), then the state,
     * with its vCPU never run. */
    tiny_vm_init(&dst, 1, false);
    memcpy(dst.ram->host, src.ram->host, TINY_VM_RAM_SIZE);
    g_usleep(20 * 1000); /* transfer time, for the clock to cover */
    g_assert_true(vcpu_state_load(bsp(&dst), saved.cpu->data, saved.cpu->len,
                                  VCPU_STATE_VERSION, &err));
    g_assert_no_error(err);
    g_assert_true(kvm_state_load(dst.kvm, saved.kvm->data, saved.kvm->len, KVM_STATE_VERSION,
                                 &err));
    g_assert_no_error(err);

    get(bsp(&dst), KVM_GET_REGS, &regs_dst);
    get(bsp(&dst), KVM_GET_SREGS, &sregs_dst);
    get(bsp(&dst), KVM_GET_LAPIC, &lapic_dst);
    get(bsp(&dst), KVM_GET_MP_STATE, &mp_dst);
    g_assert_cmpmem(&regs_dst, sizeof(regs_dst), &regs_src, sizeof(regs_src));
    g_assert_cmpmem(&sregs_dst, sizeof(sregs_dst), &sregs_src, sizeof(sregs_src));
    g_assert_cmpmem(&lapic_dst, sizeof(lapic_dst), &lapic_src, sizeof(lapic_src));
    g_assert_cmpuint(mp_dst.mp_state, ==, mp_src.mp_state);
    read_msrs(bsp(&dst), msrs_dst, &nmsrs);
    for (unsigned i = 0; i < nmsrs; i++) {
        if (list[i] == 0x10)
            continue; /* the TSC ticks on */
        if (msrs_dst[i] != msrs_src[i])
            g_error("MSR 0x%x: 0x%" G_GINT64_MODIFIER "x after load, 0x%" G_GINT64_MODIFIER
                    "x at the source", list[i], msrs_dst[i], msrs_src[i]);
    }

    /* The clock never goes back, and covers the transfer when KVM says
     * the realtime pair is valid. */
    struct kvm_clock_data clock_dst;
    g_assert_true(kvm_clock_get(dst.kvm, &clock_dst, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(clock_dst.clock, >=, clock_saved.clock);
    if (clock_saved.flags & KVM_CLOCK_REALTIME)
        g_assert_cmpuint(clock_dst.clock - clock_saved.clock, >=, 20 * 1000 * 1000);

    /* The copy goes on with the loop: its first `out` writes AL as the
     * source left it (or one more, if the source had just done the out). */
    vcpus_start(dst.vcpus);
    tiny_vm_wait_writes_above(&dst, 100);
    int first = g_atomic_int_get(&dst.counter.first_value);
    uint8_t al = regs_src.rax & 0xff;
    g_assert_true(first == al || first == (uint8_t)(al + 1));
    g_assert_cmpint(g_atomic_int_get(&src.counter.writes), ==, paused_at);

    /* The source resumes too: both run. */
    vcpus_resume(src.vcpus);
    tiny_vm_wait_writes_above(&src, paused_at + 10);

    /* A save while the vCPU runs is refused, and the section adapter turns
     * it into an error section that the destination reports. */
    g_assert_false(vcpu_state_save(bsp(&src), saved.cpu, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "running"));
    g_clear_error(&err);
    g_autoptr(GByteArray) error_section = g_byte_array_new();
    g_test_expect_message(NULL, G_LOG_LEVEL_WARNING, "*running*");
    vcpu_state_section_save(bsp(&src), error_section);
    g_test_assert_expected_messages();
    vcpus_pause(dst.vcpus);
    g_assert_false(vcpu_state_section_load(bsp(&dst), error_section->data, error_section->len,
                                           VCPU_STATE_VERSION, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "source could not save"));
    g_clear_error(&err);

    tiny_vm_free(&dst);
    tiny_vm_free(&src);
}

/* A copy of saved.cpu with the u32 at `at` replaced. */
static GByteArray *cpu_with_u32(size_t at, uint32_t value)
{
    GByteArray *b = g_byte_array_new();

    g_byte_array_append(b, saved.cpu->data, saved.cpu->len);
    value = GUINT32_TO_LE(value);
    memcpy(b->data + at, &value, sizeof(value));
    return b;
}

static uint32_t u32_at(const GByteArray *b, size_t at)
{
    uint32_t v;

    memcpy(&v, b->data + at, sizeof(v));
    return GUINT32_FROM_LE(v);
}

/* Where record `tag` starts (its tag word) in saved.cpu. */
static size_t record_offset(uint32_t tag)
{
    size_t at = 16;

    while (at + 8 <= saved.cpu->len) {
        if (u32_at(saved.cpu, at) == tag)
            return at;
        at += 8 + u32_at(saved.cpu, at + 4);
    }
    g_error("no record %u", tag);
}

static void expect_cpu_refused(Vcpu *vcpu, const GByteArray *bad, const char *expect)
{
    g_autoptr(GError) err = NULL;

    g_assert_false(vcpu_state_load(vcpu, bad->data, bad->len, VCPU_STATE_VERSION, &err));
    g_assert_nonnull(err);
    if (!strstr(err->message, expect))
        g_error("error \"%s\" does not mention \"%s\"", err->message, expect);
}

static void test_hostile(void)
{
    TinyVm vm = { 0 };
    struct kvm_regs before, after;
    g_autoptr(GError) err = NULL;

    g_assert_nonnull(saved.cpu);
    tiny_vm_init(&vm, 1, true);
    Vcpu *vcpu = bsp(&vm);
    get(vcpu, KVM_GET_REGS, &before);

    /* Every truncation, one byte more, a wrong version. */
    for (size_t n = 0; n < saved.cpu->len; n++) {
        g_assert_false(vcpu_state_load(vcpu, saved.cpu->data, n, VCPU_STATE_VERSION, &err));
        g_assert_nonnull(err);
        g_clear_error(&err);
    }
    g_autoptr(GByteArray) longer = g_byte_array_new();
    g_byte_array_append(longer, saved.cpu->data, saved.cpu->len);
    g_byte_array_append(longer, (const guint8 *)"", 1);
    expect_cpu_refused(vcpu, longer, "stray");
    g_assert_false(vcpu_state_load(vcpu, saved.cpu->data, saved.cpu->len, 2, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);

    /* Header fields. */
    g_autoptr(GByteArray) magic = cpu_with_u32(0, 0x12345678);
    expect_cpu_refused(vcpu, magic, "magic");
    g_autoptr(GByteArray) index = cpu_with_u32(4, 3);
    expect_cpu_refused(vcpu, index, "vCPU 3");
    g_autoptr(GByteArray) flags = cpu_with_u32(8, 0x80);
    expect_cpu_refused(vcpu, flags, "flags");
    g_autoptr(GByteArray) many = cpu_with_u32(12, 1000);
    expect_cpu_refused(vcpu, many, "records");
    g_autoptr(GByteArray) fewer = cpu_with_u32(12, u32_at(saved.cpu, 12) - 1);
    expect_cpu_refused(vcpu, fewer, "stray");

    /* Records. */
    size_t regs = record_offset(1), sregs = record_offset(2), msrs = record_offset(6);
    g_autoptr(GByteArray) unknown = cpu_with_u32(regs, 99);
    expect_cpu_refused(vcpu, unknown, "unknown record tag 99");
    g_autoptr(GByteArray) dup = cpu_with_u32(sregs, 1);
    expect_cpu_refused(vcpu, dup, "twice");
    g_autoptr(GByteArray) short_regs = cpu_with_u32(regs + 4, 143);
    expect_cpu_refused(vcpu, short_regs, "regs record is 143 bytes");
    g_autoptr(GByteArray) huge = cpu_with_u32(regs + 4, 0xffffffff);
    expect_cpu_refused(vcpu, huge, "regs");
    g_autoptr(GByteArray) nmsrs = cpu_with_u32(msrs + 8, 100000);
    expect_cpu_refused(vcpu, nmsrs, "MSR");
    g_autoptr(GByteArray) msr_pad = cpu_with_u32(msrs + 12, 1);
    expect_cpu_refused(vcpu, msr_pad, "reserved");
    if (u32_at(saved.cpu, msrs + 8) > 0) {
        g_autoptr(GByteArray) entry_pad = cpu_with_u32(msrs + 16 + 4, 1);
        expect_cpu_refused(vcpu, entry_pad, "reserved");
    }
    /* An XSAVE area bigger than this host's. */
    size_t xsave = 16;
    while (u32_at(saved.cpu, xsave) != 3 && u32_at(saved.cpu, xsave) != 4)
        xsave += 8 + u32_at(saved.cpu, xsave + 4);
    if (u32_at(saved.cpu, xsave) == 3) {
        uint32_t len = u32_at(saved.cpu, xsave + 4);
        g_autoptr(GByteArray) big = g_byte_array_new();
        g_byte_array_append(big, saved.cpu->data, (guint)(xsave + 4));
        uint32_t bigger = GUINT32_TO_LE(len + 4096);
        g_byte_array_append(big, (const guint8 *)&bigger, 4);
        g_byte_array_append(big, saved.cpu->data + xsave + 8, len);
        g_byte_array_set_size(big, big->len + 4096);
        memset(big->data + big->len - 4096, 0, 4096);
        g_byte_array_append(big, saved.cpu->data + xsave + 8 + len,
                            (guint)(saved.cpu->len - (xsave + 8 + len)));
        expect_cpu_refused(vcpu, big, "XSAVE");
        g_autoptr(GByteArray) odd = cpu_with_u32(xsave + 4, len - 2);
        expect_cpu_refused(vcpu, odd, "XSAVE");
    }
    /* A missing required record: the MP state taken out, the count down. */
    {
        size_t mp = record_offset(9), mp_end = mp + 8 + u32_at(saved.cpu, mp + 4);
        g_autoptr(GByteArray) cut = cpu_with_u32(12, u32_at(saved.cpu, 12) - 1);
        g_byte_array_remove_range(cut, (guint)mp, (guint)(mp_end - mp));
        expect_cpu_refused(vcpu, cut, "MP state record is missing");
    }

    /* Nothing reached the vCPU. */
    get(vcpu, KVM_GET_REGS, &after);
    g_assert_cmpmem(&after, sizeof(after), &before, sizeof(before));

    /* The KVM section. */
    for (size_t n = 0; n < saved.kvm->len; n++) {
        g_assert_false(kvm_state_load(vm.kvm, saved.kvm->data, n, KVM_STATE_VERSION, &err));
        g_assert_nonnull(err);
        g_clear_error(&err);
    }
    g_autoptr(GByteArray) chip = g_byte_array_new();
    g_byte_array_append(chip, saved.kvm->data, saved.kvm->len);
    uint32_t ioapic_id = GUINT32_TO_LE(0); /* the IOAPIC record (3rd) claiming chip 0 */
    memcpy(chip->data + 8 + 2 * (8 + 520) + 8, &ioapic_id, 4);
    g_assert_false(kvm_state_load(vm.kvm, chip->data, chip->len, KVM_STATE_VERSION, &err));
    g_assert_nonnull(strstr(err->message, "chip id"));
    g_clear_error(&err);
    g_autoptr(GByteArray) pit = g_byte_array_new();
    g_byte_array_append(pit, saved.kvm->data, saved.kvm->len);
    uint32_t pit_flags = GUINT32_TO_LE(0x80);
    memcpy(pit->data + 8 + 3 * (8 + 520) + 8 + 72, &pit_flags, 4);
    g_assert_false(kvm_state_load(vm.kvm, pit->data, pit->len, KVM_STATE_VERSION, &err));
    g_assert_nonnull(strstr(err->message, "PIT flags"));
    g_clear_error(&err);
    static const uint8_t failed_section[8] = { 'F', 'K', 'V', 'M', 0, 0, 0, 0 };
    g_assert_false(kvm_state_load(vm.kvm, failed_section, sizeof(failed_section),
                                  KVM_STATE_VERSION, &err));
    g_assert_nonnull(strstr(err->message, "could not save"));
    g_clear_error(&err);

    tiny_vm_free(&vm);
}

/* A clock without the realtime flag is set as saved: never backwards. */
static void test_clock_plain(void)
{
    TinyVm vm = { 0 };
    g_autoptr(GError) err = NULL;
    struct kvm_clock_data now, later;

    tiny_vm_init(&vm, 1, false);
    g_assert_true(kvm_clock_get(vm.kvm, &now, &err));
    struct kvm_clock_data ahead = { .clock = now.clock + 1000ull * 1000 * 1000 * 3600 };
    g_assert_true(kvm_clock_restore(vm.kvm, &ahead, &err));
    g_assert_no_error(err);
    g_assert_true(kvm_clock_get(vm.kvm, &later, &err));
    g_assert_cmpuint(later.clock, >=, ahead.clock);
    g_assert_cmpuint(later.clock, <, ahead.clock + 1000ull * 1000 * 1000 * 60);
    tiny_vm_free(&vm);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vcpu-state/round-trip", test_round_trip);
    g_test_add_func("/vcpu-state/hostile", test_hostile);
    g_test_add_func("/vcpu-state/clock-plain", test_clock_plain);
    int ret = g_test_run();
    if (saved.cpu)
        g_byte_array_unref(saved.cpu);
    if (saved.kvm)
        g_byte_array_unref(saved.kvm);
    return ret;
}
