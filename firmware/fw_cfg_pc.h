/* The fixed fw_cfg items PC firmware (SeaBIOS, qboot) reads at start-up.
 *
 * What is added, and who needs it:
 *   RAM_SIZE (u64)        total RAM; SeaBIOS' fallback when etc/e820 is absent
 *   NB_CPUS (u16)         vCPUs that start: SeaBIOS and kvm-unit-tests wait for
 *                         exactly this many to answer SIPI; qboot's MP table
 *   MAX_CPUS (u16)        APIC-ID limit (IDs are 0..cpus-1 here)
 *   NOGRAPHIC (u16) = 1   no display
 *   BOOT_MENU (u16) = 0   SeaBIOS skips the "Press ESC" prompt and its wait
 *   IRQ0_OVERRIDE (u32)=1 the PIT is on IOAPIC pin 2 (MP table / MADT)
 *   ACPI_TABLES, SMBIOS_ENTRIES (u16 count 0)
 *                         SeaBIOS reads the legacy lists; 0 = none
 *   etc/e820              the memory map: SeaBIOS takes its RAM from it, qboot
 *                         panics without it
 *   bootorder             when a boot entry is given (kernel option ROM)
 * Left out on purpose: etc/boot-fail-wait (SeaBIOS' 60 s retry only matters
 * when nothing boots), etc/reserved-memory-end (only with a memory-hotplug
 * window; the DIMM code adds it), NUMA (no nodes), etc/table-loader (ACPI,
 * added by the machine from acpi/).
 *
 * The CMOS must agree: SeaBIOS waits for max(NB_CPUS, CMOS[0x5f] + 1) CPUs,
 * so CMOS 0x5f = cpus - 1 (the machine fills it).
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "firmware/e820.h"
#include "firmware/fw_cfg.h"

typedef struct FwCfgPcConfig {
    unsigned cpus;
    uint64_t ram_below_4g; /* RAM at [0, ram_below_4g) */
    uint64_t ram_above_4g; /* RAM at [4 GiB, 4 GiB + ram_above_4g) */
    const char *bootorder; /* the `bootorder` file's text, NULL = none */
} FwCfgPcConfig;

/* QEMU's PC map as firmware wants it: one RAM entry from 0 (firmware cuts
 * 640 KiB-1 MiB itself; qboot takes this entry's length as "lowmem"), RAM
 * above 4 GiB, and the reserved KVM identity-map/TSS pages. */
void fw_cfg_pc_build_e820(E820Table *table, uint64_t ram_below_4g, uint64_t ram_above_4g);

bool fw_cfg_pc_setup(FwCfg *fw, const FwCfgPcConfig *cfg, GError **errp);
