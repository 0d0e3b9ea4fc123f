/* ACPI fixed hardware of ferry's PC: the PM1a event and control blocks, the
 * PM timer and a GPE0 block, raising the SCI.  Port layout (as the FADT
 * says): PM1a_EVT at pm_base (status 16 bits, enable 16 bits), PM1a_CNT at
 * pm_base + 4 (16 bits), PM_TMR at pm_base + 8 (32 bits, 24 significant);
 * GPE0 at gpe0_base: 2 status bytes (write 1 to clear) then 2 enable bytes.
 * The SCI line is level-triggered: high while any enabled status bit is set.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/irq.h"
#include "mem/region.h"

#define ACPI_PM_TIMER_HZ 3579545

typedef struct AcpiPm AcpiPm;

/* Entering the sleep state whose SLP_TYP is `s5_slp_typ` powers off. */
AcpiPm *acpi_pm_create(MemoryRegion *io, uint16_t pm_base, uint16_t gpe0_base,
                       uint8_t s5_slp_typ, IrqLine sci);
void acpi_pm_reset(AcpiPm *pm);
void acpi_pm_free(AcpiPm *pm);

/* Set a GPE0 status bit (0-15), e.g. the memory-hotplug event (bit 3). */
void acpi_pm_raise_gpe(AcpiPm *pm, unsigned bit);
/* Whether the guest enabled GPE0 bit `bit`: an ACPI OS that handles it. */
bool acpi_pm_gpe_enabled(AcpiPm *pm, unsigned bit);
/* Press the power button (PWRBTN_STS). */
void acpi_pm_press_power_button(AcpiPm *pm);

/* Migration section "acpi-pm", version 1 (10 bytes, little-endian):
 *   u16 PM1 status, u16 PM1 enable, u16 PM1 control (SCI_EN and SLP_TYP
 *   only), u16 GPE0 status, u16 GPE0 enable.
 * The SCI level follows from them: a load drives the line to it.  The PM
 * timer is the host's monotonic clock and has no state. */
#define ACPI_PM_STATE_VERSION 1u
void acpi_pm_state_save(AcpiPm *pm, GByteArray *out);
bool acpi_pm_state_load(AcpiPm *pm, const uint8_t *data, size_t len, uint32_t version,
                        GError **errp);
