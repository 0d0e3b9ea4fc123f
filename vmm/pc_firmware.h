/* The firmware interfaces of ferry's PC: the fw_cfg device with the items
 * firmware reads, the ACPI tables as ROM blobs with their linker/loader
 * script (rebuilt on the first fw_cfg read after each reset), and, when
 * booting firmware, its image and the kernel handed over through fw_cfg.
 * On direct kernel boot ferry installs the same ACPI tables itself. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "acpi/acpi_build.h"
#include "firmware/boot.h"
#include "mem/address_space.h"
#include "mem/region.h"

typedef struct PcFirmwareConfig {
    MemoryRegion *system; /* root of `memory`, for the firmware image */
    MemoryRegion *io;
    AddressSpace *memory;
    AcpiConfig acpi;
    const char *firmware_path; /* NULL: direct kernel boot */
    const BootConfig *kernel; /* with firmware: the kernel it boots; NULL = none */
} PcFirmwareConfig;

typedef struct PcFirmware PcFirmware;

PcFirmware *pc_firmware_new(const PcFirmwareConfig *config, GError **errp);
void pc_firmware_free(PcFirmware *pf);

/* Direct boot: run the loader script into guest memory at
 * ACPI_DIRECT_BOOT_RSDP_ADDR / _TABLES_ADDR, the BIOS area a guest scans for
 * the RSDP (again after every reset). */
bool pc_firmware_install_acpi(PcFirmware *pf, GError **errp);

/* Power-on state: fw_cfg selects key 0, ACPI rebuilds on the next read, the
 * firmware image and the fw_cfg kernel are loaded afresh. */
bool pc_firmware_reset(PcFirmware *pf, GError **errp);

bool pc_firmware_dump_acpi(PcFirmware *pf, const char *dir, GError **errp);

/* The fw_cfg device, for its migration section. */
struct FwCfg *pc_firmware_fw_cfg(PcFirmware *pf);
