/* MC146818 RTC and CMOS NVRAM (ports 0x70 index, 0x71 data). */
#pragma once

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
