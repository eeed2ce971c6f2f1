/*
 * Rebuild the refcount structure from scratch (check -r all), for images
 * whose refcount table lies past the end of the file, overlaps other
 * metadata or points at refcount blocks that cannot be right: repairing
 * refcounts one by one through such a table would write into whatever
 * it overlaps.
 *
 * The new table and its blocks go past everything the image uses; the
 * header switches to them in one write once they are on disk, so a
 * crash during the rebuild leaves the old structure in place.
 */
#include "qcow2.h"

/* Refcount table clusters (*tcl) and blocks (*nblk) for a structure
 * placed at cluster @end that also covers itself. */
static void qcow2_rebuild_layout(BDRVQcow2State *s, uint64_t end,
                                 uint64_t *tcl, uint64_t *nblk)
{
    uint64_t per_blk = 1ULL << s->refcount_block_bits;
    uint64_t per_tcl = s->cluster_size / 8;
    uint64_t t = 1, b = 0;

    for (;;) {
        uint64_t nb = (end + t + b + per_blk - 1) / per_blk;
        uint64_t nt = (nb + per_tcl - 1) / per_tcl;
        if (nb == b && nt == t) {
            break;
        }
        b = nb;
        t = nt;
    }
    *tcl = t;
    *nblk = b;
}

/* Write refcount block @i: counts from @refs below @end, 1 above. */
static int qcow2_rebuild_block(BlockDriverState *bs, const uint32_t *refs,
                               uint64_t end, uint64_t total, uint64_t i,
                               uint64_t off, uint8_t *buf)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t per_blk = 1ULL << s->refcount_block_bits;

    memset(buf, 0, s->cluster_size);
    for (uint64_t ci = i * per_blk; ci < MIN((i + 1) * per_blk, total);
         ci++) {
        uint64_t v = ci < end ? refs[ci] : 1;
        qcow2_rb_set(buf, ci - i * per_blk, s->refcount_order,
                     MIN(v, s->refcount_max));
    }
    return bdrv_pwrite(bs->file, off, s->cluster_size, buf, 0);
}

int qcow2_rebuild_refcounts(BlockDriverState *bs, const uint32_t *refs,
                            uint64_t end)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t tcl, nblk, total, entries;
    g_autofree uint64_t *tbl = NULL;
    g_autofree uint8_t *buf = g_malloc(s->cluster_size);
    int ret = 0;

    qcow2_rebuild_layout(s, end, &tcl, &nblk);
    if (tcl << s->cluster_bits > QCOW2_MAX_REFTABLE_BYTES) {
        return -EFBIG;
    }
    total = end + tcl + nblk;
    entries = tcl * (s->cluster_size / 8);
    tbl = g_new0(uint64_t, entries);
    for (uint64_t i = 0; i < nblk && ret == 0; i++) {
        tbl[i] = (end + tcl + i) << s->cluster_bits;
        ret = qcow2_rebuild_block(bs, refs, end, total, i, tbl[i], buf);
    }
    if (ret == 0) {
        ret = qcow2_write_refcount_table(bs, end << s->cluster_bits, tbl,
                                         entries, tcl << s->cluster_bits);
    }
    if (ret == 0) {
        ret = qcow2_header_set_reftable(bs, end << s->cluster_bits, tcl);
    }
    if (ret < 0) {
        return ret;
    }
    /* The old blocks are plain clusters now: forget what we cached. */
    qcow2_cache_clear(s->refcount_cache);
    g_free(s->refcount_table);
    s->refcount_table = g_steal_pointer(&tbl);
    s->refcount_table_size = entries;
    s->refcount_table_offset = end << s->cluster_bits;
    s->refcount_table_clusters = tcl;
    s->file_size = MAX(s->file_size, total << s->cluster_bits);
    s->free_cluster_index = 0;
    return 0;
}
