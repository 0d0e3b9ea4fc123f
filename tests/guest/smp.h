/* Starting the application processors with INIT-SIPI-SIPI. */
#ifndef SMP_H
#define SMP_H

#include "guest.h"

#define MAX_CPUS 64                 /* keep in sync with AP_STACKS in entry.S */
#define SMP_TRAMPOLINE 0x30000      /* below 1 MiB, page aligned: SIPI vector 0x30 */

/* CPUs that have checked in, the BSP included, and their APIC IDs. */
extern volatile uint32_t cpus_online;
extern volatile uint32_t cpu_apic_ids[MAX_CPUS];

/* Set before smp_start_aps(): each AP calls it after checking in, with its
 * index in cpu_apic_ids (the BSP is 0); it halts if the call returns. */
extern void (*volatile ap_work)(uint32_t cpu);

/*
 * Wakes all APs and waits until `expected` CPUs are online (0: until the
 * count has been stable for a while). Returns the number online.
 */
uint32_t smp_start_aps(uint32_t expected, uint64_t timeout_us);

#endif
