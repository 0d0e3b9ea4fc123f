/*
 * Multiboot v1 header. Kept in its own object so that a PVH-only variant of
 * the guest can be linked without it (QEMU prefers multiboot when both exist).
 * No flag bit16: the loader uses the ELF program headers and e_entry.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000002     /* bit1: memory information wanted */

    .section .multiboot, "a"
    .balign 4
    .long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
