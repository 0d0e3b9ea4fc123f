/* The ACPI tables of ferry's PC, built once per boot (and again on the first
 * fw_cfg read after a reset), in the two forms guests consume:
 *
 *   - for firmware: the blobs etc/acpi/tables and etc/acpi/rsdp plus the
 *     BIOS linker/loader script etc/table-loader that SeaBIOS, qboot and
 *     OVMF run to place the blobs, patch pointers and fix checksums;
 *   - for direct kernel boot: ferry runs that same script itself
 *     (acpi_loader_run) with addresses it picks, so both paths install
 *     byte-identical tables.
 *
 * Tables: RSDP (revision 2) -> RSDT and XSDT -> FADT -> FACS, DSDT; MADT;
 * SRAT.  OEM ID "FERRY".
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "acpi/aml.h"
#include "mem/address_space.h"

#define ACPI_FILE_TABLES "etc/acpi/tables"
#define ACPI_FILE_RSDP "etc/acpi/rsdp"
#define ACPI_FILE_LOADER "etc/table-loader"

/* Where direct kernel boot installs the tables (acpi_loader_run), and the
 * placement acpi_dump patches pointers for: the RSDP in the F-segment zone
 * an OS scans, the tables right after it, below 1 MiB. */
#define ACPI_DIRECT_BOOT_RSDP_ADDR 0xe0000
#define ACPI_DIRECT_BOOT_TABLES_ADDR 0xe1000
#define ACPI_DIRECT_BOOT_TABLES_MAX (0x100000 - ACPI_DIRECT_BOOT_TABLES_ADDR)

/* The machine the tables describe. */
typedef struct AcpiConfig {
    unsigned cpus; /* APIC IDs 0..cpus-1 */
    uint64_t ram_below_4g; /* RAM at [0, ram_below_4g) */
    uint64_t ram_above_4g; /* RAM at [4 GiB, 4 GiB + ram_above_4g) */
    uint16_t pm_base; /* PM1a_EVT at +0 (4 bytes), PM1a_CNT at +4 (2), PM_TMR at +8 (4) */
    uint16_t gpe0_base; /* GPE0 block: 2 status bytes then 2 enable bytes */
    uint8_t sci_irq; /* level, active high */
    uint16_t reset_port; /* FADT reset register (I/O), written with reset_value */
    uint8_t reset_value;
    uint8_t s5_slp_typ; /* the SLP_TYP \_S5 gives, that the PM device powers off on */
    uint16_t com1_base; /* described in the DSDT as PNP0501 */
    uint8_t com1_irq;
    uint16_t fw_cfg_base; /* described as QEMU0002 (12 ports, DMA included); 0 = none */
    /* Devices outside acpi/ add their AML here (e.g. hw/memhp.c, through
     * memhp_dsdt_hook): called once per build with the \_SB and \_GPE
     * scopes before they are closed.  NULL = nothing added. */
    void (*dsdt_hook)(void *opaque, Aml *sb, Aml *gpe);
    void *dsdt_hook_opaque;
    /* The memory-hotplug window: with a non-zero size the SRAT gets one
     * enabled, hot-pluggable entry (node 0) covering it. */
    uint64_t hotplug_base;
    uint64_t hotplug_size;
} AcpiConfig;

/* One table inside the tables blob, for --dump-acpi and tests. */
typedef struct AcpiTableRef {
    char signature[5];
    uint32_t offset; /* in tables */
    uint32_t length;
} AcpiTableRef;

typedef struct AcpiTables {
    GByteArray *tables; /* FACS, DSDT, FADT, MADT, SRAT, RSDT, XSDT, ... */
    GByteArray *rsdp;
    GByteArray *loader; /* the etc/table-loader script */
    GArray *refs; /* AcpiTableRef, in blob order */
} AcpiTables;

void acpi_tables_init(AcpiTables *t);
void acpi_tables_clear(AcpiTables *t);

/* Builds every table and the loader script into t (cleared first). */
void acpi_build(const AcpiConfig *config, AcpiTables *t);

/* Runs the loader script the way firmware does: copies the tables blob to
 * guest memory at tables_addr and the RSDP at rsdp_addr, patches pointers
 * and checksums.  Fails on a script that references an unknown file or
 * writes outside a blob, or on addresses outside guest RAM. */
bool acpi_loader_run(const AcpiTables *t, AddressSpace *memory, uint64_t tables_addr,
                     uint64_t rsdp_addr, GError **errp);

/* Writes each table as DIR/<SIG>.dat (the RSDP as RSDP.dat), creating DIR.
 * The tables are dumped as installed at the direct-boot addresses: pointers
 * patched and checksums valid, so `iasl -d` accepts every file. */
bool acpi_dump(const AcpiTables *t, const char *dir, GError **errp);
