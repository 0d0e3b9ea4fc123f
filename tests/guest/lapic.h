/* Local APIC (xAPIC MMIO at its default base) and the legacy PIC. */
#ifndef LAPIC_H
#define LAPIC_H

#include "guest.h"

void pic_mask_all(void);
void lapic_enable(void);
uint32_t lapic_id(void);
void lapic_eoi(void);
/* Broadcast to all CPUs but this one. */
void lapic_send_init_all(void);
void lapic_send_sipi_all(uint8_t vector);
void lapic_timer_start_periodic(uint8_t vector, uint32_t initial_count);
void lapic_timer_stop(void);
uint32_t lapic_timer_current(void);
/* The vector is requested and not yet delivered (IRR bit). */
bool lapic_irr_pending(uint8_t vector);

#endif
