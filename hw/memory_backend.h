/* Memory backends: QEMU's memory-backend-ram, -memfd and -file objects.
 *
 * A backend is host memory waiting to be plugged into the guest: one RAM
 * block named exactly like the backend's id (migration matches blocks by
 * name, so the name must be the same on both hosts) and marked migratable.
 * `object-add` creates one, `device_add pc-dimm,memdev=ID` plugs it, and
 * `object-del` frees it once no DIMM uses it.
 *
 * Backends live in one process-wide registry keyed by id, as QEMU's
 * /objects container: memory_backend_new() adds, memory_backend_free()
 * removes.  The registry and the backends are used from the main thread
 * (the control socket and the machine); nothing here is locked.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "mem/ram_block.h"

#define MEMORY_BACKEND_ERROR memory_backend_error_quark()
GQuark memory_backend_error_quark(void);

typedef enum MemoryBackendError {
    MEMORY_BACKEND_ERROR_INVALID, /* a bad id, size or option */
    MEMORY_BACKEND_ERROR_EXISTS, /* the id is taken */
    MEMORY_BACKEND_ERROR_HOST, /* the host refused the memory */
    MEMORY_BACKEND_ERROR_NOT_FOUND, /* no backend of that id (object-del) */
    MEMORY_BACKEND_ERROR_BUSY, /* a DIMM still uses it (object-del) */
} MemoryBackendError;

typedef enum MemoryBackendKind {
    MEMORY_BACKEND_RAM, /* "memory-backend-ram": anonymous private memory */
    MEMORY_BACKEND_MEMFD, /* "memory-backend-memfd": a memfd, always shared */
    MEMORY_BACKEND_FILE, /* "memory-backend-file": mem-path, a file or a directory (hugetlbfs) */
} MemoryBackendKind;

typedef struct MemoryBackendConfig {
    MemoryBackendKind kind;
    const char *id; /* letters, digits, '-', '.', '_'; starts with a letter */
    uint64_t size; /* bytes; a multiple of the backend's page size */
    const char *mem_path; /* -file only, required */
    bool share; /* -ram and -file: MAP_SHARED (memfd is always shared) */
    bool prealloc; /* populate every page now, so that a later fault cannot fail */
    bool hugetlb; /* -memfd only: MFD_HUGETLB */
    uint64_t hugetlbsize; /* -memfd with hugetlb: huge page size, 0 = the host default */
} MemoryBackendConfig;

typedef struct MemoryBackend MemoryBackend;

/* QEMU's rule for object and device ids (backends and DIMMs alike): a
 * letter, then letters, digits, '-', '.' or '_'. */
bool object_id_is_wellformed(const char *id);

/* "memory-backend-ram" and so on; NULL for an unknown kind. */
const char *memory_backend_kind_name(MemoryBackendKind kind);
/* The kind for a QOM type name; false if it is not a memory backend type. */
bool memory_backend_kind_from_name(const char *type_name, MemoryBackendKind *kind);

/* Validate `cfg`, allocate the RAM block and register the backend.  Every
 * error is one line that names the backend id. */
MemoryBackend *memory_backend_new(const MemoryBackendConfig *cfg, GError **errp);
/* Unregister and release the memory.  The caller checks
 * memory_backend_in_use() first and tells the user (object-del of a
 * plugged backend fails); freeing one in use is a bug, caught with a
 * g_critical and a leak rather than a DIMM over unmapped memory. */
void memory_backend_free(MemoryBackend *backend);

const char *memory_backend_id(const MemoryBackend *backend);
MemoryBackendKind memory_backend_kind(const MemoryBackend *backend);
uint64_t memory_backend_size(const MemoryBackend *backend);
/* The block's page size: 4 KiB, or the huge page size on hugetlb. */
uint64_t memory_backend_page_size(const MemoryBackend *backend);
/* The effective share flag (true for memfd), as query-memdev shows it. */
bool memory_backend_share(const MemoryBackend *backend);
bool memory_backend_prealloc(const MemoryBackend *backend);
/* -file: the mem-path as given; else NULL. */
const char *memory_backend_mem_path(const MemoryBackend *backend);
RamBlock *memory_backend_block(const MemoryBackend *backend);

/* A backend backs at most one device.  set_user(b, "dimm1") claims it,
 * set_user(b, NULL) releases it.  user() is the claimant's id, or NULL. */
void memory_backend_set_user(MemoryBackend *backend, const char *user);
const char *memory_backend_user(const MemoryBackend *backend);
bool memory_backend_in_use(const MemoryBackend *backend);

/* The registry. */
MemoryBackend *memory_backend_find(const char *id);
typedef void (*MemoryBackendFn)(MemoryBackend *backend, void *opaque);
/* In creation order (query-memdev's order).  `fn` must not create or free
 * backends. */
void memory_backends_foreach(MemoryBackendFn fn, void *opaque);
unsigned memory_backends_count(void);
