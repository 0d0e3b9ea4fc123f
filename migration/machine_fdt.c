/* The machine configuration as a flattened device tree; see machine_fdt.h. */
#include "migration/machine_fdt.h"

#include <errno.h>
#include <inttypes.h>
#include <libfdt.h>
#include <string.h>
#include <unistd.h>

#include "hw/pc_dimm.h"
#include "migration/stream.h"

#define MACHINE_FDT_COMPATIBLE "ferry,machine"
#define MACHINE_FDT_FORMAT_VERSION 1u
#define MACHINE_FDT_INITIAL_SIZE 4096u

static void backend_desc_free(gpointer data)
{
    MachineBackendDesc *b = data;

    g_free(b->id);
    g_free(b->mem_path);
    g_free(b);
}

static void dimm_desc_free(gpointer data)
{
    MachineDimmDesc *d = data;

    g_free(d->id);
    g_free(d->memdev);
    g_free(d);
}

MachineDescription *machine_description_new(void)
{
    MachineDescription *desc = g_new0(MachineDescription, 1);

    desc->backends = g_ptr_array_new_with_free_func(backend_desc_free);
    desc->dimms = g_ptr_array_new_with_free_func(dimm_desc_free);
    return desc;
}

void machine_description_free(MachineDescription *desc)
{
    if (!desc)
        return;
    g_ptr_array_unref(desc->backends);
    g_ptr_array_unref(desc->dimms);
    g_free(desc);
}

void machine_description_add_backend(MachineDescription *desc, const MachineBackendDesc *backend)
{
    MachineBackendDesc *copy = g_memdup2(backend, sizeof(*backend));

    copy->id = g_strdup(backend->id);
    copy->mem_path = g_strdup(backend->mem_path);
    g_ptr_array_add(desc->backends, copy);
}

void machine_description_add_dimm(MachineDescription *desc, const MachineDimmDesc *dimm)
{
    MachineDimmDesc *copy = g_memdup2(dimm, sizeof(*dimm));

    copy->id = g_strdup(dimm->id);
    copy->memdev = g_strdup(dimm->memdev);
    g_ptr_array_add(desc->dimms, copy);
}

static void add_live_backend(MemoryBackend *backend, void *opaque)
{
    MachineBackendDesc b = {
        .id = (char *)memory_backend_id(backend),
        .kind = memory_backend_kind(backend),
        .size = memory_backend_size(backend),
        .page_size = memory_backend_page_size(backend),
        .share = memory_backend_share(backend),
        .prealloc = memory_backend_prealloc(backend),
        .mem_path = (char *)memory_backend_mem_path(backend),
    };
    machine_description_add_backend(opaque, &b);
}

void machine_description_add_live_backends(MachineDescription *desc)
{
    memory_backends_foreach(add_live_backend, desc);
}

static void add_live_dimm(PcDimm *dimm, void *opaque)
{
    PcDimmInfo info;

    pc_dimm_get_info(dimm, &info);
    MachineDimmDesc d = {
        .id = (char *)info.id,
        .slot = info.slot,
        .addr = info.addr,
        .size = info.size,
        .node = info.node,
        .memdev = (char *)info.memdev,
    };
    machine_description_add_dimm(opaque, &d);
}

void machine_description_add_live_dimms(MachineDescription *desc, const DeviceMemory *dm)
{
    if (!dm)
        return;
    desc->slots = device_memory_slots(dm);
    desc->hotplug_base = device_memory_base(dm);
    desc->hotplug_size = device_memory_size(dm);
    device_memory_foreach_dimm(dm, add_live_dimm, desc);
}

void machine_backend_desc_to_config(const MachineBackendDesc *backend, MemoryBackendConfig *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->kind = backend->kind;
    cfg->id = backend->id;
    cfg->size = backend->size;
    cfg->mem_path = backend->mem_path;
    cfg->share = backend->share && backend->kind != MEMORY_BACKEND_MEMFD;
    cfg->prealloc = backend->prealloc;
    /* A file backend's huge pages come from its hugetlbfs mem-path; a
     * memfd's from its own flag, which the page size implies. */
    if (backend->kind == MEMORY_BACKEND_MEMFD && backend->page_size > (uint64_t)getpagesize()) {
        cfg->hugetlb = true;
        cfg->hugetlbsize = backend->page_size;
    }
}

/* ---- Building ---- */

/* One attempt into a buffer of `size` bytes; a libfdt error code on
 * failure (-FDT_ERR_NOSPACE asks for a bigger buffer). */
static int machine_fdt_build_into(const MachineDescription *desc, void *fdt, int size)
{
    int err = 0;

#define FDT_TRY(call)       \
    do {                    \
        if ((err = (call))) \
            return err;     \
    } while (0)

    FDT_TRY(fdt_create(fdt, size));
    FDT_TRY(fdt_finish_reservemap(fdt));
    FDT_TRY(fdt_begin_node(fdt, ""));
    FDT_TRY(fdt_property_string(fdt, "compatible", MACHINE_FDT_COMPATIBLE));
    FDT_TRY(fdt_property_u32(fdt, "format-version", MACHINE_FDT_FORMAT_VERSION));

    FDT_TRY(fdt_begin_node(fdt, "cpus"));
    FDT_TRY(fdt_property_u32(fdt, "count", desc->cpus));
    FDT_TRY(fdt_end_node(fdt));

    FDT_TRY(fdt_begin_node(fdt, "memory"));
    FDT_TRY(fdt_property_u64(fdt, "ram-size", desc->ram_size));
    FDT_TRY(fdt_property_u64(fdt, "ram-below-4g", desc->ram_below_4g));
    FDT_TRY(fdt_property_u64(fdt, "ram-above-4g", desc->ram_above_4g));
    FDT_TRY(fdt_property_u64(fdt, "maxmem", desc->maxmem));
    FDT_TRY(fdt_property_u32(fdt, "slots", desc->slots));
    FDT_TRY(fdt_property_u64(fdt, "hotplug-base", desc->hotplug_base));
    FDT_TRY(fdt_property_u64(fdt, "hotplug-size", desc->hotplug_size));
    FDT_TRY(fdt_end_node(fdt));

    FDT_TRY(fdt_begin_node(fdt, "backends"));
    for (unsigned i = 0; i < desc->backends->len; i++) {
        const MachineBackendDesc *b = g_ptr_array_index(desc->backends, i);
        g_autofree char *node = g_strdup_printf("backend@%s", b->id);
        FDT_TRY(fdt_begin_node(fdt, node));
        FDT_TRY(fdt_property_string(fdt, "id", b->id));
        FDT_TRY(fdt_property_string(fdt, "kind", memory_backend_kind_name(b->kind)));
        FDT_TRY(fdt_property_u64(fdt, "size", b->size));
        FDT_TRY(fdt_property_u64(fdt, "page-size", b->page_size));
        if (b->share)
            FDT_TRY(fdt_property(fdt, "share", NULL, 0));
        if (b->prealloc)
            FDT_TRY(fdt_property(fdt, "prealloc", NULL, 0));
        if (b->mem_path)
            FDT_TRY(fdt_property_string(fdt, "mem-path", b->mem_path));
        FDT_TRY(fdt_end_node(fdt));
    }
    FDT_TRY(fdt_end_node(fdt));

    FDT_TRY(fdt_begin_node(fdt, "hotplug"));
    for (unsigned i = 0; i < desc->dimms->len; i++) {
        const MachineDimmDesc *d = g_ptr_array_index(desc->dimms, i);
        g_autofree char *node = g_strdup_printf("dimm@%x", d->slot);
        FDT_TRY(fdt_begin_node(fdt, node));
        FDT_TRY(fdt_property_string(fdt, "id", d->id));
        FDT_TRY(fdt_property_u32(fdt, "slot", d->slot));
        FDT_TRY(fdt_property_u64(fdt, "addr", d->addr));
        FDT_TRY(fdt_property_u64(fdt, "size", d->size));
        FDT_TRY(fdt_property_u32(fdt, "node", d->node));
        FDT_TRY(fdt_property_string(fdt, "memdev", d->memdev));
        FDT_TRY(fdt_end_node(fdt));
    }
    FDT_TRY(fdt_end_node(fdt));

    FDT_TRY(fdt_end_node(fdt)); /* / */
    FDT_TRY(fdt_finish(fdt));
#undef FDT_TRY
    return 0;
}

GBytes *machine_fdt_build(const MachineDescription *desc, GError **errp)
{
    /* Ids become node names: only characters a node name may hold. */
    for (unsigned i = 0; i < desc->backends->len; i++) {
        const MachineBackendDesc *b = g_ptr_array_index(desc->backends, i);
        if (!object_id_is_wellformed(b->id) || !memory_backend_kind_name(b->kind)) {
            g_set_error(errp, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_INVALID,
                        "machine config: backend '%s' has an invalid id or kind",
                        b->id ? b->id : "");
            return NULL;
        }
    }
    for (unsigned i = 0; i < desc->dimms->len; i++) {
        const MachineDimmDesc *d = g_ptr_array_index(desc->dimms, i);
        if (!d->id || !d->memdev) {
            g_set_error(errp, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_INVALID,
                        "machine config: the DIMM in slot %u lacks an id or memdev", d->slot);
            return NULL;
        }
    }

    for (unsigned size = MACHINE_FDT_INITIAL_SIZE; size <= MACHINE_FDT_MAX_SIZE; size *= 2) {
        g_autofree void *fdt = g_malloc0(size);
        int err = machine_fdt_build_into(desc, fdt, (int)size);
        if (err == -FDT_ERR_NOSPACE)
            continue;
        if (err) {
            g_set_error(errp, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_INVALID,
                        "machine config: cannot build the device tree: %s", fdt_strerror(err));
            return NULL;
        }
        return g_bytes_new(fdt, fdt_totalsize(fdt));
    }
    g_set_error(errp, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_INVALID,
                "machine config: the device tree would exceed %u bytes", MACHINE_FDT_MAX_SIZE);
    return NULL;
}

bool machine_fdt_write_file(const MachineDescription *desc, const char *path, GError **errp)
{
    g_autoptr(GBytes) dtb = machine_fdt_build(desc, errp);
    gsize len;

    if (!dtb)
        return false;
    const char *data = g_bytes_get_data(dtb, &len);
    return g_file_set_contents(path, data, (gssize)len, errp);
}

/* ---- Parsing ---- */

/* Property readers: each checks presence and exact length, and names the
 * node and property in its error. */
typedef struct FdtCursor {
    const void *fdt;
    int node;
    const char *path; /* for messages: "/memory", "/hotplug/dimm@1" */
} FdtCursor;

static const void *fdt_prop_sized(const FdtCursor *c, const char *prop, int want, GError **errp)
{
    int len = 0;
    const void *value = fdt_getprop(c->fdt, c->node, prop, &len);

    if (!value) {
        g_set_error(errp, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_INVALID,
                    "machine config: %s lacks the property '%s'", c->path, prop);
        return NULL;
    }
    if (want >= 0 && len != want) {
        g_set_error(errp, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_INVALID,
                    "machine config: %s/%s has %d bytes, not %d", c->path, prop, len, want);
        return NULL;
    }
    return value;
}

static bool fdt_read_u32(const FdtCursor *c, const char *prop, uint32_t *out, GError **errp)
{
    const void *value = fdt_prop_sized(c, prop, sizeof(fdt32_t), errp);

    if (value)
        *out = fdt32_ld(value);
    return value != NULL;
}

static bool fdt_read_u64(const FdtCursor *c, const char *prop, uint64_t *out, GError **errp)
{
    const void *value = fdt_prop_sized(c, prop, sizeof(fdt64_t), errp);

    if (value)
        *out = fdt64_ld(value);
    return value != NULL;
}

/* A string property: NUL-terminated inside its length, no NUL before. */
static const char *fdt_read_string(const FdtCursor *c, const char *prop, GError **errp)
{
    int len = 0;
    const char *value = fdt_getprop(c->fdt, c->node, prop, &len);

    if (!value) {
        g_set_error(errp, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_INVALID,
                    "machine config: %s lacks the property '%s'", c->path, prop);
        return NULL;
    }
    if (len < 1 || value[len - 1] != '\0' || strlen(value) != (size_t)len - 1) {
        g_set_error(errp, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_INVALID,
                    "machine config: %s/%s is not one NUL-terminated string", c->path, prop);
        return NULL;
    }
    return value;
}

static bool fdt_read_flag(const FdtCursor *c, const char *prop, bool *out, GError **errp)
{
    int len = 0;

    *out = fdt_getprop(c->fdt, c->node, prop, &len) != NULL;
    if (*out && len != 0) {
        g_set_error(errp, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_INVALID,
                    "machine config: %s/%s is a flag and must be empty, not %d bytes", c->path,
                    prop, len);
        return false;
    }
    return true;
}

static bool fdt_enter(FdtCursor *c, const void *fdt, int parent, const char *name, GError **errp)
{
    c->fdt = fdt;
    c->path = name;
    c->node = fdt_subnode_offset(fdt, parent, name + 1); /* skip the '/' */
    if (c->node < 0) {
        g_set_error(errp, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_INVALID,
                    "machine config: no %s node", name);
        return false;
    }
    return true;
}

static bool parse_backend(const FdtCursor *c, MachineDescription *desc, GError **errp)
{
    MachineBackendDesc b = { 0 };
    const char *kind;

    if (!(b.id = (char *)fdt_read_string(c, "id", errp)) ||
        !(kind = fdt_read_string(c, "kind", errp)) || !fdt_read_u64(c, "size", &b.size, errp) ||
        !fdt_read_u64(c, "page-size", &b.page_size, errp) ||
        !fdt_read_flag(c, "share", &b.share, errp) ||
        !fdt_read_flag(c, "prealloc", &b.prealloc, errp))
        return false;
    if (fdt_getprop(c->fdt, c->node, "mem-path", NULL) &&
        !(b.mem_path = (char *)fdt_read_string(c, "mem-path", errp)))
        return false;
    if (!memory_backend_kind_from_name(kind, &b.kind)) {
        g_set_error(errp, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_INVALID,
                    "machine config: %s has the unknown kind '%s'", c->path, kind);
        return false;
    }
    machine_description_add_backend(desc, &b);
    return true;
}

static bool parse_dimm(const FdtCursor *c, MachineDescription *desc, GError **errp)
{
    MachineDimmDesc d = { 0 };
    uint32_t slot;

    if (!(d.id = (char *)fdt_read_string(c, "id", errp)) ||
        !fdt_read_u32(c, "slot", &slot, errp) || !fdt_read_u64(c, "addr", &d.addr, errp) ||
        !fdt_read_u64(c, "size", &d.size, errp) || !fdt_read_u32(c, "node", &d.node, errp) ||
        !(d.memdev = (char *)fdt_read_string(c, "memdev", errp)))
        return false;
    d.slot = slot;
    machine_description_add_dimm(desc, &d);
    return true;
}

/* Walk the children of `parent` (a /backends or /hotplug node), at most
 * `max` of them. */
static bool parse_children(const void *fdt, int parent, const char *parent_path, unsigned max,
                           bool (*parse_one)(const FdtCursor *, MachineDescription *, GError **),
                           MachineDescription *desc, GError **errp)
{
    unsigned count = 0;
    int child;

    fdt_for_each_subnode(child, fdt, parent) {
        if (++count > max) {
            g_set_error(errp, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_INVALID,
                        "machine config: %s has more than %u entries", parent_path, max);
            return false;
        }
        const char *name = fdt_get_name(fdt, child, NULL);
        g_autofree char *path = g_strdup_printf("%s/%s", parent_path, name ? name : "?");
        FdtCursor c = { .fdt = fdt, .node = child, .path = path };
        if (!parse_one(&c, desc, errp))
            return false;
    }
    if (child != -FDT_ERR_NOTFOUND) {
        g_set_error(errp, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_INVALID,
                    "machine config: cannot walk %s: %s", parent_path, fdt_strerror(child));
        return false;
    }
    return true;
}

static const MachineBackendDesc *find_backend(const MachineDescription *desc, const char *id)
{
    for (unsigned i = 0; i < desc->backends->len; i++) {
        const MachineBackendDesc *b = g_ptr_array_index(desc->backends, i);
        if (strcmp(b->id, id) == 0)
            return b;
    }
    return NULL;
}

#define CHECK(cond, ...)                                                                      \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            g_set_error(errp, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_INVALID,         \
                        "machine config: " __VA_ARGS__);                                      \
            return false;                                                                     \
        }                                                                                     \
    } while (0)

/* The values, now that every property had its size. */
static bool machine_description_check(const MachineDescription *desc, GError **errp)
{
    CHECK(desc->cpus >= 1 && desc->cpus <= MACHINE_MAX_CPUS, "%u vCPUs is not in 1..%u",
          desc->cpus, MACHINE_MAX_CPUS);
    CHECK(desc->ram_size > 0, "ram-size is 0");
    CHECK(desc->ram_below_4g <= desc->ram_size &&
              desc->ram_size - desc->ram_below_4g == desc->ram_above_4g,
          "ram-below-4g 0x%" PRIx64 " + ram-above-4g 0x%" PRIx64 " != ram-size 0x%" PRIx64,
          desc->ram_below_4g, desc->ram_above_4g, desc->ram_size);
    CHECK(desc->maxmem >= desc->ram_size, "maxmem 0x%" PRIx64 " is below ram-size 0x%" PRIx64,
          desc->maxmem, desc->ram_size);
    CHECK(desc->slots <= DEVICE_MEMORY_MAX_SLOTS, "%u slots is more than %u", desc->slots,
          DEVICE_MEMORY_MAX_SLOTS);
    CHECK((desc->slots == 0) == (desc->hotplug_size == 0),
          "slots %u and hotplug-size 0x%" PRIx64 " disagree", desc->slots, desc->hotplug_size);
    CHECK(desc->hotplug_base <= UINT64_MAX - desc->hotplug_size,
          "the hotplug window 0x%" PRIx64 "+0x%" PRIx64 " passes the end of the address space",
          desc->hotplug_base, desc->hotplug_size);

    for (unsigned i = 0; i < desc->backends->len; i++) {
        const MachineBackendDesc *b = g_ptr_array_index(desc->backends, i);
        CHECK(object_id_is_wellformed(b->id), "backend id '%s' is ill-formed", b->id);
        CHECK(find_backend(desc, b->id) == b, "backend '%s' is listed twice", b->id);
        CHECK(b->size > 0, "backend '%s' has size 0", b->id);
        CHECK(b->page_size >= 4096 && !(b->page_size & (b->page_size - 1)) &&
                  b->size % b->page_size == 0,
              "backend '%s': size 0x%" PRIx64 " and page-size 0x%" PRIx64 " do not fit", b->id,
              b->size, b->page_size);
        CHECK((b->kind == MEMORY_BACKEND_FILE) == (b->mem_path != NULL && *b->mem_path),
              "backend '%s': a mem-path goes with memory-backend-file, and only there", b->id);
    }
    for (unsigned i = 0; i < desc->dimms->len; i++) {
        const MachineDimmDesc *d = g_ptr_array_index(desc->dimms, i);
        CHECK(object_id_is_wellformed(d->id), "DIMM id '%s' is ill-formed", d->id);
        CHECK(d->slot < desc->slots, "DIMM '%s': slot %u is out of range (slots=%u)", d->id,
              d->slot, desc->slots);
        CHECK(d->size > 0 && d->addr >= desc->hotplug_base &&
                  d->size <= desc->hotplug_size &&
                  d->addr - desc->hotplug_base <= desc->hotplug_size - d->size,
              "DIMM '%s': 0x%" PRIx64 "+0x%" PRIx64 " is outside the hotplug window 0x%" PRIx64
              "+0x%" PRIx64,
              d->id, d->addr, d->size, desc->hotplug_base, desc->hotplug_size);
        const MachineBackendDesc *b = find_backend(desc, d->memdev);
        CHECK(b, "DIMM '%s': memdev '%s' is not among the backends", d->id, d->memdev);
        CHECK(b->size == d->size, "DIMM '%s': size 0x%" PRIx64 " != its backend's 0x%" PRIx64,
              d->id, d->size, b->size);
        for (unsigned j = 0; j < i; j++) {
            const MachineDimmDesc *o = g_ptr_array_index(desc->dimms, j);
            CHECK(strcmp(o->id, d->id) != 0, "DIMM '%s' is listed twice", d->id);
            CHECK(o->slot != d->slot, "DIMMs '%s' and '%s' share slot %u", o->id, d->id,
                  d->slot);
            CHECK(strcmp(o->memdev, d->memdev) != 0, "DIMMs '%s' and '%s' share memdev '%s'",
                  o->id, d->id, d->memdev);
            CHECK(d->addr >= o->addr + o->size || o->addr >= d->addr + d->size,
                  "DIMMs '%s' and '%s' overlap", o->id, d->id);
        }
    }
    return true;
}
#undef CHECK

MachineDescription *machine_fdt_parse(const void *blob, size_t len, GError **errp)
{
    /* libfdt wants the blob 8-byte aligned and its header in the buffer
     * before it reads totalsize; fdt_check_full() then checks the rest. */
    if (len < sizeof(struct fdt_header) || len > MACHINE_FDT_MAX_SIZE) {
        g_set_error(errp, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_INVALID,
                    "machine config: a device tree of %zu bytes is not in %zu..%u", len,
                    sizeof(struct fdt_header), MACHINE_FDT_MAX_SIZE);
        return NULL;
    }
    g_autofree void *fdt = g_memdup2(blob, len);
    int err = fdt_check_full(fdt, len);
    if (err) {
        g_set_error(errp, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_INVALID,
                    "machine config: not a valid device tree: %s", fdt_strerror(err));
        return NULL;
    }
    if (fdt_totalsize(fdt) != len) {
        g_set_error(errp, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_INVALID,
                    "machine config: the device tree says %u bytes, the record holds %zu",
                    fdt_totalsize(fdt), len);
        return NULL;
    }

    g_autoptr(MachineDescription) desc = machine_description_new();
    FdtCursor root = { .fdt = fdt, .node = 0, .path = "/" };
    const char *compatible = fdt_read_string(&root, "compatible", errp);
    uint32_t format_version;
    if (!compatible || !fdt_read_u32(&root, "format-version", &format_version, errp))
        return NULL;
    if (strcmp(compatible, MACHINE_FDT_COMPATIBLE) != 0 ||
        format_version != MACHINE_FDT_FORMAT_VERSION) {
        g_set_error(errp, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_INVALID,
                    "machine config: '%s' version %u, expected '%s' version %u", compatible,
                    format_version, MACHINE_FDT_COMPATIBLE, MACHINE_FDT_FORMAT_VERSION);
        return NULL;
    }

    FdtCursor c;
    if (!fdt_enter(&c, fdt, 0, "/cpus", errp) || !fdt_read_u32(&c, "count", &desc->cpus, errp))
        return NULL;
    if (!fdt_enter(&c, fdt, 0, "/memory", errp) ||
        !fdt_read_u64(&c, "ram-size", &desc->ram_size, errp) ||
        !fdt_read_u64(&c, "ram-below-4g", &desc->ram_below_4g, errp) ||
        !fdt_read_u64(&c, "ram-above-4g", &desc->ram_above_4g, errp) ||
        !fdt_read_u64(&c, "maxmem", &desc->maxmem, errp) ||
        !fdt_read_u32(&c, "slots", &desc->slots, errp) ||
        !fdt_read_u64(&c, "hotplug-base", &desc->hotplug_base, errp) ||
        !fdt_read_u64(&c, "hotplug-size", &desc->hotplug_size, errp))
        return NULL;
    if (!fdt_enter(&c, fdt, 0, "/backends", errp) ||
        !parse_children(fdt, c.node, "/backends", MACHINE_MAX_BACKENDS, parse_backend, desc, errp))
        return NULL;
    if (!fdt_enter(&c, fdt, 0, "/hotplug", errp) ||
        !parse_children(fdt, c.node, "/hotplug", DEVICE_MEMORY_MAX_SLOTS, parse_dimm, desc, errp))
        return NULL;
    if (!machine_description_check(desc, errp))
        return NULL;
    return g_steal_pointer(&desc);
}
