/* A bounds-checked reader for ELF32/ELF64 little-endian x86 images: file
 * header, program headers, notes, and loading PT_LOAD segments into guest
 * RAM at their physical addresses.
 *
 * The file is untrusted.  elf_parse() checks the header tables lie inside
 * the file; elf_check_load_segments() checks every PT_LOAD segment (file
 * range inside the file, p_filesz <= p_memsz, no address overflow, no two
 * segments overlapping); elf_load_segments() writes only through
 * address_space_ram_ptr().  Messages do not name the file: callers prefix
 * it.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/address_space.h"

#define ELF_PT_LOAD 1
#define ELF_PT_NOTE 4
#define ELF_SHT_NOTE 7
#define ELF_EM_386 3
#define ELF_EM_X86_64 62

typedef struct ElfProgramHeader {
    uint32_t type;
    uint32_t flags;
    uint64_t offset;
    uint64_t vaddr;
    uint64_t paddr;
    uint64_t filesz;
    uint64_t memsz;
    uint64_t align;
} ElfProgramHeader;

typedef struct ElfSectionHeader {
    uint32_t type;
    uint64_t offset;
    uint64_t size;
    uint64_t align;
} ElfSectionHeader;

typedef struct ElfImage {
    const uint8_t *data; /* the whole file; borrowed */
    size_t size;
    unsigned bits; /* 32 or 64 */
    uint16_t type; /* ET_EXEC, ET_DYN */
    uint16_t machine;
    uint64_t entry;
    GArray *phdrs; /* ElfProgramHeader */
    GArray *shdrs; /* ElfSectionHeader; empty when the file has none */
} ElfImage;

/* Whether the file starts with the ELF magic (it may still be malformed). */
bool elf_has_magic(const uint8_t *data, size_t size);

/* Parse the file and program/section header tables into `image`.  On
 * failure `image` holds nothing to free. */
bool elf_parse(ElfImage *image, const uint8_t *data, size_t size, GError **errp);
void elf_image_clear(ElfImage *image);

/* Find the first note with this owner name and type in PT_NOTE segments or
 * SHT_NOTE sections.  `desc` points into the file. */
bool elf_find_note(const ElfImage *image, const char *owner, uint32_t type, const uint8_t **desc,
                   uint32_t *desc_size);

/* Validate every PT_LOAD segment as described above; segments with
 * p_memsz == 0 are ignored.  Fails if there is nothing to load. */
bool elf_check_load_segments(const ElfImage *image, GError **errp);

/* Copy each PT_LOAD segment to guest-physical p_paddr and zero its
 * [p_filesz, p_memsz) tail.  Call elf_check_load_segments() first. */
bool elf_load_segments(const ElfImage *image, AddressSpace *as, GError **errp);

/* Physical address for a virtual one inside a PT_LOAD segment (for an entry
 * point given as a virtual address); returns `vaddr` unchanged if no
 * segment covers it. */
uint64_t elf_vaddr_to_paddr(const ElfImage *image, uint64_t vaddr);
