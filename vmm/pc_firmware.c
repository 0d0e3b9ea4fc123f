#include "vmm/pc_firmware.h"

#include <stdio.h>

#include "firmware/firmware_image.h"
#include "firmware/fw_cfg.h"
#include "firmware/fw_cfg_kernel.h"
#include "firmware/fw_cfg_pc.h"
#include "firmware/rom_blob.h"

struct PcFirmware {
    PcFirmwareConfig config;
    FwCfg *fw_cfg;
    AcpiTables acpi;
    RomBlob *acpi_tables, *acpi_rsdp, *acpi_loader;
    bool acpi_patched; /* built since the last reset */
    FirmwareImage *image;
    FwCfgKernel *kernel;
};

/* (Re)build the tables into the three blobs: at set-up, and as the select
 * callback of each blob on the first read after a reset, so the tables
 * describe the machine as it is then (with DIMMs plugged since). */
static bool pc_firmware_build_acpi(PcFirmware *pf, GError **errp)
{
    pf->acpi_patched = true;
    acpi_build(&pf->config.acpi, &pf->acpi);
    return rom_blob_set_data(pf->acpi_tables, pf->acpi.tables->data, pf->acpi.tables->len, errp) &&
           rom_blob_set_data(pf->acpi_rsdp, pf->acpi.rsdp->data, pf->acpi.rsdp->len, errp) &&
           rom_blob_set_data(pf->acpi_loader, pf->acpi.loader->data, pf->acpi.loader->len, errp);
}

static void pc_firmware_acpi_selected(void *opaque)
{
    PcFirmware *pf = opaque;
    g_autoptr(GError) err = NULL;

    if (pf->acpi_patched)
        return;
    /* Only a table set larger than the fixed maxima fails: keep the old. */
    if (!pc_firmware_build_acpi(pf, &err))
        fprintf(stderr, "ferry: ACPI rebuild failed: %s\n", err->message);
}

static bool pc_firmware_create_acpi(PcFirmware *pf, GError **errp)
{
    acpi_tables_init(&pf->acpi);
    pf->acpi_tables = rom_blob_new(pf->fw_cfg, ACPI_FILE_TABLES, ROM_BLOB_ACPI_TABLES_MAX,
                                   pc_firmware_acpi_selected, pf, errp);
    if (!pf->acpi_tables)
        return false;
    pf->acpi_rsdp = rom_blob_new(pf->fw_cfg, ACPI_FILE_RSDP, ROM_BLOB_RSDP_MAX,
                                 pc_firmware_acpi_selected, pf, errp);
    if (!pf->acpi_rsdp)
        return false;
    pf->acpi_loader = rom_blob_new(pf->fw_cfg, ACPI_FILE_LOADER, ROM_BLOB_TABLE_LOADER_MAX,
                                   pc_firmware_acpi_selected, pf, errp);
    return pf->acpi_loader && pc_firmware_build_acpi(pf, errp);
}

/* SeaBIOS puts its 64-bit PCI window above this: past the hotplug window,
 * rounded up to 1 GiB as QEMU does. */
static bool pc_firmware_add_reserved_end(PcFirmware *pf, GError **errp)
{
    const AcpiConfig *acpi = &pf->config.acpi;
    uint64_t end;

    if (!acpi->hotplug_size)
        return true;
    end = GUINT64_TO_LE((acpi->hotplug_base + acpi->hotplug_size + (1ull << 30) - 1) &
                        ~((1ull << 30) - 1));
    return fw_cfg_add_file(pf->fw_cfg, "etc/reserved-memory-end", &end, sizeof(end), errp);
}

static bool pc_firmware_create_boot(PcFirmware *pf, GError **errp)
{
    const PcFirmwareConfig *c = &pf->config;
    const BootConfig *k = c->kernel;
    FwCfgPcConfig pc = {
        .cpus = c->acpi.cpus,
        .ram_below_4g = c->acpi.ram_below_4g,
        .ram_above_4g = c->acpi.ram_above_4g,
    };

    if (c->firmware_path) {
        pf->image = firmware_image_new(c->firmware_path, c->system, c->memory, errp);
        if (!pf->image)
            return false;
    }
    if (c->firmware_path && k) {
        FwCfgKernelConfig kc = {
            .memory = c->memory,
            .kernel_name = k->kernel_name,
            .kernel = k->kernel,
            .kernel_size = k->kernel_size,
            .initrd_name = k->initrd_name,
            .initrd = k->initrd,
            .initrd_size = k->initrd_size,
            .cmdline = k->cmdline,
            .kind = k->kind,
            .ram_below_4g = c->acpi.ram_below_4g,
        };

        pf->kernel = fw_cfg_kernel_new(pf->fw_cfg, &kc, errp);
        if (!pf->kernel)
            return false;
        pc.bootorder = fw_cfg_kernel_bootorder(pf->kernel);
    }
    return fw_cfg_pc_setup(pf->fw_cfg, &pc, errp) && pc_firmware_add_reserved_end(pf, errp);
}

PcFirmware *pc_firmware_new(const PcFirmwareConfig *config, GError **errp)
{
    PcFirmware *pf = g_new0(PcFirmware, 1);

    pf->config = *config;
    pf->fw_cfg = fw_cfg_new(config->io, config->memory);
    if (!pc_firmware_create_boot(pf, errp) || !pc_firmware_create_acpi(pf, errp)) {
        pc_firmware_free(pf);
        return NULL;
    }
    return pf;
}

void pc_firmware_free(PcFirmware *pf)
{
    if (!pf)
        return;
    g_clear_pointer(&pf->kernel, fw_cfg_kernel_free);
    g_clear_pointer(&pf->acpi_loader, rom_blob_free);
    g_clear_pointer(&pf->acpi_rsdp, rom_blob_free);
    g_clear_pointer(&pf->acpi_tables, rom_blob_free);
    acpi_tables_clear(&pf->acpi);
    g_clear_pointer(&pf->fw_cfg, fw_cfg_free);
    g_clear_pointer(&pf->image, firmware_image_free);
    g_free(pf);
}

bool pc_firmware_install_acpi(PcFirmware *pf, GError **errp)
{
    return acpi_loader_run(&pf->acpi, pf->config.memory, ACPI_DIRECT_BOOT_TABLES_ADDR, ACPI_DIRECT_BOOT_RSDP_ADDR,
                           errp);
}

bool pc_firmware_reset(PcFirmware *pf, GError **errp)
{
    fw_cfg_reset(pf->fw_cfg);
    pf->acpi_patched = false;
    if (pf->image)
        firmware_image_reset(pf->image);
    return !pf->kernel || fw_cfg_kernel_reset(pf->kernel, errp);
}

bool pc_firmware_dump_acpi(PcFirmware *pf, const char *dir, GError **errp)
{
    return acpi_dump(&pf->acpi, dir, errp);
}

FwCfg *pc_firmware_fw_cfg(PcFirmware *pf)
{
    return pf->fw_cfg;
}
