/* ACPI PM1 event/control blocks, PM timer, GPE0; see acpi_pm.h.
 *
 * Not emulated: the PM timer overflow event (TMR_STS is never set; the
 * timer is read, not waited on, by every OS ferry boots) and sleep states
 * other than S5 (entering them is ignored: the guest just runs on). */
#include "hw/acpi_pm.h"

#include <glib.h>
#include <string.h>
#include <time.h>

#include "vmm/runstate.h"

#define PM1_EVT_LEN 4
#define PM1_CNT_OFFSET 4
#define PM1_CNT_LEN 2
#define PM_TMR_OFFSET 8
#define PM_TMR_LEN 4
#define GPE0_LEN 4

#define PM1_STS_PWRBTN (1u << 8)
#define PM1_CNT_SCI_EN (1u << 0)
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_TYP_MASK (7u << PM1_CNT_SLP_TYP_SHIFT)
#define PM1_CNT_SLP_EN (1u << 13)
/* Bits that read back; SLP_EN is write-only. */
#define PM1_CNT_STORED (PM1_CNT_SCI_EN | PM1_CNT_SLP_TYP_MASK)

typedef struct StatusEnable {
    uint16_t sts, en;
} StatusEnable;

struct AcpiPm {
    GMutex lock;
    MemoryRegion *evt_mr, *cnt_mr, *tmr_mr, *gpe_mr;
    IrqLine sci;
    bool sci_level;
    uint8_t s5_slp_typ;
    StatusEnable pm1, gpe0;
    uint16_t pm1_cnt;
};

/* Read-modify-write of `size` bytes at byte `offset` of a 16-bit register. */
static uint16_t reg16_merge(uint16_t reg, uint64_t offset, uint64_t value, unsigned size)
{
    for (unsigned i = 0; i < size && offset + i < 2; i++) {
        unsigned shift = (unsigned)(offset + i) * 8;

        reg = (uint16_t)((reg & ~(0xffu << shift)) | (((value >> (i * 8)) & 0xff) << shift));
    }
    return reg;
}

static uint64_t reg16_read(uint16_t reg, uint64_t offset)
{
    return offset < 2 ? (uint64_t)reg >> (offset * 8) : 0;
}

static void acpi_pm_update_sci(AcpiPm *pm)
{
    bool level = (pm->pm1.sts & pm->pm1.en) || (pm->gpe0.sts & pm->gpe0.en);

    if (level != pm->sci_level) {
        pm->sci_level = level;
        irq_line_set(&pm->sci, level);
    }
}

/* PM1a_EVT and GPE0 share one shape: a 16-bit status register (write 1 to
 * clear) at +0 and a 16-bit enable register at +2. */
static uint64_t status_enable_read(const StatusEnable *se, uint64_t offset, unsigned size)
{
    uint32_t both = se->sts | ((uint32_t)se->en << 16);

    return (both >> (offset * 8)) & (size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1);
}

static void status_enable_write(StatusEnable *se, uint64_t offset, uint64_t value, unsigned size)
{
    for (unsigned i = 0; i < size && offset + i < 4; i++) {
        uint64_t byte = (value >> (i * 8)) & 0xff;
        unsigned at = (unsigned)offset + i;

        if (at < 2)
            se->sts &= (uint16_t)~(byte << (at * 8));
        else
            se->en = reg16_merge(se->en, at - 2, byte, 1);
    }
}

static uint64_t pm1_evt_read(void *opaque, uint64_t offset, unsigned size)
{
    AcpiPm *pm = opaque;

    return status_enable_read(&pm->pm1, offset, size);
}

static void pm1_evt_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    AcpiPm *pm = opaque;

    status_enable_write(&pm->pm1, offset, value, size);
    acpi_pm_update_sci(pm);
}

static uint64_t pm1_cnt_read(void *opaque, uint64_t offset, unsigned size)
{
    AcpiPm *pm = opaque;

    return reg16_read(pm->pm1_cnt, offset);
}

static void pm1_cnt_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    AcpiPm *pm = opaque;
    uint16_t cnt = reg16_merge(pm->pm1_cnt, offset, value, size);
    unsigned slp_typ = (cnt & PM1_CNT_SLP_TYP_MASK) >> PM1_CNT_SLP_TYP_SHIFT;

    /* SCI_EN is wired on: with no SMM, ACPI mode is all there is. */
    pm->pm1_cnt = (cnt & PM1_CNT_STORED) | PM1_CNT_SCI_EN;
    if ((cnt & PM1_CNT_SLP_EN) && slp_typ == pm->s5_slp_typ)
        runstate_request_exit(FERRY_EXIT_POWEROFF);
}

/* 24-bit counter at 3.579545 MHz, from the host's monotonic clock. */
static uint64_t pm_tmr_read(void *opaque, uint64_t offset, unsigned size)
{
    struct timespec ts;
    unsigned __int128 ns;
    uint32_t ticks;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ns = (unsigned __int128)ts.tv_sec * 1000000000u + (unsigned)ts.tv_nsec;
    ticks = (uint32_t)(ns * ACPI_PM_TIMER_HZ / 1000000000u) & 0xffffff;
    return ticks >> (offset * 8);
}

static void pm_tmr_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    /* Read-only. */
}

static uint64_t gpe0_read(void *opaque, uint64_t offset, unsigned size)
{
    AcpiPm *pm = opaque;

    return status_enable_read(&pm->gpe0, offset, size);
}

static void gpe0_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    AcpiPm *pm = opaque;

    status_enable_write(&pm->gpe0, offset, value, size);
    acpi_pm_update_sci(pm);
}

static const MemoryRegionOps pm1_evt_ops = { .read = pm1_evt_read, .write = pm1_evt_write };
static const MemoryRegionOps pm1_cnt_ops = { .read = pm1_cnt_read, .write = pm1_cnt_write };
static const MemoryRegionOps pm_tmr_ops = { .read = pm_tmr_read, .write = pm_tmr_write };
static const MemoryRegionOps gpe0_ops = { .read = gpe0_read, .write = gpe0_write };

static void acpi_pm_reset_locked(AcpiPm *pm)
{
    pm->pm1 = pm->gpe0 = (StatusEnable){ 0 };
    pm->pm1_cnt = PM1_CNT_SCI_EN;
    acpi_pm_update_sci(pm);
}

AcpiPm *acpi_pm_create(MemoryRegion *io, uint16_t pm_base, uint16_t gpe0_base,
                       uint8_t s5_slp_typ, IrqLine sci)
{
    AcpiPm *pm = g_new0(AcpiPm, 1);

    g_mutex_init(&pm->lock);
    pm->sci = sci;
    pm->s5_slp_typ = s5_slp_typ;
    acpi_pm_reset_locked(pm);
    pm->evt_mr = memory_region_add_io(io, pm_base, "acpi-pm1a-evt", PM1_EVT_LEN, &pm1_evt_ops,
                                      pm, &pm->lock);
    pm->cnt_mr = memory_region_add_io(io, pm_base + PM1_CNT_OFFSET, "acpi-pm1a-cnt", PM1_CNT_LEN,
                                      &pm1_cnt_ops, pm, &pm->lock);
    pm->tmr_mr = memory_region_add_io(io, pm_base + PM_TMR_OFFSET, "acpi-pm-tmr", PM_TMR_LEN,
                                      &pm_tmr_ops, pm, &pm->lock);
    pm->gpe_mr = memory_region_add_io(io, gpe0_base, "acpi-gpe0", GPE0_LEN, &gpe0_ops, pm,
                                      &pm->lock);
    return pm;
}

void acpi_pm_reset(AcpiPm *pm)
{
    g_mutex_lock(&pm->lock);
    acpi_pm_reset_locked(pm);
    g_mutex_unlock(&pm->lock);
}

void acpi_pm_free(AcpiPm *pm)
{
    if (!pm)
        return;
    memory_region_free(pm->evt_mr);
    memory_region_free(pm->cnt_mr);
    memory_region_free(pm->tmr_mr);
    memory_region_free(pm->gpe_mr);
    g_mutex_clear(&pm->lock);
    g_free(pm);
}

void acpi_pm_raise_gpe(AcpiPm *pm, unsigned bit)
{
    g_mutex_lock(&pm->lock);
    pm->gpe0.sts |= (uint16_t)(1u << (bit & 15));
    acpi_pm_update_sci(pm);
    g_mutex_unlock(&pm->lock);
}

bool acpi_pm_gpe_enabled(AcpiPm *pm, unsigned bit)
{
    g_mutex_lock(&pm->lock);
    bool enabled = pm->gpe0.en & (1u << (bit & 15));
    g_mutex_unlock(&pm->lock);
    return enabled;
}

void acpi_pm_press_power_button(AcpiPm *pm)
{
    g_mutex_lock(&pm->lock);
    pm->pm1.sts |= PM1_STS_PWRBTN;
    acpi_pm_update_sci(pm);
    g_mutex_unlock(&pm->lock);
}

/* ---- migration (layout in acpi_pm.h) ---------------------------------- */

#define STATE_LEN 10

void acpi_pm_state_save(AcpiPm *pm, GByteArray *out)
{
    uint16_t regs[STATE_LEN / 2];

    g_mutex_lock(&pm->lock);
    regs[0] = GUINT16_TO_LE(pm->pm1.sts);
    regs[1] = GUINT16_TO_LE(pm->pm1.en);
    regs[2] = GUINT16_TO_LE(pm->pm1_cnt);
    regs[3] = GUINT16_TO_LE(pm->gpe0.sts);
    regs[4] = GUINT16_TO_LE(pm->gpe0.en);
    g_mutex_unlock(&pm->lock);
    g_byte_array_append(out, (const guint8 *)regs, sizeof(regs));
}

bool acpi_pm_state_load(AcpiPm *pm, const uint8_t *data, size_t len, uint32_t version,
                        GError **errp)
{
    uint16_t regs[STATE_LEN / 2];

    if (version != ACPI_PM_STATE_VERSION) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "acpi-pm state: version %u is not one this ferry reads (%u)", version,
                    ACPI_PM_STATE_VERSION);
        return false;
    }
    if (len != STATE_LEN) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "acpi-pm state: %zu bytes, expected %d", len, STATE_LEN);
        return false;
    }
    memcpy(regs, data, sizeof(regs));
    for (unsigned i = 0; i < G_N_ELEMENTS(regs); i++)
        regs[i] = GUINT16_FROM_LE(regs[i]);
    /* The control register always reads back with SCI_EN and nothing
     * outside SCI_EN | SLP_TYP. */
    if ((regs[2] & ~PM1_CNT_STORED) || !(regs[2] & PM1_CNT_SCI_EN)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "acpi-pm state: PM1 control 0x%04x is not a value the device holds",
                    regs[2]);
        return false;
    }

    g_mutex_lock(&pm->lock);
    pm->pm1.sts = regs[0];
    pm->pm1.en = regs[1];
    pm->pm1_cnt = regs[2];
    pm->gpe0.sts = regs[3];
    pm->gpe0.en = regs[4];
    /* This machine's irqchip has never seen the line: drive it either way. */
    pm->sci_level = (pm->pm1.sts & pm->pm1.en) || (pm->gpe0.sts & pm->gpe0.en);
    irq_line_set(&pm->sci, pm->sci_level);
    g_mutex_unlock(&pm->lock);
    return true;
}
