/* IDT, TSS and interrupt dispatch. */
#ifndef INTERRUPTS_H
#define INTERRUPTS_H

#include "guest.h"

struct interrupt_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*interrupt_handler)(struct interrupt_frame *frame);

#define VECTOR_LAPIC_TIMER 0x20
#define VECTOR_SPURIOUS    0xff
#define VECTOR_INVALID_OPCODE 6     /* also the ring 3 -> ring 0 return, see user.S */

void interrupts_init(void);
/* On AP number cpu (1..16): load the shared IDT and a GDT copy with the AP's
 * own TSS, so that exceptions it takes in ring 3 reach the C handlers
 * (which must not assume the BSP). False for other numbers. */
bool interrupts_init_ap(uint32_t cpu);
void interrupts_set_handler(unsigned vector, interrupt_handler handler);

/* Set by tests so an unexpected exception names the test that failed. */
extern const char *current_test;

#endif
