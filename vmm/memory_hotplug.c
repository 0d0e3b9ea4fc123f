#include "vmm/memory_hotplug.h"

#include <inttypes.h>

#include "hw/memhp.h"
#include "mem/address_space.h"

struct MemoryHotplug {
    DeviceMemory *dm;
    Memhp *memhp;
    AcpiPm *pm;
    MemoryHotplugEvents events;
    GMutex pending_lock; /* guards pending and drain_source */
    GQueue pending; /* SlotEvent from vCPU threads, for the main loop */
    guint drain_source;
};

/* A controller callback, carried from the vCPU thread to the main loop. */
typedef struct SlotEvent {
    unsigned slot;
    bool eject; /* else an _OST report */
    uint32_t ost_event, ost_status;
} SlotEvent;

static void memory_hotplug_remove_dimm(MemoryHotplug *mh, PcDimm *dimm)
{
    g_autofree char *id = g_strdup(pc_dimm_id(dimm));
    unsigned slot = pc_dimm_slot(dimm);

    pc_dimm_unplug(mh->dm, dimm);
    memhp_slot_cleared(mh->memhp, slot);
    if (mh->events.device_deleted)
        mh->events.device_deleted(mh->events.opaque, id);
}

static void memory_hotplug_handle(MemoryHotplug *mh, const SlotEvent *e)
{
    PcDimm *dimm = memory_hotplug_dimm_at_slot(mh, e->slot);

    if (e->eject && dimm)
        memory_hotplug_remove_dimm(mh, dimm);
    else if (e->eject)
        memhp_slot_cleared(mh->memhp, e->slot); /* nothing was there: just free the slot */
    else if (mh->events.ost)
        mh->events.ost(mh->events.opaque, dimm ? pc_dimm_id(dimm) : "", e->slot, e->ost_event,
                       e->ost_status);
}

static gboolean memory_hotplug_drain(gpointer data)
{
    MemoryHotplug *mh = data;
    GQueue events = G_QUEUE_INIT;
    SlotEvent *e;

    g_mutex_lock(&mh->pending_lock);
    events = mh->pending;
    g_queue_init(&mh->pending);
    mh->drain_source = 0;
    g_mutex_unlock(&mh->pending_lock);
    while ((e = g_queue_pop_head(&events))) {
        memory_hotplug_handle(mh, e);
        g_free(e);
    }
    return G_SOURCE_REMOVE;
}

static void memory_hotplug_defer(MemoryHotplug *mh, SlotEvent e)
{
    g_mutex_lock(&mh->pending_lock);
    g_queue_push_tail(&mh->pending, g_memdup2(&e, sizeof(e)));
    if (!mh->drain_source)
        mh->drain_source = g_idle_add(memory_hotplug_drain, mh);
    g_mutex_unlock(&mh->pending_lock);
}

static void memory_hotplug_on_eject(void *opaque, unsigned slot)
{
    memory_hotplug_defer(opaque, (SlotEvent){ .slot = slot, .eject = true });
}

static void memory_hotplug_on_ost(void *opaque, unsigned slot, uint32_t event, uint32_t status)
{
    memory_hotplug_defer(opaque, (SlotEvent){
        .slot = slot, .ost_event = event, .ost_status = status });
}

MemoryHotplug *memory_hotplug_new(MemoryRegion *system, MemoryRegion *io, AcpiPm *pm,
                                  const DeviceMemoryWindow *window, unsigned free_memslots,
                                  GError **errp)
{
    MemoryHotplug *mh;
    unsigned slots = window->slots;

    if (slots > free_memslots) {
        g_set_error(errp, DEVICE_MEMORY_ERROR, DEVICE_MEMORY_ERROR_INVALID,
                    "slots=%u needs as many KVM memory slots, this host has %u left", slots,
                    free_memslots);
        return NULL;
    }
    mh = g_new0(MemoryHotplug, 1);
    g_mutex_init(&mh->pending_lock);
    g_queue_init(&mh->pending);
    mh->pm = pm;
    if (window->size)
        mh->dm = device_memory_new(system, window);
    mh->memhp = memhp_create(io, MEMHP_IO_BASE, slots, pm, memory_hotplug_on_eject,
                             memory_hotplug_on_ost, mh, errp);
    if (!mh->memhp) {
        memory_hotplug_free(mh);
        return NULL;
    }
    return mh;
}

static void collect_backend(MemoryBackend *backend, void *opaque)
{
    g_ptr_array_add(opaque, backend);
}

void memory_hotplug_free(MemoryHotplug *mh)
{
    g_autoptr(GPtrArray) backends = g_ptr_array_new();

    if (!mh)
        return;
    /* vCPUs are stopped: no new events come; drop those not handled. */
    if (mh->drain_source)
        g_source_remove(mh->drain_source);
    g_queue_clear_full(&mh->pending, g_free);
    g_clear_pointer(&mh->memhp, memhp_free);
    g_clear_pointer(&mh->dm, device_memory_free); /* unplugs the DIMMs still there */
    memory_backends_foreach(collect_backend, backends);
    for (guint i = 0; i < backends->len; i++)
        memory_backend_free(g_ptr_array_index(backends, i));
    g_mutex_clear(&mh->pending_lock);
    g_free(mh);
}

void memory_hotplug_set_events(MemoryHotplug *mh, const MemoryHotplugEvents *events)
{
    mh->events = *events;
}

void memory_hotplug_reset(MemoryHotplug *mh)
{
    memhp_reset(mh->memhp);
}

void memory_hotplug_acpi_config(MemoryHotplug *mh, void (**hook)(void *, Aml *, Aml *),
                                void **hook_opaque, uint64_t *base, uint64_t *size)
{
    *hook = memhp_dsdt_hook;
    *hook_opaque = mh->memhp;
    *base = mh->dm ? device_memory_base(mh->dm) : 0;
    *size = mh->dm ? device_memory_size(mh->dm) : 0;
}

bool memory_hotplug_add_backend(MemoryHotplug *mh, const MemoryBackendConfig *cfg,
                                GError **errp)
{
    return memory_backend_new(cfg, errp) != NULL;
}

bool memory_hotplug_del_backend(MemoryHotplug *mh, const char *id, GError **errp)
{
    MemoryBackend *b = memory_backend_find(id);

    if (!b) {
        g_set_error(errp, MEMORY_BACKEND_ERROR, MEMORY_BACKEND_ERROR_NOT_FOUND,
                    "object '%s' not found", id);
        return false;
    }
    if (memory_backend_in_use(b)) {
        g_set_error(errp, MEMORY_BACKEND_ERROR, MEMORY_BACKEND_ERROR_BUSY,
                    "object '%s' is in use by %s; device_del it first", id,
                    memory_backend_user(b));
        return false;
    }
    memory_backend_free(b);
    return true;
}

bool memory_hotplug_add_dimm(MemoryHotplug *mh, const PcDimmConfig *cfg, GError **errp)
{
    PcDimm *dimm;

    /* The migration stream lists RAM blocks up front: a new one would be
     * logged but never announced to the destination. */
    if (memory_global_dirty_log_enabled()) {
        g_set_error(errp, DEVICE_MEMORY_ERROR, DEVICE_MEMORY_ERROR_BUSY,
                    "pc-dimm '%s': memory hotplug is not possible while a migration is running",
                    cfg->id);
        return false;
    }
    dimm = pc_dimm_plug(mh->dm, cfg, errp);
    if (!dimm)
        return false;
    /* Mapped first, announced second: the guest may touch it at once. */
    if (!memhp_plug(mh->memhp, pc_dimm_slot(dimm), pc_dimm_addr(dimm), pc_dimm_size(dimm),
                    pc_dimm_node(dimm), errp)) {
        pc_dimm_unplug(mh->dm, dimm);
        return false;
    }
    return true;
}

bool memory_hotplug_del_dimm(MemoryHotplug *mh, const char *id, GError **errp)
{
    PcDimm *dimm = mh->dm ? device_memory_find_dimm(mh->dm, id) : NULL;

    if (!dimm) {
        g_set_error(errp, DEVICE_MEMORY_ERROR, DEVICE_MEMORY_ERROR_NOT_FOUND,
                    "Device '%s' not found", id);
        return false;
    }
    /* Without an ACPI OS handling the event nobody would ever eject. */
    if (!acpi_pm_gpe_enabled(mh->pm, MEMHP_GPE_BIT)) {
        memory_hotplug_remove_dimm(mh, dimm);
        return true;
    }
    return memhp_request_unplug(mh->memhp, pc_dimm_slot(dimm), errp);
}

unsigned memory_hotplug_slots(MemoryHotplug *mh)
{
    return mh->dm ? device_memory_slots(mh->dm) : 0;
}

PcDimm *memory_hotplug_dimm_at_slot(MemoryHotplug *mh, unsigned slot)
{
    return mh->dm ? device_memory_dimm_at_slot(mh->dm, slot) : NULL;
}

void memory_hotplug_foreach_dimm(MemoryHotplug *mh, PcDimmFn fn, void *opaque)
{
    if (mh->dm)
        device_memory_foreach_dimm(mh->dm, fn, opaque);
}

bool memory_hotplug_slot_ost(MemoryHotplug *mh, unsigned slot, uint32_t *event,
                             uint32_t *status)
{
    return memhp_slot_ost(mh->memhp, slot, event, status);
}

static void format_dimm(PcDimm *dimm, void *opaque)
{
    GString *out = opaque;
    PcDimmInfo info;

    pc_dimm_get_info(dimm, &info);
    g_string_append_printf(out,
                           "Memory device [dimm]: \"%s\"\n"
                           "  addr: 0x%" PRIx64 "\n"
                           "  slot: %u\n"
                           "  node: %u\n"
                           "  size: %" PRIu64 "\n"
                           "  memdev: /objects/%s\n"
                           "  hotplugged: %s\n"
                           "  hotpluggable: %s\n",
                           pc_dimm_id(dimm), pc_dimm_addr(dimm), pc_dimm_slot(dimm),
                           pc_dimm_node(dimm), pc_dimm_size(dimm), info.memdev,
                           info.hotplugged ? "true" : "false",
                           info.hotpluggable ? "true" : "false");
}

void memory_hotplug_format(MemoryHotplug *mh, GString *out)
{
    memory_hotplug_foreach_dimm(mh, format_dimm, out);
}

DeviceMemory *memory_hotplug_device_memory(MemoryHotplug *mh)
{
    return mh->dm;
}

Memhp *memory_hotplug_memhp(MemoryHotplug *mh)
{
    return mh->memhp;
}
