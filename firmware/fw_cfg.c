/* fw_cfg: QEMU's firmware configuration device (see fw_cfg.h).
 *
 * Port layout, as on QEMU's PC (so `info mtree` and the guest's ACPI
 * _CRS agree):
 *
 *   0x510-0x511  "fwcfg"      16-bit write at 0x510 = selector; 8-bit read at
 *                             0x510 or 0x511 = next data byte; 8-bit writes
 *                             (the old write channel) are ignored.
 *   0x514-0x51b  "fwcfg.dma"  reads give "QEMU CFG" in string order; a 32-bit
 *                             write at 0x514 sets the descriptor address' high
 *                             half, at 0x518 the low half and runs the request
 *                             (a 64-bit write at 0x514 does both).  The value
 *                             is big-endian: guests write bswap32(addr).
 *
 * 0x512-0x513 stay unclaimed.  Accesses of other sizes read 0 and change
 * nothing.
 *
 * Keys: bit 15 picks the arch-local space, bit 14 (the old write channel) is
 * ignored, bits 13:0 index the space.  Indexes 0x00-0x1f are fixed items,
 * 0x20-0x3f are files.  Any other key selects nothing: it reads as zeros.
 *
 * File keys: the directory is sorted by name and a file's key is
 * 0x20 + its position there, as on QEMU.  Adding a file can therefore move
 * the keys of files after it, so files may only be added before the guest
 * first touches the device; from then on every key is fixed (a migration
 * target that adds the same files gets the same keys, whatever the order).
 * Code that needs a key asks fw_cfg_file_key() instead of remembering one.
 *
 * DMA (descriptor: be32 control, be32 length, be64 address): the guest's
 * descriptor and buffer must each lie entirely inside one RAM range, checked
 * through address_space_ram_ptr() before a byte moves, so a failed request
 * writes nothing but the error bit (and nothing at all when the descriptor
 * itself is not in writable RAM).  That is stricter than QEMU, which copies
 * the part of a buffer that is RAM before failing; no firmware relies on the
 * difference.
 *
 * Locking: one device lock, taken by the memory core around every port
 * callback.  Select and write callbacks run with it held; the thread running
 * them is remembered so that fw_cfg_update_file() called from inside (the
 * ACPI rebuild) does not take the lock again.
 */
#include "firmware/fw_cfg.h"
#include "mem/le_bytes.h"

#include <string.h>

#define FW_CFG_DMA_IO_BASE (FW_CFG_IO_BASE + 4)
#define FW_CFG_CTL_SIZE 2
#define FW_CFG_DMA_SIZE 8

#define FW_CFG_KEY_WRITE_CHANNEL 0x4000
#define FW_CFG_KEY_INDEX_MASK 0x3fff
#define FW_CFG_MAX_INDEX (FW_CFG_FILE_FIRST + FW_CFG_FILE_SLOTS)

#define FW_CFG_ID_TRADITIONAL (1u << 0)
#define FW_CFG_ID_DMA (1u << 1)

#define FW_CFG_DMA_CTL_ERROR 0x01u
#define FW_CFG_DMA_CTL_READ 0x02u
#define FW_CFG_DMA_CTL_SKIP 0x04u
#define FW_CFG_DMA_CTL_SELECT 0x08u
#define FW_CFG_DMA_CTL_WRITE 0x10u

#define FW_CFG_DMA_DESC_SIZE 16
#define FW_CFG_DIR_ENTRY_SIZE 64

/* An offset that is past the end of every item: item lengths are below
 * 2^32, so SKIP saturates here instead of wrapping back into the data. */
#define FW_CFG_OFFSET_END ((uint64_t)UINT32_MAX + 1)

static const char fw_cfg_dma_signature[FW_CFG_DMA_SIZE] = { 'Q', 'E', 'M', 'U', ' ', 'C', 'F', 'G' };

typedef struct FwCfgItem {
    uint8_t *data;
    uint32_t len;
    bool owned; /* data is the device's copy, freed with it */
    bool writable; /* DMA WRITE allowed */
    FwCfgSelectFn select;
    FwCfgWriteFn write;
    void *opaque;
} FwCfgItem;

typedef struct FwCfgFile {
    char name[FW_CFG_MAX_FILE_NAME];
    FwCfgItem item;
} FwCfgFile;

struct FwCfg {
    GMutex lock;
    MemoryRegion *ctl_mr;
    MemoryRegion *dma_mr;
    AddressSpace *dma;

    FwCfgItem fixed[2][FW_CFG_FILE_FIRST]; /* [arch-local][index] */
    GPtrArray *files; /* FwCfgFile *, sorted by name: index = key - 0x20 */
    uint8_t *dir; /* the FILE_DIR item's bytes, rebuilt on every change */

    bool selected; /* false: the current key selects nothing */
    uint16_t cur_key; /* without the write-channel bit */
    uint64_t cur_offset;
    uint64_t dma_addr;
    bool guest_started; /* the guest touched a port: file keys are fixed now */

    /* The thread inside a select/write callback (with the lock held), read
     * by other threads only to see that it is not them. */
    GThread *callback_thread;
};

static void store_be32(uint8_t *p, uint32_t v)
{
    v = GUINT32_TO_BE(v);
    memcpy(p, &v, 4);
}

static void store_be16(uint8_t *p, uint16_t v)
{
    v = GUINT16_TO_BE(v);
    memcpy(p, &v, 2);
}

static uint32_t load_be32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return GUINT32_FROM_BE(v);
}

static uint64_t load_be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return GUINT64_FROM_BE(v);
}

/* Mutators called from a select/write callback already hold the lock. */
static bool fw_cfg_lock(FwCfg *fw)
{
    if (g_atomic_pointer_get(&fw->callback_thread) == (gpointer)g_thread_self())
        return false;
    g_mutex_lock(&fw->lock);
    return true;
}

static void fw_cfg_unlock(FwCfg *fw, bool taken)
{
    if (taken)
        g_mutex_unlock(&fw->lock);
}

static void fw_cfg_item_clear(FwCfgItem *item)
{
    if (item->owned)
        g_free(item->data);
    memset(item, 0, sizeof(*item));
}

/* The item a key names, or NULL when nothing is there. */
static FwCfgItem *fw_cfg_item(FwCfg *fw, uint16_t key)
{
    unsigned index = key & FW_CFG_KEY_INDEX_MASK;
    bool arch = key & FW_CFG_ARCH_LOCAL;

    if (index < FW_CFG_FILE_FIRST)
        return &fw->fixed[arch][index];
    if (!arch && index - FW_CFG_FILE_FIRST < fw->files->len) {
        FwCfgFile *file = g_ptr_array_index(fw->files, index - FW_CFG_FILE_FIRST);
        return &file->item;
    }
    return NULL;
}

static FwCfgItem *fw_cfg_current_item(FwCfg *fw)
{
    return fw->selected ? fw_cfg_item(fw, fw->cur_key) : NULL;
}

static void fw_cfg_run_select_callback(FwCfg *fw, FwCfgItem *item)
{
    g_atomic_pointer_set(&fw->callback_thread, g_thread_self());
    item->select(item->opaque);
    g_atomic_pointer_set(&fw->callback_thread, NULL);
}

static void fw_cfg_select(FwCfg *fw, uint16_t key)
{
    key = (uint16_t)(key & ~FW_CFG_KEY_WRITE_CHANNEL);
    fw->cur_key = key;
    fw->cur_offset = 0;
    fw->selected = (key & FW_CFG_KEY_INDEX_MASK) < FW_CFG_MAX_INDEX;
    if (!fw->selected)
        return;
    FwCfgItem *item = fw_cfg_item(fw, key);
    if (item && item->select)
        fw_cfg_run_select_callback(fw, item);
}

/* ---- migration hook --------------------------------------------------- */

/* DMA stores into guest RAM are host writes KVM's dirty log cannot see:
 * migration must still resend those pages. */
static void fw_cfg_dma_mark_dirty(FwCfg *fw, uint64_t addr, uint64_t len)
{
    address_space_mark_dirty(fw->dma, addr, len);
}

/* ---- DMA -------------------------------------------------------------- */

static bool fw_cfg_dma_read_item(FwCfg *fw, FwCfgItem *item, uint32_t length, uint64_t address)
{
    uint8_t *dst = address_space_ram_ptr(fw->dma, address, length, false);
    if (!dst)
        return false;

    uint64_t avail = item && fw->cur_offset < item->len ? item->len - fw->cur_offset : 0;
    uint64_t n = MIN(avail, (uint64_t)length);
    if (n)
        memcpy(dst, item->data + fw->cur_offset, n);
    /* Past the end (or nothing selected) the guest gets zeros, no error. */
    memset(dst + n, 0, length - n);
    fw->cur_offset += n;
    fw_cfg_dma_mark_dirty(fw, address, length);
    return true;
}

static bool fw_cfg_dma_write_item(FwCfg *fw, FwCfgItem *item, uint32_t length, uint64_t address)
{
    /* All or nothing: a write that does not fit entirely is refused. */
    if (!item || !item->writable || fw->cur_offset > item->len ||
        item->len - fw->cur_offset < length)
        return false;
    const uint8_t *src = address_space_ram_ptr(fw->dma, address, length, true);
    if (!src)
        return false;

    uint32_t offset = (uint32_t)fw->cur_offset;
    memcpy(item->data + offset, src, length);
    fw->cur_offset += length;
    if (item->write) {
        g_atomic_pointer_set(&fw->callback_thread, g_thread_self());
        item->write(item->opaque, offset, length);
        g_atomic_pointer_set(&fw->callback_thread, NULL);
    }
    return true;
}

/* One request; false sets the error bit. */
static bool fw_cfg_dma_run(FwCfg *fw, uint32_t control, uint32_t length, uint64_t address)
{
    if (control & FW_CFG_DMA_CTL_SELECT)
        fw_cfg_select(fw, (uint16_t)(control >> 16));
    /* After the select callback, which may have rebuilt the item. */
    FwCfgItem *item = fw_cfg_current_item(fw);

    if (length == 0)
        return true;
    if (control & FW_CFG_DMA_CTL_READ)
        return fw_cfg_dma_read_item(fw, item, length, address);
    if (control & FW_CFG_DMA_CTL_WRITE)
        return fw_cfg_dma_write_item(fw, item, length, address);
    if (control & FW_CFG_DMA_CTL_SKIP)
        fw->cur_offset = MIN(fw->cur_offset + length, FW_CFG_OFFSET_END);
    return true;
}

static void fw_cfg_dma_transfer(FwCfg *fw)
{
    uint64_t desc_addr = fw->dma_addr;
    uint8_t desc[FW_CFG_DMA_DESC_SIZE];

    /* Cleared for the next request, as on QEMU: a guest that writes only
     * the low half (0x518) gets a 32-bit address. */
    fw->dma_addr = 0;

    /* Writable, because the result goes back into it.  Copied once: the
     * guest may change it under us from another vCPU. */
    const uint8_t *guest_desc = address_space_ram_ptr(fw->dma, desc_addr, sizeof(desc), false);
    if (!guest_desc)
        return; /* nowhere to report an error: the request is dropped */
    memcpy(desc, guest_desc, sizeof(desc));

    bool ok = fw_cfg_dma_run(fw, load_be32(desc), load_be32(desc + 4), load_be64(desc + 8));

    /* Look again: a callback ran in between. */
    uint8_t *control = address_space_ram_ptr(fw->dma, desc_addr, 4, false);
    if (control) {
        store_be32(control, ok ? 0 : FW_CFG_DMA_CTL_ERROR);
        fw_cfg_dma_mark_dirty(fw, desc_addr, 4);
    }
}

/* ---- port callbacks (device lock held) -------------------------------- */

static uint64_t fw_cfg_ctl_read(void *opaque, uint64_t offset, unsigned size)
{
    FwCfg *fw = opaque;

    fw->guest_started = true;
    if (size != 1)
        return 0;
    FwCfgItem *item = fw_cfg_current_item(fw);
    if (!item || fw->cur_offset >= item->len)
        return 0;
    return item->data[fw->cur_offset++];
}

static void fw_cfg_ctl_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    FwCfg *fw = opaque;

    fw->guest_started = true;
    /* 8-bit writes are the legacy write channel: ignored since QEMU 2.4. */
    if (size == 2 && offset == 0)
        fw_cfg_select(fw, (uint16_t)value);
}

static uint64_t fw_cfg_dma_reg_read(void *opaque, uint64_t offset, unsigned size)
{
    FwCfg *fw = opaque;
    uint64_t value = 0;

    fw->guest_started = true;
    /* Bytes in string order; the memory core assembles them little-endian. */
    for (unsigned i = 0; i < size && offset + i < FW_CFG_DMA_SIZE; i++)
        value |= (uint64_t)(uint8_t)fw_cfg_dma_signature[offset + i] << (8 * i);
    return value;
}

static void fw_cfg_dma_reg_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    FwCfg *fw = opaque;

    fw->guest_started = true;
    /* The value holds the guest's bytes little-endian; the register is
     * big-endian, hence the swaps. */
    if (size == 4 && offset == 0) {
        fw->dma_addr = (uint64_t)GUINT32_SWAP_LE_BE((uint32_t)value) << 32;
    } else if (size == 4 && offset == 4) {
        fw->dma_addr |= GUINT32_SWAP_LE_BE((uint32_t)value);
        fw_cfg_dma_transfer(fw);
    } else if (size == 8 && offset == 0) {
        fw->dma_addr = GUINT64_SWAP_LE_BE(value);
        fw_cfg_dma_transfer(fw);
    }
}

static const MemoryRegionOps fw_cfg_ctl_ops = {
    .read = fw_cfg_ctl_read,
    .write = fw_cfg_ctl_write,
};

static const MemoryRegionOps fw_cfg_dma_ops = {
    .read = fw_cfg_dma_reg_read,
    .write = fw_cfg_dma_reg_write,
};

/* ---- directory -------------------------------------------------------- */

static void fw_cfg_rebuild_dir(FwCfg *fw)
{
    size_t len = 4 + (size_t)fw->files->len * FW_CFG_DIR_ENTRY_SIZE;
    uint8_t *dir = g_malloc0(len);

    store_be32(dir, fw->files->len);
    for (unsigned i = 0; i < fw->files->len; i++) {
        const FwCfgFile *file = g_ptr_array_index(fw->files, i);
        uint8_t *entry = dir + 4 + (size_t)i * FW_CFG_DIR_ENTRY_SIZE;
        store_be32(entry, file->item.len);
        store_be16(entry + 4, (uint16_t)(FW_CFG_FILE_FIRST + i));
        memcpy(entry + 8, file->name, FW_CFG_MAX_FILE_NAME);
    }
    g_free(fw->dir);
    fw->dir = dir;
    fw->fixed[0][FW_CFG_FILE_DIR].data = dir;
    fw->fixed[0][FW_CFG_FILE_DIR].len = (uint32_t)len;
}

/* Index in the sorted list, or where the name would go (as ~index). */
static int fw_cfg_find_file(FwCfg *fw, const char *name)
{
    unsigned lo = 0, hi = fw->files->len;

    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        const FwCfgFile *file = g_ptr_array_index(fw->files, mid);
        int cmp = strcmp(name, file->name);
        if (cmp == 0)
            return (int)mid;
        if (cmp < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return ~(int)lo;
}

/* ---- public API ------------------------------------------------------- */

FwCfg *fw_cfg_new(MemoryRegion *io, AddressSpace *dma)
{
    static const char signature[4] = { 'Q', 'E', 'M', 'U' };
    FwCfg *fw = g_new0(FwCfg, 1);

    g_mutex_init(&fw->lock);
    fw->dma = dma;
    fw->files = g_ptr_array_new();
    fw_cfg_add_bytes(fw, FW_CFG_SIGNATURE, signature, sizeof(signature));
    fw_cfg_add_i32(fw, FW_CFG_ID, FW_CFG_ID_TRADITIONAL | FW_CFG_ID_DMA);
    fw_cfg_rebuild_dir(fw);
    fw_cfg_select(fw, FW_CFG_SIGNATURE); /* power-on state, as after a reset */

    fw->ctl_mr = memory_region_add_io(io, FW_CFG_IO_BASE, "fwcfg", FW_CFG_CTL_SIZE,
                                      &fw_cfg_ctl_ops, fw, &fw->lock);
    fw->dma_mr = memory_region_add_io(io, FW_CFG_DMA_IO_BASE, "fwcfg.dma", FW_CFG_DMA_SIZE,
                                      &fw_cfg_dma_ops, fw, &fw->lock);
    return fw;
}

void fw_cfg_free(FwCfg *fw)
{
    if (!fw)
        return;
    memory_region_free(fw->ctl_mr);
    memory_region_free(fw->dma_mr);
    for (unsigned arch = 0; arch < 2; arch++) {
        for (unsigned i = 0; i < FW_CFG_FILE_FIRST; i++)
            fw_cfg_item_clear(&fw->fixed[arch][i]);
    }
    for (unsigned i = 0; i < fw->files->len; i++) {
        FwCfgFile *file = g_ptr_array_index(fw->files, i);
        fw_cfg_item_clear(&file->item);
        g_free(file);
    }
    g_ptr_array_free(fw->files, true);
    g_free(fw->dir);
    g_mutex_clear(&fw->lock);
    g_free(fw);
}

void fw_cfg_reset(FwCfg *fw)
{
    bool taken = fw_cfg_lock(fw);
    fw_cfg_select(fw, FW_CFG_SIGNATURE); /* no callback on key 0 */
    fw->dma_addr = 0;
    fw_cfg_unlock(fw, taken);
}

void fw_cfg_add_bytes(FwCfg *fw, uint16_t key, const void *data, size_t len)
{
    unsigned index = key & FW_CFG_KEY_INDEX_MASK;

    /* Files go through fw_cfg_add_file(); the directory is the device's. */
    g_return_if_fail((key & FW_CFG_KEY_WRITE_CHANNEL) == 0);
    g_return_if_fail(index < FW_CFG_FILE_FIRST && key != FW_CFG_FILE_DIR);
    g_return_if_fail(len < UINT32_MAX && (data || len == 0));

    bool taken = fw_cfg_lock(fw);
    FwCfgItem *item = fw_cfg_item(fw, key);
    fw_cfg_item_clear(item); /* adding again replaces */
    item->data = len ? g_memdup2(data, len) : NULL;
    item->len = (uint32_t)len;
    item->owned = true;
    fw_cfg_unlock(fw, taken);
}

void fw_cfg_add_i16(FwCfg *fw, uint16_t key, uint16_t value)
{
    uint16_t le = GUINT16_TO_LE(value);
    fw_cfg_add_bytes(fw, key, &le, sizeof(le));
}

void fw_cfg_add_i32(FwCfg *fw, uint16_t key, uint32_t value)
{
    uint32_t le = GUINT32_TO_LE(value);
    fw_cfg_add_bytes(fw, key, &le, sizeof(le));
}

void fw_cfg_add_i64(FwCfg *fw, uint16_t key, uint64_t value)
{
    uint64_t le = GUINT64_TO_LE(value);
    fw_cfg_add_bytes(fw, key, &le, sizeof(le));
}

static bool fw_cfg_insert_file(FwCfg *fw, const char *name, const FwCfgItem *item, GError **errp)
{
    if (!name || !*name) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "fw_cfg: a file name is empty");
        return false;
    }
    if (strlen(name) >= FW_CFG_MAX_FILE_NAME) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_NAMETOOLONG,
                    "fw_cfg: file name '%s' is %zu bytes long (at most %d)", name, strlen(name),
                    FW_CFG_MAX_FILE_NAME - 1);
        return false;
    }
    if (item->len == UINT32_MAX || (!item->data && item->len)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "fw_cfg: file '%s' has no data or is 4 GiB or larger", name);
        return false;
    }

    bool taken = fw_cfg_lock(fw);
    bool ok = false;
    int pos = fw_cfg_find_file(fw, name);
    if (fw->guest_started) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_PERM,
                    "fw_cfg: cannot add file '%s' once the guest has used the device "
                    "(file keys would move); add every file before boot",
                    name);
    } else if (pos >= 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_EXIST, "fw_cfg: file '%s' already exists",
                    name);
    } else if (fw->files->len >= FW_CFG_FILE_SLOTS) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_NOSPC,
                    "fw_cfg: no free slot for file '%s' (all %d are used)", name,
                    FW_CFG_FILE_SLOTS);
    } else {
        FwCfgFile *file = g_new0(FwCfgFile, 1);
        g_strlcpy(file->name, name, sizeof(file->name));
        file->item = *item;
        g_ptr_array_insert(fw->files, ~pos, file);
        fw_cfg_rebuild_dir(fw);
        ok = true;
    }
    fw_cfg_unlock(fw, taken);
    return ok;
}

bool fw_cfg_add_file(FwCfg *fw, const char *name, const void *data, size_t len, GError **errp)
{
    /* Something fw_cfg_insert_file() refuses, with the name, before any
     * copy is made. */
    FwCfgItem item = { .len = UINT32_MAX, .owned = true };

    if (len < UINT32_MAX && (data || len == 0)) {
        item.data = len ? g_memdup2(data, len) : NULL;
        item.len = (uint32_t)len;
    }
    if (!fw_cfg_insert_file(fw, name, &item, errp)) {
        g_free(item.data);
        return false;
    }
    return true;
}

bool fw_cfg_add_file_callback(FwCfg *fw, const char *name, void *data, size_t len,
                              FwCfgSelectFn select, FwCfgWriteFn write, void *opaque,
                              bool read_only, GError **errp)
{
    FwCfgItem item = {
        .data = data,
        .len = len < UINT32_MAX ? (uint32_t)len : UINT32_MAX,
        .writable = !read_only,
        .select = select,
        .write = write,
        .opaque = opaque,
    };

    return fw_cfg_insert_file(fw, name, &item, errp);
}

bool fw_cfg_update_file(FwCfg *fw, const char *name, void *data, size_t len, GError **errp)
{
    if (len >= UINT32_MAX || (!data && len)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "fw_cfg: file '%s' has no data or is 4 GiB or larger", name);
        return false;
    }

    bool taken = fw_cfg_lock(fw);
    int pos = fw_cfg_find_file(fw, name);
    if (pos < 0) {
        fw_cfg_unlock(fw, taken);
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_NOENT, "fw_cfg: no file '%s' to update",
                    name);
        return false;
    }
    FwCfgFile *file = g_ptr_array_index(fw->files, pos);
    /* New bytes belong to the caller; the device's own copy goes. */
    if (file->item.owned && file->item.data != data) {
        g_free(file->item.data);
        file->item.owned = false;
    }
    file->item.data = data;
    file->item.len = (uint32_t)len;
    fw_cfg_rebuild_dir(fw);
    fw_cfg_unlock(fw, taken);
    return true;
}

int fw_cfg_file_key(FwCfg *fw, const char *name)
{
    bool taken = fw_cfg_lock(fw);
    int pos = fw_cfg_find_file(fw, name);
    fw_cfg_unlock(fw, taken);
    return pos >= 0 ? FW_CFG_FILE_FIRST + pos : -1;
}

/* ---- migration (layout in fw_cfg.h) ----------------------------------- */

#define FW_CFG_STATE_LEN 27
#define FW_CFG_STATE_SELECTED 0x01
#define FW_CFG_STATE_GUEST_STARTED 0x02

static uint32_t fw_cfg_names_hash(FwCfg *fw)
{
    uint32_t hash = 2166136261u; /* FNV-1a, 32 bits */

    for (unsigned i = 0; i < fw->files->len; i++) {
        const FwCfgFile *file = g_ptr_array_index(fw->files, i);
        size_t n = strlen(file->name) + 1;
        for (size_t j = 0; j < n; j++) {
            hash ^= (uint8_t)file->name[j];
            hash *= 16777619u;
        }
    }
    return hash;
}

void fw_cfg_state_save(FwCfg *fw, GByteArray *out)
{
    uint8_t buf[FW_CFG_STATE_LEN];
    bool taken = fw_cfg_lock(fw);

    uint16_t key = GUINT16_TO_LE(fw->cur_key);
    memcpy(buf, &key, 2);
    buf[2] = (fw->selected ? FW_CFG_STATE_SELECTED : 0) |
             (fw->guest_started ? FW_CFG_STATE_GUEST_STARTED : 0);
    uint64_t offset = GUINT64_TO_LE(fw->cur_offset), dma = GUINT64_TO_LE(fw->dma_addr);
    memcpy(buf + 3, &offset, 8);
    memcpy(buf + 11, &dma, 8);
    uint32_t files = GUINT32_TO_LE(fw->files->len), hash = GUINT32_TO_LE(fw_cfg_names_hash(fw));
    memcpy(buf + 19, &files, 4);
    memcpy(buf + 23, &hash, 4);
    fw_cfg_unlock(fw, taken);
    g_byte_array_append(out, buf, sizeof(buf));
}

bool fw_cfg_state_load(FwCfg *fw, const uint8_t *data, size_t len, uint32_t version,
                       GError **errp)
{
    if (version != FW_CFG_STATE_VERSION) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "fw_cfg state: version %u is not one this ferry reads (%u)", version,
                    FW_CFG_STATE_VERSION);
        return false;
    }
    if (len != FW_CFG_STATE_LEN) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "fw_cfg state: %zu bytes, expected %d", len, FW_CFG_STATE_LEN);
        return false;
    }
    uint16_t key = (uint16_t)(data[0] | data[1] << 8);
    uint8_t flags = data[2];
    uint64_t offset = le64_load(data + 3), dma = le64_load(data + 11);
    uint32_t files = le32_load(data + 19), hash = le32_load(data + 23);
    bool selected = flags & FW_CFG_STATE_SELECTED;
    const char *bad = NULL;

    if (flags & ~(FW_CFG_STATE_SELECTED | FW_CFG_STATE_GUEST_STARTED))
        bad = "unknown flag bits";
    else if (key & FW_CFG_KEY_WRITE_CHANNEL)
        bad = "a key with the write-channel bit";
    else if (selected != ((key & FW_CFG_KEY_INDEX_MASK) < FW_CFG_MAX_INDEX))
        bad = "a selected flag that disagrees with the key";
    else if (offset > FW_CFG_OFFSET_END)
        bad = "an offset past 2^32";
    else if ((uint32_t)dma != 0)
        bad = "a DMA address with its low half set (it runs at once)";
    if (bad) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "fw_cfg state: %s (key 0x%04x, flags 0x%02x)", bad, key, flags);
        return false;
    }

    bool taken = fw_cfg_lock(fw);
    bool same_files = files == fw->files->len && hash == fw_cfg_names_hash(fw);
    if (same_files) {
        fw->cur_key = key;
        fw->selected = selected;
        fw->cur_offset = offset;
        fw->dma_addr = dma;
        fw->guest_started = flags & FW_CFG_STATE_GUEST_STARTED;
    }
    unsigned have = fw->files->len;
    fw_cfg_unlock(fw, taken);
    if (!same_files) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "fw_cfg state: the source offered %u files (names hash 0x%08x), this "
                    "machine %u with other names: start the destination with the same "
                    "firmware, kernel and ACPI options", files, hash, have);
        return false;
    }
    return true;
}
