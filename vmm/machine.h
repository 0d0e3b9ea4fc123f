/* The x86 PC machine ferry builds: RAM below and above the 32-bit hole as
 * two aliases of one RAM block, the in-kernel irqchip and PIT, the legacy
 * devices, and the kernel loaded straight into RAM. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "firmware/boot.h"
#include "mem/address_space.h"
#include "mem/kvm_memslots.h"
#include "vmm/kvm.h"
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
} MachineConfig;

typedef struct Machine Machine;

/* Everything up to the point where vCPUs could start: VM, RAM, devices,
 * kernel in memory, boot vCPU registers. */
Machine *machine_new(const MachineConfig *config, GError **errp);
void machine_free(Machine *machine);

/* `info mtree|ramblock|memslots` into out; false for an unknown topic. */
bool machine_info(Machine *machine, const char *topic, GString *out);

/* Runs the guest until it ends; returns ferry's exit status. */
int machine_run(Machine *machine);

/* The largest RAM a guest can have on this host, for option checking. */
uint64_t machine_max_ram(void);
