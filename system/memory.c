/*
 * The memory API: region trees flattened into sorted views.
 *
 * Every AddressSpace has a root region; on each (outermost) transaction
 * commit the tree is rendered into a FlatView, a sorted array of
 * non-overlapping FlatRanges, each mapping guest addresses to one terminal
 * region (RAM, ROM or I/O) at some offset.  Lookups binary-search the view.
 *
 * Rendering walks the tree from the highest-precedence subregion down and
 * fills only the holes that are still empty, so "higher priority wins, and
 * at equal priority the later-added region wins" falls out of the order of
 * the walk.  Sizes of UINT64_MAX mean 2^64; all range arithmetic uses
 * inclusive last addresses so that nothing overflows at the top of the
 * space.
 *
 * This file uses only GLib and memory.h so that it can be unit-tested on
 * its own.
 */
#include "qlite/memory.h"

#include <sys/mman.h>
#include <unistd.h>

/* Deeper than any sane tree; stops alias cycles from recursing forever. */
#define MEMORY_MAX_DEPTH 64

typedef struct MemoryListener {
    MemoryListenerFn fn;
    void *opaque;
} MemoryListener;

AddressSpace address_space_memory;
AddressSpace address_space_io;

static MemoryRegion system_memory;
static MemoryRegion system_io;
static bool memory_system_ready;

/* Every initialised AddressSpace, re-rendered on each topology commit. */
static GPtrArray *memory_address_spaces;
static unsigned memory_transaction_depth;
static bool memory_update_pending;
static unsigned memory_next_order;

/* ---- size helpers ------------------------------------------------------ */

/* Inclusive last offset of @mr; only meaningful when its size is not 0. */
static uint64_t mr_last(const MemoryRegion *mr)
{
    return mr->size == UINT64_MAX ? UINT64_MAX : mr->size - 1;
}

static uint64_t fr_last(const FlatRange *fr)
{
    return fr->start + (fr->size - 1);
}

static bool mr_is_terminal(const MemoryRegion *mr)
{
    return mr->kind == MR_RAM || mr->kind == MR_ROM || mr->kind == MR_IO;
}

/* ---- region life cycle ------------------------------------------------- */

static void memory_region_init_common(MemoryRegion *mr, const char *name,
                                      MemoryRegionKind kind, uint64_t size)
{
    memset(mr, 0, sizeof(*mr));
    mr->name = g_strdup(name ? name : "anonymous");
    mr->kind = kind;
    mr->size = size;
    mr->enabled = true;
    mr->subregions = g_ptr_array_new();
}

void memory_region_init_container(MemoryRegion *mr, const char *name,
                                  uint64_t size)
{
    memory_region_init_common(mr, name, MR_CONTAINER, size);
}

static size_t memory_host_page_size(void)
{
    long ps = sysconf(_SC_PAGESIZE);

    return ps > 0 ? (size_t)ps : 4096;
}

/*
 * Length of the host mapping behind @size bytes of guest RAM: whole pages,
 * at least one; 0 if it cannot be represented.
 */
static size_t memory_ram_map_len(uint64_t size)
{
    size_t ps = memory_host_page_size();

    if (size == 0) {
        return ps;
    }
    if (size > SIZE_MAX - (ps - 1)) {
        return 0;
    }
    return ((size_t)size + ps - 1) & ~(ps - 1);
}

/*
 * Anonymous mmap: page-aligned (KVM memory slots need that) and with
 * MAP_NORESERVE so that a large guest commits host memory only as it
 * touches it.
 */
static bool memory_region_alloc_host(MemoryRegion *mr, GError **errp)
{
    size_t len = memory_ram_map_len(mr->size);
    void *p;

    if (len == 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_NOMEM,
                    "cannot set up guest memory '%s': size %" PRIu64
                    " is too large", mr->name, mr->size);
        return false;
    }
    p = mmap(NULL, len, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        int err = errno;

        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(err),
                    "cannot set up guest memory '%s': %s", mr->name,
                    g_strerror(err));
        return false;
    }
    mr->ram = p;
    mr->ram_owned = true;
    return true;
}

bool memory_region_init_ram(MemoryRegion *mr, const char *name,
                            uint64_t size, GError **errp)
{
    memory_region_init_common(mr, name, MR_RAM, size);
    return memory_region_alloc_host(mr, errp);
}

bool memory_region_init_rom(MemoryRegion *mr, const char *name,
                            uint64_t size, GError **errp)
{
    memory_region_init_common(mr, name, MR_ROM, size);
    return memory_region_alloc_host(mr, errp);
}

void memory_region_init_ram_ptr(MemoryRegion *mr, const char *name,
                                uint64_t size, void *ptr)
{
    memory_region_init_common(mr, name, MR_RAM, size);
    mr->ram = ptr;
}

static bool memory_access_size_ok(unsigned s)
{
    return s == 0 || (s <= 8 && (s & (s - 1)) == 0);
}

void memory_region_init_io(MemoryRegion *mr, const MemoryRegionOps *ops,
                           void *opaque, const char *name, uint64_t size)
{
    /* Our own invariant: ops tables are static and written by us. */
    g_assert(ops);
    g_assert(memory_access_size_ok(ops->valid.min_access_size));
    g_assert(memory_access_size_ok(ops->valid.max_access_size));
    g_assert(memory_access_size_ok(ops->impl.min_access_size));
    g_assert(memory_access_size_ok(ops->impl.max_access_size));
    memory_region_init_common(mr, name, MR_IO, size);
    mr->ops = ops;
    mr->opaque = opaque;
}

void memory_region_init_alias(MemoryRegion *mr, const char *name,
                              MemoryRegion *orig, uint64_t offset,
                              uint64_t size)
{
    g_assert(orig);
    memory_region_init_common(mr, name, MR_ALIAS, size);
    mr->alias = orig;
    mr->alias_offset = offset;
}

static void memory_update(void)
{
    memory_region_transaction_begin();
    memory_update_pending = true;
    memory_region_transaction_commit();
}

void memory_region_destroy(MemoryRegion *mr)
{
    if (!mr->subregions) {
        return;     /* never initialised, or destroyed already */
    }
    memory_region_transaction_begin();
    if (mr->container) {
        memory_region_del_subregion(mr->container, mr);
    }
    for (guint i = 0; i < mr->subregions->len; i++) {
        MemoryRegion *sub = g_ptr_array_index(mr->subregions, i);

        sub->container = NULL;
        memory_update_pending = true;
    }
    g_ptr_array_free(mr->subregions, true);
    if (mr->ram_owned) {
        munmap(mr->ram, memory_ram_map_len(mr->size));
    }
    g_free(mr->name);
    memset(mr, 0, sizeof(*mr));
    memory_region_transaction_commit();
}

/* ---- topology ---------------------------------------------------------- */

/* Does @a take precedence over @b in their container? */
static bool memory_region_wins(const MemoryRegion *a, const MemoryRegion *b)
{
    if (a->priority != b->priority) {
        return a->priority > b->priority;
    }
    return a->order > b->order;
}

void memory_region_add_subregion_overlap(MemoryRegion *container,
                                         uint64_t offset, MemoryRegion *sub,
                                         int priority)
{
    guint i;

    g_assert(!sub->container);
    g_assert(sub != container);
    sub->container = container;
    sub->addr = offset;
    sub->priority = priority;
    sub->order = ++memory_next_order;
    /* Kept sorted by precedence, highest first: rendering walks in order. */
    for (i = 0; i < container->subregions->len; i++) {
        if (memory_region_wins(sub,
                               g_ptr_array_index(container->subregions, i))) {
            break;
        }
    }
    g_ptr_array_insert(container->subregions, (gint)i, sub);
    memory_update();
}

void memory_region_add_subregion(MemoryRegion *container, uint64_t offset,
                                 MemoryRegion *sub)
{
    memory_region_add_subregion_overlap(container, offset, sub, 0);
}

void memory_region_del_subregion(MemoryRegion *container,
                                 MemoryRegion *sub)
{
    g_assert(sub->container == container);
    g_ptr_array_remove(container->subregions, sub);
    sub->container = NULL;
    memory_update();
}

void memory_region_set_enabled(MemoryRegion *mr, bool enabled)
{
    if (mr->enabled != enabled) {
        mr->enabled = enabled;
        memory_update();
    }
}

void memory_region_set_address(MemoryRegion *mr, uint64_t addr)
{
    if (mr->addr != addr) {
        mr->addr = addr;
        memory_update();
    }
}

void memory_region_set_alias_offset(MemoryRegion *mr, uint64_t offset)
{
    if (mr->alias_offset != offset) {
        mr->alias_offset = offset;
        memory_update();
    }
}

void memory_region_set_readonly(MemoryRegion *mr, bool readonly)
{
    if (mr->readonly != readonly) {
        mr->readonly = readonly;
        memory_update();
    }
}

void *memory_region_get_ram_ptr(MemoryRegion *mr)
{
    uint64_t offset = 0;

    for (int depth = 0; mr && depth < MEMORY_MAX_DEPTH; depth++) {
        if (mr->kind == MR_RAM || mr->kind == MR_ROM) {
            return mr->ram ? mr->ram + offset : NULL;
        }
        if (mr->kind != MR_ALIAS) {
            return NULL;
        }
        offset += mr->alias_offset;
        mr = mr->alias;
    }
    return NULL;
}

uint64_t memory_region_size(MemoryRegion *mr)
{
    return mr->size;
}

/* ---- flat views -------------------------------------------------------- */

/* Index of the first range whose last byte is >= @addr (nr if none). */
static unsigned flatview_find_index(const FlatView *view, uint64_t addr)
{
    unsigned lo = 0, hi = view->nr;

    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;

        if (fr_last(&view->ranges[mid]) < addr) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

const FlatRange *flatview_lookup(FlatView *view, uint64_t addr)
{
    unsigned i = flatview_find_index(view, addr);

    if (i < view->nr && view->ranges[i].start <= addr) {
        return &view->ranges[i];
    }
    return NULL;
}

bool flatview_same_backing(FlatView *a, FlatView *b, uint64_t addr,
                           uint64_t size)
{
    uint64_t last = addr + (size - 1);

    for (;;) {
        const FlatRange *ra = flatview_lookup(a, addr);
        const FlatRange *rb = flatview_lookup(b, addr);
        uint64_t piece = last;      /* the last byte alike so far */

        if (!ra != !rb) {
            return false;
        }
        if (ra) {
            if (ra->mr != rb->mr || ra->offset + (addr - ra->start) !=
                                    rb->offset + (addr - rb->start)) {
                return false;
            }
            piece = MIN(piece, MIN(fr_last(ra), fr_last(rb)));
        } else {
            /* A hole in both, up to where either maps something. */
            unsigned i = flatview_find_index(a, addr);
            unsigned j = flatview_find_index(b, addr);

            if (i < a->nr) {
                piece = MIN(piece, a->ranges[i].start - 1);
            }
            if (j < b->nr) {
                piece = MIN(piece, b->ranges[j].start - 1);
            }
        }
        if (piece >= last) {
            return true;
        }
        addr = piece + 1;
    }
}

/* The view being built: a growable array of FlatRange, kept sorted. */
typedef struct FlatBuilder {
    GArray *ranges;
} FlatBuilder;

static FlatRange *builder_at(FlatBuilder *b, guint i)
{
    return &g_array_index(b->ranges, FlatRange, i);
}

/* Insert [start, last] before index @i; returns how many ranges it took. */
static guint builder_insert(FlatBuilder *b, guint i, uint64_t start,
                            uint64_t last, MemoryRegion *mr,
                            uint64_t offset, bool readonly)
{
    FlatRange fr = { .start = start, .mr = mr, .offset = offset,
                     .readonly = readonly };

    if (start == 0 && last == UINT64_MAX) {
        /* 2^64 bytes do not fit in .size: store the space as two halves. */
        guint n = builder_insert(b, i, 0, INT64_MAX, mr, offset, readonly);

        return n + builder_insert(b, i + n, (uint64_t)INT64_MAX + 1,
                                  UINT64_MAX, mr,
                                  offset + (uint64_t)INT64_MAX + 1, readonly);
    }
    fr.size = last - start + 1;
    g_array_insert_val(b->ranges, i, fr);
    return 1;
}

/* First index whose range ends at or after @addr (binary search). */
static guint builder_find(FlatBuilder *b, uint64_t addr)
{
    guint lo = 0, hi = b->ranges->len;

    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;

        if (fr_last(builder_at(b, mid)) < addr) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/*
 * Map [start, last] to @mr at @offset, but only where nothing is mapped
 * yet: what is already there was placed by a region of higher precedence.
 */
static void builder_fill(FlatBuilder *b, uint64_t start, uint64_t last,
                         MemoryRegion *mr, uint64_t offset, bool readonly)
{
    guint i = builder_find(b, start);
    uint64_t cur = start;

    for (;;) {
        FlatRange *next = i < b->ranges->len ? builder_at(b, i) : NULL;
        uint64_t next_last;

        if (!next || next->start > last) {
            builder_insert(b, i, cur, last, mr, offset + (cur - start),
                           readonly);
            return;
        }
        if (next->start > cur) {
            i += builder_insert(b, i, cur, next->start - 1, mr,
                                offset + (cur - start), readonly);
            next = builder_at(b, i);
        }
        next_last = fr_last(next);
        if (next_last >= last) {
            return;
        }
        cur = next_last + 1;
        i++;
    }
}

typedef struct RenderClip {
    uint64_t start;     /* guest address of the first byte */
    uint64_t last;      /* guest address of the last byte, inclusive */
    uint64_t offset;    /* offset within the region of @start */
    bool readonly;
    int depth;
} RenderClip;

static void render_region(FlatBuilder *b, MemoryRegion *mr, RenderClip c);

/* Render the part of @sub that falls inside the container clip @c. */
static void render_subregion(FlatBuilder *b, MemoryRegion *sub, RenderClip c)
{
    uint64_t c_end = c.offset + (c.last - c.start);   /* container offsets */
    uint64_t s_end, lo, hi;
    RenderClip sc;

    if (sub->size == 0) {
        return;
    }
    /* A subregion cannot reach past offset 2^64 of its container. */
    s_end = sub->addr + mr_last(sub);
    if (s_end < sub->addr) {
        s_end = UINT64_MAX;
    }
    lo = MAX(c.offset, sub->addr);
    hi = MIN(c_end, s_end);
    if (lo > hi) {
        return;
    }
    sc = c;
    sc.start = c.start + (lo - c.offset);
    sc.last = sc.start + (hi - lo);
    sc.offset = lo - sub->addr;
    render_region(b, sub, sc);
}

/*
 * Render the window of an alias: offsets shift into the aliased region,
 * which clips the window to its own size.
 */
static void render_alias(FlatBuilder *b, MemoryRegion *mr, RenderClip c)
{
    uint64_t t_start = mr->alias_offset + c.offset;

    if (!mr->alias || t_start < mr->alias_offset) {
        return;
    }
    c.offset = t_start;
    render_region(b, mr->alias, c);
}

static void render_region(FlatBuilder *b, MemoryRegion *mr, RenderClip c)
{
    if (!mr->enabled || mr->size == 0) {
        return;
    }
    if (c.offset > mr_last(mr)) {
        return;
    }
    if (c.last - c.start > mr_last(mr) - c.offset) {
        c.last = c.start + (mr_last(mr) - c.offset);
    }
    if (++c.depth > MEMORY_MAX_DEPTH) {
        g_warning("memory: region tree deeper than %d at '%s' "
                  "(alias loop?)", MEMORY_MAX_DEPTH, mr->name);
        return;
    }
    c.readonly |= mr->readonly;
    /* Subregions are sorted by precedence and cover their parent. */
    for (guint i = 0; i < mr->subregions->len; i++) {
        MemoryRegion *sub = g_ptr_array_index(mr->subregions, i);

        if (sub->enabled) {
            render_subregion(b, sub, c);
        }
    }
    if (mr->kind == MR_ALIAS) {
        render_alias(b, mr, c);
    } else if (mr_is_terminal(mr)) {
        builder_fill(b, c.start, c.last, mr, c.offset,
                     c.readonly || mr->kind == MR_ROM);
    }
}

/* Join neighbours that continue the same region (fewer KVM slots). */
static void flatview_simplify(GArray *ranges)
{
    guint out = 0;

    for (guint i = 0; i < ranges->len; i++) {
        FlatRange *cur = &g_array_index(ranges, FlatRange, i);
        FlatRange *prev = out ? &g_array_index(ranges, FlatRange, out - 1)
                              : NULL;

        if (prev && prev->mr == cur->mr && prev->readonly == cur->readonly &&
            fr_last(prev) + 1 == cur->start &&
            prev->offset + prev->size == cur->offset &&
            !(prev->start == 0 && fr_last(cur) == UINT64_MAX)) {
            prev->size += cur->size;
        } else {
            g_array_index(ranges, FlatRange, out++) = *cur;
        }
    }
    g_array_set_size(ranges, out);
}

static FlatView *flatview_render(MemoryRegion *root)
{
    FlatBuilder b = { g_array_new(false, false, sizeof(FlatRange)) };
    RenderClip c = { .start = 0, .offset = 0 };
    FlatView *view = g_new0(FlatView, 1);

    if (root && root->size) {
        c.last = mr_last(root);
        render_region(&b, root, c);
    }
    flatview_simplify(b.ranges);
    view->ref = 1;
    view->nr = b.ranges->len;
    view->ranges = (FlatRange *)g_array_free(b.ranges, false);
    return view;
}

FlatView *address_space_get_flatview(AddressSpace *as)
{
    FlatView *view = as->view;

    __atomic_add_fetch(&view->ref, 1, __ATOMIC_SEQ_CST);
    return view;
}

void flatview_unref(FlatView *view)
{
    if (view && __atomic_sub_fetch(&view->ref, 1, __ATOMIC_SEQ_CST) == 0) {
        g_free(view->ranges);
        g_free(view);
    }
}

const FlatRange *address_space_lookup(AddressSpace *as, uint64_t addr)
{
    return flatview_lookup(as->view, addr);
}

/* ---- transactions and listeners ---------------------------------------- */

static void address_space_update(AddressSpace *as)
{
    FlatView *old = as->view;

    as->view = flatview_render(as->root);
    /* By index: a listener may remove itself while we walk. */
    for (guint i = 0; i < as->listeners->len; i++) {
        MemoryListener *l = g_ptr_array_index(as->listeners, i);

        l->fn(as, as->view, l->opaque);
    }
    flatview_unref(old);
}

static void memory_update_all(void)
{
    /* A listener that changes the topology asks for one more round. */
    for (int round = 0; memory_update_pending && round < 16; round++) {
        memory_update_pending = false;
        memory_transaction_depth++;
        for (guint i = 0; memory_address_spaces &&
                          i < memory_address_spaces->len; i++) {
            address_space_update(g_ptr_array_index(memory_address_spaces,
                                                   i));
        }
        memory_transaction_depth--;
    }
}

void memory_region_transaction_begin(void)
{
    memory_transaction_depth++;
}

void memory_region_transaction_commit(void)
{
    g_assert(memory_transaction_depth > 0);
    if (--memory_transaction_depth == 0) {
        memory_update_all();
    }
}

void address_space_init(AddressSpace *as, MemoryRegion *root,
                        const char *name)
{
    g_assert(root);
    memset(as, 0, sizeof(*as));
    as->name = g_strdup(name);
    as->root = root;
    as->view = flatview_render(root);
    as->listeners = g_ptr_array_new_with_free_func(g_free);
    if (!memory_address_spaces) {
        memory_address_spaces = g_ptr_array_new();
    }
    g_ptr_array_add(memory_address_spaces, as);
}

void address_space_destroy(AddressSpace *as)
{
    if (memory_address_spaces) {
        g_ptr_array_remove(memory_address_spaces, as);
    }
    flatview_unref(as->view);
    g_ptr_array_free(as->listeners, true);
    g_free(as->name);
    memset(as, 0, sizeof(*as));
}

/*
 * Listeners hear about later commits only; one that needs the current
 * topology reads address_space_get_flatview() when it registers.
 */
void address_space_add_listener(AddressSpace *as, MemoryListenerFn fn,
                                void *opaque)
{
    MemoryListener *l = g_new0(MemoryListener, 1);

    l->fn = fn;
    l->opaque = opaque;
    g_ptr_array_add(as->listeners, l);
}

void address_space_remove_listener(AddressSpace *as, MemoryListenerFn fn,
                                   void *opaque)
{
    for (guint i = 0; i < as->listeners->len; i++) {
        MemoryListener *l = g_ptr_array_index(as->listeners, i);

        if (l->fn == fn && l->opaque == opaque) {
            g_ptr_array_remove_index(as->listeners, i);
            return;
        }
    }
}

/* ---- I/O dispatch ------------------------------------------------------ */

static uint64_t memory_size_mask(unsigned bytes)
{
    return bytes >= 8 ? UINT64_MAX : (UINT64_C(1) << (bytes * 8)) - 1;
}

/* Effective access-size limits of an I/O region's ops. */
typedef struct AccessLimits {
    unsigned valid_min, valid_max, impl_min, impl_max;
    bool unaligned;
} AccessLimits;

static AccessLimits memory_access_limits(const MemoryRegionOps *ops)
{
    AccessLimits l;

    l.valid_min = ops->valid.min_access_size ? ops->valid.min_access_size : 1;
    l.valid_max = ops->valid.max_access_size ? ops->valid.max_access_size : 4;
    l.valid_max = MAX(l.valid_max, l.valid_min);
    l.impl_min = ops->impl.min_access_size ? ops->impl.min_access_size
                                           : l.valid_min;
    l.impl_max = ops->impl.max_access_size ? ops->impl.max_access_size
                                           : l.valid_max;
    l.impl_max = MAX(l.impl_max, l.impl_min);
    l.unaligned = ops->valid.unaligned;
    return l;
}

static bool memory_access_valid(const MemoryRegion *mr,
                                const AccessLimits *l, uint64_t offset,
                                unsigned size)
{
    bool pow2 = (size & (size - 1)) == 0;

    if (mr->size == 0 || size < l->valid_min || size > l->valid_max) {
        return false;
    }
    if (!l->unaligned && (!pow2 || (offset & (size - 1)) != 0)) {
        return false;
    }
    return offset <= mr_last(mr) && size - 1 <= mr_last(mr) - offset;
}

/*
 * The device access that serves the byte at @p of [p, end): the widest
 * naturally aligned power of two within impl limits that fits, or an
 * impl_min-sized aligned access around @p that the caller takes part of.
 */
static unsigned memory_impl_chunk(const AccessLimits *l, uint64_t p,
                                  unsigned left)
{
    unsigned a = l->impl_max;

    while (a > l->impl_min && ((p & (a - 1)) != 0 || a > left)) {
        a /= 2;
    }
    return a;
}

static uint64_t memory_io_read_unit(MemoryRegion *mr, uint64_t addr,
                                    unsigned size)
{
    return mr->ops->read ? mr->ops->read(mr->opaque, addr, size) : 0;
}

static void memory_io_write_unit(MemoryRegion *mr, uint64_t addr,
                                 uint64_t val, unsigned size)
{
    if (mr->ops->write) {
        mr->ops->write(mr->opaque, addr, val, size);
    }
}

/*
 * Split or widen a valid access into what the callbacks implement.  Byte
 * @i of the access is at offset + i; counting by @i keeps the arithmetic
 * clear of the 2^64 boundary.
 */
static uint64_t memory_io_read(MemoryRegion *mr, const AccessLimits *l,
                               uint64_t offset, unsigned size)
{
    uint64_t val = 0;

    for (unsigned i = 0; i < size;) {
        uint64_t p = offset + i;
        unsigned a = memory_impl_chunk(l, p, size - i);
        uint64_t unit = p & ~(uint64_t)(a - 1);
        unsigned skip = (unsigned)(p - unit);
        unsigned n = MIN(size - i, a - skip);
        uint64_t part = memory_io_read_unit(mr, unit, a) >> (skip * 8);

        val |= (part & memory_size_mask(n)) << (i * 8);
        i += n;
    }
    return val;
}

/*
 * A write narrower than impl_min becomes one aligned impl_min write with
 * the other byte lanes zero: reading first would trigger read side effects.
 */
static void memory_io_write(MemoryRegion *mr, const AccessLimits *l,
                            uint64_t offset, unsigned size, uint64_t val)
{
    for (unsigned i = 0; i < size;) {
        uint64_t p = offset + i;
        unsigned a = memory_impl_chunk(l, p, size - i);
        uint64_t unit = p & ~(uint64_t)(a - 1);
        unsigned skip = (unsigned)(p - unit);
        unsigned n = MIN(size - i, a - skip);
        uint64_t part = (val >> (i * 8)) & memory_size_mask(n);

        memory_io_write_unit(mr, unit, part << (skip * 8), a);
        i += n;
    }
}

/* Resolve aliases down to a terminal region; NULL if there is none. */
static MemoryRegion *memory_region_resolve(MemoryRegion *mr,
                                           uint64_t *offset)
{
    for (int depth = 0; mr && depth < MEMORY_MAX_DEPTH; depth++) {
        if (mr->kind != MR_ALIAS) {
            return mr_is_terminal(mr) ? mr : NULL;
        }
        if (mr->size == 0 || *offset > mr_last(mr) ||
            *offset + mr->alias_offset < *offset) {
            return NULL;
        }
        *offset += mr->alias_offset;
        mr = mr->alias;
    }
    return NULL;
}

static bool memory_ram_range_ok(const MemoryRegion *mr, uint64_t offset,
                                unsigned size)
{
    return mr->ram && mr->size && offset <= mr_last(mr) &&
           size - 1 <= mr_last(mr) - offset;
}

static uint64_t memory_ram_load(const uint8_t *p, unsigned size)
{
    uint64_t val = 0;

    for (unsigned i = 0; i < size; i++) {
        val |= (uint64_t)p[i] << (i * 8);
    }
    return val;
}

static void memory_ram_store(uint8_t *p, unsigned size, uint64_t val)
{
    for (unsigned i = 0; i < size; i++) {
        p[i] = (uint8_t)(val >> (i * 8));
    }
}

MemTxResult memory_region_dispatch_read(MemoryRegion *mr, uint64_t offset,
                                        unsigned size, uint64_t *val)
{
    AccessLimits l;

    *val = memory_size_mask(size);
    mr = memory_region_resolve(mr, &offset);
    if (!mr || size == 0 || size > 8) {
        return MEMTX_DECODE_ERROR;
    }
    if (mr->kind != MR_IO) {
        if (!memory_ram_range_ok(mr, offset, size)) {
            return MEMTX_DECODE_ERROR;
        }
        *val = memory_ram_load(mr->ram + offset, size);
        return MEMTX_OK;
    }
    l = memory_access_limits(mr->ops);
    if (!memory_access_valid(mr, &l, offset, size)) {
        g_debug("memory: invalid read of %u bytes at 0x%" PRIx64 " in '%s'",
                size, offset, mr->name);
        return MEMTX_DECODE_ERROR;
    }
    *val = memory_io_read(mr, &l, offset, size);
    return MEMTX_OK;
}

MemTxResult memory_region_dispatch_write(MemoryRegion *mr, uint64_t offset,
                                         unsigned size, uint64_t val)
{
    AccessLimits l;

    mr = memory_region_resolve(mr, &offset);
    if (!mr || size == 0 || size > 8) {
        return MEMTX_DECODE_ERROR;
    }
    val &= memory_size_mask(size);
    if (mr->kind != MR_IO) {
        if (!memory_ram_range_ok(mr, offset, size)) {
            return MEMTX_DECODE_ERROR;
        }
        if (mr->kind == MR_RAM && !mr->readonly) {
            memory_ram_store(mr->ram + offset, size, val);
        }
        return MEMTX_OK;
    }
    l = memory_access_limits(mr->ops);
    if (!memory_access_valid(mr, &l, offset, size)) {
        g_debug("memory: invalid write of %u bytes at 0x%" PRIx64 " in '%s'",
                size, offset, mr->name);
        return MEMTX_DECODE_ERROR;
    }
    memory_io_write(mr, &l, offset, size, val);
    return MEMTX_OK;
}

/* ---- address-space access ---------------------------------------------- */

/* Largest power of two <= @n (n >= 1). */
static unsigned memory_pow2_floor(uint64_t n)
{
    unsigned a = 8;

    while (a > n) {
        a /= 2;
    }
    return a;
}

/*
 * How many bytes of an I/O buffer access at @offset go in one device
 * access: as wide as valid allows, and aligned unless unaligned is allowed.
 */
static unsigned memory_io_step(const MemoryRegion *mr, uint64_t offset,
                               uint64_t len)
{
    AccessLimits l = memory_access_limits(mr->ops);
    unsigned a = memory_pow2_floor(MIN(len, (uint64_t)l.valid_max));

    while (!l.unaligned && a > 1 && (offset & (a - 1)) != 0) {
        a /= 2;
    }
    return a;
}

static MemTxResult flatrange_read(const FlatRange *fr, uint64_t addr,
                                  uint8_t *buf, uint64_t len)
{
    uint64_t offset = fr->offset + (addr - fr->start);
    MemTxResult res = MEMTX_OK;

    if (fr->mr->kind != MR_IO) {
        memcpy(buf, fr->mr->ram + offset, len);
        return MEMTX_OK;
    }
    while (len > 0) {
        unsigned a = memory_io_step(fr->mr, offset, len);
        uint64_t val;

        res |= memory_region_dispatch_read(fr->mr, offset, a, &val);
        memory_ram_store(buf, a, val);
        buf += a;
        offset += a;
        len -= a;
    }
    return res;
}

/* ---- RAM write notifiers ------------------------------------------------ */

static GPtrArray *ram_write_notifiers;     /* of RamWriteNotifier */

void memory_add_ram_write_notifier(RamWriteNotifier fn)
{
    if (!ram_write_notifiers) {
        ram_write_notifiers = g_ptr_array_new();
    }
    g_ptr_array_add(ram_write_notifiers, (gpointer)fn);
}

/* RAM at @addr changed behind the CPU's back (device, DMA, qtest). */
static void memory_notify_ram_write(uint64_t addr, uint64_t len)
{
    for (guint i = 0; ram_write_notifiers && i < ram_write_notifiers->len;
         i++) {
        ((RamWriteNotifier)ram_write_notifiers->pdata[i])(addr, len);
    }
}

static MemTxResult flatrange_write(const FlatRange *fr, uint64_t addr,
                                   const uint8_t *buf, uint64_t len)
{
    uint64_t offset = fr->offset + (addr - fr->start);
    MemTxResult res = MEMTX_OK;

    if (fr->mr->kind != MR_IO) {
        if (!fr->readonly) {
            memcpy(fr->mr->ram + offset, buf, len);
            memory_notify_ram_write(addr, len);
        }
        return MEMTX_OK;
    }
    while (len > 0) {
        unsigned a = memory_io_step(fr->mr, offset, len);

        res |= memory_region_dispatch_write(fr->mr, offset, a,
                                            memory_ram_load(buf, a));
        buf += a;
        offset += a;
        len -= a;
    }
    return res;
}

/*
 * Bytes from @addr (at most @len) that share one fate: all in the range
 * @fr, or, when @fr is NULL, all unassigned up to the next range.
 */
static uint64_t flatview_chunk(FlatView *view, const FlatRange *fr,
                               uint64_t addr, uint64_t len)
{
    uint64_t last;

    if (fr) {
        last = fr_last(fr);
    } else {
        unsigned i = flatview_find_index(view, addr);

        last = i < view->nr ? view->ranges[i].start - 1 : UINT64_MAX;
    }
    return MIN(len - 1, last - addr) + 1;
}

/*
 * Walk [addr, addr+len) through @view, one chunk per range.  Reads of
 * unassigned space give all ones; bytes past 2^64 are unassigned too.
 */
static MemTxResult flatview_rw(FlatView *view, uint64_t addr, uint8_t *rbuf,
                               const uint8_t *wbuf, uint64_t len)
{
    MemTxResult res = MEMTX_OK;
    uint64_t done = 0;

    while (done < len) {
        const FlatRange *fr = flatview_lookup(view, addr);
        uint64_t n = flatview_chunk(view, fr, addr, len - done);

        if (!fr) {
            res |= MEMTX_DECODE_ERROR;
            if (rbuf) {
                memset(rbuf + done, 0xff, n);
            }
        } else if (rbuf) {
            res |= flatrange_read(fr, addr, rbuf + done, n);
        } else {
            res |= flatrange_write(fr, addr, wbuf + done, n);
        }
        done += n;
        addr += n;
        if (addr == 0 && done < len) {
            /* Wrapped past 2^64: the rest is outside the space. */
            res |= MEMTX_DECODE_ERROR;
            if (rbuf) {
                memset(rbuf + done, 0xff, len - done);
            }
            break;
        }
    }
    return res;
}

MemTxResult address_space_read(AddressSpace *as, uint64_t addr, void *buf,
                               uint64_t len)
{
    /* Hold the view: a device callback may change the topology. */
    FlatView *view = address_space_get_flatview(as);
    MemTxResult res = flatview_rw(view, addr, buf, NULL, len);

    flatview_unref(view);
    return res;
}

MemTxResult address_space_write(AddressSpace *as, uint64_t addr,
                                const void *buf, uint64_t len)
{
    FlatView *view = address_space_get_flatview(as);
    MemTxResult res = flatview_rw(view, addr, NULL, buf, len);

    flatview_unref(view);
    return res;
}

static bool memory_ldst_size_ok(unsigned size)
{
    return size == 1 || size == 2 || size == 4 || size == 8;
}

/*
 * The range holding all of [addr, addr+size), or NULL: then the access is
 * done byte-wise through address_space_read/write.
 */
static const FlatRange *memory_ldst_range(AddressSpace *as, uint64_t addr,
                                          unsigned size)
{
    const FlatRange *fr = address_space_lookup(as, addr);

    if (fr && size - 1 <= fr_last(fr) - addr) {
        return fr;
    }
    return NULL;
}

MemTxResult address_space_ld(AddressSpace *as, uint64_t addr, unsigned size,
                             uint64_t *val)
{
    const FlatRange *fr;
    uint8_t buf[8];
    MemTxResult res;

    if (!memory_ldst_size_ok(size)) {
        *val = UINT64_MAX;
        return MEMTX_ERROR;
    }
    fr = memory_ldst_range(as, addr, size);
    if (fr && fr->mr->kind == MR_IO) {
        /* One device access of the CPU's width, checked against valid. */
        return memory_region_dispatch_read(fr->mr,
                                           fr->offset + (addr - fr->start),
                                           size, val);
    }
    if (fr) {
        *val = memory_ram_load(fr->mr->ram + fr->offset + (addr - fr->start),
                               size);
        return MEMTX_OK;
    }
    res = address_space_read(as, addr, buf, size);
    *val = memory_ram_load(buf, size);
    return res;
}

MemTxResult address_space_st(AddressSpace *as, uint64_t addr, unsigned size,
                             uint64_t val)
{
    const FlatRange *fr;
    uint8_t buf[8];

    if (!memory_ldst_size_ok(size)) {
        return MEMTX_ERROR;
    }
    fr = memory_ldst_range(as, addr, size);
    if (fr && fr->mr->kind == MR_IO) {
        return memory_region_dispatch_write(fr->mr,
                                            fr->offset + (addr - fr->start),
                                            size, val);
    }
    if (fr) {
        if (!fr->readonly) {
            memory_ram_store(fr->mr->ram + fr->offset + (addr - fr->start),
                             size, val);
            memory_notify_ram_write(addr, size);
        }
        return MEMTX_OK;
    }
    memory_ram_store(buf, size, val);
    return address_space_write(as, addr, buf, size);
}

/* ---- DMA --------------------------------------------------------------- */

/* Is all of [addr, addr+len) inside the space and mapped? (len >= 1) */
static bool flatview_fully_assigned(FlatView *view, uint64_t addr,
                                    uint64_t len)
{
    uint64_t last = addr + (len - 1);

    if (last < addr) {
        return false;
    }
    for (;;) {
        const FlatRange *fr = flatview_lookup(view, addr);

        if (!fr) {
            return false;
        }
        if (fr_last(fr) >= last) {
            return true;
        }
        addr = fr_last(fr) + 1;
    }
}

static MemTxResult dma_rw(AddressSpace *as, uint64_t addr, uint8_t *rbuf,
                          const uint8_t *wbuf, uint64_t len)
{
    FlatView *view;
    MemTxResult res;

    if (len == 0) {
        return MEMTX_OK;
    }
    view = address_space_get_flatview(as);
    if (!flatview_fully_assigned(view, addr, len)) {
        /* Fail as a whole, before touching anything, buffers included. */
        res = MEMTX_DECODE_ERROR;
    } else {
        res = flatview_rw(view, addr, rbuf, wbuf, len);
    }
    flatview_unref(view);
    return res;
}

MemTxResult dma_read(AddressSpace *as, uint64_t addr, void *buf,
                     uint64_t len)
{
    return dma_rw(as, addr, buf, NULL, len);
}

MemTxResult dma_write(AddressSpace *as, uint64_t addr, const void *buf,
                      uint64_t len)
{
    return dma_rw(as, addr, NULL, buf, len);
}

void *dma_map(AddressSpace *as, uint64_t addr, uint64_t len, bool is_write)
{
    const FlatRange *fr;

    if (len == 0 || addr + (len - 1) < addr) {
        return NULL;
    }
    fr = address_space_lookup(as, addr);
    if (!fr || len - 1 > fr_last(fr) - addr || fr->mr->kind == MR_IO ||
        !fr->mr->ram || (is_write && fr->readonly)) {
        return NULL;
    }
    if (is_write) {
        memory_notify_ram_write(addr, len);
    }
    return fr->mr->ram + fr->offset + (addr - fr->start);
}

/* ---- the system address spaces ----------------------------------------- */

void memory_system_init(void)
{
    if (memory_system_ready) {
        return;
    }
    memory_region_init_container(&system_memory, "system", UINT64_MAX);
    memory_region_init_container(&system_io, "io", 64 * KiB);
    address_space_init(&address_space_memory, &system_memory, "memory");
    address_space_init(&address_space_io, &system_io, "I/O");
    memory_system_ready = true;
}

MemoryRegion *get_system_memory(void)
{
    return &system_memory;
}

MemoryRegion *get_system_io(void)
{
    return &system_io;
}

/* ---- info mtree -------------------------------------------------------- */

/* QEMU's names: an alias shows the kind of what it aliases. */
static const char *mtree_kind(const MemoryRegion *mr)
{
    for (int depth = 0; mr && depth < MEMORY_MAX_DEPTH; depth++) {
        switch (mr->kind) {
        case MR_ALIAS:
            mr = mr->alias;
            continue;
        case MR_RAM:
            return mr->readonly ? "rom" : "ram";
        case MR_ROM:
            return "rom";
        default:
            return "i/o";
        }
    }
    return "i/o";
}

/* Printing order: by address, then by precedence. */
static gint mtree_compare(gconstpointer pa, gconstpointer pb)
{
    const MemoryRegion *a = *(MemoryRegion *const *)pa;
    const MemoryRegion *b = *(MemoryRegion *const *)pb;

    if (a->addr != b->addr) {
        return a->addr < b->addr ? -1 : 1;
    }
    return memory_region_wins(a, b) ? -1 : memory_region_wins(b, a);
}

static void mtree_print_line(GString *out, const MemoryRegion *mr,
                             uint64_t base, int level)
{
    uint64_t last = mr->size ? base + mr_last(mr) : base;

    g_string_append_printf(out, "%*s%016" PRIx64 "-%016" PRIx64
                           " (prio %d, %s): ", level * 2, "", base, last,
                           mr->priority, mtree_kind(mr));
    if (mr->kind == MR_ALIAS && mr->alias) {
        uint64_t a_last = mr->size ? mr->alias_offset + mr_last(mr)
                                   : mr->alias_offset;

        g_string_append_printf(out, "alias %s @%s %016" PRIx64 "-%016" PRIx64,
                               mr->name, mr->alias->name, mr->alias_offset,
                               a_last);
    } else {
        g_string_append(out, mr->name);
    }
    g_string_append(out, mr->enabled ? "\n" : " [disabled]\n");
}

static void mtree_print_mr(GString *out, MemoryRegion *mr, uint64_t base,
                           int level, GPtrArray *alias_targets)
{
    g_autoptr(GPtrArray) subs = NULL;

    mtree_print_line(out, mr, base, level);
    if (mr->kind == MR_ALIAS && mr->alias &&
        !g_ptr_array_find(alias_targets, mr->alias, NULL)) {
        g_ptr_array_add(alias_targets, mr->alias);
    }
    if (level >= MEMORY_MAX_DEPTH) {
        return;
    }
    subs = g_ptr_array_copy(mr->subregions, NULL, NULL);
    g_ptr_array_sort(subs, mtree_compare);
    for (guint i = 0; i < subs->len; i++) {
        MemoryRegion *sub = g_ptr_array_index(subs, i);

        mtree_print_mr(out, sub, base + sub->addr, level + 1, alias_targets);
    }
}

void memory_print_mtree(GString *out)
{
    g_autoptr(GPtrArray) targets = g_ptr_array_new();

    for (guint i = 0; memory_address_spaces &&
                      i < memory_address_spaces->len; i++) {
        AddressSpace *as = g_ptr_array_index(memory_address_spaces, i);

        g_string_append_printf(out, "address-space: %s\n", as->name);
        mtree_print_mr(out, as->root, 0, 1, targets);
        g_string_append_c(out, '\n');
    }
    /* Aliased regions outside the trees, listed once each (may grow). */
    for (guint i = 0; i < targets->len; i++) {
        MemoryRegion *mr = g_ptr_array_index(targets, i);

        g_string_append_printf(out, "memory-region: %s\n", mr->name);
        mtree_print_mr(out, mr, 0, 1, targets);
        g_string_append_c(out, '\n');
    }
}
