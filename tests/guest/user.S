/*
 * Running a function in ring 3 and coming back.
 *
 * Down: iretq to the user code segment, with IF clear so that interrupts wait
 * for ring 0. Up: a `ud2` at the known address user_exit_ud2; the #UD goes
 * through the IDT to ring 0 on the TSS RSP0 stack and user.c recognises it.
 *
 * Why an exception: on the nested "PVM" CI host, iretq, sysretq and 64-bit
 * sysexit all reach ring 3, and exceptions raised in ring 3 are delivered
 * normally, but `int $N` from ring 3 raises #UD even through a DPL3 gate, and
 * `syscall` jumps to LSTAR without leaving ring 3.
 */
#define SEL_USER_CODE64 0x2b
#define SEL_USER_DATA   0x23
#define RFLAGS_RESERVED 0x2         /* IF off */

    .text
    .code64

/* uint64_t user_call(uint64_t (*fn)(uint64_t), uint64_t arg, uint64_t stack_top) */
    .globl user_call
user_call:
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, kernel_saved_rsp
    xchgq %rdi, %rsi                /* user_trampoline: rsi = fn, rdi = arg */
    pushq $SEL_USER_DATA
    pushq %rdx
    pushq $RFLAGS_RESERVED
    pushq $SEL_USER_CODE64
    pushq $user_trampoline
    iretq

/*
 * void user_enter(uint64_t (*fn)(uint64_t), uint64_t arg, uint64_t stack_top):
 * the same way down, never back: for CPUs that stay in ring 3 (an AP's
 * workload). fn must not return: the ud2 would land in user.c's handler,
 * which only knows the BSP's user_call.
 */
    .globl user_enter
user_enter:
    xchgq %rdi, %rsi
    pushq $SEL_USER_DATA
    pushq %rdx
    pushq $RFLAGS_RESERVED
    pushq $SEL_USER_CODE64
    pushq $user_trampoline
    iretq

/* Ring 3: call fn(arg), then hand the result (in rdi) back to ring 0. */
user_trampoline:
    call *%rsi
    movq %rax, %rdi
    .globl user_exit_ud2
user_exit_ud2:
    ud2

/*
 * Ring 0 again (jumped to from the #UD handler, on the TSS stack). The user
 * context is discarded: restore the stack saved by user_call and return.
 */
    .globl user_return
user_return:
    movq kernel_saved_rsp, %rsp
    movq %rdi, %rax
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    ret

    .data
    .balign 8
kernel_saved_rsp:   .quad 0
