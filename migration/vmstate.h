/* The device-state registry: what each device puts in a migration stream.
 *
 * A device registers one section under a unique name ("serial", "memhp",
 * "cpu0") with the newest version of its format it writes.  The stream
 * writer saves every registered section in registration order; the
 * reader finds the section by name, refuses names it does not know and
 * versions newer than the registered one, and calls load() with the
 * version the source wrote, so that a device can load its older formats.
 *
 * The callbacks use only GLib types so that a device in hw/ implements
 * them without including migration/ (which sits above hw/): the machine
 * registers `serial_save`/`serial_load` on the serial port's behalf.
 *
 * Threads: register and unregister from the main thread, never while a
 * migration runs.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest section name, without the NUL. */
#define VMSTATE_NAME_MAX 255u
/* Largest section a device may write: the reader refuses bigger ones
 * before allocating. */
#define VMSTATE_SECTION_MAX (16u << 20)

/* Append the device's state to `out`.  Called with vCPUs paused. */
typedef void (*VmStateSaveFn)(void *opaque, GByteArray *out);
/* Restore from `data`, written by a source at `version` (1 .. the
 * registered version).  The bytes come from the network: check every
 * length and value, and fail with a one-line error naming the field. */
typedef bool (*VmStateLoadFn)(void *opaque, const uint8_t *data, size_t len, uint32_t version,
                              GError **errp);

typedef struct VmStateHandler {
    const char *name;
    uint32_t version; /* >= 1: the version save() writes, the newest load() takes */
    VmStateSaveFn save;
    VmStateLoadFn load;
    void *opaque;
} VmStateHandler;

typedef struct VmStateRegistry VmStateRegistry;

VmStateRegistry *vmstate_registry_new(void);
void vmstate_registry_free(VmStateRegistry *registry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmStateRegistry, vmstate_registry_free)

/* Copies `handler` (and its name).  Fails on a duplicate or ill-formed
 * name (empty, longer than VMSTATE_NAME_MAX), a version of 0, or a
 * missing callback. */
bool vmstate_register(VmStateRegistry *registry, const VmStateHandler *handler, GError **errp);
/* False if there is no such section. */
bool vmstate_unregister(VmStateRegistry *registry, const char *name);

/* NULL if `name` is not registered. */
const VmStateHandler *vmstate_find(const VmStateRegistry *registry, const char *name);
unsigned vmstate_count(const VmStateRegistry *registry);
/* In registration order; NULL past the end. */
const VmStateHandler *vmstate_nth(const VmStateRegistry *registry, unsigned index);
