/* Time: the TSC, calibrated once against the 8254 PIT. */
#ifndef PIT_H
#define PIT_H

#include "guest.h"

void pit_init(void);
/* Microseconds since pit_init(). */
uint64_t time_us(void);
void delay_us(uint64_t us);

#endif
