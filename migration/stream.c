/* The migration stream writer and reader; see stream.h and FORMAT.md. */
#include "migration/stream.h"

#include <inttypes.h>
#include <string.h>

#include "mem/le_bytes.h"
#include "mem/ram_populated.h"
#include "migration/crc32c.h"

G_DEFINE_QUARK(ferry-migration-stream-error, migration_stream_error)

/* Caps on record payloads, checked before anything is allocated. */
#define STRING_WIRE_MAX (2u + MIGRATION_BLOCK_NAME_MAX + 1u) /* u16 length, bytes, NUL */
#define BLOCK_ENTRY_WIRE_MAX (STRING_WIRE_MAX + 8u + 8u + 8u + 4u)
#define RAM_BLOCKS_PAYLOAD_MAX (4u + MIGRATION_BLOCKS_MAX * BLOCK_ENTRY_WIRE_MAX)
#define DEVICE_STATE_PAYLOAD_MAX (2u + VMSTATE_NAME_MAX + 1u + 4u + 4u + VMSTATE_SECTION_MAX)
#define PAGES_META_MAX \
    (MIGRATION_BATCH_HEAD_SIZE + MIGRATION_BATCH_MAX_PAGES * MIGRATION_PAGE_ENTRY_SIZE)
#define PAGES_PAYLOAD_MAX (PAGES_META_MAX + MIGRATION_BATCH_MAX_PAGES * MIGRATION_PAGE_SIZE)
#define END_PAYLOAD_SIZE 4u
/* A ZEROS record is cleared this many pages at a time. */
#define ZEROS_CHUNK_PAGES 4096u

#define STREAM_ERROR(errp, code, ...) \
    g_set_error(errp, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_##code, "stream: " __VA_ARGS__)

static const char *record_name(uint32_t type)
{
    switch (type) {
    case MIGRATION_RECORD_MACHINE:
        return "MACHINE";
    case MIGRATION_RECORD_RAM_BLOCKS:
        return "RAM_BLOCKS";
    case MIGRATION_RECORD_PAGES:
        return "PAGES";
    case MIGRATION_RECORD_DEVICE_STATE:
        return "DEVICE_STATE";
    case MIGRATION_RECORD_END:
        return "END";
    case MIGRATION_RECORD_ZEROS:
        return "ZEROS";
    default:
        return NULL;
    }
}

/* ---- Little-endian encoding ---- */

static void append_le16(GByteArray *out, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    g_byte_array_append(out, b, sizeof(b));
}

static void append_le32(GByteArray *out, uint32_t v)
{
    uint8_t b[4];
    le32_store(b, v);
    g_byte_array_append(out, b, sizeof(b));
}

static void append_le64(GByteArray *out, uint64_t v)
{
    uint8_t b[8];
    le64_store(b, v);
    g_byte_array_append(out, b, sizeof(b));
}

/* u16 length including the NUL, the bytes, the NUL. */
static void append_string(GByteArray *out, const char *s)
{
    size_t len = strlen(s) + 1;
    append_le16(out, (uint16_t)len);
    g_byte_array_append(out, (const uint8_t *)s, (guint)len);
}

/* A bounds-checked reader over a record payload already in memory.  A
 * read past the end marks the cursor bad and yields zeros, so that a
 * parser checks once per entry instead of once per field. */
typedef struct Cursor {
    const uint8_t *p;
    size_t left;
    bool overrun;
} Cursor;

static const uint8_t *cursor_take(Cursor *c, size_t n)
{
    if (c->overrun || n > c->left) {
        c->overrun = true;
        return NULL;
    }
    const uint8_t *p = c->p;
    c->p += n;
    c->left -= n;
    return p;
}

static uint16_t cursor_u16(Cursor *c)
{
    const uint8_t *p = cursor_take(c, 2);
    return p ? (uint16_t)(p[0] | (p[1] << 8)) : 0;
}

static uint32_t cursor_u32(Cursor *c)
{
    const uint8_t *p = cursor_take(c, 4);
    return p ? le32_load(p) : 0;
}

static uint64_t cursor_u64(Cursor *c)
{
    const uint8_t *p = cursor_take(c, 8);
    return p ? le64_load(p) : 0;
}

/* A name: 1..max characters, NUL-terminated, no NUL inside.  Returns a
 * pointer into the payload, or NULL with *errp set. */
static const char *cursor_string(Cursor *c, unsigned max, const char *what, GError **errp)
{
    uint16_t len = cursor_u16(c);
    const char *s = (const char *)cursor_take(c, len);

    if (c->overrun) {
        STREAM_ERROR(errp, INVALID, "%s name of %u bytes runs past its record", what, len);
        return NULL;
    }
    if (len < 2 || len > max + 1) {
        STREAM_ERROR(errp, INVALID, "%s name of %u bytes (with its NUL) is not in 2..%u", what,
                     len, max + 1);
        return NULL;
    }
    if (s[len - 1] != '\0' || memchr(s, '\0', len - 1)) {
        STREAM_ERROR(errp, INVALID, "%s name is not NUL-terminated or holds a NUL", what);
        return NULL;
    }
    return s;
}

/* Reading 64 bytes at a time keeps the common non-zero page cheap (it
 * differs in the first line) and lets the compiler vectorise the rest. */
static bool page_is_zero(const uint8_t *page)
{
    for (size_t off = 0; off < MIGRATION_PAGE_SIZE; off += 64) {
        uint64_t words[8], acc = 0;
        memcpy(words, page + off, sizeof(words));
        for (int i = 0; i < 8; i++)
            acc |= words[i];
        if (acc)
            return false;
    }
    return true;
}

/* ---- Sinks and sources ---- */

bool migration_byte_array_write(void *opaque, const struct iovec *iov, int iovcnt, GError **errp)
{
    GByteArray *out = opaque;

    for (int i = 0; i < iovcnt; i++)
        g_byte_array_append(out, iov[i].iov_base, (guint)iov[i].iov_len);
    return true;
}

bool migration_buffer_source_read(void *opaque, void *buf, size_t len, GError **errp)
{
    MigrationBufferSource *src = opaque;

    if (len > src->len - src->pos)
        return false; /* the end: the reader names what was cut */
    memcpy(buf, src->data + src->pos, len);
    src->pos += len;
    return true;
}

/* ---- Writer ---- */

/* Which record may come next; a writer refuses anything else. */
typedef enum WriterState {
    WRITER_START, /* header next */
    WRITER_NEED_MACHINE,
    WRITER_NEED_BLOCKS,
    WRITER_PAGES, /* pages, device state or end */
    WRITER_DEVICES, /* device state or end */
    WRITER_DONE,
    WRITER_FAILED, /* the sink failed: the stream is unusable */
} WriterState;

struct MigrationWriter {
    MigrationWriteFn write;
    void *opaque;
    WriterState state;
    uint32_t crc; /* CRC32C of every checksummed byte so far */
    GPtrArray *blocks; /* RamBlock *, the list sent (a reference) */

    /* The open page batch: meta = record header, batch head, entries;
     * iov[0] covers meta, iov[1..] the NORMAL pages in guest memory. */
    bool checksum_pages; /* for batches opened from now on */
    bool batch_checksummed;
    unsigned batch_block;
    unsigned batch_pages;
    unsigned batch_normal;
    unsigned batch_iovs; /* iov[1 .. batch_iovs] are page data */
    uint8_t meta[MIGRATION_RECORD_HEADER_SIZE + PAGES_META_MAX];
    struct iovec iov[1 + MIGRATION_BATCH_MAX_PAGES];

    /* The open run of zero pages (zeros_length 0: none), merged while
     * the pages queued continue it. */
    unsigned zeros_block;
    uint64_t zeros_offset, zeros_length;

    MigrationWriterStats stats;
};

MigrationWriter *migration_writer_new(MigrationWriteFn write, void *opaque)
{
    MigrationWriter *writer = g_new0(MigrationWriter, 1);

    writer->write = write;
    writer->opaque = opaque;
    writer->state = WRITER_START;
    writer->checksum_pages = true;
    return writer;
}

void migration_writer_free(MigrationWriter *writer)
{
    if (!writer)
        return;
    if (writer->blocks)
        g_ptr_array_unref(writer->blocks);
    g_free(writer);
}

const MigrationWriterStats *migration_writer_stats(const MigrationWriter *writer)
{
    return &writer->stats;
}

/* Hand iov[0..iovcnt) to the sink; the first `checksummed` of them count
 * towards the END checksum. */
static bool writer_emit(MigrationWriter *w, const struct iovec *iov, int iovcnt, int checksummed,
                        GError **errp)
{
    for (int i = 0; i < iovcnt; i++) {
        if (i < checksummed)
            w->crc = crc32c_update(w->crc, iov[i].iov_base, iov[i].iov_len);
        w->stats.bytes += iov[i].iov_len;
    }
    if (!w->write(w->opaque, iov, iovcnt, errp)) {
        w->state = WRITER_FAILED;
        return false;
    }
    return true;
}

/* One whole record from a payload in memory. */
static bool writer_emit_record(MigrationWriter *w, MigrationRecordType type, const void *payload,
                               size_t len, GError **errp)
{
    uint8_t head[MIGRATION_RECORD_HEADER_SIZE];
    le32_store(head, type);
    le32_store(head + 4, (uint32_t)len);
    struct iovec iov[2] = {
        { .iov_base = head, .iov_len = sizeof(head) },
        { .iov_base = (void *)payload, .iov_len = len },
    };
    return writer_emit(w, iov, len ? 2 : 1, 2, errp);
}

/* Is the writer in one of the states that may write `what`? */
static bool writer_check_state(MigrationWriter *w, WriterState lowest, WriterState highest,
                               const char *what, GError **errp)
{
    if (w->state == WRITER_FAILED) {
        STREAM_ERROR(errp, IO, "cannot write %s: the stream already failed", what);
        return false;
    }
    if (w->state < lowest || w->state > highest) {
        g_critical("migration writer: %s written out of order (state %d)", what, w->state);
        STREAM_ERROR(errp, INVALID, "%s written out of order", what);
        return false;
    }
    return true;
}

bool migration_writer_put_header(MigrationWriter *w, GError **errp)
{
    uint8_t header[MIGRATION_HEADER_SIZE];

    if (!writer_check_state(w, WRITER_START, WRITER_START, "the header", errp))
        return false;
    memcpy(header, MIGRATION_MAGIC, 8);
    le32_store(header + 8, MIGRATION_VERSION);
    le32_store(header + 12, 0); /* flags: none defined in version 2 */
    le32_store(header + 16, MIGRATION_PAGE_SIZE);
    struct iovec iov = { .iov_base = header, .iov_len = sizeof(header) };
    if (!writer_emit(w, &iov, 1, 1, errp))
        return false;
    w->state = WRITER_NEED_MACHINE;
    return true;
}

bool migration_writer_put_machine(MigrationWriter *w, const MachineDescription *desc,
                                  GError **errp)
{
    if (!writer_check_state(w, WRITER_NEED_MACHINE, WRITER_NEED_MACHINE, "the machine config",
                            errp))
        return false;
    g_autoptr(GBytes) dtb = machine_fdt_build(desc, errp);
    if (!dtb)
        return false;
    gsize len;
    const void *data = g_bytes_get_data(dtb, &len);
    if (!writer_emit_record(w, MIGRATION_RECORD_MACHINE, data, len, errp))
        return false;
    w->state = WRITER_NEED_BLOCKS;
    return true;
}

bool migration_writer_put_ram_blocks(MigrationWriter *w, GPtrArray *blocks, GError **errp)
{
    if (!writer_check_state(w, WRITER_NEED_BLOCKS, WRITER_NEED_BLOCKS, "the RAM block list",
                            errp))
        return false;
    if (blocks->len == 0 || blocks->len > MIGRATION_BLOCKS_MAX) {
        STREAM_ERROR(errp, INVALID, "%u RAM blocks is not in 1..%u", blocks->len,
                     MIGRATION_BLOCKS_MAX);
        return false;
    }
    g_autoptr(GByteArray) payload = g_byte_array_new();
    append_le32(payload, blocks->len);
    for (unsigned i = 0; i < blocks->len; i++) {
        MigrationBlockInfo info;
        migration_block_info_from(g_ptr_array_index(blocks, i), &info);
        if (strlen(info.name) > MIGRATION_BLOCK_NAME_MAX ||
            info.used_length % MIGRATION_PAGE_SIZE) {
            STREAM_ERROR(errp, INVALID, "RAM block \"%s\" cannot be sent (name too long, or "
                         "used length 0x%" PRIx64 " not in whole 4 KiB pages)",
                         info.name, info.used_length);
            return false;
        }
        append_string(payload, info.name);
        append_le64(payload, info.used_length);
        append_le64(payload, info.max_length);
        append_le64(payload, info.page_size);
        append_le32(payload, info.flags);
    }
    if (!writer_emit_record(w, MIGRATION_RECORD_RAM_BLOCKS, payload->data, payload->len, errp))
        return false;
    w->blocks = g_ptr_array_ref(blocks);
    w->state = WRITER_PAGES;
    return true;
}

static bool writer_flush_zeros(MigrationWriter *w, GError **errp)
{
    uint8_t payload[MIGRATION_ZEROS_SIZE];

    if (w->zeros_length == 0)
        return true;
    le32_store(payload, w->zeros_block);
    le64_store(payload + 4, w->zeros_offset);
    le64_store(payload + 12, w->zeros_length);
    w->zeros_length = 0;
    return writer_emit_record(w, MIGRATION_RECORD_ZEROS, payload, sizeof(payload), errp);
}

bool migration_writer_flush_pages(MigrationWriter *w, GError **errp)
{
    if (w->state == WRITER_FAILED) {
        STREAM_ERROR(errp, IO, "cannot write pages: the stream already failed");
        return false;
    }
    if (!writer_flush_zeros(w, errp))
        return false;
    if (w->batch_pages == 0)
        return true;

    uint32_t length = MIGRATION_BATCH_HEAD_SIZE + w->batch_pages * MIGRATION_PAGE_ENTRY_SIZE +
                      w->batch_normal * MIGRATION_PAGE_SIZE;
    le32_store(w->meta, MIGRATION_RECORD_PAGES);
    le32_store(w->meta + 4, length);
    le32_store(w->meta + 8, w->batch_block);
    le32_store(w->meta + 12, w->batch_pages);
    le32_store(w->meta + 16, w->batch_checksummed ? MIGRATION_BATCH_CHECKSUMMED : 0);
    w->iov[0].iov_base = w->meta;
    w->iov[0].iov_len = MIGRATION_RECORD_HEADER_SIZE + MIGRATION_BATCH_HEAD_SIZE +
                        w->batch_pages * MIGRATION_PAGE_ENTRY_SIZE;

    int iovcnt = 1 + (int)w->batch_iovs;
    w->stats.batches++;
    w->batch_pages = w->batch_normal = w->batch_iovs = 0;
    return writer_emit(w, w->iov, iovcnt, w->batch_checksummed ? iovcnt : 1, errp);
}

bool migration_writer_set_page_checksum(MigrationWriter *w, bool checksummed, GError **errp)
{
    if (!migration_writer_flush_pages(w, errp))
        return false;
    w->checksum_pages = checksummed;
    return true;
}

/* Pages [offset, offset + length) of blocks[block_index]: in order and in the block? */
static const RamBlock *writer_check_pages(MigrationWriter *w, unsigned block_index,
                                          uint64_t offset, uint64_t length, GError **errp)
{
    if (!writer_check_state(w, WRITER_PAGES, WRITER_PAGES, "a page", errp))
        return NULL;
    if (block_index >= w->blocks->len) {
        STREAM_ERROR(errp, INVALID, "page for block %u, but only %u blocks were listed",
                     block_index, w->blocks->len);
        return NULL;
    }
    const RamBlock *block = g_ptr_array_index(w->blocks, block_index);
    if (offset % MIGRATION_PAGE_SIZE || length == 0 || length % MIGRATION_PAGE_SIZE ||
        offset >= block->used_length || length > block->used_length - offset) {
        STREAM_ERROR(errp, INVALID,
                     "pages for block %u (\"%s\") at offset 0x%" PRIx64 "+0x%" PRIx64
                     " are unaligned or beyond its used length 0x%" PRIx64,
                     block_index, block->idstr, offset, length, block->used_length);
        return NULL;
    }
    return block;
}

bool migration_writer_add_zero_pages(MigrationWriter *w, unsigned block_index, uint64_t offset,
                                     uint64_t length, GError **errp)
{
    if (!writer_check_pages(w, block_index, offset, length, errp))
        return false;
    w->stats.zero_pages += length / MIGRATION_PAGE_SIZE;
    if (w->zeros_length && w->zeros_block == block_index &&
        w->zeros_offset + w->zeros_length == offset) {
        w->zeros_length += length;
        return true;
    }
    if (!writer_flush_zeros(w, errp))
        return false;
    w->zeros_block = block_index;
    w->zeros_offset = offset;
    w->zeros_length = length;
    return true;
}

bool migration_writer_add_page(MigrationWriter *w, unsigned block_index, uint64_t offset,
                               GError **errp)
{
    const RamBlock *block = writer_check_pages(w, block_index, offset, MIGRATION_PAGE_SIZE, errp);
    if (!block)
        return false;
    if (w->batch_pages &&
        (w->batch_block != block_index || w->batch_pages == MIGRATION_BATCH_MAX_PAGES) &&
        !migration_writer_flush_pages(w, errp))
        return false;
    if (w->batch_pages == 0) {
        w->batch_block = block_index;
        w->batch_checksummed = w->checksum_pages;
    }

    uint8_t *page = block->host + offset;
    bool zero = page_is_zero(page);
    uint8_t *entry = w->meta + MIGRATION_RECORD_HEADER_SIZE + MIGRATION_BATCH_HEAD_SIZE +
                     w->batch_pages * MIGRATION_PAGE_ENTRY_SIZE;
    le64_store(entry, offset);
    le32_store(entry + 8, zero ? MIGRATION_PAGE_ZERO : MIGRATION_PAGE_NORMAL);
    le32_store(entry + 12, 0);
    w->batch_pages++;
    if (zero) {
        w->stats.zero_pages++;
        return true;
    }

    /* Neighbouring pages share one iovec: fewer, longer sends. */
    struct iovec *last = w->batch_iovs ? &w->iov[w->batch_iovs] : NULL;
    if (last && (uint8_t *)last->iov_base + last->iov_len == page) {
        last->iov_len += MIGRATION_PAGE_SIZE;
    } else {
        w->batch_iovs++;
        w->iov[w->batch_iovs].iov_base = page;
        w->iov[w->batch_iovs].iov_len = MIGRATION_PAGE_SIZE;
    }
    w->batch_normal++;
    w->stats.normal_pages++;
    return true;
}

bool migration_writer_put_device_state(MigrationWriter *w, const char *name, uint32_t version,
                                       const void *data, size_t len, GError **errp)
{
    if (!writer_check_state(w, WRITER_PAGES, WRITER_DEVICES, "device state", errp))
        return false;
    if (!name || !*name || strlen(name) > VMSTATE_NAME_MAX || version == 0 ||
        len > VMSTATE_SECTION_MAX) {
        STREAM_ERROR(errp, INVALID,
                     "device state '%s' version %u of %zu bytes cannot be sent (name of 1..%u "
                     "characters, version >= 1, at most %u bytes)",
                     name ? name : "", version, len, VMSTATE_NAME_MAX, VMSTATE_SECTION_MAX);
        return false;
    }
    if (!migration_writer_flush_pages(w, errp))
        return false;
    g_autoptr(GByteArray) payload = g_byte_array_sized_new((guint)len + 300);
    append_string(payload, name);
    append_le32(payload, version);
    append_le32(payload, (uint32_t)len);
    g_byte_array_append(payload, data, (guint)len);
    if (!writer_emit_record(w, MIGRATION_RECORD_DEVICE_STATE, payload->data, payload->len, errp))
        return false;
    w->state = WRITER_DEVICES;
    return true;
}

bool migration_writer_put_device_states(MigrationWriter *w, const VmStateRegistry *registry,
                                        GError **errp)
{
    for (unsigned i = 0; i < vmstate_count(registry); i++) {
        const VmStateHandler *h = vmstate_nth(registry, i);
        g_autoptr(GByteArray) state = g_byte_array_new();
        h->save(h->opaque, state);
        if (!migration_writer_put_device_state(w, h->name, h->version, state->data, state->len,
                                               errp))
            return false;
    }
    return true;
}

bool migration_writer_put_end(MigrationWriter *w, GError **errp)
{
    uint8_t end[MIGRATION_RECORD_HEADER_SIZE + END_PAYLOAD_SIZE];

    if (!writer_check_state(w, WRITER_PAGES, WRITER_DEVICES, "the end", errp) ||
        !migration_writer_flush_pages(w, errp))
        return false;
    le32_store(end, MIGRATION_RECORD_END);
    le32_store(end + 4, END_PAYLOAD_SIZE);
    /* The checksum covers END's own type and length, not itself. */
    w->crc = crc32c_update(w->crc, end, MIGRATION_RECORD_HEADER_SIZE);
    le32_store(end + MIGRATION_RECORD_HEADER_SIZE, w->crc);
    struct iovec iov = { .iov_base = end, .iov_len = sizeof(end) };
    if (!writer_emit(w, &iov, 1, 0, errp))
        return false;
    w->state = WRITER_DONE;
    return true;
}

/* ---- Reader ---- */

typedef enum ReaderState {
    READER_START, /* header next */
    READER_NEED_MACHINE,
    READER_NEED_BLOCKS,
    READER_PAGES, /* pages, device state or end */
    READER_DEVICES, /* device state or end */
    READER_DONE,
    READER_FAILED,
} ReaderState;

/* A device section held until END's checksum matched. */
typedef struct PendingSection {
    const VmStateHandler *handler;
    uint32_t version;
    GBytes *data;
} PendingSection;

struct MigrationReader {
    MigrationReadFn read;
    void *opaque;
    VmStateRegistry *registry;
    MigrationMachineFn machine_hook;
    void *machine_hook_opaque;

    ReaderState state;
    uint32_t crc;
    MachineDescription *machine;
    MigrationBlockInfo *block_infos; /* names owned */
    RamBlock **blocks; /* the local block for each incoming index */
    unsigned block_count;
    GArray *sections; /* PendingSection */
    uint8_t batch_meta[PAGES_META_MAX];
    uint64_t populated[ZEROS_CHUNK_PAGES / 64]; /* ZEROS scratch */
    MigrationReaderStats stats;
};

static void pending_section_clear(gpointer data)
{
    g_bytes_unref(((PendingSection *)data)->data);
}

MigrationReader *migration_reader_new(MigrationReadFn read, void *opaque,
                                      VmStateRegistry *registry)
{
    MigrationReader *reader = g_new0(MigrationReader, 1);

    reader->read = read;
    reader->opaque = opaque;
    reader->registry = registry;
    reader->state = READER_START;
    reader->sections = g_array_new(false, true, sizeof(PendingSection));
    g_array_set_clear_func(reader->sections, pending_section_clear);
    return reader;
}

void migration_reader_free(MigrationReader *reader)
{
    if (!reader)
        return;
    machine_description_free(reader->machine);
    for (unsigned i = 0; i < reader->block_count; i++)
        g_free(reader->block_infos[i].name);
    g_free(reader->block_infos);
    g_free(reader->blocks);
    g_array_unref(reader->sections);
    g_free(reader);
}

void migration_reader_set_machine_hook(MigrationReader *reader, MigrationMachineFn fn,
                                       void *opaque)
{
    reader->machine_hook = fn;
    reader->machine_hook_opaque = opaque;
}

const MachineDescription *migration_reader_machine(const MigrationReader *reader)
{
    return reader->machine;
}

unsigned migration_reader_block_count(const MigrationReader *reader)
{
    return reader->block_count;
}

RamBlock *migration_reader_block(const MigrationReader *reader, unsigned index)
{
    return index < reader->block_count ? reader->blocks[index] : NULL;
}

const MigrationReaderStats *migration_reader_stats(const MigrationReader *reader)
{
    return &reader->stats;
}

/* Exactly `len` bytes, counted in the checksum when `checksummed`. */
static bool reader_read(MigrationReader *r, void *buf, size_t len, bool checksummed,
                        const char *what, GError **errp)
{
    GError *err = NULL;

    if (!r->read(r->opaque, buf, len, &err)) {
        if (err)
            g_propagate_error(errp, err);
        else
            STREAM_ERROR(errp, TRUNCATED, "truncated inside %s", what);
        return false;
    }
    if (checksummed)
        r->crc = crc32c_update(r->crc, buf, len);
    r->stats.bytes += len;
    return true;
}

static bool reader_read_header(MigrationReader *r, GError **errp)
{
    uint8_t header[MIGRATION_HEADER_SIZE];

    if (!reader_read(r, header, sizeof(header), true, "the header", errp))
        return false;
    if (memcmp(header, MIGRATION_MAGIC, 8) != 0) {
        STREAM_ERROR(errp, INVALID, "not a ferry migration stream (bad magic)");
        return false;
    }
    uint32_t version = le32_load(header + 8);
    uint32_t flags = le32_load(header + 12);
    uint32_t page_size = le32_load(header + 16);
    if (version != MIGRATION_VERSION) {
        STREAM_ERROR(errp, INVALID, "version %u, this ferry reads version %u", version,
                     MIGRATION_VERSION);
        return false;
    }
    if (flags != 0) {
        STREAM_ERROR(errp, INVALID, "unknown header flags 0x%x", flags);
        return false;
    }
    if (page_size != MIGRATION_PAGE_SIZE) {
        STREAM_ERROR(errp, INVALID, "page size 0x%x, this ferry moves 0x%x-byte pages",
                     page_size, MIGRATION_PAGE_SIZE);
        return false;
    }
    return true;
}

/* The whole payload of a record whose length was checked against its cap. */
static uint8_t *reader_read_payload(MigrationReader *r, uint32_t length, const char *what,
                                    GError **errp)
{
    g_autofree uint8_t *payload = g_malloc(length ? length : 1);

    if (!reader_read(r, payload, length, true, what, errp))
        return NULL;
    return g_steal_pointer(&payload);
}

static bool reader_machine(MigrationReader *r, uint32_t length, GError **errp)
{
    if (length > MACHINE_FDT_MAX_SIZE) {
        STREAM_ERROR(errp, INVALID, "MACHINE record of %u bytes exceeds the limit of %u", length,
                     MACHINE_FDT_MAX_SIZE);
        return false;
    }
    g_autofree uint8_t *dtb = reader_read_payload(r, length, "the MACHINE record", errp);
    if (!dtb)
        return false;
    r->machine = machine_fdt_parse(dtb, length, errp);
    if (!r->machine)
        return false;
    if (r->machine_hook && !r->machine_hook(r->machine_hook_opaque, r->machine, errp))
        return false;
    return true;
}

static bool parse_block_info(Cursor *c, unsigned index, MigrationBlockInfo *info, GError **errp)
{
    const char *name = cursor_string(c, MIGRATION_BLOCK_NAME_MAX, "RAM block", errp);
    if (!name)
        return false;
    info->used_length = cursor_u64(c);
    info->max_length = cursor_u64(c);
    info->page_size = cursor_u64(c);
    info->flags = cursor_u32(c);
    if (c->overrun) {
        STREAM_ERROR(errp, INVALID, "RAM block %u (\"%s\") runs past the block list", index,
                     name);
        return false;
    }
    if (info->flags & ~MIGRATION_BLOCK_KNOWN_FLAGS) {
        STREAM_ERROR(errp, INVALID, "RAM block %u (\"%s\") has unknown flags 0x%x", index, name,
                     info->flags);
        return false;
    }
    if (info->used_length == 0 || info->used_length % MIGRATION_PAGE_SIZE ||
        info->max_length < info->used_length) {
        STREAM_ERROR(errp, INVALID,
                     "RAM block %u (\"%s\") has used length 0x%" PRIx64 " and max length 0x%" PRIx64
                     " (used must be whole pages, not 0, not above max)",
                     index, name, info->used_length, info->max_length);
        return false;
    }
    if (info->page_size < MIGRATION_PAGE_SIZE || (info->page_size & (info->page_size - 1))) {
        STREAM_ERROR(errp, INVALID, "RAM block %u (\"%s\") has page size 0x%" PRIx64, index,
                     name, info->page_size);
        return false;
    }
    info->name = g_strdup(name);
    return true;
}

static bool reader_ram_blocks(MigrationReader *r, uint32_t length, GError **errp)
{
    if (length > RAM_BLOCKS_PAYLOAD_MAX) {
        STREAM_ERROR(errp, INVALID, "RAM_BLOCKS record of %u bytes exceeds the limit of %u",
                     length, RAM_BLOCKS_PAYLOAD_MAX);
        return false;
    }
    g_autofree uint8_t *payload = reader_read_payload(r, length, "the RAM_BLOCKS record", errp);
    if (!payload)
        return false;
    Cursor c = { .p = payload, .left = length };
    uint32_t count = cursor_u32(&c);
    if (c.overrun || count == 0 || count > MIGRATION_BLOCKS_MAX) {
        STREAM_ERROR(errp, INVALID, "a list of %u RAM blocks is not in 1..%u", count,
                     MIGRATION_BLOCKS_MAX);
        return false;
    }
    r->block_infos = g_new0(MigrationBlockInfo, count);
    r->blocks = g_new0(RamBlock *, count);
    r->block_count = count; /* so that free() releases names parsed so far */
    for (unsigned i = 0; i < count; i++) {
        if (!parse_block_info(&c, i, &r->block_infos[i], errp))
            return false;
    }
    if (c.left) {
        STREAM_ERROR(errp, INVALID, "%zu stray bytes after the RAM block list", c.left);
        return false;
    }
    return migration_ram_blocks_match(r->block_infos, count, r->blocks, errp);
}

/* The local block for the stream's block `index`, or an error naming `what`. */
static RamBlock *reader_block(MigrationReader *r, uint32_t index, const char *what, GError **errp)
{
    if (index < r->block_count)
        return r->blocks[index];
    STREAM_ERROR(errp, INVALID, "%s for block %u, but the stream listed %u blocks", what, index,
                 r->block_count);
    return NULL;
}

static bool reader_pages(MigrationReader *r, uint32_t length, GError **errp)
{
    if (length < MIGRATION_BATCH_HEAD_SIZE || length > PAGES_PAYLOAD_MAX) {
        STREAM_ERROR(errp, INVALID, "PAGES record of %u bytes is not in %u..%u", length,
                     MIGRATION_BATCH_HEAD_SIZE, PAGES_PAYLOAD_MAX);
        return false;
    }
    uint8_t *head = r->batch_meta;
    if (!reader_read(r, head, MIGRATION_BATCH_HEAD_SIZE, true, "a page batch header", errp))
        return false;
    uint32_t block_index = le32_load(head);
    uint32_t count = le32_load(head + 4);
    uint32_t batch_flags = le32_load(head + 8);
    if (!reader_block(r, block_index, "page record", errp))
        return false;
    if (count == 0 || count > MIGRATION_BATCH_MAX_PAGES) {
        STREAM_ERROR(errp, INVALID, "page batch of %u pages is not in 1..%u", count,
                     MIGRATION_BATCH_MAX_PAGES);
        return false;
    }
    if (batch_flags & ~(uint32_t)MIGRATION_BATCH_CHECKSUMMED) {
        STREAM_ERROR(errp, INVALID, "page batch has unknown flags 0x%x", batch_flags);
        return false;
    }
    /* count <= 128: no product here can overflow. */
    uint32_t entries_len = count * MIGRATION_PAGE_ENTRY_SIZE;
    if (length < MIGRATION_BATCH_HEAD_SIZE + entries_len) {
        STREAM_ERROR(errp, INVALID, "PAGES record of %u bytes cannot hold %u entries", length,
                     count);
        return false;
    }
    uint8_t *entries = head + MIGRATION_BATCH_HEAD_SIZE;
    if (!reader_read(r, entries, entries_len, true, "page batch entries", errp))
        return false;

    RamBlock *block = r->blocks[block_index];
    const char *name = r->block_infos[block_index].name;
    uint32_t normal = 0;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = entries + i * MIGRATION_PAGE_ENTRY_SIZE;
        uint64_t offset = le64_load(e);
        uint32_t flags = le32_load(e + 8);
        uint32_t reserved = le32_load(e + 12);
        if (offset % MIGRATION_PAGE_SIZE) {
            STREAM_ERROR(errp, INVALID,
                         "page record for block %u (\"%s\") at offset 0x%" PRIx64
                         " is not page-aligned",
                         block_index, name, offset);
            return false;
        }
        if (offset >= block->used_length) {
            STREAM_ERROR(errp, INVALID,
                         "page record for block %u (\"%s\") at offset 0x%" PRIx64
                         " beyond its used length 0x%" PRIx64,
                         block_index, name, offset, block->used_length);
            return false;
        }
        if ((flags != MIGRATION_PAGE_ZERO && flags != MIGRATION_PAGE_NORMAL) || reserved) {
            STREAM_ERROR(errp, INVALID,
                         "page record for block %u at offset 0x%" PRIx64
                         " has flags 0x%x and reserved 0x%x (want ZERO or NORMAL, and 0)",
                         block_index, offset, flags, reserved);
            return false;
        }
        normal += flags == MIGRATION_PAGE_NORMAL;
    }
    uint64_t expected = (uint64_t)MIGRATION_BATCH_HEAD_SIZE + entries_len +
                        (uint64_t)normal * MIGRATION_PAGE_SIZE;
    if (length != expected) {
        STREAM_ERROR(errp, INVALID,
                     "PAGES record of %u bytes, but its %u entries (%u with data) make %" PRIu64,
                     length, count, normal, expected);
        return false;
    }

    /* Everything checked: now guest memory.  Page data goes straight in;
     * a bad checksum at END fails the whole migration, and the
     * destination guest never runs on it. */
    bool checksummed = batch_flags & MIGRATION_BATCH_CHECKSUMMED;
    for (uint32_t i = 0; i < count;) {
        const uint8_t *e = entries + i * MIGRATION_PAGE_ENTRY_SIZE;
        uint64_t offset = le64_load(e);
        uint8_t *page = block->host + offset;
        if (le32_load(e + 8) == MIGRATION_PAGE_ZERO) {
            /* Reading first leaves never-touched memory unallocated. */
            if (!page_is_zero(page))
                memset(page, 0, MIGRATION_PAGE_SIZE);
            r->stats.zero_pages++;
            i++;
            continue;
        }
        /* Neighbouring pages in one read: long reads skip the transport's
         * read-ahead copy and land in guest memory straight from the socket. */
        uint32_t run = 1;
        while (i + run < count &&
               le32_load(e + run * MIGRATION_PAGE_ENTRY_SIZE + 8) == MIGRATION_PAGE_NORMAL &&
               le64_load(e + run * MIGRATION_PAGE_ENTRY_SIZE) ==
                   offset + run * (uint64_t)MIGRATION_PAGE_SIZE)
            run++;
        if (!reader_read(r, page, run * (size_t)MIGRATION_PAGE_SIZE, checksummed, "page data",
                         errp))
            return false;
        r->stats.normal_pages += run;
        i += run;
    }
    r->stats.batches++;
    return true;
}

/* Pages [offset, offset + length) of a block are zero.  Only pages that
 * exist here can differ: the rest read as zero without being touched. */
static bool reader_zeros(MigrationReader *r, uint32_t length, GError **errp)
{
    uint8_t payload[MIGRATION_ZEROS_SIZE];

    if (length != MIGRATION_ZEROS_SIZE) {
        STREAM_ERROR(errp, INVALID, "ZEROS record of %u bytes (want %u)", length,
                     MIGRATION_ZEROS_SIZE);
        return false;
    }
    if (!reader_read(r, payload, sizeof(payload), true, "a ZEROS record", errp))
        return false;
    uint32_t block_index = le32_load(payload);
    uint64_t offset = le64_load(payload + 4);
    uint64_t len = le64_load(payload + 12);
    RamBlock *block = reader_block(r, block_index, "ZEROS record", errp);
    if (!block)
        return false;
    if (offset % MIGRATION_PAGE_SIZE || len == 0 || len % MIGRATION_PAGE_SIZE ||
        offset >= block->used_length || len > block->used_length - offset) {
        STREAM_ERROR(errp, INVALID,
                     "ZEROS record for block %u (\"%s\") at 0x%" PRIx64 "+0x%" PRIx64
                     " is unaligned, empty or beyond its used length 0x%" PRIx64,
                     block_index, r->block_infos[block_index].name, offset, len,
                     block->used_length);
        return false;
    }

    uint64_t first = offset / MIGRATION_PAGE_SIZE, npages = len / MIGRATION_PAGE_SIZE;
    for (uint64_t done = 0; done < npages; done += ZEROS_CHUNK_PAGES) {
        uint64_t n = MIN(npages - done, ZEROS_CHUNK_PAGES);
        ram_block_populated(block, first + done, n, r->populated);
        for (uint64_t i = 0; i < n; i++) {
            uint8_t *page = block->host + (first + done + i) * MIGRATION_PAGE_SIZE;
            if ((r->populated[i / 64] >> (i % 64) & 1) && !page_is_zero(page))
                memset(page, 0, MIGRATION_PAGE_SIZE);
        }
    }
    r->stats.zero_pages += npages;
    return true;
}

static bool reader_device_state(MigrationReader *r, uint32_t length, GError **errp)
{
    if (length > DEVICE_STATE_PAYLOAD_MAX) {
        STREAM_ERROR(errp, INVALID, "DEVICE_STATE record of %u bytes exceeds the limit of %u",
                     length, DEVICE_STATE_PAYLOAD_MAX);
        return false;
    }
    g_autofree uint8_t *payload =
        reader_read_payload(r, length, "the DEVICE_STATE record", errp);
    if (!payload)
        return false;
    Cursor c = { .p = payload, .left = length };
    const char *name = cursor_string(&c, VMSTATE_NAME_MAX, "device state", errp);
    if (!name)
        return false;
    uint32_t version = cursor_u32(&c);
    uint32_t data_len = cursor_u32(&c);
    if (c.overrun || data_len != c.left) {
        STREAM_ERROR(errp, INVALID, "device state '%s' says %u bytes, its record holds %zu",
                     name, data_len, c.overrun ? (size_t)0 : c.left);
        return false;
    }
    const VmStateHandler *handler = vmstate_find(r->registry, name);
    if (!handler) {
        STREAM_ERROR(errp, MISMATCH, "device state '%s' is unknown here", name);
        return false;
    }
    if (version == 0 || version > handler->version) {
        STREAM_ERROR(errp, MISMATCH, "device state '%s' has version %u, this ferry loads 1..%u",
                     name, version, handler->version);
        return false;
    }
    for (unsigned i = 0; i < r->sections->len; i++) {
        if (g_array_index(r->sections, PendingSection, i).handler == handler) {
            STREAM_ERROR(errp, INVALID, "device state '%s' appears twice", name);
            return false;
        }
    }
    PendingSection section = {
        .handler = handler,
        .version = version,
        .data = g_bytes_new(c.p, data_len),
    };
    g_array_append_val(r->sections, section);
    return true;
}

/* END: the checksum, then the device sections it vouched for. */
static bool reader_end(MigrationReader *r, uint32_t length, GError **errp)
{
    uint8_t crc_bytes[END_PAYLOAD_SIZE];
    uint32_t expected = r->crc;

    if (length != END_PAYLOAD_SIZE) {
        STREAM_ERROR(errp, INVALID, "END record of %u bytes, not %u", length, END_PAYLOAD_SIZE);
        return false;
    }
    if (!reader_read(r, crc_bytes, sizeof(crc_bytes), false, "the checksum", errp))
        return false;
    uint32_t received = le32_load(crc_bytes);
    if (received != expected) {
        STREAM_ERROR(errp, CHECKSUM, "bad checksum: the stream says 0x%08x, its bytes make 0x%08x",
                     received, expected);
        return false;
    }
    for (unsigned i = 0; i < vmstate_count(r->registry); i++) {
        const VmStateHandler *h = vmstate_nth(r->registry, i);
        bool present = false;
        for (unsigned j = 0; j < r->sections->len && !present; j++)
            present = g_array_index(r->sections, PendingSection, j).handler == h;
        if (!present) {
            STREAM_ERROR(errp, MISMATCH, "device state '%s' is missing", h->name);
            return false;
        }
    }
    for (unsigned i = 0; i < r->sections->len; i++) {
        const PendingSection *s = &g_array_index(r->sections, PendingSection, i);
        gsize len;
        const uint8_t *data = g_bytes_get_data(s->data, &len);
        GError *err = NULL;
        if (!s->handler->load(s->handler->opaque, data, len, s->version, &err)) {
            g_propagate_prefixed_error(errp, err, "device state '%s': ", s->handler->name);
            return false;
        }
    }
    return true;
}

/* The record types each state accepts, and the state after each. */
static bool reader_accepts(ReaderState state, uint32_t type)
{
    switch (state) {
    case READER_NEED_MACHINE:
        return type == MIGRATION_RECORD_MACHINE;
    case READER_NEED_BLOCKS:
        return type == MIGRATION_RECORD_RAM_BLOCKS;
    case READER_PAGES:
        return type == MIGRATION_RECORD_PAGES || type == MIGRATION_RECORD_ZEROS ||
               type == MIGRATION_RECORD_DEVICE_STATE || type == MIGRATION_RECORD_END;
    case READER_DEVICES:
        return type == MIGRATION_RECORD_DEVICE_STATE || type == MIGRATION_RECORD_END;
    default:
        return false;
    }
}

static ReaderState reader_state_after(ReaderState state, uint32_t type)
{
    switch (type) {
    case MIGRATION_RECORD_MACHINE:
        return READER_NEED_BLOCKS;
    case MIGRATION_RECORD_RAM_BLOCKS:
        return READER_PAGES;
    case MIGRATION_RECORD_PAGES:
    case MIGRATION_RECORD_ZEROS:
        return READER_PAGES;
    case MIGRATION_RECORD_DEVICE_STATE:
        return READER_DEVICES;
    case MIGRATION_RECORD_END:
        return READER_DONE;
    default:
        return state;
    }
}

static const char *reader_expected(ReaderState state)
{
    switch (state) {
    case READER_NEED_MACHINE:
        return "MACHINE";
    case READER_NEED_BLOCKS:
        return "RAM_BLOCKS";
    case READER_PAGES:
        return "PAGES, ZEROS, DEVICE_STATE or END";
    default:
        return "DEVICE_STATE or END";
    }
}

static bool reader_step(MigrationReader *r, uint32_t *type_out, GError **errp)
{
    uint8_t head[MIGRATION_RECORD_HEADER_SIZE];

    if (r->state == READER_START) {
        if (!reader_read_header(r, errp))
            return false;
        r->state = READER_NEED_MACHINE;
    }
    if (!reader_read(r, head, sizeof(head), true, "a record header", errp))
        return false;
    uint32_t type = le32_load(head);
    uint32_t length = le32_load(head + 4);
    const char *name = record_name(type);
    if (!name) {
        STREAM_ERROR(errp, INVALID, "unknown record type %u (length %u)", type, length);
        return false;
    }
    if (!reader_accepts(r->state, type)) {
        STREAM_ERROR(errp, INVALID, "unexpected %s record where %s belongs", name,
                     reader_expected(r->state));
        return false;
    }

    bool ok = false;
    switch (type) {
    case MIGRATION_RECORD_MACHINE:
        ok = reader_machine(r, length, errp);
        break;
    case MIGRATION_RECORD_RAM_BLOCKS:
        ok = reader_ram_blocks(r, length, errp);
        break;
    case MIGRATION_RECORD_PAGES:
        ok = reader_pages(r, length, errp);
        break;
    case MIGRATION_RECORD_ZEROS:
        ok = reader_zeros(r, length, errp);
        break;
    case MIGRATION_RECORD_DEVICE_STATE:
        ok = reader_device_state(r, length, errp);
        break;
    case MIGRATION_RECORD_END:
        ok = reader_end(r, length, errp);
        break;
    }
    if (!ok)
        return false;
    r->state = reader_state_after(r->state, type);
    *type_out = type;
    return true;
}

MigrationRecordType migration_reader_next(MigrationReader *r, GError **errp)
{
    uint32_t type = MIGRATION_RECORD_NONE;

    if (r->state == READER_FAILED || r->state == READER_DONE) {
        STREAM_ERROR(errp, INVALID, "nothing more to read: the stream %s",
                     r->state == READER_DONE ? "is complete" : "already failed");
        return MIGRATION_RECORD_NONE;
    }
    if (!reader_step(r, &type, errp)) {
        r->state = READER_FAILED;
        return MIGRATION_RECORD_NONE;
    }
    return (MigrationRecordType)type;
}

bool migration_reader_load(MigrationReader *r, GError **errp)
{
    for (;;) {
        MigrationRecordType type = migration_reader_next(r, errp);
        if (type == MIGRATION_RECORD_NONE)
            return false;
        if (type == MIGRATION_RECORD_END)
            return true;
    }
}
