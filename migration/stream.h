/* The migration stream: records a source writes and a destination reads.
 * migration/FORMAT.md is the full description; the sequence is
 *
 *   source                                      destination
 *   HEADER        magic, version, flags, page size   -> check all four
 *   MACHINE       DTB (machine_fdt.h)                 -> parse; hook recreates
 *                                                        backends and DIMMs
 *   RAM_BLOCKS    name, used, max, page size, flags   -> match by name+length
 *   PAGES ...     block index, (offset, ZERO|NORMAL)* -> into guest memory
 *                 + NORMAL page data                     (round 0, 1, ... final)
 *   ZEROS ...     block index, offset, length         -> pages that exist here
 *                                                        are cleared
 *   DEVICE_STATE  name, version, bytes (0 or more)   -> kept until END
 *   END           CRC32C of every byte before it      -> check; load devices
 *
 * Every record is `u32 type, u32 length, payload`, little-endian.  The
 * reader is strict: it caps every length before allocating, checks every
 * index, offset and count against what it has seen, accepts records only
 * in the order above, and fails with one line naming the problem
 * ("stream: page record for block 3 at offset 0x... beyond its used length
 * 0x...").  After an error the reader only fails; so does the writer
 * after its sink failed.
 *
 * The sink and source are callbacks so that any transport fits: a socket
 * with io_uring, a file, a GByteArray in tests.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "mem/ram_block.h"
#include "migration/machine_fdt.h"
#include "migration/ram_blocks.h"
#include "migration/vmstate.h"

#define MIGRATION_STREAM_ERROR migration_stream_error_quark()
GQuark migration_stream_error_quark(void);

typedef enum MigrationStreamError {
    MIGRATION_STREAM_ERROR_INVALID, /* a malformed or out-of-order record */
    MIGRATION_STREAM_ERROR_TRUNCATED, /* the source ended inside a record */
    MIGRATION_STREAM_ERROR_CHECKSUM, /* END's CRC32C differs */
    MIGRATION_STREAM_ERROR_MISMATCH, /* well-formed, but not for this machine */
    MIGRATION_STREAM_ERROR_IO, /* set by a sink or source callback, by convention */
} MigrationStreamError;

/* ---- Wire constants (FORMAT.md) ---- */

#define MIGRATION_MAGIC "FERRYMIG" /* 8 bytes, no NUL */
#define MIGRATION_VERSION 2u
#define MIGRATION_HEADER_SIZE 20u /* magic[8], u32 version, u32 flags, u32 page size */
/* The unit of page records, whatever the block's page size: KVM's dirty
 * log tracks 4 KiB pages. */
#define MIGRATION_PAGE_SIZE 4096u
#define MIGRATION_RECORD_HEADER_SIZE 8u /* u32 type, u32 length */

typedef enum MigrationRecordType {
    MIGRATION_RECORD_NONE = 0, /* never on the wire: "no record" / error */
    MIGRATION_RECORD_MACHINE = 1,
    MIGRATION_RECORD_RAM_BLOCKS = 2,
    MIGRATION_RECORD_PAGES = 3,
    MIGRATION_RECORD_DEVICE_STATE = 4,
    MIGRATION_RECORD_END = 5,
    MIGRATION_RECORD_ZEROS = 6,
} MigrationRecordType;

/* ZEROS: u32 block index, u64 offset, u64 length: a run of zero pages. */
#define MIGRATION_ZEROS_SIZE 20u

/* A page batch: at most this many pages (512 KiB of data, 1 + 128 iovecs,
 * well under IOV_MAX and io_uring's limits). */
#define MIGRATION_BATCH_MAX_PAGES 128u
#define MIGRATION_BATCH_HEAD_SIZE 12u /* u32 block index, u32 page count, u32 batch flags */
#define MIGRATION_PAGE_ENTRY_SIZE 16u /* u64 offset, u32 page flags, u32 zero */

typedef enum MigrationPageFlags {
    MIGRATION_PAGE_ZERO = 1u << 0, /* all zero: no data follows */
    MIGRATION_PAGE_NORMAL = 1u << 1, /* MIGRATION_PAGE_SIZE bytes of data follow */
} MigrationPageFlags;

typedef enum MigrationBatchFlags {
    /* The batch's page data is part of the END checksum.  Clear it for
     * pages sent from guest memory while vCPUs run: the guest may write a
     * page between the writer reading it for the CRC and the transport
     * sending it (that page is dirty again and will be resent; the final,
     * paused round covers it). */
    MIGRATION_BATCH_CHECKSUMMED = 1u << 0,
} MigrationBatchFlags;

/* ---- Sink and source ---- */

/* Write all of iov[0..iovcnt) or fail (set *errp, e.g. with
 * MIGRATION_STREAM_ERROR_IO).  The iovec array and every base except page
 * data are the writer's buffers, reused once write() returns: a transport
 * that sends asynchronously copies those (at most a few KiB per call).
 * Page data points into guest memory (RamBlock::host) and stays mapped
 * for the whole migration: it may be sent in place (io_uring
 * IORING_OP_SENDMSG, or SEND_ZC with the caveat of
 * MIGRATION_BATCH_CHECKSUMMED). */
typedef bool (*MigrationWriteFn)(void *opaque, const struct iovec *iov, int iovcnt,
                                 GError **errp);
/* Read exactly `len` bytes into `buf`.  False without an error means the
 * stream ended first (the reader then names what was cut); false with an
 * error is a transport failure. */
typedef bool (*MigrationReadFn)(void *opaque, void *buf, size_t len, GError **errp);

/* A sink that appends to a GByteArray (opaque), and a source over a
 * buffer: for tests, `--info` dumps and snapshot files. */
bool migration_byte_array_write(void *opaque, const struct iovec *iov, int iovcnt,
                                GError **errp);
typedef struct MigrationBufferSource {
    const uint8_t *data;
    size_t len;
    size_t pos;
} MigrationBufferSource;
bool migration_buffer_source_read(void *opaque, void *buf, size_t len, GError **errp);

/* ---- Writer (source) ---- */

typedef struct MigrationWriter MigrationWriter;

typedef struct MigrationWriterStats {
    uint64_t bytes; /* handed to the sink, for the bandwidth estimate */
    uint64_t normal_pages;
    uint64_t zero_pages;
    uint64_t batches;
} MigrationWriterStats;

MigrationWriter *migration_writer_new(MigrationWriteFn write, void *opaque);
void migration_writer_free(MigrationWriter *writer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MigrationWriter, migration_writer_free)

/* The records, in stream order.  Calling them out of order is a
 * programming error (g_critical, false). */
bool migration_writer_put_header(MigrationWriter *writer, GError **errp);
bool migration_writer_put_machine(MigrationWriter *writer, const MachineDescription *desc,
                                  GError **errp);
/* `blocks` (usually migration_ram_blocks_collect()) must stay alive and
 * keep their used lengths until the writer is freed: page indexes refer
 * to it.  Refuse migration while a block resizes (the precopy code
 * watches ram_block_set_resized_notifier). */
bool migration_writer_put_ram_blocks(MigrationWriter *writer, GPtrArray *blocks, GError **errp);

/* Queue the page at `offset` of blocks[block_index] (page-aligned, below
 * its used length).  A zero page is queued as a flag; any other becomes
 * an iovec into guest memory.  The batch goes to the sink when it is full
 * or the block changes; migration_writer_flush_pages() sends the rest
 * (call it at the end of each round). */
bool migration_writer_add_page(MigrationWriter *writer, unsigned block_index, uint64_t offset,
                               GError **errp);
/* Queue the pages [offset, offset + length) of blocks[block_index] as
 * zero without reading them (the caller knows, ram_populated.h); runs
 * that continue each other become one ZEROS record. */
bool migration_writer_add_zero_pages(MigrationWriter *writer, unsigned block_index,
                                     uint64_t offset, uint64_t length, GError **errp);
bool migration_writer_flush_pages(MigrationWriter *writer, GError **errp);
/* Whether batches started from now on are MIGRATION_BATCH_CHECKSUMMED
 * (the default).  Flushes the queued batch first. */
bool migration_writer_set_page_checksum(MigrationWriter *writer, bool checksummed, GError **errp);

bool migration_writer_put_device_state(MigrationWriter *writer, const char *name,
                                       uint32_t version, const void *data, size_t len,
                                       GError **errp);
/* Every section of `registry`, in registration order (vCPUs paused). */
bool migration_writer_put_device_states(MigrationWriter *writer,
                                        const VmStateRegistry *registry, GError **errp);
/* Flushes pages, then END with the checksum. */
bool migration_writer_put_end(MigrationWriter *writer, GError **errp);

const MigrationWriterStats *migration_writer_stats(const MigrationWriter *writer);

/* ---- Reader (destination) ---- */

typedef struct MigrationReader MigrationReader;

/* Called once the MACHINE record parsed, before the block list is
 * matched: the destination creates the backends and DIMMs the source has
 * (their RAM blocks must exist by then).  False fails the stream. */
typedef bool (*MigrationMachineFn)(void *opaque, const MachineDescription *desc,
                                   GError **errp);

typedef struct MigrationReaderStats {
    uint64_t bytes;
    uint64_t normal_pages;
    uint64_t zero_pages;
    uint64_t batches;
} MigrationReaderStats;

/* `registry` (not owned; may be NULL: then any section is refused) decides which
 * device sections are accepted; the reader loads them after END's
 * checksum matched, in stream order, and requires every registered
 * section to be present. */
MigrationReader *migration_reader_new(MigrationReadFn read, void *opaque,
                                      VmStateRegistry *registry);
void migration_reader_free(MigrationReader *reader);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MigrationReader, migration_reader_free)

void migration_reader_set_machine_hook(MigrationReader *reader, MigrationMachineFn fn,
                                       void *opaque);

/* Read and apply one record; returns its type, or MIGRATION_RECORD_NONE
 * on error.  The first call reads the header, then the MACHINE record.
 * END means the stream is complete and every device section loaded. */
MigrationRecordType migration_reader_next(MigrationReader *reader, GError **errp);
/* migration_reader_next() until END. */
bool migration_reader_load(MigrationReader *reader, GError **errp);

/* After MACHINE: the parsed description (owned by the reader). */
const MachineDescription *migration_reader_machine(const MigrationReader *reader);
/* After RAM_BLOCKS: the local block for incoming index i. */
unsigned migration_reader_block_count(const MigrationReader *reader);
RamBlock *migration_reader_block(const MigrationReader *reader, unsigned index);
const MigrationReaderStats *migration_reader_stats(const MigrationReader *reader);
