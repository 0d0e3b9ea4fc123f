/* AP start-up: trampoline copy, INIT-SIPI-SIPI broadcast, check-in. */
#include "lapic.h"
#include "pit.h"
#include "smp.h"

extern char smp_trampoline_start[], smp_trampoline_end[];

volatile uint32_t cpus_online;
volatile uint32_t cpu_apic_ids[MAX_CPUS];
void (*volatile ap_work)(uint32_t cpu);

void ap_main(void);

/* Entered by each AP in long mode on its own stack (entry.S). */
void ap_main(void)
{
    uint32_t id = lapic_id();
    uint32_t slot = __atomic_fetch_add(&cpus_online, 1, __ATOMIC_SEQ_CST);
    if (slot < MAX_CPUS)
        cpu_apic_ids[slot] = id;
    void (*work)(uint32_t) = ap_work;
    if (work)
        work(slot);
    for (;;)
        __asm__ volatile("cli; hlt");
}

uint32_t smp_start_aps(uint32_t expected, uint64_t timeout_us)
{
    memcpy((void *)SMP_TRAMPOLINE, smp_trampoline_start,
           (size_t)(smp_trampoline_end - smp_trampoline_start));
    cpu_apic_ids[0] = lapic_id();
    cpus_online = 1;

    lapic_send_init_all();
    delay_us(10000);
    lapic_send_sipi_all(SMP_TRAMPOLINE >> 12);
    delay_us(200);
    lapic_send_sipi_all(SMP_TRAMPOLINE >> 12);

    /* Without an expected count, stop once nobody new shows up for 100 ms. */
    uint64_t start = time_us(), last_change = start;
    uint32_t seen = cpus_online;
    for (;;) {
        uint64_t now = time_us();
        uint32_t online = cpus_online;
        if (expected && online >= expected)
            return online;
        if (online != seen) {
            seen = online;
            last_change = now;
        }
        if (!expected && now - last_change > 100000)
            return online;
        if (now - start > timeout_us)
            return online;
        cpu_relax();
    }
}
