/* Memory backends and their registry; see memory_backend.h. */
#include "hw/memory_backend.h"

#include <inttypes.h>
#include <string.h>
#include <unistd.h>

G_DEFINE_QUARK(ferry-memory-backend-error, memory_backend_error)

struct MemoryBackend {
    char *id;
    MemoryBackendKind kind;
    uint64_t size;
    char *mem_path;
    bool share;
    bool prealloc;
    RamBlock *block;
    char *user; /* id of the device this backend is plugged into, or NULL */
};

static GPtrArray *backends; /* MemoryBackend *, creation order */

static const char *const kind_names[] = {
    [MEMORY_BACKEND_RAM] = "memory-backend-ram",
    [MEMORY_BACKEND_MEMFD] = "memory-backend-memfd",
    [MEMORY_BACKEND_FILE] = "memory-backend-file",
};

bool object_id_is_wellformed(const char *id)
{
    if (!id || !g_ascii_isalpha(id[0]))
        return false;
    for (const char *p = id + 1; *p; p++) {
        if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.' && *p != '_')
            return false;
    }
    return true;
}

const char *memory_backend_kind_name(MemoryBackendKind kind)
{
    if ((unsigned)kind >= G_N_ELEMENTS(kind_names))
        return NULL;
    return kind_names[kind];
}

bool memory_backend_kind_from_name(const char *type_name, MemoryBackendKind *kind)
{
    for (unsigned k = 0; type_name && k < G_N_ELEMENTS(kind_names); k++) {
        if (strcmp(type_name, kind_names[k]) == 0) {
            *kind = (MemoryBackendKind)k;
            return true;
        }
    }
    return false;
}

static bool is_power_of_2(uint64_t v)
{
    return v && !(v & (v - 1));
}

/* Everything that can be checked before any memory is allocated. */
static bool memory_backend_check_config(const MemoryBackendConfig *cfg, GError **errp)
{
    const char *id = cfg->id;
    const uint64_t host_page = (uint64_t)getpagesize();

    if (!id || !*id) {
        g_set_error(errp, MEMORY_BACKEND_ERROR, MEMORY_BACKEND_ERROR_INVALID,
                    "memory backend: the id is empty; give it one, e.g. id=mem1");
        return false;
    }
    if (!object_id_is_wellformed(id)) {
        g_set_error(errp, MEMORY_BACKEND_ERROR, MEMORY_BACKEND_ERROR_INVALID,
                    "memory backend id '%s' is invalid: use a letter, then letters, digits, "
                    "'-', '.' or '_'",
                    id);
        return false;
    }
    if (!memory_backend_kind_name(cfg->kind)) {
        g_set_error(errp, MEMORY_BACKEND_ERROR, MEMORY_BACKEND_ERROR_INVALID,
                    "memory backend '%s': unknown backend kind %d", id, (int)cfg->kind);
        return false;
    }
    if (memory_backend_find(id)) {
        g_set_error(errp, MEMORY_BACKEND_ERROR, MEMORY_BACKEND_ERROR_EXISTS,
                    "memory backend '%s' already exists; pick another id", id);
        return false;
    }
    /* The block is named after the id, and block names are unique. */
    if (ram_block_find(id)) {
        g_set_error(errp, MEMORY_BACKEND_ERROR, MEMORY_BACKEND_ERROR_EXISTS,
                    "memory backend '%s': a RAM block of that name exists; pick another id", id);
        return false;
    }
    if (cfg->size == 0) {
        g_set_error(errp, MEMORY_BACKEND_ERROR, MEMORY_BACKEND_ERROR_INVALID,
                    "memory backend '%s': size is 0; give a size, e.g. size=128M", id);
        return false;
    }

    /* Options that only one kind takes. */
    if (cfg->kind == MEMORY_BACKEND_FILE && (!cfg->mem_path || !*cfg->mem_path)) {
        g_set_error(errp, MEMORY_BACKEND_ERROR, MEMORY_BACKEND_ERROR_INVALID,
                    "memory backend '%s': memory-backend-file needs a mem-path", id);
        return false;
    }
    if (cfg->kind != MEMORY_BACKEND_FILE && cfg->mem_path) {
        g_set_error(errp, MEMORY_BACKEND_ERROR, MEMORY_BACKEND_ERROR_INVALID,
                    "memory backend '%s': mem-path applies only to memory-backend-file, not %s",
                    id, memory_backend_kind_name(cfg->kind));
        return false;
    }
    if (cfg->kind != MEMORY_BACKEND_MEMFD && (cfg->hugetlb || cfg->hugetlbsize)) {
        g_set_error(errp, MEMORY_BACKEND_ERROR, MEMORY_BACKEND_ERROR_INVALID,
                    "memory backend '%s': hugetlb and hugetlbsize apply only to "
                    "memory-backend-memfd, not %s%s",
                    id, memory_backend_kind_name(cfg->kind),
                    cfg->kind == MEMORY_BACKEND_FILE ? " (use a hugetlbfs mem-path)" : "");
        return false;
    }
    if (cfg->hugetlbsize && !cfg->hugetlb) {
        g_set_error(errp, MEMORY_BACKEND_ERROR, MEMORY_BACKEND_ERROR_INVALID,
                    "memory backend '%s': hugetlbsize needs hugetlb=on", id);
        return false;
    }
    if (cfg->hugetlbsize && (!is_power_of_2(cfg->hugetlbsize) || cfg->hugetlbsize <= host_page)) {
        g_set_error(errp, MEMORY_BACKEND_ERROR, MEMORY_BACKEND_ERROR_INVALID,
                    "memory backend '%s': hugetlbsize 0x%" PRIx64
                    " is not a huge page size (a power of two above 0x%" PRIx64 ", e.g. 2M)",
                    id, cfg->hugetlbsize, host_page);
        return false;
    }

    /* The block would silently round up; a backend is exactly `size`. */
    uint64_t page = cfg->hugetlbsize ? cfg->hugetlbsize : host_page;
    if (cfg->size % page) {
        g_set_error(errp, MEMORY_BACKEND_ERROR, MEMORY_BACKEND_ERROR_INVALID,
                    "memory backend '%s': size 0x%" PRIx64 " is not a multiple of the %s 0x%" PRIx64
                    "%s",
                    id, cfg->size, cfg->hugetlbsize ? "huge page size" : "page size", page,
                    cfg->hugetlbsize ? " (hugetlb size mismatch)" : "");
        return false;
    }
    return true;
}

/* ram_block_new() says "ram block 'ID': ..."; say "memory backend 'ID'"
 * instead, so that the user sees the name they typed once. */
static void propagate_block_error(GError **errp, GError *err, const char *id)
{
    g_autofree char *prefix = g_strdup_printf("ram block '%s': ", id);
    const char *rest = g_str_has_prefix(err->message, prefix) ? err->message + strlen(prefix)
                                                              : err->message;

    g_set_error(errp, MEMORY_BACKEND_ERROR, MEMORY_BACKEND_ERROR_HOST, "memory backend '%s': %s",
                id, rest);
    g_error_free(err);
}

MemoryBackend *memory_backend_new(const MemoryBackendConfig *cfg, GError **errp)
{
    GError *err = NULL;

    if (!memory_backend_check_config(cfg, errp))
        return NULL;

    RamBackendSpec spec = {
        .mem_path = cfg->mem_path,
        .share = cfg->share,
        .hugetlb = cfg->hugetlb,
        .hugetlbsize = cfg->hugetlbsize,
        .prealloc = cfg->prealloc,
    };
    switch (cfg->kind) {
    case MEMORY_BACKEND_RAM:
        /* ram_block's anonymous memory is private; a shared -ram backend
         * is a memfd nobody else sees, which is what MAP_SHARED|ANON is. */
        spec.kind = cfg->share ? RAM_BACKEND_MEMFD : RAM_BACKEND_ANON;
        break;
    case MEMORY_BACKEND_MEMFD:
        spec.kind = RAM_BACKEND_MEMFD;
        break;
    case MEMORY_BACKEND_FILE:
        spec.kind = RAM_BACKEND_FILE;
        break;
    }

    RamBlock *block =
        ram_block_new(cfg->id, cfg->size, cfg->size, RAM_BLOCK_MIGRATABLE, &spec, &err);
    if (!block) {
        propagate_block_error(errp, err, cfg->id);
        return NULL;
    }
    /* Only now is the page size of a hugetlbfs mem-path, or of hugetlb
     * with the host's default size, known. */
    if (cfg->size % block->page_size) {
        g_set_error(errp, MEMORY_BACKEND_ERROR, MEMORY_BACKEND_ERROR_INVALID,
                    "memory backend '%s': size 0x%" PRIx64
                    " is not a multiple of the huge page size 0x%" PRIx64
                    " (hugetlb size mismatch)",
                    cfg->id, cfg->size, block->page_size);
        ram_block_free(block);
        return NULL;
    }

    MemoryBackend *backend = g_new0(MemoryBackend, 1);
    backend->id = g_strdup(cfg->id);
    backend->kind = cfg->kind;
    backend->size = cfg->size;
    backend->mem_path = g_strdup(cfg->mem_path);
    backend->share = cfg->share || cfg->kind == MEMORY_BACKEND_MEMFD;
    backend->prealloc = cfg->prealloc;
    backend->block = block;

    if (!backends)
        backends = g_ptr_array_new();
    g_ptr_array_add(backends, backend);
    return backend;
}

void memory_backend_free(MemoryBackend *backend)
{
    if (!backend)
        return;
    /* A programming error, not a user's: object-del checks in_use and
     * reports it.  Leaking beats unmapping memory the guest still has. */
    g_return_if_fail(!memory_backend_in_use(backend));
    if (backends)
        g_ptr_array_remove(backends, backend);
    ram_block_free(backend->block);
    g_free(backend->user);
    g_free(backend->mem_path);
    g_free(backend->id);
    g_free(backend);
}

const char *memory_backend_id(const MemoryBackend *backend)
{
    return backend->id;
}

MemoryBackendKind memory_backend_kind(const MemoryBackend *backend)
{
    return backend->kind;
}

uint64_t memory_backend_size(const MemoryBackend *backend)
{
    return backend->size;
}

uint64_t memory_backend_page_size(const MemoryBackend *backend)
{
    return backend->block->page_size;
}

bool memory_backend_share(const MemoryBackend *backend)
{
    return backend->share;
}

bool memory_backend_prealloc(const MemoryBackend *backend)
{
    return backend->prealloc;
}

const char *memory_backend_mem_path(const MemoryBackend *backend)
{
    return backend->mem_path;
}

RamBlock *memory_backend_block(const MemoryBackend *backend)
{
    return backend->block;
}

void memory_backend_set_user(MemoryBackend *backend, const char *user)
{
    g_free(backend->user);
    backend->user = g_strdup(user);
}

const char *memory_backend_user(const MemoryBackend *backend)
{
    return backend->user;
}

bool memory_backend_in_use(const MemoryBackend *backend)
{
    return backend->user != NULL;
}

MemoryBackend *memory_backend_find(const char *id)
{
    for (unsigned i = 0; backends && id && i < backends->len; i++) {
        MemoryBackend *backend = g_ptr_array_index(backends, i);
        if (strcmp(backend->id, id) == 0)
            return backend;
    }
    return NULL;
}

void memory_backends_foreach(MemoryBackendFn fn, void *opaque)
{
    for (unsigned i = 0; backends && i < backends->len; i++)
        fn(g_ptr_array_index(backends, i), opaque);
}

unsigned memory_backends_count(void)
{
    return backends ? backends->len : 0;
}
