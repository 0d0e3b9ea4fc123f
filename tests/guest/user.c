/* Ring 3 support: a user stack and the #UD that brings us back (user.S). */
#include "user.h"
#include "interrupts.h"

uint64_t user_call(user_fn fn, uint64_t arg, uint64_t stack_top);
void user_return(uint64_t result) __attribute__((noreturn));
extern char user_exit_ud2[];

static uint8_t user_stack[65536] NOINIT __attribute__((aligned(16)));

static void invalid_opcode(struct interrupt_frame *f)
{
    if ((f->cs & 3) != 3 || f->rip != (uint64_t)user_exit_ud2)
        fail(current_test, "invalid opcode at rip %lx in ring %lu", f->rip, f->cs & 3);
    user_return(f->rdi);
}

void user_init(void)
{
    interrupts_set_handler(VECTOR_INVALID_OPCODE, invalid_opcode);
}

uint64_t user_run(user_fn fn, uint64_t arg)
{
    return user_call(fn, arg, (uint64_t)(user_stack + sizeof(user_stack)));
}
