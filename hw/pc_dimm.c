/* PC-DIMM plug and unplug; see pc_dimm.h. */
#include "hw/pc_dimm.h"

#include <inttypes.h>

struct PcDimm {
    char *id;
    unsigned slot;
    uint64_t addr;
    uint32_t node;
    bool hotplugged;
    MemoryBackend *backend;
    MemoryRegion *region;
};

/* The checks that do not depend on where the DIMM goes. */
static bool pc_dimm_check_config(DeviceMemory *dm, const PcDimmConfig *cfg, const char *who,
                                 MemoryBackend **backend_out, GError **errp)
{
    if (!cfg->id || !*cfg->id) {
        g_set_error(errp, DEVICE_MEMORY_ERROR, DEVICE_MEMORY_ERROR_INVALID,
                    "pc-dimm: the id is empty; give it one, e.g. id=dimm1");
        return false;
    }
    if (!object_id_is_wellformed(cfg->id)) {
        g_set_error(errp, DEVICE_MEMORY_ERROR, DEVICE_MEMORY_ERROR_INVALID,
                    "pc-dimm id '%s' is invalid: use a letter, then letters, digits, "
                    "'-', '.' or '_'",
                    cfg->id);
        return false;
    }
    if (!dm) {
        g_set_error(errp, DEVICE_MEMORY_ERROR, DEVICE_MEMORY_ERROR_NOT_FOUND,
                    "%s: memory hotplug is not enabled; start the VM with maxmem and slots", who);
        return false;
    }
    if (device_memory_find_dimm(dm, cfg->id)) {
        g_set_error(errp, DEVICE_MEMORY_ERROR, DEVICE_MEMORY_ERROR_BUSY,
                    "%s already exists; pick another id", who);
        return false;
    }
    if (!cfg->memdev || !*cfg->memdev) {
        g_set_error(errp, DEVICE_MEMORY_ERROR, DEVICE_MEMORY_ERROR_INVALID,
                    "%s: memdev is not set; name a memory backend, e.g. memdev=mem1", who);
        return false;
    }
    MemoryBackend *backend = memory_backend_find(cfg->memdev);
    if (!backend) {
        g_set_error(errp, DEVICE_MEMORY_ERROR, DEVICE_MEMORY_ERROR_NOT_FOUND,
                    "%s: memdev '%s' does not exist; create it first with object-add", who,
                    cfg->memdev);
        return false;
    }
    if (memory_backend_in_use(backend)) {
        g_set_error(errp, DEVICE_MEMORY_ERROR, DEVICE_MEMORY_ERROR_BUSY,
                    "%s: memdev '%s' is already in use by %s", who, cfg->memdev,
                    memory_backend_user(backend));
        return false;
    }
    if (cfg->node >= device_memory_numa_nodes(dm)) {
        g_set_error(errp, DEVICE_MEMORY_ERROR, DEVICE_MEMORY_ERROR_INVALID,
                    "%s: node %" PRIu32 " is out of range (nodes=%u)", who, cfg->node,
                    device_memory_numa_nodes(dm));
        return false;
    }
    *backend_out = backend;
    return true;
}

PcDimm *pc_dimm_plug(DeviceMemory *dm, const PcDimmConfig *cfg, GError **errp)
{
    g_autofree char *who = g_strdup_printf("pc-dimm '%s'", cfg->id ? cfg->id : "");
    MemoryBackend *backend = NULL;
    unsigned slot;
    uint64_t addr;

    if (!pc_dimm_check_config(dm, cfg, who, &backend, errp))
        return NULL;

    /* QEMU's order: the slot, then room below maxmem, then the address. */
    uint64_t size = memory_backend_size(backend);
    uint64_t align = device_memory_dimm_align(memory_backend_page_size(backend));
    if (!device_memory_claim_slot(dm, who, cfg->slot, &slot, errp))
        return NULL;
    if (!device_memory_check_capacity(dm, who, size, errp))
        return NULL;
    if (size % align) {
        g_set_error(errp, DEVICE_MEMORY_ERROR, DEVICE_MEMORY_ERROR_INVALID,
                    "%s: size 0x%" PRIx64 " of memdev '%s' is not a multiple of 0x%" PRIx64 " (%s)",
                    who, size, cfg->memdev, align,
                    align == DEVICE_MEMORY_BLOCK_SIZE ? "the guest adds memory in 128 MiB blocks"
                                                      : "the backend's page size");
        return NULL;
    }
    if (!device_memory_claim_range(dm, who, cfg->has_addr ? &cfg->addr : NULL, size, align,
                                   &addr, errp))
        return NULL;

    /* Nothing can fail from here on. */
    PcDimm *dimm = g_new0(PcDimm, 1);
    dimm->id = g_strdup(cfg->id);
    dimm->slot = slot;
    dimm->addr = addr;
    dimm->node = cfg->node;
    dimm->hotplugged = !cfg->cold_plugged;
    dimm->backend = backend;
    dimm->region = memory_region_new_ram(cfg->id, memory_backend_block(backend));

    memory_region_transaction_begin();
    memory_region_add_subregion(device_memory_region(dm), addr - device_memory_base(dm),
                                dimm->region);
    memory_region_transaction_commit();

    memory_backend_set_user(backend, cfg->id);
    device_memory_attach(dm, dimm);
    return dimm;
}

void pc_dimm_unplug(DeviceMemory *dm, PcDimm *dimm)
{
    memory_region_transaction_begin();
    memory_region_del_subregion(device_memory_region(dm), dimm->region);
    memory_region_transaction_commit();
    /* The KVM listener deleted the memslot at that commit with the vCPUs
     * paused, so no vCPU access through the old view is still running. */
    memory_region_free(dimm->region);

    device_memory_detach(dm, dimm);
    memory_backend_set_user(dimm->backend, NULL);
    g_free(dimm->id);
    g_free(dimm);
}

const char *pc_dimm_id(const PcDimm *dimm)
{
    return dimm->id;
}

unsigned pc_dimm_slot(const PcDimm *dimm)
{
    return dimm->slot;
}

uint64_t pc_dimm_addr(const PcDimm *dimm)
{
    return dimm->addr;
}

uint64_t pc_dimm_size(const PcDimm *dimm)
{
    return memory_backend_size(dimm->backend);
}

uint32_t pc_dimm_node(const PcDimm *dimm)
{
    return dimm->node;
}

MemoryBackend *pc_dimm_backend(const PcDimm *dimm)
{
    return dimm->backend;
}

MemoryRegion *pc_dimm_region(const PcDimm *dimm)
{
    return dimm->region;
}

void pc_dimm_get_info(const PcDimm *dimm, PcDimmInfo *info)
{
    *info = (PcDimmInfo){
        .id = dimm->id,
        .addr = dimm->addr,
        .size = pc_dimm_size(dimm),
        .slot = dimm->slot,
        .node = dimm->node,
        .memdev = memory_backend_id(dimm->backend),
        .hotpluggable = true,
        .hotplugged = dimm->hotplugged,
    };
}
