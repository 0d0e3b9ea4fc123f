/* Slowing the guest down: auto-converge's brake.
 *
 * At `percent` (1..99) the vCPUs run a 10 ms slice, then stay paused for
 * percent / (100 - percent) slices (at 99: 10 ms running per 990 ms
 * paused), so a guest that dirties memory faster than the link carries it
 * dirties less.  The pauses are ordinary vcpus_pause()/vcpus_resume()
 * pairs from a thread of the throttle's own, nested under any other
 * pause (a migration's final round keeps the guest paused throughout).
 * 0 lets the vCPUs run freely again; the thread idles until needed.
 */
#pragma once

#include "vmm/vcpu.h"

typedef struct VcpuThrottle VcpuThrottle;

VcpuThrottle *vcpu_throttle_new(Vcpus *vcpus);
/* Back to 0 (the vCPUs resumed), the thread joined. */
void vcpu_throttle_free(VcpuThrottle *t);
/* 0..99; higher values are capped at 99.  Takes effect within a slice. */
void vcpu_throttle_set(VcpuThrottle *t, unsigned percent);
