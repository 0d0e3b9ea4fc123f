#include "tiny_vm.h"

#include <glib.h>
#include <string.h>
#include <sys/ioctl.h>

static uint64_t counter_read(void *opaque, uint64_t offset, unsigned size)
{
    return 0;
}

static void counter_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    Counter *c = opaque;

    g_atomic_int_compare_and_exchange(&c->first_value, -1, (int)(value & 0xff));
    g_atomic_int_set(&c->last_value, (int)(value & 0xff));
    g_atomic_int_inc(&c->writes);
}

static const MemoryRegionOps counter_ops = { .read = counter_read, .write = counter_write };


void tiny_vm_init(TinyVm *vm, unsigned cpus, bool boot)
{
    static const uint8_t code[] = { 0xe6, TINY_VM_COUNTER_PORT, 0x40, 0xeb, 0xfb };
    g_autoptr(GError) err = NULL;

    vm->counter = (Counter){ .first_value = -1, .last_value = -1 };
    vm->kvm = kvm_open(&err);
    g_assert_no_error(err);
    static int vms;
    g_autofree char *name = g_strdup_printf("tiny%d.ram", vms++);
    vm->ram = ram_block_new(name, TINY_VM_RAM_SIZE, TINY_VM_RAM_SIZE, 0, NULL, &err);
    g_assert_no_error(err);
    vm->system = memory_region_new_container("system", MR_SIZE_ALL);
    vm->io_root = memory_region_new_container("io", 0x10000);
    vm->memory = address_space_new("memory", vm->system);
    vm->io = address_space_new("I/O", vm->io_root);
    vm->slots = kvm_memslots_new(vm->kvm->vm_fd, vm->kvm->nr_memslots, NULL, NULL);
    memory_listener_register(kvm_memslots_listener(vm->slots), vm->memory);
    vm->ram_mr = memory_region_new_ram(name, vm->ram);
    memory_region_add_subregion(vm->system, 0, vm->ram_mr);
    vm->counter_mr = memory_region_new_io("counter", 1, &counter_ops, &vm->counter);
    memory_region_add_subregion(vm->io_root, TINY_VM_COUNTER_PORT, vm->counter_mr);

    vm->vcpus = vcpus_new(&(VcpusConfig){ .kvm = vm->kvm, .count = cpus, .memory = vm->memory,
                                          .io = vm->io }, &err);
    g_assert_no_error(err);
    if (!boot)
        return;
    memcpy(vm->ram->host + TINY_VM_CODE_ADDR, code, sizeof(code));
    Vcpu *bsp = vcpus_get(vm->vcpus, 0);
    struct kvm_sregs sregs;
    struct kvm_regs regs = { .rip = TINY_VM_CODE_ADDR, .rflags = 2, .rax = 0x1234 };
    g_assert_cmpint(ioctl(bsp->fd, KVM_GET_SREGS, &sregs), ==, 0);
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    g_assert_cmpint(ioctl(bsp->fd, KVM_SET_SREGS, &sregs), ==, 0);
    g_assert_cmpint(ioctl(bsp->fd, KVM_SET_REGS, &regs), ==, 0);
}

void tiny_vm_free(TinyVm *vm)
{
    vcpus_free(vm->vcpus);
    memory_region_del_subregion(vm->io_root, vm->counter_mr);
    memory_region_del_subregion(vm->system, vm->ram_mr);
    memory_listener_unregister(kvm_memslots_listener(vm->slots));
    kvm_memslots_free(vm->slots);
    address_space_free(vm->memory);
    address_space_free(vm->io);
    memory_region_free(vm->counter_mr);
    memory_region_free(vm->ram_mr);
    memory_region_free(vm->system);
    memory_region_free(vm->io_root);
    ram_block_free(vm->ram);
    kvm_close(vm->kvm);
}

int tiny_vm_wait_writes_above(TinyVm *vm, int count)
{
    int now;

    while ((now = g_atomic_int_get(&vm->counter.writes)) <= count)
        g_usleep(1000);
    return now;
}
