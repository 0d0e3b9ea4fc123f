/* Device migration sections: each device is driven through its ports to a
 * state other than power-on, saved, loaded into a fresh instance on another
 * I/O bus, and then both are compared through the ports (and by saving the
 * copy again: the bytes must match).  Hostile sections (cut short, too
 * long, out-of-range fields) must fail with a GError and leave the device
 * as it was. */
#include <glib.h>
#include <string.h>

#include "firmware/fw_cfg.h"
#include "hw/acpi_pm.h"
#include "hw/i8042.h"
#include "hw/memhp.h"
#include "hw/reset_control.h"
#include "hw/rtc.h"
#include "hw/serial.h"
#include "fixture.h"

typedef struct FakeIrq {
    bool level;
    unsigned sets;
} FakeIrq;

static void fake_irq_set(void *opaque, unsigned gsi, bool level)
{
    FakeIrq *irq = opaque;

    irq->level = level;
    irq->sets++;
}

static IrqLine fake_irq_line(FakeIrq *irq, unsigned gsi)
{
    return (IrqLine){ .set_level = fake_irq_set, .opaque = irq, .gsi = gsi };
}

static uint8_t inb(IoBus *bus, uint16_t port)
{
    return (uint8_t)io_bus_in(bus, port, 1);
}

static void outb(IoBus *bus, uint16_t port, uint8_t v)
{
    io_bus_out(bus, port, v, 1);
}

/* A copy of `good` with bytes [at, at + n) replaced by `bytes`. */
static GByteArray *patched(const GByteArray *good, size_t at, const void *bytes, size_t n)
{
    GByteArray *b = g_byte_array_sized_new(good->len);

    g_byte_array_append(b, good->data, good->len);
    g_assert_cmpuint(at + n, <=, b->len);
    memcpy(b->data + at, bytes, n);
    return b;
}

typedef bool (*LoadFn)(void *dev, const uint8_t *data, size_t len, uint32_t version,
                       GError **errp);

/* Every prefix of `good`, and `good` plus one byte, must be refused. */
static void assert_truncations_refused(void *dev, LoadFn load, const GByteArray *good,
                                       uint32_t version)
{
    g_autoptr(GByteArray) longer = g_byte_array_new();

    for (size_t n = 0; n < good->len; n++) {
        g_autoptr(GError) err = NULL;
        g_assert_false(load(dev, good->data, n, version, &err));
        g_assert_nonnull(err);
    }
    g_byte_array_append(longer, good->data, good->len);
    g_byte_array_append(longer, (const guint8 *)"x", 1);
    g_autoptr(GError) err = NULL;
    g_assert_false(load(dev, longer->data, longer->len, version, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    g_assert_false(load(dev, good->data, good->len, version + 1, &err));
    g_assert_nonnull(err);
}

static void assert_refused(void *dev, LoadFn load, const GByteArray *bad, uint32_t version,
                           const char *expect)
{
    g_autoptr(GError) err = NULL;

    g_assert_false(load(dev, bad->data, bad->len, version, &err));
    g_assert_nonnull(err);
    if (expect && !strstr(err->message, expect))
        g_error("error \"%s\" does not mention \"%s\"", err->message, expect);
}

/* ---- serial ----------------------------------------------------------- */

#define COM1 0x3f8

static void serial_drive(IoBus *bus, Serial *s)
{
    uint8_t rx[4100];

    outb(bus, COM1 + 3, 0x80); /* DLAB */
    outb(bus, COM1 + 0, 0x03);
    outb(bus, COM1 + 1, 0x01);
    outb(bus, COM1 + 3, 0x1b); /* 8E1 */
    outb(bus, COM1 + 2, 0x01 | 0x40); /* FIFO, trigger 4 */
    outb(bus, COM1 + 4, 0x0b); /* DTR, RTS, OUT2 */
    outb(bus, COM1 + 7, 0x5a);
    outb(bus, COM1 + 1, 0x0f); /* every interrupt */
    for (size_t i = 0; i < sizeof(rx); i++)
        rx[i] = (uint8_t)(i * 7 + 1);
    serial_receive(s, rx, sizeof(rx)); /* 4 more than the backlog: overrun */
    g_assert_cmpuint(inb(bus, COM1 + 0), ==, 1); /* one byte out of the FIFO */
}

static void test_serial_round_trip(void)
{
    IoBus a, b;
    FakeIrq irq_a = { 0 }, irq_b = { 0 };
    g_autoptr(GByteArray) saved = g_byte_array_new();
    g_autoptr(GByteArray) again = g_byte_array_new();
    g_autoptr(GError) err = NULL;

    io_bus_init(&a);
    io_bus_init(&b);
    Serial *src = serial_create(a.io, COM1, fake_irq_line(&irq_a, 4), NULL);
    Serial *dst = serial_create(b.io, COM1, fake_irq_line(&irq_b, 4), NULL);
    serial_drive(&a, src);
    g_assert_true(irq_a.level);

    serial_state_save(src, saved);
    g_assert_cmpuint(saved->len, ==, 12 + 4095);
    g_assert_false(irq_b.level);
    g_assert_true(serial_state_load(dst, saved->data, saved->len, SERIAL_STATE_VERSION, &err));
    g_assert_no_error(err);
    g_assert_true(irq_b.level); /* driven by the load */
    serial_state_save(dst, again);
    g_assert_cmpmem(again->data, again->len, saved->data, saved->len);

    /* The same reads give the same answers, side effects included. */
    static const uint16_t regs[] = { 2, 3, 4, 7, 6, 6, 5, 5, 2, 1 };
    for (size_t i = 0; i < G_N_ELEMENTS(regs); i++)
        g_assert_cmpuint(inb(&b, COM1 + regs[i]), ==, inb(&a, COM1 + regs[i]));
    outb(&a, COM1 + 3, 0x9b);
    outb(&b, COM1 + 3, 0x9b);
    g_assert_cmpuint(inb(&b, COM1 + 0), ==, 0x03);
    g_assert_cmpuint(inb(&b, COM1 + 1), ==, 0x01);
    outb(&a, COM1 + 3, 0x1b);
    outb(&b, COM1 + 3, 0x1b);
    /* The whole receive backlog, in order. */
    for (unsigned i = 1; i < 4096; i++) {
        uint8_t got = inb(&b, COM1 + 0);
        g_assert_cmpuint(got, ==, inb(&a, COM1 + 0));
        g_assert_cmpuint(got, ==, (uint8_t)(i * 7 + 1));
    }
    g_assert_cmpuint(inb(&b, COM1 + 5) & 0x01, ==, 0); /* empty now */
    g_assert_cmpuint(irq_b.level, ==, irq_a.level);

    serial_free(src);
    serial_free(dst);
    io_bus_destroy(&a);
    io_bus_destroy(&b);
}

static bool serial_load_fn(void *dev, const uint8_t *d, size_t n, uint32_t v, GError **e)
{
    return serial_state_load(dev, d, n, v, e);
}

static void test_serial_hostile(void)
{
    IoBus a, b;
    FakeIrq irq_a = { 0 }, irq_b = { 0 };
    g_autoptr(GByteArray) good = g_byte_array_new();
    g_autoptr(GByteArray) before = g_byte_array_new();
    g_autoptr(GByteArray) after = g_byte_array_new();
    uint8_t rx[3] = { 'a', 'b', 'c' };

    io_bus_init(&a);
    io_bus_init(&b);
    Serial *src = serial_create(a.io, COM1, fake_irq_line(&irq_a, 4), NULL);
    Serial *dst = serial_create(b.io, COM1, fake_irq_line(&irq_b, 4), NULL);
    outb(&a, COM1 + 1, 0x01);
    serial_receive(src, rx, sizeof(rx));
    serial_state_save(src, good);
    outb(&b, COM1 + 7, 0x77);
    serial_state_save(dst, before);

    assert_truncations_refused(dst, serial_load_fn, good, SERIAL_STATE_VERSION);
    static const struct {
        size_t at;
        uint8_t bytes[2];
        size_t n;
        const char *expect;
    } cases[] = {
        { 0, { 0x10 }, 1, "IER" },
        { 2, { 0x20 }, 1, "MCR" },
        { 3, { 0x02 }, 1, "FCR" },
        { 7, { 0x00 }, 1, "MSR" },
        { 8, { 0x08 }, 1, "flags" },
        { 8, { 0x00 }, 1, "IRQ" },
        { 10, { 0x01, 0x10 }, 2, "backlog" }, /* 4097 bytes */
        { 10, { 0x05, 0x00 }, 2, "received" }, /* says 5, holds 3 */
        { 10, { 0x02, 0x00 }, 2, "received" }, /* says 2, holds 3 */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GByteArray) bad = patched(good, cases[i].at, cases[i].bytes, cases[i].n);
        assert_refused(dst, serial_load_fn, bad, SERIAL_STATE_VERSION, cases[i].expect);
    }
    serial_state_save(dst, after);
    g_assert_cmpmem(after->data, after->len, before->data, before->len);
    g_assert_false(irq_b.level);

    serial_free(src);
    serial_free(dst);
    io_bus_destroy(&a);
    io_bus_destroy(&b);
}

/* ---- RTC -------------------------------------------------------------- */

static uint8_t cmos_read(IoBus *bus, uint8_t index)
{
    outb(bus, 0x70, index);
    return inb(bus, 0x71);
}

static void cmos_write(IoBus *bus, uint8_t index, uint8_t value)
{
    outb(bus, 0x70, index);
    outb(bus, 0x71, value);
}

static bool rtc_load_fn(void *dev, const uint8_t *d, size_t n, uint32_t v, GError **e)
{
    return rtc_state_load(dev, d, n, v, e);
}

static void test_rtc(void)
{
    IoBus a, b;
    g_autoptr(GByteArray) saved = g_byte_array_new();
    g_autoptr(GByteArray) again = g_byte_array_new();
    g_autoptr(GError) err = NULL;

    io_bus_init(&a);
    io_bus_init(&b);
    Rtc *src = rtc_create(a.io), *dst = rtc_create(b.io);
    cmos_write(&a, 0x0b, 0x06); /* binary, 24 hours */
    cmos_write(&a, 0x09, 77); /* year 77 of this century: moves the clock */
    cmos_write(&a, 0x32, 19);
    cmos_write(&a, 0x40, 0xaa);
    cmos_write(&a, 0x41, 0x55);
    outb(&a, 0x70, 0x41); /* leave the index there */

    rtc_state_save(src, saved);
    g_assert_cmpuint(saved->len, ==, 145);
    g_assert_true(rtc_state_load(dst, saved->data, saved->len, RTC_STATE_VERSION, &err));
    g_assert_no_error(err);
    rtc_state_save(dst, again);
    g_assert_cmpmem(again->data, again->len, saved->data, saved->len);

    g_assert_cmpuint(inb(&b, 0x71), ==, 0x55); /* the index came along */
    g_assert_cmpuint(cmos_read(&b, 0x40), ==, 0xaa);
    g_assert_cmpuint(cmos_read(&b, 0x0b), ==, 0x06);
    g_assert_cmpuint(cmos_read(&b, 0x09), ==, 77);
    g_assert_cmpuint(cmos_read(&b, 0x32), ==, 19);
    /* The clock itself: same time on both (allowing a second's edge). */
    for (int tries = 0;; tries++) {
        uint8_t sa = cmos_read(&a, 0x00), mb = cmos_read(&b, 0x02), sb = cmos_read(&b, 0x00);
        if (sa == sb && mb == cmos_read(&a, 0x02))
            break;
        g_assert_cmpint(tries, <, 3);
    }

    /* Hostile; the state stays as it was. */
    g_autoptr(GByteArray) before = g_byte_array_new();
    rtc_state_save(dst, before);
    assert_truncations_refused(dst, rtc_load_fn, saved, RTC_STATE_VERSION);
    static const uint8_t idx80 = 0x80, uip = 0xa6, set_uie = 0x90;
    g_autoptr(GByteArray) bad_index = patched(saved, 0, &idx80, 1);
    assert_refused(dst, rtc_load_fn, bad_index, RTC_STATE_VERSION, "index");
    g_autoptr(GByteArray) bad_a = patched(saved, 1 + 0x0a, &uip, 1);
    assert_refused(dst, rtc_load_fn, bad_a, RTC_STATE_VERSION, "UIP");
    g_autoptr(GByteArray) bad_b = patched(saved, 1 + 0x0b, &set_uie, 1);
    assert_refused(dst, rtc_load_fn, bad_b, RTC_STATE_VERSION, "SET");
    uint64_t huge = GUINT64_TO_LE((guint64)G_MAXINT64);
    g_autoptr(GByteArray) bad_offset = patched(saved, 129, &huge, 8);
    assert_refused(dst, rtc_load_fn, bad_offset, RTC_STATE_VERSION, "offset");
    g_byte_array_set_size(again, 0);
    rtc_state_save(dst, again);
    g_assert_cmpmem(again->data, again->len, before->data, before->len);

    rtc_free(src);
    rtc_free(dst);
    io_bus_destroy(&a);
    io_bus_destroy(&b);
}

/* ---- i8042 ------------------------------------------------------------ */

static bool i8042_load_fn(void *dev, const uint8_t *d, size_t n, uint32_t v, GError **e)
{
    return i8042_state_load(dev, d, n, v, e);
}

static void test_i8042(void)
{
    IoBus a, b;
    g_autoptr(GByteArray) saved = g_byte_array_new();
    g_autoptr(GByteArray) again = g_byte_array_new();
    g_autoptr(GError) err = NULL;

    io_bus_init(&a);
    io_bus_init(&b);
    I8042 *src = i8042_create(a.io), *dst = i8042_create(b.io);
    outb(&a, 0x64, 0x60); /* write command byte */
    outb(&a, 0x60, 0x25);
    outb(&a, 0x64, 0xd3); /* a byte "from the mouse" */
    outb(&a, 0x60, 0x77);
    outb(&a, 0x64, 0x60); /* and a command still waiting for its data */

    i8042_state_save(src, saved);
    g_assert_cmpuint(saved->len, ==, 5);
    g_assert_true(i8042_state_load(dst, saved->data, saved->len, I8042_STATE_VERSION, &err));
    g_assert_no_error(err);
    i8042_state_save(dst, again);
    g_assert_cmpmem(again->data, again->len, saved->data, saved->len);

    g_assert_cmpuint(inb(&b, 0x64), ==, inb(&a, 0x64));
    g_assert_cmpuint(inb(&b, 0x64) & 0x29, ==, 0x29); /* OBF, AUX OBF, CMD */
    g_assert_cmpuint(inb(&b, 0x60), ==, 0x77);
    outb(&b, 0x60, 0x11); /* completes the pending 0x60 */
    outb(&b, 0x64, 0x20);
    g_assert_cmpuint(inb(&b, 0x60), ==, 0x11);

    assert_truncations_refused(dst, i8042_load_fn, saved, I8042_STATE_VERSION);
    static const uint8_t no_a20 = 0x01, bad_cmd = 0x99, bad_flags = 0x80;
    g_autoptr(GByteArray) b1 = patched(saved, 1, &no_a20, 1);
    assert_refused(dst, i8042_load_fn, b1, I8042_STATE_VERSION, "output port");
    g_autoptr(GByteArray) b2 = patched(saved, 2, &bad_cmd, 1);
    assert_refused(dst, i8042_load_fn, b2, I8042_STATE_VERSION, "pending");
    g_autoptr(GByteArray) b3 = patched(saved, 4, &bad_flags, 1);
    assert_refused(dst, i8042_load_fn, b3, I8042_STATE_VERSION, "flags");

    i8042_free(src);
    i8042_free(dst);
    io_bus_destroy(&a);
    io_bus_destroy(&b);
}

/* ---- ACPI PM ---------------------------------------------------------- */

#define PM_BASE 0x600
#define GPE0_BASE 0xafe0

static bool acpi_pm_load_fn(void *dev, const uint8_t *d, size_t n, uint32_t v, GError **e)
{
    return acpi_pm_state_load(dev, d, n, v, e);
}

static void test_acpi_pm(void)
{
    IoBus a, b;
    FakeIrq sci_a = { 0 }, sci_b = { 0 };
    g_autoptr(GByteArray) saved = g_byte_array_new();
    g_autoptr(GByteArray) again = g_byte_array_new();
    g_autoptr(GError) err = NULL;

    io_bus_init(&a);
    io_bus_init(&b);
    AcpiPm *src = acpi_pm_create(a.io, PM_BASE, GPE0_BASE, 5, fake_irq_line(&sci_a, 9));
    AcpiPm *dst = acpi_pm_create(b.io, PM_BASE, GPE0_BASE, 5, fake_irq_line(&sci_b, 9));
    io_bus_out(&a, PM_BASE + 2, 0x0100, 2); /* PWRBTN_EN */
    io_bus_out(&a, GPE0_BASE + 2, 0x0008, 1); /* GPE 3 */
    io_bus_out(&a, PM_BASE + 4, 3u << 10, 2); /* SLP_TYP 3, no SLP_EN */
    acpi_pm_press_power_button(src);
    acpi_pm_raise_gpe(src, 3);
    acpi_pm_raise_gpe(src, 6); /* status without enable */
    g_assert_true(sci_a.level);

    acpi_pm_state_save(src, saved);
    g_assert_cmpuint(saved->len, ==, 10);
    g_assert_false(sci_b.level);
    g_assert_true(acpi_pm_state_load(dst, saved->data, saved->len, ACPI_PM_STATE_VERSION, &err));
    g_assert_no_error(err);
    g_assert_true(sci_b.level); /* re-raised */
    acpi_pm_state_save(dst, again);
    g_assert_cmpmem(again->data, again->len, saved->data, saved->len);

    g_assert_cmpuint(io_bus_in(&b, PM_BASE, 4), ==, io_bus_in(&a, PM_BASE, 4));
    g_assert_cmpuint(io_bus_in(&b, PM_BASE + 4, 2), ==, (3u << 10) | 1);
    g_assert_cmpuint(io_bus_in(&b, GPE0_BASE, 4), ==, io_bus_in(&a, GPE0_BASE, 4));
    g_assert_true(acpi_pm_gpe_enabled(dst, 3));
    /* The guest acknowledges both events: the line drops. */
    io_bus_out(&b, PM_BASE, 0x0100, 2);
    g_assert_true(sci_b.level);
    io_bus_out(&b, GPE0_BASE, 0x08, 1);
    g_assert_false(sci_b.level);

    /* Hostile; the state stays as it was. */
    g_byte_array_set_size(again, 0);
    acpi_pm_state_save(dst, again);
    assert_truncations_refused(dst, acpi_pm_load_fn, saved, ACPI_PM_STATE_VERSION);
    static const uint8_t no_sci_en[2] = { 0x00, 0x0c }, slp_en[2] = { 0x01, 0x20 };
    g_autoptr(GByteArray) b1 = patched(saved, 4, no_sci_en, 2);
    assert_refused(dst, acpi_pm_load_fn, b1, ACPI_PM_STATE_VERSION, "control");
    g_autoptr(GByteArray) b2 = patched(saved, 4, slp_en, 2);
    assert_refused(dst, acpi_pm_load_fn, b2, ACPI_PM_STATE_VERSION, "control");
    g_autoptr(GByteArray) after = g_byte_array_new();
    acpi_pm_state_save(dst, after);
    g_assert_cmpmem(after->data, after->len, again->data, again->len);
    g_assert_false(sci_b.level);

    acpi_pm_free(src);
    acpi_pm_free(dst);
    io_bus_destroy(&a);
    io_bus_destroy(&b);
}

/* ---- reset control ---------------------------------------------------- */

static bool reset_control_load_fn(void *dev, const uint8_t *d, size_t n, uint32_t v, GError **e)
{
    return reset_control_state_load(dev, d, n, v, e);
}

static void test_reset_control(void)
{
    IoBus a, b;
    g_autoptr(GByteArray) saved = g_byte_array_new();
    g_autoptr(GError) err = NULL;

    io_bus_init(&a);
    io_bus_init(&b);
    ResetControl *src = reset_control_create(a.io), *dst = reset_control_create(b.io);
    outb(&a, RESET_CONTROL_PORT, 0x02); /* SYS_RST alone: no reset */
    reset_control_state_save(src, saved);
    g_assert_cmpuint(saved->len, ==, 1);
    g_assert_cmpuint(inb(&b, RESET_CONTROL_PORT), ==, 0);
    g_assert_true(reset_control_state_load(dst, saved->data, saved->len,
                                           RESET_CONTROL_STATE_VERSION, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(inb(&b, RESET_CONTROL_PORT), ==, 0x02);

    assert_truncations_refused(dst, reset_control_load_fn, saved, RESET_CONTROL_STATE_VERSION);
    static const uint8_t rst_cpu = 0x06;
    g_autoptr(GByteArray) bad = patched(saved, 0, &rst_cpu, 1);
    assert_refused(dst, reset_control_load_fn, bad, RESET_CONTROL_STATE_VERSION, "SYS_RST");
    g_assert_cmpuint(inb(&b, RESET_CONTROL_PORT), ==, 0x02);

    reset_control_free(src);
    reset_control_free(dst);
    io_bus_destroy(&a);
    io_bus_destroy(&b);
}

/* ---- memory hotplug --------------------------------------------------- */

static uint32_t memhp_reg(IoBus *bus, uint16_t off)
{
    return io_bus_in(bus, MEMHP_IO_BASE + off, 4);
}

static void memhp_select(IoBus *bus, uint32_t slot)
{
    io_bus_out(bus, MEMHP_IO_BASE, slot, 4);
}

static bool memhp_load_fn(void *dev, const uint8_t *d, size_t n, uint32_t v, GError **e)
{
    return memhp_state_load(dev, d, n, v, e);
}

static void test_memhp(void)
{
    IoBus a, b;
    g_autoptr(GByteArray) saved = g_byte_array_new();
    g_autoptr(GByteArray) again = g_byte_array_new();
    g_autoptr(GError) err = NULL;

    io_bus_init(&a);
    io_bus_init(&b);
    Memhp *src = memhp_create(a.io, MEMHP_IO_BASE, 4, NULL, NULL, NULL, NULL, &err);
    Memhp *dst = memhp_create(b.io, MEMHP_IO_BASE, 4, NULL, NULL, NULL, NULL, &err);
    g_assert_no_error(err);
    /* Slot 1 plugged, insert pending; slot 2 plugged, acknowledged, unplug
     * requested, with an _OST; slot 3 ejected by the guest. */
    g_assert_true(memhp_plug(src, 1, 0x100000000ull, 128 << 20, 1, &err));
    g_assert_true(memhp_plug(src, 2, 0x108000000ull, 256 << 20, 0, &err));
    g_assert_true(memhp_plug(src, 3, 0x118000000ull, 128 << 20, 0, &err));
    memhp_select(&a, 2);
    io_bus_out(&a, MEMHP_IO_BASE + 0x14, 0x02, 1);
    g_assert_true(memhp_request_unplug(src, 2, &err));
    io_bus_out(&a, MEMHP_IO_BASE + 0x04, MEMHP_OST_EVENT_EJECT, 4);
    io_bus_out(&a, MEMHP_IO_BASE + 0x08, 0x84, 4);
    memhp_select(&a, 3);
    io_bus_out(&a, MEMHP_IO_BASE + 0x14, 0x08, 1);
    memhp_select(&a, 1);
    g_assert_no_error(err);

    memhp_state_save(src, saved);
    g_assert_cmpuint(saved->len, ==, 8 + 4 * 29);
    g_assert_true(memhp_state_load(dst, saved->data, saved->len, MEMHP_STATE_VERSION, &err));
    g_assert_no_error(err);
    memhp_state_save(dst, again);
    g_assert_cmpmem(again->data, again->len, saved->data, saved->len);

    /* The selector came along: slot 1 reads without selecting. */
    g_assert_cmpuint(memhp_reg(&b, 0x00), ==, 0);
    g_assert_cmpuint(memhp_reg(&b, 0x04), ==, 1);
    g_assert_cmpuint(memhp_reg(&b, 0x10), ==, 1);
    for (uint32_t slot = 0; slot < 5; slot++) {
        memhp_select(&a, slot);
        memhp_select(&b, slot);
        for (uint16_t off = 0; off <= 0x14; off += 4)
            g_assert_cmpuint(memhp_reg(&b, off), ==, memhp_reg(&a, off));
    }
    uint32_t event, status;
    g_assert_true(memhp_slot_ost(dst, 2, &event, &status));
    g_assert_cmpuint(event, ==, MEMHP_OST_EVENT_EJECT);
    g_assert_cmpuint(status, ==, 0x84);
    g_assert_true(memhp_slot_enabled(dst, 2));
    g_assert_false(memhp_slot_enabled(dst, 3));
    /* Slot 3 is still ejecting: busy until the machine clears it. */
    g_assert_false(memhp_plug(dst, 3, 0x118000000ull, 128 << 20, 0, &err));
    g_assert_error(err, MEMHP_ERROR, MEMHP_ERROR_BUSY);
    g_clear_error(&err);

    /* Hostile. */
    g_byte_array_set_size(again, 0);
    memhp_state_save(dst, again);
    assert_truncations_refused(dst, memhp_load_fn, saved, MEMHP_STATE_VERSION);
    const size_t slot0 = 8, slot1 = 8 + 29;
    static const uint8_t zero8[8], one = 1, bogus_flag = 0x10, insert_only = 0x02,
                         enabled_ejecting = 0x09, enabled = 0x01;
    static const uint8_t wrap[8] = { 0, 0, 0, 0, 0, 0, 0, 0x80 };
    static const uint8_t wrap_size[8] = { 1, 0, 0, 0, 0, 0, 0, 0x80 };
    static const uint8_t nine_slots[4] = { 9, 0, 0, 0 };
    g_autoptr(GByteArray) h1 = patched(saved, 0, nine_slots, 4);
    assert_refused(dst, memhp_load_fn, h1, MEMHP_STATE_VERSION, "slots");
    g_autoptr(GByteArray) h2 = patched(saved, slot1 + 20, &bogus_flag, 1);
    assert_refused(dst, memhp_load_fn, h2, MEMHP_STATE_VERSION, "slot 1");
    g_autoptr(GByteArray) h3 = patched(saved, slot0 + 20, &insert_only, 1);
    assert_refused(dst, memhp_load_fn, h3, MEMHP_STATE_VERSION, "slot 0");
    g_autoptr(GByteArray) h4 = patched(saved, slot1 + 20, &enabled_ejecting, 1);
    assert_refused(dst, memhp_load_fn, h4, MEMHP_STATE_VERSION, "ejecting");
    g_autoptr(GByteArray) h5 = patched(saved, slot1 + 8, zero8, 8);
    assert_refused(dst, memhp_load_fn, h5, MEMHP_STATE_VERSION, "empty");
    g_autoptr(GByteArray) h6 = patched(saved, slot1, wrap, 8);
    g_autoptr(GByteArray) h6b = patched(h6, slot1 + 8, wrap_size, 8);
    assert_refused(dst, memhp_load_fn, h6b, MEMHP_STATE_VERSION, "wraps");
    g_autoptr(GByteArray) h7 = patched(saved, slot0 + 16, &one, 1);
    assert_refused(dst, memhp_load_fn, h7, MEMHP_STATE_VERSION, "no DIMM");
    g_autoptr(GByteArray) h8 = patched(saved, slot0 + 20, &enabled, 1);
    assert_refused(dst, memhp_load_fn, h8, MEMHP_STATE_VERSION, "empty");
    g_autoptr(GByteArray) after = g_byte_array_new();
    memhp_state_save(dst, after);
    g_assert_cmpmem(after->data, after->len, again->data, again->len);

    /* A controller with another slot count refuses the section. */
    IoBus c;
    io_bus_init(&c);
    Memhp *eight = memhp_create(c.io, MEMHP_IO_BASE, 8, NULL, NULL, NULL, NULL, &err);
    g_assert_no_error(err);
    assert_refused(eight, memhp_load_fn, saved, MEMHP_STATE_VERSION, "4 slots");
    memhp_free(eight);
    io_bus_destroy(&c);

    memhp_free(src);
    memhp_free(dst);
    io_bus_destroy(&a);
    io_bus_destroy(&b);
}

/* ---- fw_cfg ----------------------------------------------------------- */

typedef struct FwRig {
    IoBus bus;
    GuestRam *ram;
    FwCfg *fw;
} FwRig;

static void fw_rig_init(FwRig *r, bool extra_file)
{
    g_autoptr(GError) err = NULL;
    uint8_t blob[100];

    for (size_t i = 0; i < sizeof(blob); i++)
        blob[i] = (uint8_t)(i * 3);
    io_bus_init(&r->bus);
    r->ram = guest_ram_new("fwstate.ram", 1 << 20, 0);
    r->fw = fw_cfg_new(r->bus.io, r->ram->as);
    fw_cfg_add_i32(r->fw, FW_CFG_NB_CPUS, 2);
    g_assert_true(fw_cfg_add_file(r->fw, "etc/b", blob, sizeof(blob), &err));
    g_assert_true(fw_cfg_add_file(r->fw, "etc/a", "hello", 5, &err));
    if (extra_file)
        g_assert_true(fw_cfg_add_file(r->fw, "etc/c", "x", 1, &err));
    g_assert_no_error(err);
}

static void fw_rig_destroy(FwRig *r)
{
    fw_cfg_free(r->fw);
    guest_ram_free(r->ram);
    io_bus_destroy(&r->bus);
}

static bool fw_cfg_load_fn(void *dev, const uint8_t *d, size_t n, uint32_t v, GError **e)
{
    return fw_cfg_state_load(dev, d, n, v, e);
}

static void test_fw_cfg(void)
{
    FwRig a, b, c;
    g_autoptr(GByteArray) saved = g_byte_array_new();
    g_autoptr(GByteArray) again = g_byte_array_new();
    g_autoptr(GError) err = NULL;

    fw_rig_init(&a, false);
    fw_rig_init(&b, false);
    int key = fw_cfg_file_key(a.fw, "etc/b");
    g_assert_cmpint(key, ==, FW_CFG_FILE_FIRST + 1);
    io_bus_out(&a.bus, FW_CFG_IO_BASE, (uint32_t)key, 2);
    for (unsigned i = 0; i < 7; i++)
        g_assert_cmpuint(inb(&a.bus, FW_CFG_IO_BASE + 1), ==, (uint8_t)(i * 3));
    io_bus_out(&a.bus, FW_CFG_IO_BASE + 4, 0, 4); /* DMA high half, big-endian 0 */

    fw_cfg_state_save(a.fw, saved);
    g_assert_cmpuint(saved->len, ==, 27);
    g_assert_true(fw_cfg_state_load(b.fw, saved->data, saved->len, FW_CFG_STATE_VERSION, &err));
    g_assert_no_error(err);
    fw_cfg_state_save(b.fw, again);
    g_assert_cmpmem(again->data, again->len, saved->data, saved->len);

    /* The read goes on where the source left it. */
    for (unsigned i = 7; i < 100; i++) {
        uint8_t got = inb(&b.bus, FW_CFG_IO_BASE + 1);
        g_assert_cmpuint(got, ==, inb(&a.bus, FW_CFG_IO_BASE + 1));
        g_assert_cmpuint(got, ==, (uint8_t)(i * 3));
    }
    g_assert_cmpuint(inb(&b.bus, FW_CFG_IO_BASE + 1), ==, 0); /* past the end */
    /* The guest had used the device: file keys are frozen here too. */
    g_assert_false(fw_cfg_add_file(b.fw, "etc/z", "z", 1, &err));
    g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_PERM);
    g_clear_error(&err);

    /* Hostile. */
    g_byte_array_set_size(again, 0);
    fw_cfg_state_save(b.fw, again);
    assert_truncations_refused(b.fw, fw_cfg_load_fn, saved, FW_CFG_STATE_VERSION);
    static const uint8_t wc_key[2] = { 0x21, 0x40 }, far_key[2] = { 0x00, 0x10 };
    static const uint8_t big_offset[8] = { 1, 0, 0, 0, 2, 0, 0, 0 };
    static const uint8_t dma_low[8] = { 0, 0x10, 0, 0, 0, 0, 0, 0 };
    static const uint8_t bad_flags = 0x04;
    g_autoptr(GByteArray) h1 = patched(saved, 0, wc_key, 2);
    assert_refused(b.fw, fw_cfg_load_fn, h1, FW_CFG_STATE_VERSION, "write-channel");
    g_autoptr(GByteArray) h2 = patched(saved, 0, far_key, 2);
    assert_refused(b.fw, fw_cfg_load_fn, h2, FW_CFG_STATE_VERSION, "selected");
    g_autoptr(GByteArray) h3 = patched(saved, 3, big_offset, 8);
    assert_refused(b.fw, fw_cfg_load_fn, h3, FW_CFG_STATE_VERSION, "offset");
    g_autoptr(GByteArray) h4 = patched(saved, 11, dma_low, 8);
    assert_refused(b.fw, fw_cfg_load_fn, h4, FW_CFG_STATE_VERSION, "DMA");
    g_autoptr(GByteArray) h5 = patched(saved, 2, &bad_flags, 1);
    assert_refused(b.fw, fw_cfg_load_fn, h5, FW_CFG_STATE_VERSION, "flag");
    g_autoptr(GByteArray) after = g_byte_array_new();
    fw_cfg_state_save(b.fw, after);
    g_assert_cmpmem(after->data, after->len, again->data, again->len);

    /* A destination with other files refuses the section. */
    fw_rig_init(&c, true);
    assert_refused(c.fw, fw_cfg_load_fn, saved, FW_CFG_STATE_VERSION, "files");
    fw_rig_destroy(&c);

    fw_rig_destroy(&a);
    fw_rig_destroy(&b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/device-state/serial/round-trip", test_serial_round_trip);
    g_test_add_func("/device-state/serial/hostile", test_serial_hostile);
    g_test_add_func("/device-state/rtc", test_rtc);
    g_test_add_func("/device-state/i8042", test_i8042);
    g_test_add_func("/device-state/acpi-pm", test_acpi_pm);
    g_test_add_func("/device-state/reset-control", test_reset_control);
    g_test_add_func("/device-state/memhp", test_memhp);
    g_test_add_func("/device-state/fw-cfg", test_fw_cfg);
    return g_test_run();
}
