/*
 * KVM memory slots from the RAM and ROM ranges of address_space_memory.
 *
 * On every topology commit the flat view is turned into the list of slots
 * it needs (page-aligned runs of host memory; ROM and read-only RAM as
 * KVM_MEM_READONLY, whose writes exit as MMIO and are dropped by the
 * memory API).  Slots that did not change stay, so a running guest never
 * sees its RAM vanish for a moment; the rest are deleted, then the new
 * ones added.  Everything else in the space (device MMIO, unaligned
 * slivers of RAM) reaches the vCPU loop as MMIO exits.
 */
#include <sys/ioctl.h>

#include "kvm-internal.h"
#include "qlite/error.h"
#include "qlite/memory.h"

#define KVM_PAGE_SIZE   UINT64_C(4096)

typedef struct KVMSlot {
    uint64_t gpa;
    uint64_t size;
    uint64_t hva;
    uint32_t flags;
    int id;                 /* KVM slot number; -1 while not registered */
} KVMSlot;

static GArray *kvm_slots;           /* of KVMSlot, registered */
static GArray *kvm_free_ids;        /* of int */
static int kvm_next_id;
static int kvm_max_slots;

static bool kvm_slot_same(const KVMSlot *a, const KVMSlot *b)
{
    return a->gpa == b->gpa && a->size == b->size && a->hva == b->hva &&
           a->flags == b->flags;
}

/* Append [gpa, gpa+size) at @hva, merging with the previous run. */
static void kvm_slot_list_add(GArray *list, uint64_t gpa, uint64_t size,
                              uint64_t hva, uint32_t flags)
{
    KVMSlot s = { gpa, size, hva, flags, -1 };

    if (list->len) {
        KVMSlot *last = &g_array_index(list, KVMSlot, list->len - 1);

        if (last->gpa + last->size == gpa &&
            last->hva + last->size == hva && last->flags == flags) {
            last->size += size;
            return;
        }
    }
    g_array_append_val(list, s);
}

/* The slots @view needs. */
static GArray *kvm_slots_from_view(FlatView *view)
{
    GArray *list = g_array_new(false, false, sizeof(KVMSlot));

    for (unsigned i = 0; i < view->nr; i++) {
        const FlatRange *fr = &view->ranges[i];
        MemoryRegion *mr = fr->mr;
        bool ro = fr->readonly || mr->readonly || mr->kind == MR_ROM;
        uint64_t start, end, hva;

        if ((mr->kind != MR_RAM && mr->kind != MR_ROM) || !mr->ram ||
            (ro && !kvm_state->readonly_mem)) {
            continue;
        }
        hva = (uint64_t)(uintptr_t)mr->ram + fr->offset;
        start = ROUND_UP(fr->start, KVM_PAGE_SIZE);
        end = (fr->start + fr->size) & ~(KVM_PAGE_SIZE - 1);
        if (fr->start + fr->size < fr->start) {     /* ends at 2^64 */
            end = ~(KVM_PAGE_SIZE - 1);
        }
        hva += start - fr->start;
        if (end <= start || (hva & (KVM_PAGE_SIZE - 1))) {
            continue;
        }
        kvm_slot_list_add(list, start, end - start, hva,
                          ro ? KVM_MEM_READONLY : 0);
    }
    return list;
}

static int kvm_slot_set(const KVMSlot *s, uint64_t size)
{
    struct kvm_userspace_memory_region r = {
        .slot = s->id,
        .flags = s->flags,
        .guest_phys_addr = s->gpa,
        .memory_size = size,
        .userspace_addr = s->hva,
    };

    return kvm_ioctl(kvm_state->vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
}

static int kvm_slot_alloc_id(void)
{
    int id;

    if (kvm_free_ids->len) {
        id = g_array_index(kvm_free_ids, int, kvm_free_ids->len - 1);
        g_array_set_size(kvm_free_ids, kvm_free_ids->len - 1);
        return id;
    }
    return kvm_next_id < kvm_max_slots ? kvm_next_id++ : -1;
}

static bool kvm_slot_in(GArray *list, const KVMSlot *s)
{
    for (guint i = 0; i < list->len; i++) {
        if (kvm_slot_same(&g_array_index(list, KVMSlot, i), s)) {
            return true;
        }
    }
    return false;
}

/* Delete the registered slots @want lacks. */
static bool kvm_slots_remove_stale(GArray *want, GError **errp)
{
    for (guint i = kvm_slots->len; i-- > 0;) {
        KVMSlot *s = &g_array_index(kvm_slots, KVMSlot, i);
        int ret;

        if (kvm_slot_in(want, s)) {
            continue;
        }
        ret = kvm_slot_set(s, 0);
        if (ret < 0) {
            error_setg(errp, "kvm: cannot remove the memory slot at 0x%"
                       PRIx64 ": %s", s->gpa, g_strerror(-ret));
            return false;
        }
        g_array_append_val(kvm_free_ids, s->id);
        g_array_remove_index(kvm_slots, i);
    }
    return true;
}

static bool kvm_slots_add_new(GArray *want, GError **errp)
{
    for (guint i = 0; i < want->len; i++) {
        KVMSlot s = g_array_index(want, KVMSlot, i);
        int ret;

        if (kvm_slot_in(kvm_slots, &s)) {
            continue;
        }
        s.id = kvm_slot_alloc_id();
        if (s.id < 0) {
            error_setg(errp, "kvm: out of memory slots (the host allows "
                       "%d)", kvm_max_slots);
            return false;
        }
        ret = kvm_slot_set(&s, s.size);
        if (ret < 0) {
            error_setg(errp, "kvm: cannot map guest memory 0x%" PRIx64
                       "-0x%" PRIx64 ": %s", s.gpa, s.gpa + s.size - 1,
                       g_strerror(-ret));
            g_array_append_val(kvm_free_ids, s.id);
            return false;
        }
        g_array_append_val(kvm_slots, s);
    }
    return true;
}

static bool kvm_mem_update(FlatView *view, GError **errp)
{
    GArray *want = kvm_slots_from_view(view);
    bool ok = kvm_slots_remove_stale(want, errp) &&
              kvm_slots_add_new(want, errp);

    g_array_free(want, true);
    return ok;
}

/*
 * A topology commit (BQL held).  Failing to map guest RAM leaves the
 * guest without its memory: nothing sensible can continue.
 */
static void kvm_mem_listener(AddressSpace *as, FlatView *view, void *opaque)
{
    g_autoptr(GError) err = NULL;

    if (!kvm_mem_update(view, &err)) {
        error_report("%s", err->message);
        exit(1);
    }
}

bool kvm_mem_init(GError **errp)
{
    FlatView *view;
    bool ok;
    int n = ioctl(kvm_state->fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);

    /* api.rst: without the capability the limit is 32. */
    kvm_max_slots = n > 0 ? MIN(n, 32767) : 32;
    kvm_slots = g_array_new(false, false, sizeof(KVMSlot));
    kvm_free_ids = g_array_new(false, false, sizeof(int));
    view = address_space_get_flatview(&address_space_memory);
    ok = kvm_mem_update(view, errp);
    flatview_unref(view);
    if (ok) {
        address_space_add_listener(&address_space_memory, kvm_mem_listener,
                                   NULL);
    }
    return ok;
}
