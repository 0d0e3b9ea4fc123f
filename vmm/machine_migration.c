#include "vmm/machine_migration.h"

#include <stdio.h>

#include "hw/memhp.h"
#include "mem/address_space.h"
#include "migration/machine_fdt.h"
#include "migration/ram_blocks.h"
#include "migration/transport.h"
#include "migration/vmstate.h"
#include "vmm/kvm_state.h"
#include "vmm/machine_internal.h"
#include "vmm/runstate.h"
#include "vmm/vcpu_state.h"
#include "vmm/vcpu_throttle.h"

/* The switch-over (migration/FORMAT.md): the destination's byte once
 * everything loaded, then the source's go-ahead.  The destination runs the
 * guest only with the go-ahead, and the source gives it only once it will
 * not resume, so a connection that breaks anywhere in between can never
 * leave the guest running on both sides. */
#define MIGRATION_ACK 0x06
#define MIGRATION_GO 0x07

struct MachineMigration {
    Machine *machine;
    VmStateRegistry *registry;
    MigrationParams params;

    /* Source: the last (or running) migration. */
    MachineDescription *desc;
    MigrationChannel *channel;
    Precopy *precopy;
    VcpuThrottle *throttle; /* auto-converge's, made on first use */
    gint completed;

    /* Destination. */
    GThread *incoming;
    MigrationListener *listener;
    char *incoming_uri;
};

/* ---- device-state sections ---- */

/* Each device's save/load takes the device; the registry hands the machine. */

#define DEVICE_SECTION(field_, prefix_)                                         \
    static void prefix_##_save_section(void *opaque, GByteArray *out)                         \
    {                                                                                          \
        prefix_##_state_save(((Machine *)opaque)->field_, out);                                \
    }                                                                                          \
    static bool prefix_##_load_section(void *opaque, const uint8_t *data, size_t len,          \
                                       uint32_t version, GError **errp)                       \
    {                                                                                          \
        return prefix_##_state_load(((Machine *)opaque)->field_, data, len, version, errp);    \
    }

DEVICE_SECTION(serial, serial)
DEVICE_SECTION(rtc, rtc)
DEVICE_SECTION(i8042, i8042)
DEVICE_SECTION(acpi_pm, acpi_pm)
DEVICE_SECTION(reset_control, reset_control)

static void memhp_save_section(void *opaque, GByteArray *out)
{
    memhp_state_save(memory_hotplug_memhp(((Machine *)opaque)->hotplug), out);
}

static bool memhp_load_section(void *opaque, const uint8_t *data, size_t len, uint32_t version,
                               GError **errp)
{
    return memhp_state_load(memory_hotplug_memhp(((Machine *)opaque)->hotplug), data, len,
                            version, errp);
}

static void fw_cfg_save_section(void *opaque, GByteArray *out)
{
    fw_cfg_state_save(pc_firmware_fw_cfg(((Machine *)opaque)->firmware), out);
}

static bool fw_cfg_load_section(void *opaque, const uint8_t *data, size_t len, uint32_t version,
                                GError **errp)
{
    return fw_cfg_state_load(pc_firmware_fw_cfg(((Machine *)opaque)->firmware), data, len,
                             version, errp);
}

/* Save and load order: vCPUs, then the in-kernel irqchip/PIT/clock, then
 * the devices, which re-drive their IRQ lines after KVM_SET_IRQCHIP. */
static bool register_sections(MachineMigration *mm, GError **errp)
{
    Machine *m = mm->machine;
    const VmStateHandler devices[] = {
        { "serial", SERIAL_STATE_VERSION, serial_save_section, serial_load_section, m },
        { "rtc", RTC_STATE_VERSION, rtc_save_section, rtc_load_section, m },
        { "i8042", I8042_STATE_VERSION, i8042_save_section, i8042_load_section, m },
        { "acpi-pm", ACPI_PM_STATE_VERSION, acpi_pm_save_section, acpi_pm_load_section, m },
        { "reset-control", RESET_CONTROL_STATE_VERSION, reset_control_save_section,
          reset_control_load_section, m },
        { "memhp", MEMHP_STATE_VERSION, memhp_save_section, memhp_load_section, m },
        { "fw_cfg", FW_CFG_STATE_VERSION, fw_cfg_save_section, fw_cfg_load_section, m },
    };

    for (unsigned i = 0; i < vcpus_count(m->vcpus); i++) {
        g_autofree char *name = g_strdup_printf("cpu%u", i);
        VmStateHandler h = { name, VCPU_STATE_VERSION, vcpu_state_section_save,
                             vcpu_state_section_load, vcpus_get(m->vcpus, i) };

        if (!vmstate_register(mm->registry, &h, errp))
            return false;
    }
    if (!vmstate_register(mm->registry,
                          &(VmStateHandler){ "kvm", KVM_STATE_VERSION, kvm_state_section_save,
                                             kvm_state_section_load, m->kvm },
                          errp))
        return false;
    for (unsigned i = 0; i < G_N_ELEMENTS(devices); i++)
        if (!vmstate_register(mm->registry, &devices[i], errp))
            return false;
    return true;
}

MachineMigration *machine_migration_new(Machine *m, GError **errp)
{
    MachineMigration *mm = g_new0(MachineMigration, 1);

    mm->machine = m;
    mm->registry = vmstate_registry_new();
    mm->params = (MigrationParams){ .precopy = { .downtime_limit_ms = 300 } };
    if (!register_sections(mm, errp)) {
        machine_migration_free(mm);
        return NULL;
    }
    return mm;
}

static void machine_migration_end_source(MachineMigration *mm)
{
    ram_blocks_set_resize_observer(NULL, NULL);
    if (mm->precopy) {
        precopy_cancel(mm->precopy);
        if (mm->channel)
            migration_channel_shutdown(mm->channel); /* unblock a send or the ack */
        precopy_free(mm->precopy);
        mm->precopy = NULL;
    }
    g_clear_pointer(&mm->channel, migration_channel_free);
    g_clear_pointer(&mm->desc, machine_description_free);
}

void machine_migration_free(MachineMigration *mm)
{
    if (!mm)
        return;
    machine_migration_end_source(mm);
    vcpu_throttle_free(mm->throttle);
    if (mm->listener)
        migration_listener_cancel(mm->listener);
    if (mm->incoming)
        g_thread_join(mm->incoming);
    g_clear_pointer(&mm->listener, migration_listener_free);
    g_free(mm->incoming_uri);
    vmstate_registry_free(mm->registry);
    g_free(mm);
}

/* ---- source ---- */

static MachineDescription *describe(Machine *m)
{
    MachineDescription *desc = machine_description_new();

    desc->cpus = m->config.cpus;
    desc->ram_size = m->config.ram_size;
    desc->ram_below_4g = m->ram_below_4g_size;
    desc->ram_above_4g = m->ram_above_4g_size;
    desc->maxmem = m->config.maxmem;
    desc->slots = m->config.memory_slots;
    machine_description_add_live_backends(desc);
    machine_description_add_live_dimms(desc, memory_hotplug_device_memory(m->hotplug));
    return desc;
}

static void source_pause(void *opaque)
{
    vcpus_pause(((Machine *)opaque)->vcpus);
}

static void source_resume(void *opaque)
{
    vcpus_resume(((Machine *)opaque)->vcpus);
}

/* Called from the migration thread only, so the lazy creation is safe. */
static void source_throttle(void *opaque, unsigned percent)
{
    Machine *m = opaque;

    if (!m->migration->throttle)
        m->migration->throttle = vcpu_throttle_new(m->vcpus);
    vcpu_throttle_set(m->migration->throttle, percent);
}

static void source_status(void *opaque, MigrationStatus status)
{
    Machine *m = opaque;
    JsonObject *data = json_object_new();

    if (status == MIGRATION_STATUS_COMPLETED)
        g_atomic_int_set(&m->migration->completed, 1);
    json_object_set_string_member(data, "status", migration_status_name(status));
    machine_emit_event(m, "MIGRATION", data);
}

static bool channel_flush(void *opaque, GError **errp)
{
    return migration_channel_flush(opaque, errp);
}

static void channel_hang_up(void *opaque)
{
    migration_channel_shutdown(opaque);
}

/* One byte, sent and flushed. */
static bool channel_send_byte(MigrationChannel *ch, uint8_t byte, GError **errp)
{
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };

    return migration_channel_write(ch, &iov, 1, errp) && migration_channel_flush(ch, errp);
}

/* A go-ahead that cannot be handed to the kernel never reaches the
 * destination: the source may resume.  One that was handed over commits
 * the source (it stays paused even if the byte is then lost: both sides
 * paused is recoverable, both running is not). */
static bool channel_switch_over(void *opaque, GError **errp)
{
    uint8_t ack = 0;

    if (!migration_channel_read(opaque, &ack, 1, errp)) {
        if (errp && !*errp)
            g_set_error_literal(errp, G_FILE_ERROR, G_FILE_ERROR_IO,
                                "the destination closed the connection before acknowledging");
        return false;
    }
    if (ack != MIGRATION_ACK) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_IO,
                    "the destination answered 0x%02x instead of an acknowledgement", ack);
        return false;
    }
    return channel_send_byte(opaque, MIGRATION_GO, errp);
}

/* A RAM block that changes size mid-migration cannot be followed: the
 * destination sized its copy from the stream's block list. */
static void source_block_resized(RamBlock *block, uint64_t old_used, void *opaque)
{
    MachineMigration *mm = opaque;
    g_autofree char *reason = NULL;

    if (!mm->precopy)
        return;
    reason = g_strdup_printf("RAM block %s resized from 0x%" G_GINT64_MODIFIER "x to 0x%"
                             G_GINT64_MODIFIER "x during migration", block->idstr, old_used,
                             block->used_length);
    precopy_abort(mm->precopy, reason);
}

bool machine_migration_start(Machine *m, const char *uri, GError **errp)
{
    MachineMigration *mm = m->migration;
    g_autoptr(MigrationUri) parsed = NULL;
    PrecopyStats stats;

    if (g_atomic_int_get(&mm->completed)) {
        g_set_error_literal(errp, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                            "migrate: this VM already migrated; quit it");
        return false;
    }
    if (mm->precopy) {
        precopy_query(mm->precopy, &stats);
        g_free(stats.error);
        if (stats.status != MIGRATION_STATUS_FAILED && stats.status != MIGRATION_STATUS_CANCELLED &&
            stats.status != MIGRATION_STATUS_COMPLETED) { /* completed, then taken back */
            g_set_error_literal(errp, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                                "migrate: a migration is already running");
            return false;
        }
    }
    parsed = migration_uri_parse(uri, MIGRATION_URI_SOURCE, errp);
    if (!parsed)
        return false;
    machine_migration_end_source(mm);
    mm->channel = migration_channel_connect(parsed, errp);
    if (!mm->channel)
        return false;
    if (mm->params.zero_copy_send && !migration_channel_set_zero_copy(mm->channel, true)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "migrate: zero-copy-send needs a TCP connection and a kernel whose io_uring "
                    "has SENDMSG_ZC; %s has not", uri);
        g_clear_pointer(&mm->channel, migration_channel_free);
        return false;
    }
    mm->desc = describe(m);
    ram_blocks_set_resize_observer(source_block_resized, mm);
    mm->precopy = precopy_start(
        &(PrecopyChannel){ .write = migration_channel_write, .flush = channel_flush,
                           .switch_over = channel_switch_over, .hang_up = channel_hang_up,
                           .opaque = mm->channel },
        &(PrecopyHooks){ .pause = source_pause, .resume = source_resume,
                         .status_changed = source_status, .throttle = source_throttle,
                         .opaque = m },
        &mm->params.precopy, mm->desc, mm->registry);
    return true;
}

void machine_migration_cancel(Machine *m)
{
    if (m->migration->precopy)
        precopy_cancel(m->migration->precopy);
}

bool machine_migration_query(Machine *m, PrecopyStats *stats, MigrationChannelStats *channel)
{
    if (!m->migration->precopy)
        return false;
    precopy_query(m->migration->precopy, stats);
    if (channel)
        migration_channel_get_stats(m->migration->channel, channel);
    return true;
}

MigrationParams *machine_migration_params(Machine *m)
{
    return &m->migration->params;
}

bool machine_migration_completed(Machine *m)
{
    return g_atomic_int_get(&m->migration->completed);
}

bool machine_migration_take_back(Machine *m)
{
    if (!g_atomic_int_compare_and_exchange(&m->migration->completed, 1, 0))
        return false;
    vcpus_resume(m->vcpus); /* the pause the final round took */
    machine_emit_event(m, "RESUME", NULL);
    return true;
}

/* ---- destination ---- */

/* The source's machine must be this one; its backends and DIMMs are made
 * here (QEMU makes the operator repeat them by hand). */
static bool incoming_machine(void *opaque, const MachineDescription *desc, GError **errp)
{
    Machine *m = opaque;
    g_autoptr(GError) err = NULL;

    /* RAM itself is matched block by block (Size mismatch, Unknown ramblock). */
    if (desc->cpus != m->config.cpus || desc->slots != m->config.memory_slots ||
        (desc->slots && desc->maxmem != m->config.maxmem)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "the source has %u vCPUs and %u DIMM slots (maxmem %" G_GUINT64_FORMAT
                    " MiB); start the destination with the same --cpus and --memory",
                    desc->cpus, desc->slots, desc->maxmem >> 20);
        return false;
    }
    for (guint i = 0; i < desc->backends->len; i++) {
        MemoryBackendConfig cfg;

        machine_backend_desc_to_config(g_ptr_array_index(desc->backends, i), &cfg);
        if (!memory_hotplug_add_backend(m->hotplug, &cfg, errp))
            return false;
    }
    for (guint i = 0; i < desc->dimms->len; i++) {
        const MachineDimmDesc *d = g_ptr_array_index(desc->dimms, i);
        PcDimmConfig cfg = { .id = d->id, .memdev = d->memdev, .slot = (int)d->slot,
                             .has_addr = true, .addr = d->addr, .node = d->node,
                             .cold_plugged = true };

        if (!memory_hotplug_add_dimm(m->hotplug, &cfg, errp))
            return false;
    }
    return true;
}

static gboolean incoming_done(gpointer data)
{
    Machine *m = data;

    /* Paused before the threads exist: a --paused guest never runs a
     * single instruction (nor does KVM touch its clock page) until cont. */
    if (m->config.start_paused)
        machine_pause(m);
    else
        machine_emit_event(m, "RESUME", NULL);
    machine_start_vcpus(m);
    return G_SOURCE_REMOVE;
}

static gpointer incoming_thread(gpointer data)
{
    Machine *m = data;
    MachineMigration *mm = m->migration;
    g_autoptr(GError) err = NULL;
    g_autoptr(MigrationChannel) ch = migration_listener_accept(mm->listener, &err);
    g_autoptr(MigrationReader) reader = NULL;
    uint8_t go = 0;

    if (ch) {
        reader = migration_reader_new(migration_channel_read, ch, mm->registry);
        migration_reader_set_machine_hook(reader, incoming_machine, m);
    }
    if (!ch || !migration_reader_load(reader, &err) ||
        !channel_send_byte(ch, MIGRATION_ACK, &err)) {
        fprintf(stderr, "ferry: incoming migration failed: %s\n",
                err ? err->message : "the stream ended early");
        runstate_request_exit(FERRY_EXIT_USAGE);
        return NULL;
    }
    if (!migration_channel_read(ch, &go, 1, &err) || go != MIGRATION_GO) {
        g_autofree char *why = err ? g_strdup(err->message)
                                   : go ? g_strdup_printf("it sent 0x%02x", go)
                                        : g_strdup("the connection closed");
        fprintf(stderr, "ferry: incoming migration failed: the source did not give the "
                "go-ahead after the guest loaded (%s); the guest does not run here\n", why);
        runstate_request_exit(FERRY_EXIT_USAGE);
        return NULL;
    }
    g_idle_add(incoming_done, m);
    return NULL;
}

bool machine_migration_incoming(Machine *m, const char *uri, GError **errp)
{
    MachineMigration *mm = m->migration;
    g_autoptr(MigrationUri) parsed = NULL;

    if (mm->incoming) {
        g_set_error_literal(errp, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                            "an incoming migration was already started");
        return false;
    }
    parsed = migration_uri_parse(uri, MIGRATION_URI_INCOMING, errp);
    if (!parsed)
        return false;
    mm->listener = migration_listener_new(parsed, errp);
    if (!mm->listener)
        return false;
    mm->incoming = g_thread_new("incoming", incoming_thread, m);
    return true;
}

bool machine_write_machine_fdt(Machine *m, const char *path, GError **errp)
{
    g_autoptr(MachineDescription) desc = describe(m);

    return machine_fdt_write_file(desc, path, errp);
}

/* ---- x-ram-digest ---- */

JsonArray *machine_ram_digest(Machine *m)
{
    g_autoptr(GPtrArray) blocks = migration_ram_blocks_collect();
    JsonArray *list = json_array_new();

    for (guint i = 0; i < blocks->len; i++) {
        RamBlock *b = g_ptr_array_index(blocks, i);
        JsonObject *o = json_object_new();
        g_autofree char *sum =
            g_compute_checksum_for_data(G_CHECKSUM_SHA256, b->host, b->used_length);

        json_object_set_string_member(o, "block", b->idstr);
        json_object_set_int_member(o, "used", (gint64)b->used_length);
        json_object_set_string_member(o, "sha256", sum);
        json_array_add_object_element(list, o);
    }
    return list;
}
