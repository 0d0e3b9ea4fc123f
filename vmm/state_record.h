/* The tagged little-endian records vCPU and KVM state sections are made
 * of: u32 tag, u32 length, payload. */
#pragma once

#include <glib.h>
#include <stdint.h>

static inline void state_put_u32(GByteArray *out, uint32_t v)
{
    v = GUINT32_TO_LE(v);
    g_byte_array_append(out, (const guint8 *)&v, sizeof(v));
}

static inline void state_put_record(GByteArray *out, uint32_t tag, const void *data,
                                    uint32_t len)
{
    state_put_u32(out, tag);
    state_put_u32(out, len);
    g_byte_array_append(out, data, len);
}
