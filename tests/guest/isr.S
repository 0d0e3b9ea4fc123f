/*
 * Interrupt and exception entry stubs, one 16-byte slot per vector so C can
 * compute a vector's handler as isr_stubs + 16 * vector.
 */
    .text
    .code64
    .altmacro

.macro ISR_STUB vec
    .balign 16
    .if (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
    .else
    pushq $0                        /* no CPU error code: keep one frame shape */
    .endif
    pushq $\vec
    jmp isr_common
.endm

    .balign 16
    .globl isr_stubs
isr_stubs:
    .set vec, 0
    .rept 256
    ISR_STUB %vec
    .set vec, vec + 1
    .endr

/* Frame layout must match struct interrupt_frame in interrupts.h. */
isr_common:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rdi
    call interrupt_dispatch
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp                  /* vector, error code */
    iretq
