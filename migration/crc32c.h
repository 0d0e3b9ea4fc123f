/* CRC32C (Castagnoli), the checksum that ends a migration stream.
 *
 * Why CRC32C and not FNV-1a or xxhash: it detects every error burst up to
 * 32 bits long (so every flipped byte in a stream, which the stream tests
 * rely on), and x86-64 computes it with one instruction per 8 bytes
 * (SSE4.2 `crc32`), which keeps a multi-gigabyte stream checksum well
 * above network speed.  FNV-1a is a multiply per byte (about 1 GB/s) and
 * guarantees nothing for short bursts.  The table fallback covers CPUs
 * without SSE4.2.  This is an integrity check against corruption, not
 * against a hostile sender: the stream reader validates every field.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC: crc32c_update(0, ...) starts one; the result of one call
 * is the `crc` of the next, so crc(a||b) = update(update(0, a), b). */
uint32_t crc32c_update(uint32_t crc, const void *data, size_t len);
/* The same with the table only, whatever the CPU: tests compare the two. */
uint32_t crc32c_update_portable(uint32_t crc, const void *data, size_t len);
