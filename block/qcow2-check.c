/*
 * qcow2 consistency check and repair: count every reference to every
 * host cluster (header, tables, L2 tables, data, snapshots, refcount
 * structures), compare with the stored refcounts, and check the COPIED
 * flags of the active tables.  Messages match qemu-img check's.
 */
#include "qcow2.h"

typedef struct Qcow2CheckState {
    BlockDriverState *bs;
    BdrvCheckResult *res;
    uint32_t *refs;         /* references counted, per cluster */
    uint64_t nb_clusters;   /* clusters the file holds */
    uint64_t next_contiguous;
    int fix;
    /* Count no references for the refcount structures (to rebuild it). */
    bool skip_refcounts;
    /* Its table or blocks are past the end of the file, unaligned or on
     * other metadata: -r all rebuilds it rather than write through it. */
    int reftable_errors;
    /* Repairs that later passes no longer see. */
    int rebuilt;
    int zero_entries_fixed;
} Qcow2CheckState;

/* Count one reference to every cluster overlapping [off, off+len). */
static void qcow2_check_inc(Qcow2CheckState *cs, uint64_t off, uint64_t len)
{
    BDRVQcow2State *s = cs->bs->opaque;
    uint64_t first, end;

    if (!len) {
        return;
    }
    first = off >> s->cluster_bits;
    end = (off + len + s->cluster_size - 1) >> s->cluster_bits;
    for (uint64_t ci = first; ci < end; ci++) {
        if (ci >= cs->nb_clusters) {
            fprintf(stderr, "ERROR: cluster %" PRIu64 " (offset %#" PRIx64
                    ") is referenced but lies past the end of the file\n",
                    ci, ci << s->cluster_bits);
            cs->res->corruptions++;
            continue;
        }
        if (cs->refs[ci] < UINT32_MAX) {
            cs->refs[ci]++;
        }
    }
}

static bool qcow2_check_aligned(Qcow2CheckState *cs, uint64_t off,
                                const char *what)
{
    BDRVQcow2State *s = cs->bs->opaque;

    if (!QLITE_IS_ALIGNED(off, s->cluster_size)) {
        fprintf(stderr, "ERROR %s=%" PRIx64 ": Table is not cluster aligned; "
                "entry corrupted\n", what, off);
        cs->res->corruptions++;
        return false;
    }
    return true;
}

static void qcow2_check_frag(Qcow2CheckState *cs, uint64_t off)
{
    BDRVQcow2State *s = cs->bs->opaque;

    cs->res->allocated_clusters++;
    if (cs->next_contiguous && off != cs->next_contiguous) {
        cs->res->fragmented_clusters++;
    }
    cs->next_contiguous = off + s->cluster_size;
}

static void qcow2_check_l2_entry(Qcow2CheckState *cs, uint64_t e,
                                 bool active)
{
    BDRVQcow2State *s = cs->bs->opaque;
    uint64_t off, len;

    switch (qcow2_get_cluster_type(e)) {
    case QCOW2_CLUSTER_COMPRESSED:
        if (e & QCOW_OFLAG_COPIED) {
            fprintf(stderr, "ERROR: coffset=0x%" PRIx64 ": Compressed "
                    "cluster has the COPIED flag set\n",
                    e & s->cluster_offset_mask);
            cs->res->corruptions++;
        }
        qcow2_compressed_range(s, e, &off, &len);
        if (active) {
            cs->res->allocated_clusters++;
            cs->res->compressed_clusters++;
            cs->res->fragmented_clusters++;
            cs->next_contiguous = 0;
        }
        qcow2_check_inc(cs, off, len);
        break;
    case QCOW2_CLUSTER_NORMAL:
    case QCOW2_CLUSTER_ZERO_ALLOC:
        off = e & L2E_OFFSET_MASK;
        if (!QLITE_IS_ALIGNED(off, s->cluster_size) || (e & 0x1fe)) {
            fprintf(stderr, "ERROR offset=%" PRIx64 ": Cluster is not "
                    "properly aligned; L2 entry corrupted\n", off);
            cs->res->corruptions++;
            break;
        }
        if (active) {
            qcow2_check_frag(cs, off);
        }
        qcow2_check_inc(cs, off, s->cluster_size);
        break;
    default:
        break;
    }
}

/*
 * A zero cluster whose preallocated host offset is unaligned: with -r all
 * it becomes a plain zero cluster (it reads as zeroes either way), as
 * qemu-img repairs it.
 */
static void qcow2_check_fix_zero_entry(Qcow2CheckState *cs, uint64_t *l2,
                                       int k)
{
    BDRVQcow2State *s = cs->bs->opaque;
    uint64_t e = GUINT64_FROM_BE(l2[k]);

    if (!(cs->fix & BDRV_FIX_ERRORS) ||
        qcow2_get_cluster_type(e) != QCOW2_CLUSTER_ZERO_ALLOC ||
        (QLITE_IS_ALIGNED(e & L2E_OFFSET_MASK, s->cluster_size) &&
         !(e & 0x1fe))) {
        return;
    }
    fprintf(stderr, "Repairing offset=%" PRIx64 ": Preallocated cluster is "
            "not properly aligned; L2 entry corrupted.\n",
            (uint64_t)(e & L2E_OFFSET_MASK));
    l2[k] = GUINT64_TO_BE(QCOW_OFLAG_ZERO);
    qcow2_cache_mark_dirty(s->l2_cache, l2);
    cs->zero_entries_fixed++;
}

static int qcow2_check_l1(Qcow2CheckState *cs, const uint64_t *l1,
                          uint32_t l1_size, bool active)
{
    BDRVQcow2State *s = cs->bs->opaque;

    for (uint32_t i = 0; i < l1_size; i++) {
        uint64_t l2_off = l1[i] & L1E_OFFSET_MASK;
        uint64_t *l2;
        int ret;

        if (!l2_off) {
            continue;
        }
        if (!qcow2_check_aligned(cs, l2_off, "l2_offset")) {
            continue;
        }
        qcow2_check_inc(cs, l2_off, s->cluster_size);
        if (l2_off >= s->file_size) {
            continue;
        }
        ret = qcow2_cache_get(cs->bs, s->l2_cache, l2_off, (void **)&l2);
        if (ret < 0) {
            fprintf(stderr, "ERROR: I/O error reading the L2 table at %#"
                    PRIx64 "\n", l2_off);
            cs->res->check_errors++;
            continue;
        }
        /* Like qemu-img, fragmentation is counted within an L2 table. */
        cs->next_contiguous = 0;
        for (int k = 0; k < s->l2_size; k++) {
            if (active) {
                qcow2_check_fix_zero_entry(cs, l2, k);
            }
            qcow2_check_l2_entry(cs, GUINT64_FROM_BE(l2[k]), active);
        }
        qcow2_cache_put(s->l2_cache, (void **)&l2);
    }
    return 0;
}

static int qcow2_check_snapshots(Qcow2CheckState *cs)
{
    BDRVQcow2State *s = cs->bs->opaque;

    qcow2_check_inc(cs, s->snapshots_offset, s->snapshots_size);
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        Qcow2Snapshot *sn = &s->snapshots[i];
        uint64_t bytes = (uint64_t)sn->l1_size * 8;
        g_autofree uint64_t *l1 = g_malloc0(MAX(bytes, 8));

        if (!qcow2_check_aligned(cs, sn->l1_table_offset, "l1_offset")) {
            continue;
        }
        qcow2_check_inc(cs, sn->l1_table_offset, bytes);
        if (bdrv_pread(cs->bs->file, sn->l1_table_offset, bytes, l1) < 0) {
            cs->res->check_errors++;
            continue;
        }
        for (uint32_t k = 0; k < sn->l1_size; k++) {
            l1[k] = GUINT64_FROM_BE(l1[k]);
        }
        qcow2_check_l1(cs, l1, sn->l1_size, false);
    }
    return 0;
}

static void qcow2_check_reftable(Qcow2CheckState *cs)
{
    BDRVQcow2State *s = cs->bs->opaque;
    uint64_t rt_bytes = (uint64_t)s->refcount_table_clusters <<
                        s->cluster_bits;

    if (s->refcount_table_offset < (uint64_t)s->cluster_size ||
        s->refcount_table_offset + rt_bytes > s->file_size) {
        fprintf(stderr, "ERROR refcount table at %#" PRIx64 " (%" PRIu64
                " bytes) overlaps the header or lies past the end of the "
                "file\n", s->refcount_table_offset, rt_bytes);
        cs->res->corruptions++;
        cs->reftable_errors++;
    }
    qcow2_check_inc(cs, s->refcount_table_offset, rt_bytes);
    for (uint32_t i = 0; i < s->refcount_table_size; i++) {
        uint64_t off = s->refcount_table[i] & REFT_OFFSET_MASK;
        if (!off) {
            continue;
        }
        if (!QLITE_IS_ALIGNED(off, s->cluster_size) ||
            off >= s->file_size) {
            fprintf(stderr, "ERROR refcount block %" PRIu32 " is not "
                    "cluster aligned or past the end of the file; refcount "
                    "table entry corrupted\n", i);
            cs->res->corruptions++;
            cs->reftable_errors++;
            continue;
        }
        qcow2_check_inc(cs, off, s->cluster_size);
    }
}

/* Count all references; refs[] sized from the file. */
static int qcow2_check_count(Qcow2CheckState *cs)
{
    BDRVQcow2State *s = cs->bs->opaque;

    cs->nb_clusters = qcow2_size_to_clusters(s, s->file_size);
    g_free(cs->refs);
    cs->refs = g_try_new0(uint32_t, MAX(cs->nb_clusters, 1));
    if (!cs->refs) {
        return -ENOMEM;
    }
    cs->next_contiguous = 0;
    qcow2_check_inc(cs, 0, s->cluster_size);
    qcow2_check_inc(cs, s->l1_table_offset, (uint64_t)s->l1_size * 8);
    qcow2_check_l1(cs, s->l1_table, s->l1_size, true);
    qcow2_check_snapshots(cs);
    if (!cs->skip_refcounts) {
        qcow2_check_reftable(cs);
    }
    return 0;
}

/* A refcount structure cluster that something else uses as well. */
static void qcow2_check_reftable_shared(Qcow2CheckState *cs)
{
    BDRVQcow2State *s = cs->bs->opaque;
    uint64_t first = s->refcount_table_offset >> s->cluster_bits;

    for (uint64_t ci = first; ci < MIN(first + s->refcount_table_clusters,
                                       cs->nb_clusters); ci++) {
        if (cs->refs[ci] > 1) {
            fprintf(stderr, "ERROR refcount table cluster %" PRIu64 " is "
                    "also used as other metadata\n", ci);
            cs->reftable_errors++;
        }
    }
    for (uint32_t i = 0; i < s->refcount_table_size; i++) {
        uint64_t ci = (s->refcount_table[i] & REFT_OFFSET_MASK) >>
                      s->cluster_bits;
        if (ci && ci < cs->nb_clusters && cs->refs[ci] > 1) {
            fprintf(stderr, "ERROR refcount block %" PRIu32 " refcount=%"
                    PRIu32 ": it is also used as other metadata\n", i,
                    cs->refs[ci]);
            cs->reftable_errors++;
        }
    }
}

/* Where a rebuilt structure may go: past the file and the active L1
 * table, unless that table lies absurdly far out. */
static uint64_t qcow2_check_rebuild_start(Qcow2CheckState *cs)
{
    BDRVQcow2State *s = cs->bs->opaque;
    uint64_t l1_end = qcow2_size_to_clusters(s, s->l1_table_offset +
                                             (uint64_t)s->l1_size * 8);

    if (l1_end > cs->nb_clusters &&
        l1_end - cs->nb_clusters <= QCOW2_MAX_L1_BYTES >> s->cluster_bits) {
        return l1_end;
    }
    return cs->nb_clusters;
}

/* Count again without the refcount structures and replace them. */
static int qcow2_check_rebuild(Qcow2CheckState *cs)
{
    BdrvCheckResult saved = *cs->res;
    g_autofree uint32_t *refs = NULL;
    uint64_t end;
    int ret;

    fprintf(stderr, "Rebuilding refcount structure\n");
    cs->skip_refcounts = true;
    ret = qcow2_check_count(cs);
    cs->skip_refcounts = false;
    *cs->res = saved;
    if (ret < 0) {
        return ret;
    }
    end = qcow2_check_rebuild_start(cs);
    refs = g_try_new0(uint32_t, MAX(end, 1));
    if (!refs) {
        return -ENOMEM;
    }
    memcpy(refs, cs->refs, cs->nb_clusters * sizeof(uint32_t));
    ret = qcow2_rebuild_refcounts(cs->bs, refs, end);
    if (ret == 0) {
        cs->rebuilt = MAX(cs->reftable_errors, 1);
    }
    return ret;
}

/* Before repairing, give every referenced cluster a refcount block. */
static int qcow2_check_ensure_blocks(Qcow2CheckState *cs, bool *changed)
{
    BDRVQcow2State *s = cs->bs->opaque;
    uint64_t per = 1ULL << s->refcount_block_bits;

    *changed = false;
    for (uint64_t ci = 0; ci < cs->nb_clusters; ci++) {
        uint64_t ti = ci >> s->refcount_block_bits, rc;
        bool has = ti < s->refcount_table_size &&
                   (s->refcount_table[ti] & REFT_OFFSET_MASK);
        int ret;

        if (has || !cs->refs[ci]) {
            if (has) {
                ci = (ti + 1) * per - 1;
            }
            continue;
        }
        ret = qcow2_get_refcount(cs->bs, ci, &rc);
        if (ret == 0) {
            ret = qcow2_set_refcount(cs->bs, ci, rc);
        }
        if (ret < 0) {
            return ret;
        }
        *changed = true;
        ci = (ti + 1) * per - 1;
    }
    return 0;
}

static void qcow2_check_compare_one(Qcow2CheckState *cs, uint64_t ci,
                                    uint64_t rc, uint64_t ref)
{
    BdrvCheckResult *res = cs->res;
    bool leak = rc > ref;
    bool fix = leak ? (cs->fix & BDRV_FIX_LEAKS) : (cs->fix & BDRV_FIX_ERRORS);

    fprintf(stderr, "%s cluster %" PRIu64 " refcount=%" PRIu64
            " reference=%" PRIu64 "\n",
            fix ? "Repairing" : leak ? "Leaked" : "ERROR", ci, rc, ref);
    if (fix && qcow2_set_refcount(cs->bs, ci, ref) == 0) {
        if (leak) {
            res->leaks_fixed++;
        } else {
            res->corruptions_fixed++;
        }
        rc = ref;
    }
    if (leak) {
        res->leaks++;
    } else {
        res->corruptions++;
    }
}

/* Compare the clusters one refcount block describes. */
static void qcow2_check_compare_block(Qcow2CheckState *cs, uint32_t ti,
                                      uint64_t *last_used)
{
    BDRVQcow2State *s = cs->bs->opaque;
    uint64_t per = 1ULL << s->refcount_block_bits;
    uint64_t end = MIN((ti + 1) * per, cs->nb_clusters);
    uint64_t rb_off = s->refcount_table[ti] & REFT_OFFSET_MASK;
    void *blk = NULL;

    if (rb_off && (!QLITE_IS_ALIGNED(rb_off, s->cluster_size) ||
                   rb_off >= s->file_size ||
                   qcow2_cache_get(cs->bs, s->refcount_cache, rb_off,
                                   &blk) < 0)) {
        cs->res->check_errors++;
        return;
    }
    for (uint64_t ci = ti * per; ci < end; ci++) {
        uint64_t rc = blk ? qcow2_rb_get(blk, ci - ti * per,
                                         s->refcount_order) : 0;
        if (rc != cs->refs[ci]) {
            /* Repairs go through the cache; let go of our block. */
            qcow2_cache_put(s->refcount_cache, &blk);
            qcow2_check_compare_one(cs, ci, rc, cs->refs[ci]);
            qcow2_get_refcount(cs->bs, ci, &rc);
            if (rb_off && qcow2_cache_get(cs->bs, s->refcount_cache, rb_off,
                                          &blk) < 0) {
                cs->res->check_errors++;
                return;
            }
        }
        if (rc) {
            *last_used = ci + 1;
        }
    }
    qcow2_cache_put(s->refcount_cache, &blk);
}

static int qcow2_check_compare(Qcow2CheckState *cs)
{
    BDRVQcow2State *s = cs->bs->opaque;
    uint64_t per = 1ULL << s->refcount_block_bits;
    uint64_t last_used = 0;

    /* As qemu-img: clusters past the end of the file are not judged. */
    for (uint32_t ti = 0; ti < s->refcount_table_size &&
         (uint64_t)ti * per < cs->nb_clusters; ti++) {
        qcow2_check_compare_block(cs, ti, &last_used);
    }
    cs->res->image_end_offset = last_used << s->cluster_bits;
    return 0;
}

static bool qcow2_copied_wrong(BlockDriverState *bs, uint64_t e,
                               uint64_t *rc)
{
    BDRVQcow2State *s = bs->opaque;

    *rc = 0;
    if (qcow2_get_refcount(bs, (e & L2E_OFFSET_MASK) >> s->cluster_bits,
                           rc) < 0) {
        return false;
    }
    return (*rc == 1) != ((e & QCOW_OFLAG_COPIED) != 0);
}

static int qcow2_sync_copied_l2(BlockDriverState *bs, uint64_t l2_off,
                                bool repair, bool verbose, int *count)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t *l2, rc;
    int ret = qcow2_cache_get(bs, s->l2_cache, l2_off, (void **)&l2);

    if (ret < 0) {
        return ret;
    }
    for (int k = 0; k < s->l2_size; k++) {
        uint64_t e = GUINT64_FROM_BE(l2[k]);
        Qcow2ClusterType t = qcow2_get_cluster_type(e);
        if ((t != QCOW2_CLUSTER_NORMAL && t != QCOW2_CLUSTER_ZERO_ALLOC) ||
            !qcow2_copied_wrong(bs, e, &rc)) {
            continue;
        }
        if (verbose) {
            fprintf(stderr, "%s OFLAG_COPIED data cluster: l2_entry=%"
                    PRIx64 " refcount=%" PRIu64 "\n",
                    repair ? "Repairing" : "ERROR", e, rc);
        }
        (*count)++;
        if (repair) {
            e = rc == 1 ? e | QCOW_OFLAG_COPIED : e & ~QCOW_OFLAG_COPIED;
            l2[k] = GUINT64_TO_BE(e);
            qcow2_cache_mark_dirty(s->l2_cache, l2);
        }
    }
    qcow2_cache_put(s->l2_cache, (void **)&l2);
    return 0;
}

int qcow2_sync_copied_flags(BlockDriverState *bs, bool repair, bool verbose,
                            int *count)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t rc;
    int ret = 0;

    *count = 0;
    for (uint32_t i = 0; i < s->l1_size && ret == 0; i++) {
        uint64_t e = s->l1_table[i], off = e & L1E_OFFSET_MASK;
        if (!off || !QLITE_IS_ALIGNED(off, s->cluster_size) ||
            off >= s->file_size) {
            continue;
        }
        if (qcow2_copied_wrong(bs, e, &rc)) {
            if (verbose) {
                fprintf(stderr, "%s OFLAG_COPIED L2 cluster: l1_index=%"
                        PRIu32 " l1_entry=%" PRIx64 " refcount=%" PRIu64
                        "\n", repair ? "Repairing" : "ERROR", i, e, rc);
            }
            (*count)++;
            if (repair) {
                s->l1_table[i] = rc == 1 ? e | QCOW_OFLAG_COPIED
                                         : e & ~QCOW_OFLAG_COPIED;
                s->l1_dirty = true;
            }
        }
        /* Flags count in every L2 table the active L1 reaches. */
        ret = qcow2_sync_copied_l2(bs, off, repair, verbose, count);
    }
    return ret;
}

int qcow2_check(BlockDriverState *bs, BdrvCheckResult *res, int fix)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2CheckState cs = { .bs = bs, .res = res, .fix = fix };
    int ret = 0, copied = 0;
    bool changed = true;

    if (fix && s->read_only) {
        return -EACCES;
    }
    if (!s->read_only) {
        ret = qcow2_flush_metadata(bs, false);
    }
    if (ret == 0) {
        ret = qcow2_check_count(&cs);
    }
    if (ret == 0) {
        qcow2_check_reftable_shared(&cs);
        if (cs.reftable_errors && (fix & BDRV_FIX_ERRORS)) {
            ret = qcow2_check_rebuild(&cs);
        }
    }
    for (int pass = 0; ret == 0 && changed && pass < 4; pass++) {
        memset(res, 0, sizeof(*res));
        cs.reftable_errors = 0;
        ret = qcow2_check_count(&cs);
        changed = false;
        if (ret == 0 && (fix & BDRV_FIX_ERRORS)) {
            ret = qcow2_check_ensure_blocks(&cs, &changed);
        }
    }
    if (ret == 0) {
        ret = qcow2_check_compare(&cs);
    }
    if (ret == 0) {
        bool repair = (fix & BDRV_FIX_ERRORS) != 0;
        ret = qcow2_sync_copied_flags(bs, repair, true, &copied);
        res->corruptions += copied;
        if (repair) {
            res->corruptions_fixed += copied;
        }
        /* What the rebuild and the zero-entry repairs fixed no later
         * pass sees. */
        res->corruptions += cs.rebuilt + cs.zero_entries_fixed;
        res->corruptions_fixed += cs.rebuilt + cs.zero_entries_fixed;
    }
    res->total_clusters = qcow2_size_to_clusters(s, s->size);
    res->has_frag_info = true;
    if (ret == 0 && fix && !s->read_only) {
        ret = qcow2_flush_metadata(bs, true);
    }
    /* Consistent again after a repair: the image may be written again,
     * as qemu-img check -r leaves it. */
    if (ret == 0 && fix && !s->read_only &&
        (s->incompatible_features & QCOW2_INCOMPAT_CORRUPT) &&
        res->corruptions == res->corruptions_fixed && !res->check_errors) {
        s->incompatible_features &= ~QCOW2_INCOMPAT_CORRUPT;
        ret = qcow2_write_incompat(bs);
    }
    g_free(cs.refs);
    return ret;
}
