/* Fixed-layout ACPI tables (see tables.h).  Offsets in the comments are
 * from the start of each table or entry, as in the ACPI specification. */
#include "acpi/tables.h"

#include <string.h>

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)

void acpi_put_u8(GByteArray *b, uint8_t v)
{
    g_byte_array_append(b, &v, 1);
}

void acpi_put_u16(GByteArray *b, uint16_t v)
{
    acpi_put_u8(b, (uint8_t)v);
    acpi_put_u8(b, (uint8_t)(v >> 8));
}

void acpi_put_u32(GByteArray *b, uint32_t v)
{
    acpi_put_u16(b, (uint16_t)v);
    acpi_put_u16(b, (uint16_t)(v >> 16));
}

void acpi_put_u64(GByteArray *b, uint64_t v)
{
    acpi_put_u32(b, (uint32_t)v);
    acpi_put_u32(b, (uint32_t)(v >> 32));
}

void acpi_put_zeros(GByteArray *b, unsigned n)
{
    guint at = b->len;
    g_byte_array_set_size(b, at + n);
    memset(b->data + at, 0, n);
}

void acpi_put_chars(GByteArray *b, const char *s)
{
    g_byte_array_append(b, (const uint8_t *)s, (guint)strlen(s));
}

void acpi_set_u32(GByteArray *b, uint32_t offset, uint32_t v)
{
    g_assert(offset + 4 <= b->len);
    for (unsigned i = 0; i < 4; i++)
        b->data[offset + i] = (uint8_t)(v >> (8 * i));
}

uint32_t acpi_table_begin(GByteArray *tables, const char *signature, uint8_t revision)
{
    g_assert(strlen(signature) == 4);
    uint32_t offset = tables->len;
    acpi_put_chars(tables, signature);
    acpi_put_u32(tables, 0); /* length, set by acpi_table_end */
    acpi_put_u8(tables, revision);
    acpi_put_u8(tables, 0); /* checksum, computed by the loader */
    acpi_put_chars(tables, ACPI_OEM_ID);
    acpi_put_chars(tables, ACPI_OEM_TABLE_ID);
    acpi_put_u32(tables, ACPI_OEM_REVISION);
    acpi_put_chars(tables, ACPI_CREATOR_ID);
    acpi_put_u32(tables, ACPI_CREATOR_REVISION);
    return offset;
}

void acpi_table_end(GByteArray *tables, Linker *linker, uint32_t table_offset)
{
    uint32_t length = tables->len - table_offset;
    acpi_set_u32(tables, table_offset + 4, length);
    linker_add_checksum(linker, ACPI_FILE_TABLES, table_offset, length,
                        table_offset + ACPI_TABLE_CHECKSUM_OFFSET);
}

/* ---- FACS ---- */

uint32_t acpi_build_facs(GByteArray *tables)
{
    /* The loader aligns the blob to 64 and the FACS is first in it. */
    g_assert(tables->len % 64 == 0);
    uint32_t offset = tables->len;
    acpi_put_chars(tables, "FACS");
    acpi_put_u32(tables, ACPI_FACS_SIZE);
    acpi_put_u32(tables, 0); /* @8 hardware signature */
    acpi_put_u32(tables, 0); /* @12 firmware waking vector: no S3 */
    acpi_put_u32(tables, 0); /* @16 global lock */
    acpi_put_u32(tables, 0); /* @20 flags: no S4BIOS, no 64-bit wake */
    acpi_put_u64(tables, 0); /* @24 X firmware waking vector */
    acpi_put_u8(tables, 2); /* @32 version (ACPI 4.0+ layout) */
    acpi_put_zeros(tables, 3); /* @33 reserved */
    acpi_put_u32(tables, 0); /* @36 OSPM flags */
    acpi_put_zeros(tables, 24); /* @40 reserved */
    return offset;
}

/* ---- FADT ---- */

enum {
    FADT_F_WBINVD = 1u << 0,
    FADT_F_PROC_C1 = 1u << 2,
    FADT_F_SLP_BUTTON = 1u << 5,
    FADT_F_RTC_S4 = 1u << 7,
    FADT_F_RESET_REG_SUP = 1u << 10,

    FADT_BOOT_LEGACY_DEVICES = 1u << 0,
    FADT_BOOT_VGA_NOT_PRESENT = 1u << 2,

    FADT_OFF_FIRMWARE_CTRL = 36,
    FADT_OFF_DSDT = 40,
    FADT_OFF_X_DSDT = 140,

    PM1_EVT_LEN = 4,
    PM1_CNT_LEN = 2,
    PM_TMR_LEN = 4,
    GPE0_BLK_LEN = 4,
    RTC_CENTURY_INDEX = 0x32,
};

/* Generic Address Structure: 12 bytes. */
static void put_gas(GByteArray *b, uint8_t space, uint8_t bit_width, uint8_t access_size,
                    uint64_t address)
{
    acpi_put_u8(b, space);
    acpi_put_u8(b, bit_width);
    acpi_put_u8(b, 0); /* bit offset */
    acpi_put_u8(b, access_size); /* 0 undefined, 1 byte, 2 word, 3 dword, 4 qword */
    acpi_put_u64(b, address);
}

/* An I/O block in the legacy form's width, 0 when absent. */
static void put_io_gas(GByteArray *b, uint16_t port, unsigned len)
{
    if (port && len)
        put_gas(b, ACPI_GAS_IO, (uint8_t)(len * 8), 0, port);
    else
        put_gas(b, 0, 0, 0, 0);
}

uint32_t acpi_build_fadt(GByteArray *tables, Linker *linker, const AcpiConfig *config,
                         uint32_t facs_offset, uint32_t dsdt_offset)
{
    uint32_t t = acpi_table_begin(tables, "FACP", ACPI_FADT_REVISION);
    acpi_put_u32(tables, 0); /* @36 FIRMWARE_CTRL (FACS), patched */
    acpi_put_u32(tables, 0); /* @40 DSDT, patched */
    acpi_put_u8(tables, 0); /* @44 reserved */
    acpi_put_u8(tables, 0); /* @45 preferred PM profile: unspecified */
    acpi_put_u16(tables, config->sci_irq); /* @46 SCI_INT */
    /* @48 SMI_CMD 0 and no ACPI_ENABLE/DISABLE: without SMM the machine is
     * always in ACPI mode (SCI_EN reads 1). */
    acpi_put_u32(tables, 0);
    acpi_put_u8(tables, 0); /* @52 ACPI_ENABLE */
    acpi_put_u8(tables, 0); /* @53 ACPI_DISABLE */
    acpi_put_u8(tables, 0); /* @54 S4BIOS_REQ */
    acpi_put_u8(tables, 0); /* @55 PSTATE_CNT */
    acpi_put_u32(tables, config->pm_base); /* @56 PM1a_EVT_BLK */
    acpi_put_u32(tables, 0); /* @60 PM1b_EVT_BLK */
    acpi_put_u32(tables, config->pm_base + 4u); /* @64 PM1a_CNT_BLK */
    acpi_put_u32(tables, 0); /* @68 PM1b_CNT_BLK */
    acpi_put_u32(tables, 0); /* @72 PM2_CNT_BLK */
    acpi_put_u32(tables, config->pm_base + 8u); /* @76 PM_TMR_BLK */
    acpi_put_u32(tables, config->gpe0_base); /* @80 GPE0_BLK */
    acpi_put_u32(tables, 0); /* @84 GPE1_BLK */
    acpi_put_u8(tables, PM1_EVT_LEN); /* @88 */
    acpi_put_u8(tables, PM1_CNT_LEN); /* @89 */
    acpi_put_u8(tables, 0); /* @90 PM2_CNT_LEN */
    acpi_put_u8(tables, PM_TMR_LEN); /* @91 */
    acpi_put_u8(tables, GPE0_BLK_LEN); /* @92 */
    acpi_put_u8(tables, 0); /* @93 GPE1_BLK_LEN */
    acpi_put_u8(tables, 0); /* @94 GPE1_BASE */
    acpi_put_u8(tables, 0); /* @95 CST_CNT */
    acpi_put_u16(tables, 0x0fff); /* @96 P_LVL2_LAT: > 100, no C2 */
    acpi_put_u16(tables, 0x03e9); /* @98 P_LVL3_LAT: > 1000, no C3 */
    acpi_put_u16(tables, 0); /* @100 FLUSH_SIZE (WBINVD is used) */
    acpi_put_u16(tables, 0); /* @102 FLUSH_STRIDE */
    acpi_put_u8(tables, 0); /* @104 DUTY_OFFSET */
    acpi_put_u8(tables, 0); /* @105 DUTY_WIDTH */
    acpi_put_u8(tables, 0); /* @106 DAY_ALRM: no RTC day alarm */
    acpi_put_u8(tables, 0); /* @107 MON_ALRM */
    acpi_put_u8(tables, RTC_CENTURY_INDEX); /* @108 CENTURY: hw/rtc.c keeps it at 0x32 */
    /* @109 IAPC_BOOT_ARCH: ISA devices (COM1, RTC) exist; no VGA.  The 8042
     * flag stays clear: ferry's i8042 has no keyboard or mouse, so the OS
     * may skip probing it. */
    acpi_put_u16(tables, FADT_BOOT_LEGACY_DEVICES | FADT_BOOT_VGA_NOT_PRESENT);
    acpi_put_u8(tables, 0); /* @111 reserved */
    /* @112 flags.  WBINVD works (a PC must have it); C1 (HLT) works on all
     * CPUs; the sleep button is absent (a fixed power button exists: the PM
     * block has PWRBTN_STS); the RTC can wake from S4 as on every PC
     * chipset; the reset register below is there.  The PM timer is 24-bit
     * (no TMR_VAL_EXT). */
    acpi_put_u32(tables, FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_SLP_BUTTON | FADT_F_RTC_S4 |
                             FADT_F_RESET_REG_SUP);
    put_gas(tables, ACPI_GAS_IO, 8, 1, config->reset_port); /* @116 RESET_REG */
    acpi_put_u8(tables, config->reset_value); /* @128 RESET_VALUE */
    acpi_put_u16(tables, 0); /* @129 ARM_BOOT_ARCH (reserved in rev 3) */
    acpi_put_u8(tables, 0); /* @131 minor version (reserved in rev 3) */
    acpi_put_u64(tables, 0); /* @132 X_FIRMWARE_CTRL: 0, see below */
    acpi_put_u64(tables, 0); /* @140 X_DSDT, patched */
    put_io_gas(tables, config->pm_base, PM1_EVT_LEN); /* @148 X_PM1a_EVT_BLK */
    put_io_gas(tables, 0, 0); /* @160 X_PM1b_EVT_BLK */
    put_io_gas(tables, config->pm_base + 4u, PM1_CNT_LEN); /* @172 X_PM1a_CNT_BLK */
    put_io_gas(tables, 0, 0); /* @184 X_PM1b_CNT_BLK */
    put_io_gas(tables, 0, 0); /* @196 X_PM2_CNT_BLK */
    put_io_gas(tables, config->pm_base + 8u, PM_TMR_LEN); /* @208 X_PM_TMR_BLK */
    put_io_gas(tables, config->gpe0_base, GPE0_BLK_LEN); /* @220 X_GPE0_BLK */
    put_io_gas(tables, 0, 0); /* @232 X_GPE1_BLK */
    g_assert(tables->len - t == ACPI_FADT_SIZE);

    /* The FACS in FIRMWARE_CTRL only: the spec wants X_FIRMWARE_CTRL zero
     * when FIRMWARE_CTRL is set (Linux lists the FACS twice otherwise).  The
     * DSDT in both forms, equal, which the spec allows. */
    linker_add_pointer(linker, ACPI_FILE_TABLES, t + FADT_OFF_FIRMWARE_CTRL, 4, ACPI_FILE_TABLES,
                       facs_offset);
    linker_add_pointer(linker, ACPI_FILE_TABLES, t + FADT_OFF_DSDT, 4, ACPI_FILE_TABLES,
                       dsdt_offset);
    linker_add_pointer(linker, ACPI_FILE_TABLES, t + FADT_OFF_X_DSDT, 8, ACPI_FILE_TABLES,
                       dsdt_offset);
    acpi_table_end(tables, linker, t);
    return t;
}

/* ---- MADT ---- */

static void put_interrupt_override(GByteArray *b, uint8_t irq, uint32_t gsi, uint16_t flags)
{
    acpi_put_u8(b, ACPI_MADT_INTERRUPT_OVERRIDE);
    acpi_put_u8(b, 10);
    acpi_put_u8(b, 0); /* bus: ISA */
    acpi_put_u8(b, irq);
    acpi_put_u32(b, gsi);
    acpi_put_u16(b, flags);
}

uint32_t acpi_build_madt(GByteArray *tables, Linker *linker, const AcpiConfig *config)
{
    g_assert(config->cpus >= 1 && config->cpus <= 255);
    uint32_t t = acpi_table_begin(tables, "APIC", ACPI_MADT_REVISION);
    acpi_put_u32(tables, ACPI_LAPIC_ADDRESS); /* @36 */
    acpi_put_u32(tables, 1); /* @40 flags: PCAT_COMPAT, there are 8259 PICs */

    for (unsigned cpu = 0; cpu < config->cpus; cpu++) {
        acpi_put_u8(tables, ACPI_MADT_LOCAL_APIC);
        acpi_put_u8(tables, 8);
        acpi_put_u8(tables, (uint8_t)cpu); /* ACPI processor UID = the DSDT's _UID */
        acpi_put_u8(tables, (uint8_t)cpu); /* APIC ID */
        acpi_put_u32(tables, 1); /* enabled */
    }

    acpi_put_u8(tables, ACPI_MADT_IO_APIC);
    acpi_put_u8(tables, 12);
    acpi_put_u8(tables, ACPI_IOAPIC_ID);
    acpi_put_u8(tables, 0);
    acpi_put_u32(tables, ACPI_IOAPIC_ADDRESS);
    acpi_put_u32(tables, 0); /* GSI base */

    /* The PIT's IRQ 0 is wired to IOAPIC pin 2; flags 0 = bus defaults. */
    put_interrupt_override(tables, 0, 2, 0);
    /* The SCI is level-triggered, active high (flags: polarity 01, trigger 11). */
    put_interrupt_override(tables, config->sci_irq, config->sci_irq, 0x000d);

    acpi_put_u8(tables, ACPI_MADT_LOCAL_APIC_NMI);
    acpi_put_u8(tables, 6);
    acpi_put_u8(tables, 0xff); /* all processors */
    acpi_put_u16(tables, 0); /* flags: bus defaults (edge, high) */
    acpi_put_u8(tables, 1); /* LINT1 */

    acpi_table_end(tables, linker, t);
    return t;
}

/* ---- SRAT ---- */

void acpi_srat_add_memory(GByteArray *tables, uint64_t base, uint64_t length, uint32_t node,
                          AcpiSratMemFlags flags)
{
    acpi_put_u8(tables, ACPI_SRAT_MEMORY_AFFINITY);
    acpi_put_u8(tables, 40);
    acpi_put_u32(tables, node); /* @2 proximity domain */
    acpi_put_u16(tables, 0); /* @6 reserved */
    acpi_put_u64(tables, base); /* @8 */
    acpi_put_u64(tables, length); /* @16 */
    acpi_put_u32(tables, 0); /* @24 reserved */
    acpi_put_u32(tables, flags); /* @28 */
    acpi_put_u64(tables, 0); /* @32 reserved */
}

uint32_t acpi_build_srat(GByteArray *tables, Linker *linker, const AcpiConfig *config)
{
    uint32_t t = acpi_table_begin(tables, "SRAT", ACPI_SRAT_REVISION);
    acpi_put_u32(tables, 1); /* @36 reserved, 1 for compatibility */
    acpi_put_u64(tables, 0); /* @40 reserved */

    for (unsigned cpu = 0; cpu < config->cpus; cpu++) {
        acpi_put_u8(tables, ACPI_SRAT_CPU_AFFINITY);
        acpi_put_u8(tables, 16);
        acpi_put_u8(tables, 0); /* @2 proximity domain bits 7:0 */
        acpi_put_u8(tables, (uint8_t)cpu); /* @3 APIC ID */
        acpi_put_u32(tables, 1); /* @4 flags: enabled */
        acpi_put_u8(tables, 0); /* @8 local SAPIC EID */
        acpi_put_zeros(tables, 3); /* @9 proximity domain bits 31:8 */
        acpi_put_u32(tables, 0); /* @12 clock domain */
    }

    /* Boot RAM, all in node 0, without the legacy hole [640K, 1M) and the
     * PCI hole below 4 GiB. */
    uint64_t low_end = MIN(config->ram_below_4g, 640 * KiB);
    if (low_end)
        acpi_srat_add_memory(tables, 0, low_end, 0, ACPI_SRAT_MEM_ENABLED);
    if (config->ram_below_4g > 1 * MiB)
        acpi_srat_add_memory(tables, 1 * MiB, config->ram_below_4g - 1 * MiB, 0,
                             ACPI_SRAT_MEM_ENABLED);
    if (config->ram_above_4g)
        acpi_srat_add_memory(tables, 4 * GiB, config->ram_above_4g, 0, ACPI_SRAT_MEM_ENABLED);

    /* One entry spanning the whole hotplug window, as QEMU gives, so that
     * Linux sizes max_possible_pfn (SWIOTLB) and marks the range
     * hot-pluggable; Windows will not hot-add memory without it. */
    if (config->hotplug_size)
        acpi_srat_add_memory(tables, config->hotplug_base, config->hotplug_size, 0,
                             ACPI_SRAT_MEM_ENABLED | ACPI_SRAT_MEM_HOTPLUGGABLE);

    acpi_table_end(tables, linker, t);
    return t;
}

/* ---- RSDT, XSDT, RSDP ---- */

static uint32_t build_sdt(GByteArray *tables, Linker *linker, const char *signature,
                          uint8_t revision, const uint32_t *offsets, unsigned count,
                          uint8_t entry_size)
{
    uint32_t t = acpi_table_begin(tables, signature, revision);
    for (unsigned i = 0; i < count; i++) {
        uint32_t field = tables->len;
        acpi_put_zeros(tables, entry_size);
        linker_add_pointer(linker, ACPI_FILE_TABLES, field, entry_size, ACPI_FILE_TABLES,
                           offsets[i]);
    }
    acpi_table_end(tables, linker, t);
    return t;
}

uint32_t acpi_build_rsdt(GByteArray *tables, Linker *linker, const uint32_t *offsets,
                         unsigned count)
{
    return build_sdt(tables, linker, "RSDT", ACPI_RSDT_REVISION, offsets, count, 4);
}

uint32_t acpi_build_xsdt(GByteArray *tables, Linker *linker, const uint32_t *offsets,
                         unsigned count)
{
    return build_sdt(tables, linker, "XSDT", ACPI_XSDT_REVISION, offsets, count, 8);
}

enum {
    RSDP_OFF_CHECKSUM = 8,
    RSDP_OFF_RSDT = 16,
    RSDP_OFF_XSDT = 24,
    RSDP_OFF_EXT_CHECKSUM = 32,
    RSDP_V1_SIZE = 20, /* what the first checksum covers */
};

void acpi_build_rsdp(GByteArray *rsdp, Linker *linker, uint32_t rsdt_offset,
                     uint32_t xsdt_offset)
{
    g_byte_array_set_size(rsdp, 0);
    acpi_put_chars(rsdp, "RSD PTR ");
    acpi_put_u8(rsdp, 0); /* @8 checksum of the first 20 bytes */
    acpi_put_chars(rsdp, ACPI_OEM_ID); /* @9 */
    acpi_put_u8(rsdp, 2); /* @15 revision: has the XSDT fields */
    acpi_put_u32(rsdp, 0); /* @16 RSDT, patched */
    acpi_put_u32(rsdp, ACPI_RSDP_SIZE); /* @20 length */
    acpi_put_u64(rsdp, 0); /* @24 XSDT, patched */
    acpi_put_u8(rsdp, 0); /* @32 extended checksum */
    acpi_put_zeros(rsdp, 3); /* @33 reserved */

    linker_add_pointer(linker, ACPI_FILE_RSDP, RSDP_OFF_RSDT, 4, ACPI_FILE_TABLES, rsdt_offset);
    linker_add_pointer(linker, ACPI_FILE_RSDP, RSDP_OFF_XSDT, 8, ACPI_FILE_TABLES, xsdt_offset);
    /* The 20-byte checksum first: the extended one covers its result. */
    linker_add_checksum(linker, ACPI_FILE_RSDP, 0, RSDP_V1_SIZE, RSDP_OFF_CHECKSUM);
    linker_add_checksum(linker, ACPI_FILE_RSDP, 0, ACPI_RSDP_SIZE, RSDP_OFF_EXT_CHECKSUM);
}
