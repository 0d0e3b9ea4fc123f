/* Fixtures shared by the unit tests.
 *
 * GuestRam: a machine with RAM at [0, size): one RAM block mapped at 0 in
 * a "system" container, seen through the "memory" address space.  Tests
 * may add their own subregions to `system` (and must remove them first).
 *
 * IoBus: an empty 64 KiB port-I/O container and its address space, for
 * devices that register their ports in it. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "mem/address_space.h"
#include "mem/ram_block.h"
#include "mem/region.h"

typedef struct GuestRam {
    RamBlock *block;
    MemoryRegion *system;
    MemoryRegion *ram;
    AddressSpace *as;
} GuestRam;

/* The block is named "<id_prefix>-<n>", unique per call; every byte of
 * RAM starts as `poison`. */
GuestRam *guest_ram_new(const char *id_prefix, uint64_t size, uint8_t poison);
void guest_ram_free(GuestRam *g);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GuestRam, guest_ram_free)

/* Host pointer to [gpa, gpa+len), asserting it is all RAM (for reading),
 * or all writable RAM (guest_ram_wptr). */
const uint8_t *guest_ram_ptr(GuestRam *g, uint64_t gpa, uint64_t len);
uint8_t *guest_ram_wptr(GuestRam *g, uint64_t gpa, uint64_t len);

/* The little-endian value of `size` (1 to 8) bytes at gpa. */
uint64_t guest_ram_read_le(GuestRam *g, uint64_t gpa, unsigned size);

typedef struct IoBus {
    MemoryRegion *io;
    AddressSpace *as;
} IoBus;

void io_bus_init(IoBus *bus);
void io_bus_destroy(IoBus *bus);

/* Port accesses that must reach a device (asserting MEMTX_OK). */
uint32_t io_bus_in(IoBus *bus, uint16_t port, unsigned size);
void io_bus_out(IoBus *bus, uint16_t port, uint32_t value, unsigned size);

/* tests/acpi/NAME in the source tree, found from this file's path: meson
 * runs tests in the build directory. */
char *acpi_golden_path(const char *name);
/* iasl -d output from "DefinitionBlock" on: the comment before it holds a
 * date and a file name. */
const char *dsl_without_header(const char *dsl);
