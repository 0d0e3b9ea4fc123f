/* The x86 PC machine ferry builds: RAM below and above the 32-bit hole as
 * two aliases of one RAM block, the in-kernel irqchip and PIT, the legacy
 * devices, and the kernel loaded straight into RAM. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "firmware/boot.h"
#include "mem/address_space.h"
#include "mem/kvm_memslots.h"
#include "vmm/kvm.h"
#include "vmm/qmp_server.h"
#include "vmm/vcpu.h"

typedef enum OnReset {
    ON_RESET_EXIT, /* a guest reset ends the run with status 0 */
    ON_RESET_REBOOT, /* a guest reset restarts it from the kernel */
} OnReset;

typedef struct MachineConfig {
    uint64_t ram_size;
    unsigned memory_slots; /* DIMM slots; 0 = no memory hotplug */
    uint64_t maxmem; /* boot RAM plus all DIMMs; == ram_size without slots */
    unsigned cpus;
    const char *firmware_path; /* NULL: direct kernel boot */
    const char *kernel_path; /* NULL: the built-in test guest (or, with firmware, no kernel) */
    const char *initrd_path;
    const char *cmdline;
    BootKind boot_kind;
    const char *serial; /* chardev spec */
    const char *debugcon; /* chardev spec, NULL = no debugcon */
    bool test_exit;
    OnReset on_reset;
    bool trace_unassigned;
    const char *dump_acpi_dir; /* write the ACPI tables there before booting */
    DirtyTracking dirty_tracking; /* how KVM reports dirty pages to migration */
    const char *incoming; /* --incoming URI or "defer": the guest comes from a stream */
    bool start_paused; /* --paused: after an incoming migration, do not run the guest */
    const char *api_socket; /* QMP control socket path, NULL = none */
} MachineConfig;

typedef struct Machine Machine;

/* Everything up to the point where vCPUs could start: VM, RAM, devices,
 * kernel in memory, boot vCPU registers. */
Machine *machine_new(const MachineConfig *config, GError **errp);
void machine_free(Machine *machine);

/* `info mtree|ramblock|memslots` into out; false for an unknown topic. */
bool machine_info(Machine *machine, const char *topic, GString *out);

/* Starts the vCPU threads (once; an incoming migration does it when its
 * stream has loaded). */
void machine_start_vcpus(Machine *machine);

/* Runs the guest until it ends; returns ferry's exit status. */
int machine_run(Machine *machine);

/* The control socket (NULL without --api-socket): further commands are
 * added with qmp_server_register(machine_qmp(m), ...). */
QmpServer *machine_qmp(Machine *machine);
/* Emits a QMP event if there is a control socket (takes `data`, may be
 * NULL); callable from any thread, vCPU threads included. */
void machine_emit_event(Machine *machine, const char *name, JsonObject *data);

/* What the run is doing, as QMP's query-status says it. */
typedef enum MachineRunState {
    MACHINE_RUNNING,
    MACHINE_PAUSED, /* stopped by machine_pause() */
    MACHINE_SHUTDOWN, /* the run is ending */
    MACHINE_INMIGRATE, /* waiting for (or loading) an incoming migration */
    MACHINE_POSTMIGRATE, /* migrated away: paused until quit */
} MachineRunState;

/* Main thread only, while machine_run() runs. */
MachineRunState machine_run_state(Machine *machine);
/* Stop or restart every vCPU on the user's behalf; emit STOP / RESUME.
 * False (and nothing happens) when already paused / running. */
bool machine_pause(Machine *machine);
bool machine_resume(Machine *machine);
bool machine_is_paused(Machine *machine);
/* ACPI power button: a guest that listens shuts down (SHUTDOWN event,
 * status 0). */
void machine_press_power_button(Machine *machine);
/* End the run with status 0 on the host's behalf (QMP quit). */
void machine_quit(Machine *machine);

/* The largest RAM a guest can have on this host, for option checking. */
uint64_t machine_max_ram(void);
