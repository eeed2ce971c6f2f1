/*
 * qcow2 internals shared by the qcow2-*.c files.
 *
 * Format facts are from QEMU's docs/interop/qcow2.txt; section names in
 * comments refer to it.
 */
#ifndef QLITE_QCOW2_H
#define QLITE_QCOW2_H

#include "block_int.h"

#define QCOW2_MAGIC 0x514649fbU     /* "QFI\xfb" */
#define QCOW2_V2_HEADER_LEN 72
#define QCOW2_V3_HEADER_LEN 104
#define QCOW2_HEADER_LEN_WRITTEN 112    /* with compression_type + pad */

#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_DEFAULT_CLUSTER_BITS 16
/* Implementation limits, as QEMU's: 32 MiB L1, 8 MiB refcount table. */
#define QCOW2_MAX_L1_BYTES (32 * MiB)
#define QCOW2_MAX_REFTABLE_BYTES (8 * MiB)
#define QCOW2_MAX_SNAPSHOTS 65536
#define QCOW2_MAX_BACKING_NAME 1023

/* Header: incompatible_features (bytes 72-79). */
#define QCOW2_INCOMPAT_DIRTY        (1ULL << 0)
#define QCOW2_INCOMPAT_CORRUPT      (1ULL << 1)
#define QCOW2_INCOMPAT_DATA_FILE    (1ULL << 2)
#define QCOW2_INCOMPAT_COMPRESSION  (1ULL << 3)
#define QCOW2_INCOMPAT_EXTL2        (1ULL << 4)
#define QCOW2_INCOMPAT_SUPPORTED \
    (QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT)
/* compatible_features (bytes 80-87). */
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ULL << 0)
/* autoclear_features (bytes 88-95). */
#define QCOW2_AUTOCLEAR_BITMAPS     (1ULL << 0)
#define QCOW2_AUTOCLEAR_DATA_RAW    (1ULL << 1)

/* Header extension types ("Header extensions"). */
#define QCOW2_EXT_END           0x00000000U
#define QCOW2_EXT_BACKING_FMT   0xe2792acaU
#define QCOW2_EXT_FEATURE_TABLE 0x6803f857U

/*
 * L1 entry:   63: COPIED | 56-62: 0 | 9-55: L2 table offset | 0-8: 0
 * L2 entry:   63: COPIED | 62: COMPRESSED | 0-61: cluster descriptor
 * Standard descriptor: 9-55: host offset | 0: reads as zeroes
 */
#define QCOW_OFLAG_COPIED       (1ULL << 63)
#define QCOW_OFLAG_COMPRESSED   (1ULL << 62)
#define QCOW_OFLAG_ZERO         (1ULL << 0)
#define L1E_OFFSET_MASK         0x00fffffffffffe00ULL
#define L2E_OFFSET_MASK         0x00fffffffffffe00ULL
#define L1E_RESERVED_MASK       0x7f000000000001ffULL
#define REFT_OFFSET_MASK        0xfffffffffffffe00ULL

typedef enum {
    QCOW2_CLUSTER_UNALLOCATED,
    QCOW2_CLUSTER_ZERO_PLAIN,       /* zero flag, no host cluster */
    QCOW2_CLUSTER_ZERO_ALLOC,       /* zero flag with a host cluster */
    QCOW2_CLUSTER_NORMAL,
    QCOW2_CLUSTER_COMPRESSED,
} Qcow2ClusterType;

typedef struct Qcow2Snapshot {
    uint64_t l1_table_offset;
    uint32_t l1_size;
    char *id_str;
    char *name;
    uint64_t disk_size;
    uint64_t vm_state_size;
    uint32_t date_sec;
    uint32_t date_nsec;
    uint64_t vm_clock_nsec;
    uint64_t icount;
    /* Extra data past what we know, kept when rewriting the table. */
    uint32_t extra_data_size;
    uint8_t *unknown_extra;
} Qcow2Snapshot;

typedef struct Qcow2Cache Qcow2Cache;

/* A header extension we do not interpret, kept when rewriting. */
typedef struct Qcow2UnknownExt {
    uint32_t magic;
    uint32_t len;
    uint8_t *data;
} Qcow2UnknownExt;

/* A refcount decrement held back until the next metadata flush. */
typedef struct Qcow2PendingFree {
    uint64_t offset;
    uint64_t bytes;
} Qcow2PendingFree;

typedef struct BDRVQcow2State {
    /* Guards all metadata; data I/O to mapped clusters runs unlocked. */
    GMutex lock;

    int cluster_bits;
    int cluster_size;
    int l2_bits;                    /* log2 of entries per L2 table */
    int l2_size;                    /* entries per L2 table */
    /* Compressed descriptor: offset in bits 0..x-1, sectors x..61. */
    int csize_shift;
    uint64_t csize_mask;
    uint64_t cluster_offset_mask;

    int version;
    uint32_t header_length;
    uint64_t incompatible_features;
    uint64_t compatible_features;
    uint64_t autoclear_features;
    uint8_t compression_type;
    /* Header bytes 104..header_length-1 (additional fields), kept. */
    uint8_t *header_tail;
    GPtrArray *unknown_exts;        /* of Qcow2UnknownExt * */
    bool has_feature_table;

    uint64_t size;                  /* virtual disk size */
    uint64_t l1_table_offset;
    uint32_t l1_size;
    uint64_t *l1_table;             /* host byte order */
    bool l1_dirty;

    int refcount_order;
    int refcount_bits;
    uint64_t refcount_max;
    int refcount_block_bits;        /* log2 of entries per block */
    uint64_t refcount_table_offset;
    uint32_t refcount_table_size;   /* entries */
    uint32_t refcount_table_clusters;
    uint64_t *refcount_table;       /* host byte order */

    Qcow2Cache *l2_cache;
    Qcow2Cache *refcount_cache;
    uint64_t free_cluster_index;
    uint64_t free_byte_offset;      /* packing compressed clusters */
    GArray *pending_frees;          /* of Qcow2PendingFree */

    /* Allocating writes whose data is on its way, L2 not yet updated
     * (Qcow2Inflight, qcow2-inflight.c); alloc_done wakes waiters. */
    GList *inflight;
    GCond alloc_done;

    /* Known length of the image file; beyond it the file reads zero. */
    uint64_t file_size;
    /* Something was written to the file since the last flush of it. */
    bool file_unsynced;

    uint32_t nb_snapshots;
    uint64_t snapshots_offset;
    uint32_t snapshots_size;        /* bytes of the table */
    Qcow2Snapshot *snapshots;

    uint64_t backing_file_offset;
    uint32_t backing_file_size;

    bool lazy_refcounts;
    bool dirty_marked;              /* we set the dirty bit on disk */
    bool corrupt_reported;
    bool read_only;
} BDRVQcow2State;

static inline uint64_t qcow2_align_up(uint64_t x, uint64_t a)
{
    return (x + a - 1) & ~(a - 1);
}

static inline uint64_t qcow2_size_to_clusters(BDRVQcow2State *s,
                                              uint64_t bytes)
{
    return (bytes + s->cluster_size - 1) >> s->cluster_bits;
}

static inline uint64_t qcow2_offset_into_cluster(BDRVQcow2State *s,
                                                 uint64_t off)
{
    return off & (s->cluster_size - 1);
}

/* L1 entries needed to map @size bytes with @cluster_bits. */
static inline uint64_t qcow2_l1_entries_for(uint64_t size, int cluster_bits)
{
    int shift = cluster_bits + (cluster_bits - 3);

    return (size + (1ULL << shift) - 1) >> shift;
}

Qcow2ClusterType qcow2_get_cluster_type(uint64_t l2_entry);

/* Compressed descriptor: host byte range [*off, *off + *len). */
void qcow2_compressed_range(BDRVQcow2State *s, uint64_t l2_entry,
                            uint64_t *off, uint64_t *len);

/* qcow2-cache.c */
Qcow2Cache *qcow2_cache_new(BlockDriverState *bs, int tables,
                            int table_size);
void qcow2_cache_free(Qcow2Cache *c);
int qcow2_cache_get(BlockDriverState *bs, Qcow2Cache *c, uint64_t offset,
                    void **table);
/* Like get, but the table starts zeroed instead of being read. */
int qcow2_cache_get_empty(BlockDriverState *bs, Qcow2Cache *c,
                          uint64_t offset, void **table);
/* The cached table at @offset without reading it (valid under the
 * lock, no reference taken), or NULL. */
void *qcow2_cache_peek(Qcow2Cache *c, uint64_t offset);
void qcow2_cache_put(Qcow2Cache *c, void **table);
void qcow2_cache_mark_dirty(Qcow2Cache *c, void *table);
/* Write dirty tables (after what they depend on); no sync. */
int qcow2_cache_write(BlockDriverState *bs, Qcow2Cache *c);
/* Write the table at @offset if it is cached and dirty; no sync. */
int qcow2_cache_write_one(BlockDriverState *bs, Qcow2Cache *c,
                          uint64_t offset);
bool qcow2_cache_is_dirty(Qcow2Cache *c);
/* Forget every table, dirty ones included (the structure was replaced). */
void qcow2_cache_clear(Qcow2Cache *c);
/* Forget the table at @offset (its cluster was freed). */
void qcow2_cache_discard(Qcow2Cache *c, uint64_t offset);
/* Before writing its tables, @c calls @dep (e.g. refcounts before L2). */
void qcow2_cache_set_dependency(Qcow2Cache *c,
                                int (*dep)(BlockDriverState *bs));

/* qcow2-refcount.c */
/* Entry @idx of a refcount block of 2^@order-bit entries. */
uint64_t qcow2_rb_get(const uint8_t *blk, uint64_t idx, int order);
void qcow2_rb_set(uint8_t *blk, uint64_t idx, int order, uint64_t v);
int qcow2_refcount_init(BlockDriverState *bs);
int qcow2_get_refcount(BlockDriverState *bs, uint64_t cluster_index,
                       uint64_t *refcount);
/* Add @delta to the refcount of every cluster in [offset, offset+len). */
int qcow2_update_refcount(BlockDriverState *bs, uint64_t offset,
                          uint64_t len, int64_t delta);
/* Set the refcount of one cluster (repair). */
int qcow2_set_refcount(BlockDriverState *bs, uint64_t cluster_index,
                       uint64_t value);
/* Allocate @n contiguous clusters; returns the host offset or -errno. */
int64_t qcow2_alloc_clusters(BlockDriverState *bs, uint64_t n);
/* Allocate @size bytes for compressed data (packed, no cluster cross). */
int64_t qcow2_alloc_bytes(BlockDriverState *bs, int size);
/* Drop one reference, deferred until the next metadata flush. */
void qcow2_free_clusters_deferred(BlockDriverState *bs, uint64_t offset,
                                  uint64_t bytes);
void qcow2_free_l2_entry_deferred(BlockDriverState *bs, uint64_t l2_entry);
/* Write @n table entries big-endian at @off, zero-padded to @bytes. */
int qcow2_write_refcount_table(BlockDriverState *bs, uint64_t off,
                               const uint64_t *tbl, uint64_t n,
                               uint64_t bytes);
/* Point the header at a new refcount table (bytes 48-59, one write,
 * between flushes). */
int qcow2_header_set_reftable(BlockDriverState *bs, uint64_t off,
                              uint32_t clusters);
/* Write dirty refcount blocks and sync the file (L2 writes wait on it). */
int qcow2_refcount_sync(BlockDriverState *bs);
/* The ordered metadata flush: refcounts, L2, L1, then deferred frees. */
int qcow2_flush_metadata(BlockDriverState *bs, bool sync);

/* qcow2-cluster.c */
/*
 * Map guest @offset: *host the host offset of @offset (0 when none),
 * *bytes (in: wanted, out: contiguous same-type run), returns the type.
 */
int qcow2_get_host_offset(BlockDriverState *bs, uint64_t offset,
                          uint64_t *bytes, uint64_t *host,
                          uint64_t *l2_entry);
/*
 * Host offset of guest [offset, offset+bytes) when it is one run of
 * normal clusters (for @write also COPIED) whose L2 table is cached:
 * 0 and *host, else -EAGAIN.  No I/O, no corruption reports.
 */
int qcow2_map_cached(BlockDriverState *bs, uint64_t offset, uint64_t bytes,
                     bool write, uint64_t *host);
int qcow2_read_compressed(BlockDriverState *bs, uint64_t l2_entry,
                          uint8_t *cluster_buf);
/*
 * How qcow2_write_cluster_range() left a piece of a write: done under
 * the lock, to be written in place, or to be written to freshly
 * allocated clusters whose L2 entries qcow2_inflight_finish() sets.
 */
typedef enum Qcow2WriteHow {
    QCOW2_WRITE_DONE,
    QCOW2_WRITE_IN_PLACE,
    QCOW2_WRITE_ALLOC,
} Qcow2WriteHow;

typedef struct Qcow2WriteMap {
    Qcow2WriteHow how;
    uint64_t done;          /* guest bytes this piece covers */
    uint64_t host;          /* IN_PLACE: host offset of the data;
                             * ALLOC: host offset of the first cluster */
    uint64_t first;         /* ALLOC: guest offset of the first cluster */
    int n;                  /* ALLOC: clusters */
    bool fresh;             /* ALLOC: past the old end of the file */
} Qcow2WriteMap;

/* Writes: mapping existing writable clusters or allocating. */
int qcow2_write_cluster_range(BlockDriverState *bs, uint64_t offset,
                              uint64_t bytes, const uint8_t *buf,
                              Qcow2WriteMap *m);
/* Set the L2 entries of an ALLOC piece whose data is on disk. */
int qcow2_alloc_finish(BlockDriverState *bs, const Qcow2WriteMap *m);
void qcow2_set_l2_run(BlockDriverState *bs, uint64_t *l2, int l2i, int n,
                      uint64_t host);
/* Whether the old content of a cluster with L2 entry @e reads as zero. */
bool qcow2_old_is_zero(BlockDriverState *bs, uint64_t e);

/* qcow2-inflight.c: allocating writes with their data written unlocked. */
typedef struct Qcow2Inflight {
    uint64_t start;         /* guest bytes [start, end), whole clusters */
    uint64_t end;
} Qcow2Inflight;

void qcow2_inflight_wait_locked(BDRVQcow2State *s, uint64_t offset,
                                uint64_t bytes);
void qcow2_inflight_drain_locked(BDRVQcow2State *s);
int qcow2_inflight_write(BlockDriverState *bs, const Qcow2WriteMap *m,
                         uint64_t offset, const uint8_t *buf);
int qcow2_zero_range(BlockDriverState *bs, uint64_t offset, uint64_t bytes,
                     bool full_discard, bool unmap);
/* Deflate one cluster (@len bytes of data, zero-padded), no lock
 * needed: the compressed length, or -ENOSPC when it does not shrink. */
ssize_t qcow2_compress_cluster(BDRVQcow2State *s, const uint8_t *data,
                               size_t len, uint8_t *out);
/* Store @clen compressed bytes as guest cluster @offset. */
int qcow2_write_compressed_cluster(BlockDriverState *bs, uint64_t offset,
                                   const uint8_t *out, size_t clen);
int qcow2_grow_l1_table(BlockDriverState *bs, uint64_t min_size);
int qcow2_write_l1(BlockDriverState *bs);
/* Validate a table pointer read from the image. */
bool qcow2_host_offset_ok(BlockDriverState *bs, uint64_t off,
                          const char *what, uint64_t guest);

/* qcow2-header.c */
int qcow2_read_header(BlockDriverState *bs, GError **errp);
/* Rewrite the whole header cluster from the state. */
int qcow2_update_header(BlockDriverState *bs);
/* Write the 8-byte incompatible_features field alone. */
int qcow2_write_incompat(BlockDriverState *bs);

/* qcow2.c */
int qcow2_mark_dirty(BlockDriverState *bs);
void qcow2_signal_corruption(BlockDriverState *bs, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);
/*
 * After an operation failed half-way: drop every metadata change made
 * since the last metadata flush (what is on disk is consistent; what is
 * cached may raise refcounts or clear COPIED flags for a snapshot that
 * never came to be) and read the L1 table back.
 */
int qcow2_forget_unflushed(BlockDriverState *bs);

/* qcow2-check.c */
int qcow2_check(BlockDriverState *bs, BdrvCheckResult *res, int fix);
/*
 * Compare the COPIED flags of the active L1/L2 tables with the refcounts;
 * *count gets the mismatches, fixed when @repair.
 */
int qcow2_sync_copied_flags(BlockDriverState *bs, bool repair, bool verbose,
                            int *count);

/* qcow2-rebuild.c */
/*
 * Replace the refcount structure by one built from @refs (the references
 * counted for clusters [0, @end)), placed at cluster @end.
 */
int qcow2_rebuild_refcounts(BlockDriverState *bs, const uint32_t *refs,
                            uint64_t end);

/* qcow2-snapshot.c */
int qcow2_read_snapshots(BlockDriverState *bs, GError **errp);
void qcow2_free_snapshots(BDRVQcow2State *s);
int qcow2_snapshot_list(BlockDriverState *bs, BdrvSnapshotInfo **out);
int qcow2_snapshot_create(BlockDriverState *bs, const char *name,
                          GError **errp);
int qcow2_snapshot_apply(BlockDriverState *bs, const char *name,
                         GError **errp);
int qcow2_snapshot_delete(BlockDriverState *bs, const char *name,
                          GError **errp);
/* Add @delta to every cluster an L1 table reaches (and the L2 tables). */
int qcow2_update_l1_refcounts(BlockDriverState *bs, uint64_t l1_offset,
                              uint32_t l1_size, int delta);

/* qcow2-create.c */
int qcow2_create(const char *filename, QliteOpts *opts, GError **errp);

#endif
