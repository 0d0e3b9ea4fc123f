/* One vCPU's state as a migration section; the layout is in vcpu_state.h.
 *
 * Load order, and why:
 *   sregs        CR0/CR4/EFER and the APIC base first: they decide what the
 *                rest means (paging mode, x2APIC for the LAPIC's ID format)
 *   regs, XCRs, XSAVE (or FPU)
 *   LAPIC        before the MSRs: TSC_DEADLINE only sticks when the LAPIC
 *                timer is already in TSC-deadline mode
 *   MSRs         TSC first (the deadline is a TSC value), async-PF's
 *                interrupt vector before its enable, TSC_DEADLINE last, in
 *                a second KVM_SET_MSRS
 *   debug registers, vCPU events (they carry the SIPI vector and latched
 *   INIT that the MP state checks), MP state last
 *
 * KVM itself checks every value it is given (reserved CR bits, segment
 * rules, MP-state transitions): this file checks the shape of the stream,
 * KVM the meaning of what is in it.
 */
#include "vmm/vcpu_state.h"
#include "vmm/state_record.h"
#include "mem/le_bytes.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define VCPU_STATE_MAGIC "FCPU"
#define VCPU_STATE_HEADER_LEN 16u
#define VCPU_STATE_RECORD_HEADER_LEN 8u
#define VCPU_STATE_FLAG_ERROR 0x1u

enum {
    TAG_REGS = 1,
    TAG_SREGS = 2,
    TAG_XSAVE = 3,
    TAG_FPU = 4,
    TAG_XCRS = 5,
    TAG_MSRS = 6,
    TAG_LAPIC = 7,
    TAG_EVENTS = 8,
    TAG_MP_STATE = 9,
    TAG_DEBUGREGS = 10,
    TAG_ERROR = 11,
    TAG_COUNT,
};

#define XSAVE_MIN_LEN ((uint32_t)sizeof(struct kvm_xsave))
#define XSAVE_MAX_LEN (1u << 20)
#define MSRS_MAX 256u
#define MSR_ENTRY_LEN 16u
#define ERROR_TEXT_MAX 4096u

/* The stream copies KVM's structures byte for byte: pin their sizes. */
G_STATIC_ASSERT(sizeof(struct kvm_regs) == 144);
G_STATIC_ASSERT(sizeof(struct kvm_sregs) == 312);
G_STATIC_ASSERT(sizeof(struct kvm_fpu) == 416);
G_STATIC_ASSERT(sizeof(struct kvm_xcrs) == 392);
G_STATIC_ASSERT(sizeof(struct kvm_lapic_state) == 1024);
G_STATIC_ASSERT(sizeof(struct kvm_vcpu_events) == 64);
G_STATIC_ASSERT(sizeof(struct kvm_mp_state) == 4);
G_STATIC_ASSERT(sizeof(struct kvm_debugregs) == 128);
G_STATIC_ASSERT(sizeof(struct kvm_msr_entry) == MSR_ENTRY_LEN);
G_STATIC_ASSERT(sizeof(struct kvm_xsave) == 4096);

static const char *const tag_names[TAG_COUNT] = {
    [TAG_REGS] = "regs", [TAG_SREGS] = "sregs", [TAG_XSAVE] = "XSAVE",
    [TAG_FPU] = "FPU", [TAG_XCRS] = "XCRs", [TAG_MSRS] = "MSRs",
    [TAG_LAPIC] = "LAPIC", [TAG_EVENTS] = "vCPU events", [TAG_MP_STATE] = "MP state",
    [TAG_DEBUGREGS] = "debug registers", [TAG_ERROR] = "error text",
};

/* Fixed payload lengths; 0 for the variable ones. */
static const uint32_t tag_lengths[TAG_COUNT] = {
    [TAG_REGS] = sizeof(struct kvm_regs),
    [TAG_SREGS] = sizeof(struct kvm_sregs),
    [TAG_FPU] = sizeof(struct kvm_fpu),
    [TAG_XCRS] = sizeof(struct kvm_xcrs),
    [TAG_LAPIC] = sizeof(struct kvm_lapic_state),
    [TAG_EVENTS] = sizeof(struct kvm_vcpu_events),
    [TAG_MP_STATE] = sizeof(struct kvm_mp_state),
    [TAG_DEBUGREGS] = sizeof(struct kvm_debugregs),
};

#define MSR_IA32_TSC_DEADLINE 0x6e0u

/* What ferry carries over, in load order, when the host's KVM lists it.
 * Left out on purpose: FS/GS base and EFER (in sregs), MCE banks (ferry
 * does no KVM_X86_SETUP_MCE), PMU counters (no vPMU is configured),
 * Hyper-V and nested-VMX/SVM MSRs (neither is offered to the guest), and
 * read-only feature MSRs (ARCH_CAPABILITIES, PLATFORM_INFO...), which the
 * destination's CPUID setup decides. */
static const struct {
    uint32_t index;
    const char *name;
} msr_wanted[] = {
    { 0x00000010, "IA32_TSC" },
    { 0x0000003b, "IA32_TSC_ADJUST" },
    { 0x0000001b, "IA32_APIC_BASE" },
    { 0x00000174, "IA32_SYSENTER_CS" },
    { 0x00000175, "IA32_SYSENTER_ESP" },
    { 0x00000176, "IA32_SYSENTER_EIP" },
    { 0x000001a0, "IA32_MISC_ENABLE" },
    { 0x00000277, "IA32_PAT" },
    { 0x00000048, "IA32_SPEC_CTRL" },
    { 0x00000da0, "IA32_XSS" },
    { 0xc0000081, "STAR" },
    { 0xc0000082, "LSTAR" },
    { 0xc0000083, "CSTAR" },
    { 0xc0000084, "SYSCALL_MASK (FMASK)" },
    { 0xc0000102, "KERNEL_GS_BASE" },
    { 0xc0000103, "TSC_AUX" },
    { 0x00000011, "KVM_WALL_CLOCK (old)" },
    { 0x00000012, "KVM_SYSTEM_TIME (old)" },
    { 0x4b564d00, "KVM_WALL_CLOCK_NEW" },
    { 0x4b564d01, "KVM_SYSTEM_TIME_NEW" },
    { 0x4b564d06, "KVM_ASYNC_PF_INT" }, /* before ASYNC_PF_EN, which checks it */
    { 0x4b564d02, "KVM_ASYNC_PF_EN" },
    { 0x4b564d03, "KVM_STEAL_TIME" },
    { 0x4b564d04, "KVM_PV_EOI_EN" },
    { 0x4b564d05, "KVM_POLL_CONTROL" },
    { MSR_IA32_TSC_DEADLINE, "IA32_TSC_DEADLINE" }, /* last: needs TSC and LAPIC */
};

static const char *msr_name(uint32_t index)
{
    for (size_t i = 0; i < G_N_ELEMENTS(msr_wanted); i++)
        if (msr_wanted[i].index == index)
            return msr_wanted[i].name;
    return "unknown";
}

/* What this host's KVM offers, probed once from /dev/kvm (the Vcpu does not
 * carry the Kvm, and these are system-wide answers anyway). */
typedef struct HostCaps {
    bool xsave, xcrs, debugregs;
    uint32_t xsave_len; /* KVM_CAP_XSAVE2's size, or 4096 with plain XSAVE */
    bool xsave2;
    uint32_t msrs[G_N_ELEMENTS(msr_wanted)];
    unsigned nr_msrs;
    char *error; /* the probe failed */
} HostCaps;

static bool msr_list_contains(const struct kvm_msr_list *list, uint32_t index)
{
    for (uint32_t i = 0; i < list->nmsrs; i++)
        if (list->indices[i] == index)
            return true;
    return false;
}

static void host_caps_probe(HostCaps *caps)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    struct kvm_msr_list probe = { .nmsrs = 0 };
    g_autofree struct kvm_msr_list *list = NULL;
    int xsave2;

    if (fd < 0) {
        caps->error = g_strdup_printf("/dev/kvm: %s", g_strerror(errno));
        return;
    }
    caps->xsave = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0;
    caps->xcrs = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0;
    caps->debugregs = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_DEBUGREGS) > 0;
    xsave2 = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
    caps->xsave2 = caps->xsave && xsave2 > 0;
    caps->xsave_len = caps->xsave2 ? MAX((uint32_t)xsave2, XSAVE_MIN_LEN) : XSAVE_MIN_LEN;
    if (caps->xsave_len > XSAVE_MAX_LEN) {
        caps->error = g_strdup_printf("KVM: XSAVE area of %u bytes is larger than ferry's "
                                      "limit of %u", caps->xsave_len, XSAVE_MAX_LEN);
        goto out;
    }

    /* First ask for the count (E2BIG), then the list; it cannot change. */
    if (ioctl(fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG) {
        caps->error = g_strdup_printf("KVM: KVM_GET_MSR_INDEX_LIST failed: %s",
                                      g_strerror(errno));
        goto out;
    }
    list = g_malloc0(sizeof(*list) + (size_t)probe.nmsrs * sizeof(list->indices[0]));
    list->nmsrs = probe.nmsrs;
    if (ioctl(fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
        caps->error = g_strdup_printf("KVM: KVM_GET_MSR_INDEX_LIST (%u MSRs) failed: %s",
                                      probe.nmsrs, g_strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(msr_wanted); i++)
        if (msr_list_contains(list, msr_wanted[i].index))
            caps->msrs[caps->nr_msrs++] = msr_wanted[i].index;
out:
    close(fd);
}

static const HostCaps *host_caps(GError **errp)
{
    static HostCaps caps;
    static gsize done;

    if (g_once_init_enter(&done)) {
        host_caps_probe(&caps);
        g_once_init_leave(&done, 1);
    }
    if (caps.error) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED, "vCPU state: %s", caps.error);
        return NULL;
    }
    return &caps;
}

const uint32_t *vcpu_state_msr_list(unsigned *count, GError **errp)
{
    const HostCaps *caps = host_caps(errp);

    if (!caps)
        return NULL;
    *count = caps->nr_msrs;
    return caps->msrs;
}

static bool vcpu_ioctl_ok(Vcpu *vcpu, unsigned long req, void *arg, const char *what, GError **errp)
{
    if (ioctl(vcpu->fd, req, arg) < 0) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "vCPU %u: %s failed: %s", vcpu->index, what, g_strerror(errno));
        return false;
    }
    return true;
}

/* Reading the state field without the set's lock: a vCPU that is paused or
 * was never started cannot change it under us, and a running one is the
 * caller's bug, reported rather than raced with. */
static bool vcpu_is_quiet(Vcpu *vcpu, const char *what, GError **errp)
{
    VcpuState state = __atomic_load_n(&vcpu->state, __ATOMIC_ACQUIRE);

    if (state != VCPU_RUNNING)
        return true;
    g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                "vCPU %u is running: pause the vCPUs (vcpus_pause) before %s its state",
                vcpu->index, what);
    return false;
}

/* A vCPU that stopped on an I/O or MMIO exit has not finished the
 * instruction: KVM applies the result (an IN's value into RAX, an MMIO
 * read's into its register) on the next KVM_RUN.  api.rst's recipe: enter
 * KVM_RUN with immediate_exit set, which completes the access and returns
 * EINTR without running guest code.  Done from this thread; the vCPU's own
 * thread is parked outside KVM_RUN while paused. */
static bool vcpu_complete_pending_io(Vcpu *vcpu, GError **errp)
{
    struct kvm_run *run = vcpu->run;

    if (!run || (run->exit_reason != KVM_EXIT_IO && run->exit_reason != KVM_EXIT_MMIO))
        return true;
    uint8_t was = __atomic_load_n(&run->immediate_exit, __ATOMIC_ACQUIRE);
    __atomic_store_n(&run->immediate_exit, 1, __ATOMIC_RELEASE);
    int ret = ioctl(vcpu->fd, KVM_RUN, 0);
    int saved_errno = errno;
    __atomic_store_n(&run->immediate_exit, was, __ATOMIC_RELEASE);
    if (ret < 0 && saved_errno != EINTR && saved_errno != EAGAIN) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(saved_errno),
                    "vCPU %u: completing its last I/O exit (KVM_RUN) failed: %s", vcpu->index,
                    g_strerror(saved_errno));
        return false;
    }
    return true;
}

/* ---- writing ---------------------------------------------------------- */

static void put_header(GByteArray *out, uint32_t index, uint32_t flags, uint32_t records)
{
    g_byte_array_append(out, (const guint8 *)VCPU_STATE_MAGIC, 4);
    state_put_u32(out, index);
    state_put_u32(out, flags);
    state_put_u32(out, records);
}

/* KVM_GET_MSRS stops at the first MSR it cannot read.  Such an MSR (listed
 * by the host, yet refused for this vCPU's CPUID) has no state to carry:
 * skip it and read on. */
static bool save_msrs(Vcpu *vcpu, const HostCaps *caps, GByteArray *rec, GError **errp)
{
    g_autofree struct kvm_msrs *msrs =
        g_malloc0(sizeof(*msrs) + caps->nr_msrs * sizeof(struct kvm_msr_entry));
    uint32_t count = 0;

    for (unsigned next = 0; next < caps->nr_msrs;) {
        msrs->nmsrs = caps->nr_msrs - next;
        for (unsigned i = 0; i < msrs->nmsrs; i++)
            msrs->entries[i] = (struct kvm_msr_entry){ .index = caps->msrs[next + i] };
        int got = ioctl(vcpu->fd, KVM_GET_MSRS, msrs);
        if (got < 0) {
            g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno),
                        "vCPU %u: KVM_GET_MSRS failed: %s", vcpu->index, g_strerror(errno));
            return false;
        }
        for (int i = 0; i < got; i++) {
            state_put_u32(rec, msrs->entries[i].index);
            state_put_u32(rec, 0);
            uint64_t v = GUINT64_TO_LE(msrs->entries[i].data);
            g_byte_array_append(rec, (const guint8 *)&v, sizeof(v));
            count++;
        }
        next += (unsigned)got + 1; /* past the one KVM refused, if any */
    }
    uint32_t le = GUINT32_TO_LE(count);
    memcpy(rec->data, &le, sizeof(le));
    return true;
}

bool vcpu_state_save(Vcpu *vcpu, GByteArray *out, GError **errp)
{
    const HostCaps *caps = host_caps(errp);
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_fpu fpu;
    struct kvm_xcrs xcrs;
    struct kvm_lapic_state lapic;
    struct kvm_vcpu_events events;
    struct kvm_mp_state mp;
    struct kvm_debugregs dbg;
    g_autofree struct kvm_xsave *xsave = NULL;
    g_autoptr(GByteArray) msrs = g_byte_array_new();
    static const uint8_t msrs_head[8];
    uint32_t records = 0;

    if (!caps || !vcpu_is_quiet(vcpu, "saving", errp) || !vcpu_complete_pending_io(vcpu, errp))
        return false;
    /* MP state first: KVM_GET_MP_STATE settles pending INIT/SIPI events
     * that the other reads then see. */
    if (!vcpu_ioctl_ok(vcpu, KVM_GET_MP_STATE, &mp, "KVM_GET_MP_STATE", errp) ||
        !vcpu_ioctl_ok(vcpu, KVM_GET_REGS, &regs, "KVM_GET_REGS", errp) ||
        !vcpu_ioctl_ok(vcpu, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS", errp) ||
        !vcpu_ioctl_ok(vcpu, KVM_GET_LAPIC, &lapic, "KVM_GET_LAPIC", errp) ||
        !vcpu_ioctl_ok(vcpu, KVM_GET_VCPU_EVENTS, &events, "KVM_GET_VCPU_EVENTS", errp))
        return false;
    if (caps->xsave) {
        xsave = g_malloc0(caps->xsave_len);
        if (!vcpu_ioctl_ok(vcpu, caps->xsave2 ? KVM_GET_XSAVE2 : KVM_GET_XSAVE, xsave,
                      caps->xsave2 ? "KVM_GET_XSAVE2" : "KVM_GET_XSAVE", errp))
            return false;
    } else if (!vcpu_ioctl_ok(vcpu, KVM_GET_FPU, &fpu, "KVM_GET_FPU", errp)) {
        return false;
    }
    if (caps->xcrs && !vcpu_ioctl_ok(vcpu, KVM_GET_XCRS, &xcrs, "KVM_GET_XCRS", errp))
        return false;
    if (caps->debugregs && !vcpu_ioctl_ok(vcpu, KVM_GET_DEBUGREGS, &dbg, "KVM_GET_DEBUGREGS", errp))
        return false;
    g_byte_array_append(msrs, msrs_head, sizeof(msrs_head));
    if (!save_msrs(vcpu, caps, msrs, errp))
        return false;

    guint start = out->len;
    put_header(out, vcpu->index, 0, 0);
    state_put_record(out, TAG_REGS, &regs, sizeof(regs));
    state_put_record(out, TAG_SREGS, &sregs, sizeof(sregs));
    if (caps->xsave)
        state_put_record(out, TAG_XSAVE, xsave, caps->xsave_len);
    else
        state_put_record(out, TAG_FPU, &fpu, sizeof(fpu));
    records = 3;
    if (caps->xcrs) {
        state_put_record(out, TAG_XCRS, &xcrs, sizeof(xcrs));
        records++;
    }
    state_put_record(out, TAG_MSRS, msrs->data, msrs->len);
    state_put_record(out, TAG_LAPIC, &lapic, sizeof(lapic));
    state_put_record(out, TAG_EVENTS, &events, sizeof(events));
    state_put_record(out, TAG_MP_STATE, &mp, sizeof(mp));
    records += 4;
    if (caps->debugregs) {
        state_put_record(out, TAG_DEBUGREGS, &dbg, sizeof(dbg));
        records++;
    }
    uint32_t le = GUINT32_TO_LE(records);
    memcpy(out->data + start + 12, &le, sizeof(le));
    return true;
}

void vcpu_state_section_save(void *opaque, GByteArray *out)
{
    Vcpu *vcpu = opaque;
    g_autoptr(GError) err = NULL;
    guint start = out->len;

    if (vcpu_state_save(vcpu, out, &err))
        return;
    g_byte_array_set_size(out, start);
    g_warning("%s", err->message);
    size_t len = MIN(strlen(err->message), (size_t)ERROR_TEXT_MAX);
    put_header(out, vcpu->index, VCPU_STATE_FLAG_ERROR, 1);
    state_put_record(out, TAG_ERROR, err->message, (uint32_t)MAX(len, 1));
}

/* ---- reading ---------------------------------------------------------- */

typedef struct Parsed {
    const uint8_t *data[TAG_COUNT];
    uint32_t len[TAG_COUNT];
} Parsed;

static bool parse_fail(GError **errp, unsigned index, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static bool parse_fail(GError **errp, unsigned index, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "vCPU %u state: %s", index, msg);
    return false;
}

static bool check_record_length(unsigned index, uint32_t tag, uint32_t len,
                                const HostCaps *caps, GError **errp)
{
    if (tag_lengths[tag]) {
        if (len != tag_lengths[tag])
            return parse_fail(errp, index, "%s record is %u bytes, expected %u",
                              tag_names[tag], len, tag_lengths[tag]);
        return true;
    }
    switch (tag) {
    case TAG_XSAVE:
        if (len < XSAVE_MIN_LEN || len > XSAVE_MAX_LEN || len % 4)
            return parse_fail(errp, index, "XSAVE area is %u bytes (want a multiple of 4 "
                              "from %u to %u)", len, XSAVE_MIN_LEN, XSAVE_MAX_LEN);
        if (!caps->xsave || len > caps->xsave_len)
            return parse_fail(errp, index, "XSAVE area is %u bytes but this host's KVM takes "
                              "%u: the source had state components (AMX?) this host lacks",
                              len, caps->xsave ? caps->xsave_len : 0);
        return true;
    case TAG_MSRS:
        if (len < 8 || (len - 8) % MSR_ENTRY_LEN)
            return parse_fail(errp, index, "MSR record is %u bytes, not 8 + 16 * n", len);
        return true;
    case TAG_ERROR:
        if (len == 0 || len > ERROR_TEXT_MAX)
            return parse_fail(errp, index, "error record is %u bytes (1 to %u)", len,
                              ERROR_TEXT_MAX);
        return true;
    default:
        return false; /* not reached: every tag is fixed-size or above */
    }
}

static bool parse_section(unsigned index, const uint8_t *data, size_t len, const HostCaps *caps,
                          Parsed *p, GError **errp)
{
    if (len < VCPU_STATE_HEADER_LEN)
        return parse_fail(errp, index, "section is %zu bytes, shorter than its %u-byte header",
                          len, VCPU_STATE_HEADER_LEN);
    if (memcmp(data, VCPU_STATE_MAGIC, 4) != 0)
        return parse_fail(errp, index, "bad magic (not a ferry vCPU section)");
    uint32_t src_index = le32_load(data + 4), flags = le32_load(data + 8);
    uint32_t records = le32_load(data + 12);
    if (src_index != index)
        return parse_fail(errp, index, "section is for vCPU %u", src_index);
    if (flags & ~VCPU_STATE_FLAG_ERROR)
        return parse_fail(errp, index, "unknown flags 0x%x", flags);
    if (records >= TAG_COUNT)
        return parse_fail(errp, index, "%u records (at most %u)", records, TAG_COUNT - 1);

    size_t at = VCPU_STATE_HEADER_LEN;
    for (uint32_t r = 0; r < records; r++) {
        if (len - at < VCPU_STATE_RECORD_HEADER_LEN)
            return parse_fail(errp, index, "record %u of %u is cut off", r + 1, records);
        uint32_t tag = le32_load(data + at), rlen = le32_load(data + at + 4);
        at += VCPU_STATE_RECORD_HEADER_LEN;
        if (tag == 0 || tag >= TAG_COUNT)
            return parse_fail(errp, index, "unknown record tag %u", tag);
        if (p->data[tag])
            return parse_fail(errp, index, "%s record appears twice", tag_names[tag]);
        if (!check_record_length(index, tag, rlen, caps, errp))
            return false;
        if (len - at < rlen)
            return parse_fail(errp, index, "%s record says %u bytes, only %zu follow",
                              tag_names[tag], rlen, len - at);
        p->data[tag] = data + at;
        p->len[tag] = rlen;
        at += rlen;
    }
    if (at != len)
        return parse_fail(errp, index, "%zu stray bytes after the last record", len - at);

    if (flags & VCPU_STATE_FLAG_ERROR) {
        if (!p->data[TAG_ERROR])
            return parse_fail(errp, index, "the source failed without saying why");
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "vCPU %u state: the source could not save it: %.*s", index,
                    (int)p->len[TAG_ERROR], (const char *)p->data[TAG_ERROR]);
        return false;
    }
    if (p->data[TAG_ERROR])
        return parse_fail(errp, index, "error record without the error flag");
    static const int required[] = { TAG_REGS, TAG_SREGS, TAG_MSRS, TAG_LAPIC, TAG_EVENTS,
                                    TAG_MP_STATE };
    for (size_t i = 0; i < G_N_ELEMENTS(required); i++)
        if (!p->data[required[i]])
            return parse_fail(errp, index, "%s record is missing", tag_names[required[i]]);
    if (!p->data[TAG_XSAVE] == !p->data[TAG_FPU])
        return parse_fail(errp, index, "needs exactly one of the XSAVE and FPU records");
    if (p->data[TAG_XCRS] && !caps->xcrs)
        return parse_fail(errp, index, "has XCRs but this host's KVM lacks KVM_CAP_XCRS");
    if (p->data[TAG_DEBUGREGS] && !caps->debugregs)
        return parse_fail(errp, index,
                          "has debug registers but this host's KVM lacks KVM_CAP_DEBUGREGS");

    uint32_t nmsrs = le32_load(p->data[TAG_MSRS]);
    if (le32_load(p->data[TAG_MSRS] + 4) != 0)
        return parse_fail(errp, index, "MSR record's reserved word is not 0");
    if (nmsrs > MSRS_MAX || p->len[TAG_MSRS] != 8 + nmsrs * MSR_ENTRY_LEN)
        return parse_fail(errp, index, "MSR record holds %u bytes for %u MSRs (at most %u)",
                          p->len[TAG_MSRS], nmsrs, MSRS_MAX);
    for (uint32_t i = 0; i < nmsrs; i++) {
        const uint8_t *e = p->data[TAG_MSRS] + 8 + (size_t)i * MSR_ENTRY_LEN;
        if (le32_load(e + 4) != 0)
            return parse_fail(errp, index, "MSR 0x%x's reserved word is not 0", le32_load(e));
    }
    if (p->data[TAG_XCRS]) {
        uint32_t nr_xcrs = le32_load(p->data[TAG_XCRS]);
        if (nr_xcrs > KVM_MAX_XCRS)
            return parse_fail(errp, index, "%u XCRs (at most %u)", nr_xcrs, KVM_MAX_XCRS);
    }
    return true;
}

/* One KVM_SET_MSRS; KVM returns how many it took, stopping at a refusal. */
static bool set_msrs(Vcpu *vcpu, struct kvm_msrs *msrs, GError **errp)
{
    if (msrs->nmsrs == 0)
        return true;
    int done = ioctl(vcpu->fd, KVM_SET_MSRS, msrs);
    if (done < 0) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "vCPU %u: KVM_SET_MSRS failed: %s", vcpu->index, g_strerror(errno));
        return false;
    }
    if ((uint32_t)done < msrs->nmsrs) {
        const struct kvm_msr_entry *e = &msrs->entries[done];
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "vCPU %u: KVM refused MSR 0x%x (%s) = 0x%" G_GINT64_MODIFIER "x from the "
                    "stream: the destination host or CPU model differs from the source's",
                    vcpu->index, e->index, msr_name(e->index), (guint64)e->data);
        return false;
    }
    return true;
}

static bool load_msrs(Vcpu *vcpu, const uint8_t *rec, GError **errp)
{
    uint32_t n = le32_load(rec);
    g_autofree struct kvm_msrs *first =
        g_malloc0(sizeof(*first) + (size_t)n * sizeof(struct kvm_msr_entry));
    struct {
        struct kvm_msrs head;
        struct kvm_msr_entry entry;
    } deadline = { 0 };

    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = rec + 8 + (size_t)i * MSR_ENTRY_LEN;
        uint64_t value;

        memcpy(&value, e + 8, sizeof(value));
        struct kvm_msr_entry entry = { .index = le32_load(e), .data = GUINT64_FROM_LE(value) };
        if (entry.index == MSR_IA32_TSC_DEADLINE) {
            deadline.head.nmsrs = 1;
            deadline.entry = entry;
        } else {
            first->entries[first->nmsrs++] = entry;
        }
    }
    return set_msrs(vcpu, first, errp) && set_msrs(vcpu, &deadline.head, errp);
}

bool vcpu_state_load(Vcpu *vcpu, const uint8_t *data, size_t len, uint32_t version,
                     GError **errp)
{
    const HostCaps *caps = host_caps(errp);
    Parsed p = { 0 };
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_fpu fpu;
    struct kvm_xcrs xcrs;
    struct kvm_lapic_state lapic;
    struct kvm_vcpu_events events;
    struct kvm_mp_state mp;
    struct kvm_debugregs dbg;
    g_autofree struct kvm_xsave *xsave = NULL;

    if (!caps)
        return false;
    if (version != VCPU_STATE_VERSION)
        return parse_fail(errp, vcpu->index, "version %u is not one this ferry reads (%u)",
                          version, VCPU_STATE_VERSION);
    /* The pending completion would otherwise land on the loaded state. */
    if (!vcpu_is_quiet(vcpu, "loading", errp) ||
        !parse_section(vcpu->index, data, len, caps, &p, errp) ||
        !vcpu_complete_pending_io(vcpu, errp))
        return false;

    memcpy(&regs, p.data[TAG_REGS], sizeof(regs));
    memcpy(&sregs, p.data[TAG_SREGS], sizeof(sregs));
    memcpy(&lapic, p.data[TAG_LAPIC], sizeof(lapic));
    memcpy(&events, p.data[TAG_EVENTS], sizeof(events));
    memcpy(&mp, p.data[TAG_MP_STATE], sizeof(mp));
    /* What KVM_GET_VCPU_EVENTS reports is valid as a whole; these two
     * fields are only taken when the flags say so. */
    events.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;

    if (!vcpu_ioctl_ok(vcpu, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS", errp) ||
        !vcpu_ioctl_ok(vcpu, KVM_SET_REGS, &regs, "KVM_SET_REGS", errp))
        return false;
    if (p.data[TAG_XCRS]) {
        memcpy(&xcrs, p.data[TAG_XCRS], sizeof(xcrs));
        if (!vcpu_ioctl_ok(vcpu, KVM_SET_XCRS, &xcrs, "KVM_SET_XCRS", errp))
            return false;
    }
    if (p.data[TAG_XSAVE]) {
        /* KVM reads its whole XSAVE2 size: a smaller area from the source
         * (fewer dynamic components) is zero-extended, which its XSTATE_BV
         * header already marks as "in init state". */
        xsave = g_malloc0(caps->xsave_len);
        memcpy(xsave, p.data[TAG_XSAVE], p.len[TAG_XSAVE]);
        if (!vcpu_ioctl_ok(vcpu, KVM_SET_XSAVE, xsave, "KVM_SET_XSAVE", errp))
            return false;
    } else {
        memcpy(&fpu, p.data[TAG_FPU], sizeof(fpu));
        if (!vcpu_ioctl_ok(vcpu, KVM_SET_FPU, &fpu, "KVM_SET_FPU", errp))
            return false;
    }
    if (!vcpu_ioctl_ok(vcpu, KVM_SET_LAPIC, &lapic, "KVM_SET_LAPIC", errp) ||
        !load_msrs(vcpu, p.data[TAG_MSRS], errp))
        return false;
    if (p.data[TAG_DEBUGREGS]) {
        memcpy(&dbg, p.data[TAG_DEBUGREGS], sizeof(dbg));
        if (!vcpu_ioctl_ok(vcpu, KVM_SET_DEBUGREGS, &dbg, "KVM_SET_DEBUGREGS", errp))
            return false;
    }
    return vcpu_ioctl_ok(vcpu, KVM_SET_VCPU_EVENTS, &events, "KVM_SET_VCPU_EVENTS", errp) &&
           vcpu_ioctl_ok(vcpu, KVM_SET_MP_STATE, &mp, "KVM_SET_MP_STATE", errp);
}

bool vcpu_state_section_load(void *opaque, const uint8_t *data, size_t len, uint32_t version,
                             GError **errp)
{
    return vcpu_state_load(opaque, data, len, version, errp);
}
