/* CRC32C; see crc32c.h. */
#include "migration/crc32c.h"

#include <glib.h>
#include <stdbool.h>
#include <string.h>

#define CRC32C_POLY_REVERSED 0x82f63b78u

static uint32_t crc32c_table[256];

static void crc32c_table_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int bit = 0; bit < 8; bit++)
            c = (c >> 1) ^ ((c & 1) ? CRC32C_POLY_REVERSED : 0);
        crc32c_table[i] = c;
    }
}

static uint32_t crc32c_soft(uint32_t crc, const uint8_t *p, size_t len)
{
    while (len--)
        crc = crc32c_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const uint8_t *p,
                                                                size_t len)
{
    uint64_t c = crc;

    for (; len >= 8; p += 8, len -= 8) {
        uint64_t word;
        memcpy(&word, p, sizeof(word)); /* unaligned-safe; x86 is little-endian as the CRC wants */
        c = __builtin_ia32_crc32di(c, word);
    }
    for (; len; p++, len--)
        c = __builtin_ia32_crc32qi((uint32_t)c, *p);
    return (uint32_t)c;
}
#endif

static bool use_sse42;

static void crc32c_init(void)
{
    static gsize once;

    if (g_once_init_enter(&once)) {
        crc32c_table_init();
#if defined(__x86_64__)
        use_sse42 = __builtin_cpu_supports("sse4.2");
#endif
        g_once_init_leave(&once, 1);
    }
}

uint32_t crc32c_update_portable(uint32_t crc, const void *data, size_t len)
{
    crc32c_init();
    return ~crc32c_soft(~crc, data, len);
}

uint32_t crc32c_update(uint32_t crc, const void *data, size_t len)
{
    crc32c_init();
    /* The standard pre- and post-inversion, done here so that callers can
     * chain calls with plain values. */
    crc = ~crc;
#if defined(__x86_64__)
    if (use_sse42)
        return ~crc32c_sse42(crc, data, len);
#endif
    return ~crc32c_soft(crc, data, len);
}
