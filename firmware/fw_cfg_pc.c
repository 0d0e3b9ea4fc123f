/* The fixed fw_cfg items of a PC: see fw_cfg_pc.h. */
#include "firmware/fw_cfg_pc.h"

#include <string.h>

#include "mem/le_bytes.h"

#define FOUR_GiB (1ull << 32)
#define KVM_IDENTITY_MAP_ADDR 0xfeffc000ull /* identity-map page + 3 TSS pages */
#define KVM_IDENTITY_MAP_SIZE 0x4000ull
#define FW_CFG_E820_ENTRY_SIZE 20 /* u64 addr, u64 len, u32 type, packed */

void fw_cfg_pc_build_e820(E820Table *table, uint64_t ram_below_4g, uint64_t ram_above_4g)
{
    table->nr = 0;
    e820_add(table, 0, MIN(ram_below_4g, KVM_IDENTITY_MAP_ADDR), E820_RAM);
    e820_add(table, KVM_IDENTITY_MAP_ADDR, KVM_IDENTITY_MAP_SIZE, E820_RESERVED);
    e820_add(table, FOUR_GiB, ram_above_4g, E820_RAM);
}

static bool fw_cfg_pc_add_e820(FwCfg *fw, const FwCfgPcConfig *cfg, GError **errp)
{
    E820Table table;

    fw_cfg_pc_build_e820(&table, cfg->ram_below_4g, cfg->ram_above_4g);
    g_autofree uint8_t *data = g_malloc0(table.nr * FW_CFG_E820_ENTRY_SIZE);
    for (unsigned i = 0; i < table.nr; i++) {
        uint8_t *entry = data + i * FW_CFG_E820_ENTRY_SIZE;
        le64_store(entry, table.entries[i].addr);
        le64_store(entry + 8, table.entries[i].size);
        le32_store(entry + 16, table.entries[i].type);
    }
    return fw_cfg_add_file(fw, "etc/e820", data, table.nr * FW_CFG_E820_ENTRY_SIZE, errp);
}

bool fw_cfg_pc_setup(FwCfg *fw, const FwCfgPcConfig *cfg, GError **errp)
{
    fw_cfg_add_i64(fw, FW_CFG_RAM_SIZE, cfg->ram_below_4g + cfg->ram_above_4g);
    fw_cfg_add_i16(fw, FW_CFG_NB_CPUS, cfg->cpus);
    fw_cfg_add_i16(fw, FW_CFG_MAX_CPUS, cfg->cpus);
    fw_cfg_add_i16(fw, FW_CFG_NOGRAPHIC, 1);
    fw_cfg_add_i16(fw, FW_CFG_BOOT_MENU, 0);
    fw_cfg_add_i32(fw, FW_CFG_IRQ0_OVERRIDE, 1);
    fw_cfg_add_i16(fw, FW_CFG_ACPI_TABLES, 0);
    fw_cfg_add_i16(fw, FW_CFG_SMBIOS_ENTRIES, 0);
    if (!fw_cfg_pc_add_e820(fw, cfg, errp))
        return false;
    /* Firmware reads it as text without a terminator; QEMU sends none. */
    if (cfg->bootorder &&
        !fw_cfg_add_file(fw, "bootorder", cfg->bootorder, strlen(cfg->bootorder), errp))
        return false;
    return true;
}
