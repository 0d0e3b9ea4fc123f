#include "vmm/runstate.h"

#include <glib.h>

static GMutex lock;
static RunRequest pending = RUN_REQUEST_NONE;
static int pending_status;
static RunstateWakeFn waker;
static void *waker_opaque;

void runstate_set_waker(RunstateWakeFn fn, void *opaque)
{
    g_mutex_lock(&lock);
    waker = fn;
    waker_opaque = opaque;
    g_mutex_unlock(&lock);
}

static void request(RunRequest req, int status)
{
    RunstateWakeFn wake;
    void *opaque;

    g_mutex_lock(&lock);
    /* An exit is final: nothing that comes after it changes the verdict. */
    if (pending != RUN_REQUEST_EXIT) {
        pending = req;
        pending_status = status;
    }
    wake = waker;
    opaque = waker_opaque;
    g_mutex_unlock(&lock);
    if (wake)
        wake(opaque);
}

void runstate_request_exit(int status)
{
    request(RUN_REQUEST_EXIT, status);
}

void runstate_request_reset(void)
{
    request(RUN_REQUEST_RESET, 0);
}

RunRequest runstate_take_request(int *status)
{
    RunRequest req;

    g_mutex_lock(&lock);
    req = pending;
    if (status)
        *status = pending_status;
    if (req == RUN_REQUEST_RESET)
        pending = RUN_REQUEST_NONE;
    g_mutex_unlock(&lock);
    return req;
}

bool runstate_exit_requested(void)
{
    g_mutex_lock(&lock);
    bool done = pending == RUN_REQUEST_EXIT;
    g_mutex_unlock(&lock);
    return done;
}
