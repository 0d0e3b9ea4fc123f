/* Little-endian loads and stores on byte buffers.  Boot images, the
 * structures written into guest memory and the migration stream's device
 * state are little-endian and unaligned, so everything goes through memcpy
 * rather than casts. */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t le16_load(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof(v));
    return GUINT16_FROM_LE(v);
}

static inline uint32_t le32_load(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return GUINT32_FROM_LE(v);
}

static inline uint64_t le64_load(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return GUINT64_FROM_LE(v);
}

static inline void le16_store(uint8_t *p, uint16_t v)
{
    v = GUINT16_TO_LE(v);
    memcpy(p, &v, sizeof(v));
}

static inline void le32_store(uint8_t *p, uint32_t v)
{
    v = GUINT32_TO_LE(v);
    memcpy(p, &v, sizeof(v));
}

static inline void le64_store(uint8_t *p, uint64_t v)
{
    v = GUINT64_TO_LE(v);
    memcpy(p, &v, sizeof(v));
}
