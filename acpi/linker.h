/* The BIOS linker/loader script (fw_cfg file etc/table-loader): its format,
 * a writer, and a runner.
 *
 * The script is an array of 128-byte entries, a u32 command then its
 * fields (file names are char[56], NUL-terminated):
 *
 *   1 ALLOCATE      file @4, u32 align @60, u8 zone @64
 *   2 ADD_POINTER   dest file @4, src file @60, u32 offset @116, u8 size @120
 *   3 ADD_CHECKSUM  file @4, u32 result offset @60, u32 start @64, u32 length @68
 *
 * ALLOCATE places a whole fw_cfg file in guest memory.  ADD_POINTER reads
 * the `size`-byte little-endian value at dest+offset (the writer stores
 * there the offset of the pointee inside src) and adds src's address.
 * ADD_CHECKSUM subtracts the byte sum of [start, start+length) from the
 * byte at result offset, so the range sums to 0 whatever it held.
 *
 * The writer puts every ALLOCATE first, so each file is placed before any
 * command refers to it, and pads the script with zero entries to a
 * multiple of 4 KiB: SeaBIOS skips command 0, qboot stops at it.
 * WRITE_POINTER (4) is never written: qboot panics on it.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define LINKER_ERROR linker_error_quark()
GQuark linker_error_quark(void);

#define LINKER_ENTRY_SIZE 128
#define LINKER_FILE_NAME_SIZE 56
#define LINKER_SCRIPT_ALIGN 4096

typedef enum LinkerCommand {
    LINKER_CMD_ALLOCATE = 1,
    LINKER_CMD_ADD_POINTER = 2,
    LINKER_CMD_ADD_CHECKSUM = 3,
} LinkerCommand;

typedef enum LinkerZone {
    LINKER_ZONE_HIGH = 1, /* anywhere below 4 GiB */
    LINKER_ZONE_FSEG = 2, /* 0xe0000-0xfffff, where an OS scans for the RSDP */
} LinkerZone;

/* Field offsets inside an entry. */
enum {
    LINKER_OFF_COMMAND = 0,
    LINKER_OFF_FILE = 4,
    LINKER_OFF_ALLOC_ALIGN = 60,
    LINKER_OFF_ALLOC_ZONE = 64,
    LINKER_OFF_POINTER_SRC_FILE = 60,
    LINKER_OFF_POINTER_OFFSET = 116,
    LINKER_OFF_POINTER_SIZE = 120,
    LINKER_OFF_CKSUM_RESULT = 60,
    LINKER_OFF_CKSUM_START = 64,
    LINKER_OFF_CKSUM_LENGTH = 68,
};

/* ---- writer ---- */

typedef struct Linker Linker;

Linker *linker_new(void);
void linker_free(Linker *l);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Linker, linker_free)

/* Declare a file and how to place it.  The linker keeps `blob` (not a
 * copy) so that add_pointer can store offsets into it; the blob must
 * outlive the linker. */
void linker_allocate(Linker *l, const char *file, GByteArray *blob, uint32_t align,
                     LinkerZone zone);

/* dest_file[dest_offset .. +size) will hold the guest address of
 * src_file + src_offset.  Stores src_offset there now. */
void linker_add_pointer(Linker *l, const char *dest_file, uint32_t dest_offset, uint8_t size,
                        const char *src_file, uint32_t src_offset);

/* file[result_offset] will make [start, start+length) sum to 0. */
void linker_add_checksum(Linker *l, const char *file, uint32_t start, uint32_t length,
                         uint32_t result_offset);

/* The script: ALLOCATEs, then the other commands in the order they were
 * added, padded.  The linker can be freed afterwards. */
void linker_write_script(const Linker *l, GByteArray *script);

/* ---- runner ---- */

/* A file the script may name, already given a place: `host` points at
 * size(data) writable bytes that stand for guest address `addr`. */
typedef struct LinkerFile {
    const char *name;
    const GByteArray *data;
    uint64_t addr;
    uint8_t *host;
    bool allocated; /* set by the runner */
} LinkerFile;

/* Runs a script the way firmware does: ALLOCATE copies a file's data to its
 * host buffer (after checking the address against the alignment and zone),
 * ADD_POINTER and ADD_CHECKSUM patch the copies.  Every name, offset and
 * size in the script is checked; a failing script may have run partly. */
bool linker_run(const uint8_t *script, size_t script_len, LinkerFile *files, unsigned n_files,
                GError **errp);
