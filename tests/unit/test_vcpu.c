/* vCPU threads on a real /dev/kvm: pausing stops a busy guest at once and
 * resuming lets it go on; APs still waiting for SIPI pause too. */
#include <glib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "mem/kvm_memslots.h"
#include "mem/region.h"
#include "vmm/kvm.h"
#include "vmm/vcpu.h"

#define CODE_ADDR 0x1000
#define COUNTER_PORT 0x80

static int port_writes;

static uint64_t counter_read(void *opaque, uint64_t offset, unsigned size)
{
    return 0;
}

static void counter_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    g_atomic_int_inc(&port_writes);
}

static const MemoryRegionOps counter_ops = { .read = counter_read, .write = counter_write };

typedef struct TinyVm {
    Kvm *kvm;
    RamBlock *ram;
    MemoryRegion *system, *io_root, *ram_mr, *counter;
    AddressSpace *memory, *io;
    KvmMemslots *slots;
    Vcpus *vcpus;
} TinyVm;

/* Real mode at 0:0x1000: out 0x80, al; inc ax; jmp back.  Every turn of
 * the loop is one port-I/O exit. */
static void tiny_vm_init(TinyVm *vm, unsigned cpus)
{
    static const uint8_t code[] = { 0xe6, COUNTER_PORT, 0x40, 0xeb, 0xfb };
    g_autoptr(GError) err = NULL;
    struct kvm_sregs sregs;
    struct kvm_regs regs = { .rip = CODE_ADDR, .rflags = 2 };
    Vcpu *bsp;

    vm->kvm = kvm_open(&err);
    g_assert_no_error(err);
    vm->ram = ram_block_new("tiny.ram", 1 << 20, 1 << 20, 0, NULL, &err);
    g_assert_no_error(err);
    memcpy(vm->ram->host + CODE_ADDR, code, sizeof(code));
    vm->system = memory_region_new_container("system", MR_SIZE_ALL);
    vm->io_root = memory_region_new_container("io", 0x10000);
    vm->memory = address_space_new("memory", vm->system);
    vm->io = address_space_new("I/O", vm->io_root);
    vm->slots = kvm_memslots_new(vm->kvm->vm_fd, vm->kvm->nr_memslots, NULL, NULL);
    memory_listener_register(kvm_memslots_listener(vm->slots), vm->memory);
    vm->ram_mr = memory_region_new_ram("tiny.ram", vm->ram);
    memory_region_add_subregion(vm->system, 0, vm->ram_mr);
    vm->counter = memory_region_new_io("counter", 1, &counter_ops, NULL);
    memory_region_add_subregion(vm->io_root, COUNTER_PORT, vm->counter);

    vm->vcpus = vcpus_new(&(VcpusConfig){ .kvm = vm->kvm, .count = cpus, .memory = vm->memory,
                                          .io = vm->io }, &err);
    g_assert_no_error(err);
    bsp = vcpus_get(vm->vcpus, 0);
    g_assert_cmpint(ioctl(bsp->fd, KVM_GET_SREGS, &sregs), ==, 0);
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    g_assert_cmpint(ioctl(bsp->fd, KVM_SET_SREGS, &sregs), ==, 0);
    g_assert_cmpint(ioctl(bsp->fd, KVM_SET_REGS, &regs), ==, 0);
}

static void tiny_vm_free(TinyVm *vm)
{
    vcpus_free(vm->vcpus);
    memory_region_del_subregion(vm->io_root, vm->counter);
    memory_region_del_subregion(vm->system, vm->ram_mr);
    memory_listener_unregister(kvm_memslots_listener(vm->slots));
    kvm_memslots_free(vm->slots);
    address_space_free(vm->memory);
    address_space_free(vm->io);
    memory_region_free(vm->counter);
    memory_region_free(vm->ram_mr);
    memory_region_free(vm->system);
    memory_region_free(vm->io_root);
    ram_block_free(vm->ram);
    kvm_close(vm->kvm);
}

/* Wait for the guest to make progress; meson's timeout ends a hang. */
static int wait_for_writes_above(int count)
{
    int now;

    while ((now = g_atomic_int_get(&port_writes)) <= count)
        g_usleep(1000);
    return now;
}

static void test_pause_resume(void)
{
    TinyVm vm = { 0 };
    int paused_at;

    tiny_vm_init(&vm, 2);
    vcpus_start(vm.vcpus);
    wait_for_writes_above(100);

    for (int round = 0; round < 20; round++) {
        vcpus_pause(vm.vcpus);
        for (unsigned i = 0; i < vcpus_count(vm.vcpus); i++)
            g_assert_cmpint(vcpus_get(vm.vcpus, i)->state, ==, VCPU_PAUSED);
        paused_at = g_atomic_int_get(&port_writes);
        g_usleep(20 * 1000);
        g_assert_cmpint(g_atomic_int_get(&port_writes), ==, paused_at);
        vcpus_resume(vm.vcpus);
        wait_for_writes_above(paused_at + 10);
    }

    /* Pauses nest: only the outermost resume lets the guest go on. */
    vcpus_pause(vm.vcpus);
    vcpus_pause(vm.vcpus);
    vcpus_resume(vm.vcpus);
    paused_at = g_atomic_int_get(&port_writes);
    g_usleep(20 * 1000);
    g_assert_cmpint(g_atomic_int_get(&port_writes), ==, paused_at);
    vcpus_resume(vm.vcpus);
    wait_for_writes_above(paused_at + 10);

    vcpus_stop(vm.vcpus);
    for (unsigned i = 0; i < vcpus_count(vm.vcpus); i++)
        g_assert_cmpint(vcpus_get(vm.vcpus, i)->state, ==, VCPU_STOPPED);
    tiny_vm_free(&vm);
}

/* A pause that comes before a vCPU thread first ran must still settle. */
static void test_pause_at_start(void)
{
    for (int round = 0; round < 10; round++) {
        TinyVm vm = { 0 };

        tiny_vm_init(&vm, 2);
        vcpus_start(vm.vcpus);
        vcpus_pause(vm.vcpus);
        for (unsigned i = 0; i < vcpus_count(vm.vcpus); i++)
            g_assert_cmpint(vcpus_get(vm.vcpus, i)->state, ==, VCPU_PAUSED);
        vcpus_resume(vm.vcpus);
        wait_for_writes_above(g_atomic_int_get(&port_writes) + 10);
        tiny_vm_free(&vm);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vcpu/pause-resume", test_pause_resume);
    g_test_add_func("/vcpu/pause-at-start", test_pause_at_start);
    return g_test_run();
}
