/* MC146818 RTC and CMOS NVRAM (ports 0x70 index, 0x71 data). */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/region.h"

typedef struct Rtc Rtc;

Rtc *rtc_create(MemoryRegion *io);
/* Control registers to power-on state; the clock and NVRAM survive, as
 * they do on a battery-backed chip. */
void rtc_reset(Rtc *rtc);
void rtc_free(Rtc *rtc);

/* For the machine to pre-set NVRAM bytes (0x0e-0x7f, except the century
 * byte 0x32 which follows the clock), e.g. memory sizes and CPU count. */
void rtc_set_cmos(Rtc *rtc, uint8_t index, uint8_t value);

/* Migration section "rtc", version 1 (145 bytes, little-endian):
 *   u8 index (0..0x7f), u8 cmos[128],
 *   i64 clock offset in seconds (guest time = host UTC + offset, so the
 *       guest's clock runs on across a migration between hosts whose UTC
 *       clocks agree), i64 guest second at the last register C read (UF).
 * Register A is stored without UIP; B with SET never has UIE. */
#define RTC_STATE_VERSION 1u
void rtc_state_save(Rtc *rtc, GByteArray *out);
bool rtc_state_load(Rtc *rtc, const uint8_t *data, size_t len, uint32_t version,
                    GError **errp);
