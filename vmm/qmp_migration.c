#include "vmm/qmp_migration.h"

#include "mem/ram_block.h"
#include "vmm/machine_migration.h"

static JsonNode *qmp_migrate(QmpServer *s, JsonObject *args, void *opaque, GError **errp)
{
    static const char *const known[] = { "uri", "detach", NULL };
    const char *uri = NULL;

    if (!qmp_args_check(args, known, errp) || !qmp_arg_string(args, "uri", true, &uri, errp))
        return NULL;
    return machine_migration_start(opaque, uri, errp) ? qmp_return_empty() : NULL;
}

static JsonNode *qmp_migrate_cancel(QmpServer *s, JsonObject *args, void *opaque, GError **errp)
{
    machine_migration_cancel(opaque);
    return qmp_return_empty();
}

static JsonNode *qmp_migrate_incoming(QmpServer *s, JsonObject *args, void *opaque,
                                      GError **errp)
{
    static const char *const known[] = { "uri", NULL };
    const char *uri = NULL;

    if (!qmp_args_check(args, known, errp) || !qmp_arg_string(args, "uri", true, &uri, errp))
        return NULL;
    return machine_migration_incoming(opaque, uri, errp) ? qmp_return_empty() : NULL;
}

/* QEMU's query-migrate shape: status, times in ms, and a "ram" object. */
static JsonNode *qmp_query_migrate(QmpServer *s, JsonObject *args, void *opaque, GError **errp)
{
    JsonObject *ret = json_object_new(), *ram;
    PrecopyStats st;
    MigrationChannelStats ch;

    if (!machine_migration_query(opaque, &st, &ch))
        return qmp_return_object(ret);
    json_object_set_string_member(ret, "status", migration_status_name(st.status));
    json_object_set_int_member(ret, "setup-time", st.setup_ms);
    json_object_set_int_member(ret, "total-time", st.total_ms);
    if (st.status == MIGRATION_STATUS_COMPLETED)
        json_object_set_int_member(ret, "downtime", st.downtime_ms);
    if (st.error)
        json_object_set_string_member(ret, "error-desc", st.error);
    ram = json_object_new();
    json_object_set_int_member(ram, "transferred", (gint64)st.transferred);
    json_object_set_int_member(ram, "remaining", (gint64)st.remaining);
    json_object_set_int_member(ram, "total", (gint64)st.total);
    json_object_set_int_member(ram, "normal", (gint64)st.normal_pages);
    json_object_set_int_member(ram, "duplicate", (gint64)st.zero_pages);
    json_object_set_int_member(ram, "dirty-sync-count", (gint64)st.iterations);
    json_object_set_int_member(ram, "dirty-pages-rate", (gint64)st.dirty_pages_rate);
    json_object_set_double_member(ram, "mbps", st.throughput * 8.0 / 1e6);
    if (ch.zero_copy_sends) { /* ferry's own: how zero-copy-send fared */
        json_object_set_int_member(ram, "zero-copy-sends", (gint64)ch.zero_copy_sends);
        json_object_set_int_member(ram, "zero-copy-copied", (gint64)ch.zero_copy_copied);
    }
    json_object_set_object_member(ret, "ram", ram);
    if (st.cpu_throttle_percentage)
        json_object_set_int_member(ret, "cpu-throttle-percentage", st.cpu_throttle_percentage);
    g_free(st.error);
    return qmp_return_object(ret);
}

static JsonNode *qmp_migrate_set_parameters(QmpServer *s, JsonObject *args, void *opaque,
                                            GError **errp)
{
    static const char *const known[] = { "downtime-limit", "max-bandwidth", "max-iterations",
                                         "auto-converge", "zero-copy-send", NULL };
    MigrationParams *p = machine_migration_params(opaque);
    MigrationParams next = *p;
    int64_t iterations = next.precopy.max_iterations;

    if (!qmp_args_check(args, known, errp) ||
        !qmp_arg_size(args, "downtime-limit", false, &next.precopy.downtime_limit_ms, errp) ||
        !qmp_arg_size(args, "max-bandwidth", false, &next.precopy.max_bandwidth, errp) ||
        !qmp_arg_int(args, "max-iterations", false, &iterations, errp) ||
        !qmp_arg_bool(args, "auto-converge", false, &next.precopy.auto_converge, errp) ||
        !qmp_arg_bool(args, "zero-copy-send", false, &next.zero_copy_send, errp))
        return NULL;
    if (iterations < 0 || iterations > UINT32_MAX) {
        g_set_error_literal(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                            "Parameter 'max-iterations' expects a count from 0 (no limit)");
        return NULL;
    }
    next.precopy.max_iterations = (unsigned)iterations;
    *p = next; /* the next migrate uses them */
    return qmp_return_empty();
}

static JsonNode *qmp_x_ram_digest(QmpServer *s, JsonObject *args, void *opaque, GError **errp)
{
    JsonNode *node = json_node_new(JSON_NODE_ARRAY);

    json_node_take_array(node, machine_ram_digest(opaque));
    return node;
}

/* A test hook, as QEMU's x- commands are: resizes a resizable RAM block
 * (a ROM blob) the way a table rebuild after a reset could. */
static JsonNode *qmp_x_ram_block_resize(QmpServer *s, JsonObject *args, void *opaque,
                                        GError **errp)
{
    static const char *const known[] = { "block", "size", NULL };
    const char *name = NULL;
    uint64_t size = 0;
    RamBlock *block;

    if (!qmp_args_check(args, known, errp) || !qmp_arg_string(args, "block", true, &name, errp) ||
        !qmp_arg_size(args, "size", true, &size, errp))
        return NULL;
    block = ram_block_find(name);
    if (!block) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_DEVICE_NOT_FOUND, "RAM block '%s' not found", name);
        return NULL;
    }
    return ram_block_resize(block, size, errp) ? qmp_return_empty() : NULL;
}

void qmp_migration_register(QmpServer *s, Machine *machine)
{
    qmp_server_register(s, "x-ram-block-resize", qmp_x_ram_block_resize, machine);
    qmp_server_register(s, "migrate", qmp_migrate, machine);
    qmp_server_register(s, "migrate_cancel", qmp_migrate_cancel, machine);
    qmp_server_register(s, "migrate-incoming", qmp_migrate_incoming, machine);
    qmp_server_register(s, "query-migrate", qmp_query_migrate, machine);
    qmp_server_register(s, "migrate-set-parameters", qmp_migrate_set_parameters, machine);
    qmp_server_register(s, "x-ram-digest", qmp_x_ram_digest, machine);
}
