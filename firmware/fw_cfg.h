/* fw_cfg: QEMU's firmware configuration device on x86 I/O ports, so that
 * SeaBIOS, qboot, OVMF and Linux's qemu_fw_cfg driver work unchanged.
 *
 * Ports: 0x510 selector (16-bit write), 0x511 data (8-bit read; also 8-bit
 * reads at 0x510), 0x514/0x518 DMA address high/low (big-endian; a write to
 * 0x518 runs the transfer).  Keys below 0x20 are the fixed items, files sit
 * at 0x20 and up with a directory at key 0x19 (FW_CFG_FILE_DIR), sorted by
 * name.  Every DMA access to guest memory goes through
 * address_space_ram_ptr(): a descriptor or buffer outside guest RAM sets the
 * error bit and nothing is read or written.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/address_space.h"
#include "mem/region.h"

#define FW_CFG_IO_BASE 0x510

enum {
    FW_CFG_SIGNATURE = 0x00,
    FW_CFG_ID = 0x01,
    FW_CFG_UUID = 0x02,
    FW_CFG_RAM_SIZE = 0x03,
    FW_CFG_NOGRAPHIC = 0x04,
    FW_CFG_NB_CPUS = 0x05,
    FW_CFG_KERNEL_ADDR = 0x07,
    FW_CFG_KERNEL_SIZE = 0x08,
    FW_CFG_INITRD_ADDR = 0x0a,
    FW_CFG_INITRD_SIZE = 0x0b,
    FW_CFG_BOOT_MENU = 0x0e,
    FW_CFG_MAX_CPUS = 0x0f,
    FW_CFG_KERNEL_ENTRY = 0x10,
    FW_CFG_KERNEL_DATA = 0x11,
    FW_CFG_INITRD_DATA = 0x12,
    FW_CFG_CMDLINE_ADDR = 0x13,
    FW_CFG_CMDLINE_SIZE = 0x14,
    FW_CFG_CMDLINE_DATA = 0x15,
    FW_CFG_SETUP_ADDR = 0x16,
    FW_CFG_SETUP_SIZE = 0x17,
    FW_CFG_SETUP_DATA = 0x18,
    FW_CFG_FILE_DIR = 0x19,
    FW_CFG_FILE_FIRST = 0x20,
    FW_CFG_ARCH_LOCAL = 0x8000,
    FW_CFG_ACPI_TABLES = FW_CFG_ARCH_LOCAL + 0,
    FW_CFG_SMBIOS_ENTRIES = FW_CFG_ARCH_LOCAL + 1,
    FW_CFG_IRQ0_OVERRIDE = FW_CFG_ARCH_LOCAL + 2,
    FW_CFG_E820_TABLE = FW_CFG_ARCH_LOCAL + 3,
};

#define FW_CFG_MAX_FILE_NAME 56
#define FW_CFG_FILE_SLOTS 32 /* files at 0x20..0x3f, like QEMU's default */

typedef struct FwCfg FwCfg;

/* Called when the item is selected (port or DMA), before any data moves:
 * the place to build an item lazily.  Runs under the device lock. */
typedef void (*FwCfgSelectFn)(void *opaque);
/* Called after a DMA write stored `len` bytes at `offset` of a writable item. */
typedef void (*FwCfgWriteFn)(void *opaque, uint32_t offset, uint32_t len);

/* Ports in `io`, DMA through `dma` (the memory address space). */
FwCfg *fw_cfg_new(MemoryRegion *io, AddressSpace *dma);
void fw_cfg_free(FwCfg *fw);
/* Select key 0, as a device reset does. */
void fw_cfg_reset(FwCfg *fw);

/* Fixed items; the data is copied. */
void fw_cfg_add_bytes(FwCfg *fw, uint16_t key, const void *data, size_t len);
void fw_cfg_add_i16(FwCfg *fw, uint16_t key, uint16_t value);
void fw_cfg_add_i32(FwCfg *fw, uint16_t key, uint32_t value);
void fw_cfg_add_i64(FwCfg *fw, uint16_t key, uint64_t value);
/* Add a file, copying the data; false (with errp) on a duplicate name, a
 * name too long, or no free slot. */
bool fw_cfg_add_file(FwCfg *fw, const char *name, const void *data, size_t len, GError **errp);
/* A file whose bytes the caller owns (they must outlive the device), with
 * optional callbacks; read_only = false lets DMA writes in. */
bool fw_cfg_add_file_callback(FwCfg *fw, const char *name, void *data, size_t len,
                              FwCfgSelectFn select, FwCfgWriteFn write, void *opaque,
                              bool read_only, GError **errp);
/* Point an existing file at new bytes and length (e.g. after a ROM blob
 * resize); the directory follows.  Safe to call from a select callback. */
bool fw_cfg_update_file(FwCfg *fw, const char *name, void *data, size_t len, GError **errp);
/* The key a file has (0x20 + its place in the name-sorted directory), or -1.
 * Keys move while files are added, which is why adding is refused once the
 * guest has touched the device; ask for a key after the last add. */
int fw_cfg_file_key(FwCfg *fw, const char *name);

/* Migration section "fw_cfg", version 1 (27 bytes, little-endian):
 *   u16 selected key (without the write-channel bit),
 *   u8 flags (bit 0 the key selects an item, bit 1 the guest has used the
 *      device, so file keys are frozen),
 *   u64 offset in the item (at most 2^32: SKIP saturates there),
 *   u64 DMA address register (only the high half, written at 0x514, can be
 *       non-zero between requests),
 *   u32 number of files, u32 FNV-1a hash of the file names in key order
 *       (each with its NUL): the destination must offer the same files, so
 *       that the key means the same item.
 * Item contents are not in the section: the machine rebuilds them (and owns
 * writable items such as the ACPI tables' patched state). */
#define FW_CFG_STATE_VERSION 1u
void fw_cfg_state_save(FwCfg *fw, GByteArray *out);
bool fw_cfg_state_load(FwCfg *fw, const uint8_t *data, size_t len, uint32_t version,
                       GError **errp);
