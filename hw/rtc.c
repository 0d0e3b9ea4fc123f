/* MC146818 RTC with 128 bytes of CMOS.
 *
 * The clock is the host's UTC clock plus an offset that guest writes to the
 * time registers move, in BCD or binary (register B bit 2) and 12 or 24
 * hour format (bit 1).  Register B's SET bit does not stop the clock: each
 * field written moves it at once, which ends the same for the usual "SET,
 * write all fields, clear SET" sequence.  Register A's UIP bit is set during the last 244 us
 * of each second, as on the chip, so a guest waiting for an update edge
 * does not wait forever.  Register C's UF flag is set when a second has
 * passed since C was last read; reading C clears it.  There are no
 * interrupts: IRQ 8 is never raised and PF/AF never set, so periodic,
 * alarm and update interrupts are not emulated.  Register D reports a good
 * battery.  Everything from 0x0e up is plain NVRAM, except the century at
 * 0x32, which is part of the clock.
 */
#include "hw/rtc.h"

#include <string.h>
#include <time.h>

#define RTC_INDEX_PORT 0x70
#define RTC_NR_PORTS 2
#define CMOS_SIZE 128

enum {
    REG_SECONDS = 0x00,
    REG_MINUTES = 0x02,
    REG_HOURS = 0x04,
    REG_DAY_OF_WEEK = 0x06,
    REG_DAY_OF_MONTH = 0x07,
    REG_MONTH = 0x08,
    REG_YEAR = 0x09,
    REG_A = 0x0a,
    REG_B = 0x0b,
    REG_C = 0x0c,
    REG_D = 0x0d,
    REG_CENTURY = 0x32,
};

enum {
    A_UIP = 0x80,
    A_DEFAULT = 0x26, /* 32.768 kHz time base, 1024 Hz periodic rate */
    B_SET = 0x80,
    B_UPDATE_IRQ = 0x10,
    B_IRQ_ENABLES = 0x78, /* PIE, AIE, UIE, SQWE: cleared by reset */
    B_BINARY = 0x04,
    B_24H = 0x02,
    B_DEFAULT = B_24H,
    C_IRQF = 0x80,
    C_UF = 0x10,
    D_VRT = 0x80,
    HOUR_PM = 0x80,
    INDEX_MASK = 0x7f, /* bit 7 of the index port masks NMI: ignored */
};

#define UIP_WINDOW_US 244

struct Rtc {
    GMutex lock;
    MemoryRegion *mr;
    uint8_t index;
    uint8_t cmos[CMOS_SIZE]; /* time registers unused: they come from the clock */
    gint64 offset_s; /* guest time = host UTC + offset */
    gint64 last_c_read_s; /* for UF */
};

static gint64 host_now_us(void)
{
    return g_get_real_time();
}

static gint64 guest_now_s(const Rtc *rtc)
{
    return host_now_us() / G_USEC_PER_SEC + rtc->offset_s;
}

static uint8_t to_bcd(unsigned v)
{
    return ((v / 10) << 4) | (v % 10);
}

static unsigned from_bcd(uint8_t v)
{
    return (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t encode(const Rtc *rtc, unsigned v)
{
    return (rtc->cmos[REG_B] & B_BINARY) ? v : to_bcd(v);
}

static unsigned decode(const Rtc *rtc, uint8_t v)
{
    return (rtc->cmos[REG_B] & B_BINARY) ? v : from_bcd(v);
}

static uint8_t encode_hour(const Rtc *rtc, unsigned hour)
{
    unsigned h12;

    if (rtc->cmos[REG_B] & B_24H)
        return encode(rtc, hour);
    h12 = hour % 12 ? hour % 12 : 12;
    return encode(rtc, h12) | (hour >= 12 ? HOUR_PM : 0);
}

static unsigned decode_hour(const Rtc *rtc, uint8_t v)
{
    unsigned h12;

    if (rtc->cmos[REG_B] & B_24H)
        return decode(rtc, v);
    h12 = decode(rtc, v & ~HOUR_PM) % 12;
    return (v & HOUR_PM) ? h12 + 12 : h12;
}

static void guest_time(const Rtc *rtc, struct tm *tm)
{
    time_t t = guest_now_s(rtc);

    gmtime_r(&t, tm);
}

static uint8_t read_clock(const Rtc *rtc, uint8_t reg)
{
    struct tm tm;

    guest_time(rtc, &tm);
    switch (reg) {
    case REG_SECONDS:
        return encode(rtc, tm.tm_sec);
    case REG_MINUTES:
        return encode(rtc, tm.tm_min);
    case REG_HOURS:
        return encode_hour(rtc, tm.tm_hour);
    case REG_DAY_OF_WEEK:
        return encode(rtc, tm.tm_wday + 1); /* Sunday = 1 */
    case REG_DAY_OF_MONTH:
        return encode(rtc, tm.tm_mday);
    case REG_MONTH:
        return encode(rtc, tm.tm_mon + 1);
    case REG_YEAR:
        return encode(rtc, (tm.tm_year + 1900) % 100);
    default: /* REG_CENTURY */
        return encode(rtc, (tm.tm_year + 1900) / 100);
    }
}

/* Setting one field moves the whole clock: keep the others as they read now. */
static void write_clock(Rtc *rtc, uint8_t reg, uint8_t val)
{
    struct tm tm;
    unsigned v = reg == REG_HOURS ? decode_hour(rtc, val) : decode(rtc, val);
    time_t t;

    guest_time(rtc, &tm);
    switch (reg) {
    case REG_SECONDS:
        tm.tm_sec = v;
        break;
    case REG_MINUTES:
        tm.tm_min = v;
        break;
    case REG_HOURS:
        tm.tm_hour = v;
        break;
    case REG_DAY_OF_MONTH:
        tm.tm_mday = v;
        break;
    case REG_MONTH:
        tm.tm_mon = (int)v - 1;
        break;
    case REG_YEAR:
        tm.tm_year = (tm.tm_year + 1900) / 100 * 100 + v - 1900;
        break;
    case REG_CENTURY:
        tm.tm_year = v * 100 + (tm.tm_year + 1900) % 100 - 1900;
        break;
    default:
        return; /* the day of the week follows from the date */
    }
    /* timegm normalises out-of-range fields; the guest only moves its own clock. */
    t = timegm(&tm);
    if (t != (time_t)-1)
        rtc->offset_s = (gint64)t - host_now_us() / G_USEC_PER_SEC;
}

static bool is_clock_register(uint8_t reg)
{
    switch (reg) {
    case REG_SECONDS:
    case REG_MINUTES:
    case REG_HOURS:
    case REG_DAY_OF_WEEK:
    case REG_DAY_OF_MONTH:
    case REG_MONTH:
    case REG_YEAR:
    case REG_CENTURY:
        return true;
    default:
        return false;
    }
}

static uint8_t read_reg_a(const Rtc *rtc)
{
    uint8_t a = rtc->cmos[REG_A] & ~A_UIP;

    if (!(rtc->cmos[REG_B] & B_SET) &&
        host_now_us() % G_USEC_PER_SEC >= G_USEC_PER_SEC - UIP_WINDOW_US)
        a |= A_UIP;
    return a;
}

static uint8_t read_reg_c(Rtc *rtc)
{
    gint64 now = guest_now_s(rtc);
    uint8_t c = 0;

    if (now != rtc->last_c_read_s)
        c |= C_UF;
    if ((c & C_UF) && (rtc->cmos[REG_B] & B_UPDATE_IRQ))
        c |= C_IRQF;
    rtc->last_c_read_s = now;
    return c;
}

static uint8_t cmos_read(Rtc *rtc, uint8_t reg)
{
    if (is_clock_register(reg))
        return read_clock(rtc, reg);
    switch (reg) {
    case REG_A:
        return read_reg_a(rtc);
    case REG_C:
        return read_reg_c(rtc);
    case REG_D:
        return D_VRT;
    default:
        return rtc->cmos[reg]; /* alarms, B, NVRAM */
    }
}

static void cmos_write(Rtc *rtc, uint8_t reg, uint8_t val)
{
    if (is_clock_register(reg)) {
        write_clock(rtc, reg, val);
        return;
    }
    switch (reg) {
    case REG_A:
        rtc->cmos[REG_A] = val & ~A_UIP; /* UIP is read-only */
        break;
    case REG_B:
        if (val & B_SET)
            val &= ~B_UPDATE_IRQ; /* SET stops updates, and their interrupt */
        rtc->cmos[REG_B] = val;
        break;
    case REG_C:
    case REG_D:
        break; /* read-only */
    default:
        rtc->cmos[reg] = val;
        break;
    }
}

/* Port 0x70 selects a register (write-only: reads 0xff), 0x71 accesses it.
 * A wide access covers both ports, low byte first: outw(0x70) is the
 * classic "select and write" in one instruction. */
static uint64_t rtc_io_read(void *opaque, uint64_t offset, unsigned size)
{
    Rtc *rtc = opaque;
    uint64_t val = 0;

    for (unsigned i = 0; i < size && offset + i < RTC_NR_PORTS; i++)
        val |= (uint64_t)(offset + i == 0 ? 0xff : cmos_read(rtc, rtc->index)) << (8 * i);
    return val;
}

static void rtc_io_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    Rtc *rtc = opaque;

    for (unsigned i = 0; i < size && offset + i < RTC_NR_PORTS; i++) {
        uint8_t byte = value >> (8 * i);

        if (offset + i == 0)
            rtc->index = byte & INDEX_MASK;
        else
            cmos_write(rtc, rtc->index, byte);
    }
}

static const MemoryRegionOps rtc_ops = {
    .read = rtc_io_read,
    .write = rtc_io_write,
};

static void rtc_reset_locked(Rtc *rtc)
{
    rtc->index = 0;
    rtc->cmos[REG_B] &= ~B_IRQ_ENABLES;
    rtc->last_c_read_s = guest_now_s(rtc);
}

void rtc_reset(Rtc *rtc)
{
    g_mutex_lock(&rtc->lock);
    rtc_reset_locked(rtc);
    g_mutex_unlock(&rtc->lock);
}

Rtc *rtc_create(MemoryRegion *io)
{
    Rtc *rtc = g_new0(Rtc, 1);

    g_mutex_init(&rtc->lock);
    rtc->cmos[REG_A] = A_DEFAULT;
    rtc->cmos[REG_B] = B_DEFAULT;
    rtc_reset_locked(rtc);
    rtc->mr = memory_region_add_io(io, RTC_INDEX_PORT, "rtc", RTC_NR_PORTS, &rtc_ops, rtc,
                                   &rtc->lock);
    return rtc;
}

void rtc_free(Rtc *rtc)
{
    if (!rtc)
        return;
    memory_region_free(rtc->mr);
    g_mutex_clear(&rtc->lock);
    g_free(rtc);
}

void rtc_set_cmos(Rtc *rtc, uint8_t index, uint8_t value)
{
    g_mutex_lock(&rtc->lock);
    if (index >= REG_D + 1 && index < CMOS_SIZE && index != REG_CENTURY)
        rtc->cmos[index] = value;
    g_mutex_unlock(&rtc->lock);
}

/* ---- migration (layout in rtc.h) -------------------------------------- */

#define STATE_LEN (1 + CMOS_SIZE + 8 + 8)
/* Further than any date the registers can hold (year 0 to 9999): keeps
 * host time + offset far from overflowing. */
#define STATE_OFFSET_MAX ((gint64)1000000000000)

static void put_i64(uint8_t *p, gint64 v)
{
    guint64 le = GUINT64_TO_LE((guint64)v);

    memcpy(p, &le, sizeof(le));
}

static gint64 get_i64(const uint8_t *p)
{
    guint64 le;

    memcpy(&le, p, sizeof(le));
    return (gint64)GUINT64_FROM_LE(le);
}

void rtc_state_save(Rtc *rtc, GByteArray *out)
{
    uint8_t buf[STATE_LEN];

    g_mutex_lock(&rtc->lock);
    buf[0] = rtc->index;
    memcpy(buf + 1, rtc->cmos, CMOS_SIZE);
    put_i64(buf + 1 + CMOS_SIZE, rtc->offset_s);
    put_i64(buf + 1 + CMOS_SIZE + 8, rtc->last_c_read_s);
    g_mutex_unlock(&rtc->lock);
    g_byte_array_append(out, buf, sizeof(buf));
}

bool rtc_state_load(Rtc *rtc, const uint8_t *data, size_t len, uint32_t version,
                    GError **errp)
{
    const char *bad = NULL;

    if (version != RTC_STATE_VERSION) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "rtc state: version %u is not one this ferry reads (%u)", version,
                    RTC_STATE_VERSION);
        return false;
    }
    if (len != STATE_LEN) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "rtc state: %zu bytes, expected %d", len, STATE_LEN);
        return false;
    }
    const uint8_t *cmos = data + 1;
    gint64 offset = get_i64(data + 1 + CMOS_SIZE);
    gint64 last_c = get_i64(data + 1 + CMOS_SIZE + 8);

    if (data[0] & ~INDEX_MASK)
        bad = "index above 0x7f";
    else if (cmos[REG_A] & A_UIP)
        bad = "register A has UIP stored";
    else if ((cmos[REG_B] & B_SET) && (cmos[REG_B] & B_UPDATE_IRQ))
        bad = "register B has both SET and UIE";
    else if (offset > STATE_OFFSET_MAX || offset < -STATE_OFFSET_MAX)
        bad = "clock offset out of range";
    else if (last_c > STATE_OFFSET_MAX * 2 || last_c < -STATE_OFFSET_MAX * 2)
        bad = "last register C read out of range";
    if (bad) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "rtc state: %s", bad);
        return false;
    }

    g_mutex_lock(&rtc->lock);
    rtc->index = data[0];
    memcpy(rtc->cmos, cmos, CMOS_SIZE);
    rtc->offset_s = offset;
    rtc->last_c_read_s = last_c;
    g_mutex_unlock(&rtc->lock);
    return true;
}
