/* The PC machine's insides, shared by the files that make up the machine
 * (machine.c: assembly and the run loop; machine_migration.c: live
 * migration).  Nothing outside vmm/machine*.c includes this. */
#pragma once

#include "firmware/fw_cfg.h"
#include "hw/acpi_pm.h"
#include "hw/debug_exit.h"
#include "hw/debugcon.h"
#include "hw/i8042.h"
#include "hw/reset_control.h"
#include "hw/rtc.h"
#include "hw/serial.h"
#include "vmm/machine.h"
#include "vmm/machine_migration.h"
#include "vmm/memory_hotplug.h"
#include "vmm/pc_firmware.h"

struct Machine {
    MachineConfig config;
    Kvm *kvm;

    RamBlock *ram;
    MemoryRegion *system; /* root of `memory` */
    MemoryRegion *io_root; /* root of `io` */
    MemoryRegion *ram_mr; /* the whole block; only its aliases are mapped */
    MemoryRegion *ram_below_4g, *ram_above_4g;
    AddressSpace *memory, *io;
    KvmMemslots *memslots;
    uint64_t ram_below_4g_size, ram_above_4g_size;

    Chardev *serial_chr, *debugcon_chr;
    Serial *serial;
    Rtc *rtc;
    I8042 *i8042;
    DebugExit *debug_exit;
    Debugcon *debugcon;
    AcpiPm *acpi_pm;
    ResetControl *reset_control;

    PcFirmware *firmware;
    MemoryHotplug *hotplug;
    GMappedFile *kernel_file, *initrd_file;
    BootConfig boot_config;
    BootEntry boot_entry;

    Vcpus *vcpus;
    GMainLoop *loop;
    int exit_status;

    QmpServer *qmp; /* --api-socket */
    MachineMigration *migration;
    bool vcpus_started; /* an incoming migration starts them once loaded */
    bool user_paused; /* machine_pause(); main thread only */
    /* Why the run ends, for the SHUTDOWN event, when the host ends it or a
     * reset does (NULL: derived from the exit status). */
    const char *shutdown_reason;
    bool shutdown_announced;
};

