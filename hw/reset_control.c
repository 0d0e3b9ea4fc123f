#include "hw/reset_control.h"

#include <glib.h>

#include "vmm/runstate.h"

#define RCR_SYS_RST (1u << 1) /* stored: "hard" reset; a VM has only one kind */
#define RCR_RST_CPU (1u << 2)

struct ResetControl {
    GMutex lock;
    MemoryRegion *mr;
    uint8_t value;
};

static uint64_t reset_control_read(void *opaque, uint64_t offset, unsigned size)
{
    ResetControl *rc = opaque;

    return rc->value;
}

static void reset_control_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    ResetControl *rc = opaque;

    /* The reset happens on the 0 -> 1 edge of RST_CPU. */
    if ((value & RCR_RST_CPU) && !(rc->value & RCR_RST_CPU))
        runstate_request_reset();
    rc->value = value & RCR_SYS_RST;
}

static const MemoryRegionOps reset_control_ops = {
    .read = reset_control_read,
    .write = reset_control_write,
};

ResetControl *reset_control_create(MemoryRegion *io)
{
    ResetControl *rc = g_new0(ResetControl, 1);

    g_mutex_init(&rc->lock);
    rc->mr = memory_region_add_io(io, RESET_CONTROL_PORT, "reset-control", 1, &reset_control_ops,
                                  rc, &rc->lock);
    return rc;
}

void reset_control_reset(ResetControl *rc)
{
    g_mutex_lock(&rc->lock);
    rc->value = 0;
    g_mutex_unlock(&rc->lock);
}

void reset_control_free(ResetControl *rc)
{
    if (!rc)
        return;
    memory_region_free(rc->mr);
    g_mutex_clear(&rc->lock);
    g_free(rc);
}

/* ---- migration (layout in reset_control.h) ---------------------------- */

void reset_control_state_save(ResetControl *rc, GByteArray *out)
{
    g_mutex_lock(&rc->lock);
    uint8_t value = rc->value;
    g_mutex_unlock(&rc->lock);
    g_byte_array_append(out, &value, 1);
}

bool reset_control_state_load(ResetControl *rc, const uint8_t *data, size_t len,
                              uint32_t version, GError **errp)
{
    if (version != RESET_CONTROL_STATE_VERSION) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "reset-control state: version %u is not one this ferry reads (%u)",
                    version, RESET_CONTROL_STATE_VERSION);
        return false;
    }
    if (len != 1 || (data[0] & ~RCR_SYS_RST)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "reset-control state: want 1 byte holding only SYS_RST, got %zu bytes%s",
                    len, len == 1 ? " with other bits set" : "");
        return false;
    }
    g_mutex_lock(&rc->lock);
    rc->value = data[0];
    g_mutex_unlock(&rc->lock);
    return true;
}
