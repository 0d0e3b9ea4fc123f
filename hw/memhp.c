/* ACPI memory-hotplug controller: registers and AML; see memhp.h.
 *
 * Locking: the region is registered without a lock of its own, and the
 * port handlers take the controller's lock themselves, because the eject
 * and _OST callbacks must run after it is released (they may call back
 * into memhp_*()).  The GPE is raised after releasing it too, so the
 * controller's lock is never held while taking the PM block's. */
#include "hw/memhp.h"
#include "mem/le_bytes.h"

#include <string.h>

G_DEFINE_QUARK(ferry-memhp-error, memhp_error)

#define REG_BASE_LO 0x00 /* write: selector */
#define REG_BASE_HI 0x04 /* write: _OST event */
#define REG_SIZE_LO 0x08 /* write: _OST status */
#define REG_SIZE_HI 0x0c
#define REG_PROXIMITY 0x10
#define REG_STATUS 0x14 /* one byte; 0x15-0x17 are reserved */

#define STATUS_ENABLED (1u << 0)
#define STATUS_INSERT (1u << 1)
#define STATUS_REMOVE (1u << 2)
#define STATUS_EJECT (1u << 3) /* write only */

typedef struct MemhpSlot {
    uint64_t addr, size;
    uint32_t node;
    bool enabled; /* a DIMM the guest may use */
    bool inserting; /* plugged, the guest has not cleared the event yet */
    bool removing; /* unplug requested, not cleared yet */
    bool ejecting; /* ejected, waiting for memhp_slot_cleared */
    uint32_t ost_event, ost_status;
} MemhpSlot;

struct Memhp {
    GMutex lock;
    MemoryRegion *mr;
    uint16_t base;
    AcpiPm *pm;
    MemhpEjectFn eject;
    MemhpOstFn ost;
    void *opaque;
    unsigned nr_slots;
    uint32_t selector; /* as the guest wrote it: may be out of range */
    MemhpSlot *slots;
};

/* What a port write asks the machine to do once the lock is dropped. */
typedef struct MemhpAction {
    bool eject, ost;
    unsigned slot;
    uint32_t ost_event, ost_status;
} MemhpAction;

static uint32_t slot_register(const MemhpSlot *s, uint64_t offset)
{
    switch (offset) {
    case REG_BASE_LO:
        return (uint32_t)s->addr;
    case REG_BASE_HI:
        return (uint32_t)(s->addr >> 32);
    case REG_SIZE_LO:
        return (uint32_t)s->size;
    case REG_SIZE_HI:
        return (uint32_t)(s->size >> 32);
    case REG_PROXIMITY:
        return s->node;
    case REG_STATUS:
        return (s->enabled ? STATUS_ENABLED : 0) | (s->inserting ? STATUS_INSERT : 0) |
               (s->removing ? STATUS_REMOVE : 0);
    default:
        return UINT32_MAX;
    }
}

static uint64_t memhp_read(void *opaque, uint64_t offset, unsigned size)
{
    Memhp *m = opaque;
    uint32_t value = 0;

    g_mutex_lock(&m->lock);
    if (m->selector < m->nr_slots)
        value = slot_register(&m->slots[m->selector], offset);
    g_mutex_unlock(&m->lock);
    return size >= 4 ? value : value & ((1u << (size * 8)) - 1);
}

static void status_write(Memhp *m, MemhpSlot *s, uint32_t value, MemhpAction *action)
{
    /* One action per write, in this order, as on QEMU. */
    if (value & STATUS_INSERT) {
        s->inserting = false;
    } else if (value & STATUS_REMOVE) {
        s->removing = false;
    } else if (value & STATUS_EJECT) {
        /* Only a DIMM the guest may use can be ejected, and only once:
         * it reads as empty from now on, so the _STA that Linux evaluates
         * right after _EJ0 already says it is gone. */
        if (!s->enabled)
            return;
        s->enabled = s->inserting = s->removing = false;
        s->ejecting = true;
        action->eject = true;
        action->slot = m->selector;
    }
}

static void memhp_write_locked(Memhp *m, uint64_t offset, uint32_t value, MemhpAction *action)
{
    if (m->nr_slots == 0)
        return;
    if (offset == REG_BASE_LO) {
        m->selector = value;
        return;
    }
    if (m->selector >= m->nr_slots)
        return;

    MemhpSlot *s = &m->slots[m->selector];
    switch (offset) {
    case REG_BASE_HI:
        s->ost_event = value;
        break;
    case REG_SIZE_LO:
        /* The status completes an _OST: report the pair. */
        s->ost_status = value;
        action->ost = true;
        action->slot = m->selector;
        action->ost_event = s->ost_event;
        action->ost_status = s->ost_status;
        break;
    case REG_STATUS:
        status_write(m, s, value, action);
        break;
    default:
        break; /* read-only or reserved */
    }
}

static void memhp_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    Memhp *m = opaque;
    MemhpAction action = { 0 };

    g_mutex_lock(&m->lock);
    memhp_write_locked(m, offset, (uint32_t)value, &action);
    g_mutex_unlock(&m->lock);

    if (action.ost && m->ost)
        m->ost(m->opaque, action.slot, action.ost_event, action.ost_status);
    if (action.eject && m->eject)
        m->eject(m->opaque, action.slot);
}

static const MemoryRegionOps memhp_ops = { .read = memhp_read, .write = memhp_write };

Memhp *memhp_create(MemoryRegion *io, uint16_t base, unsigned nr_slots, AcpiPm *pm,
                    MemhpEjectFn eject, MemhpOstFn ost, void *opaque, GError **errp)
{
    if (nr_slots > MEMHP_MAX_SLOTS) {
        g_set_error(errp, MEMHP_ERROR, MEMHP_ERROR_INVALID,
                    "memory hotplug: %u slots is above the maximum of %u", nr_slots,
                    MEMHP_MAX_SLOTS);
        return NULL;
    }

    Memhp *m = g_new0(Memhp, 1);
    g_mutex_init(&m->lock);
    m->base = base;
    m->pm = pm;
    m->eject = eject;
    m->ost = ost;
    m->opaque = opaque;
    m->nr_slots = nr_slots;
    m->slots = g_new0(MemhpSlot, nr_slots);
    /* No region lock: see the top of this file. */
    m->mr = memory_region_add_io(io, base, "acpi-mem-hotplug", MEMHP_IO_LEN, &memhp_ops, m,
                                 NULL);
    return m;
}

void memhp_free(Memhp *m)
{
    if (!m)
        return;
    memory_region_free(m->mr);
    g_free(m->slots);
    g_mutex_clear(&m->lock);
    g_free(m);
}

unsigned memhp_nr_slots(const Memhp *m)
{
    return m->nr_slots;
}

static bool slot_in_range(const Memhp *m, unsigned slot, GError **errp)
{
    if (slot < m->nr_slots)
        return true;
    g_set_error(errp, MEMHP_ERROR, MEMHP_ERROR_INVALID,
                "memory hotplug: slot %u is out of range (slots=%u)", slot, m->nr_slots);
    return false;
}

static void raise_event(Memhp *m)
{
    if (m->pm)
        acpi_pm_raise_gpe(m->pm, MEMHP_GPE_BIT);
}

bool memhp_plug(Memhp *m, unsigned slot, uint64_t addr, uint64_t size, uint32_t node,
                GError **errp)
{
    if (!slot_in_range(m, slot, errp))
        return false;
    /* _CRS gives the range as [addr, addr + size - 1]. */
    if (size == 0 || addr + size - 1 < addr) {
        g_set_error(errp, MEMHP_ERROR, MEMHP_ERROR_INVALID,
                    "memory hotplug: slot %u: range 0x%" G_GINT64_MODIFIER "x+0x%"
                    G_GINT64_MODIFIER "x is empty or wraps", slot, addr, size);
        return false;
    }

    g_mutex_lock(&m->lock);
    MemhpSlot *s = &m->slots[slot];
    bool busy = s->enabled || s->ejecting;
    if (!busy) {
        s->addr = addr;
        s->size = size;
        s->node = node;
        s->enabled = s->inserting = true;
        s->removing = false;
    }
    g_mutex_unlock(&m->lock);

    if (busy) {
        g_set_error(errp, MEMHP_ERROR, MEMHP_ERROR_BUSY,
                    "memory hotplug: slot %u is in use", slot);
        return false;
    }
    raise_event(m);
    return true;
}

bool memhp_request_unplug(Memhp *m, unsigned slot, GError **errp)
{
    if (!slot_in_range(m, slot, errp))
        return false;

    g_mutex_lock(&m->lock);
    MemhpSlot *s = &m->slots[slot];
    bool enabled = s->enabled;
    if (enabled)
        s->removing = true;
    g_mutex_unlock(&m->lock);

    if (!enabled) {
        g_set_error(errp, MEMHP_ERROR, MEMHP_ERROR_EMPTY,
                    "memory hotplug: slot %u holds no DIMM the guest uses", slot);
        return false;
    }
    raise_event(m);
    return true;
}

void memhp_slot_cleared(Memhp *m, unsigned slot)
{
    if (slot >= m->nr_slots)
        return;
    g_mutex_lock(&m->lock);
    MemhpSlot *s = &m->slots[slot];
    uint32_t event = s->ost_event, status = s->ost_status;
    *s = (MemhpSlot){ .ost_event = event, .ost_status = status };
    g_mutex_unlock(&m->lock);
}

bool memhp_slot_ost(Memhp *m, unsigned slot, uint32_t *event, uint32_t *status)
{
    if (slot >= m->nr_slots)
        return false;
    g_mutex_lock(&m->lock);
    *event = m->slots[slot].ost_event;
    *status = m->slots[slot].ost_status;
    g_mutex_unlock(&m->lock);
    return true;
}

bool memhp_slot_enabled(Memhp *m, unsigned slot)
{
    if (slot >= m->nr_slots)
        return false;
    g_mutex_lock(&m->lock);
    bool enabled = m->slots[slot].enabled;
    g_mutex_unlock(&m->lock);
    return enabled;
}

void memhp_reset(Memhp *m)
{
    g_mutex_lock(&m->lock);
    m->selector = 0;
    for (unsigned i = 0; i < m->nr_slots; i++)
        m->slots[i].inserting = false;
    g_mutex_unlock(&m->lock);
}

/* ---- migration (layout in memhp.h) ------------------------------------ */

#define STATE_HEAD_LEN 8u
#define STATE_SLOT_LEN 29u
#define SLOT_ENABLED 0x01
#define SLOT_INSERTING 0x02
#define SLOT_REMOVING 0x04
#define SLOT_EJECTING 0x08

void memhp_state_save(Memhp *m, GByteArray *out)
{
    uint8_t head[STATE_HEAD_LEN], rec[STATE_SLOT_LEN];

    g_mutex_lock(&m->lock);
    le32_store(head, m->nr_slots);
    le32_store(head + 4, m->selector);
    g_byte_array_append(out, head, sizeof(head));
    for (unsigned i = 0; i < m->nr_slots; i++) {
        const MemhpSlot *s = &m->slots[i];
        le64_store(rec, s->addr);
        le64_store(rec + 8, s->size);
        le32_store(rec + 16, s->node);
        rec[20] = (s->enabled ? SLOT_ENABLED : 0) | (s->inserting ? SLOT_INSERTING : 0) |
                  (s->removing ? SLOT_REMOVING : 0) | (s->ejecting ? SLOT_EJECTING : 0);
        le32_store(rec + 21, s->ost_event);
        le32_store(rec + 25, s->ost_status);
        g_byte_array_append(out, rec, sizeof(rec));
    }
    g_mutex_unlock(&m->lock);
}

/* NULL if the slot is a state the controller can be in, else why not. */
static const char *slot_state_problem(const MemhpSlot *s, uint8_t flags)
{
    if (flags & ~(SLOT_ENABLED | SLOT_INSERTING | SLOT_REMOVING | SLOT_EJECTING))
        return "unknown flag bits";
    if (s->enabled && s->ejecting)
        return "both enabled and ejecting";
    if ((s->inserting || s->removing) && !s->enabled)
        return "an event pending without a DIMM";
    if ((s->enabled || s->ejecting) && (s->size == 0 || s->addr + s->size - 1 < s->addr))
        return "a range that is empty or wraps";
    if (!s->enabled && !s->ejecting && (s->addr || s->size || s->node))
        return "a range but no DIMM";
    return NULL;
}

bool memhp_state_load(Memhp *m, const uint8_t *data, size_t len, uint32_t version,
                      GError **errp)
{
    if (version != MEMHP_STATE_VERSION) {
        g_set_error(errp, MEMHP_ERROR, MEMHP_ERROR_INVALID,
                    "memhp state: version %u is not one this ferry reads (%u)", version,
                    MEMHP_STATE_VERSION);
        return false;
    }
    if (len < STATE_HEAD_LEN) {
        g_set_error(errp, MEMHP_ERROR, MEMHP_ERROR_INVALID,
                    "memhp state: %zu bytes, shorter than its %u-byte header", len,
                    STATE_HEAD_LEN);
        return false;
    }
    uint32_t nr_slots = le32_load(data), selector = le32_load(data + 4);
    if (nr_slots != m->nr_slots) {
        g_set_error(errp, MEMHP_ERROR, MEMHP_ERROR_INVALID,
                    "memhp state: the source had %u slots, this machine has %u (slots=)",
                    nr_slots, m->nr_slots);
        return false;
    }
    if (len != STATE_HEAD_LEN + (size_t)nr_slots * STATE_SLOT_LEN) {
        g_set_error(errp, MEMHP_ERROR, MEMHP_ERROR_INVALID,
                    "memhp state: %zu bytes for %u slots (want %zu)", len, nr_slots,
                    STATE_HEAD_LEN + (size_t)nr_slots * STATE_SLOT_LEN);
        return false;
    }

    g_autofree MemhpSlot *slots = g_new0(MemhpSlot, MAX(nr_slots, 1));
    for (unsigned i = 0; i < nr_slots; i++) {
        const uint8_t *rec = data + STATE_HEAD_LEN + (size_t)i * STATE_SLOT_LEN;
        MemhpSlot *s = &slots[i];
        uint8_t flags = rec[20];

        s->addr = le64_load(rec);
        s->size = le64_load(rec + 8);
        s->node = le32_load(rec + 16);
        s->enabled = flags & SLOT_ENABLED;
        s->inserting = flags & SLOT_INSERTING;
        s->removing = flags & SLOT_REMOVING;
        s->ejecting = flags & SLOT_EJECTING;
        s->ost_event = le32_load(rec + 21);
        s->ost_status = le32_load(rec + 25);
        const char *problem = slot_state_problem(s, flags);
        if (problem) {
            g_set_error(errp, MEMHP_ERROR, MEMHP_ERROR_INVALID,
                        "memhp state: slot %u has %s (flags 0x%02x)", i, problem, flags);
            return false;
        }
    }

    g_mutex_lock(&m->lock);
    m->selector = selector;
    if (nr_slots)
        memcpy(m->slots, slots, nr_slots * sizeof(*slots));
    g_mutex_unlock(&m->lock);
    return true;
}

/* ---- AML ----
 *
 * \_SB.MHPC holds the register fields and the methods that every slot
 * device forwards to with its _UID ("0x05" for slot 5, which ToInteger
 * reads back as 5): the selector is shared, so each method selects its
 * slot and reads it under the mutex MLCK.  DSDT revision 2 gives 64-bit
 * integers, so MCRS assembles base and size as whole QWords. */

#define MHPD "MHPD" /* claims the ports */
#define MHPC "MHPC" /* the slots */

static Aml *mutex_acquire(void)
{
    return aml_acquire(aml_name("MLCK"), 0xffff);
}

static Aml *mutex_release(void)
{
    return aml_release(aml_name("MLCK"));
}

static Aml *select_slot_arg0(void)
{
    return aml_store(aml_to_integer(aml_arg(0), NULL), aml_name("MSEL"));
}

static Aml *build_resources_device(uint16_t base)
{
    Aml *dev = aml_device(MHPD);
    aml_append(dev, aml_name_decl("_HID", aml_eisaid("PNP0A06")));
    aml_append(dev, aml_name_decl("_UID", aml_string("Memory hotplug resources")));
    Aml *crs = aml_resource_template();
    aml_append(crs, aml_io(base, base, 0x00, MEMHP_IO_LEN));
    aml_append(dev, aml_name_decl("_CRS", crs));
    return dev;
}

/* The register block as three overlapping Fields: the DWord registers the
 * guest reads, the status byte (WriteAsZeros, so setting one bit writes
 * only that bit: clearing insert never ejects), and the write view. */
static void build_fields(Aml *ctl, uint16_t base)
{
    aml_append(ctl, aml_operation_region("HPMR", AML_SYSTEM_IO, aml_int(base),
                                         aml_int(MEMHP_IO_LEN)));

    Aml *regs = aml_field("HPMR", AML_DWORD_ACC, AML_NOLOCK, AML_PRESERVE);
    aml_field_entry(regs, "MRBL", 32); /* base, low */
    aml_field_entry(regs, "MRBH", 32);
    aml_field_entry(regs, "MRLL", 32); /* size, low */
    aml_field_entry(regs, "MRLH", 32);
    aml_field_entry(regs, "MPX", 32); /* proximity */
    aml_append(ctl, regs);

    Aml *status = aml_field("HPMR", AML_BYTE_ACC, AML_NOLOCK, AML_WRITE_AS_ZEROS);
    aml_field_offset(status, REG_STATUS);
    aml_field_entry(status, "MES", 1); /* enabled */
    aml_field_entry(status, "MINS", 1); /* insert pending / clear it */
    aml_field_entry(status, "MRMV", 1); /* remove pending / clear it */
    aml_field_entry(status, "MEJ", 1); /* eject */
    aml_append(ctl, status);

    Aml *writes = aml_field("HPMR", AML_DWORD_ACC, AML_NOLOCK, AML_PRESERVE);
    aml_field_entry(writes, "MSEL", 32); /* selector */
    aml_field_entry(writes, "MOEV", 32); /* _OST event */
    aml_field_entry(writes, "MOSC", 32); /* _OST status */
    aml_append(ctl, writes);
}

/* MTFY (slot, code): Notify the slot's device. */
static Aml *build_notify_method(unsigned nr_slots)
{
    Aml *method = aml_method("MTFY", 2, AML_NOTSERIALIZED);
    for (unsigned i = 0; i < nr_slots; i++) {
        Aml *is_slot = aml_if(aml_lequal(aml_arg(0), aml_int(i)));
        aml_append(is_slot, aml_notify(aml_name("MP%02X", i), aml_arg(1)));
        aml_append(method, is_slot);
    }
    return method;
}

/* MSCN: the GPE handler's body.  Sends a device check (1) to each slot
 * with an insert pending, else an eject request (3) to each with a remove
 * pending, and acknowledges the event it sent. */
static Aml *build_scan_method(void)
{
    Aml *method = aml_method("MSCN", 0, AML_SERIALIZED);
    aml_append(method, mutex_acquire());
    aml_append(method, aml_store(aml_int(0), aml_local(0)));

    Aml *loop = aml_while(aml_lless(aml_local(0), aml_name("MDNR")));
    aml_append(loop, aml_store(aml_local(0), aml_name("MSEL")));

    Aml *inserting = aml_if(aml_lequal(aml_name("MINS"), aml_int(1)));
    aml_append(inserting, aml_call("MTFY", aml_local(0), aml_int(1), NULL));
    aml_append(inserting, aml_store(aml_int(1), aml_name("MINS")));
    aml_append(loop, inserting);

    Aml *otherwise = aml_else();
    Aml *removing = aml_if(aml_lequal(aml_name("MRMV"), aml_int(1)));
    aml_append(removing, aml_call("MTFY", aml_local(0), aml_int(3), NULL));
    aml_append(removing, aml_store(aml_int(1), aml_name("MRMV")));
    aml_append(otherwise, removing);
    aml_append(loop, otherwise);

    aml_append(loop, aml_increment(aml_local(0)));
    aml_append(method, loop);
    aml_append(method, mutex_release());
    aml_append(method, aml_return(aml_int(1)));
    return method;
}

/* MRST (uid): _STA, present/enabled/shown/functioning while enabled. */
static Aml *build_status_method(void)
{
    Aml *method = aml_method("MRST", 1, AML_SERIALIZED);
    aml_append(method, aml_store(aml_int(0), aml_local(0)));
    aml_append(method, mutex_acquire());
    aml_append(method, select_slot_arg0());
    Aml *enabled = aml_if(aml_lequal(aml_name("MES"), aml_int(1)));
    aml_append(enabled, aml_store(aml_int(0x0f), aml_local(0)));
    aml_append(method, enabled);
    aml_append(method, mutex_release());
    aml_append(method, aml_return(aml_local(0)));
    return method;
}

/* MCRS (uid): _CRS, one QWordMemory range filled in from the registers.
 * (The hotplug window is above 4 GiB on ferry's PC, so no DWordMemory
 * variant is needed for 32-bit guests.) */
static Aml *build_resources_method(void)
{
    Aml *method = aml_method("MCRS", 1, AML_SERIALIZED);
    aml_append(method, mutex_acquire());
    aml_append(method, select_slot_arg0());

    Aml *crs = aml_resource_template();
    aml_append(crs, aml_qword_memory(&(AmlMemoryRange){
                        .producer = true, .min_fixed = true, .max_fixed = true,
                        .caching = AML_CACHEABLE, .read_write = true,
                        .max = UINT64_MAX - 1, .length = UINT64_MAX }));
    aml_append(method, aml_name_decl("MR64", crs));
    aml_append(method, aml_create_qword_field(aml_name("MR64"),
                                              aml_int(AML_QWORD_MEMORY_MIN), "MMIN"));
    aml_append(method, aml_create_qword_field(aml_name("MR64"),
                                              aml_int(AML_QWORD_MEMORY_MAX), "MMAX"));
    aml_append(method, aml_create_qword_field(aml_name("MR64"),
                                              aml_int(AML_QWORD_MEMORY_LENGTH), "MLEN"));
    aml_append(method, aml_or(aml_shiftleft(aml_name("MRBH"), aml_int(32), NULL),
                              aml_name("MRBL"), aml_name("MMIN")));
    aml_append(method, aml_or(aml_shiftleft(aml_name("MRLH"), aml_int(32), NULL),
                              aml_name("MRLL"), aml_name("MLEN")));
    aml_append(method, aml_subtract(aml_add(aml_name("MMIN"), aml_name("MLEN"), NULL),
                                    aml_int(1), aml_name("MMAX")));
    aml_append(method, mutex_release());
    aml_append(method, aml_return(aml_name("MR64")));
    return method;
}

/* MPXM (uid): _PXM. */
static Aml *build_proximity_method(void)
{
    Aml *method = aml_method("MPXM", 1, AML_SERIALIZED);
    aml_append(method, mutex_acquire());
    aml_append(method, select_slot_arg0());
    aml_append(method, aml_store(aml_name("MPX"), aml_local(0)));
    aml_append(method, mutex_release());
    aml_append(method, aml_return(aml_local(0)));
    return method;
}

/* MOST (uid, event, status, info): _OST; the status write completes it. */
static Aml *build_ost_method(void)
{
    Aml *method = aml_method("MOST", 4, AML_SERIALIZED);
    aml_append(method, mutex_acquire());
    aml_append(method, select_slot_arg0());
    aml_append(method, aml_store(aml_arg(1), aml_name("MOEV")));
    aml_append(method, aml_store(aml_arg(2), aml_name("MOSC")));
    aml_append(method, mutex_release());
    return method;
}

/* MEJ0 (uid, arg): _EJ0. */
static Aml *build_eject_method(void)
{
    Aml *method = aml_method("MEJ0", 2, AML_SERIALIZED);
    aml_append(method, mutex_acquire());
    aml_append(method, select_slot_arg0());
    aml_append(method, aml_store(aml_int(1), aml_name("MEJ")));
    aml_append(method, mutex_release());
    return method;
}

/* One PNP0C80 memory device per slot, each method forwarding to MHPC's
 * with the slot's _UID. */
static Aml *build_slot_device(unsigned slot)
{
    Aml *dev = aml_device("MP%02X", slot);
    aml_append(dev, aml_name_decl("_UID", aml_string("0x%02X", slot)));
    aml_append(dev, aml_name_decl("_HID", aml_eisaid("PNP0C80")));

    Aml *crs = aml_method("_CRS", 0, AML_NOTSERIALIZED);
    aml_append(crs, aml_return(aml_call("MCRS", aml_name("_UID"), NULL)));
    aml_append(dev, crs);

    Aml *sta = aml_method("_STA", 0, AML_NOTSERIALIZED);
    aml_append(sta, aml_return(aml_call("MRST", aml_name("_UID"), NULL)));
    aml_append(dev, sta);

    Aml *pxm = aml_method("_PXM", 0, AML_NOTSERIALIZED);
    aml_append(pxm, aml_return(aml_call("MPXM", aml_name("_UID"), NULL)));
    aml_append(dev, pxm);

    Aml *ost = aml_method("_OST", 3, AML_NOTSERIALIZED);
    aml_append(ost, aml_call("MOST", aml_name("_UID"), aml_arg(0), aml_arg(1), aml_arg(2),
                             NULL));
    aml_append(dev, ost);

    Aml *ej0 = aml_method("_EJ0", 1, AML_NOTSERIALIZED);
    aml_append(ej0, aml_call("MEJ0", aml_name("_UID"), aml_arg(0), NULL));
    aml_append(dev, ej0);
    return dev;
}

void memhp_build_aml(Aml *sb, Aml *gpe, unsigned nr_slots, uint16_t base)
{
    if (nr_slots == 0)
        return;

    aml_append(sb, build_resources_device(base));

    Aml *ctl = aml_device(MHPC);
    aml_append(ctl, aml_name_decl("_HID", aml_eisaid("PNP0A06")));
    aml_append(ctl, aml_name_decl("_UID", aml_string("DIMM devices")));
    aml_append(ctl, aml_name_decl("MDNR", aml_int(nr_slots)));
    /* Present, enabled, functioning, not shown in the UI. */
    aml_append(ctl, aml_name_decl("_STA", aml_int(0x0b)));
    aml_append(ctl, aml_mutex("MLCK", 0));
    build_fields(ctl, base);
    /* Methods before the slot devices that call them, so that a
     * disassembler knows their argument counts. */
    aml_append(ctl, build_notify_method(nr_slots));
    aml_append(ctl, build_scan_method());
    aml_append(ctl, build_status_method());
    aml_append(ctl, build_resources_method());
    aml_append(ctl, build_proximity_method());
    aml_append(ctl, build_ost_method());
    aml_append(ctl, build_eject_method());
    for (unsigned i = 0; i < nr_slots; i++)
        aml_append(ctl, build_slot_device(i));
    aml_append(sb, ctl);

    Aml *handler = aml_method("_E03", 0, AML_NOTSERIALIZED);
    aml_append(handler, aml_call("\\_SB." MHPC ".MSCN", NULL));
    aml_append(gpe, handler);
}

void memhp_dsdt_hook(void *opaque, Aml *sb, Aml *gpe)
{
    Memhp *m = opaque;

    memhp_build_aml(sb, gpe, m->nr_slots, m->base);
}
