/* The in-kernel PICs, IOAPIC, PIT and kvmclock as one migration section;
 * the layout is in kvm_state.h. */
#include "vmm/kvm_state.h"
#include "vmm/state_record.h"
#include "mem/le_bytes.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#define KVM_STATE_MAGIC "FKVM"
#define KVM_STATE_HEADER_LEN 8u
#define KVM_STATE_RECORD_HEADER_LEN 8u

enum {
    TAG_PIC_MASTER = 1,
    TAG_PIC_SLAVE = 2,
    TAG_IOAPIC = 3,
    TAG_PIT = 4,
    TAG_CLOCK = 5,
    TAG_COUNT,
};

G_STATIC_ASSERT(sizeof(struct kvm_irqchip) == 520);
G_STATIC_ASSERT(sizeof(struct kvm_pit_state2) == 112);
G_STATIC_ASSERT(sizeof(struct kvm_clock_data) == 48);

#define PIT_FLAGS_KNOWN (KVM_PIT_FLAGS_HPET_LEGACY | KVM_PIT_FLAGS_SPEAKER_DATA_ON)

static const char *const tag_names[TAG_COUNT] = {
    [TAG_PIC_MASTER] = "PIC master", [TAG_PIC_SLAVE] = "PIC slave", [TAG_IOAPIC] = "IOAPIC",
    [TAG_PIT] = "PIT", [TAG_CLOCK] = "kvmclock",
};

static const uint32_t tag_lengths[TAG_COUNT] = {
    [TAG_PIC_MASTER] = sizeof(struct kvm_irqchip),
    [TAG_PIC_SLAVE] = sizeof(struct kvm_irqchip),
    [TAG_IOAPIC] = sizeof(struct kvm_irqchip),
    [TAG_PIT] = sizeof(struct kvm_pit_state2),
    [TAG_CLOCK] = sizeof(struct kvm_clock_data),
};

static const uint32_t tag_chip_ids[TAG_COUNT] = {
    [TAG_PIC_MASTER] = KVM_IRQCHIP_PIC_MASTER,
    [TAG_PIC_SLAVE] = KVM_IRQCHIP_PIC_SLAVE,
    [TAG_IOAPIC] = KVM_IRQCHIP_IOAPIC,
};

static bool vm_ioctl(Kvm *kvm, unsigned long req, void *arg, const char *what, GError **errp)
{
    if (ioctl(kvm->vm_fd, req, arg) < 0) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno), "KVM: %s failed: %s",
                    what, g_strerror(errno));
        return false;
    }
    return true;
}

bool kvm_clock_get(Kvm *kvm, struct kvm_clock_data *clock, GError **errp)
{
    memset(clock, 0, sizeof(*clock));
    return vm_ioctl(kvm, KVM_GET_CLOCK, clock, "KVM_GET_CLOCK", errp);
}

static uint64_t host_realtime_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool kvm_clock_restore(Kvm *kvm, const struct kvm_clock_data *saved, GError **errp)
{
    struct kvm_clock_data set = { .clock = saved->clock };

    if (saved->flags & KVM_CLOCK_REALTIME) {
        /* KVM_CAP_ADJUST_CLOCK lists the flags KVM_SET_CLOCK takes; a
         * kernel before 5.16 takes none, and we add the time ourselves. */
        if (kvm_check_cap(kvm, KVM_CAP_ADJUST_CLOCK) & KVM_CLOCK_REALTIME) {
            set.flags = KVM_CLOCK_REALTIME;
            set.realtime = saved->realtime;
        } else {
            uint64_t now = host_realtime_ns();
            if (now > saved->realtime) /* never step back */
                set.clock += now - saved->realtime;
        }
    }
    return vm_ioctl(kvm, KVM_SET_CLOCK, &set, "KVM_SET_CLOCK", errp);
}

bool kvm_state_save(Kvm *kvm, GByteArray *out, GError **errp)
{
    struct kvm_irqchip chips[3] = {
        { .chip_id = KVM_IRQCHIP_PIC_MASTER },
        { .chip_id = KVM_IRQCHIP_PIC_SLAVE },
        { .chip_id = KVM_IRQCHIP_IOAPIC },
    };
    struct kvm_pit_state2 pit;
    struct kvm_clock_data clock;

    for (unsigned i = 0; i < G_N_ELEMENTS(chips); i++)
        if (!vm_ioctl(kvm, KVM_GET_IRQCHIP, &chips[i], "KVM_GET_IRQCHIP", errp))
            return false;
    /* The clock last, nearest the moment the guest stopped. */
    if (!vm_ioctl(kvm, KVM_GET_PIT2, &pit, "KVM_GET_PIT2", errp) ||
        !kvm_clock_get(kvm, &clock, errp))
        return false;

    g_byte_array_append(out, (const guint8 *)KVM_STATE_MAGIC, 4);
    state_put_u32(out, TAG_COUNT - 1);
    state_put_record(out, TAG_PIC_MASTER, &chips[0], sizeof(chips[0]));
    state_put_record(out, TAG_PIC_SLAVE, &chips[1], sizeof(chips[1]));
    state_put_record(out, TAG_IOAPIC, &chips[2], sizeof(chips[2]));
    state_put_record(out, TAG_PIT, &pit, sizeof(pit));
    state_put_record(out, TAG_CLOCK, &clock, sizeof(clock));
    return true;
}

void kvm_state_section_save(void *opaque, GByteArray *out)
{
    g_autoptr(GError) err = NULL;
    guint start = out->len;

    if (kvm_state_save(opaque, out, &err))
        return;
    g_byte_array_set_size(out, start);
    g_warning("%s", err->message);
    g_byte_array_append(out, (const guint8 *)KVM_STATE_MAGIC, 4);
    state_put_u32(out, 0);
}

static bool fail(GError **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static bool fail(GError **errp, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "KVM state: %s", msg);
    return false;
}

bool kvm_state_load(Kvm *kvm, const uint8_t *data, size_t len, uint32_t version, GError **errp)
{
    const uint8_t *rec[TAG_COUNT] = { 0 };
    struct kvm_irqchip chips[3];
    struct kvm_pit_state2 pit;
    struct kvm_clock_data clock;

    if (version != KVM_STATE_VERSION)
        return fail(errp, "version %u is not one this ferry reads (%u)", version,
                    KVM_STATE_VERSION);
    if (len < KVM_STATE_HEADER_LEN)
        return fail(errp, "section is %zu bytes, shorter than its %u-byte header", len,
                    KVM_STATE_HEADER_LEN);
    if (memcmp(data, KVM_STATE_MAGIC, 4) != 0)
        return fail(errp, "bad magic (not a ferry KVM section)");
    uint32_t records = le32_load(data + 4);
    if (records == 0)
        return fail(errp, "the source could not save it (see the source's log)");
    if (records != TAG_COUNT - 1)
        return fail(errp, "%u records, expected %u", records, TAG_COUNT - 1);

    size_t at = KVM_STATE_HEADER_LEN;
    for (uint32_t r = 0; r < records; r++) {
        if (len - at < KVM_STATE_RECORD_HEADER_LEN)
            return fail(errp, "record %u of %u is cut off", r + 1, records);
        uint32_t tag = le32_load(data + at), rlen = le32_load(data + at + 4);
        at += KVM_STATE_RECORD_HEADER_LEN;
        if (tag == 0 || tag >= TAG_COUNT)
            return fail(errp, "unknown record tag %u", tag);
        if (rec[tag])
            return fail(errp, "%s record appears twice", tag_names[tag]);
        if (rlen != tag_lengths[tag])
            return fail(errp, "%s record is %u bytes, expected %u", tag_names[tag], rlen,
                        tag_lengths[tag]);
        if (len - at < rlen)
            return fail(errp, "%s record is cut off (%zu of %u bytes)", tag_names[tag],
                        len - at, rlen);
        rec[tag] = data + at;
        at += rlen;
    }
    if (at != len)
        return fail(errp, "%zu stray bytes after the last record", len - at);

    for (unsigned tag = TAG_PIC_MASTER; tag <= TAG_IOAPIC; tag++) {
        struct kvm_irqchip *chip = &chips[tag - TAG_PIC_MASTER];
        memcpy(chip, rec[tag], sizeof(*chip));
        if (chip->chip_id != tag_chip_ids[tag])
            return fail(errp, "%s record holds chip id %u, expected %u", tag_names[tag],
                        chip->chip_id, tag_chip_ids[tag]);
    }
    memcpy(&pit, rec[TAG_PIT], sizeof(pit));
    if (pit.flags & ~PIT_FLAGS_KNOWN)
        return fail(errp, "PIT flags 0x%x have unknown bits", pit.flags);
    memcpy(&clock, rec[TAG_CLOCK], sizeof(clock));

    for (unsigned i = 0; i < G_N_ELEMENTS(chips); i++)
        if (!vm_ioctl(kvm, KVM_SET_IRQCHIP, &chips[i], "KVM_SET_IRQCHIP", errp))
            return false;
    return vm_ioctl(kvm, KVM_SET_PIT2, &pit, "KVM_SET_PIT2", errp) &&
           kvm_clock_restore(kvm, &clock, errp);
}

bool kvm_state_section_load(void *opaque, const uint8_t *data, size_t len, uint32_t version,
                            GError **errp)
{
    return kvm_state_load(opaque, data, len, version, errp);
}
