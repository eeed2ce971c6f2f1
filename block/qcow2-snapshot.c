/*
 * qcow2 internal snapshots ("Snapshots"): a table of entries, each with
 * its own L1 table that shares L2 tables and data clusters with the
 * active state through refcounts.
 *
 * Entry layout:  0 l1_table_offset | 8 l1_size | 12 id_len | 14 name_len
 *   16 date_sec | 20 date_nsec | 24 vm_clock_nsec | 32 vm_state_size
 *   36 extra_data_size | 40 extra data (40 vm_state_size_large,
 *   48 disk_size, 56 icount) | id | name | padding to 8
 */
#include "qcow2.h"

#define QCOW2_SN_FIXED 40
#define QCOW2_SN_EXTRA_WRITTEN 24
#define QCOW2_SN_MAX_EXTRA 1024
#define QCOW2_SN_MAX_TABLE (64 * MiB)

static uint64_t sn_rd(const uint8_t *p, int bytes)
{
    uint64_t v = 0;

    for (int i = 0; i < bytes; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

static void sn_wr(uint8_t *p, int bytes, uint64_t v)
{
    for (int i = bytes - 1; i >= 0; i--) {
        p[i] = v & 0xff;
        v >>= 8;
    }
}

void qcow2_free_snapshots(BDRVQcow2State *s)
{
    for (uint32_t i = 0; s->snapshots && i < s->nb_snapshots; i++) {
        g_free(s->snapshots[i].id_str);
        g_free(s->snapshots[i].name);
        g_free(s->snapshots[i].unknown_extra);
    }
    g_clear_pointer(&s->snapshots, g_free);
}

static void qcow2_parse_sn_extra(Qcow2Snapshot *sn, const uint8_t *ex,
                                 uint32_t len)
{
    sn->icount = UINT64_MAX;
    if (len >= 8) {
        sn->vm_state_size = sn_rd(ex, 8);
    }
    if (len >= 16) {
        sn->disk_size = sn_rd(ex + 8, 8);
    }
    if (len >= 24) {
        sn->icount = sn_rd(ex + 16, 8);
    }
    if (len > QCOW2_SN_EXTRA_WRITTEN) {
        sn->unknown_extra = g_memdup2(ex + QCOW2_SN_EXTRA_WRITTEN,
                                      len - QCOW2_SN_EXTRA_WRITTEN);
    }
}

/* Parse one entry at @p (@avail bytes left); returns its length or 0. */
static size_t qcow2_parse_sn(BlockDriverState *bs, Qcow2Snapshot *sn,
                             const uint8_t *p, size_t avail, GError **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint32_t extra, id_len, name_len;
    size_t len;

    if (avail < QCOW2_SN_FIXED) {
        error_setg(errp, "Snapshot table (snapshots_offset) is truncated");
        return 0;
    }
    sn->l1_table_offset = sn_rd(p, 8);
    sn->l1_size = sn_rd(p + 8, 4);
    id_len = sn_rd(p + 12, 2);
    name_len = sn_rd(p + 14, 2);
    sn->date_sec = sn_rd(p + 16, 4);
    sn->date_nsec = sn_rd(p + 20, 4);
    sn->vm_clock_nsec = sn_rd(p + 24, 8);
    sn->vm_state_size = sn_rd(p + 32, 4);
    extra = sn_rd(p + 36, 4);
    sn->disk_size = s->size;
    len = QCOW2_SN_FIXED + (size_t)extra + id_len + name_len;
    if (extra > QCOW2_SN_MAX_EXTRA || len > avail) {
        error_setg(errp, "Snapshot table entry is too long (extra_data_size "
                   "%" PRIu32 ")", extra);
        return 0;
    }
    if (!QLITE_IS_ALIGNED(sn->l1_table_offset, s->cluster_size) ||
        (uint64_t)sn->l1_size * 8 > QCOW2_MAX_L1_BYTES ||
        sn->l1_table_offset + sn->l1_size * 8ULL > s->file_size) {
        error_setg(errp, "Snapshot L1 table (l1_table_offset %#" PRIx64
                   ", l1_size %" PRIu32 ") is invalid", sn->l1_table_offset,
                   sn->l1_size);
        return 0;
    }
    sn->extra_data_size = extra;
    qcow2_parse_sn_extra(sn, p + QCOW2_SN_FIXED, extra);
    sn->id_str = g_strndup((const char *)p + QCOW2_SN_FIXED + extra, id_len);
    sn->name = g_strndup((const char *)p + QCOW2_SN_FIXED + extra + id_len,
                         name_len);
    return qcow2_align_up(len, 8);
}

int qcow2_read_snapshots(BlockDriverState *bs, GError **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t avail, off = 0;
    g_autofree uint8_t *buf = NULL;
    int ret;

    s->snapshots = g_new0(Qcow2Snapshot, MAX(s->nb_snapshots, 1));
    if (!s->nb_snapshots) {
        return 0;
    }
    if (s->snapshots_offset >= s->file_size ||
        s->snapshots_offset < (uint64_t)s->cluster_size) {
        error_setg(errp, "snapshots_offset %#" PRIx64 " is outside the "
                   "file", s->snapshots_offset);
        return -EINVAL;
    }
    avail = MIN(s->file_size - s->snapshots_offset, QCOW2_SN_MAX_TABLE);
    avail = MIN(avail, (uint64_t)s->nb_snapshots *
                (QCOW2_SN_FIXED + QCOW2_SN_MAX_EXTRA + 2 * 65536 + 8));
    buf = g_try_malloc(avail);
    if (!buf) {
        error_setg(errp, "Snapshot table is too large");
        return -ENOMEM;
    }
    ret = bdrv_pread(bs->file, s->snapshots_offset, avail, buf);
    for (uint32_t i = 0; ret == 0 && i < s->nb_snapshots; i++) {
        size_t len = qcow2_parse_sn(bs, &s->snapshots[i], buf + off,
                                    avail - off, errp);
        if (!len) {
            return -EINVAL;
        }
        off += len;
    }
    if (ret < 0) {
        error_setg(errp, "Could not read the snapshot table: %s",
                   g_strerror(-ret));
        return ret;
    }
    s->snapshots_size = off;
    return 0;
}

int qcow2_snapshot_list(BlockDriverState *bs, BdrvSnapshotInfo **out)
{
    BDRVQcow2State *s = bs->opaque;
    BdrvSnapshotInfo *l = g_new0(BdrvSnapshotInfo, MAX(s->nb_snapshots, 1));

    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        Qcow2Snapshot *sn = &s->snapshots[i];
        l[i].id_str = g_strdup(sn->id_str);
        l[i].name = g_strdup(sn->name);
        l[i].vm_state_size = sn->vm_state_size;
        l[i].date_sec = sn->date_sec;
        l[i].date_nsec = sn->date_nsec;
        l[i].vm_clock_nsec = sn->vm_clock_nsec;
        l[i].icount = sn->icount;
    }
    *out = l;
    return s->nb_snapshots;
}

static size_t qcow2_put_sn(uint8_t *p, const Qcow2Snapshot *sn)
{
    uint32_t extra = QCOW2_SN_EXTRA_WRITTEN +
        (sn->unknown_extra ? sn->extra_data_size - QCOW2_SN_EXTRA_WRITTEN
                           : 0);
    size_t id_len = strlen(sn->id_str), name_len = strlen(sn->name);

    sn_wr(p, 8, sn->l1_table_offset);
    sn_wr(p + 8, 4, sn->l1_size);
    sn_wr(p + 12, 2, id_len);
    sn_wr(p + 14, 2, name_len);
    sn_wr(p + 16, 4, sn->date_sec);
    sn_wr(p + 20, 4, sn->date_nsec);
    sn_wr(p + 24, 8, sn->vm_clock_nsec);
    sn_wr(p + 32, 4, MIN(sn->vm_state_size, UINT32_MAX));
    sn_wr(p + 36, 4, extra);
    sn_wr(p + 40, 8, sn->vm_state_size);
    sn_wr(p + 48, 8, sn->disk_size);
    sn_wr(p + 56, 8, sn->icount);
    if (sn->unknown_extra) {
        memcpy(p + 64, sn->unknown_extra, extra - QCOW2_SN_EXTRA_WRITTEN);
    }
    memcpy(p + QCOW2_SN_FIXED + extra, sn->id_str, id_len);
    memcpy(p + QCOW2_SN_FIXED + extra + id_len, sn->name, name_len);
    return qcow2_align_up(QCOW2_SN_FIXED + extra + id_len + name_len, 8);
}

/* Write the table to new clusters, then point the header at it. */
static int qcow2_write_snapshot_table(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t old_off = s->snapshots_offset, old_size = s->snapshots_size;
    size_t size = 0, cap = 0;
    g_autofree uint8_t *buf = NULL;
    uint8_t hdr[12];
    int64_t off = 0;
    int ret = 0;

    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        cap += QCOW2_SN_FIXED + s->snapshots[i].extra_data_size + 64 +
               strlen(s->snapshots[i].id_str) + strlen(s->snapshots[i].name);
    }
    buf = g_malloc0(MAX(cap, 8));
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        size += qcow2_put_sn(buf + size, &s->snapshots[i]);
    }
    if (size) {
        off = qcow2_alloc_clusters(bs, qcow2_size_to_clusters(s, size));
        ret = off < 0 ? (int)off : bdrv_pwrite(bs->file, off, size, buf, 0);
    }
    if (ret == 0) {
        ret = qcow2_flush_metadata(bs, true);
    }
    if (ret < 0) {
        return ret;
    }
    sn_wr(hdr, 4, s->nb_snapshots);
    sn_wr(hdr + 4, 8, off);
    ret = bdrv_pwrite(bs->file, 60, sizeof(hdr), hdr, 0);
    if (ret == 0) {
        ret = bdrv_flush(bs->file);
    }
    if (ret == 0) {
        s->snapshots_offset = off;
        s->snapshots_size = size;
        qcow2_free_clusters_deferred(bs, old_off, old_size);
    }
    return ret;
}

/*
 * The refcounts of every cluster one L2 table maps (guest offsets from
 * @guest).  An entry that points past the end of the file is corruption:
 * the whole operation fails rather than count a cluster that isn't there.
 */
static int qcow2_update_l2_refcounts(BlockDriverState *bs, uint64_t l2_off,
                                     uint64_t guest, int delta)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t *l2 = NULL, off, len;
    int ret = qcow2_cache_get(bs, s->l2_cache, l2_off, (void **)&l2);

    for (int k = 0; ret == 0 && k < s->l2_size; k++) {
        uint64_t e = GUINT64_FROM_BE(l2[k]);
        uint64_t g = guest + ((uint64_t)k << s->cluster_bits);

        switch (qcow2_get_cluster_type(e)) {
        case QCOW2_CLUSTER_NORMAL:
        case QCOW2_CLUSTER_ZERO_ALLOC:
            if (!qcow2_host_offset_ok(bs, e & L2E_OFFSET_MASK, "L2 entry",
                                      g)) {
                ret = -EIO;
                break;
            }
            ret = qcow2_update_refcount(bs, e & L2E_OFFSET_MASK,
                                        s->cluster_size, delta);
            break;
        case QCOW2_CLUSTER_COMPRESSED:
            qcow2_compressed_range(s, e, &off, &len);
            if (off >= s->file_size) {
                qcow2_signal_corruption(bs, "Compressed cluster for guest "
                                        "offset %#" PRIx64 ": host offset "
                                        "%#" PRIx64 " is past the end of "
                                        "the file", g, off);
                ret = -EIO;
                break;
            }
            ret = qcow2_update_refcount(bs, off, len, delta);
            break;
        default:
            break;
        }
    }
    if (l2) {
        qcow2_cache_put(s->l2_cache, (void **)&l2);
    }
    return ret;
}

static int qcow2_update_l1_array_refcounts(BlockDriverState *bs,
                                           const uint64_t *l1, uint32_t n,
                                           int delta)
{
    BDRVQcow2State *s = bs->opaque;
    int ret = 0;

    for (uint32_t i = 0; i < n && ret == 0; i++) {
        uint64_t l2_off = l1[i] & L1E_OFFSET_MASK;
        if (!l2_off) {
            continue;
        }
        if (!qcow2_host_offset_ok(bs, l2_off, "L1 entry",
                                  (uint64_t)i << (s->l2_bits +
                                                  s->cluster_bits))) {
            return -EIO;
        }
        ret = qcow2_update_l2_refcounts(bs, l2_off,
                                        (uint64_t)i << (s->l2_bits +
                                                        s->cluster_bits),
                                        delta);
        if (ret == 0) {
            ret = qcow2_update_refcount(bs, l2_off, s->cluster_size, delta);
        }
    }
    return ret;
}

static uint64_t *qcow2_read_l1_copy(BlockDriverState *bs, uint64_t off,
                                    uint32_t n, int *ret)
{
    uint64_t *l1 = g_malloc0(MAX(n, 1) * 8ULL);

    *ret = bdrv_pread(bs->file, off, n * 8ULL, l1);
    for (uint32_t i = 0; i < n; i++) {
        l1[i] = GUINT64_FROM_BE(l1[i]);
    }
    return l1;
}

int qcow2_update_l1_refcounts(BlockDriverState *bs, uint64_t l1_offset,
                              uint32_t l1_size, int delta)
{
    int ret;
    g_autofree uint64_t *l1 = qcow2_read_l1_copy(bs, l1_offset, l1_size,
                                                 &ret);

    if (ret < 0) {
        return ret;
    }
    return qcow2_update_l1_array_refcounts(bs, l1, l1_size, delta);
}

static Qcow2Snapshot *qcow2_find_snapshot(BDRVQcow2State *s,
                                          const char *name)
{
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        if (!strcmp(s->snapshots[i].id_str, name)) {
            return &s->snapshots[i];
        }
    }
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        if (!strcmp(s->snapshots[i].name, name)) {
            return &s->snapshots[i];
        }
    }
    return NULL;
}

static char *qcow2_new_snapshot_id(BDRVQcow2State *s)
{
    uint64_t max = 0;

    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        max = MAX(max, g_ascii_strtoull(s->snapshots[i].id_str, NULL, 10));
    }
    return g_strdup_printf("%" PRIu64, max + 1);
}

/* Copy the active L1 table to new clusters; returns its offset. */
static int64_t qcow2_copy_active_l1(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t bytes = (uint64_t)s->l1_size * 8;
    g_autofree uint64_t *be = g_malloc0(MAX(bytes, 8));
    int64_t off;
    int ret;

    if (!bytes) {
        return 0;
    }
    off = qcow2_alloc_clusters(bs, qcow2_size_to_clusters(s, bytes));
    if (off < 0) {
        return off;
    }
    for (uint32_t i = 0; i < s->l1_size; i++) {
        be[i] = GUINT64_TO_BE(s->l1_table[i]);
    }
    ret = bdrv_pwrite(bs->file, off, bytes, be, 0);
    return ret < 0 ? ret : off;
}

static int qcow2_snapshot_create_locked(BlockDriverState *bs,
                                        const char *name, GError **errp)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2Snapshot sn = { 0 };
    gint64 now = g_get_real_time();
    int64_t l1_off;
    int ret, fixed;

    if (s->nb_snapshots >= QCOW2_MAX_SNAPSHOTS) {
        error_setg(errp, "Too many snapshots");
        return -EFBIG;
    }
    ret = qcow2_flush_metadata(bs, true);
    l1_off = ret < 0 ? ret : qcow2_copy_active_l1(bs);
    if (l1_off < 0) {
        error_setg(errp, "Could not copy the L1 table: %s",
                   g_strerror((int)-l1_off));
        return l1_off;
    }
    ret = qcow2_update_l1_array_refcounts(bs, s->l1_table, s->l1_size, 1);
    if (ret == 0) {
        ret = qcow2_sync_copied_flags(bs, true, false, &fixed);
    }
    if (ret < 0) {
        /* Half-raised refcounts beside COPIED flags would be corruption
         * once flushed: go back to the state of the flush above. */
        qcow2_forget_unflushed(bs);
        error_setg(errp, "Could not update refcounts: %s", g_strerror(-ret));
        return ret;
    }
    sn.l1_table_offset = l1_off;
    sn.l1_size = s->l1_size;
    sn.id_str = qcow2_new_snapshot_id(s);
    sn.name = g_strdup(name);
    sn.disk_size = s->size;
    sn.date_sec = now / G_USEC_PER_SEC;
    sn.date_nsec = (now % G_USEC_PER_SEC) * 1000;
    sn.extra_data_size = QCOW2_SN_EXTRA_WRITTEN;
    s->snapshots = g_renew(Qcow2Snapshot, s->snapshots, s->nb_snapshots + 1);
    s->snapshots[s->nb_snapshots++] = sn;
    ret = qcow2_write_snapshot_table(bs);
    if (ret < 0) {
        error_setg(errp, "Could not write the snapshot table: %s",
                   g_strerror(-ret));
    }
    return ret;
}

int qcow2_snapshot_create(BlockDriverState *bs, const char *name,
                          GError **errp)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (s->read_only) {
        error_setg(errp, "Image '%s' is read-only", bs->filename);
        return -EACCES;
    }
    g_mutex_lock(&s->lock);
    qcow2_inflight_drain_locked(s);
    ret = qcow2_snapshot_create_locked(bs, name, errp);
    g_mutex_unlock(&s->lock);
    return ret;
}

static int qcow2_snapshot_apply_locked(BlockDriverState *bs,
                                       Qcow2Snapshot *sn)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree uint64_t *old = NULL;
    uint64_t *l1;
    uint32_t old_size = s->l1_size;
    int ret, fixed;

    ret = qcow2_flush_metadata(bs, true);
    if (ret == 0 && sn->l1_size > s->l1_size) {
        ret = qcow2_grow_l1_table(bs, sn->l1_size);
    }
    if (ret < 0) {
        return ret;
    }
    l1 = qcow2_read_l1_copy(bs, sn->l1_table_offset, sn->l1_size, &ret);
    if (ret == 0) {
        /* References first, then the table that makes them live. */
        ret = qcow2_update_l1_array_refcounts(bs, l1, sn->l1_size, 1);
    }
    if (ret == 0) {
        ret = qcow2_refcount_sync(bs);
    }
    if (ret == 0) {
        old = g_memdup2(s->l1_table, old_size * 8ULL);
        memset(s->l1_table, 0, s->l1_size * 8ULL);
        memcpy(s->l1_table, l1, sn->l1_size * 8ULL);
        ret = qcow2_write_l1(bs);
    }
    g_free(l1);
    if (ret == 0) {
        ret = bdrv_flush(bs->file);
    }
    if (ret == 0) {
        ret = qcow2_update_l1_array_refcounts(bs, old, old_size, -1);
    }
    if (ret == 0) {
        ret = qcow2_sync_copied_flags(bs, true, false, &fixed);
    }
    return ret < 0 ? ret : qcow2_flush_metadata(bs, true);
}

int qcow2_snapshot_apply(BlockDriverState *bs, const char *name,
                         GError **errp)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2Snapshot *sn;
    int ret;

    g_mutex_lock(&s->lock);
    qcow2_inflight_drain_locked(s);
    sn = qcow2_find_snapshot(s, name);
    if (!sn) {
        error_setg(errp, "Could not apply snapshot '%s': snapshot not found",
                   name);
        ret = -ENOENT;
    } else if (s->read_only) {
        error_setg(errp, "Image '%s' is read-only", bs->filename);
        ret = -EACCES;
    } else if (sn->disk_size != s->size) {
        error_setg(errp, "Could not apply snapshot '%s': its disk size "
                   "differs from the image's", name);
        ret = -ENOTSUP;
    } else {
        ret = qcow2_snapshot_apply_locked(bs, sn);
        if (ret < 0) {
            error_setg(errp, "Could not apply snapshot '%s': %s", name,
                       g_strerror(-ret));
        }
    }
    g_mutex_unlock(&s->lock);
    return ret;
}

static int qcow2_snapshot_delete_locked(BlockDriverState *bs, uint32_t idx)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2Snapshot sn = s->snapshots[idx];
    int ret, fixed;

    memmove(&s->snapshots[idx], &s->snapshots[idx + 1],
            (s->nb_snapshots - idx - 1) * sizeof(Qcow2Snapshot));
    s->nb_snapshots--;
    /* The table stops naming the snapshot before its clusters go. */
    ret = qcow2_write_snapshot_table(bs);
    if (ret == 0) {
        ret = qcow2_update_l1_refcounts(bs, sn.l1_table_offset, sn.l1_size,
                                        -1);
    }
    if (ret == 0) {
        ret = qcow2_update_refcount(bs, sn.l1_table_offset,
                                    sn.l1_size * 8ULL, -1);
    }
    if (ret == 0) {
        ret = qcow2_sync_copied_flags(bs, true, false, &fixed);
    }
    g_free(sn.id_str);
    g_free(sn.name);
    g_free(sn.unknown_extra);
    return ret < 0 ? ret : qcow2_flush_metadata(bs, true);
}

int qcow2_snapshot_delete(BlockDriverState *bs, const char *name,
                          GError **errp)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2Snapshot *sn;
    int ret;

    g_mutex_lock(&s->lock);
    qcow2_inflight_drain_locked(s);
    sn = qcow2_find_snapshot(s, name);
    if (!sn) {
        error_setg(errp, "Could not delete snapshot '%s': snapshot not "
                   "found", name);
        ret = -ENOENT;
    } else if (s->read_only) {
        error_setg(errp, "Image '%s' is read-only", bs->filename);
        ret = -EACCES;
    } else {
        ret = qcow2_snapshot_delete_locked(bs, sn - s->snapshots);
        if (ret < 0) {
            error_setg(errp, "Could not delete snapshot '%s': %s", name,
                       g_strerror(-ret));
        }
    }
    g_mutex_unlock(&s->lock);
    return ret;
}
