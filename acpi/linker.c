/* BIOS linker/loader script writer and runner (see linker.h). */
#include "acpi/linker.h"

#include <string.h>

G_DEFINE_QUARK(ferry-linker-error, linker_error)

typedef struct LinkerBlob {
    char *name;
    GByteArray *blob;
} LinkerBlob;

struct Linker {
    GArray *blobs; /* LinkerBlob */
    GByteArray *allocations; /* ALLOCATE entries */
    GByteArray *commands; /* everything else, in order */
};

Linker *linker_new(void)
{
    Linker *l = g_new0(Linker, 1);
    l->blobs = g_array_new(FALSE, TRUE, sizeof(LinkerBlob));
    l->allocations = g_byte_array_new();
    l->commands = g_byte_array_new();
    return l;
}

void linker_free(Linker *l)
{
    if (!l)
        return;
    for (guint i = 0; i < l->blobs->len; i++)
        g_free(g_array_index(l->blobs, LinkerBlob, i).name);
    g_array_free(l->blobs, TRUE);
    g_byte_array_free(l->allocations, TRUE);
    g_byte_array_free(l->commands, TRUE);
    g_free(l);
}

static GByteArray *linker_blob(const Linker *l, const char *file)
{
    for (guint i = 0; i < l->blobs->len; i++) {
        const LinkerBlob *b = &g_array_index(l->blobs, LinkerBlob, i);
        if (strcmp(b->name, file) == 0)
            return b->blob;
    }
    g_error("linker: file %s was never allocated", file);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_name(uint8_t *field, const char *file)
{
    if (strlen(file) >= LINKER_FILE_NAME_SIZE)
        g_error("linker: file name %s is too long", file);
    strcpy((char *)field, file);
}

/* A zeroed entry appended to `to`, with its command set. */
static uint8_t *new_entry(GByteArray *to, LinkerCommand cmd)
{
    guint at = to->len;
    g_byte_array_set_size(to, at + LINKER_ENTRY_SIZE);
    uint8_t *e = to->data + at;
    memset(e, 0, LINKER_ENTRY_SIZE);
    put_u32(e + LINKER_OFF_COMMAND, cmd);
    return e;
}

void linker_allocate(Linker *l, const char *file, GByteArray *blob, uint32_t align,
                     LinkerZone zone)
{
    if (align == 0 || (align & (align - 1)))
        g_error("linker: alignment %u of %s is not a power of two", align, file);
    for (guint i = 0; i < l->blobs->len; i++)
        if (strcmp(g_array_index(l->blobs, LinkerBlob, i).name, file) == 0)
            g_error("linker: %s allocated twice", file);
    LinkerBlob b = { g_strdup(file), blob };
    g_array_append_val(l->blobs, b);

    uint8_t *e = new_entry(l->allocations, LINKER_CMD_ALLOCATE);
    put_name(e + LINKER_OFF_FILE, file);
    put_u32(e + LINKER_OFF_ALLOC_ALIGN, align);
    e[LINKER_OFF_ALLOC_ZONE] = (uint8_t)zone;
}

void linker_add_pointer(Linker *l, const char *dest_file, uint32_t dest_offset, uint8_t size,
                        const char *src_file, uint32_t src_offset)
{
    GByteArray *dest = linker_blob(l, dest_file);
    GByteArray *src = linker_blob(l, src_file);
    if (size != 1 && size != 2 && size != 4 && size != 8)
        g_error("linker: pointer size %u", size);
    if (dest_offset > dest->len || size > dest->len - dest_offset)
        g_error("linker: pointer at %s+%u is outside the file", dest_file, dest_offset);
    if (src_offset >= src->len || (size < 4 && src_offset >> (8 * size)))
        g_error("linker: pointer to %s+%u is outside the file or its field", src_file,
                src_offset);
    /* The runner adds src's address to what the field holds. */
    for (unsigned i = 0; i < size; i++)
        dest->data[dest_offset + i] = i < 4 ? (uint8_t)(src_offset >> (8 * i)) : 0;

    uint8_t *e = new_entry(l->commands, LINKER_CMD_ADD_POINTER);
    put_name(e + LINKER_OFF_FILE, dest_file);
    put_name(e + LINKER_OFF_POINTER_SRC_FILE, src_file);
    put_u32(e + LINKER_OFF_POINTER_OFFSET, dest_offset);
    e[LINKER_OFF_POINTER_SIZE] = size;
}

void linker_add_checksum(Linker *l, const char *file, uint32_t start, uint32_t length,
                         uint32_t result_offset)
{
    GByteArray *blob = linker_blob(l, file);
    if (start > blob->len || length > blob->len - start || result_offset >= blob->len)
        g_error("linker: checksum of %s+%u (%u bytes) is outside the file", file, start, length);
    /* Zero, as firmware expects: the result then does not depend on what
     * the field held before. */
    blob->data[result_offset] = 0;

    uint8_t *e = new_entry(l->commands, LINKER_CMD_ADD_CHECKSUM);
    put_name(e + LINKER_OFF_FILE, file);
    put_u32(e + LINKER_OFF_CKSUM_RESULT, result_offset);
    put_u32(e + LINKER_OFF_CKSUM_START, start);
    put_u32(e + LINKER_OFF_CKSUM_LENGTH, length);
}

void linker_write_script(const Linker *l, GByteArray *script)
{
    g_byte_array_set_size(script, 0);
    g_byte_array_append(script, l->allocations->data, l->allocations->len);
    g_byte_array_append(script, l->commands->data, l->commands->len);
    guint padded = (script->len + LINKER_SCRIPT_ALIGN - 1) / LINKER_SCRIPT_ALIGN *
                   LINKER_SCRIPT_ALIGN;
    guint old = script->len;
    g_byte_array_set_size(script, padded);
    memset(script->data + old, 0, padded - old);
}

/* ---- runner ---- */

/* The NUL-terminated name in a 56-byte field, or NULL if it is not. */
static const char *entry_name(const uint8_t *field)
{
    return memchr(field, '\0', LINKER_FILE_NAME_SIZE) ? (const char *)field : NULL;
}

static LinkerFile *find_file(LinkerFile *files, unsigned n_files, const uint8_t *field,
                             size_t index, GError **errp)
{
    const char *name = entry_name(field);
    if (!name) {
        g_set_error(errp, LINKER_ERROR, 0, "loader entry %zu: file name is not terminated",
                    index);
        return NULL;
    }
    for (unsigned i = 0; i < n_files; i++)
        if (strcmp(files[i].name, name) == 0)
            return &files[i];
    g_set_error(errp, LINKER_ERROR, 0, "loader entry %zu: unknown file \"%s\"", index, name);
    return NULL;
}

static bool run_allocate(const uint8_t *e, size_t index, LinkerFile *files, unsigned n_files,
                         GError **errp)
{
    LinkerFile *f = find_file(files, n_files, e + LINKER_OFF_FILE, index, errp);
    if (!f)
        return false;
    uint32_t align = get_u32(e + LINKER_OFF_ALLOC_ALIGN);
    uint8_t zone = e[LINKER_OFF_ALLOC_ZONE];
    uint64_t size = f->data->len;
    if (f->allocated) {
        g_set_error(errp, LINKER_ERROR, 0, "loader entry %zu: %s allocated twice", index,
                    f->name);
        return false;
    }
    if (align == 0 || (align & (align - 1)) || f->addr % align) {
        g_set_error(errp, LINKER_ERROR, 0,
                    "loader entry %zu: %s at 0x%" G_GINT64_MODIFIER "x does not meet alignment %u",
                    index, f->name, f->addr, align);
        return false;
    }
    bool in_zone = zone == LINKER_ZONE_HIGH ? f->addr + size <= 1ull << 32
                   : zone == LINKER_ZONE_FSEG ? f->addr >= 0xe0000 && f->addr + size <= 0x100000
                                              : false;
    if (!in_zone) {
        g_set_error(errp, LINKER_ERROR, 0,
                    "loader entry %zu: %s at 0x%" G_GINT64_MODIFIER "x (%" G_GUINT64_FORMAT
                    " bytes) is outside zone %u",
                    index, f->name, f->addr, size, zone);
        return false;
    }
    memcpy(f->host, f->data->data, size);
    f->allocated = true;
    return true;
}

static LinkerFile *find_allocated(LinkerFile *files, unsigned n_files, const uint8_t *field,
                                  size_t index, GError **errp)
{
    LinkerFile *f = find_file(files, n_files, field, index, errp);
    if (f && !f->allocated) {
        g_set_error(errp, LINKER_ERROR, 0, "loader entry %zu: %s used before ALLOCATE", index,
                    f->name);
        return NULL;
    }
    return f;
}

static bool run_add_pointer(const uint8_t *e, size_t index, LinkerFile *files, unsigned n_files,
                            GError **errp)
{
    LinkerFile *dest = find_allocated(files, n_files, e + LINKER_OFF_FILE, index, errp);
    if (!dest)
        return false;
    LinkerFile *src = find_allocated(files, n_files, e + LINKER_OFF_POINTER_SRC_FILE, index, errp);
    if (!src)
        return false;
    uint64_t offset = get_u32(e + LINKER_OFF_POINTER_OFFSET);
    uint8_t size = e[LINKER_OFF_POINTER_SIZE];
    if (size != 1 && size != 2 && size != 4 && size != 8) {
        g_set_error(errp, LINKER_ERROR, 0, "loader entry %zu: pointer size %u", index, size);
        return false;
    }
    if (offset + size > dest->data->len) {
        g_set_error(errp, LINKER_ERROR, 0,
                    "loader entry %zu: pointer at %s+%" G_GUINT64_FORMAT
                    " is outside the file (%u bytes)",
                    index, dest->name, offset, dest->data->len);
        return false;
    }
    uint64_t value = 0;
    for (unsigned i = 0; i < size; i++)
        value |= (uint64_t)dest->host[offset + i] << (8 * i);
    if (value >= src->data->len) {
        g_set_error(errp, LINKER_ERROR, 0,
                    "loader entry %zu: pointer to %s+%" G_GUINT64_FORMAT
                    " is outside the file (%u bytes)",
                    index, src->name, value, src->data->len);
        return false;
    }
    value += src->addr;
    if (size < 8 && value >> (8 * size)) {
        g_set_error(errp, LINKER_ERROR, 0,
                    "loader entry %zu: address 0x%" G_GINT64_MODIFIER "x does not fit in %u bytes",
                    index, value, size);
        return false;
    }
    for (unsigned i = 0; i < size; i++)
        dest->host[offset + i] = (uint8_t)(value >> (8 * i));
    return true;
}

static bool run_add_checksum(const uint8_t *e, size_t index, LinkerFile *files, unsigned n_files,
                             GError **errp)
{
    LinkerFile *f = find_allocated(files, n_files, e + LINKER_OFF_FILE, index, errp);
    if (!f)
        return false;
    uint64_t result = get_u32(e + LINKER_OFF_CKSUM_RESULT);
    uint64_t start = get_u32(e + LINKER_OFF_CKSUM_START);
    uint64_t length = get_u32(e + LINKER_OFF_CKSUM_LENGTH);
    uint64_t size = f->data->len;
    if (result >= size || start + length > size) {
        g_set_error(errp, LINKER_ERROR, 0,
                    "loader entry %zu: checksum of %s+%" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT
                    " bytes) into +%" G_GUINT64_FORMAT " is outside the file (%" G_GUINT64_FORMAT
                    " bytes)",
                    index, f->name, start, length, result, size);
        return false;
    }
    uint8_t sum = 0;
    for (uint64_t i = 0; i < length; i++)
        sum = (uint8_t)(sum + f->host[start + i]);
    f->host[result] = (uint8_t)(f->host[result] - sum);
    return true;
}

bool linker_run(const uint8_t *script, size_t script_len, LinkerFile *files, unsigned n_files,
                GError **errp)
{
    if (script_len % LINKER_ENTRY_SIZE) {
        g_set_error(errp, LINKER_ERROR, 0,
                    "loader script of %zu bytes is not a whole number of entries", script_len);
        return false;
    }
    for (unsigned i = 0; i < n_files; i++)
        files[i].allocated = false;
    for (size_t index = 0; index < script_len / LINKER_ENTRY_SIZE; index++) {
        const uint8_t *e = script + index * LINKER_ENTRY_SIZE;
        uint32_t cmd = get_u32(e + LINKER_OFF_COMMAND);
        bool ok;
        switch (cmd) {
        case 0: /* padding */
            ok = true;
            break;
        case LINKER_CMD_ALLOCATE:
            ok = run_allocate(e, index, files, n_files, errp);
            break;
        case LINKER_CMD_ADD_POINTER:
            ok = run_add_pointer(e, index, files, n_files, errp);
            break;
        case LINKER_CMD_ADD_CHECKSUM:
            ok = run_add_checksum(e, index, files, n_files, errp);
            break;
        default:
            g_set_error(errp, LINKER_ERROR, 0, "loader entry %zu: unknown command %u", index, cmd);
            ok = false;
        }
        if (!ok)
            return false;
    }
    return true;
}
