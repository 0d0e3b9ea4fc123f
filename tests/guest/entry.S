/*
 * Boot entry: the PVH ELF note, the two 32-bit entry points (the multiboot
 * header is in multiboot_header.S), and the switch to long mode shared by
 * the BSP and the APs.
 *
 * Both loaders leave us in flat 32-bit protected mode with paging off. We
 * record the protocol and the boot-info pointer, identity-map the low 4 GiB
 * with 2 MiB pages (U/S set everywhere so ring 3 can touch RAM; C maps RAM
 * above 4 GiB later), enable long mode and jump to C.
 */
#define PTE_P_RW_US   0x7
#define PTE_LARGE     0x80
#define MSR_EFER      0xC0000080
#define EFER_SCE_LME  0x101
#define BOOT_MULTIBOOT 1
#define BOOT_PVH       2
#define AP_STACKS      64           /* keep in sync with MAX_CPUS in smp.h */

/* Used by the BSP and by every AP (no stack needed), GDT already loaded. */
.macro ENTER_LONG_MODE
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movl %cr4, %eax
    orl $0x20, %eax             /* PAE */
    movl %eax, %cr4
    movl $pml4, %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_SCE_LME, %eax
    wrmsr
    movl %cr0, %eax
    orl $0x80000001, %eax       /* PG | PE */
    andl $~0x60000000, %eax     /* caches on: clear CD, NW */
    movl %eax, %cr0
.endm

    /* XEN_ELFNOTE_PHYS32_ENTRY: owner "Xen", type 18, 4-byte entry address. */
    .section .note.pvh, "a", @note
    .balign 4
    .long 4, 4, 18
    .asciz "Xen"
    .long pvh_entry

    .section .text.entry32, "ax"
    .code32
    .globl multiboot_entry
multiboot_entry:
    cli
    movl %eax, boot_magic
    movl %ebx, boot_info_addr
    movl $BOOT_MULTIBOOT, boot_protocol
    jmp 1f

    .globl pvh_entry
pvh_entry:
    cli
    movl %ebx, boot_info_addr
    movl $BOOT_PVH, boot_protocol
1:
    /* Zero .bss here: a reset may restart us without reloading the image. */
    movl $bss_zero_start, %edi
    movl $bss_zero_end, %ecx
    subl %edi, %ecx
    shrl $2, %ecx
    xorl %eax, %eax
    cld
    rep stosl
    lgdt gdt_descriptor
    movl $boot_stack_top, %esp
    call build_low_page_tables
    ENTER_LONG_MODE
    ljmp $0x08, $bsp_entry64

/* PML4[0] -> PDPT; PDPT[0..3] -> the four PDs of pd_low (512 x 2 MiB pages
 * each = 4 GiB, built at assembly time). */
build_low_page_tables:
    movl $pdpt, %eax
    orl $PTE_P_RW_US, %eax
    movl %eax, pml4
    movl $0, %ecx
2:  movl %ecx, %eax
    shll $12, %eax
    addl $pd_low, %eax
    orl $PTE_P_RW_US, %eax
    movl %eax, pdpt(,%ecx,8)
    incl %ecx
    cmpl $4, %ecx
    jne 2b
    ret


/* APs arrive here from the real-mode trampoline (smp_trampoline.S). */
    .globl ap_entry32
ap_entry32:
    ENTER_LONG_MODE
    ljmp $0x08, $ap_entry64

    .code64
    .text
bsp_entry64:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs
    movq $boot_stack_top, %rsp
    call guest_main
4:  hlt
    jmp 4b

/* Each AP takes its own stack by index, then enters C. */
ap_entry64:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl $1, %eax
    lock xaddl %eax, ap_stack_next
    cmpl $AP_STACKS, %eax
    jae 5f
    incl %eax
    shll $12, %eax
    movq $ap_stacks, %rsp
    addq %rax, %rsp
    call ap_main
5:  cli
    hlt
    jmp 5b

/*
 * GDT: 64-bit kernel code and data, the 32-bit code segment the AP
 * trampoline needs, user data and code (DPL3), and the TSS (filled in by C).
 */
    .data
    .balign 16
    .globl gdt, gdt_tss
gdt:
    .quad 0
    .quad 0x00af9a000000ffff    /* 0x08 kernel code, 64-bit */
    .quad 0x00cf92000000ffff    /* 0x10 kernel data */
    .quad 0x00cf9a000000ffff    /* 0x18 kernel code, 32-bit */
    .quad 0x00cff2000000ffff    /* 0x20 user data */
    .quad 0x00affa000000ffff    /* 0x28 user code, 64-bit */
gdt_tss:
    .quad 0, 0                  /* 0x30 TSS, 16 bytes in long mode */
gdt_end:

/*
 * AP trampoline: copied to SMP_TRAMPOLINE (a page below 1 MiB) and entered
 * through SIPI in real mode with CS = page number << 8, IP = 0.
 */
    .section .rodata
    .code16
    .globl smp_trampoline_start, smp_trampoline_end
smp_trampoline_start:
    cli
    movw %cs, %ax
    movw %ax, %ds
    lgdtl tramp_gdtr - smp_trampoline_start
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $0x18, $ap_entry32
tramp_gdtr:
    .word gdt_end - gdt - 1
    .long gdt
smp_trampoline_end:
    .code64

    .data
    .globl gdt_descriptor
gdt_descriptor:
    .word gdt_end - gdt - 1
    .quad gdt

    .globl boot_protocol, boot_magic, boot_info_addr
boot_protocol:  .long 0
boot_magic:     .long 0
boot_info_addr: .long 0

    .bss
    .balign 4096
    .globl pml4, pdpt
pml4:   .skip 4096
pdpt:   .skip 4096
ap_stack_next: .long 0

/* The four PDs of the low 4 GiB never change: the loader copies them in.
 * Filling them here took ~12 ms of emulated ring-0 loop on nested hosts. */
    .data
    .balign 4096
    .globl pd_low
pd_low:
    .set page, 0
    .rept 4 * 512
    .quad (page << 21) | PTE_P_RW_US | PTE_LARGE
    .set page, page + 1
    .endr

    .section .bss.noinit, "aw", @nobits
    .balign 4096
    .globl ap_stacks
ap_stacks: .skip AP_STACKS * 4096
    .skip 16384
boot_stack_top:
