#include "vmm/vcpu_throttle.h"

#define SLICE_US 10000

struct VcpuThrottle {
    Vcpus *vcpus;
    GThread *thread;
    GMutex lock;
    GCond changed;
    unsigned percent;
    bool quit;
};

/* Waits until `deadline`, or until the throttle is turned off (false then). */
static bool throttle_wait(VcpuThrottle *t, int64_t deadline)
{
    while (!t->quit && t->percent && g_get_monotonic_time() < deadline)
        g_cond_wait_until(&t->changed, &t->lock, deadline);
    return !t->quit && t->percent;
}

static gpointer throttle_thread(gpointer data)
{
    VcpuThrottle *t = data;

    g_mutex_lock(&t->lock);
    while (!t->quit) {
        if (!t->percent) {
            g_cond_wait(&t->changed, &t->lock);
            continue;
        }
        if (!throttle_wait(t, g_get_monotonic_time() + SLICE_US))
            continue;
        int64_t paused_us = (int64_t)SLICE_US * t->percent / (100 - t->percent);
        g_mutex_unlock(&t->lock);
        vcpus_pause(t->vcpus);
        g_mutex_lock(&t->lock);
        throttle_wait(t, g_get_monotonic_time() + paused_us);
        g_mutex_unlock(&t->lock);
        vcpus_resume(t->vcpus);
        g_mutex_lock(&t->lock);
    }
    g_mutex_unlock(&t->lock);
    return NULL;
}

VcpuThrottle *vcpu_throttle_new(Vcpus *vcpus)
{
    VcpuThrottle *t = g_new0(VcpuThrottle, 1);

    t->vcpus = vcpus;
    g_mutex_init(&t->lock);
    g_cond_init(&t->changed);
    return t;
}

void vcpu_throttle_free(VcpuThrottle *t)
{
    if (!t)
        return;
    g_mutex_lock(&t->lock);
    t->quit = true;
    g_cond_broadcast(&t->changed);
    g_mutex_unlock(&t->lock);
    if (t->thread)
        g_thread_join(t->thread);
    g_cond_clear(&t->changed);
    g_mutex_clear(&t->lock);
    g_free(t);
}

void vcpu_throttle_set(VcpuThrottle *t, unsigned percent)
{
    g_mutex_lock(&t->lock);
    t->percent = MIN(percent, 99u);
    if (t->percent && !t->thread)
        t->thread = g_thread_new("throttle", throttle_thread, t);
    g_cond_broadcast(&t->changed);
    g_mutex_unlock(&t->lock);
}
