/* MC146818 RTC/CMOS through ports 0x70/0x71. */
#include <glib.h>
#include <time.h>

#include "hw/rtc.h"
#include "fixture.h"

enum { SEC = 0x00, MIN = 0x02, HOUR = 0x04, WDAY = 0x06, MDAY = 0x07, MON = 0x08,
       YEAR = 0x09, REG_A = 0x0a, REG_B = 0x0b, REG_C = 0x0c, REG_D = 0x0d, CENTURY = 0x32 };

typedef struct Fixture {
    IoBus bus;
    Rtc *rtc;
} Fixture;

static uint8_t cmos_read(Fixture *f, uint8_t index)
{
    uint8_t v = 0;

    g_assert_cmpint(address_space_write(f->bus.as, 0x70, &index, 1), ==, MEMTX_OK);
    g_assert_cmpint(address_space_read(f->bus.as, 0x71, &v, 1), ==, MEMTX_OK);
    return v;
}

static void cmos_write(Fixture *f, uint8_t index, uint8_t v)
{
    g_assert_cmpint(address_space_write(f->bus.as, 0x70, &index, 1), ==, MEMTX_OK);
    g_assert_cmpint(address_space_write(f->bus.as, 0x71, &v, 1), ==, MEMTX_OK);
}

static unsigned bcd(uint8_t v)
{
    g_assert_cmpuint(v & 0x0f, <=, 9);
    g_assert_cmpuint(v >> 4, <=, 9);
    return (v >> 4) * 10 + (v & 0x0f);
}

static void setup(Fixture *f, gconstpointer data)
{
    io_bus_init(&f->bus);
    f->rtc = rtc_create(f->bus.io);
}

static void teardown(Fixture *f, gconstpointer data)
{
    rtc_free(f->rtc);
    io_bus_destroy(&f->bus);
}

typedef struct Clock {
    uint8_t sec, min, hour, wday, mday, mon, year, century;
} Clock;

/* The RTC's own clock (g_get_real_time): time() reads the coarse clock,
 * which can lag a tick behind and straddle a second the RTC already shows. */
static time_t now_s(void)
{
    return (time_t)(g_get_real_time() / G_USEC_PER_SEC);
}

/* Read every field within one second, like Linux does (retry on a tick). */
static void read_clock(Fixture *f, Clock *c, struct tm *host)
{
    for (;;) {
        time_t t = now_s();

        c->sec = cmos_read(f, SEC);
        c->min = cmos_read(f, MIN);
        c->hour = cmos_read(f, HOUR);
        c->wday = cmos_read(f, WDAY);
        c->mday = cmos_read(f, MDAY);
        c->mon = cmos_read(f, MON);
        c->year = cmos_read(f, YEAR);
        c->century = cmos_read(f, CENTURY);
        if (now_s() == t && cmos_read(f, SEC) == c->sec) {
            gmtime_r(&t, host);
            return;
        }
    }
}

static void test_defaults(Fixture *f, gconstpointer data)
{
    g_assert_cmphex(cmos_read(f, REG_A) & 0x7f, ==, 0x26);
    g_assert_cmphex(cmos_read(f, REG_B), ==, 0x02); /* BCD, 24 hour */
    g_assert_cmphex(cmos_read(f, REG_D), ==, 0x80); /* battery good */
}

static void test_bcd_time(Fixture *f, gconstpointer data)
{
    Clock c;
    struct tm tm;

    read_clock(f, &c, &tm);
    g_assert_cmpuint(bcd(c.sec), ==, tm.tm_sec);
    g_assert_cmpuint(bcd(c.min), ==, tm.tm_min);
    g_assert_cmpuint(bcd(c.hour), ==, tm.tm_hour);
    g_assert_cmpuint(bcd(c.wday), ==, tm.tm_wday + 1);
    g_assert_cmpuint(bcd(c.mday), ==, tm.tm_mday);
    g_assert_cmpuint(bcd(c.mon), ==, tm.tm_mon + 1);
    g_assert_cmpuint(bcd(c.year), ==, (tm.tm_year + 1900) % 100);
    g_assert_cmpuint(bcd(c.century), ==, (tm.tm_year + 1900) / 100);
}

static void test_binary_time(Fixture *f, gconstpointer data)
{
    Clock c;
    struct tm tm;

    cmos_write(f, REG_B, 0x06); /* binary, 24 hour */
    read_clock(f, &c, &tm);
    g_assert_cmpuint(c.sec, ==, tm.tm_sec);
    g_assert_cmpuint(c.min, ==, tm.tm_min);
    g_assert_cmpuint(c.hour, ==, tm.tm_hour);
    g_assert_cmpuint(c.mday, ==, tm.tm_mday);
    g_assert_cmpuint(c.mon, ==, tm.tm_mon + 1);
    g_assert_cmpuint(c.year, ==, (tm.tm_year + 1900) % 100);
    g_assert_cmpuint(c.century, ==, (tm.tm_year + 1900) / 100);
}

static void test_12_hour(Fixture *f, gconstpointer data)
{
    Clock c;
    struct tm tm;
    unsigned h12;

    cmos_write(f, REG_B, 0x04); /* binary, 12 hour */
    read_clock(f, &c, &tm);
    h12 = tm.tm_hour % 12 ? tm.tm_hour % 12 : 12;
    g_assert_cmpuint(c.hour & 0x7f, ==, h12);
    g_assert_cmpuint(!!(c.hour & 0x80), ==, tm.tm_hour >= 12);
}

static void test_guest_sets_clock(Fixture *f, gconstpointer data)
{
    Clock c;
    struct tm tm;

    cmos_write(f, REG_B, 0x80 | 0x02); /* SET while writing, BCD */
    cmos_write(f, YEAR, 0x99);
    cmos_write(f, CENTURY, 0x19);
    cmos_write(f, MON, 0x12);
    cmos_write(f, MDAY, 0x31);
    cmos_write(f, HOUR, 0x23);
    cmos_write(f, MIN, 0x00); /* far from midnight: no roll-over mid-test */
    cmos_write(f, REG_B, 0x02);
    read_clock(f, &c, &tm);
    g_assert_cmphex(c.century, ==, 0x19);
    g_assert_cmphex(c.year, ==, 0x99);
    g_assert_cmphex(c.mon, ==, 0x12);
    g_assert_cmphex(c.mday, ==, 0x31);
    g_assert_cmphex(c.wday, ==, 0x06); /* 1999-12-31 was a Friday */
    g_assert_cmphex(c.hour, ==, 0x23);
    g_assert_cmphex(c.min, ==, 0x00);
    /* The host clock is untouched; a new device starts from it again. */
    rtc_free(f->rtc);
    f->rtc = rtc_create(f->bus.io);
    read_clock(f, &c, &tm);
    g_assert_cmpuint(bcd(c.year), ==, (tm.tm_year + 1900) % 100);
}

static void test_register_c_clears_on_read(Fixture *f, gconstpointer data)
{
    uint8_t c;

    g_usleep(1100 * 1000); /* a second boundary passes: an update happened */
    c = cmos_read(f, REG_C);
    g_assert_cmphex(c, ==, 0x10); /* UF; IRQF stays clear with UIE off */
    c = cmos_read(f, REG_C);
    if (c) /* we crossed another second in between: the next read is clean */
        c = cmos_read(f, REG_C);
    g_assert_cmphex(c, ==, 0x00);

    cmos_write(f, REG_B, 0x12); /* UIE */
    g_usleep(1100 * 1000);
    g_assert_cmphex(cmos_read(f, REG_C), ==, 0x90);
    cmos_write(f, REG_C, 0xff); /* read-only */
    g_assert_cmphex(cmos_read(f, REG_B), ==, 0x12);
}

static void test_nvram(Fixture *f, gconstpointer data)
{
    uint8_t index = 0x80 | 0x40; /* NMI mask bit is ignored */

    for (unsigned i = 0x0e; i < 0x80; i++) {
        if (i != CENTURY)
            cmos_write(f, i, i ^ 0x5a);
    }
    for (unsigned i = 0x0e; i < 0x80; i++) {
        if (i != CENTURY)
            g_assert_cmphex(cmos_read(f, i), ==, i ^ 0x5a);
    }
    g_assert_cmpint(address_space_write(f->bus.as, 0x70, &index, 1), ==, MEMTX_OK);
    g_assert_cmpint(address_space_read(f->bus.as, 0x71, &index, 1), ==, MEMTX_OK);
    g_assert_cmphex(index, ==, 0x40 ^ 0x5a);

    /* The machine's pre-set bytes: memory size, CPU count. */
    rtc_set_cmos(f->rtc, 0x34, 0x00);
    rtc_set_cmos(f->rtc, 0x35, 0x3f);
    rtc_set_cmos(f->rtc, 0x5f, 3);
    g_assert_cmphex(cmos_read(f, 0x35), ==, 0x3f);
    g_assert_cmphex(cmos_read(f, 0x5f), ==, 3);
    rtc_set_cmos(f->rtc, REG_D, 0x00); /* not NVRAM: ignored */
    g_assert_cmphex(cmos_read(f, REG_D), ==, 0x80);

    /* A guest reset keeps the battery-backed bytes, drops interrupt enables. */
    cmos_write(f, REG_B, 0x72);
    rtc_reset(f->rtc);
    g_assert_cmphex(cmos_read(f, 0x35), ==, 0x3f);
    g_assert_cmphex(cmos_read(f, REG_B), ==, 0x02);
}

static void test_index_port_and_wide_write(Fixture *f, gconstpointer data)
{
    uint16_t select_and_write = 0xab00 | 0x50;
    uint8_t v;

    /* The index register is write-only. */
    g_assert_cmpint(address_space_read(f->bus.as, 0x70, &v, 1), ==, MEMTX_OK);
    g_assert_cmphex(v, ==, 0xff);
    /* outw 0x70: index in the low byte, data in the high byte. */
    g_assert_cmpint(address_space_write(f->bus.as, 0x70, &select_and_write, 2), ==, MEMTX_OK);
    g_assert_cmphex(cmos_read(f, 0x50), ==, 0xab);
}

#define RTC_TEST(name, fn) g_test_add("/rtc/" name, Fixture, NULL, setup, fn, teardown)

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    RTC_TEST("defaults", test_defaults);
    RTC_TEST("bcd-time", test_bcd_time);
    RTC_TEST("binary-time", test_binary_time);
    RTC_TEST("12-hour", test_12_hour);
    RTC_TEST("guest-sets-clock", test_guest_sets_clock);
    RTC_TEST("register-c-clears-on-read", test_register_c_clears_on_read);
    RTC_TEST("nvram", test_nvram);
    RTC_TEST("index-port-and-wide-write", test_index_port_and_wide_write);
    return g_test_run();
}
