/*
 * The memory API: a tree of MemoryRegions flattened into a sorted view per
 * AddressSpace.
 *
 * Region kinds: RAM (host memory), ROM (host memory, guest writes ignored),
 * I/O (read/write callbacks with declared access sizes), containers (hold
 * subregions at offsets, with priorities) and aliases (a window onto part of
 * another region).  Where subregions overlap, the higher priority wins; at
 * equal priority the one added later wins.  A container with no subregion
 * at an address reads as unassigned (all ones) and ignores writes.
 *
 * Both accelerators and every device go through the same AddressSpaces:
 * address_space_memory and address_space_io.  Topology changes happen under
 * the big lock; listeners (KVM slots, the TCG TLB) hear about each commit.
 */
#ifndef QLITE_MEMORY_H
#define QLITE_MEMORY_H

#include "qlite/osdep.h"

typedef struct MemoryRegion MemoryRegion;
typedef struct AddressSpace AddressSpace;
typedef struct FlatView FlatView;

typedef enum {
    MEMTX_OK = 0,
    MEMTX_ERROR = 1 << 0,           /* device signalled an error */
    MEMTX_DECODE_ERROR = 1 << 1,    /* nothing at that address */
} MemTxResult;

typedef struct MemoryRegionOps {
    uint64_t (*read)(void *opaque, uint64_t addr, unsigned size);
    void (*write)(void *opaque, uint64_t addr, uint64_t val, unsigned size);
    /* What the guest may do; other accesses are ignored (read all ones). */
    struct {
        unsigned min_access_size;   /* 0 means 1 */
        unsigned max_access_size;   /* 0 means 4 */
        bool unaligned;
    } valid;
    /*
     * What the callbacks implement; wider or narrower guest accesses are
     * split or combined (little-endian) to fit.  0 means as valid.
     */
    struct {
        unsigned min_access_size;
        unsigned max_access_size;
    } impl;
} MemoryRegionOps;

typedef enum {
    MR_CONTAINER,
    MR_RAM,
    MR_ROM,
    MR_IO,
    MR_ALIAS,
} MemoryRegionKind;

struct MemoryRegion {
    char *name;
    MemoryRegionKind kind;
    uint64_t size;              /* UINT64_MAX for "the whole space" */
    uint8_t *ram;               /* RAM and ROM */
    bool ram_owned;
    bool readonly;              /* RAM made read-only */
    const MemoryRegionOps *ops;
    void *opaque;
    MemoryRegion *alias;
    uint64_t alias_offset;
    /* placement in the container */
    MemoryRegion *container;
    uint64_t addr;
    int priority;
    bool enabled;
    unsigned order;             /* insertion order, later wins ties */
    GPtrArray *subregions;      /* of MemoryRegion * */
};

/* One piece of a flattened view: [start, start+size) maps to mr+offset. */
typedef struct FlatRange {
    uint64_t start;
    uint64_t size;              /* never 0; last range may end at 2^64 */
    MemoryRegion *mr;           /* terminal region: RAM, ROM or I/O */
    uint64_t offset;            /* offset of start within mr */
    bool readonly;
} FlatRange;

struct FlatView {
    unsigned ref;
    FlatRange *ranges;          /* sorted, non-overlapping */
    unsigned nr;
};

typedef void (*MemoryListenerFn)(AddressSpace *as, FlatView *view,
                                 void *opaque);

struct AddressSpace {
    char *name;
    MemoryRegion *root;
    FlatView *view;             /* current; replaced on commit */
    GPtrArray *listeners;
};

extern AddressSpace address_space_memory;
extern AddressSpace address_space_io;
MemoryRegion *get_system_memory(void);
MemoryRegion *get_system_io(void);
/* Create the two system address spaces (once, at start-up). */
void memory_system_init(void);

void memory_region_init_container(MemoryRegion *mr, const char *name,
                                  uint64_t size);
/* Anonymous zeroed host memory; fails only if the host has none. */
bool memory_region_init_ram(MemoryRegion *mr, const char *name,
                            uint64_t size, GError **errp);
bool memory_region_init_rom(MemoryRegion *mr, const char *name,
                            uint64_t size, GError **errp);
/* RAM over caller-owned host memory (tests, fake memory). */
void memory_region_init_ram_ptr(MemoryRegion *mr, const char *name,
                                uint64_t size, void *ptr);
void memory_region_init_io(MemoryRegion *mr, const MemoryRegionOps *ops,
                           void *opaque, const char *name, uint64_t size);
void memory_region_init_alias(MemoryRegion *mr, const char *name,
                              MemoryRegion *orig, uint64_t offset,
                              uint64_t size);
void memory_region_destroy(MemoryRegion *mr);

void memory_region_add_subregion(MemoryRegion *container, uint64_t offset,
                                 MemoryRegion *sub);
void memory_region_add_subregion_overlap(MemoryRegion *container,
                                         uint64_t offset, MemoryRegion *sub,
                                         int priority);
void memory_region_del_subregion(MemoryRegion *container,
                                 MemoryRegion *sub);
void memory_region_set_enabled(MemoryRegion *mr, bool enabled);
void memory_region_set_address(MemoryRegion *mr, uint64_t addr);
void memory_region_set_alias_offset(MemoryRegion *mr, uint64_t offset);
void memory_region_set_readonly(MemoryRegion *mr, bool readonly);
void *memory_region_get_ram_ptr(MemoryRegion *mr);
uint64_t memory_region_size(MemoryRegion *mr);

/* Batch several topology changes into one re-flatten. */
void memory_region_transaction_begin(void);
void memory_region_transaction_commit(void);

void address_space_init(AddressSpace *as, MemoryRegion *root,
                        const char *name);
void address_space_destroy(AddressSpace *as);
void address_space_add_listener(AddressSpace *as, MemoryListenerFn fn,
                                void *opaque);
void address_space_remove_listener(AddressSpace *as, MemoryListenerFn fn,
                                   void *opaque);

/* The range holding @addr in the current view, or NULL (unassigned). */
const FlatRange *address_space_lookup(AddressSpace *as, uint64_t addr);
FlatView *address_space_get_flatview(AddressSpace *as);   /* +ref */
void flatview_unref(FlatView *view);
const FlatRange *flatview_lookup(FlatView *view, uint64_t addr);
/*
 * Do views @a and @b back [addr, addr + size) alike: the same terminal
 * region at the same offset, or nothing, throughout?  Reads only the
 * views, not their regions (those of an old view may be gone).
 */
bool flatview_same_backing(FlatView *a, FlatView *b, uint64_t addr,
                           uint64_t size);

/* Byte-buffer access; spans regions, splits I/O into allowed sizes. */
MemTxResult address_space_read(AddressSpace *as, uint64_t addr, void *buf,
                               uint64_t len);
MemTxResult address_space_write(AddressSpace *as, uint64_t addr,
                                const void *buf, uint64_t len);
/* One access of 1, 2, 4 or 8 bytes, little-endian. */
MemTxResult address_space_ld(AddressSpace *as, uint64_t addr, unsigned size,
                             uint64_t *val);
MemTxResult address_space_st(AddressSpace *as, uint64_t addr, unsigned size,
                             uint64_t val);

/*
 * I/O through a terminal region (used by the CPU's slow path and qtest):
 * applies the region's valid/impl sizes.
 */
MemTxResult memory_region_dispatch_read(MemoryRegion *mr, uint64_t offset,
                                        unsigned size, uint64_t *val);
MemTxResult memory_region_dispatch_write(MemoryRegion *mr, uint64_t offset,
                                         unsigned size, uint64_t val);

/*
 * DMA: every guest-supplied address and length is checked; an access that
 * wraps past 2^64 or touches unassigned space fails as a whole for writes
 * (nothing is written) and reads.  Never keep the pointer from
 * dma_map() beyond the request.
 */
MemTxResult dma_read(AddressSpace *as, uint64_t addr, void *buf,
                     uint64_t len);
MemTxResult dma_write(AddressSpace *as, uint64_t addr, const void *buf,
                      uint64_t len);
/* Host pointer to [addr, addr+len) if it is all one RAM range, else NULL. */
void *dma_map(AddressSpace *as, uint64_t addr, uint64_t len, bool is_write);

/*
 * Called (with the big lock held) after RAM at guest-physical @addr was
 * written through this API -- device models, DMA (dma_map with is_write,
 * at map time), qtest -- so the CPU can drop code it decoded from there.
 * The CPU's own stores through its TLB do not come here.
 */
typedef void (*RamWriteNotifier)(uint64_t addr, uint64_t len);
void memory_add_ram_write_notifier(RamWriteNotifier fn);

/* "info mtree": the region tree of both spaces. */
void memory_print_mtree(GString *out);

#endif
