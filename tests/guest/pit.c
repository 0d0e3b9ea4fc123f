/*
 * Time keeping. PIT channel 0 runs free in mode 2 and is read by latching
 * (ports 0x40-0x43 only: port 0x61 and the speaker gate are not always there;
 * IRQ0 stays masked). Reading the PIT costs three port exits and it wraps
 * every 55 ms, so it only calibrates the TSC, which then serves time_us() in
 * any ring and over any interval.
 */
#include "pit.h"

#define PIT_HZ 1193182u
#define PIT_CHANNEL0 0x40
#define PIT_COMMAND  0x43
#define CALIBRATION_PIT_TICKS 23864     /* 20 ms */

static uint64_t tsc_start, tsc_per_ms;

static uint16_t pit_read(void)
{
    outb(PIT_COMMAND, 0x00);        /* latch channel 0 */
    uint8_t lo = inb(PIT_CHANNEL0);
    uint8_t hi = inb(PIT_CHANNEL0);
    return (uint16_t)(lo | (hi << 8));
}

void pit_init(void)
{
    outb(PIT_COMMAND, 0x34);        /* channel 0, lo/hi byte, mode 2, binary */
    outb(PIT_CHANNEL0, 0);
    outb(PIT_CHANNEL0, 0);
}

/* 20 ms of PIT ticks against the TSC.  Done on first use of time_us(), so
 * that a test that never asks for the time (hello) boots without it. */
static void tsc_calibrate(void)
{
    uint16_t first = pit_read();
    uint64_t tsc0 = rdtsc(), tsc1;
    uint32_t ticks;
    do {
        ticks = (uint16_t)(first - pit_read());     /* counts down, wraps */
        tsc1 = rdtsc();
    } while (ticks < CALIBRATION_PIT_TICKS);
    tsc_per_ms = (tsc1 - tsc0) * (PIT_HZ / 1000) / ticks;
    if (!tsc_per_ms)
        tsc_per_ms = 1;
    tsc_start = tsc0;
}

uint64_t time_us(void)
{
    if (!tsc_per_ms)
        tsc_calibrate();
    return (rdtsc() - tsc_start) * 1000 / tsc_per_ms;
}

uint64_t tsc_per_ms_get(void)
{
    if (!tsc_per_ms)
        tsc_calibrate();
    return tsc_per_ms;
}

void delay_us(uint64_t us)
{
    uint64_t end = time_us() + us;
    while (time_us() < end)
        cpu_relax();
}
