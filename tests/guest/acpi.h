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

/* What an OS needs to take the SCI: from the FADT and the MADT. */
struct acpi_sci {
    uint16_t sci;                   /* FADT SCI_INT: an ISA IRQ */
    uint32_t smi_cmd;               /* 0: already in ACPI mode */
    uint8_t acpi_enable;
    uint32_t pm1a_evt, pm1a_cnt, gpe0;  /* I/O ports; 0 when absent */
    uint8_t pm1_evt_len, gpe0_len;
    bool hw_reduced;
    uint32_t ioapic, ioapic_gsi_base;   /* the first MADT IOAPIC; 0 if none */
    bool have_override;             /* MADT override for ISA IRQ sci */
    uint32_t gsi;                   /* the SCI's GSI (sci without an override) */
    uint16_t override_flags;        /* MPS INTI flags: polarity 1:0, trigger 3:2 */
};
void acpi_sci_info(const struct acpi *a, struct acpi_sci *s);
/* Value of Name(NAME, integer) in the DSDT or an SSDT; -1 if not found. */
int32_t acpi_name_int(const struct acpi *a, const char name[4]);
/* The SRAT memory entry that holds all of [base, base + size). */
bool acpi_srat_lookup(const struct acpi *a, uint64_t base, uint64_t size,
                      uint32_t *flags, uint32_t *proximity);

#endif
