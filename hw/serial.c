/* 8250/16550A UART.
 *
 * The transmitter is instantly empty: a byte written to THR goes straight
 * to the chardev (or, in loopback, to the receiver), so THRE and TEMT are
 * always set.  The receiver is a 4 KiB backlog whose first 16 bytes are the
 * guest's FIFO (one byte without FIFO); host input beyond the backlog is
 * dropped and reported as an overrun (LSR.OE).  Baud rate, word length,
 * parity and break are accepted and ignored; there are no parity or framing
 * errors.  The IRQ line is not gated by MCR.OUT2 (as on QEMU), and received
 * data always reports "RX data available" (0x04), never the FIFO's
 * character-timeout id (0x0c): drivers handle both the same way.
 */
#include "hw/serial.h"

#include <string.h>

enum {
    REG_RBR_THR = 0, /* DLAB: DLL */
    REG_IER = 1, /* DLAB: DLM */
    REG_IIR_FCR = 2,
    REG_LCR = 3,
    REG_MCR = 4,
    REG_LSR = 5,
    REG_MSR = 6,
    REG_SCR = 7,
    SERIAL_NR_PORTS = 8,
};

enum {
    IER_RX_DATA = 0x01,
    IER_THRE = 0x02,
    IER_LINE_STATUS = 0x04,
    IER_MODEM_STATUS = 0x08,
    IER_MASK = 0x0f, /* the 16550A has no more bits: Linux probes that */

    IIR_NO_INT = 0x01,
    IIR_ID_MODEM_STATUS = 0x00,
    IIR_ID_THRE = 0x02,
    IIR_ID_RX_DATA = 0x04,
    IIR_ID_LINE_STATUS = 0x06,
    IIR_FIFO_ENABLED = 0xc0, /* both bits: a 16550A, not a buggy 16550 */

    FCR_FIFO_ENABLE = 0x01,
    FCR_CLEAR_RX = 0x02,
    FCR_STORED = 0xc9, /* enable, DMA mode, RX trigger level */

    LCR_DLAB = 0x80,

    MCR_DTR = 0x01,
    MCR_RTS = 0x02,
    MCR_OUT1 = 0x04,
    MCR_OUT2 = 0x08,
    MCR_LOOP = 0x10,
    MCR_MASK = 0x1f,

    LSR_DR = 0x01,
    LSR_OE = 0x02,
    LSR_THRE = 0x20,
    LSR_TEMT = 0x40,

    MSR_DCTS = 0x01,
    MSR_DDSR = 0x02,
    MSR_TERI = 0x04,
    MSR_DDCD = 0x08,
    MSR_DELTAS = 0x0f,
    MSR_CTS = 0x10,
    MSR_DSR = 0x20,
    MSR_RI = 0x40,
    MSR_DCD = 0x80,
};

#define SERIAL_FIFO_SIZE 16
#define SERIAL_BACKLOG_SIZE 4096

struct Serial {
    GMutex lock; /* the region lock: registers and receive buffer */
    MemoryRegion *mr;
    IrqLine irq;
    bool irq_level;
    Chardev *chr;

    uint8_t ier, lcr, mcr, fcr, scr, dll, dlm;
    uint8_t msr; /* line states (7:4) and their change bits (3:0) */
    bool overrun; /* LSR.OE until LSR is read */
    bool thre_pending; /* THRE interrupt latched until IIR read or THR write */
    uint8_t last_rx; /* what RBR reads when empty */

    uint8_t rx[SERIAL_BACKLOG_SIZE]; /* ring buffer */
    size_t rx_head, rx_count;
};

static void rx_push(Serial *s, uint8_t byte)
{
    if (s->rx_count == SERIAL_BACKLOG_SIZE) {
        s->overrun = true;
        return;
    }
    s->rx[(s->rx_head + s->rx_count) % SERIAL_BACKLOG_SIZE] = byte;
    s->rx_count++;
}

static uint8_t rx_pop(Serial *s)
{
    if (s->rx_count == 0)
        return s->last_rx;
    s->last_rx = s->rx[s->rx_head];
    s->rx_head = (s->rx_head + 1) % SERIAL_BACKLOG_SIZE;
    s->rx_count--;
    return s->last_rx;
}

/* Clearing the RX FIFO drops what the guest could see, not the backlog
 * still "on the wire". */
static void rx_clear_fifo(Serial *s)
{
    size_t n = MIN(s->rx_count, SERIAL_FIFO_SIZE);

    s->rx_head = (s->rx_head + n) % SERIAL_BACKLOG_SIZE;
    s->rx_count -= n;
}

/* The modem lines as the guest sees them: looped back from MCR, or a
 * permanently attached, ready peer. */
static uint8_t modem_lines(const Serial *s)
{
    uint8_t lines = 0;

    if (!(s->mcr & MCR_LOOP))
        return MSR_DCD | MSR_DSR | MSR_CTS;
    if (s->mcr & MCR_DTR)
        lines |= MSR_DSR;
    if (s->mcr & MCR_RTS)
        lines |= MSR_CTS;
    if (s->mcr & MCR_OUT1)
        lines |= MSR_RI;
    if (s->mcr & MCR_OUT2)
        lines |= MSR_DCD;
    return lines;
}

static void msr_update(Serial *s)
{
    uint8_t old = s->msr & ~MSR_DELTAS, now = modem_lines(s);
    uint8_t changed = old ^ now, deltas = s->msr & MSR_DELTAS;

    if (changed & MSR_CTS)
        deltas |= MSR_DCTS;
    if (changed & MSR_DSR)
        deltas |= MSR_DDSR;
    if ((old & MSR_RI) && !(now & MSR_RI))
        deltas |= MSR_TERI; /* trailing edge only */
    if (changed & MSR_DCD)
        deltas |= MSR_DDCD;
    s->msr = now | deltas;
}

static uint8_t lsr_value(const Serial *s)
{
    uint8_t lsr = LSR_THRE | LSR_TEMT;

    if (s->rx_count)
        lsr |= LSR_DR;
    if (s->overrun)
        lsr |= LSR_OE;
    return lsr;
}

/* The highest-priority pending interrupt's IIR id, or IIR_NO_INT. */
static uint8_t pending_interrupt(const Serial *s)
{
    if ((s->ier & IER_LINE_STATUS) && s->overrun)
        return IIR_ID_LINE_STATUS;
    if ((s->ier & IER_RX_DATA) && s->rx_count)
        return IIR_ID_RX_DATA;
    if ((s->ier & IER_THRE) && s->thre_pending)
        return IIR_ID_THRE;
    if ((s->ier & IER_MODEM_STATUS) && (s->msr & MSR_DELTAS))
        return IIR_ID_MODEM_STATUS;
    return IIR_NO_INT;
}

static void irq_update(Serial *s)
{
    bool level = pending_interrupt(s) != IIR_NO_INT;

    if (level != s->irq_level) {
        s->irq_level = level;
        irq_line_set(&s->irq, level);
    }
}

static void transmit(Serial *s, uint8_t byte)
{
    if (s->mcr & MCR_LOOP)
        rx_push(s, byte);
    else if (s->chr)
        chardev_write(s->chr, &byte, 1);
    /* The byte left at once: THR is empty again. */
    s->thre_pending = true;
}

static uint8_t serial_read_reg(Serial *s, unsigned reg)
{
    bool dlab = s->lcr & LCR_DLAB;
    uint8_t val;

    switch (reg) {
    case REG_RBR_THR:
        return dlab ? s->dll : rx_pop(s);
    case REG_IER:
        return dlab ? s->dlm : s->ier;
    case REG_IIR_FCR:
        val = pending_interrupt(s);
        if (val == IIR_ID_THRE)
            s->thre_pending = false; /* reading IIR acknowledges THRE */
        if (s->fcr & FCR_FIFO_ENABLE)
            val |= IIR_FIFO_ENABLED;
        return val;
    case REG_LCR:
        return s->lcr;
    case REG_MCR:
        return s->mcr;
    case REG_LSR:
        val = lsr_value(s);
        s->overrun = false;
        return val;
    case REG_MSR:
        val = s->msr;
        s->msr &= ~MSR_DELTAS;
        return val;
    default:
        return s->scr;
    }
}

static void serial_write_reg(Serial *s, unsigned reg, uint8_t val)
{
    bool dlab = s->lcr & LCR_DLAB;

    switch (reg) {
    case REG_RBR_THR:
        if (dlab)
            s->dll = val;
        else
            transmit(s, val);
        break;
    case REG_IER:
        if (dlab) {
            s->dlm = val;
            break;
        }
        /* Enabling the THRE interrupt while THR is empty (always, here)
         * raises it: Linux's startup test relies on this. */
        if ((val & IER_THRE) && !(s->ier & IER_THRE))
            s->thre_pending = true;
        s->ier = val & IER_MASK;
        break;
    case REG_IIR_FCR:
        /* FCR's other bits only take effect together with bit 0. */
        if ((val ^ s->fcr) & FCR_FIFO_ENABLE || ((val & FCR_FIFO_ENABLE) && (val & FCR_CLEAR_RX)))
            rx_clear_fifo(s);
        s->fcr = (val & FCR_FIFO_ENABLE) ? val & FCR_STORED : 0;
        break;
    case REG_LCR:
        s->lcr = val;
        break;
    case REG_MCR:
        s->mcr = val & MCR_MASK;
        msr_update(s);
        break;
    case REG_LSR:
    case REG_MSR:
        break; /* read-only (factory test writes are not emulated) */
    default:
        s->scr = val;
        break;
    }
}

/* Wider accesses are split into bytes, port by port. */
static uint64_t serial_io_read(void *opaque, uint64_t offset, unsigned size)
{
    Serial *s = opaque;
    uint64_t val = 0;

    for (unsigned i = 0; i < size && offset + i < SERIAL_NR_PORTS; i++)
        val |= (uint64_t)serial_read_reg(s, offset + i) << (8 * i);
    irq_update(s);
    return val;
}

static void serial_io_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    Serial *s = opaque;

    for (unsigned i = 0; i < size && offset + i < SERIAL_NR_PORTS; i++)
        serial_write_reg(s, offset + i, value >> (8 * i));
    irq_update(s);
}

static const MemoryRegionOps serial_ops = {
    .read = serial_io_read,
    .write = serial_io_write,
};

void serial_receive(void *opaque, const uint8_t *buf, size_t len)
{
    Serial *s = opaque;

    g_mutex_lock(&s->lock);
    /* In loopback the receiver is cut off from the line: input is lost,
     * as on the real chip. */
    if (!(s->mcr & MCR_LOOP)) {
        for (size_t i = 0; i < len; i++)
            rx_push(s, buf[i]);
    }
    irq_update(s);
    g_mutex_unlock(&s->lock);
}

static void serial_reset_locked(Serial *s)
{
    s->ier = s->lcr = s->mcr = s->fcr = s->scr = 0;
    s->dll = 12; /* 9600 baud, as firmware commonly leaves it */
    s->dlm = 0;
    s->msr = modem_lines(s);
    s->overrun = false;
    s->thre_pending = false;
    s->last_rx = 0;
    s->rx_head = s->rx_count = 0;
    irq_update(s);
}

void serial_reset(Serial *s)
{
    g_mutex_lock(&s->lock);
    serial_reset_locked(s);
    g_mutex_unlock(&s->lock);
}

Serial *serial_create(MemoryRegion *io, uint16_t base, IrqLine irq, Chardev *chr)
{
    Serial *s = g_new0(Serial, 1);

    g_mutex_init(&s->lock);
    s->irq = irq;
    s->chr = chr;
    serial_reset_locked(s);
    s->mr = memory_region_add_io(io, base, "serial", SERIAL_NR_PORTS, &serial_ops, s, &s->lock);
    return s;
}

void serial_free(Serial *s)
{
    if (!s)
        return;
    memory_region_free(s->mr);
    g_mutex_clear(&s->lock);
    g_free(s);
}

/* ---- migration (layout in serial.h) ----------------------------------- */

#define STATE_FIXED_LEN 12
#define STATE_OVERRUN 0x01
#define STATE_THRE_PENDING 0x02
#define STATE_IRQ 0x04

void serial_state_save(Serial *s, GByteArray *out)
{
    uint8_t head[STATE_FIXED_LEN];

    g_mutex_lock(&s->lock);
    head[0] = s->ier;
    head[1] = s->lcr;
    head[2] = s->mcr;
    head[3] = s->fcr;
    head[4] = s->scr;
    head[5] = s->dll;
    head[6] = s->dlm;
    head[7] = s->msr;
    head[8] = (s->overrun ? STATE_OVERRUN : 0) | (s->thre_pending ? STATE_THRE_PENDING : 0) |
              (s->irq_level ? STATE_IRQ : 0);
    head[9] = s->last_rx;
    head[10] = s->rx_count & 0xff;
    head[11] = s->rx_count >> 8;
    g_byte_array_append(out, head, sizeof(head));
    for (size_t i = 0; i < s->rx_count; i++)
        g_byte_array_append(out, &s->rx[(s->rx_head + i) % SERIAL_BACKLOG_SIZE], 1);
    g_mutex_unlock(&s->lock);
}

static bool state_error(GError **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static bool state_error(GError **errp, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "serial state: %s", msg);
    return false;
}

bool serial_state_load(Serial *s, const uint8_t *data, size_t len, uint32_t version,
                       GError **errp)
{
    if (version != SERIAL_STATE_VERSION)
        return state_error(errp, "version %u is not one this ferry reads (%u)", version,
                           SERIAL_STATE_VERSION);
    if (len < STATE_FIXED_LEN)
        return state_error(errp, "%zu bytes, shorter than the %d fixed ones", len,
                           STATE_FIXED_LEN);

    /* Decode into a scratch copy, so that a bad stream changes nothing. */
    Serial n = { 0 };
    n.ier = data[0];
    n.lcr = data[1];
    n.mcr = data[2];
    n.fcr = data[3];
    n.scr = data[4];
    n.dll = data[5];
    n.dlm = data[6];
    n.msr = data[7];
    uint8_t flags = data[8];
    n.last_rx = data[9];
    n.rx_count = data[10] | (size_t)data[11] << 8;

    if (n.ier & ~IER_MASK)
        return state_error(errp, "IER 0x%02x has bits a 16550A lacks", n.ier);
    if (n.mcr & ~MCR_MASK)
        return state_error(errp, "MCR 0x%02x has bits a 16550A lacks", n.mcr);
    if (n.fcr != 0 && (!(n.fcr & FCR_FIFO_ENABLE) || (n.fcr & ~FCR_STORED)))
        return state_error(errp, "FCR 0x%02x is not a value the device stores", n.fcr);
    if ((n.msr & ~MSR_DELTAS) != modem_lines(&n))
        return state_error(errp, "MSR 0x%02x disagrees with MCR 0x%02x's modem lines", n.msr,
                           n.mcr);
    if (flags & ~(STATE_OVERRUN | STATE_THRE_PENDING | STATE_IRQ))
        return state_error(errp, "unknown flags 0x%02x", flags);
    if (n.rx_count > SERIAL_BACKLOG_SIZE)
        return state_error(errp, "%zu received bytes, more than the %d-byte backlog",
                           n.rx_count, SERIAL_BACKLOG_SIZE);
    if (len != STATE_FIXED_LEN + n.rx_count)
        return state_error(errp, "%zu bytes for %zu received bytes (want %zu)", len,
                           n.rx_count, STATE_FIXED_LEN + n.rx_count);
    n.overrun = flags & STATE_OVERRUN;
    n.thre_pending = flags & STATE_THRE_PENDING;
    bool level = pending_interrupt(&n) != IIR_NO_INT;
    if (level != !!(flags & STATE_IRQ))
        return state_error(errp, "IRQ line %s, but the registers say %s",
                           (flags & STATE_IRQ) ? "high" : "low", level ? "high" : "low");

    g_mutex_lock(&s->lock);
    s->ier = n.ier;
    s->lcr = n.lcr;
    s->mcr = n.mcr;
    s->fcr = n.fcr;
    s->scr = n.scr;
    s->dll = n.dll;
    s->dlm = n.dlm;
    s->msr = n.msr;
    s->overrun = n.overrun;
    s->thre_pending = n.thre_pending;
    s->last_rx = n.last_rx;
    s->rx_head = 0;
    s->rx_count = n.rx_count;
    memcpy(s->rx, data + STATE_FIXED_LEN, n.rx_count);
    /* Drive the line whatever it was: this KVM has never seen it. */
    s->irq_level = level;
    irq_line_set(&s->irq, level);
    g_mutex_unlock(&s->lock);
    return true;
}
