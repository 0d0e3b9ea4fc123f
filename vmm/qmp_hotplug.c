#include "vmm/qmp_hotplug.h"

#include <string.h>

#include "hw/memhp.h"

/* ---- object-add / object-del ---- */

static JsonNode *qmp_object_add(QmpServer *s, JsonObject *args, void *opaque, GError **errp)
{
    static const char *const known[] = { "qom-type", "id", "size", "mem-path", "share",
                                         "prealloc", "hugetlb", "hugetlbsize", NULL };
    const char *type = NULL;
    MemoryBackendConfig cfg = { 0 };

    if (!qmp_args_check(args, known, errp) || !qmp_arg_string(args, "qom-type", true, &type, errp) ||
        !qmp_arg_string(args, "id", true, &cfg.id, errp) ||
        !qmp_arg_size(args, "size", true, &cfg.size, errp) ||
        !qmp_arg_string(args, "mem-path", false, &cfg.mem_path, errp) ||
        !qmp_arg_bool(args, "share", false, &cfg.share, errp) ||
        !qmp_arg_bool(args, "prealloc", false, &cfg.prealloc, errp) ||
        !qmp_arg_bool(args, "hugetlb", false, &cfg.hugetlb, errp) ||
        !qmp_arg_size(args, "hugetlbsize", false, &cfg.hugetlbsize, errp))
        return NULL;
    if (!memory_backend_kind_from_name(type, &cfg.kind)) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                    "Invalid parameter 'qom-type': '%s' is not a memory backend (use "
                    "memory-backend-ram, memory-backend-memfd or memory-backend-file)", type);
        return NULL;
    }
    return memory_hotplug_add_backend(opaque, &cfg, errp) ? qmp_return_empty() : NULL;
}

static JsonNode *qmp_object_del(QmpServer *s, JsonObject *args, void *opaque, GError **errp)
{
    static const char *const known[] = { "id", NULL };
    const char *id = NULL;

    if (!qmp_args_check(args, known, errp) || !qmp_arg_string(args, "id", true, &id, errp))
        return NULL;
    return memory_hotplug_del_backend(opaque, id, errp) ? qmp_return_empty() : NULL;
}

/* ---- device_add / device_del ---- */

static JsonNode *qmp_device_add(QmpServer *s, JsonObject *args, void *opaque, GError **errp)
{
    static const char *const known[] = { "driver", "id", "memdev", "slot", "addr", "node", NULL };
    const char *driver = NULL;
    int64_t slot = -1, node = 0;
    PcDimmConfig cfg = { 0 };

    if (!qmp_args_check(args, known, errp) || !qmp_arg_string(args, "driver", true, &driver, errp) ||
        !qmp_arg_string(args, "id", true, &cfg.id, errp) ||
        !qmp_arg_string(args, "memdev", true, &cfg.memdev, errp) ||
        !qmp_arg_int(args, "slot", false, &slot, errp) ||
        !qmp_arg_int(args, "node", false, &node, errp))
        return NULL;
    if (strcmp(driver, "pc-dimm") != 0) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                    "Parameter 'driver' expects a pluggable device type: ferry has pc-dimm");
        return NULL;
    }
    cfg.has_addr = json_object_has_member(args, "addr");
    if (cfg.has_addr && !qmp_arg_size(args, "addr", true, &cfg.addr, errp))
        return NULL;
    if (slot < -1 || slot > INT32_MAX || node < 0 || node > UINT32_MAX) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "Parameter '%s' is out of range",
                    slot < -1 || slot > INT32_MAX ? "slot" : "node");
        return NULL;
    }
    cfg.slot = (int)slot;
    cfg.node = (uint32_t)node;
    return memory_hotplug_add_dimm(opaque, &cfg, errp) ? qmp_return_empty() : NULL;
}

static JsonNode *qmp_device_del(QmpServer *s, JsonObject *args, void *opaque, GError **errp)
{
    static const char *const known[] = { "id", NULL };
    const char *id = NULL;
    g_autoptr(GError) err = NULL;

    if (!qmp_args_check(args, known, errp) || !qmp_arg_string(args, "id", true, &id, errp))
        return NULL;
    if (!memory_hotplug_del_dimm(opaque, id, &err)) {
        bool missing = g_error_matches(err, DEVICE_MEMORY_ERROR, DEVICE_MEMORY_ERROR_NOT_FOUND);

        g_set_error_literal(errp, QMP_ERROR, missing ? QMP_ERROR_DEVICE_NOT_FOUND : QMP_ERROR_GENERIC,
                            err->message);
        return NULL;
    }
    return qmp_return_empty();
}

/* ---- queries ---- */

static void add_dimm_info(PcDimm *dimm, void *opaque)
{
    JsonArray *list = opaque;
    JsonObject *data = json_object_new(), *entry = json_object_new();
    PcDimmInfo info;
    g_autofree char *memdev = NULL;

    pc_dimm_get_info(dimm, &info);
    memdev = g_strdup_printf("/objects/%s", info.memdev);
    json_object_set_string_member(data, "id", pc_dimm_id(dimm));
    json_object_set_int_member(data, "addr", (gint64)pc_dimm_addr(dimm));
    json_object_set_int_member(data, "size", (gint64)pc_dimm_size(dimm));
    json_object_set_int_member(data, "slot", pc_dimm_slot(dimm));
    json_object_set_int_member(data, "node", pc_dimm_node(dimm));
    json_object_set_string_member(data, "memdev", memdev);
    json_object_set_boolean_member(data, "hotplugged", info.hotplugged);
    json_object_set_boolean_member(data, "hotpluggable", info.hotpluggable);
    json_object_set_string_member(entry, "type", "dimm");
    json_object_set_object_member(entry, "data", data);
    json_array_add_object_element(list, entry);
}

static JsonNode *qmp_query_memory_devices(QmpServer *s, JsonObject *args, void *opaque,
                                          GError **errp)
{
    JsonArray *list = json_array_new();
    JsonNode *node = json_node_new(JSON_NODE_ARRAY);

    memory_hotplug_foreach_dimm(opaque, add_dimm_info, list);
    json_node_take_array(node, list);
    return node;
}

static void add_memdev_info(MemoryBackend *b, void *opaque)
{
    JsonObject *o = json_object_new();

    json_object_set_string_member(o, "id", memory_backend_id(b));
    json_object_set_string_member(o, "type", memory_backend_kind_name(memory_backend_kind(b)));
    json_object_set_int_member(o, "size", (gint64)memory_backend_size(b));
    json_object_set_boolean_member(o, "merge", FALSE);
    json_object_set_boolean_member(o, "dump", TRUE);
    json_object_set_boolean_member(o, "prealloc", memory_backend_prealloc(b));
    json_object_set_boolean_member(o, "share", memory_backend_share(b));
    json_object_set_array_member(o, "host-nodes", json_array_new());
    json_object_set_string_member(o, "policy", "default");
    json_array_add_object_element(opaque, o);
}

static JsonNode *qmp_query_memdev(QmpServer *s, JsonObject *args, void *opaque, GError **errp)
{
    JsonArray *list = json_array_new();
    JsonNode *node = json_node_new(JSON_NODE_ARRAY);

    memory_backends_foreach(add_memdev_info, list);
    json_node_take_array(node, list);
    return node;
}

static JsonObject *ost_info(const char *device, unsigned slot, uint32_t event, uint32_t status)
{
    JsonObject *o = json_object_new();
    g_autofree char *slot_str = g_strdup_printf("%u", slot);

    if (device && *device)
        json_object_set_string_member(o, "device", device);
    json_object_set_string_member(o, "slot", slot_str);
    json_object_set_string_member(o, "slot-type", "DIMM");
    json_object_set_int_member(o, "source", event);
    json_object_set_int_member(o, "status", status);
    return o;
}

static JsonNode *qmp_query_acpi_ospm_status(QmpServer *s, JsonObject *args, void *opaque,
                                            GError **errp)
{
    MemoryHotplug *mh = opaque;
    JsonArray *list = json_array_new();
    JsonNode *node = json_node_new(JSON_NODE_ARRAY);

    for (unsigned slot = 0; slot < memory_hotplug_slots(mh); slot++) {
        PcDimm *dimm = memory_hotplug_dimm_at_slot(mh, slot);
        uint32_t event = 0, status = 0;

        memory_hotplug_slot_ost(mh, slot, &event, &status);
        if (dimm || event || status)
            json_array_add_object_element(
                list, ost_info(dimm ? pc_dimm_id(dimm) : NULL, slot, event, status));
    }
    json_node_take_array(node, list);
    return node;
}

/* ---- events ---- */

static void emit_device_deleted(void *opaque, const char *id)
{
    JsonObject *data = json_object_new();
    g_autofree char *path = g_strdup_printf("/machine/peripheral/%s", id);

    json_object_set_string_member(data, "device", id);
    json_object_set_string_member(data, "path", path);
    qmp_server_emit_event(opaque, "DEVICE_DELETED", data);
}

static void emit_ost(void *opaque, const char *id, unsigned slot, uint32_t event,
                     uint32_t status)
{
    JsonObject *data = json_object_new();

    json_object_set_object_member(data, "info", ost_info(id, slot, event, status));
    qmp_server_emit_event(opaque, "ACPI_DEVICE_OST", data);
}

void qmp_hotplug_register(QmpServer *s, MemoryHotplug *mh)
{
    qmp_server_register(s, "object-add", qmp_object_add, mh);
    qmp_server_register(s, "object-del", qmp_object_del, mh);
    qmp_server_register(s, "device_add", qmp_device_add, mh);
    qmp_server_register(s, "device_del", qmp_device_del, mh);
    qmp_server_register(s, "query-memory-devices", qmp_query_memory_devices, mh);
    qmp_server_register(s, "query-memdev", qmp_query_memdev, mh);
    qmp_server_register(s, "query-acpi-ospm-status", qmp_query_acpi_ospm_status, mh);
    memory_hotplug_set_events(mh, &(MemoryHotplugEvents){
        .device_deleted = emit_device_deleted, .ost = emit_ost, .opaque = s });
}
