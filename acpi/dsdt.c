/* The DSDT: the AML namespace an OS walks to find devices that cannot be
 * enumerated (no PCI here: everything sits in \_SB). */
#include "acpi/dsdt.h"

#include "acpi/aml.h"
#include "acpi/tables.h"

#define FW_CFG_PORTS 0x0c /* selector, data and the DMA address registers */

/* One Device per vCPU: ACPI0007 devices, not the deprecated Processor
 * opcode.  _UID matches the MADT's processor UID. */
static void add_processors(Aml *sb, const AcpiConfig *config)
{
    for (unsigned cpu = 0; cpu < config->cpus; cpu++) {
        Aml *dev = aml_device("C%03X", cpu);
        aml_append(dev, aml_name_decl("_HID", aml_string("ACPI0007")));
        aml_append(dev, aml_name_decl("_UID", aml_int(cpu)));
        aml_append(sb, dev);
    }
}

static void add_com1(Aml *sb, const AcpiConfig *config)
{
    Aml *dev = aml_device("COM1");
    aml_append(dev, aml_name_decl("_HID", aml_eisaid("PNP0501")));
    aml_append(dev, aml_name_decl("_UID", aml_int(1)));
    Aml *crs = aml_resource_template();
    aml_append(crs, aml_io(config->com1_base, config->com1_base, 0x00, 0x08));
    aml_append(crs, aml_irq_no_flags(config->com1_irq));
    aml_append(dev, aml_name_decl("_CRS", crs));
    aml_append(sb, dev);
}

/* fw_cfg as QEMU describes it, so that Linux's qemu_fw_cfg driver binds. */
static void add_fw_cfg(Aml *sb, uint16_t base)
{
    Aml *dev = aml_device("FWCF");
    aml_append(dev, aml_name_decl("_HID", aml_string("QEMU0002")));
    aml_append(dev, aml_name_decl("_STA", aml_int(0x0b)));
    Aml *crs = aml_resource_template();
    aml_append(crs, aml_io(base, base, 0x01, FW_CFG_PORTS));
    aml_append(dev, aml_name_decl("_CRS", crs));
    aml_append(sb, dev);
}

uint32_t acpi_build_dsdt(GByteArray *tables, Linker *linker, const AcpiConfig *config)
{
    uint32_t t = acpi_table_begin(tables, "DSDT", ACPI_DSDT_REVISION);
    Aml *body = aml_block();

    Aml *sb = aml_scope("\\_SB");
    add_processors(sb, config);
    add_com1(sb, config);
    if (config->fw_cfg_base)
        add_fw_cfg(sb, config->fw_cfg_base);

    /* GPE block device; event handlers such as memory hotplug's _E03 come
     * from the hook. */
    Aml *gpe = aml_scope("\\_GPE");
    aml_append(gpe, aml_name_decl("_HID", aml_string("ACPI0006")));

    /* Devices that own their AML (hw/memhp.c) fill both scopes here. */
    if (config->dsdt_hook)
        config->dsdt_hook(config->dsdt_hook_opaque, sb, gpe);
    aml_append(body, sb);

    /* Soft-off: SLP_TYP for PM1a, then PM1b (absent) and two reserved. */
    Aml *s5 = aml_package();
    aml_append(s5, aml_int(config->s5_slp_typ));
    aml_append(s5, aml_int(0));
    aml_append(s5, aml_int(0));
    aml_append(s5, aml_int(0));
    aml_append(body, aml_name_decl("\\_S5", s5));

    aml_append(body, gpe);

    aml_serialize(body, tables);
    acpi_table_end(tables, linker, t);
    return t;
}
