/* The ACPI memory-hotplug controller: its registers as the guest's AML sees
 * them through the port-I/O bus, the GPE it raises in a real PM block, its
 * callbacks, and the AML and SRAT entry it contributes to the tables. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "acpi/acpi_build.h"
#include "hw/acpi_pm.h"
#include "hw/memhp.h"
#include "fixture.h"

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)

#define PM_BASE 0x600
#define GPE0_BASE 0xafe0
#define SLOTS 8
#define BASE MEMHP_IO_BASE

enum {
    R_BASE_LO = BASE + 0x00, /* write: selector */
    R_BASE_HI = BASE + 0x04, /* write: _OST event */
    R_SIZE_LO = BASE + 0x08, /* write: _OST status */
    R_SIZE_HI = BASE + 0x0c,
    R_PXM = BASE + 0x10,
    R_STATUS = BASE + 0x14,
};

#define ST_ENABLED 0x01
#define ST_INSERT 0x02
#define ST_REMOVE 0x04
#define CTL_EJECT 0x08

typedef struct OstReport {
    unsigned slot;
    uint32_t event, status;
} OstReport;

typedef struct Bench {
    IoBus bus;
    AcpiPm *pm;
    Memhp *memhp;
    GArray *ejects; /* unsigned slots */
    GArray *osts; /* OstReport */
    bool clear_on_eject; /* the eject callback calls memhp_slot_cleared itself */
} Bench;

static void no_sci(void *opaque, unsigned gsi, bool level) {}

/* Both callbacks call back into the controller: with its lock still held
 * they would deadlock, so passing proves they run after it is dropped. */
static void on_eject(void *opaque, unsigned slot)
{
    Bench *b = opaque;

    g_assert_false(memhp_slot_enabled(b->memhp, slot));
    g_array_append_val(b->ejects, slot);
    if (b->clear_on_eject)
        memhp_slot_cleared(b->memhp, slot);
}

static void on_ost(void *opaque, unsigned slot, uint32_t event, uint32_t status)
{
    Bench *b = opaque;
    OstReport r = { slot, event, status };
    uint32_t e, s;

    g_assert_true(memhp_slot_ost(b->memhp, slot, &e, &s));
    g_assert_cmphex(e, ==, event);
    g_assert_cmphex(s, ==, status);
    g_array_append_val(b->osts, r);
}

static void bench_init_slots(Bench *b, unsigned slots)
{
    g_autoptr(GError) err = NULL;

    memset(b, 0, sizeof(*b));
    io_bus_init(&b->bus);
    b->pm = acpi_pm_create(b->bus.io, PM_BASE, GPE0_BASE, 5,
                           (IrqLine){ .set_level = no_sci, .gsi = 9 });
    b->memhp = memhp_create(b->bus.io, BASE, slots, b->pm, on_eject, on_ost, b, &err);
    g_assert_no_error(err);
    g_assert_nonnull(b->memhp);
    b->ejects = g_array_new(FALSE, FALSE, sizeof(unsigned));
    b->osts = g_array_new(FALSE, FALSE, sizeof(OstReport));
}

static void bench_init(Bench *b)
{
    bench_init_slots(b, SLOTS);
}

static void bench_destroy(Bench *b)
{
    memhp_free(b->memhp);
    acpi_pm_free(b->pm);
    io_bus_destroy(&b->bus);
    g_array_unref(b->ejects);
    g_array_unref(b->osts);
}

static uint32_t in(Bench *b, uint16_t port, unsigned size)
{
    return io_bus_in(&b->bus, port, size);
}

static void out(Bench *b, uint16_t port, uint32_t v, unsigned size)
{
    io_bus_out(&b->bus, port, v, size);
}

static void select_slot(Bench *b, uint32_t slot)
{
    out(b, R_BASE_LO, slot, 4);
}

static uint32_t status_of(Bench *b, unsigned slot)
{
    select_slot(b, slot);
    return in(b, R_STATUS, 1);
}

static bool gpe3_pending(Bench *b)
{
    return in(b, GPE0_BASE, 1) & (1u << MEMHP_GPE_BIT);
}

static void clear_gpe3(Bench *b)
{
    out(b, GPE0_BASE, 1u << MEMHP_GPE_BIT, 1);
    g_assert_false(gpe3_pending(b));
}

static void plug(Bench *b, unsigned slot, uint64_t addr, uint64_t size, uint32_t node)
{
    g_autoptr(GError) err = NULL;

    g_assert_true(memhp_plug(b->memhp, slot, addr, size, node, &err));
    g_assert_no_error(err);
}

/* ---- registers ---- */

static void test_power_on_state(void)
{
    Bench b;

    bench_init(&b);
    g_assert_cmpuint(memhp_nr_slots(b.memhp), ==, SLOTS);
    for (unsigned i = 0; i < SLOTS; i++) {
        g_assert_cmphex(status_of(&b, i), ==, 0);
        g_assert_cmphex(in(&b, R_BASE_LO, 4), ==, 0);
        g_assert_cmphex(in(&b, R_SIZE_LO, 4), ==, 0);
    }
    g_assert_false(gpe3_pending(&b));
    bench_destroy(&b);
}

static void test_plug_sets_insert_and_raises_gpe(void)
{
    Bench b;

    bench_init(&b);
    plug(&b, 3, 0x123456789000ull, 0x240000000ull, 1);
    g_assert_true(gpe3_pending(&b));
    g_assert_true(memhp_slot_enabled(b.memhp, 3));

    select_slot(&b, 3);
    g_assert_cmphex(in(&b, R_STATUS, 1), ==, ST_ENABLED | ST_INSERT);
    g_assert_cmphex(in(&b, R_BASE_LO, 4), ==, 0x56789000);
    g_assert_cmphex(in(&b, R_BASE_HI, 4), ==, 0x1234);
    g_assert_cmphex(in(&b, R_SIZE_LO, 4), ==, 0x40000000);
    g_assert_cmphex(in(&b, R_SIZE_HI, 4), ==, 0x2);
    g_assert_cmphex(in(&b, R_PXM, 4), ==, 1);
    /* The other slots are untouched. */
    g_assert_cmphex(status_of(&b, 2), ==, 0);
    g_assert_cmphex(in(&b, R_BASE_LO, 4), ==, 0);
    bench_destroy(&b);
}

static void test_guest_clears_insert_then_remove(void)
{
    Bench b;

    bench_init(&b);
    plug(&b, 0, 4 * GiB, 128 * MiB, 0);
    select_slot(&b, 0);
    /* Insert and remove both set: only insert clears (one action a write). */
    out(&b, R_STATUS, ST_INSERT | ST_REMOVE, 1);
    g_assert_cmphex(in(&b, R_STATUS, 1), ==, ST_ENABLED);

    clear_gpe3(&b);
    g_autoptr(GError) err = NULL;
    g_assert_true(memhp_request_unplug(b.memhp, 0, &err));
    g_assert_no_error(err);
    g_assert_true(gpe3_pending(&b));
    g_assert_cmphex(in(&b, R_STATUS, 1), ==, ST_ENABLED | ST_REMOVE);
    /* Remove and eject set: only remove clears, nothing is ejected. */
    out(&b, R_STATUS, ST_REMOVE | CTL_EJECT, 1);
    g_assert_cmphex(in(&b, R_STATUS, 1), ==, ST_ENABLED);
    g_assert_cmpuint(b.ejects->len, ==, 0);
    /* Writing bit 0 (reserved) changes nothing. */
    out(&b, R_STATUS, ST_ENABLED, 1);
    g_assert_cmphex(in(&b, R_STATUS, 1), ==, ST_ENABLED);
    bench_destroy(&b);
}

static void test_eject_calls_back_once_and_empties_slot(void)
{
    Bench b;
    g_autoptr(GError) err = NULL;

    bench_init(&b);
    plug(&b, 5, 5 * GiB, 256 * MiB, 0);
    g_assert_true(memhp_request_unplug(b.memhp, 5, NULL));
    select_slot(&b, 5);
    out(&b, R_STATUS, CTL_EJECT, 1);
    g_assert_cmpuint(b.ejects->len, ==, 1);
    g_assert_cmpuint(g_array_index(b.ejects, unsigned, 0), ==, 5);
    /* _STA right after _EJ0 already says the device is gone. */
    g_assert_cmphex(in(&b, R_STATUS, 1), ==, 0);
    /* A second _EJ0 before the machine is done is ignored. */
    out(&b, R_STATUS, CTL_EJECT, 1);
    g_assert_cmpuint(b.ejects->len, ==, 1);
    /* The slot cannot take a new DIMM until the machine cleared it. */
    g_assert_false(memhp_plug(b.memhp, 5, 6 * GiB, 128 * MiB, 0, &err));
    g_assert_error(err, MEMHP_ERROR, MEMHP_ERROR_BUSY);
    g_assert_nonnull(strstr(err->message, "slot 5 is in use"));
    g_clear_error(&err);

    memhp_slot_cleared(b.memhp, 5);
    g_assert_cmphex(in(&b, R_BASE_LO, 4), ==, 0);
    g_assert_cmphex(in(&b, R_BASE_HI, 4), ==, 0);
    plug(&b, 5, 6 * GiB, 128 * MiB, 0);
    g_assert_cmphex(in(&b, R_STATUS, 1), ==, ST_ENABLED | ST_INSERT);
    g_assert_cmphex(in(&b, R_BASE_HI, 4), ==, 1);
    bench_destroy(&b);
}

static void test_eject_callback_may_clear_the_slot(void)
{
    Bench b;

    bench_init(&b);
    b.clear_on_eject = true;
    plug(&b, 1, 4 * GiB, 128 * MiB, 0);
    select_slot(&b, 1);
    out(&b, R_STATUS, CTL_EJECT, 1); /* the guest may eject without a request */
    g_assert_cmpuint(b.ejects->len, ==, 1);
    plug(&b, 1, 4 * GiB, 128 * MiB, 0);
    bench_destroy(&b);
}

static void test_eject_of_empty_slot_is_ignored(void)
{
    Bench b;

    bench_init(&b);
    select_slot(&b, 2);
    out(&b, R_STATUS, CTL_EJECT, 1);
    out(&b, R_STATUS, 0xff, 1);
    g_assert_cmpuint(b.ejects->len, ==, 0);
    g_assert_cmphex(in(&b, R_STATUS, 1), ==, 0);
    bench_destroy(&b);
}

static void test_ost_reports_event_and_status(void)
{
    Bench b;
    uint32_t event = 0, status = 0;

    bench_init(&b);
    plug(&b, 7, 4 * GiB, 128 * MiB, 0);
    select_slot(&b, 7);
    out(&b, R_BASE_HI, MEMHP_OST_EVENT_INSERT, 4);
    g_assert_cmpuint(b.osts->len, ==, 0); /* the status write completes it */
    out(&b, R_SIZE_LO, 0x80, 4);
    g_assert_cmpuint(b.osts->len, ==, 1);
    OstReport *r = &g_array_index(b.osts, OstReport, 0);
    g_assert_cmpuint(r->slot, ==, 7);
    g_assert_cmphex(r->event, ==, MEMHP_OST_EVENT_INSERT);
    g_assert_cmphex(r->status, ==, 0x80);
    g_assert_true(memhp_slot_ost(b.memhp, 7, &event, &status));
    g_assert_cmphex(event, ==, MEMHP_OST_EVENT_INSERT);
    g_assert_cmphex(status, ==, 0x80);
    /* Reading the same offsets still gives the DIMM's registers. */
    g_assert_cmphex(in(&b, R_BASE_HI, 4), ==, 1);
    g_assert_cmphex(in(&b, R_SIZE_LO, 4), ==, 128 * MiB);
    /* The last _OST outlives the DIMM. */
    memhp_slot_cleared(b.memhp, 7);
    g_assert_true(memhp_slot_ost(b.memhp, 7, &event, &status));
    g_assert_cmphex(status, ==, 0x80);
    g_assert_false(memhp_slot_ost(b.memhp, SLOTS, &event, &status));
    bench_destroy(&b);
}

static void test_selector_out_of_range(void)
{
    static const uint32_t selectors[] = { SLOTS, SLOTS + 1, 255, 256, 0x10000, UINT32_MAX };
    Bench b;

    bench_init(&b);
    for (unsigned i = 0; i < SLOTS; i++)
        plug(&b, i, (4 + i) * GiB, GiB, i);
    for (unsigned k = 0; k < G_N_ELEMENTS(selectors); k++) {
        select_slot(&b, selectors[k]);
        /* Every offset reads 0, the undefined ones too. */
        for (uint16_t off = 0; off < MEMHP_IO_LEN; off++)
            g_assert_cmphex(in(&b, BASE + off, 1), ==, 0);
        g_assert_cmphex(in(&b, R_STATUS, 4), ==, 0);
        /* Writes other than the selector are dropped. */
        out(&b, R_STATUS, CTL_EJECT, 1);
        out(&b, R_STATUS, ST_INSERT, 1);
        out(&b, R_BASE_HI, 1, 4);
        out(&b, R_SIZE_LO, 0, 4);
    }
    g_assert_cmpuint(b.ejects->len, ==, 0);
    g_assert_cmpuint(b.osts->len, ==, 0);
    for (unsigned i = 0; i < SLOTS; i++)
        g_assert_cmphex(status_of(&b, i), ==, ST_ENABLED | ST_INSERT);
    bench_destroy(&b);
}

static void test_undefined_offsets_read_all_ones(void)
{
    Bench b;

    bench_init(&b);
    plug(&b, 0, 4 * GiB, GiB, 0);
    select_slot(&b, 0);
    for (uint16_t off = 0; off < MEMHP_IO_LEN; off++) {
        if (off % 4 == 0)
            continue; /* a register starts here */
        g_assert_cmphex(in(&b, BASE + off, 1), ==, 0xff);
    }
    g_assert_cmphex(in(&b, BASE + 0x02, 2), ==, 0xffff);
    g_assert_cmphex(in(&b, BASE + 0x16, 2), ==, 0xffff);
    /* Writes there are ignored. */
    out(&b, BASE + 0x15, 0xff, 1);
    out(&b, BASE + 0x0c, 0xffffffff, 4);
    out(&b, BASE + 0x10, 0xffffffff, 4);
    g_assert_cmphex(in(&b, R_STATUS, 1), ==, ST_ENABLED | ST_INSERT);
    g_assert_cmphex(in(&b, R_SIZE_HI, 4), ==, 0);
    g_assert_cmphex(in(&b, R_PXM, 4), ==, 0);
    g_assert_cmpuint(b.ejects->len, ==, 0);
    bench_destroy(&b);
}

static void test_access_sizes(void)
{
    Bench b;

    bench_init(&b);
    plug(&b, 2, 0xaabbccdd11223344ull, 0x0102030405060708ull, 0x99);
    /* A 1-byte selector write, then 1/2/4-byte reads truncate the register. */
    out(&b, R_BASE_LO, 2, 1);
    g_assert_cmphex(in(&b, R_BASE_LO, 1), ==, 0x44);
    g_assert_cmphex(in(&b, R_BASE_LO, 2), ==, 0x3344);
    g_assert_cmphex(in(&b, R_BASE_LO, 4), ==, 0x11223344);
    g_assert_cmphex(in(&b, R_BASE_HI, 2), ==, 0xccdd);
    g_assert_cmphex(in(&b, R_SIZE_HI, 1), ==, 0x04);
    g_assert_cmphex(in(&b, R_PXM, 2), ==, 0x99);
    g_assert_cmphex(in(&b, R_STATUS, 2), ==, ST_ENABLED | ST_INSERT);
    g_assert_cmphex(in(&b, R_STATUS, 4), ==, ST_ENABLED | ST_INSERT);
    /* 2- and 4-byte status writes act like the byte write. */
    out(&b, R_STATUS, ST_INSERT, 2);
    g_assert_cmphex(in(&b, R_STATUS, 1), ==, ST_ENABLED);
    /* A 2-byte selector write. */
    out(&b, R_BASE_LO, 0, 2);
    g_assert_cmphex(in(&b, R_STATUS, 1), ==, 0);
    out(&b, R_BASE_LO, 2, 2);
    g_assert_cmphex(in(&b, R_STATUS, 1), ==, ST_ENABLED);
    /* A 1-byte selector write clears the upper bytes too. */
    select_slot(&b, 0x100 + 2);
    g_assert_cmphex(in(&b, R_STATUS, 1), ==, 0);
    out(&b, R_BASE_LO, 2, 1);
    g_assert_cmphex(in(&b, R_STATUS, 1), ==, ST_ENABLED);
    bench_destroy(&b);
}

static void test_zero_slots_ignore_everything(void)
{
    Bench b;
    g_autoptr(GError) err = NULL;

    bench_init_slots(&b, 0);
    for (uint16_t off = 0; off < MEMHP_IO_LEN; off += 4) {
        out(&b, BASE + off, 0xffffffff, 4);
        g_assert_cmphex(in(&b, BASE + off, 4), ==, 0);
    }
    out(&b, R_BASE_LO, 0, 4);
    out(&b, R_STATUS, CTL_EJECT, 1);
    out(&b, R_SIZE_LO, 0, 4);
    g_assert_cmpuint(b.ejects->len, ==, 0);
    g_assert_cmpuint(b.osts->len, ==, 0);
    g_assert_false(memhp_plug(b.memhp, 0, 4 * GiB, GiB, 0, &err));
    g_assert_error(err, MEMHP_ERROR, MEMHP_ERROR_INVALID);
    g_assert_false(gpe3_pending(&b));
    bench_destroy(&b);
}

/* ---- the machine's side ---- */

static void test_api_errors_name_the_slot(void)
{
    Bench b;
    g_autoptr(GError) err = NULL;

    bench_init(&b);
    g_assert_false(memhp_plug(b.memhp, 9, 4 * GiB, GiB, 0, &err));
    g_assert_error(err, MEMHP_ERROR, MEMHP_ERROR_INVALID);
    g_assert_cmpstr(err->message, ==, "memory hotplug: slot 9 is out of range (slots=8)");
    g_clear_error(&err);

    g_assert_false(memhp_request_unplug(b.memhp, 3, &err));
    g_assert_error(err, MEMHP_ERROR, MEMHP_ERROR_EMPTY);
    g_assert_nonnull(strstr(err->message, "slot 3"));
    g_clear_error(&err);
    g_assert_false(memhp_request_unplug(b.memhp, SLOTS, &err));
    g_assert_error(err, MEMHP_ERROR, MEMHP_ERROR_INVALID);
    g_clear_error(&err);
    g_assert_false(gpe3_pending(&b));

    plug(&b, 3, 4 * GiB, GiB, 0);
    g_assert_false(memhp_plug(b.memhp, 3, 5 * GiB, GiB, 0, &err));
    g_assert_error(err, MEMHP_ERROR, MEMHP_ERROR_BUSY);
    g_clear_error(&err);

    g_assert_false(memhp_plug(b.memhp, 4, 4 * GiB, 0, 0, &err));
    g_assert_error(err, MEMHP_ERROR, MEMHP_ERROR_INVALID);
    g_clear_error(&err);
    g_assert_false(memhp_plug(b.memhp, 4, UINT64_MAX - GiB + 2, GiB, 0, &err));
    g_assert_error(err, MEMHP_ERROR, MEMHP_ERROR_INVALID);
    g_clear_error(&err);
    g_assert_true(memhp_plug(b.memhp, 4, UINT64_MAX - GiB + 1, GiB, 0, NULL));

    memhp_slot_cleared(b.memhp, 1000); /* ignored */
    g_assert_false(memhp_slot_enabled(b.memhp, 1000));
    bench_destroy(&b);

    IoBus bus;
    io_bus_init(&bus);
    g_assert_null(memhp_create(bus.io, BASE, MEMHP_MAX_SLOTS + 1, NULL, NULL, NULL, NULL, &err));
    g_assert_error(err, MEMHP_ERROR, MEMHP_ERROR_INVALID);
    g_assert_nonnull(strstr(err->message, "257 slots"));
    g_clear_error(&err);
    /* 256 slots, no PM block and no callbacks: plugging still works. */
    Memhp *m = memhp_create(bus.io, BASE, MEMHP_MAX_SLOTS, NULL, NULL, NULL, NULL, &err);
    g_assert_no_error(err);
    g_assert_true(memhp_plug(m, 255, 4 * GiB, GiB, 0, NULL));
    uint32_t v = 255;
    address_space_write(bus.as, R_BASE_LO, &v, 4);
    v = CTL_EJECT;
    address_space_write(bus.as, R_STATUS, &v, 1);
    g_assert_false(memhp_slot_enabled(m, 255));
    memhp_free(m);
    io_bus_destroy(&bus);
}

static void test_reset_keeps_dimms_drops_insert(void)
{
    Bench b;

    bench_init(&b);
    plug(&b, 0, 4 * GiB, GiB, 0);
    plug(&b, 1, 5 * GiB, GiB, 0);
    select_slot(&b, 1);
    out(&b, R_STATUS, ST_INSERT, 1);
    g_assert_true(memhp_request_unplug(b.memhp, 1, NULL));
    select_slot(&b, 1);
    memhp_reset(b.memhp);
    /* The selector is back at 0. */
    g_assert_cmphex(in(&b, R_STATUS, 1), ==, ST_ENABLED);
    g_assert_cmphex(status_of(&b, 1), ==, ST_ENABLED | ST_REMOVE);
    bench_destroy(&b);
}

/* ---- AML and SRAT ---- */

static AcpiConfig pc_config(Memhp *m)
{
    /* The golden DSDT's PC (tests/acpi/DSDT.dsl) plus 8 slots, with the
     * window the machine computes for --memory 256M,slots=8,maxmem=4G:
     * base 4 GiB, (maxmem - mem) + 1 GiB a slot. */
    return (AcpiConfig){
        .cpus = 2, .ram_below_4g = 256 * MiB, .ram_above_4g = 0,
        .pm_base = PM_BASE, .gpe0_base = GPE0_BASE, .sci_irq = 9,
        .reset_port = 0xcf9, .reset_value = 0x06, .s5_slp_typ = 5,
        .com1_base = 0x3f8, .com1_irq = 4, .fw_cfg_base = 0x510,
        .dsdt_hook = m ? memhp_dsdt_hook : NULL, .dsdt_hook_opaque = m,
        .hotplug_base = m ? 4 * GiB : 0,
        .hotplug_size = m ? (4 * GiB - 256 * MiB) + SLOTS * GiB : 0,
    };
}

static const AcpiTableRef *find_ref(const AcpiTables *t, const char *sig)
{
    for (guint i = 0; i < t->refs->len; i++) {
        const AcpiTableRef *ref = &g_array_index(t->refs, AcpiTableRef, i);
        if (strcmp(ref->signature, sig) == 0)
            return ref;
    }
    g_assert_not_reached();
}

static uint64_t le(const uint8_t *p, unsigned size)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static bool contains(const uint8_t *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return true;
    return false;
}

static void test_srat_hotplug_window(void)
{
    Bench b;
    AcpiTables t;

    bench_init(&b);
    AcpiConfig c = pc_config(b.memhp);
    acpi_tables_init(&t);
    acpi_build(&c, &t);
    const AcpiTableRef *srat = find_ref(&t, "SRAT");
    const uint8_t *p = t.tables->data + srat->offset;
    /* The last entry: a 40-byte memory affinity entry over the window. */
    const uint8_t *e = p + srat->length - 40;
    g_assert_cmpuint(e[0], ==, 1);
    g_assert_cmpuint(e[1], ==, 40);
    g_assert_cmphex(le(e + 2, 4), ==, 0);
    g_assert_cmphex(le(e + 8, 8), ==, 4 * GiB);
    g_assert_cmphex(le(e + 16, 8), ==, 0x2f0000000ull);
    g_assert_cmphex(le(e + 28, 4), ==, 0x3); /* enabled | hot-pluggable */
    uint32_t with_window = srat->length;
    acpi_tables_clear(&t);

    /* Without a window, no such entry: the SRAT is 40 bytes shorter. */
    AcpiConfig plain = pc_config(NULL);
    acpi_tables_init(&t);
    acpi_build(&plain, &t);
    g_assert_cmpuint(find_ref(&t, "SRAT")->length, ==, with_window - 40);
    acpi_tables_clear(&t);
    bench_destroy(&b);
}

static void test_dsdt_names(void)
{
    Bench b;
    AcpiTables t;

    bench_init(&b);
    AcpiConfig c = pc_config(b.memhp);
    acpi_tables_init(&t);
    acpi_build(&c, &t);
    const AcpiTableRef *dsdt = find_ref(&t, "DSDT");
    const uint8_t *p = t.tables->data + dsdt->offset;
    static const char *const names[] = { "MHPD", "MHPC", "MDNR", "MLCK", "HPMR", "MSCN",
                                         "MTFY", "MCRS", "MP00", "MP07", "_E03", "0x07" };
    for (unsigned i = 0; i < G_N_ELEMENTS(names); i++)
        g_assert_true(contains(p, dsdt->length, names[i]));
    g_assert_false(contains(p, dsdt->length, "MP08"));
    acpi_tables_clear(&t);
    bench_destroy(&b);

    /* 0 slots add nothing: the same DSDT as without the hook. */
    bench_init_slots(&b, 0);
    AcpiConfig hooked = pc_config(b.memhp);
    AcpiConfig plain = pc_config(NULL);
    AcpiTables t2;
    acpi_tables_init(&t);
    acpi_tables_init(&t2);
    acpi_build(&hooked, &t);
    acpi_build(&plain, &t2);
    const AcpiTableRef *d1 = find_ref(&t, "DSDT"), *d2 = find_ref(&t2, "DSDT");
    g_assert_cmpmem(t.tables->data + d1->offset, d1->length, t2.tables->data + d2->offset,
                    d2->length);
    acpi_tables_clear(&t);
    acpi_tables_clear(&t2);
    bench_destroy(&b);

    /* 256 slots still fit where direct kernel boot installs the tables. */
    bench_init_slots(&b, MEMHP_MAX_SLOTS);
    AcpiConfig big = pc_config(b.memhp);
    acpi_tables_init(&t);
    acpi_build(&big, &t);
    g_assert_cmpuint(t.tables->len, <=, ACPI_DIRECT_BOOT_TABLES_MAX);
    g_assert_true(contains(t.tables->data, t.tables->len, "MPFF"));
    acpi_tables_clear(&t);
    bench_destroy(&b);
}


static bool has_problem(const char *text)
{
    g_autofree char *lower = g_ascii_strdown(text, -1);
    g_auto(GStrv) lines = g_strsplit(lower, "\n", -1);
    for (char **l = lines; *l; l++) {
        if (strstr(*l, "0 errors") && strstr(*l, "0 warnings"))
            continue;
        if (strstr(*l, "error") || strstr(*l, "warning") || strstr(*l, "ae_"))
            return true;
    }
    return false;
}

/* `iasl -d` of the 8-slot DSDT: clean, and equal to the golden file. */
static void test_dsdt_golden(void)
{
    g_autofree char *iasl = g_find_program_in_path("iasl");
    if (!iasl) {
        g_test_skip("iasl not installed (apt-get install acpica-tools)");
        return;
    }
    Bench b;
    AcpiTables t;
    g_autoptr(GError) err = NULL;

    bench_init(&b);
    AcpiConfig c = pc_config(b.memhp);
    acpi_tables_init(&t);
    acpi_build(&c, &t);
    g_autofree char *tmp = g_dir_make_tmp("ferry-memhp-XXXXXX", &err);
    g_assert_no_error(err);
    g_autofree char *dir = g_build_filename(tmp, "tables", NULL);
    g_assert_true(acpi_dump(&t, dir, &err));
    g_assert_no_error(err);

    const char *argv[] = { iasl, "-d", "DSDT.dat", NULL };
    g_autofree char *out = NULL, *errout = NULL;
    int status;
    g_assert_true(g_spawn_sync(dir, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                               &errout, &status, &err));
    g_assert_no_error(err);
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    if (has_problem(out) || has_problem(errout))
        g_error("iasl -d DSDT.dat:\n%s%s", out, errout);
    g_autofree char *dsl_path = g_build_filename(dir, "DSDT.dsl", NULL);
    g_autofree char *dsl = NULL;
    g_assert_true(g_file_get_contents(dsl_path, &dsl, NULL, NULL));
    g_assert_false(has_problem(dsl_without_header(dsl)));

    g_autofree char *golden = acpi_golden_path("DSDT-memhp8.dsl");
    g_autofree char *expected = NULL;
    if (g_file_get_contents(golden, &expected, NULL, NULL)) {
        /* On a mismatch, regenerate: tests/integration/acpi_check.py
         * --ferry build/ferry --memory 256M,slots=8,maxmem=4G --memhp-slots 8
         * --update-golden */
        g_assert_cmpstr(dsl_without_header(dsl), ==, dsl_without_header(expected));
    } else {
        g_test_skip("golden DSDT-memhp8.dsl not found next to the sources");
    }

    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    for (const char *name; d && (name = g_dir_read_name(d));) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_unlink(path);
    }
    g_rmdir(dir);
    g_rmdir(tmp);
    acpi_tables_clear(&t);
    bench_destroy(&b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/memhp/power-on", test_power_on_state);
    g_test_add_func("/memhp/plug/insert-gpe", test_plug_sets_insert_and_raises_gpe);
    g_test_add_func("/memhp/plug/clear-insert-remove", test_guest_clears_insert_then_remove);
    g_test_add_func("/memhp/eject/once", test_eject_calls_back_once_and_empties_slot);
    g_test_add_func("/memhp/eject/clear-in-callback", test_eject_callback_may_clear_the_slot);
    g_test_add_func("/memhp/eject/empty-slot", test_eject_of_empty_slot_is_ignored);
    g_test_add_func("/memhp/ost", test_ost_reports_event_and_status);
    g_test_add_func("/memhp/selector-out-of-range", test_selector_out_of_range);
    g_test_add_func("/memhp/undefined-offsets", test_undefined_offsets_read_all_ones);
    g_test_add_func("/memhp/access-sizes", test_access_sizes);
    g_test_add_func("/memhp/zero-slots", test_zero_slots_ignore_everything);
    g_test_add_func("/memhp/api-errors", test_api_errors_name_the_slot);
    g_test_add_func("/memhp/reset", test_reset_keeps_dimms_drops_insert);
    g_test_add_func("/memhp/acpi/srat-window", test_srat_hotplug_window);
    g_test_add_func("/memhp/acpi/dsdt-names", test_dsdt_names);
    g_test_add_func("/memhp/acpi/dsdt-golden", test_dsdt_golden);
    return g_test_run();
}
