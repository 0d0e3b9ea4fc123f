/* The fixed-layout ACPI tables (ACPI 6.x §5.2): RSDP, RSDT, XSDT, FADT,
 * FACS, MADT, SRAT, and the common header; the DSDT is in dsdt.h.
 *
 * Each builder appends one table to the tables blob and returns its offset
 * there.  Pointers between tables and every checksum are left to the
 * loader script: builders store the pointee's offset in a pointer field
 * and register an ADD_POINTER, and acpi_table_end() registers the table's
 * ADD_CHECKSUM.  Checksum fields in the blob stay 0.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "acpi/acpi_build.h"
#include "acpi/linker.h"

#define ACPI_OEM_ID "FERRY " /* 6 bytes */
#define ACPI_OEM_TABLE_ID "FERRYPC " /* 8 bytes */
#define ACPI_OEM_REVISION 1
#define ACPI_CREATOR_ID "FRRY"
#define ACPI_CREATOR_REVISION 1

#define ACPI_TABLE_HEADER_SIZE 36
#define ACPI_TABLE_CHECKSUM_OFFSET 9
#define ACPI_RSDP_SIZE 36
#define ACPI_FACS_SIZE 64
#define ACPI_FADT_SIZE 244 /* revision 3 */

/* Revisions (see acpi_build.c for why). */
#define ACPI_DSDT_REVISION 2 /* 64-bit AML integers */
#define ACPI_FADT_REVISION 3
#define ACPI_MADT_REVISION 3
#define ACPI_SRAT_REVISION 3
#define ACPI_RSDT_REVISION 1
#define ACPI_XSDT_REVISION 1

#define ACPI_LAPIC_ADDRESS 0xfee00000u
#define ACPI_IOAPIC_ADDRESS 0xfec00000u
#define ACPI_IOAPIC_ID 0

/* MADT subtable types. */
enum {
    ACPI_MADT_LOCAL_APIC = 0,
    ACPI_MADT_IO_APIC = 1,
    ACPI_MADT_INTERRUPT_OVERRIDE = 2,
    ACPI_MADT_LOCAL_APIC_NMI = 4,
};

/* SRAT subtable types and memory affinity flags. */
enum {
    ACPI_SRAT_CPU_AFFINITY = 0,
    ACPI_SRAT_MEMORY_AFFINITY = 1,
};

typedef enum AcpiSratMemFlags {
    ACPI_SRAT_MEM_ENABLED = 1u << 0,
    ACPI_SRAT_MEM_HOTPLUGGABLE = 1u << 1,
    ACPI_SRAT_MEM_NON_VOLATILE = 1u << 2,
} AcpiSratMemFlags;

/* Generic Address Structure address space IDs. */
enum {
    ACPI_GAS_MEMORY = 0,
    ACPI_GAS_IO = 1,
};

/* Little-endian appends and stores. */
void acpi_put_u8(GByteArray *b, uint8_t v);
void acpi_put_u16(GByteArray *b, uint16_t v);
void acpi_put_u32(GByteArray *b, uint32_t v);
void acpi_put_u64(GByteArray *b, uint64_t v);
void acpi_put_zeros(GByteArray *b, unsigned n);
/* Exactly strlen(s) bytes, no NUL. */
void acpi_put_chars(GByteArray *b, const char *s);
void acpi_set_u32(GByteArray *b, uint32_t offset, uint32_t v);

/* Appends a 36-byte header with length and checksum 0; returns its offset. */
uint32_t acpi_table_begin(GByteArray *tables, const char *signature, uint8_t revision);
/* Sets the length to the end of the blob and registers the checksum. */
void acpi_table_end(GByteArray *tables, Linker *linker, uint32_t table_offset);

uint32_t acpi_build_facs(GByteArray *tables);
uint32_t acpi_build_fadt(GByteArray *tables, Linker *linker, const AcpiConfig *config,
                         uint32_t facs_offset, uint32_t dsdt_offset);
uint32_t acpi_build_madt(GByteArray *tables, Linker *linker, const AcpiConfig *config);
uint32_t acpi_build_srat(GByteArray *tables, Linker *linker, const AcpiConfig *config);
/* Memory Affinity entry, also for the hotplug window (ENABLED | HOTPLUGGABLE). */
void acpi_srat_add_memory(GByteArray *tables, uint64_t base, uint64_t length, uint32_t node,
                          AcpiSratMemFlags flags);
/* RSDT (32-bit) or XSDT (64-bit entries) listing the tables at `offsets`. */
uint32_t acpi_build_rsdt(GByteArray *tables, Linker *linker, const uint32_t *offsets,
                         unsigned count);
uint32_t acpi_build_xsdt(GByteArray *tables, Linker *linker, const uint32_t *offsets,
                         unsigned count);
/* The RSDP (revision 2) in its own blob, pointing at both. */
void acpi_build_rsdp(GByteArray *rsdp, Linker *linker, uint32_t rsdt_offset,
                     uint32_t xsdt_offset);
