/*
 * I/O APIC programming: IOREGSEL at +0, IOWIN at +0x10; register 1 holds the
 * number of pins, registers 0x10 + 2n / 0x11 + 2n pin n's redirection entry.
 */
#include "ioapic.h"

#define IOREGSEL 0x00
#define IOWIN    0x10
#define REG_VER  0x01
#define REG_REDIR 0x10

#define RTE_ACTIVE_LOW (1u << 13)
#define RTE_REMOTE_IRR (1u << 14)
#define RTE_LEVEL      (1u << 15)
#define RTE_MASKED     (1u << 16)

static uint64_t ioapic_base;
static uint32_t ioapic_gsi_base, ioapic_pins;

static uint32_t ioapic_read(uint32_t reg)
{
    mmio_write32(ioapic_base + IOREGSEL, reg);
    return mmio_read32(ioapic_base + IOWIN);
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
    mmio_write32(ioapic_base + IOREGSEL, reg);
    mmio_write32(ioapic_base + IOWIN, v);
}

const char *ioapic_init(uint64_t base, uint32_t gsi_base)
{
    if (!base || base >= GIB(4) || base & 0xf)
        return "no usable IOAPIC address in the MADT";
    ioapic_base = base;
    ioapic_gsi_base = gsi_base;
    uint32_t ver = ioapic_read(REG_VER);
    ioapic_pins = ((ver >> 16) & 0xff) + 1;
    if (ver == 0xffffffffu || ioapic_pins < 16)
        return "IOAPIC version register reads nonsense";
    for (uint32_t pin = 0; pin < ioapic_pins; pin++)
        ioapic_write(REG_REDIR + 2 * pin, RTE_MASKED);
    return NULL;
}

static bool pin_of(uint32_t gsi, uint32_t *pin)
{
    if (gsi < ioapic_gsi_base || gsi - ioapic_gsi_base >= ioapic_pins)
        return false;
    *pin = gsi - ioapic_gsi_base;
    return true;
}

const char *ioapic_route(uint32_t gsi, uint8_t vector, bool level, bool active_low,
                         uint32_t apic_id)
{
    uint32_t pin;
    if (!pin_of(gsi, &pin))
        return "GSI not on the IOAPIC";
    uint32_t low = vector | RTE_MASKED | (level ? RTE_LEVEL : 0) | (active_low ? RTE_ACTIVE_LOW : 0);
    ioapic_write(REG_REDIR + 2 * pin, RTE_MASKED);
    ioapic_write(REG_REDIR + 2 * pin + 1, apic_id << 24);
    ioapic_write(REG_REDIR + 2 * pin, low);
    return NULL;
}

void ioapic_mask(uint32_t gsi, bool masked)
{
    uint32_t pin;
    if (!pin_of(gsi, &pin))
        return;
    uint32_t low = ioapic_read(REG_REDIR + 2 * pin) & ~RTE_REMOTE_IRR;
    ioapic_write(REG_REDIR + 2 * pin, masked ? low | RTE_MASKED : low & ~RTE_MASKED);
}

uint32_t ioapic_entry(uint32_t gsi)
{
    uint32_t pin;
    return pin_of(gsi, &pin) ? ioapic_read(REG_REDIR + 2 * pin) : 0;
}
