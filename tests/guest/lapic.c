/* xAPIC register access at 0xfee00000 (identity mapped by entry.S). */
#include "lapic.h"

#define LAPIC_BASE    0xfee00000ull
#define REG_ID        0x020
#define REG_TPR       0x080
#define REG_EOI       0x0b0
#define REG_SVR       0x0f0
#define REG_IRR       0x200
#define REG_ICR_LOW   0x300
#define REG_ICR_HIGH  0x310
#define REG_LVT_TIMER 0x320
#define REG_TIMER_INITIAL 0x380
#define REG_TIMER_CURRENT 0x390
#define REG_TIMER_DIVIDE  0x3e0

#define SVR_ENABLE      0x100
#define ICR_PENDING     (1u << 12)
#define ICR_ASSERT      (1u << 14)
#define ICR_ALL_BUT_SELF (3u << 18)
#define ICR_INIT        (5u << 8)
#define ICR_STARTUP     (6u << 8)
#define LVT_MASKED      (1u << 16)
#define LVT_PERIODIC    (1u << 17)
#define SPURIOUS_VECTOR 0xff

static uint32_t lapic_read(uint32_t reg)
{
    return mmio_read32(LAPIC_BASE + reg);
}

static void lapic_write(uint32_t reg, uint32_t v)
{
    mmio_write32(LAPIC_BASE + reg, v);
}

void pic_mask_all(void)
{
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
}

void lapic_enable(void)
{
    lapic_write(REG_TPR, 0);
    lapic_write(REG_SVR, SVR_ENABLE | SPURIOUS_VECTOR);
}

uint32_t lapic_id(void)
{
    return lapic_read(REG_ID) >> 24;
}

void lapic_eoi(void)
{
    lapic_write(REG_EOI, 0);
}

static void lapic_send_ipi_all(uint32_t command)
{
    lapic_write(REG_ICR_HIGH, 0);
    lapic_write(REG_ICR_LOW, ICR_ALL_BUT_SELF | ICR_ASSERT | command);
    for (int i = 0; i < 1000 && (lapic_read(REG_ICR_LOW) & ICR_PENDING); i++)
        cpu_relax();
}

void lapic_send_init_all(void)
{
    lapic_send_ipi_all(ICR_INIT);
}

void lapic_send_sipi_all(uint8_t vector)
{
    lapic_send_ipi_all(ICR_STARTUP | vector);
}

void lapic_timer_start_periodic(uint8_t vector, uint32_t initial_count)
{
    lapic_write(REG_TIMER_DIVIDE, 0x3);     /* divide by 16 */
    lapic_write(REG_LVT_TIMER, LVT_PERIODIC | vector);
    lapic_write(REG_TIMER_INITIAL, initial_count);
}

void lapic_timer_stop(void)
{
    lapic_write(REG_LVT_TIMER, LVT_MASKED);
    lapic_write(REG_TIMER_INITIAL, 0);
}

bool lapic_irr_pending(uint8_t vector)
{
    return lapic_read(REG_IRR + (vector / 32u) * 0x10) & (1u << (vector % 32));
}

uint32_t lapic_timer_current(void)
{
    return lapic_read(REG_TIMER_CURRENT);
}
