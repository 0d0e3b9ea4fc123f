/* Requests to end or restart the run, from any thread.
 *
 * Devices (debug-exit, i8042, ACPI PM) and vCPU threads ask; the main loop
 * decides.  The first request that ends the run wins; later ones are kept
 * out so that, say, a crash after a test-exit does not change the verdict.
 */
#pragma once

#include <stdbool.h>

/* ferry's exit statuses: one table, also in the README and --help. */
enum {
    FERRY_EXIT_POWEROFF = 0, /* guest powered off, or reset with --on-reset exit */
    FERRY_EXIT_USAGE = 1, /* bad usage or input, or the host could not run the VM */
    FERRY_EXIT_CRASH = 2, /* guest crashed: triple fault, emulation failure, internal error */
    /* --test-exit: the guest wrote v to port 0xf4 -> (v << 1) | 1, always odd */
};

typedef enum RunRequest {
    RUN_REQUEST_NONE,
    RUN_REQUEST_EXIT, /* end with a given status */
    RUN_REQUEST_RESET, /* guest asked for a reset; --on-reset decides */
} RunRequest;

typedef void (*RunstateWakeFn)(void *opaque);

/* The main loop's wake-up, called after every request (from any thread). */
void runstate_set_waker(RunstateWakeFn fn, void *opaque);

void runstate_request_exit(int status);
void runstate_request_reset(void);

/* Main loop: take the pending request (clears a reset; an exit stays). */
RunRequest runstate_take_request(int *status);
bool runstate_exit_requested(void);
