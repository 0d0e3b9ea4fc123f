/* Finding the ACPI tables: RSDP, RSDT/XSDT, FADT, DSDT, FACS. */
#ifndef ACPI_H
#define ACPI_H

#include "guest.h"

#define ACPI_MAX_TABLES 64

struct acpi_header {
    char signature[4];
    uint32_t length;
    uint8_t revision, checksum;
    char oem_id[6], oem_table_id[8];
    uint32_t oem_revision, creator_id, creator_revision;
} __attribute__((packed));

struct acpi_rsdp {
    char signature[8];
    uint8_t checksum;
    char oem_id[6];
    uint8_t revision;
    uint32_t rsdt;
    uint32_t length;                /* revision 2 and up from here */
    uint64_t xsdt;
    uint8_t ext_checksum, reserved[3];
} __attribute__((packed));

struct acpi {
    uint64_t rsdp;
    const char *rsdp_from;          /* "pvh", "EBDA" or "BIOS area" */
    uint64_t rsdt, xsdt;            /* xsdt 0 when the RSDP has none */
    /* From the XSDT when there is one, else from the RSDT. */
    uint64_t tables[ACPI_MAX_TABLES];
    unsigned nr_tables;
    uint64_t fadt, dsdt, facs;      /* 0 when absent */
};

/* Fills *a; returns an error message or NULL. Checks signatures and the
 * RSDP checksums, not the other tables' checksums. */
const char *acpi_find(struct acpi *a);
/* The first table with this signature in the RSDT/XSDT, or 0. */
uint64_t acpi_table(const struct acpi *a, const char *sig);
/* 8-bit sum of [addr, addr + len), computed in ring 3. */
uint8_t acpi_sum(uint64_t addr, uint64_t len);
/* One line "PREFIX: ACPI (...): SIG SIG ..." naming the tables found. */
void acpi_print_summary(const char *prefix);

#endif
