/* The KVM memslot listener.  See kvm_memslots.h.
 *
 * The listener keeps two sorted slot tables: `wanted`, kept up to date by
 * region_add/region_del/log_start/log_stop as the transaction goes, and
 * `mapped`, what KVM has.  Commit compares them: identical slots stay, a
 * slot whose only change is the dirty-log flag is updated in place (KVM
 * allows a flags-only change of a slot), the rest are deleted, then the
 * new ones are added, all under the quiesce hook whenever a mapped slot is
 * deleted.
 */
#include "mem/kvm_memslots.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "mem/memory_internal.h"

typedef unsigned __int128 u128;

typedef struct KvmSlot {
    unsigned id; /* mapped slots only */
    uint64_t gpa;
    uint64_t size;
    uint64_t hva;
    uint32_t flags; /* KVM_MEM_READONLY, KVM_MEM_LOG_DIRTY_PAGES */
    char *name; /* the region's name, for the table */
    RamBlock *block; /* the block the slot maps ... */
    uint64_t block_offset; /* ... from this byte on */
} KvmSlot;

/* What a ring entry's slot id stands for: read by vCPU threads, so kept
 * apart from the slot tables, under ring_lock. */
typedef struct SlotTarget {
    RamBlock *block; /* NULL: no slot with this id */
    uint64_t first_page; /* in the block */
    uint64_t npages;
} SlotTarget;

struct KvmDirtyRing {
    struct kvm_dirty_gfn *gfns;
    uint32_t entries; /* a power of two */
    uint32_t fetch; /* free-running index of the next entry to harvest */
};

struct KvmMemslots {
    MemoryListener listener; /* first: callbacks get back to us by a cast */
    int vm_fd;
    unsigned max_slots;
    KvmSetSlotFn set_slot;
    void *opaque;
    KvmMemslotsQuiesce quiesce;
    bool has_quiesce;
    uint64_t page_size;
    GArray *wanted; /* KvmSlot, sorted by gpa, ids unused */
    GArray *mapped; /* KvmSlot, sorted by gpa */
    bool *slot_in_use; /* max_slots entries: the free list of slot ids */
    unsigned unmapped; /* wanted slots left out for lack of slot ids */

    DirtyTracking dirty_mode;
    uint32_t manual_protect; /* KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | ..._INITIALLY_SET */
    KvmDirtyLogOps dirty_ops;
    uint64_t *log_buf; /* dirty-log ioctl scratch (memory lock), log_buf_words long */
    uint64_t log_buf_words;
    bool reap_pending; /* ring mode: a log_sync asked for a harvest at commit */
    GMutex ring_lock; /* guards rings, their fetch indexes and targets */
    GPtrArray *rings; /* KvmDirtyRing * */
    GArray *targets; /* SlotTarget, indexed by slot id */
};

static void kvm_slot_clear(void *data)
{
    KvmSlot *slot = data;
    g_free(slot->name);
}

static int kvm_set_slot_ioctl(void *opaque, const struct kvm_userspace_memory_region *slot)
{
    KvmMemslots *slots = opaque;

    if (ioctl(slots->vm_fd, KVM_SET_USER_MEMORY_REGION, slot) < 0)
        return -errno;
    return 0;
}

/* The page-aligned part of a RAM range, or false if nothing of it can be
 * a slot (not RAM, too small, or host and guest addresses disagree in
 * their offset within a page). */
static bool slot_for_range(const KvmMemslots *slots, const FlatRange *fr, KvmSlot *out)
{
    uint64_t page = slots->page_size;

    if (!flat_range_is_ram(fr))
        return false;
    u128 start = ((u128)fr->addr + page - 1) & ~(u128)(page - 1);
    u128 end = ((u128)fr->addr + fr->size) & ~(u128)(page - 1);
    if (end <= start)
        return false;
    uint64_t hva = (uint64_t)(uintptr_t)flat_range_host(fr) + (uint64_t)(start - fr->addr);
    if (hva % page)
        return false;
    *out = (KvmSlot){
        .gpa = (uint64_t)start,
        .size = (uint64_t)(end - start),
        .hva = hva,
        .flags = fr->readonly ? KVM_MEM_READONLY : 0,
        .name = fr->mr->name,
        .block = fr->mr->ram_block,
        .block_offset = fr->offset_in_region + (uint64_t)(start - fr->addr),
    };
    return true;
}

/* Index of the slot at `gpa` in a table, or -1. */
static int slot_table_find(GArray *table, uint64_t gpa)
{
    for (unsigned i = 0; i < table->len; i++) {
        if (g_array_index(table, KvmSlot, i).gpa == gpa)
            return (int)i;
    }
    return -1;
}

static void slot_table_insert_sorted(GArray *table, const KvmSlot *slot)
{
    unsigned i = 0;

    while (i < table->len && g_array_index(table, KvmSlot, i).gpa < slot->gpa)
        i++;
    g_array_insert_vals(table, i, slot, 1);
}

static KvmMemslots *from_listener(MemoryListener *l)
{
    return (KvmMemslots *)l;
}

static void kvm_region_add(MemoryListener *l, const FlatRange *fr)
{
    KvmMemslots *slots = from_listener(l);
    KvmSlot slot;

    if (!slot_for_range(slots, fr, &slot))
        return;
    slot.name = g_strdup(slot.name);
    slot_table_insert_sorted(slots->wanted, &slot);
}

static void kvm_region_del(MemoryListener *l, const FlatRange *fr)
{
    KvmMemslots *slots = from_listener(l);
    KvmSlot slot;

    if (!slot_for_range(slots, fr, &slot))
        return;
    int i = slot_table_find(slots->wanted, slot.gpa);
    if (i >= 0)
        g_array_remove_index(slots->wanted, (unsigned)i);
}

static void kvm_log_set(MemoryListener *l, const FlatRange *fr, bool on)
{
    KvmMemslots *slots = from_listener(l);
    KvmSlot slot;

    if (!slot_for_range(slots, fr, &slot))
        return;
    int i = slot_table_find(slots->wanted, slot.gpa);
    if (i < 0)
        return;
    KvmSlot *wanted = &g_array_index(slots->wanted, KvmSlot, i);
    if (on) {
        wanted->flags |= KVM_MEM_LOG_DIRTY_PAGES;
        /* Whatever the guest wrote before logging is not in any log. */
        ram_block_mark_dirty(fr->mr->ram_block, fr->offset_in_region, fr->size);
    } else {
        wanted->flags &= ~(uint32_t)KVM_MEM_LOG_DIRTY_PAGES;
        /* Ring mode: leave the rings empty for the next time. */
        if (slots->dirty_mode == DIRTY_TRACKING_RING)
            slots->reap_pending = true;
    }
}

static void kvm_log_start(MemoryListener *l, const FlatRange *fr)
{
    kvm_log_set(l, fr, true);
}

static void kvm_log_stop(MemoryListener *l, const FlatRange *fr)
{
    kvm_log_set(l, fr, false);
}

static bool kvm_slot_call(KvmMemslots *slots, unsigned id, uint64_t gpa, uint64_t size,
                          uint64_t hva, uint32_t flags, const char *name)
{
    struct kvm_userspace_memory_region region = {
        .slot = id,
        .flags = flags,
        .guest_phys_addr = gpa,
        .memory_size = size,
        .userspace_addr = hva,
    };
    int ret = slots->set_slot(slots->opaque, &region);

    if (ret < 0) {
        g_printerr("ferry: KVM memory slot %u (0x%" PRIx64 "+0x%" PRIx64 ", %s): %s\n", id, gpa,
                   size, name, g_strerror(-ret));
        return false;
    }
    return true;
}

static bool slot_alloc_id(KvmMemslots *slots, unsigned *id)
{
    for (unsigned i = 0; i < slots->max_slots; i++) {
        if (!slots->slot_in_use[i]) {
            slots->slot_in_use[i] = true;
            *id = i;
            return true;
        }
    }
    return false;
}


/* ---- dirty logging: bitmap ---------------------------------------------- */

static int kvm_get_dirty_log_ioctl(void *opaque, struct kvm_dirty_log *log)
{
    KvmMemslots *slots = opaque;

    return ioctl(slots->vm_fd, KVM_GET_DIRTY_LOG, log) < 0 ? -errno : 0;
}

static int kvm_clear_dirty_log_ioctl(void *opaque, struct kvm_clear_dirty_log *log)
{
    KvmMemslots *slots = opaque;

    return ioctl(slots->vm_fd, KVM_CLEAR_DIRTY_LOG, log) < 0 ? -errno : 0;
}

static int kvm_reset_dirty_rings_ioctl(void *opaque)
{
    KvmMemslots *slots = opaque;
    int ret = ioctl(slots->vm_fd, KVM_RESET_DIRTY_RINGS, 0);

    return ret < 0 ? -errno : ret;
}

static uint64_t slot_pages(const KvmSlot *slot)
{
    return slot->size >> RAM_DIRTY_PAGE_SHIFT;
}

static uint64_t slot_first_page(const KvmSlot *slot)
{
    return slot->block_offset >> RAM_DIRTY_PAGE_SHIFT;
}

/* The scratch bitmap for one dirty-log ioctl, `words` long and zeroed. */
static uint64_t *log_buf(KvmMemslots *slots, uint64_t words)
{
    if (words > slots->log_buf_words) {
        slots->log_buf = g_renew(uint64_t, slots->log_buf, words);
        slots->log_buf_words = words;
    }
    memset(slots->log_buf, 0, words * sizeof(uint64_t));
    return slots->log_buf;
}

/* KVM_GET_DIRTY_LOG of one mapped slot into its block's bitmap.  If KVM
 * cannot say, the whole slot counts as dirty: resending is safe. */
static void sync_slot_bitmap(KvmMemslots *slots, const KvmSlot *slot)
{
    uint64_t npages = slot_pages(slot);
    uint64_t words = (npages + 63) / 64;

    if (!(slot->flags & KVM_MEM_LOG_DIRTY_PAGES) || !slot->block)
        return;
    struct kvm_dirty_log log = { .slot = slot->id, .dirty_bitmap = log_buf(slots, words) };
    int ret = slots->dirty_ops.get_dirty_log(slots->dirty_ops.opaque, &log);
    if (ret < 0) {
        g_printerr("ferry: KVM_GET_DIRTY_LOG on slot %u (0x%" PRIx64 "+0x%" PRIx64
                   ", %s): %s; counting all of it dirty\n",
                   slot->id, slot->gpa, slot->size, slot->name, g_strerror(-ret));
        ram_block_dirty_set_range(slot->block, slot_first_page(slot), npages);
        return;
    }
    ram_block_dirty_merge(slot->block, slot_first_page(slot), slots->log_buf, npages);
}

static bool manual_protect(const KvmMemslots *slots)
{
    return slots->dirty_mode == DIRTY_TRACKING_BITMAP &&
           (slots->manual_protect & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE);
}

/* 64 bits of bits[] (nbits long) from bit `start`, which may be negative
 * or past the end: bits outside [0, nbits) read as 0. */
static uint64_t bits_window(const uint64_t *bits, uint64_t nbits, int64_t start)
{
    if (start <= -64 || start >= (int64_t)nbits)
        return 0;
    if (start < 0)
        return bits_window(bits, nbits, 0) << -start;
    uint64_t w = (uint64_t)start / 64;
    unsigned shift = (uint64_t)start % 64;
    uint64_t v = bits[w] >> shift;
    if (shift && (w + 1) * 64 < nbits)
        v |= bits[w + 1] << (64 - shift);
    if (nbits - (uint64_t)start < 64)
        v &= (1ull << (nbits - (uint64_t)start)) - 1;
    return v;
}

/* Re-arm the pages set in bits[] (bit i = block page first_page + i) on
 * every logged slot that maps some of them: one KVM_CLEAR_DIRTY_LOG per
 * slot, over the 64-page chunks of the slot the range touches, as KVM
 * wants them (first page a multiple of 64, short only at the slot's end). */
static void clear_block_pages(KvmMemslots *slots, RamBlock *block, uint64_t first_page,
                              uint64_t npages, const uint64_t *bits)
{
    for (unsigned i = 0; i < slots->mapped->len; i++) {
        const KvmSlot *slot = &g_array_index(slots->mapped, KvmSlot, i);
        uint64_t sp = slot_first_page(slot), sn = slot_pages(slot);

        if (slot->block != block || !(slot->flags & KVM_MEM_LOG_DIRTY_PAGES) ||
            first_page + npages <= sp || first_page >= sp + sn)
            continue;
        uint64_t lo = MAX(first_page, sp) - sp, hi = MIN(first_page + npages, sp + sn) - sp;
        uint64_t chunk = lo & ~63ull, num = MIN((hi + 63) & ~63ull, sn) - chunk;
        uint64_t words = (num + 63) / 64, any = 0;
        uint64_t *clear = log_buf(slots, words);
        int64_t start = (int64_t)(sp + chunk) - (int64_t)first_page; /* slot page chunk's bit */
        for (uint64_t w = 0; w < words; w++)
            clear[w] = bits_window(bits, npages, start + (int64_t)(w * 64));
        if (num % 64) /* past the slot's end: another slot's pages */
            clear[words - 1] &= (1ull << (num % 64)) - 1;
        for (uint64_t w = 0; w < words; w++)
            any |= clear[w];
        if (!any)
            continue;
        struct kvm_clear_dirty_log log = {
            .slot = slot->id,
            .num_pages = (uint32_t)num,
            .first_page = chunk,
            .dirty_bitmap = clear,
        };
        int ret = slots->dirty_ops.clear_dirty_log(slots->dirty_ops.opaque, &log);
        if (ret < 0) {
            g_printerr("ferry: KVM_CLEAR_DIRTY_LOG on slot %u (%s), pages 0x%" PRIx64
                       "+%" PRIu64 ": %s\n", slot->id, slot->name, chunk, num, g_strerror(-ret));
        }
    }
}

static void kvm_log_clear(MemoryListener *l, RamBlock *block, uint64_t first_page,
                          uint64_t npages, const uint64_t *bits)
{
    KvmMemslots *slots = from_listener(l);

    if (manual_protect(slots))
        clear_block_pages(slots, block, first_page, npages, bits);
}

/* ---- dirty logging: rings ------------------------------------------------ */

/* Under ring_lock. */
static void target_set(KvmMemslots *slots, unsigned id, const KvmSlot *slot)
{
    if (id >= slots->targets->len) {
        if (!slot)
            return;
        g_array_set_size(slots->targets, id + 1);
    }
    SlotTarget *t = &g_array_index(slots->targets, SlotTarget, id);
    *t = slot ? (SlotTarget){ .block = slot->block, .first_page = slot_first_page(slot),
                              .npages = slot_pages(slot) }
              : (SlotTarget){ 0 };
}

/* One ring's ready entries into the bitmaps, each handed back to KVM as
 * harvested; under ring_lock. */
static unsigned ring_harvest(KvmMemslots *slots, KvmDirtyRing *ring)
{
    unsigned taken = 0;

    for (;;) {
        struct kvm_dirty_gfn *e = &ring->gfns[ring->fetch & (ring->entries - 1)];
        /* Acquire: slot and offset are valid once the flag says so. */
        uint32_t flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);

        if (!(flags & KVM_DIRTY_GFN_F_DIRTY))
            break;
        uint32_t as_id = e->slot >> 16, id = e->slot & 0xffff;
        if (as_id == 0 && id < slots->targets->len) {
            const SlotTarget *t = &g_array_index(slots->targets, SlotTarget, id);
            if (t->block && e->offset < t->npages)
                ram_block_dirty_set_range(t->block, t->first_page + e->offset, 1);
        }
        /* Release: KVM may reuse the entry once it sees the flag. */
        __atomic_store_n(&e->flags, KVM_DIRTY_GFN_F_RESET, __ATOMIC_RELEASE);
        ring->fetch++;
        taken++;
    }
    return taken;
}

static void rings_reset(KvmMemslots *slots)
{
    int ret = slots->dirty_ops.reset_dirty_rings(slots->dirty_ops.opaque);

    if (ret < 0)
        g_printerr("ferry: KVM_RESET_DIRTY_RINGS: %s\n", g_strerror(-ret));
}

unsigned kvm_memslots_reap_dirty_ring(KvmMemslots *slots, KvmDirtyRing *ring)
{
    g_mutex_lock(&slots->ring_lock);
    unsigned taken = ring_harvest(slots, ring);
    if (taken)
        rings_reset(slots);
    g_mutex_unlock(&slots->ring_lock);
    return taken;
}

unsigned kvm_memslots_reap_dirty_rings(KvmMemslots *slots)
{
    unsigned taken = 0;

    g_mutex_lock(&slots->ring_lock);
    for (unsigned i = 0; i < slots->rings->len; i++)
        taken += ring_harvest(slots, g_ptr_array_index(slots->rings, i));
    if (taken)
        rings_reset(slots);
    g_mutex_unlock(&slots->ring_lock);
    return taken;
}

KvmDirtyRing *kvm_memslots_add_dirty_ring(KvmMemslots *slots, struct kvm_dirty_gfn *gfns,
                                          uint32_t entries)
{
    g_return_val_if_fail(entries && !(entries & (entries - 1)), NULL);
    KvmDirtyRing *ring = g_new0(KvmDirtyRing, 1);
    ring->gfns = gfns;
    ring->entries = entries;
    g_mutex_lock(&slots->ring_lock);
    g_ptr_array_add(slots->rings, ring);
    g_mutex_unlock(&slots->ring_lock);
    return ring;
}

void kvm_memslots_remove_dirty_ring(KvmMemslots *slots, KvmDirtyRing *ring)
{
    if (!ring)
        return;
    g_mutex_lock(&slots->ring_lock);
    g_ptr_array_remove(slots->rings, ring); /* frees it */
    g_mutex_unlock(&slots->ring_lock);
}

/* ---- dirty logging: the listener's side ----------------------------------- */

static void kvm_log_sync(MemoryListener *l, const FlatRange *fr)
{
    KvmMemslots *slots = from_listener(l);
    KvmSlot want;

    if (slots->dirty_mode == DIRTY_TRACKING_RING) {
        /* Every ring holds pages of every slot: harvest once, at commit. */
        slots->reap_pending = true;
        return;
    }
    if (!slot_for_range(slots, fr, &want))
        return;
    int i = slot_table_find(slots->mapped, want.gpa);
    if (i < 0)
        return;
    const KvmSlot *slot = &g_array_index(slots->mapped, KvmSlot, i);
    if (slot->size == want.size && slot->hva == want.hva)
        sync_slot_bitmap(slots, slot);
}

void kvm_memslots_set_dirty_tracking(KvmMemslots *slots, DirtyTracking mode,
                                     uint32_t manual_protect_flags)
{
    slots->dirty_mode = mode;
    slots->manual_protect = mode == DIRTY_TRACKING_BITMAP ? manual_protect_flags : 0;
}

DirtyTracking kvm_memslots_dirty_tracking(const KvmMemslots *slots)
{
    return slots->dirty_mode;
}

void kvm_memslots_set_dirty_log_ops(KvmMemslots *slots, const KvmDirtyLogOps *ops)
{
    if (ops) {
        slots->dirty_ops = *ops;
        return;
    }
    slots->dirty_ops = (KvmDirtyLogOps){
        .get_dirty_log = kvm_get_dirty_log_ioctl,
        .clear_dirty_log = kvm_clear_dirty_log_ioctl,
        .reset_dirty_rings = kvm_reset_dirty_rings_ioctl,
        .opaque = slots,
    };
}

bool dirty_tracking_parse(const char *text, DirtyTracking *mode, GError **errp)
{
    if (g_strcmp0(text, "bitmap") == 0) {
        *mode = DIRTY_TRACKING_BITMAP;
        return true;
    }
    if (g_strcmp0(text, "ring") == 0) {
        *mode = DIRTY_TRACKING_RING;
        return true;
    }
    g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "--dirty-tracking: '%s' is not a mode (bitmap or ring)", text ? text : "");
    return false;
}

const char *dirty_tracking_name(DirtyTracking mode)
{
    return mode == DIRTY_TRACKING_RING ? "ring" : "bitmap";
}

/* ---- commit -------------------------------------------------------------- */

static void kvm_commit(MemoryListener *l)
{
    KvmMemslots *slots = from_listener(l);
    GArray *next = g_array_new(FALSE, FALSE, sizeof(KvmSlot));
    g_autoptr(GArray) stale = g_array_new(FALSE, FALSE, sizeof(KvmSlot));
    g_autofree bool *kept = g_new0(bool, slots->wanted->len + 1);
    bool stale_logged = false;

    if (slots->reap_pending) {
        slots->reap_pending = false;
        kvm_memslots_reap_dirty_rings(slots);
    }

    /* Pair mapped slots with wanted ones: same place, same memory, same
     * read-only-ness is the same slot (maybe with a new log flag). */
    for (unsigned m = 0; m < slots->mapped->len; m++) {
        KvmSlot *old = &g_array_index(slots->mapped, KvmSlot, m);
        int w = slot_table_find(slots->wanted, old->gpa);
        const KvmSlot *want = w >= 0 ? &g_array_index(slots->wanted, KvmSlot, w) : NULL;

        if (want && want->size == old->size && want->hva == old->hva &&
            !((want->flags ^ old->flags) & KVM_MEM_READONLY)) {
            kept[w] = true;
            KvmSlot slot = *old;
            slot.flags = want->flags;
            slot.name = g_strdup(want->name);
            slot.block = want->block;
            slot.block_offset = want->block_offset;
            g_free(old->name);
            g_array_append_val(next, slot);
            if (want->flags != old->flags) {
                kvm_slot_call(slots, slot.id, slot.gpa, slot.size, slot.hva, slot.flags,
                              slot.name);
            }
        } else {
            g_array_append_val(stale, *old);
            stale_logged |= (old->flags & KVM_MEM_LOG_DIRTY_PAGES) != 0;
        }
    }
    g_array_set_size(slots->mapped, 0);

    bool quiesced = stale->len > 0 && slots->has_quiesce;
    if (quiesced)
        slots->quiesce.pause(slots->quiesce.opaque);

    /* A logged slot about to go: take what it still knows, while its id
     * still means it (with the vCPUs out of KVM_RUN, nothing new comes). */
    if (stale_logged && slots->dirty_mode == DIRTY_TRACKING_RING)
        kvm_memslots_reap_dirty_rings(slots);
    for (unsigned s = 0; s < stale->len && stale_logged; s++) {
        if (slots->dirty_mode == DIRTY_TRACKING_BITMAP)
            sync_slot_bitmap(slots, &g_array_index(stale, KvmSlot, s));
    }

    for (unsigned s = 0; s < stale->len; s++) {
        KvmSlot *old = &g_array_index(stale, KvmSlot, s);
        kvm_slot_call(slots, old->id, old->gpa, 0, old->hva, old->flags, old->name);
        slots->slot_in_use[old->id] = false;
        g_mutex_lock(&slots->ring_lock);
        target_set(slots, old->id, NULL);
        g_mutex_unlock(&slots->ring_lock);
        g_free(old->name);
    }

    unsigned unmapped_before = slots->unmapped;
    slots->unmapped = 0;
    for (unsigned w = 0; w < slots->wanted->len; w++) {
        if (kept[w])
            continue;
        KvmSlot slot = g_array_index(slots->wanted, KvmSlot, w);
        if (!slot_alloc_id(slots, &slot.id)) {
            slots->unmapped++;
            continue;
        }
        if (!kvm_slot_call(slots, slot.id, slot.gpa, slot.size, slot.hva, slot.flags, slot.name)) {
            slots->slot_in_use[slot.id] = false;
            slots->unmapped++;
            continue;
        }
        slot.name = g_strdup(slot.name);
        g_mutex_lock(&slots->ring_lock);
        target_set(slots, slot.id, &slot);
        g_mutex_unlock(&slots->ring_lock);
        g_array_append_val(next, slot);
    }

    if (quiesced)
        slots->quiesce.resume(slots->quiesce.opaque);
    if (slots->unmapped && slots->unmapped != unmapped_before) {
        /* The guest still works there, through exits, only slower. */
        g_printerr("ferry: out of KVM memory slots (%u): %u RAM ranges are not mapped\n",
                   slots->max_slots, slots->unmapped);
    }

    for (unsigned i = 0; i < next->len; i++)
        slot_table_insert_sorted(slots->mapped, &g_array_index(next, KvmSlot, i));
    g_array_free(next, TRUE);
}

KvmMemslots *kvm_memslots_new(int vm_fd, unsigned max_slots, KvmSetSlotFn set_slot, void *opaque)
{
    KvmMemslots *slots = g_new0(KvmMemslots, 1);

    slots->vm_fd = vm_fd;
    /* KVM has guaranteed at least 32 slots since its first release. */
    slots->max_slots = max_slots ? max_slots : 32;
    slots->set_slot = set_slot ? set_slot : kvm_set_slot_ioctl;
    slots->opaque = set_slot ? opaque : slots;
    slots->page_size = (uint64_t)getpagesize();
    slots->wanted = g_array_new(FALSE, FALSE, sizeof(KvmSlot));
    g_array_set_clear_func(slots->wanted, kvm_slot_clear);
    slots->mapped = g_array_new(FALSE, FALSE, sizeof(KvmSlot));
    slots->slot_in_use = g_new0(bool, slots->max_slots);
    kvm_memslots_set_dirty_log_ops(slots, NULL);
    g_mutex_init(&slots->ring_lock);
    slots->rings = g_ptr_array_new_with_free_func(g_free);
    slots->targets = g_array_new(FALSE, TRUE, sizeof(SlotTarget));

    slots->listener = (MemoryListener){
        .region_add = kvm_region_add,
        .region_del = kvm_region_del,
        .log_start = kvm_log_start,
        .log_stop = kvm_log_stop,
        .log_sync = kvm_log_sync,
        .log_clear = kvm_log_clear,
        .commit = kvm_commit,
    };
    return slots;
}

void kvm_memslots_free(KvmMemslots *slots)
{
    if (!slots)
        return;
    /* Teardown: the vCPUs may be gone, so no quiesce for the deletions. */
    slots->has_quiesce = false;
    if (slots->listener.as)
        memory_listener_unregister(&slots->listener);
    g_array_free(slots->wanted, TRUE);
    for (unsigned i = 0; i < slots->mapped->len; i++)
        g_free(g_array_index(slots->mapped, KvmSlot, i).name);
    g_array_free(slots->mapped, TRUE);
    g_free(slots->slot_in_use);
    g_free(slots->log_buf);
    /* Rings still registered belong to vCPUs that were not freed first. */
    g_ptr_array_unref(slots->rings);
    g_array_free(slots->targets, TRUE);
    g_mutex_clear(&slots->ring_lock);
    g_free(slots);
}

MemoryListener *kvm_memslots_listener(KvmMemslots *slots)
{
    return &slots->listener;
}

void kvm_memslots_set_quiesce(KvmMemslots *slots, const KvmMemslotsQuiesce *quiesce)
{
    slots->has_quiesce = quiesce && quiesce->pause && quiesce->resume;
    if (slots->has_quiesce)
        slots->quiesce = *quiesce;
}

unsigned kvm_memslots_count(const KvmMemslots *slots)
{
    return slots->mapped->len;
}

void kvm_memslots_format(const KvmMemslots *slots, GString *out)
{
    g_string_append_printf(out, "%4s  %-37s  %18s  %18s  %-6s  %s\n", "slot", "guest physical",
                           "size", "host", "flags", "region");
    for (unsigned i = 0; i < slots->mapped->len; i++) {
        const KvmSlot *s = &g_array_index(slots->mapped, KvmSlot, i);
        g_autofree char *flags =
            g_strdup_printf("%s%s", (s->flags & KVM_MEM_READONLY) ? "ro" : "rw",
                            (s->flags & KVM_MEM_LOG_DIRTY_PAGES) ? ",log" : "");
        g_string_append_printf(out,
                               "%4u  0x%016" PRIx64 "-0x%016" PRIx64 "  0x%016" PRIx64
                               "  0x%016" PRIx64 "  %-6s  %s\n",
                               s->id, s->gpa, s->gpa + s->size - 1, s->size, s->hva, flags,
                               s->name);
    }
    if (slots->unmapped) {
        g_string_append_printf(out, "out of slots (max %u): %u RAM ranges not mapped\n",
                               slots->max_slots, slots->unmapped);
    }
}
