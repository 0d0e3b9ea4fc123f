/* Assembles ferry's ACPI tables and runs their loader script.
 *
 * Blob order (etc/acpi/tables): FACS (first, so the blob's 64-byte
 * alignment is the FACS's), DSDT, FADT, MADT, SRAT, RSDT, XSDT.  The RSDP
 * is its own blob because firmware must place it in the F segment.
 *
 * Revisions: each table takes the lowest revision that has what ferry
 * describes, which every OS since the mid-2000s parses.
 *   RSDP 2    - the XSDT address (ACPI 2.0+).
 *   FADT 3    - the X_ GAS fields and the reset register (ACPI 2.0/3.0
 *               layout, 244 bytes); nothing from rev 5+ (hardware-reduced
 *               mode, sleep registers) applies to a PC with a PM block.
 *   DSDT 2    - 64-bit AML integers (QWordMemory for hotplugged DIMMs).
 *   MADT 3    - all subtables used are ACPI 1.0 ones; below 5 so "enabled"
 *               keeps its plain meaning (no Online Capable bit).
 *   SRAT 3    - 32-bit proximity domains (ACPI 4.0 layout).
 *   RSDT/XSDT 1.
 * The IOAPIC has ID 0: that is what KVM's in-kernel IOAPIC ID register
 * holds after reset, and on xAPIC systems IOAPIC IDs do not share the
 * APIC ID space, so it does not clash with CPU 0.
 */
#include "acpi/acpi_build.h"

#include <errno.h>
#include <string.h>

#include "acpi/dsdt.h"
#include "acpi/linker.h"
#include "acpi/tables.h"

void acpi_tables_init(AcpiTables *t)
{
    t->tables = g_byte_array_new();
    t->rsdp = g_byte_array_new();
    t->loader = g_byte_array_new();
    t->refs = g_array_new(FALSE, TRUE, sizeof(AcpiTableRef));
}

void acpi_tables_clear(AcpiTables *t)
{
    g_clear_pointer(&t->tables, g_byte_array_unref);
    g_clear_pointer(&t->rsdp, g_byte_array_unref);
    g_clear_pointer(&t->loader, g_byte_array_unref);
    g_clear_pointer(&t->refs, g_array_unref);
}

static uint32_t read_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Every table (FACS included) starts with its signature and length. */
static void add_ref(AcpiTables *t, uint32_t offset)
{
    AcpiTableRef ref = { .offset = offset };
    memcpy(ref.signature, t->tables->data + offset, 4);
    ref.length = read_u32(t->tables->data + offset + 4);
    g_array_append_val(t->refs, ref);
}

void acpi_build(const AcpiConfig *config, AcpiTables *t)
{
    if (!t->tables)
        acpi_tables_init(t);
    g_byte_array_set_size(t->tables, 0);
    g_byte_array_set_size(t->rsdp, 0);
    g_byte_array_set_size(t->loader, 0);
    g_array_set_size(t->refs, 0);

    g_autoptr(Linker) linker = linker_new();
    linker_allocate(linker, ACPI_FILE_TABLES, t->tables, 64, LINKER_ZONE_HIGH);
    linker_allocate(linker, ACPI_FILE_RSDP, t->rsdp, 16, LINKER_ZONE_FSEG);

    uint32_t facs = acpi_build_facs(t->tables);
    uint32_t dsdt = acpi_build_dsdt(t->tables, linker, config);
    uint32_t fadt = acpi_build_fadt(t->tables, linker, config, facs, dsdt);
    uint32_t madt = acpi_build_madt(t->tables, linker, config);
    uint32_t srat = acpi_build_srat(t->tables, linker, config);
    /* The tables the RSDT/XSDT list (the FACS and DSDT hang off the FADT). */
    const uint32_t listed[] = { fadt, madt, srat };
    uint32_t rsdt = acpi_build_rsdt(t->tables, linker, listed, G_N_ELEMENTS(listed));
    uint32_t xsdt = acpi_build_xsdt(t->tables, linker, listed, G_N_ELEMENTS(listed));
    acpi_build_rsdp(t->rsdp, linker, rsdt, xsdt);

    const uint32_t order[] = { facs, dsdt, fadt, madt, srat, rsdt, xsdt };
    for (unsigned i = 0; i < G_N_ELEMENTS(order); i++)
        add_ref(t, order[i]);
    linker_write_script(linker, t->loader);
}

static bool ranges_overlap(uint64_t a, uint64_t a_len, uint64_t b, uint64_t b_len)
{
    return a < b + b_len && b < a + a_len;
}

/* The two files the script may name, placed at the given addresses. */
static bool run_script(const AcpiTables *t, uint64_t tables_addr, uint8_t *tables_host,
                       uint64_t rsdp_addr, uint8_t *rsdp_host, GError **errp)
{
    if (ranges_overlap(tables_addr, t->tables->len, rsdp_addr, t->rsdp->len)) {
        g_set_error(errp, LINKER_ERROR, 0,
                    "ACPI tables at 0x%" G_GINT64_MODIFIER "x (%u bytes) overlap the RSDP at 0x%"
                    G_GINT64_MODIFIER "x",
                    tables_addr, t->tables->len, rsdp_addr);
        return false;
    }
    LinkerFile files[] = {
        { .name = ACPI_FILE_TABLES, .data = t->tables, .addr = tables_addr, .host = tables_host },
        { .name = ACPI_FILE_RSDP, .data = t->rsdp, .addr = rsdp_addr, .host = rsdp_host },
    };
    return linker_run(t->loader->data, t->loader->len, files, G_N_ELEMENTS(files), errp);
}

static uint8_t *guest_ptr(AddressSpace *memory, uint64_t addr, uint64_t len, const char *what,
                          GError **errp)
{
    uint8_t *host = address_space_ram_ptr(memory, addr, len, false);
    if (!host)
        g_set_error(errp, LINKER_ERROR, 0,
                    "%s at 0x%" G_GINT64_MODIFIER "x (%" G_GUINT64_FORMAT
                    " bytes) is not inside guest RAM",
                    what, addr, len);
    return host;
}

bool acpi_loader_run(const AcpiTables *t, AddressSpace *memory, uint64_t tables_addr,
                     uint64_t rsdp_addr, GError **errp)
{
    uint8_t *tables_host = guest_ptr(memory, tables_addr, t->tables->len, "ACPI tables", errp);
    if (!tables_host)
        return false;
    uint8_t *rsdp_host = guest_ptr(memory, rsdp_addr, t->rsdp->len, "ACPI RSDP", errp);
    if (!rsdp_host)
        return false;
    return run_script(t, tables_addr, tables_host, rsdp_addr, rsdp_host, errp);
}

static bool write_file(const char *dir, const char *name, const uint8_t *data, size_t len,
                       GError **errp)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    return g_file_set_contents(path, (const char *)data, (gssize)len, errp);
}

bool acpi_dump(const AcpiTables *t, const char *dir, GError **errp)
{
    /* Install into scratch copies at the direct-boot addresses, so the
     * files hold real pointers and valid checksums. */
    g_autofree uint8_t *tables = g_malloc0(MAX(t->tables->len, 1));
    g_autofree uint8_t *rsdp = g_malloc0(MAX(t->rsdp->len, 1));
    if (!run_script(t, ACPI_DIRECT_BOOT_TABLES_ADDR, tables, ACPI_DIRECT_BOOT_RSDP_ADDR, rsdp,
                    errp))
        return false;

    if (g_mkdir_with_parents(dir, 0755) < 0) {
        int err = errno;
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(err),
                    "cannot create directory %s: %s", dir, g_strerror(err));
        return false;
    }
    for (guint i = 0; i < t->refs->len; i++) {
        const AcpiTableRef *ref = &g_array_index(t->refs, AcpiTableRef, i);
        g_autofree char *name = g_strdup_printf("%s.dat", ref->signature);
        if (!write_file(dir, name, tables + ref->offset, ref->length, errp))
            return false;
    }
    return write_file(dir, "RSDP.dat", rsdp, t->rsdp->len, errp);
}
