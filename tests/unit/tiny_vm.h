/* A tiny real VM on /dev/kvm for vCPU tests: 1 MiB of RAM and a counter
 * port (0x80).  With `boot`, the BSP runs a real-mode loop at 0:0x1000 --
 * out 0x80, al; inc ax; jmp back -- so every turn is one port-I/O exit. */
#pragma once

#include <stdbool.h>

#include "mem/kvm_memslots.h"
#include "mem/region.h"
#include "vmm/kvm.h"
#include "vmm/vcpu.h"

#define TINY_VM_RAM_SIZE (1u << 20)
#define TINY_VM_CODE_ADDR 0x1000
#define TINY_VM_COUNTER_PORT 0x80

/* What the guest wrote to the counter port. */
typedef struct Counter {
    int writes; /* atomic */
    int first_value; /* atomic; -1 until the first write */
    int last_value; /* atomic */
} Counter;

typedef struct TinyVm {
    Kvm *kvm;
    RamBlock *ram;
    MemoryRegion *system, *io_root, *ram_mr, *counter_mr;
    AddressSpace *memory, *io;
    KvmMemslots *slots;
    Vcpus *vcpus;
    Counter counter;
} TinyVm;

/* `cpus` vCPUs; with `boot` false the BSP keeps KVM's reset state (a
 * migration destination). */
void tiny_vm_init(TinyVm *vm, unsigned cpus, bool boot);
void tiny_vm_free(TinyVm *vm);
/* Waits for the guest to pass `count` port writes; meson's timeout ends a
 * hang.  Returns the count seen. */
int tiny_vm_wait_writes_above(TinyVm *vm, int count);
