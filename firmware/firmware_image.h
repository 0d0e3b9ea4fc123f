/* A firmware image (SeaBIOS, qboot) mapped the way a PC without PAM
 * emulation needs it.
 *
 * The whole file sits at 4 GiB - size as RAM block "pc.bios", and its last
 * min(size, 128 KiB) is aliased below 1 MiB ("isa-bios", priority 1 over the
 * RAM alias there), so the reset vector at 0xFFFFFFF0 and the F-segment show
 * the same bytes.  Both mappings are writable RAM: without PAM registers to
 * unlock shadow RAM, SeaBIOS and qboot write to their own image in place
 * (specs/firmware-interfaces.md §6.2).  Because the guest changes the image,
 * firmware_image_reset() puts the pristine file contents back; a machine
 * reset must call it before the boot vCPU runs again.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "mem/address_space.h"
#include "mem/region.h"

#define FIRMWARE_IMAGE_ALIGN (64 * 1024ull) /* QEMU refuses other sizes too */
#define FIRMWARE_IMAGE_MAX (16 * 1024 * 1024ull) /* the flash window below 4 GiB */
#define FIRMWARE_ISA_WINDOW (128 * 1024ull) /* 0xE0000-0xFFFFF */
#define FIRMWARE_SHADOW_WINDOW (256 * 1024ull) /* 0xC0000-0xFFFFF, what PAM shadows */

typedef struct FirmwareImage FirmwareImage;

/* Read `path`, check its size, map it into `system` (the root of
 * `memory`, which must already have RAM at 0xC0000) and load it.  Errors are
 * one line naming the file. */
FirmwareImage *firmware_image_new(const char *path, MemoryRegion *system, AddressSpace *memory,
                                  GError **errp);
/* Copy the pristine image back over what the guest changed, and the part
 * below 0xE0000 into RAM. */
void firmware_image_reset(FirmwareImage *image);
/* Unmap and release; `system` must still exist. */
void firmware_image_free(FirmwareImage *image);

uint64_t firmware_image_size(const FirmwareImage *image);
/* Guest-physical base of the full mapping (4 GiB - size). */
uint64_t firmware_image_base(const FirmwareImage *image);
