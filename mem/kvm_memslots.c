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
#include <sys/ioctl.h>
#include <unistd.h>

typedef unsigned __int128 u128;

typedef struct KvmSlot {
    unsigned id; /* mapped slots only */
    uint64_t gpa;
    uint64_t size;
    uint64_t hva;
    uint32_t flags; /* KVM_MEM_READONLY, KVM_MEM_LOG_DIRTY_PAGES */
    char *name; /* the region's name, for the table */
} KvmSlot;

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
    if (on)
        wanted->flags |= KVM_MEM_LOG_DIRTY_PAGES;
    else
        wanted->flags &= ~(uint32_t)KVM_MEM_LOG_DIRTY_PAGES;
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

static void kvm_commit(MemoryListener *l)
{
    KvmMemslots *slots = from_listener(l);
    GArray *next = g_array_new(FALSE, FALSE, sizeof(KvmSlot));
    g_autoptr(GArray) stale = g_array_new(FALSE, FALSE, sizeof(KvmSlot));
    g_autofree bool *kept = g_new0(bool, slots->wanted->len + 1);

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
            g_free(old->name);
            g_array_append_val(next, slot);
            if (want->flags != old->flags) {
                kvm_slot_call(slots, slot.id, slot.gpa, slot.size, slot.hva, slot.flags,
                              slot.name);
            }
        } else {
            g_array_append_val(stale, *old);
        }
    }
    g_array_set_size(slots->mapped, 0);

    bool quiesced = stale->len > 0 && slots->has_quiesce;
    if (quiesced)
        slots->quiesce.pause(slots->quiesce.opaque);

    for (unsigned s = 0; s < stale->len; s++) {
        KvmSlot *old = &g_array_index(stale, KvmSlot, s);
        kvm_slot_call(slots, old->id, old->gpa, 0, old->hva, old->flags, old->name);
        slots->slot_in_use[old->id] = false;
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

    slots->listener = (MemoryListener){
        .region_add = kvm_region_add,
        .region_del = kvm_region_del,
        .log_start = kvm_log_start,
        .log_stop = kvm_log_stop,
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
