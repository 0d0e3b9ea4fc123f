/* vCPU threads on a real /dev/kvm: pausing stops a busy guest at once and
 * resuming lets it go on; APs still waiting for SIPI pause too; the
 * auto-converge throttle's pauses nest inside the others. */
#include <glib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "tiny_vm.h"
#include "vmm/kvm.h"
#include "vmm/vcpu.h"
#include "vmm/vcpu_throttle.h"

static void test_pause_resume(void)
{
    TinyVm vm = { 0 };
    int paused_at;

    tiny_vm_init(&vm, 2, true);
    vcpus_start(vm.vcpus);
    tiny_vm_wait_writes_above(&vm, 100);

    for (int round = 0; round < 20; round++) {
        vcpus_pause(vm.vcpus);
        for (unsigned i = 0; i < vcpus_count(vm.vcpus); i++)
            g_assert_cmpint(vcpus_get(vm.vcpus, i)->state, ==, VCPU_PAUSED);
        paused_at = g_atomic_int_get(&vm.counter.writes);
        g_usleep(20 * 1000);
        g_assert_cmpint(g_atomic_int_get(&vm.counter.writes), ==, paused_at);
        vcpus_resume(vm.vcpus);
        tiny_vm_wait_writes_above(&vm, paused_at + 10);
    }

    /* Pauses nest: only the outermost resume lets the guest go on. */
    vcpus_pause(vm.vcpus);
    vcpus_pause(vm.vcpus);
    vcpus_resume(vm.vcpus);
    paused_at = g_atomic_int_get(&vm.counter.writes);
    g_usleep(20 * 1000);
    g_assert_cmpint(g_atomic_int_get(&vm.counter.writes), ==, paused_at);
    vcpus_resume(vm.vcpus);
    tiny_vm_wait_writes_above(&vm, paused_at + 10);

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

        tiny_vm_init(&vm, 2, true);
        vcpus_start(vm.vcpus);
        vcpus_pause(vm.vcpus);
        for (unsigned i = 0; i < vcpus_count(vm.vcpus); i++)
            g_assert_cmpint(vcpus_get(vm.vcpus, i)->state, ==, VCPU_PAUSED);
        vcpus_resume(vm.vcpus);
        tiny_vm_wait_writes_above(&vm, g_atomic_int_get(&vm.counter.writes) + 10);
        tiny_vm_free(&vm);
    }
}

/* The throttle slows the guest without stopping it, keeps out of the way
 * of a pause of someone else's, and leaves the vCPUs running when turned
 * off or freed mid-brake. */
static void test_throttle(void)
{
    TinyVm vm = { 0 };
    int at;

    tiny_vm_init(&vm, 2, true);
    vcpus_start(vm.vcpus);
    tiny_vm_wait_writes_above(&vm, 100);
    VcpuThrottle *t = vcpu_throttle_new(vm.vcpus);

    vcpu_throttle_set(t, 150); /* capped at 99: 10 ms of every second */
    tiny_vm_wait_writes_above(&vm, g_atomic_int_get(&vm.counter.writes) + 10);

    /* At 10% the throttle pauses and resumes every 10 ms: an outer pause
     * must hold through all of that. */
    vcpu_throttle_set(t, 10);
    vcpus_pause(vm.vcpus);
    at = g_atomic_int_get(&vm.counter.writes);
    g_usleep(50 * 1000);
    g_assert_cmpint(g_atomic_int_get(&vm.counter.writes), ==, at);
    vcpus_resume(vm.vcpus);
    tiny_vm_wait_writes_above(&vm, at + 10);

    vcpu_throttle_set(t, 0);
    tiny_vm_wait_writes_above(&vm, g_atomic_int_get(&vm.counter.writes) + 10);
    vcpu_throttle_set(t, 99);
    vcpu_throttle_free(t); /* mid-brake, most likely: it must let go */
    tiny_vm_wait_writes_above(&vm, g_atomic_int_get(&vm.counter.writes) + 10);

    vcpus_stop(vm.vcpus);
    tiny_vm_free(&vm);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vcpu/pause-resume", test_pause_resume);
    g_test_add_func("/vcpu/pause-at-start", test_pause_at_start);
    g_test_add_func("/vcpu/throttle", test_throttle);
    return g_test_run();
}
