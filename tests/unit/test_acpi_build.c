/* ACPI tables and their loader script: the script's byte layout, and the
 * tables as ferry's own loader installs them into guest RAM. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "acpi/acpi_build.h"
#include "acpi/linker.h"
#include "fixture.h"

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)
#define GUEST_RAM (2 * MiB)
#define RSDP_ADDR ACPI_DIRECT_BOOT_RSDP_ADDR
#define TABLES_ADDR ACPI_DIRECT_BOOT_TABLES_ADDR

/* ---- the PC that the golden DSDT describes ---- */

static AcpiConfig pc_config(unsigned cpus, uint64_t below_4g, uint64_t above_4g)
{
    return (AcpiConfig){
        .cpus = cpus, .ram_below_4g = below_4g, .ram_above_4g = above_4g,
        .pm_base = 0x600, .gpe0_base = 0xafe0, .sci_irq = 9,
        .reset_port = 0xcf9, .reset_value = 0x06, .s5_slp_typ = 5,
        .com1_base = 0x3f8, .com1_irq = 4, .fw_cfg_base = 0x510,
    };
}

typedef struct Built {
    AcpiTables t;
} Built;

static Built *built_new(const AcpiConfig *config)
{
    Built *b = g_new0(Built, 1);
    acpi_tables_init(&b->t);
    acpi_build(config, &b->t);
    return b;
}

static void built_free(Built *b)
{
    acpi_tables_clear(&b->t);
    g_free(b);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Built, built_free)

/* ---- fake guest RAM at [0, GUEST_RAM) ---- */

static GuestRam *machine_new(void) { return guest_ram_new("test-acpi-ram", GUEST_RAM, 0xa5); }

static uint64_t rd(GuestRam *m, uint64_t gpa, unsigned size)
{
    return guest_ram_read_le(m, gpa, size);
}

static uint8_t sum(GuestRam *m, uint64_t gpa, uint64_t len)
{
    const uint8_t *p = guest_ram_ptr(m, gpa, len);
    uint8_t s = 0;
    for (uint64_t i = 0; i < len; i++)
        s = (uint8_t)(s + p[i]);
    return s;
}

static bool has_signature(GuestRam *m, uint64_t gpa, const char *sig)
{
    return memcmp(guest_ram_ptr(m, gpa, 4), sig, 4) == 0;
}

static void install(GuestRam *m, const Built *b)
{
    g_autoptr(GError) err = NULL;
    g_assert_true(acpi_loader_run(&b->t, m->as, TABLES_ADDR, RSDP_ADDR, &err));
    g_assert_no_error(err);
}

/* A table listed in the RSDT, by signature; 0 when absent. */
static uint64_t find_table(GuestRam *m, const char *sig)
{
    uint64_t rsdt = rd(m, RSDP_ADDR + 16, 4);
    uint32_t len = (uint32_t)rd(m, rsdt + 4, 4);
    for (uint64_t e = rsdt + 36; e < rsdt + len; e += 4) {
        uint64_t table = rd(m, e, 4);
        if (has_signature(m, table, sig))
            return table;
    }
    return 0;
}

/* ---- the loader script ---- */

static uint32_t entry_u32(const uint8_t *e, unsigned off)
{
    return (uint32_t)e[off] | (uint32_t)e[off + 1] << 8 | (uint32_t)e[off + 2] << 16 |
           (uint32_t)e[off + 3] << 24;
}

static void test_script_layout(void)
{
    AcpiConfig c = pc_config(2, 256 * MiB, 0);
    g_autoptr(Built) b = built_new(&c);
    const GByteArray *s = b->t.loader;
    g_assert_cmpuint(s->len % 4096, ==, 0);
    g_assert_cmpuint(s->len % LINKER_ENTRY_SIZE, ==, 0);

    const uint8_t *e0 = s->data;
    g_assert_cmpuint(entry_u32(e0, 0), ==, 1);
    g_assert_cmpstr((const char *)e0 + 4, ==, "etc/acpi/tables");
    g_assert_cmpuint(entry_u32(e0, 60), ==, 64);
    g_assert_cmpuint(e0[64], ==, 1); /* HIGH */
    const uint8_t *e1 = s->data + 128;
    g_assert_cmpuint(entry_u32(e1, 0), ==, 1);
    g_assert_cmpstr((const char *)e1 + 4, ==, "etc/acpi/rsdp");
    g_assert_cmpuint(entry_u32(e1, 60), ==, 16);
    g_assert_cmpuint(e1[64], ==, 2); /* FSEG */

    unsigned pointers = 0, checksums = 0, padding = 0;
    bool seen_other = false;
    for (guint off = 0; off < s->len; off += 128) {
        const uint8_t *e = s->data + off;
        uint32_t cmd = entry_u32(e, 0);
        switch (cmd) {
        case 0: {
            static const uint8_t zero[128];
            g_assert_cmpmem(e, 128, zero, 128);
            padding++;
            break;
        }
        case 1:
            g_assert_false(seen_other); /* ALLOCATEs first */
            g_assert_cmpuint(padding, ==, 0);
            break;
        case 2:
            seen_other = true;
            g_assert_cmpuint(padding, ==, 0);
            pointers++;
            g_assert_true(e[120] == 4 || e[120] == 8);
            g_assert_cmpstr((const char *)e + 60, ==, "etc/acpi/tables");
            break;
        case 3:
            seen_other = true;
            g_assert_cmpuint(padding, ==, 0);
            checksums++;
            break;
        default:
            g_assert_not_reached();
        }
    }
    /* FADT: 3 (FACS 32-bit only, DSDT both); RSDT and XSDT: 3 each; RSDP: 2. */
    g_assert_cmpuint(pointers, ==, 11);
    /* Every table but the FACS, and the RSDP's two. */
    g_assert_cmpuint(checksums, ==, b->t.refs->len - 1 + 2);

    /* Each table's checksum command covers exactly it. */
    for (guint i = 0; i < b->t.refs->len; i++) {
        const AcpiTableRef *ref = &g_array_index(b->t.refs, AcpiTableRef, i);
        if (strcmp(ref->signature, "FACS") == 0)
            continue;
        bool found = false;
        for (guint off = 0; off < s->len; off += 128) {
            const uint8_t *e = s->data + off;
            if (entry_u32(e, 0) == 3 && strcmp((const char *)e + 4, "etc/acpi/tables") == 0 &&
                entry_u32(e, 64) == ref->offset) {
                g_assert_cmpuint(entry_u32(e, 68), ==, ref->length);
                g_assert_cmpuint(entry_u32(e, 60), ==, ref->offset + 9);
                found = true;
            }
        }
        g_assert_true(found);
    }
}

static void test_blob_order(void)
{
    AcpiConfig c = pc_config(2, 256 * MiB, 0);
    g_autoptr(Built) b = built_new(&c);
    static const char *const order[] = { "FACS", "DSDT", "FACP", "APIC", "SRAT", "RSDT", "XSDT" };
    g_assert_cmpuint(b->t.refs->len, ==, G_N_ELEMENTS(order));
    uint32_t next = 0;
    for (guint i = 0; i < b->t.refs->len; i++) {
        const AcpiTableRef *ref = &g_array_index(b->t.refs, AcpiTableRef, i);
        g_assert_cmpstr(ref->signature, ==, order[i]);
        g_assert_cmpuint(ref->offset, ==, next);
        next = ref->offset + ref->length;
    }
    g_assert_cmpuint(next, ==, b->t.tables->len);
    g_assert_cmpuint(b->t.rsdp->len, ==, 36);
}

/* ---- installed tables ---- */

static void test_installed_checksums_and_pointers(void)
{
    AcpiConfig c = pc_config(2, 256 * MiB, 0);
    g_autoptr(Built) b = built_new(&c);
    g_autoptr(GuestRam) m = machine_new();
    install(m, b);

    g_assert_true(memcmp(guest_ram_ptr(m, RSDP_ADDR, 8), "RSD PTR ", 8) == 0);
    g_assert_cmpuint(rd(m, RSDP_ADDR + 15, 1), ==, 2);
    g_assert_cmpuint(rd(m, RSDP_ADDR + 20, 4), ==, 36);
    g_assert_cmpuint(sum(m, RSDP_ADDR, 20), ==, 0);
    g_assert_cmpuint(sum(m, RSDP_ADDR, 36), ==, 0);

    /* Every table in the blob: installed where the refs say, summing to 0. */
    for (guint i = 0; i < b->t.refs->len; i++) {
        const AcpiTableRef *ref = &g_array_index(b->t.refs, AcpiTableRef, i);
        uint64_t gpa = TABLES_ADDR + ref->offset;
        g_assert_true(has_signature(m, gpa, ref->signature));
        g_assert_cmpuint(rd(m, gpa + 4, 4), ==, ref->length);
        if (strcmp(ref->signature, "FACS") != 0) {
            g_assert_cmpuint(sum(m, gpa, ref->length), ==, 0);
            g_assert_true(memcmp(guest_ram_ptr(m, gpa + 10, 6), "FERRY ", 6) == 0);
            g_assert_true(memcmp(guest_ram_ptr(m, gpa + 16, 8), "FERRYPC ", 8) == 0);
            g_assert_true(memcmp(guest_ram_ptr(m, gpa + 28, 4), "FRRY", 4) == 0);
        }
    }

    uint64_t rsdt = rd(m, RSDP_ADDR + 16, 4);
    uint64_t xsdt = rd(m, RSDP_ADDR + 24, 8);
    g_assert_true(has_signature(m, rsdt, "RSDT"));
    g_assert_true(has_signature(m, xsdt, "XSDT"));
    unsigned n = (unsigned)(rd(m, rsdt + 4, 4) - 36) / 4;
    g_assert_cmpuint(n, ==, 3);
    g_assert_cmpuint((rd(m, xsdt + 4, 4) - 36) / 8, ==, n);
    static const char *const listed[] = { "FACP", "APIC", "SRAT" };
    for (unsigned i = 0; i < n; i++) {
        uint64_t p32 = rd(m, rsdt + 36 + 4 * i, 4);
        uint64_t p64 = rd(m, xsdt + 36 + 8 * i, 8);
        g_assert_cmphex(p32, ==, p64);
        g_assert_true(has_signature(m, p32, listed[i]));
    }

    uint64_t fadt = find_table(m, "FACP");
    g_assert_cmpuint(rd(m, fadt + 4, 4), ==, 244);
    g_assert_cmpuint(rd(m, fadt + 8, 1), ==, 3);
    uint64_t facs = rd(m, fadt + 36, 4);
    uint64_t dsdt = rd(m, fadt + 40, 4);
    g_assert_cmphex(rd(m, fadt + 132, 8), ==, 0); /* X_FIRMWARE_CTRL: FIRMWARE_CTRL has it */
    g_assert_cmphex(rd(m, fadt + 140, 8), ==, dsdt);
    g_assert_true(has_signature(m, facs, "FACS"));
    g_assert_cmpuint(facs % 64, ==, 0);
    g_assert_true(has_signature(m, dsdt, "DSDT"));
    g_assert_cmpuint(sum(m, dsdt, rd(m, dsdt + 4, 4)), ==, 0);

    /* FADT contents from the config. */
    g_assert_cmpuint(rd(m, fadt + 46, 2), ==, 9); /* SCI_INT */
    g_assert_cmpuint(rd(m, fadt + 48, 4), ==, 0); /* SMI_CMD */
    g_assert_cmphex(rd(m, fadt + 56, 4), ==, 0x600);
    g_assert_cmphex(rd(m, fadt + 64, 4), ==, 0x604);
    g_assert_cmphex(rd(m, fadt + 76, 4), ==, 0x608);
    g_assert_cmphex(rd(m, fadt + 80, 4), ==, 0xafe0);
    g_assert_cmphex(rd(m, fadt + 112, 4) & (1u << 10), !=, 0); /* RESET_REG_SUP */
    g_assert_cmpuint(rd(m, fadt + 116, 1), ==, 1); /* reset register: I/O */
    g_assert_cmphex(rd(m, fadt + 120, 8), ==, 0xcf9);
    g_assert_cmphex(rd(m, fadt + 128, 1), ==, 0x06);
    g_assert_cmphex(rd(m, fadt + 152, 8), ==, 0x600); /* X_PM1a_EVT_BLK address */
    g_assert_cmphex(rd(m, fadt + 224, 8), ==, 0xafe0); /* X_GPE0_BLK address */
}

typedef struct MadtCounts {
    unsigned lapic, ioapic, override, nmi;
} MadtCounts;

static MadtCounts count_madt(GuestRam *m, unsigned cpus)
{
    uint64_t madt = find_table(m, "APIC");
    g_assert_cmphex(madt, !=, 0);
    g_assert_cmphex(rd(m, madt + 36, 4), ==, 0xfee00000);
    g_assert_cmphex(rd(m, madt + 40, 4), ==, 1);
    uint64_t end = madt + rd(m, madt + 4, 4);
    MadtCounts n = { 0 };
    uint64_t e = madt + 44;
    while (e < end) {
        unsigned type = (unsigned)rd(m, e, 1), len = (unsigned)rd(m, e + 1, 1);
        g_assert_cmpuint(len, >=, 2);
        switch (type) {
        case 0:
            g_assert_cmpuint(len, ==, 8);
            g_assert_cmpuint(rd(m, e + 2, 1), ==, n.lapic); /* UID */
            g_assert_cmpuint(rd(m, e + 3, 1), ==, n.lapic); /* APIC ID */
            g_assert_cmpuint(rd(m, e + 4, 4), ==, 1);
            n.lapic++;
            break;
        case 1:
            g_assert_cmpuint(len, ==, 12);
            g_assert_cmphex(rd(m, e + 4, 4), ==, 0xfec00000);
            g_assert_cmpuint(rd(m, e + 8, 4), ==, 0);
            n.ioapic++;
            break;
        case 2:
            g_assert_cmpuint(len, ==, 10);
            if (rd(m, e + 3, 1) == 0) {
                g_assert_cmpuint(rd(m, e + 4, 4), ==, 2);
                g_assert_cmpuint(rd(m, e + 8, 2), ==, 0);
            } else {
                g_assert_cmpuint(rd(m, e + 3, 1), ==, 9);
                g_assert_cmpuint(rd(m, e + 4, 4), ==, 9);
                g_assert_cmphex(rd(m, e + 8, 2), ==, 0x000d);
            }
            n.override++;
            break;
        case 4:
            g_assert_cmpuint(len, ==, 6);
            g_assert_cmpuint(rd(m, e + 5, 1), ==, 1); /* LINT1 */
            n.nmi++;
            break;
        default:
            g_assert_not_reached();
        }
        e += len;
    }
    g_assert_cmphex(e, ==, end);
    g_assert_cmpuint(n.lapic, ==, cpus);
    return n;
}

static void test_madt_counts(void)
{
    static const unsigned cpu_counts[] = { 1, 2, 255 };
    for (unsigned i = 0; i < G_N_ELEMENTS(cpu_counts); i++) {
        AcpiConfig c = pc_config(cpu_counts[i], 256 * MiB, 0);
        g_autoptr(Built) b = built_new(&c);
        g_autoptr(GuestRam) m = machine_new();
        install(m, b);
        MadtCounts n = count_madt(m, cpu_counts[i]);
        g_assert_cmpuint(n.ioapic, ==, 1);
        g_assert_cmpuint(n.override, ==, 2);
        g_assert_cmpuint(n.nmi, ==, 1);
    }
}

typedef struct SratMem {
    uint64_t base, length;
    uint32_t flags;
} SratMem;

/* Memory affinity entries of the installed SRAT; checks the CPU entries. */
static GArray *srat_memory(GuestRam *m, unsigned cpus)
{
    uint64_t srat = find_table(m, "SRAT");
    g_assert_cmphex(srat, !=, 0);
    uint64_t end = srat + rd(m, srat + 4, 4);
    GArray *mem = g_array_new(FALSE, FALSE, sizeof(SratMem));
    unsigned cpu_entries = 0;
    for (uint64_t e = srat + 48; e < end; e += rd(m, e + 1, 1)) {
        if (rd(m, e, 1) == 0) {
            g_assert_cmpuint(rd(m, e + 1, 1), ==, 16);
            g_assert_cmpuint(rd(m, e + 3, 1), ==, cpu_entries);
            g_assert_cmpuint(rd(m, e + 4, 4), ==, 1);
            cpu_entries++;
        } else {
            g_assert_cmpuint(rd(m, e, 1), ==, 1);
            g_assert_cmpuint(rd(m, e + 1, 1), ==, 40);
            g_assert_cmpuint(rd(m, e + 2, 4), ==, 0); /* node 0 */
            SratMem r = { rd(m, e + 8, 8), rd(m, e + 16, 8), (uint32_t)rd(m, e + 28, 4) };
            g_array_append_val(mem, r);
        }
    }
    g_assert_cmpuint(cpu_entries, ==, cpus);
    return mem;
}

static void assert_srat_mem(GArray *mem, guint i, uint64_t base, uint64_t length)
{
    g_assert_cmpuint(i, <, mem->len);
    SratMem *r = &g_array_index(mem, SratMem, i);
    g_assert_cmphex(r->base, ==, base);
    g_assert_cmphex(r->length, ==, length);
    g_assert_cmphex(r->flags, ==, 1); /* enabled, not hotpluggable */
}

static void test_srat_256m(void)
{
    AcpiConfig c = pc_config(2, 256 * MiB, 0);
    g_autoptr(Built) b = built_new(&c);
    g_autoptr(GuestRam) m = machine_new();
    install(m, b);
    g_autoptr(GArray) mem = srat_memory(m, 2);
    g_assert_cmpuint(mem->len, ==, 2);
    assert_srat_mem(mem, 0, 0, 640 * KiB);
    assert_srat_mem(mem, 1, 1 * MiB, 255 * MiB);
}

static void test_srat_4g(void)
{
    /* --memory 4G: 3 GiB below the hole, 1 GiB at 4 GiB. */
    AcpiConfig c = pc_config(4, 3 * GiB, 1 * GiB);
    g_autoptr(Built) b = built_new(&c);
    g_autoptr(GuestRam) m = machine_new();
    install(m, b);
    g_autoptr(GArray) mem = srat_memory(m, 4);
    g_assert_cmpuint(mem->len, ==, 3);
    assert_srat_mem(mem, 0, 0, 640 * KiB);
    assert_srat_mem(mem, 1, 1 * MiB, 3 * GiB - 1 * MiB);
    assert_srat_mem(mem, 2, 4 * GiB, 1 * GiB);
}

static void test_255_cpus_fit_below_1m(void)
{
    AcpiConfig c = pc_config(255, 3 * GiB, 61 * GiB);
    g_autoptr(Built) b = built_new(&c);
    g_assert_cmpuint(b->t.tables->len, <=, ACPI_DIRECT_BOOT_TABLES_MAX);
    g_test_message("255 vCPUs: tables %u bytes, loader %u bytes", b->t.tables->len,
                   b->t.loader->len);
    g_autoptr(GuestRam) m = machine_new();
    install(m, b);
    uint64_t dsdt = rd(m, find_table(m, "FACP") + 40, 4);
    g_assert_cmpuint(sum(m, dsdt, rd(m, dsdt + 4, 4)), ==, 0);
}

/* Running the script twice gives the same bytes: ADD_CHECKSUM does not
 * depend on what the checksum field held. */
static void test_rebuild_is_identical(void)
{
    AcpiConfig c = pc_config(2, 256 * MiB, 0);
    g_autoptr(Built) b = built_new(&c);
    g_autoptr(GuestRam) m = machine_new();
    install(m, b);
    g_autofree uint8_t *first = g_memdup2(guest_ram_ptr(m, TABLES_ADDR, b->t.tables->len),
                                          b->t.tables->len);
    acpi_build(&c, &b->t);
    install(m, b);
    g_assert_cmpmem(first, b->t.tables->len, guest_ram_ptr(m, TABLES_ADDR, b->t.tables->len),
                    b->t.tables->len);
}

/* ---- loader errors ---- */

static void expect_run_error(const AcpiTables *t, GuestRam *m, uint64_t tables_addr,
                             uint64_t rsdp_addr, const char *pattern)
{
    g_autoptr(GError) err = NULL;
    g_assert_false(acpi_loader_run(t, m->as, tables_addr, rsdp_addr, &err));
    g_assert_nonnull(err);
    if (!g_pattern_match_simple(pattern, err->message))
        g_error("error \"%s\" does not match \"%s\"", err->message, pattern);
}

static void test_loader_bad_addresses(void)
{
    AcpiConfig c = pc_config(2, 256 * MiB, 0);
    g_autoptr(Built) b = built_new(&c);
    g_autoptr(GuestRam) m = machine_new();
    expect_run_error(&b->t, m, 64 * MiB, RSDP_ADDR, "*not inside guest RAM*");
    expect_run_error(&b->t, m, GUEST_RAM - 64, RSDP_ADDR, "*not inside guest RAM*");
    expect_run_error(&b->t, m, UINT64_MAX - 63, RSDP_ADDR, "*not inside guest RAM*");
    expect_run_error(&b->t, m, TABLES_ADDR, GUEST_RAM, "*not inside guest RAM*");
    expect_run_error(&b->t, m, TABLES_ADDR + 4, RSDP_ADDR, "*alignment 64*");
    expect_run_error(&b->t, m, TABLES_ADDR, 0x1000, "*outside zone 2*");
    expect_run_error(&b->t, m, RSDP_ADDR, RSDP_ADDR, "*overlap*");
}

/* A copy of the built tables whose script we may damage. */
static AcpiTables copy_tables(const AcpiTables *t)
{
    AcpiTables c;
    acpi_tables_init(&c);
    g_byte_array_append(c.tables, t->tables->data, t->tables->len);
    g_byte_array_append(c.rsdp, t->rsdp->data, t->rsdp->len);
    g_byte_array_append(c.loader, t->loader->data, t->loader->len);
    return c;
}

static uint8_t *find_entry(AcpiTables *t, uint32_t cmd)
{
    for (guint off = 0; off < t->loader->len; off += 128)
        if (entry_u32(t->loader->data + off, 0) == cmd)
            return t->loader->data + off;
    g_assert_not_reached();
}

static void put32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

typedef void (*Damage)(AcpiTables *t);

static void damage_pointer_offset(AcpiTables *t)
{
    put32(find_entry(t, 2) + 116, t->tables->len - 2);
}
static void damage_pointer_offset_wrap(AcpiTables *t) { put32(find_entry(t, 2) + 116, 0xfffffffc); }
static void damage_pointer_size(AcpiTables *t) { find_entry(t, 2)[120] = 3; }
static void damage_checksum_length(AcpiTables *t) { put32(find_entry(t, 3) + 68, 0xffffffff); }
static void damage_checksum_start(AcpiTables *t)
{
    uint8_t *e = find_entry(t, 3);
    put32(e + 64, 0xffffffff);
    put32(e + 68, 2);
}
static void damage_checksum_result(AcpiTables *t) { put32(find_entry(t, 3) + 60, t->tables->len); }
static void damage_unknown_command(AcpiTables *t) { put32(find_entry(t, 3), 4); }
static void damage_unknown_file(AcpiTables *t)
{
    strcpy((char *)find_entry(t, 2) + 60, "etc/nope");
}
static void damage_unterminated_name(AcpiTables *t) { memset(find_entry(t, 3) + 4, 'x', 56); }
static void damage_double_allocate(AcpiTables *t)
{
    memcpy(t->loader->data + 128, t->loader->data, 128);
}
static void damage_truncate(AcpiTables *t) { g_byte_array_set_size(t->loader, t->loader->len - 1); }
static void damage_pointee_outside(AcpiTables *t)
{
    /* The RSDT pointer field now says "offset 0x7fffffff in the tables". */
    put32(t->rsdp->data + 16, 0x7fffffff);
}
static void damage_use_before_allocate(AcpiTables *t)
{
    /* Swap the ALLOCATE of the tables with the first pointer command. */
    uint8_t tmp[128];
    uint8_t *alloc = t->loader->data;
    uint8_t *other = find_entry(t, 2);
    memcpy(tmp, alloc, 128);
    memcpy(alloc, other, 128);
    memcpy(other, tmp, 128);
}

static void test_loader_bad_scripts(void)
{
    static const struct {
        Damage damage;
        const char *pattern;
    } cases[] = {
        { damage_pointer_offset, "*pointer at etc/acpi/tables+* is outside the file*" },
        { damage_pointer_offset_wrap, "*is outside the file*" },
        { damage_pointer_size, "*pointer size 3*" },
        { damage_checksum_length, "*checksum of etc/acpi/tables*outside the file*" },
        { damage_checksum_start, "*checksum of etc/acpi/tables*outside the file*" },
        { damage_checksum_result, "*checksum of etc/acpi/tables*outside the file*" },
        { damage_unknown_command, "*unknown command 4*" },
        { damage_unknown_file, "*unknown file \"etc/nope\"*" },
        { damage_unterminated_name, "*not terminated*" },
        { damage_double_allocate, "*allocated twice*" },
        { damage_truncate, "*not a whole number of entries*" },
        { damage_pointee_outside, "*pointer to etc/acpi/tables+2147483647 is outside*" },
        { damage_use_before_allocate, "*used before ALLOCATE*" },
    };
    AcpiConfig c = pc_config(2, 256 * MiB, 0);
    g_autoptr(Built) b = built_new(&c);
    g_autoptr(GuestRam) m = machine_new();
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        AcpiTables t = copy_tables(&b->t);
        cases[i].damage(&t);
        expect_run_error(&t, m, TABLES_ADDR, RSDP_ADDR, cases[i].pattern);
        acpi_tables_clear(&t);
    }
}

/* ---- dump and the golden DSDT ---- */


static void test_dump_and_golden_dsdt(void)
{
    AcpiConfig c = pc_config(2, 256 * MiB, 0);
    g_autoptr(Built) b = built_new(&c);
    g_autoptr(GError) err = NULL;
    g_autofree char *tmp = g_dir_make_tmp("ferry-acpi-XXXXXX", &err);
    g_assert_no_error(err);
    g_autofree char *dir = g_build_filename(tmp, "tables", NULL);
    g_assert_true(acpi_dump(&b->t, dir, &err));
    g_assert_no_error(err);

    static const char *const names[] = { "RSDP", "FACS", "DSDT", "FACP", "APIC", "SRAT", "RSDT",
                                         "XSDT" };
    for (unsigned i = 0; i < G_N_ELEMENTS(names); i++) {
        g_autofree char *path = g_strdup_printf("%s/%s.dat", dir, names[i]);
        g_autofree char *data = NULL;
        gsize len;
        g_assert_true(g_file_get_contents(path, &data, &len, NULL));
        const char *magic = i == 0 ? "RSD PTR " : names[i];
        g_assert_cmpuint(len, >=, strlen(magic));
        g_assert_cmpmem(data, strlen(magic), magic, strlen(magic));
        if (i > 1) { /* a table with a checksum */
            uint8_t s = 0;
            for (gsize k = 0; k < len; k++)
                s = (uint8_t)(s + (uint8_t)data[k]);
            g_assert_cmpuint(s, ==, 0);
        }
    }

    g_autofree char *iasl = g_find_program_in_path("iasl");
    g_autofree char *golden = acpi_golden_path("DSDT.dsl");
    g_autofree char *expected = NULL;
    if (!iasl) {
        g_test_skip("iasl not installed (apt-get install acpica-tools)");
    } else if (!g_file_get_contents(golden, &expected, NULL, NULL)) {
        g_test_skip("golden DSDT not found next to the sources");
    } else {
        const char *argv[] = { iasl, "-d", "DSDT.dat", NULL };
        g_autofree char *out = NULL;
        int status;
        g_assert_true(g_spawn_sync(dir, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                                   NULL, &out, NULL, &status, &err));
        g_assert_no_error(err);
        g_assert_true(g_spawn_check_wait_status(status, NULL));
        g_autofree char *dsl_path = g_build_filename(dir, "DSDT.dsl", NULL);
        g_autofree char *dsl = NULL;
        g_assert_true(g_file_get_contents(dsl_path, &dsl, NULL, NULL));
        /* On a mismatch, regenerate: tests/integration/acpi_check.py --update-golden. */
        g_assert_cmpstr(dsl_without_header(dsl), ==, dsl_without_header(expected));
    }

    /* Clean up what we and iasl wrote. */
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    for (const char *name; d && (name = g_dir_read_name(d));) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_unlink(path);
    }
    g_rmdir(dir);
    g_rmdir(tmp);
}

static void test_dump_unwritable_dir(void)
{
    AcpiConfig c = pc_config(1, 64 * MiB, 0);
    g_autoptr(Built) b = built_new(&c);
    g_autoptr(GError) err = NULL;
    g_assert_false(acpi_dump(&b->t, "/proc/ferry-acpi-dump-test", &err));
    g_assert_nonnull(err);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/acpi/script/layout", test_script_layout);
    g_test_add_func("/acpi/blob-order", test_blob_order);
    g_test_add_func("/acpi/install/checksums-pointers", test_installed_checksums_and_pointers);
    g_test_add_func("/acpi/install/rebuild-identical", test_rebuild_is_identical);
    g_test_add_func("/acpi/madt/counts", test_madt_counts);
    g_test_add_func("/acpi/srat/256m", test_srat_256m);
    g_test_add_func("/acpi/srat/4g", test_srat_4g);
    g_test_add_func("/acpi/size/255-cpus", test_255_cpus_fit_below_1m);
    g_test_add_func("/acpi/loader/bad-addresses", test_loader_bad_addresses);
    g_test_add_func("/acpi/loader/bad-scripts", test_loader_bad_scripts);
    g_test_add_func("/acpi/dump/golden-dsdt", test_dump_and_golden_dsdt);
    g_test_add_func("/acpi/dump/unwritable", test_dump_unwritable_dir);
    return g_test_run();
}
