/* Time: the TSC, calibrated once against the 8254 PIT. */
#ifndef PIT_H
#define PIT_H

#include "guest.h"

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

void pit_init(void);
/* Microseconds since pit_init(). */
uint64_t time_us(void);
void delay_us(uint64_t us);
/* TSC ticks per millisecond (calibrates on first use, ring 0 only). */
uint64_t tsc_per_ms_get(void);

#endif
