/* i8042 keyboard controller without a keyboard or mouse.
 *
 * Emulated: the status register, the command byte (0x20 read, 0x60 write),
 * self tests (0xaa -> 0x55, 0xa9/0xab -> 0x00 "interface OK"), port
 * enable/disable (0xa7/0xa8/0xad/0xae, reflected in the command byte), the
 * output port (0xd0 read, 0xd1 write: bit 0 clear resets the machine; the
 * A20 bit is accepted and ignored, A20 is always on), 0xd2/0xd3 (echo a
 * byte as if from the keyboard/mouse), and the pulse commands 0xf0-0xff
 * (bit 0 clear in the low nibble pulses reset: 0xfe is the classic reboot).
 * Replies are polled from port 0x60; IRQ 1/12 are never raised, so
 * interrupt-driven probes (Linux's AUX IRQ test, atkbd) time out and find no
 * devices.  Bytes sent to the keyboard or mouse are dropped.  Port 0x61
 * (speaker/PIT gate) is not here: the in-kernel PIT emulates it.
 */
#include "hw/i8042.h"

#include "vmm/runstate.h"

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT 0x64

enum {
    STATUS_OBF = 0x01, /* a byte waits in the output buffer */
    STATUS_SYS = 0x04, /* copy of command-byte bit 2: POST passed */
    STATUS_CMD = 0x08, /* last write went to the command port */
    STATUS_UNLOCKED = 0x10, /* keyboard not inhibited by the key lock */
    STATUS_AUX_OBF = 0x20, /* the output byte is from the mouse */

    CMDBYTE_SYS = 0x04,
    CMDBYTE_KBD_DISABLED = 0x10,
    CMDBYTE_AUX_DISABLED = 0x20,
    /* keyboard IRQ on, system flag, scancode translation, as BIOSes leave it */
    CMDBYTE_DEFAULT = 0x45,

    OUTPORT_RESET_LINE = 0x01, /* 0 = hold the CPU in reset */
    OUTPORT_A20 = 0x02,
    OUTPORT_DEFAULT = OUTPORT_RESET_LINE | OUTPORT_A20,
};

enum {
    CMD_READ_CMDBYTE = 0x20,
    CMD_WRITE_CMDBYTE = 0x60,
    CMD_AUX_DISABLE = 0xa7,
    CMD_AUX_ENABLE = 0xa8,
    CMD_AUX_TEST = 0xa9,
    CMD_SELF_TEST = 0xaa,
    CMD_KBD_TEST = 0xab,
    CMD_KBD_DISABLE = 0xad,
    CMD_KBD_ENABLE = 0xae,
    CMD_READ_OUTPORT = 0xd0,
    CMD_WRITE_OUTPORT = 0xd1,
    CMD_WRITE_KBD_OBUF = 0xd2,
    CMD_WRITE_AUX_OBUF = 0xd3,
    CMD_WRITE_AUX = 0xd4,
};

#define SELF_TEST_PASSED 0x55
#define INTERFACE_TEST_PASSED 0x00

struct I8042 {
    GMutex lock;
    MemoryRegion *data_mr, *cmd_mr;

    uint8_t cmdbyte;
    uint8_t outport;
    uint8_t pending_cmd; /* a command waiting for its data byte, or 0 */
    uint8_t obuf; /* port 0x60 reads this; kept after the read */
    bool obuf_full, obuf_from_aux;
    bool last_write_was_cmd;
};

static void reply(I8042 *kbc, uint8_t byte, bool from_aux)
{
    kbc->obuf = byte;
    kbc->obuf_full = true;
    kbc->obuf_from_aux = from_aux;
}

static void write_outport(I8042 *kbc, uint8_t val)
{
    kbc->outport = val | OUTPORT_A20;
    if (!(val & OUTPORT_RESET_LINE)) {
        kbc->outport |= OUTPORT_RESET_LINE; /* the line comes back after the reset */
        runstate_request_reset();
    }
}

static void run_command(I8042 *kbc, uint8_t cmd)
{
    kbc->pending_cmd = 0;
    switch (cmd) {
    case CMD_READ_CMDBYTE:
        reply(kbc, kbc->cmdbyte, false);
        break;
    case CMD_WRITE_CMDBYTE:
    case CMD_WRITE_OUTPORT:
    case CMD_WRITE_KBD_OBUF:
    case CMD_WRITE_AUX_OBUF:
    case CMD_WRITE_AUX:
        kbc->pending_cmd = cmd; /* the data byte follows on port 0x60 */
        break;
    case CMD_AUX_DISABLE:
        kbc->cmdbyte |= CMDBYTE_AUX_DISABLED;
        break;
    case CMD_AUX_ENABLE:
        kbc->cmdbyte &= ~CMDBYTE_AUX_DISABLED;
        break;
    case CMD_AUX_TEST:
    case CMD_KBD_TEST:
        reply(kbc, INTERFACE_TEST_PASSED, false);
        break;
    case CMD_SELF_TEST:
        kbc->cmdbyte |= CMDBYTE_SYS;
        reply(kbc, SELF_TEST_PASSED, false);
        break;
    case CMD_KBD_DISABLE:
        kbc->cmdbyte |= CMDBYTE_KBD_DISABLED;
        break;
    case CMD_KBD_ENABLE:
        kbc->cmdbyte &= ~CMDBYTE_KBD_DISABLED;
        break;
    case CMD_READ_OUTPORT:
        reply(kbc, kbc->outport, false);
        break;
    default:
        /* 0xf0-0xff pulse output-port bits whose mask bit is 0 for ~6 us;
         * bit 0 is the reset line. */
        if ((cmd & 0xf0) == 0xf0 && !(cmd & OUTPORT_RESET_LINE))
            runstate_request_reset();
        break; /* other commands: nothing to do without devices */
    }
}

static void write_data(I8042 *kbc, uint8_t val)
{
    uint8_t cmd = kbc->pending_cmd;

    kbc->pending_cmd = 0;
    switch (cmd) {
    case CMD_WRITE_CMDBYTE:
        kbc->cmdbyte = val;
        break;
    case CMD_WRITE_OUTPORT:
        write_outport(kbc, val);
        break;
    case CMD_WRITE_KBD_OBUF:
        reply(kbc, val, false);
        break;
    case CMD_WRITE_AUX_OBUF:
        reply(kbc, val, true);
        break;
    default:
        break; /* to the keyboard or mouse, neither of which exists */
    }
}

static uint8_t read_status(const I8042 *kbc)
{
    uint8_t status = STATUS_UNLOCKED;

    if (kbc->obuf_full)
        status |= STATUS_OBF;
    if (kbc->obuf_full && kbc->obuf_from_aux)
        status |= STATUS_AUX_OBF;
    if (kbc->cmdbyte & CMDBYTE_SYS)
        status |= STATUS_SYS;
    if (kbc->last_write_was_cmd)
        status |= STATUS_CMD;
    return status; /* input buffer always empty: the guest never waits to write */
}

static uint64_t i8042_data_read(void *opaque, uint64_t offset, unsigned size)
{
    I8042 *kbc = opaque;

    kbc->obuf_full = false;
    return kbc->obuf;
}

static void i8042_data_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    I8042 *kbc = opaque;

    kbc->last_write_was_cmd = false;
    write_data(kbc, value);
}

static uint64_t i8042_cmd_read(void *opaque, uint64_t offset, unsigned size)
{
    return read_status(opaque);
}

static void i8042_cmd_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    I8042 *kbc = opaque;

    kbc->last_write_was_cmd = true;
    run_command(kbc, value);
}

static const MemoryRegionOps i8042_data_ops = {
    .read = i8042_data_read,
    .write = i8042_data_write,
};

static const MemoryRegionOps i8042_cmd_ops = {
    .read = i8042_cmd_read,
    .write = i8042_cmd_write,
};

static void i8042_reset_locked(I8042 *kbc)
{
    kbc->cmdbyte = CMDBYTE_DEFAULT;
    kbc->outport = OUTPORT_DEFAULT;
    kbc->pending_cmd = 0;
    kbc->obuf = 0;
    kbc->obuf_full = kbc->obuf_from_aux = false;
    kbc->last_write_was_cmd = false;
}

void i8042_reset(I8042 *kbc)
{
    g_mutex_lock(&kbc->lock);
    i8042_reset_locked(kbc);
    g_mutex_unlock(&kbc->lock);
}

I8042 *i8042_create(MemoryRegion *io)
{
    I8042 *kbc = g_new0(I8042, 1);

    g_mutex_init(&kbc->lock);
    i8042_reset_locked(kbc);
    /* Two one-port regions: 0x61-0x63 in between are not ours. */
    kbc->data_mr = memory_region_add_io(io, I8042_DATA_PORT, "i8042-data", 1, &i8042_data_ops, kbc,
                                        &kbc->lock);
    kbc->cmd_mr = memory_region_add_io(io, I8042_CMD_PORT, "i8042-cmd", 1, &i8042_cmd_ops, kbc,
                                       &kbc->lock);
    return kbc;
}

void i8042_free(I8042 *kbc)
{
    if (!kbc)
        return;
    memory_region_free(kbc->data_mr);
    memory_region_free(kbc->cmd_mr);
    g_mutex_clear(&kbc->lock);
    g_free(kbc);
}

/* ---- migration (layout in i8042.h) ------------------------------------ */

#define STATE_LEN 5
#define STATE_OBUF_FULL 0x01
#define STATE_OBUF_FROM_AUX 0x02
#define STATE_LAST_WRITE_CMD 0x04

void i8042_state_save(I8042 *kbc, GByteArray *out)
{
    uint8_t buf[STATE_LEN];

    g_mutex_lock(&kbc->lock);
    buf[0] = kbc->cmdbyte;
    buf[1] = kbc->outport;
    buf[2] = kbc->pending_cmd;
    buf[3] = kbc->obuf;
    buf[4] = (kbc->obuf_full ? STATE_OBUF_FULL : 0) |
             (kbc->obuf_from_aux ? STATE_OBUF_FROM_AUX : 0) |
             (kbc->last_write_was_cmd ? STATE_LAST_WRITE_CMD : 0);
    g_mutex_unlock(&kbc->lock);
    g_byte_array_append(out, buf, sizeof(buf));
}

static bool pending_cmd_valid(uint8_t cmd)
{
    switch (cmd) {
    case 0:
    case CMD_WRITE_CMDBYTE:
    case CMD_WRITE_OUTPORT:
    case CMD_WRITE_KBD_OBUF:
    case CMD_WRITE_AUX_OBUF:
    case CMD_WRITE_AUX:
        return true;
    default:
        return false;
    }
}

bool i8042_state_load(I8042 *kbc, const uint8_t *data, size_t len, uint32_t version,
                      GError **errp)
{
    if (version != I8042_STATE_VERSION) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "i8042 state: version %u is not one this ferry reads (%u)", version,
                    I8042_STATE_VERSION);
        return false;
    }
    if (len != STATE_LEN) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "i8042 state: %zu bytes, expected %d", len, STATE_LEN);
        return false;
    }
    if ((data[1] & OUTPORT_DEFAULT) != OUTPORT_DEFAULT || !pending_cmd_valid(data[2]) ||
        (data[4] & ~(STATE_OBUF_FULL | STATE_OBUF_FROM_AUX | STATE_LAST_WRITE_CMD))) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "i8042 state: output port 0x%02x, pending command 0x%02x or flags 0x%02x "
                    "is not a state the controller can be in", data[1], data[2], data[4]);
        return false;
    }

    g_mutex_lock(&kbc->lock);
    kbc->cmdbyte = data[0];
    kbc->outport = data[1];
    kbc->pending_cmd = data[2];
    kbc->obuf = data[3];
    kbc->obuf_full = data[4] & STATE_OBUF_FULL;
    kbc->obuf_from_aux = data[4] & STATE_OBUF_FROM_AUX;
    kbc->last_write_was_cmd = data[4] & STATE_LAST_WRITE_CMD;
    g_mutex_unlock(&kbc->lock);
    return true;
}
