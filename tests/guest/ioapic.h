/* The I/O APIC: routing one GSI to a vector on a local APIC. */
#ifndef IOAPIC_H
#define IOAPIC_H

#include "guest.h"

/* Finds the IOAPIC (MMIO base from the MADT, identity mapped below 4 GiB)
 * and masks every pin; returns an error message or NULL. */
const char *ioapic_init(uint64_t base, uint32_t gsi_base);
/* Programs the pin of `gsi`, fixed delivery, physical destination, masked. */
const char *ioapic_route(uint32_t gsi, uint8_t vector, bool level, bool active_low,
                         uint32_t apic_id);
void ioapic_mask(uint32_t gsi, bool masked);
/* The low dword of the pin's redirection entry (for diagnostics). */
uint32_t ioapic_entry(uint32_t gsi);

#endif
