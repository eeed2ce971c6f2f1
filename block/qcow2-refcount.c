/*
 * qcow2 refcounts ("Host cluster management"): a refcount table pointing
 * at refcount blocks, each one cluster of refcount_bits-wide entries.
 *
 * Ordering rules that keep a crash harmless:
 *  - increments reach the disk (written and synced) before any L2/L1
 *    entry that points at the cluster: the L2 cache depends on
 *    qcow2_refcount_sync();
 *  - decrements are held back (pending_frees) until the tables that
 *    stopped pointing at the cluster are on disk, so a freed cluster is
 *    neither reused nor counted free while an old pointer may survive.
 */
#include "qcow2.h"

/*
 * Entry @idx of a refcount block.  Widths of 8 bits and more are
 * big-endian; narrower ones pack from the least significant bit of each
 * byte ("Refcount block entry").
 */
uint64_t qcow2_rb_get(const uint8_t *blk, uint64_t idx, int order)
{
    int bits = 1 << order;
    uint64_t v = 0;

    if (bits < 8) {
        uint64_t bit = idx << order;
        return (blk[bit >> 3] >> (bit & 7)) & ((1u << bits) - 1);
    }
    for (int i = 0; i < bits / 8; i++) {
        v = (v << 8) | blk[idx * (bits / 8) + i];
    }
    return v;
}

void qcow2_rb_set(uint8_t *blk, uint64_t idx, int order, uint64_t v)
{
    int bits = 1 << order;

    if (bits < 8) {
        uint64_t bit = idx << order;
        uint8_t mask = ((1u << bits) - 1) << (bit & 7);
        blk[bit >> 3] = (blk[bit >> 3] & ~mask) | ((v << (bit & 7)) & mask);
        return;
    }
    for (int i = bits / 8 - 1; i >= 0; i--) {
        blk[idx * (bits / 8) + i] = v & 0xff;
        v >>= 8;
    }
}

int qcow2_refcount_init(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t bytes = (uint64_t)s->refcount_table_size * 8;
    int ret;

    s->refcount_table = g_try_malloc0(MAX(bytes, 8));
    if (!s->refcount_table) {
        return -ENOMEM;
    }
    ret = bdrv_pread(bs->file, s->refcount_table_offset, bytes,
                     s->refcount_table);
    if (ret < 0) {
        return ret;
    }
    for (uint32_t i = 0; i < s->refcount_table_size; i++) {
        s->refcount_table[i] = GUINT64_FROM_BE(s->refcount_table[i]);
    }
    s->pending_frees = g_array_new(false, false, sizeof(Qcow2PendingFree));
    return 0;
}

/* The refcount block offset for cluster @ci, or 0 when none. */
static uint64_t qcow2_refblock_offset(BDRVQcow2State *s, uint64_t ci)
{
    uint64_t ti = ci >> s->refcount_block_bits;

    if (ti >= s->refcount_table_size) {
        return 0;
    }
    return s->refcount_table[ti] & REFT_OFFSET_MASK;
}

static int qcow2_refblock_get(BlockDriverState *bs, uint64_t rb_off,
                              void **blk)
{
    BDRVQcow2State *s = bs->opaque;

    if (!QLITE_IS_ALIGNED(rb_off, s->cluster_size) ||
        rb_off >= s->file_size) {
        qcow2_signal_corruption(bs, "Refcount block offset %#" PRIx64
                                " invalid (unaligned or past the end of "
                                "the file)", rb_off);
        return -EIO;
    }
    return qcow2_cache_get(bs, s->refcount_cache, rb_off, blk);
}

int qcow2_get_refcount(BlockDriverState *bs, uint64_t ci, uint64_t *rc)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t rb_off = qcow2_refblock_offset(s, ci);
    void *blk;
    int ret;

    *rc = 0;
    if (!rb_off) {
        return 0;
    }
    ret = qcow2_refblock_get(bs, rb_off, &blk);
    if (ret < 0) {
        return ret;
    }
    *rc = qcow2_rb_get(blk, ci & ((1ULL << s->refcount_block_bits) - 1),
                       s->refcount_order);
    qcow2_cache_put(s->refcount_cache, &blk);
    return 0;
}

/* Set a refcount whose block exists. */
static int qcow2_set_refcount_existing(BlockDriverState *bs, uint64_t ci,
                                       uint64_t value)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t rb_off = qcow2_refblock_offset(s, ci);
    void *blk;
    int ret;

    g_assert(rb_off);
    ret = qcow2_refblock_get(bs, rb_off, &blk);
    if (ret < 0) {
        return ret;
    }
    qcow2_rb_set(blk, ci & ((1ULL << s->refcount_block_bits) - 1),
                 s->refcount_order, value);
    qcow2_cache_mark_dirty(s->refcount_cache, blk);
    qcow2_cache_put(s->refcount_cache, &blk);
    if (value == 0) {
        uint64_t off = ci << s->cluster_bits;
        qcow2_cache_discard(s->l2_cache, off);
        qcow2_cache_discard(s->refcount_cache, off);
        s->free_cluster_index = MIN(s->free_cluster_index, ci);
    }
    return 0;
}

/* Number of refcount blocks missing to cover clusters [first, end). */
static uint64_t qcow2_missing_blocks(BDRVQcow2State *s, const uint64_t *tbl,
                                     uint64_t tbl_size, uint64_t first,
                                     uint64_t end)
{
    uint64_t n = 0;

    for (uint64_t ti = first >> s->refcount_block_bits;
         ti <= (end - 1) >> s->refcount_block_bits; ti++) {
        if (ti >= tbl_size || !(tbl[ti] & REFT_OFFSET_MASK)) {
            n++;
        }
    }
    return n;
}

int qcow2_write_refcount_table(BlockDriverState *bs, uint64_t off,
                                 const uint64_t *tbl, uint64_t n,
                                 uint64_t bytes)
{
    uint64_t *be = g_malloc0(bytes);
    int ret;

    for (uint64_t i = 0; i < n; i++) {
        be[i] = GUINT64_TO_BE(tbl[i]);
    }
    ret = bdrv_pwrite(bs->file, off, bytes, be, 0);
    g_free(be);
    return ret;
}

int qcow2_header_set_reftable(BlockDriverState *bs, uint64_t off,
                                     uint32_t clusters)
{
    uint8_t buf[12];
    uint64_t be_off = GUINT64_TO_BE(off);
    uint32_t be_cl = GUINT32_TO_BE(clusters);
    int ret;

    memcpy(buf, &be_off, 8);
    memcpy(buf + 8, &be_cl, 4);
    ret = bdrv_flush(bs->file);
    if (ret == 0) {
        ret = bdrv_pwrite(bs->file, 48, sizeof(buf), buf, 0);
    }
    return ret < 0 ? ret : bdrv_flush(bs->file);
}

/*
 * Grow the refcount table to at least @min_entries.  The new table and
 * the refcount blocks that describe it go at the end of the file; the
 * header switches to it in one write once both are on disk.
 */
static int qcow2_grow_refcount_table(BlockDriverState *bs,
                                     uint64_t min_entries)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t per_cluster = s->cluster_size / 8;
    uint64_t start = qcow2_size_to_clusters(s, s->file_size);
    uint64_t entries = MAX(min_entries, s->refcount_table_size * 2ULL);
    uint64_t tcl, nb = 0, old_off = s->refcount_table_offset;
    uint32_t old_clusters = s->refcount_table_clusters;
    uint64_t *tbl;
    int ret;

    for (;;) {
        tcl = (entries + per_cluster - 1) / per_cluster;
        entries = tcl * per_cluster;
        uint64_t prev;
        nb = 0;
        do {
            prev = nb;
            nb = qcow2_missing_blocks(s, s->refcount_table,
                                      s->refcount_table_size, start,
                                      start + tcl + prev);
        } while (nb != prev);
        if (((start + tcl + nb - 1) >> s->refcount_block_bits) < entries) {
            break;
        }
        entries = ((start + tcl + nb) >> s->refcount_block_bits) + 1;
    }
    if (tcl * s->cluster_size > QCOW2_MAX_REFTABLE_BYTES) {
        return -EFBIG;
    }
    tbl = g_new0(uint64_t, entries);
    memcpy(tbl, s->refcount_table, s->refcount_table_size * 8ULL);
    /* Blocks go right after the table, one per uncovered table index. */
    uint64_t next = start + tcl;
    for (uint64_t ti = start >> s->refcount_block_bits;
         ti <= (start + tcl + nb - 1) >> s->refcount_block_bits; ti++) {
        if (!(tbl[ti] & REFT_OFFSET_MASK)) {
            void *blk;
            tbl[ti] = next << s->cluster_bits;
            ret = qcow2_cache_get_empty(bs, s->refcount_cache, tbl[ti], &blk);
            if (ret < 0) {
                g_free(tbl);
                return ret;
            }
            qcow2_cache_mark_dirty(s->refcount_cache, blk);
            qcow2_cache_put(s->refcount_cache, &blk);
            next++;
        }
    }
    g_free(s->refcount_table);
    s->refcount_table = tbl;
    s->refcount_table_size = entries;
    s->file_size = MAX(s->file_size, next << s->cluster_bits);
    for (uint64_t ci = start; ci < next; ci++) {
        ret = qcow2_set_refcount_existing(bs, ci, 1);
        if (ret < 0) {
            return ret;
        }
    }
    ret = qcow2_cache_write(bs, s->refcount_cache);
    if (ret == 0) {
        ret = qcow2_write_refcount_table(bs, start << s->cluster_bits, tbl,
                                    entries, tcl * s->cluster_size);
    }
    if (ret == 0) {
        ret = qcow2_header_set_reftable(bs, start << s->cluster_bits, tcl);
    }
    if (ret < 0) {
        return ret;
    }
    qcow2_free_clusters_deferred(bs, old_off, (uint64_t)old_clusters <<
                                 s->cluster_bits);
    s->refcount_table_offset = start << s->cluster_bits;
    s->refcount_table_clusters = tcl;
    return 0;
}

/*
 * Where a new refcount block for table index @ti goes: the first free
 * cluster from free_cluster_index on that is either described by an
 * existing block or lies in the block's own range (it then describes
 * itself).  Taking the lowest such cluster means a caller looking for a
 * long free run finds it further up after at most one block per range.
 */
static int qcow2_refblock_place(BlockDriverState *bs, uint64_t ti,
                                uint64_t *ci)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t c = s->free_cluster_index;
    int ret;

    for (;; c++) {
        uint64_t cti = c >> s->refcount_block_bits, rc = 0;
        bool described = cti == ti || (cti < s->refcount_table_size &&
                                       (s->refcount_table[cti] &
                                        REFT_OFFSET_MASK));
        if (!described) {
            /* Nothing can describe it yet: jump to our own range. */
            c = MAX(c, ti << s->refcount_block_bits) - 1;
            if ((c + 1) >> s->refcount_block_bits != ti) {
                c = ti << s->refcount_block_bits;
                break;
            }
            continue;
        }
        ret = qcow2_get_refcount(bs, c, &rc);
        if (ret < 0) {
            return ret;
        }
        if (!rc && c) {
            break;
        }
    }
    *ci = c;
    return 0;
}

/*
 * Make cluster @ci's count of 1 durable in block @rb_off by rewriting
 * the block's on-disk content with that one entry changed: the cached
 * copy may hold counts for clusters whose L2 tables are still cached,
 * and writing those now would leak them on a crash (finding 10).
 */
static int qcow2_refblock_persist_one(BlockDriverState *bs, uint64_t rb_off,
                                      uint64_t ci)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree uint8_t *buf = g_malloc(s->cluster_size);
    int ret = bdrv_pread(bs->file, rb_off, s->cluster_size, buf);

    if (ret < 0) {
        return ret;
    }
    qcow2_rb_set(buf, ci & ((1ULL << s->refcount_block_bits) - 1),
                 s->refcount_order, 1);
    return bdrv_pwrite(bs->file, rb_off, s->cluster_size, buf, 0);
}

/*
 * Make sure a refcount block covers cluster @ci.  Returns 1 when it had
 * to allocate (callers searching for free clusters start over), 0 when
 * the block was there.
 */
static int qcow2_ensure_refblock(BlockDriverState *bs, uint64_t ci)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t ti = ci >> s->refcount_block_bits;
    uint64_t blk_ci;
    void *blk;
    int ret;

    if (ti >= s->refcount_table_size) {
        ret = qcow2_grow_refcount_table(bs, ti + 1);
        return ret < 0 ? ret : 1;
    }
    if (s->refcount_table[ti] & REFT_OFFSET_MASK) {
        return 0;
    }
    if (ti == 0) {
        qcow2_signal_corruption(bs, "Refcount table entry 0 is empty");
        return -EIO;
    }
    ret = qcow2_refblock_place(bs, ti, &blk_ci);
    if (ret < 0) {
        return ret;
    }
    ret = qcow2_cache_get_empty(bs, s->refcount_cache,
                                blk_ci << s->cluster_bits, &blk);
    if (ret < 0) {
        return ret;
    }
    qcow2_cache_mark_dirty(s->refcount_cache, blk);
    qcow2_cache_put(s->refcount_cache, &blk);
    s->refcount_table[ti] = blk_ci << s->cluster_bits;
    s->file_size = MAX(s->file_size, (blk_ci + 1) << s->cluster_bits);
    ret = qcow2_set_refcount_existing(bs, blk_ci, 1);
    if (ret < 0) {
        return ret;
    }
    /*
     * The table entry must be on disk after the block it points at and
     * the count of that block (in itself, or in the block of its range).
     * Nothing more: other counts may be for clusters whose L2 entries
     * are still in the cache, which a crash would leak.
     */
    ret = qcow2_cache_write_one(bs, s->refcount_cache,
                                blk_ci << s->cluster_bits);
    if (ret == 0 && qcow2_refblock_offset(s, blk_ci) !=
        blk_ci << s->cluster_bits) {
        ret = qcow2_refblock_persist_one(bs, qcow2_refblock_offset(s, blk_ci),
                                         blk_ci);
    }
    if (ret == 0) {
        uint64_t be = GUINT64_TO_BE(s->refcount_table[ti]);
        ret = bdrv_flush(bs->file);
        if (ret == 0) {
            ret = bdrv_pwrite(bs->file, s->refcount_table_offset + ti * 8,
                              8, &be, 0);
        }
    }
    return ret < 0 ? ret : 1;
}

int qcow2_set_refcount(BlockDriverState *bs, uint64_t ci, uint64_t value)
{
    int ret;

    /* 1 means something was allocated (a table, then a block): ask again
     * until the block covering @ci is there. */
    for (int tries = 0; tries < 4; tries++) {
        ret = qcow2_ensure_refblock(bs, ci);
        if (ret < 0) {
            return ret;
        }
        if (ret == 0) {
            return qcow2_set_refcount_existing(bs, ci, value);
        }
    }
    return -EIO;
}

int qcow2_update_refcount(BlockDriverState *bs, uint64_t offset,
                          uint64_t len, int64_t delta)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t first = offset >> s->cluster_bits;
    uint64_t end = (offset + len + s->cluster_size - 1) >> s->cluster_bits;
    int ret;

    if (len == 0) {
        return 0;
    }
    for (uint64_t ci = first; ci < end; ci++) {
        uint64_t rc;
        ret = qcow2_get_refcount(bs, ci, &rc);
        if (ret < 0) {
            return ret;
        }
        if ((delta < 0 && rc < (uint64_t)-delta) ||
            (delta > 0 && s->refcount_max - rc < (uint64_t)delta)) {
            qcow2_signal_corruption(bs, "Refcount of cluster %#" PRIx64
                                    " would leave its range (%" PRIu64
                                    " %+" PRId64 ")", ci, rc, delta);
            return delta < 0 ? -EIO : -ERANGE;
        }
        ret = qcow2_set_refcount(bs, ci, rc + delta);
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

/* First run of @n free clusters from @ci on; refblocks may be missing. */
static int qcow2_find_free_run(BlockDriverState *bs, uint64_t n,
                               uint64_t *ci)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t start = *ci, run = 0;
    int ret;

    while (run < n) {
        uint64_t rc;
        ret = qcow2_get_refcount(bs, start + run, &rc);
        if (ret < 0) {
            return ret;
        }
        if (rc) {
            /* Everything below the first free cluster is in use. */
            if (run == 0 && start == s->free_cluster_index) {
                s->free_cluster_index = start + 1;
            }
            start += run + 1;
            run = 0;
        } else {
            run++;
        }
    }
    *ci = start;
    return 0;
}

int64_t qcow2_alloc_clusters(BlockDriverState *bs, uint64_t n)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t ci;
    int ret;

restart:
    ci = s->free_cluster_index;
    ret = qcow2_find_free_run(bs, n, &ci);
    if (ret < 0) {
        return ret;
    }
    if (((ci + n) << s->cluster_bits) >> s->cluster_bits != ci + n ||
        ((ci + n) << s->cluster_bits) > (1ULL << 56)) {
        return -EFBIG;
    }
    for (uint64_t i = ci; i < ci + n; i++) {
        ret = qcow2_ensure_refblock(bs, i);
        if (ret < 0) {
            return ret;
        }
        if (ret > 0) {
            goto restart;
        }
    }
    for (uint64_t i = ci; i < ci + n; i++) {
        ret = qcow2_set_refcount_existing(bs, i, 1);
        if (ret < 0) {
            return ret;
        }
    }
    if (ci == s->free_cluster_index) {
        s->free_cluster_index = ci + n;
    }
    s->file_size = MAX(s->file_size, (ci + n) << s->cluster_bits);
    return ci << s->cluster_bits;
}

int64_t qcow2_alloc_bytes(BlockDriverState *bs, int size)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t off = s->free_byte_offset;
    int64_t cl;
    int ret;

    g_assert(size > 0 && size <= s->cluster_size);
    if (off && qcow2_offset_into_cluster(s, off) + size <= s->cluster_size) {
        /* Another compressed cluster shares this host cluster. */
        ret = qcow2_update_refcount(bs, off, 1, 1);
        if (ret < 0) {
            return ret;
        }
    } else {
        cl = qcow2_alloc_clusters(bs, 1);
        if (cl < 0) {
            return cl;
        }
        off = cl;
    }
    s->free_byte_offset = off + size;
    if (qcow2_offset_into_cluster(s, s->free_byte_offset) == 0) {
        s->free_byte_offset = 0;
    }
    return off;
}

void qcow2_free_clusters_deferred(BlockDriverState *bs, uint64_t offset,
                                  uint64_t bytes)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2PendingFree f = { offset, bytes };

    if (bytes) {
        g_array_append_val(s->pending_frees, f);
    }
}

void qcow2_free_l2_entry_deferred(BlockDriverState *bs, uint64_t l2_entry)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t off, len;

    switch (qcow2_get_cluster_type(l2_entry)) {
    case QCOW2_CLUSTER_NORMAL:
    case QCOW2_CLUSTER_ZERO_ALLOC:
        qcow2_free_clusters_deferred(bs, l2_entry & L2E_OFFSET_MASK,
                                     s->cluster_size);
        break;
    case QCOW2_CLUSTER_COMPRESSED:
        /* One reference per host cluster the sectors touch. */
        qcow2_compressed_range(s, l2_entry, &off, &len);
        qcow2_free_clusters_deferred(bs, off, len);
        break;
    default:
        break;
    }
}

int qcow2_refcount_sync(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (s->lazy_refcounts) {
        return 0;
    }
    ret = qcow2_cache_write(bs, s->refcount_cache);
    if (ret == 0 && s->file_unsynced) {
        ret = bdrv_flush(bs->file);
        if (ret == 0) {
            s->file_unsynced = false;
        }
    }
    return ret;
}

static int qcow2_apply_pending_frees(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    GArray *frees = s->pending_frees;
    int ret = 0;

    s->pending_frees = g_array_new(false, false, sizeof(Qcow2PendingFree));
    for (guint i = 0; i < frees->len && ret == 0; i++) {
        Qcow2PendingFree *f = &g_array_index(frees, Qcow2PendingFree, i);
        ret = qcow2_update_refcount(bs, f->offset, f->bytes, -1);
    }
    g_array_free(frees, true);
    return ret;
}

int qcow2_flush_metadata(BlockDriverState *bs, bool sync)
{
    BDRVQcow2State *s = bs->opaque;
    bool frees = s->pending_frees->len > 0;
    int ret;

    ret = qcow2_cache_write(bs, s->refcount_cache);
    if (ret == 0) {
        ret = qcow2_cache_write(bs, s->l2_cache);
    }
    if (ret == 0 && s->l1_dirty) {
        if (s->file_unsynced) {
            ret = bdrv_flush(bs->file);
        }
        if (ret == 0) {
            ret = qcow2_write_l1(bs);
        }
    }
    if (ret == 0 && (sync || frees)) {
        ret = bdrv_flush(bs->file);
        s->file_unsynced = ret < 0;
    }
    if (ret == 0 && frees) {
        ret = qcow2_apply_pending_frees(bs);
        if (ret == 0) {
            ret = qcow2_cache_write(bs, s->refcount_cache);
        }
        if (ret == 0 && sync) {
            ret = bdrv_flush(bs->file);
        }
    }
    return ret;
}
