#include "vmm/machine.h"

#include <cpuid.h>
#include <errno.h>
#include <stdio.h>
#include <glib-unix.h>
#include <signal.h>
#include <string.h>

#include "hw/chardev.h"
#include "mem/ram_block.h"
#include "mem/region.h"
#include "vmm/embedded_guest.h"
#include "vmm/machine_internal.h"
#include "vmm/qmp_commands.h"
#include "vmm/qmp_hotplug.h"
#include "vmm/qmp_migration.h"
#include "vmm/runstate.h"

#define GiB (1ull << 30)
#define MiB (1ull << 20)
/* RAM above this goes to 4 GiB and up; [3 GiB, 4 GiB) is the PCI/APIC hole. */
#define RAM_BELOW_4G_MAX (3 * GiB)
#define FOUR_GiB (4 * GiB)
/* KVM memory slots kept free for firmware and ROM mappings, not DIMMs. */
#define MACHINE_SPARE_MEMSLOTS 8

#define COM1_BASE 0x3f8
#define COM1_IRQ 4
#define DEBUG_EXIT_PORT 0xf4 /* QEMU's isa-debug-exit default */
#define DEBUGCON_PORT 0x402 /* where SeaBIOS logs */
/* ACPI fixed hardware where QEMU's PC has it once SeaBIOS programmed the
 * PIIX4 (ferry has no PCI, so the ports are fixed). */
#define ACPI_PM_BASE 0x600
#define ACPI_GPE0_BASE 0xafe0
#define ACPI_SCI_IRQ 9
#define ACPI_S5_SLP_TYP 5

uint64_t machine_max_ram(void)
{
    unsigned eax, ebx, ecx, edx, phys_bits = 36;

    if (__get_cpuid(0x80000008, &eax, &ebx, &ecx, &edx))
        phys_bits = eax & 0xff;
    /* Everything must sit below the top of the guest-physical space, and
     * RAM past 3 GiB moves up by the 1 GiB hole. */
    return (1ull << phys_bits) - GiB;
}

static bool machine_create_memory(Machine *m, GError **errp)
{
    uint64_t size = m->config.ram_size;

    m->ram_below_4g_size = MIN(size, RAM_BELOW_4G_MAX);
    m->ram_above_4g_size = size - m->ram_below_4g_size;
    m->ram = ram_block_new("pc.ram", size, size, RAM_BLOCK_MIGRATABLE, NULL, errp);
    if (!m->ram)
        return false;
    m->system = memory_region_new_container("system", MR_SIZE_ALL);
    m->io_root = memory_region_new_container("io", 0x10000);
    m->memory = address_space_new("memory", m->system);
    m->io = address_space_new("I/O", m->io_root);
    m->memslots = kvm_memslots_new(m->kvm->vm_fd, m->kvm->nr_memslots, NULL, NULL);
    kvm_memslots_set_dirty_tracking(m->memslots, m->kvm->dirty_tracking, m->kvm->dirty_log_manual);
    memory_listener_register(kvm_memslots_listener(m->memslots), m->memory);

    /* Both windows are aliases of the one block, as on QEMU's PC: the block
     * keeps one name and one layout whatever the hole does. */
    memory_region_transaction_begin();
    m->ram_mr = memory_region_new_ram("pc.ram", m->ram);
    m->ram_below_4g = memory_region_new_alias("ram-below-4g", m->ram_mr, 0, m->ram_below_4g_size);
    memory_region_add_subregion(m->system, 0, m->ram_below_4g);
    if (m->ram_above_4g_size) {
        m->ram_above_4g = memory_region_new_alias("ram-above-4g", m->ram_mr, m->ram_below_4g_size,
                                                  m->ram_above_4g_size);
        memory_region_add_subregion(m->system, FOUR_GiB, m->ram_above_4g);
    }
    memory_region_transaction_commit();
    return true;
}

static void machine_free_memory(Machine *m)
{
    if (m->ram_above_4g) {
        memory_region_del_subregion(m->system, m->ram_above_4g);
        memory_region_free(m->ram_above_4g);
    }
    if (m->ram_below_4g) {
        memory_region_del_subregion(m->system, m->ram_below_4g);
        memory_region_free(m->ram_below_4g);
    }
    if (m->memslots) {
        memory_listener_unregister(kvm_memslots_listener(m->memslots));
        kvm_memslots_free(m->memslots);
    }
    if (m->memory)
        address_space_free(m->memory);
    if (m->io)
        address_space_free(m->io);
    if (m->ram_mr)
        memory_region_free(m->ram_mr);
    if (m->system)
        memory_region_free(m->system);
    if (m->io_root)
        memory_region_free(m->io_root);
    if (m->ram)
        ram_block_free(m->ram);
}

/* CMOS bytes firmware and old kernels read the memory size from. */
static void machine_fill_cmos(Machine *m)
{
    uint64_t above_1m_kib = MIN((m->ram_below_4g_size - MiB) / 1024, 0xffff);
    uint64_t above_16m = m->ram_below_4g_size > 16 * MiB ? (m->ram_below_4g_size - 16 * MiB) >> 16 : 0;
    uint64_t above_4g = m->ram_above_4g_size >> 16;

    above_16m = MIN(above_16m, 0xffff);
    rtc_set_cmos(m->rtc, 0x15, 640 & 0xff); /* base memory, KiB */
    rtc_set_cmos(m->rtc, 0x16, 640 >> 8);
    rtc_set_cmos(m->rtc, 0x17, above_1m_kib & 0xff);
    rtc_set_cmos(m->rtc, 0x18, above_1m_kib >> 8);
    rtc_set_cmos(m->rtc, 0x30, above_1m_kib & 0xff);
    rtc_set_cmos(m->rtc, 0x31, above_1m_kib >> 8);
    rtc_set_cmos(m->rtc, 0x34, above_16m & 0xff); /* 64 KiB units above 16 MiB */
    rtc_set_cmos(m->rtc, 0x35, above_16m >> 8);
    rtc_set_cmos(m->rtc, 0x5b, above_4g & 0xff); /* 64 KiB units above 4 GiB */
    rtc_set_cmos(m->rtc, 0x5c, (above_4g >> 8) & 0xff);
    rtc_set_cmos(m->rtc, 0x5d, (above_4g >> 16) & 0xff);
    rtc_set_cmos(m->rtc, 0x5f, m->config.cpus - 1);
}

/* The devices of this machine, created in order, reset and freed with it. */
static bool machine_create_devices(Machine *m, GError **errp)
{
    m->serial_chr = chardev_new(m->config.serial, errp);
    if (!m->serial_chr) {
        g_prefix_error(errp, "--serial %s: ", m->config.serial);
        return false;
    }
    m->serial = serial_create(m->io_root, COM1_BASE, kvm_irq_line(m->kvm, COM1_IRQ), m->serial_chr);
    chardev_set_receiver(m->serial_chr, serial_receive, m->serial);
    m->rtc = rtc_create(m->io_root);
    machine_fill_cmos(m);
    m->i8042 = i8042_create(m->io_root);
    m->acpi_pm = acpi_pm_create(m->io_root, ACPI_PM_BASE, ACPI_GPE0_BASE, ACPI_S5_SLP_TYP,
                                kvm_irq_line(m->kvm, ACPI_SCI_IRQ));
    m->reset_control = reset_control_create(m->io_root);
    if (m->config.test_exit)
        m->debug_exit = debug_exit_create(m->io_root, DEBUG_EXIT_PORT);
    if (m->config.debugcon) {
        m->debugcon_chr = chardev_new(m->config.debugcon, errp);
        if (!m->debugcon_chr) {
            g_prefix_error(errp, "--debugcon %s: ", m->config.debugcon);
            return false;
        }
        m->debugcon = debugcon_create(m->io_root, DEBUGCON_PORT, m->debugcon_chr);
    }
    return true;
}

/* The hotplug window above RAM and its controller; with no slots the window
 * is empty and the controller ignores the guest, so there is always one. */
static bool machine_create_hotplug(Machine *m, GError **errp)
{
    DeviceMemoryWindow window;
    unsigned used = kvm_memslots_count(m->memslots);
    /* Room for the slots firmware and ROM mappings may still take. */
    unsigned spare = MIN(m->kvm->nr_memslots, used + MACHINE_SPARE_MEMSLOTS);

    if (!device_memory_window_for(m->config.ram_size, m->ram_above_4g_size, m->config.maxmem,
                                  m->config.memory_slots, &window, errp)) {
        g_prefix_error(errp, "--memory: ");
        return false;
    }
    if (window.base + window.size > machine_max_ram() + GiB) {
        g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--memory: the hotplug window ends at 0x%" G_GINT64_MODIFIER "x, beyond what "
                    "this CPU can address", window.base + window.size);
        return false;
    }
    m->hotplug = memory_hotplug_new(m->system, m->io_root, m->acpi_pm, &window,
                                    m->kvm->nr_memslots - spare, errp);
    if (!m->hotplug) {
        g_prefix_error(errp, "--memory: ");
        return false;
    }
    if (m->qmp)
        qmp_hotplug_register(m->qmp, m->hotplug);
    return true;
}

static void machine_reset_devices(Machine *m)
{
    serial_reset(m->serial);
    rtc_reset(m->rtc);
    i8042_reset(m->i8042);
    acpi_pm_reset(m->acpi_pm);
    reset_control_reset(m->reset_control);
    memory_hotplug_reset(m->hotplug);
}

static void machine_free_devices(Machine *m)
{
    g_clear_pointer(&m->debugcon, debugcon_free);
    g_clear_pointer(&m->debug_exit, debug_exit_free);
    g_clear_pointer(&m->reset_control, reset_control_free);
    g_clear_pointer(&m->acpi_pm, acpi_pm_free);
    g_clear_pointer(&m->i8042, i8042_free);
    g_clear_pointer(&m->rtc, rtc_free);
    g_clear_pointer(&m->serial, serial_free);
    g_clear_pointer(&m->debugcon_chr, chardev_free);
    g_clear_pointer(&m->serial_chr, chardev_free);
}

static GMappedFile *machine_map_file(const char *option, const char *path, GError **errp)
{
    GError *err = NULL;
    GMappedFile *file = g_mapped_file_new(path, FALSE, &err);

    if (!file) {
        g_set_error(errp, G_FILE_ERROR, err->code, "%s %s: %s", option, path,
                    err->code == G_FILE_ERROR_NOENT ? "no such file" : err->message);
        g_error_free(err);
    }
    return file;
}

/* The kernel and initrd files, mapped, and what the boot loaders need. */
static bool machine_map_boot_files(Machine *m, GError **errp)
{
    BootConfig *bc = &m->boot_config;

    *bc = (BootConfig){
        .memory = m->memory,
        .cmdline = m->config.cmdline ? m->config.cmdline : "",
        .kind = m->config.boot_kind,
        .ram_below_4g = m->ram_below_4g_size,
        .ram_above_4g = m->ram_above_4g_size,
        .rsdp_addr = ACPI_DIRECT_BOOT_RSDP_ADDR,
    };
    if (m->config.kernel_path) {
        m->kernel_file = machine_map_file("--kernel", m->config.kernel_path, errp);
        if (!m->kernel_file)
            return false;
        bc->kernel_name = m->config.kernel_path;
        bc->kernel = (const uint8_t *)g_mapped_file_get_contents(m->kernel_file);
        bc->kernel_size = g_mapped_file_get_length(m->kernel_file);
    } else if (!m->config.firmware_path) {
        bc->kernel_name = "built-in test guest";
        bc->kernel = embedded_guest_start;
        bc->kernel_size = embedded_guest_size();
        if (!m->config.cmdline)
            bc->cmdline = "test=demo";
    }
    if (m->config.initrd_path) {
        m->initrd_file = machine_map_file("--initrd", m->config.initrd_path, errp);
        if (!m->initrd_file)
            return false;
        bc->initrd_name = m->config.initrd_path;
        bc->initrd = (const uint8_t *)g_mapped_file_get_contents(m->initrd_file);
        bc->initrd_size = g_mapped_file_get_length(m->initrd_file);
    }
    return true;
}

static bool machine_create_firmware(Machine *m, GError **errp)
{
    PcFirmwareConfig pc = {
        .system = m->system,
        .io = m->io_root,
        .memory = m->memory,
        .acpi = {
            .cpus = m->config.cpus,
            .ram_below_4g = m->ram_below_4g_size,
            .ram_above_4g = m->ram_above_4g_size,
            .pm_base = ACPI_PM_BASE,
            .gpe0_base = ACPI_GPE0_BASE,
            .sci_irq = ACPI_SCI_IRQ,
            .reset_port = RESET_CONTROL_PORT,
            .reset_value = RESET_CONTROL_VALUE,
            .s5_slp_typ = ACPI_S5_SLP_TYP,
            .com1_base = COM1_BASE,
            .com1_irq = COM1_IRQ,
            .fw_cfg_base = FW_CFG_IO_BASE,
        },
        .firmware_path = m->config.firmware_path,
        .kernel = m->boot_config.kernel ? &m->boot_config : NULL,
    };

    memory_hotplug_acpi_config(m->hotplug, &pc.acpi.dsdt_hook, &pc.acpi.dsdt_hook_opaque,
                               &pc.acpi.hotplug_base, &pc.acpi.hotplug_size);
    m->firmware = pc_firmware_new(&pc, errp);
    return m->firmware != NULL;
}

/* Direct kernel boot: ACPI tables and kernel straight into RAM.  With
 * firmware, the BSP starts at the reset vector and firmware does this. */
static bool machine_load_kernel(Machine *m, GError **errp)
{
    if (m->config.firmware_path || m->config.incoming)
        return true;
    return pc_firmware_install_acpi(m->firmware, errp) &&
           boot_load(&m->boot_config, &m->boot_entry, errp);
}

static const BootEntry *machine_boot_entry(Machine *m)
{
    return m->config.firmware_path || m->config.incoming ? NULL : &m->boot_entry;
}

static void machine_quiesce_pause(void *opaque)
{
    Machine *m = opaque;

    if (m->vcpus)
        vcpus_pause(m->vcpus);
}

static void machine_quiesce_resume(void *opaque)
{
    Machine *m = opaque;

    if (m->vcpus)
        vcpus_resume(m->vcpus);
}

Machine *machine_new(const MachineConfig *config, GError **errp)
{
    Machine *m = g_new0(Machine, 1);
    VcpusConfig vc;

    m->config = *config;
    /* First, so that a taken socket path fails before anything is built. */
    if (config->api_socket) {
        m->qmp = qmp_server_new(config->api_socket, errp);
        if (!m->qmp) {
            g_prefix_error(errp, "--api-socket ");
            goto fail;
        }
        qmp_commands_register_machine(m->qmp, m);
        qmp_migration_register(m->qmp, m);
    }
    m->kvm = kvm_open(errp);
    /* Before any vCPU exists: a dirty ring is set up per vCPU at creation. */
    if (m->kvm && !kvm_enable_dirty_tracking(m->kvm, config->dirty_tracking, 0, errp))
        goto fail;
    if (!m->kvm || !machine_create_memory(m, errp) || !machine_create_devices(m, errp) ||
        !machine_create_hotplug(m, errp) || !machine_map_boot_files(m, errp) ||
        !machine_create_firmware(m, errp) ||
        !machine_load_kernel(m, errp))
        goto fail;
    vc = (VcpusConfig){
        .kvm = m->kvm,
        .count = config->cpus,
        .memory = m->memory,
        .io = m->io,
        .memslots = m->memslots,
        .trace_unassigned = config->trace_unassigned,
    };
    m->vcpus = vcpus_new(&vc, errp);
    if (!m->vcpus || !vcpus_reset(m->vcpus, machine_boot_entry(m), errp))
        goto fail;
    m->migration = machine_migration_new(m, errp);
    if (!m->migration)
        goto fail;
    if (config->dump_acpi_dir && !pc_firmware_dump_acpi(m->firmware, config->dump_acpi_dir, errp))
        goto fail;
    kvm_memslots_set_quiesce(m->memslots, &(KvmMemslotsQuiesce){
        .pause = machine_quiesce_pause, .resume = machine_quiesce_resume, .opaque = m });
    return m;

fail:
    machine_free(m);
    return NULL;
}

void machine_free(Machine *m)
{
    if (!m)
        return;
    /* Tearing down the memory map must not try to pause freed vCPUs. */
    if (m->memslots)
        kvm_memslots_set_quiesce(m->memslots, NULL);
    g_clear_pointer(&m->migration, machine_migration_free);
    g_clear_pointer(&m->vcpus, vcpus_free);
    /* After the vCPU threads (they may emit events), before the devices. */
    g_clear_pointer(&m->qmp, qmp_server_free);
    g_clear_pointer(&m->firmware, pc_firmware_free);
    g_clear_pointer(&m->hotplug, memory_hotplug_free);
    machine_free_devices(m);
    machine_free_memory(m);
    g_clear_pointer(&m->kernel_file, g_mapped_file_unref);
    g_clear_pointer(&m->initrd_file, g_mapped_file_unref);
    g_clear_pointer(&m->loop, g_main_loop_unref);
    kvm_close(m->kvm);
    g_free(m);
}

bool machine_info(Machine *m, const char *topic, GString *out)
{
    if (g_str_equal(topic, "mtree"))
        mtree_info(out);
    else if (g_str_equal(topic, "ramblock"))
        ram_block_format(out);
    else if (g_str_equal(topic, "memslots"))
        kvm_memslots_format(m->memslots, out);
    else if (g_str_equal(topic, "memory-devices"))
        memory_hotplug_format(m->hotplug, out);
    else
        return false;
    return true;
}

/* A reboot: the CPUs and the platform go back to power-on state and the
 * kernel is loaded again; RAM keeps its contents, as on real hardware. */
static bool machine_reboot(Machine *m, GError **errp)
{
    bool ok;

    vcpus_pause(m->vcpus);
    machine_reset_devices(m);
    ok = kvm_reset_platform(m->kvm, errp) && pc_firmware_reset(m->firmware, errp) &&
         machine_load_kernel(m, errp) && vcpus_reset(m->vcpus, machine_boot_entry(m), errp);
    vcpus_resume(m->vcpus);
    return ok;
}

QmpServer *machine_qmp(Machine *m)
{
    return m->qmp;
}

void machine_emit_event(Machine *m, const char *name, JsonObject *data)
{
    if (m->qmp)
        qmp_server_emit_event(m->qmp, name, data);
    else if (data)
        json_object_unref(data);
}

static void machine_emit_shutdown_event(Machine *m, const char *name, const char *reason)
{
    JsonObject *data = json_object_new();

    json_object_set_boolean_member(data, "guest", g_str_has_prefix(reason, "guest-"));
    json_object_set_string_member(data, "reason", reason);
    machine_emit_event(m, name, data);
}

/* QEMU's ShutdownCause names. */
static const char *machine_shutdown_reason(Machine *m, int status)
{
    if (m->shutdown_reason)
        return m->shutdown_reason;
    if (status == FERRY_EXIT_POWEROFF)
        return "guest-shutdown";
    if (status == FERRY_EXIT_CRASH)
        return "guest-panic";
    /* Odd statuses are debug-exit writes (the guest's verdict); without it,
     * 1 is the serial console's Ctrl-A x. */
    return m->config.test_exit ? "guest-shutdown" : "host-ui";
}

/* Main thread: records why the host ends the run, unless it already ends. */
static void machine_request_host_exit(Machine *m, int status, const char *reason)
{
    if (!runstate_exit_requested())
        m->shutdown_reason = reason;
    runstate_request_exit(status);
}

MachineRunState machine_run_state(Machine *m)
{
    if (runstate_exit_requested())
        return MACHINE_SHUTDOWN;
    if (m->config.incoming && !m->vcpus_started)
        return MACHINE_INMIGRATE;
    if (machine_migration_completed(m))
        return MACHINE_POSTMIGRATE;
    return m->user_paused ? MACHINE_PAUSED : MACHINE_RUNNING;
}

bool machine_is_paused(Machine *m)
{
    return m->user_paused;
}

/* Pauses nest (reboots and memslot updates pause too), so a user pause
 * holds one level for as long as it lasts. */
bool machine_pause(Machine *m)
{
    if (m->user_paused)
        return false;
    vcpus_pause(m->vcpus);
    m->user_paused = true;
    machine_emit_event(m, "STOP", NULL);
    return true;
}

bool machine_resume(Machine *m)
{
    if (!m->user_paused)
        return machine_migration_take_back(m);
    m->user_paused = false;
    vcpus_resume(m->vcpus);
    machine_emit_event(m, "RESUME", NULL);
    return true;
}

void machine_press_power_button(Machine *m)
{
    acpi_pm_press_power_button(m->acpi_pm);
}

void machine_quit(Machine *m)
{
    machine_request_host_exit(m, FERRY_EXIT_POWEROFF, "host-qmp-quit");
}

static gboolean machine_handle_request(gpointer data)
{
    Machine *m = data;
    int status = 0;
    g_autoptr(GError) err = NULL;

    switch (runstate_take_request(&status)) {
    case RUN_REQUEST_NONE:
        break;
    case RUN_REQUEST_RESET:
        if (m->config.on_reset == ON_RESET_EXIT) {
            machine_request_host_exit(m, FERRY_EXIT_POWEROFF, "guest-reset");
            break;
        }
        if (!machine_reboot(m, &err)) {
            g_printerr("ferry: reboot failed: %s\n", err->message);
            machine_request_host_exit(m, FERRY_EXIT_USAGE, "host-error");
            break;
        }
        machine_emit_shutdown_event(m, "RESET", "guest-reset");
        break;
    case RUN_REQUEST_EXIT:
        m->exit_status = status;
        /* The loop may see the (sticky) exit request more than once. */
        if (!m->shutdown_announced) {
            m->shutdown_announced = true;
            machine_emit_shutdown_event(m, "SHUTDOWN", machine_shutdown_reason(m, status));
        }
        g_main_loop_quit(m->loop);
        break;
    }
    return G_SOURCE_REMOVE;
}

/* Called on any thread: hand the request to the main loop. */
static void machine_wake(void *opaque)
{
    g_idle_add(machine_handle_request, opaque);
}

static gboolean machine_on_signal(gpointer data)
{
    g_printerr("ferry: terminated by a signal, stopping the guest\n");
    machine_request_host_exit(data, FERRY_EXIT_USAGE, "host-signal");
    return G_SOURCE_CONTINUE;
}

void machine_start_vcpus(Machine *m)
{
    m->vcpus_started = true;
    vcpus_start(m->vcpus);
}

int machine_run(Machine *m)
{
    guint sigint = g_unix_signal_add(SIGINT, machine_on_signal, m);
    guint sigterm = g_unix_signal_add(SIGTERM, machine_on_signal, m);

    g_autoptr(GError) err = NULL;

    m->loop = g_main_loop_new(NULL, FALSE);
    runstate_set_waker(machine_wake, m);
    if (!m->config.incoming)
        machine_start_vcpus(m);
    else if (!g_str_equal(m->config.incoming, "defer") &&
             !machine_migration_incoming(m, m->config.incoming, &err)) {
        g_printerr("ferry: --incoming %s: %s\n", m->config.incoming, err->message);
        machine_request_host_exit(m, FERRY_EXIT_USAGE, "host-error");
    }
    /* A request may have come before the waker was set. */
    g_idle_add(machine_handle_request, m);
    g_main_loop_run(m->loop);
    runstate_set_waker(NULL, NULL);
    vcpus_stop(m->vcpus);
    g_source_remove(sigint);
    g_source_remove(sigterm);
    return m->exit_status;
}
