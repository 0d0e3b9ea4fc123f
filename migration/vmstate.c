/* The device-state registry; see vmstate.h. */
#include "migration/vmstate.h"

#include <string.h>

#include "migration/stream.h"

struct VmStateRegistry {
    GPtrArray *handlers; /* VmStateHandler *, registration order; names owned */
};

static void handler_free(gpointer data)
{
    VmStateHandler *h = data;

    g_free((char *)h->name);
    g_free(h);
}

VmStateRegistry *vmstate_registry_new(void)
{
    VmStateRegistry *registry = g_new0(VmStateRegistry, 1);

    registry->handlers = g_ptr_array_new_with_free_func(handler_free);
    return registry;
}

void vmstate_registry_free(VmStateRegistry *registry)
{
    if (!registry)
        return;
    g_ptr_array_unref(registry->handlers);
    g_free(registry);
}

bool vmstate_register(VmStateRegistry *registry, const VmStateHandler *handler, GError **errp)
{
    const char *name = handler->name;

    if (!name || !*name || strlen(name) > VMSTATE_NAME_MAX) {
        g_set_error(errp, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_INVALID,
                    "device state: a section name must have 1 to %u characters", VMSTATE_NAME_MAX);
        return false;
    }
    if (handler->version == 0 || !handler->save || !handler->load) {
        g_set_error(errp, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_INVALID,
                    "device state '%s': needs a version >= 1, save() and load()", name);
        return false;
    }
    if (vmstate_find(registry, name)) {
        g_set_error(errp, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_INVALID,
                    "device state '%s' is already registered", name);
        return false;
    }
    VmStateHandler *copy = g_memdup2(handler, sizeof(*handler));
    copy->name = g_strdup(name);
    g_ptr_array_add(registry->handlers, copy);
    return true;
}

bool vmstate_unregister(VmStateRegistry *registry, const char *name)
{
    for (unsigned i = 0; i < registry->handlers->len; i++) {
        const VmStateHandler *h = g_ptr_array_index(registry->handlers, i);
        if (strcmp(h->name, name) == 0) {
            g_ptr_array_remove_index(registry->handlers, i);
            return true;
        }
    }
    return false;
}

const VmStateHandler *vmstate_find(const VmStateRegistry *registry, const char *name)
{
    if (!registry)
        return NULL;
    for (unsigned i = 0; i < registry->handlers->len; i++) {
        const VmStateHandler *h = g_ptr_array_index(registry->handlers, i);
        if (strcmp(h->name, name) == 0)
            return h;
    }
    return NULL;
}

unsigned vmstate_count(const VmStateRegistry *registry)
{
    return registry ? registry->handlers->len : 0;
}

const VmStateHandler *vmstate_nth(const VmStateRegistry *registry, unsigned index)
{
    if (!registry || index >= registry->handlers->len)
        return NULL;
    return g_ptr_array_index(registry->handlers, index);
}
