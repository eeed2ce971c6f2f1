/*
 * qcow2 format driver: open/close and the request paths.
 *
 * Locking: s->lock guards all metadata (L1, caches, refcounts).  Reads
 * and in-place writes look up their mapping under the lock and move the
 * data without it, so requests from the worker threads overlap; writes
 * that allocate keep the lock until the L2 entry is updated.
 */
#include "qcow2.h"

#define QCOW2_DEFAULT_L2_CACHE (1 * MiB)
#define QCOW2_MIN_REFCOUNT_CACHE_TABLES 8

static int qcow2_probe(const uint8_t *buf, int buf_size, const char *name)
{
    uint32_t magic;

    if (buf_size < 8) {
        return 0;
    }
    memcpy(&magic, buf, 4);
    return GUINT32_FROM_BE(magic) == QCOW2_MAGIC ? 100 : 0;
}

void qcow2_signal_corruption(BlockDriverState *bs, const char *fmt, ...)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (s->corrupt_reported) {
        return;
    }
    s->corrupt_reported = true;
    if (s->read_only || s->version < 3) {
        error_report("qcow2: Image '%s' is corrupt: %s; further "
                     "corruption events will be suppressed", bs->filename,
                     msg);
        return;
    }
    error_report("qcow2: Marking image '%s' as corrupt: %s; further "
                 "corruption events will be suppressed", bs->filename, msg);
    s->incompatible_features |= QCOW2_INCOMPAT_CORRUPT;
    qcow2_write_incompat(bs);
    bdrv_flush(bs->file);
    s->read_only = true;
}

int qcow2_mark_dirty(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (s->dirty_marked || s->version < 3) {
        return 0;
    }
    s->incompatible_features |= QCOW2_INCOMPAT_DIRTY;
    ret = qcow2_write_incompat(bs);
    if (ret == 0) {
        ret = bdrv_flush(bs->file);
    }
    s->dirty_marked = ret == 0;
    return ret;
}

static int qcow2_mark_clean(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (!(s->incompatible_features & QCOW2_INCOMPAT_DIRTY)) {
        return 0;
    }
    ret = qcow2_flush_metadata(bs, true);
    if (ret == 0) {
        s->incompatible_features &= ~QCOW2_INCOMPAT_DIRTY;
        ret = qcow2_write_incompat(bs);
    }
    if (ret == 0) {
        ret = bdrv_flush(bs->file);
        s->dirty_marked = false;
    }
    return ret;
}

static void qcow2_init_geometry(BDRVQcow2State *s)
{
    s->l2_bits = s->cluster_bits - 3;
    s->l2_size = 1 << s->l2_bits;
    s->csize_shift = 62 - (s->cluster_bits - 8);
    s->csize_mask = (1ULL << (s->cluster_bits - 8)) - 1;
    s->cluster_offset_mask = (1ULL << s->csize_shift) - 1;
    s->refcount_bits = 1 << s->refcount_order;
    s->refcount_max = s->refcount_bits == 64 ? UINT64_MAX
                      : (1ULL << s->refcount_bits) - 1;
    s->refcount_block_bits = s->cluster_bits + 3 - s->refcount_order;
    s->refcount_table_size = ((uint64_t)s->refcount_table_clusters <<
                              s->cluster_bits) / 8;
    s->lazy_refcounts = (s->compatible_features &
                         QCOW2_COMPAT_LAZY_REFCOUNTS) != 0;
}

static int qcow2_load_l1(BlockDriverState *bs, GError **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t bytes = (uint64_t)s->l1_size * 8;
    int ret;

    s->l1_table = g_try_malloc0(qcow2_align_up(MAX(bytes, 8), 512));
    if (!s->l1_table) {
        error_setg(errp, "Could not allocate the L1 table (l1_size %"
                   PRIu32 ")", s->l1_size);
        return -ENOMEM;
    }
    ret = bdrv_pread(bs->file, s->l1_table_offset, bytes, s->l1_table);
    if (ret < 0) {
        error_setg(errp, "Could not read the L1 table: %s",
                   g_strerror(-ret));
        return ret;
    }
    for (uint32_t i = 0; i < s->l1_size; i++) {
        s->l1_table[i] = GUINT64_FROM_BE(s->l1_table[i]);
    }
    return 0;
}

int qcow2_forget_unflushed(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    qcow2_cache_clear(s->l2_cache);
    qcow2_cache_clear(s->refcount_cache);
    g_array_set_size(s->pending_frees, 0);
    ret = bdrv_pread(bs->file, s->l1_table_offset, (uint64_t)s->l1_size * 8,
                     s->l1_table);
    for (uint32_t i = 0; i < s->l1_size; i++) {
        s->l1_table[i] = GUINT64_FROM_BE(s->l1_table[i]);
    }
    s->l1_dirty = false;
    return ret;
}

static bool qcow2_cache_sizes(BlockDriverState *bs, QliteOpts *opts,
                              GError **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t l2 = QCOW2_DEFAULT_L2_CACHE, rc;

    if (opts && !qopts_get_size(opts, "l2-cache-size",
                                QCOW2_DEFAULT_L2_CACHE, &l2, errp)) {
        return false;
    }
    rc = MAX(l2 / 4, (uint64_t)QCOW2_MIN_REFCOUNT_CACHE_TABLES *
                     s->cluster_size);
    if (opts && !qopts_get_size(opts, "refcount-cache-size", rc, &rc,
                                errp)) {
        return false;
    }
    if (l2 > 1024 * MiB || rc > 1024 * MiB) {
        error_setg(errp, "l2-cache-size/refcount-cache-size too large "
                   "(at most 1 GiB)");
        return false;
    }
    s->l2_cache = qcow2_cache_new(bs, l2 >> s->cluster_bits,
                                  s->cluster_size);
    s->refcount_cache = qcow2_cache_new(bs, rc >> s->cluster_bits,
                                        s->cluster_size);
    qcow2_cache_set_dependency(s->l2_cache, qcow2_refcount_sync);
    return true;
}

/* The dirty bit means refcounts may lag: rebuild them before writing. */
static int qcow2_repair_dirty(BlockDriverState *bs, GError **errp)
{
    BDRVQcow2State *s = bs->opaque;
    BdrvCheckResult res = { 0 };
    int ret;

    ret = qcow2_check(bs, &res, BDRV_FIX_LEAKS | BDRV_FIX_ERRORS);
    if (ret < 0 || res.corruptions > res.corruptions_fixed) {
        error_setg(errp, "Could not repair the dirty image: %s",
                   ret < 0 ? g_strerror(-ret) : "corruptions remain");
        return ret < 0 ? ret : -EIO;
    }
    s->dirty_marked = true;
    return qcow2_mark_clean(bs);
}

static int qcow2_open_rest(BlockDriverState *bs, QliteOpts *opts, int flags,
                           GError **errp)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (!qcow2_cache_sizes(bs, opts, errp)) {
        return -EINVAL;
    }
    ret = qcow2_load_l1(bs, errp);
    if (ret < 0) {
        return ret;
    }
    ret = qcow2_refcount_init(bs);
    if (ret < 0) {
        error_setg(errp, "Could not read the refcount table: %s",
                   g_strerror(-ret));
        return ret;
    }
    ret = qcow2_read_snapshots(bs, errp);
    if (ret < 0) {
        return ret;
    }
    if (!s->read_only && (s->incompatible_features & QCOW2_INCOMPAT_DIRTY) &&
        !(flags & BDRV_O_CHECK)) {
        ret = qcow2_repair_dirty(bs, errp);
        if (ret < 0) {
            return ret;
        }
    }
    if (!s->read_only && s->autoclear_features) {
        ret = qcow2_update_header(bs);
        if (ret < 0) {
            error_setg(errp, "Could not update the header: %s",
                       g_strerror(-ret));
            return ret;
        }
    }
    return 0;
}

static void qcow2_free_state(BDRVQcow2State *s)
{
    qcow2_cache_free(s->l2_cache);
    qcow2_cache_free(s->refcount_cache);
    g_free(s->l1_table);
    g_free(s->refcount_table);
    g_free(s->header_tail);
    if (s->pending_frees) {
        g_array_free(s->pending_frees, true);
    }
    if (s->unknown_exts) {
        g_ptr_array_free(s->unknown_exts, true);
    }
    qcow2_free_snapshots(s);
    g_cond_clear(&s->alloc_done);
    g_mutex_clear(&s->lock);
}

static int qcow2_open(BlockDriverState *bs, QliteOpts *opts, int flags,
                      GError **errp)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t len = bdrv_getlength(bs->file);
    int ret;

    g_mutex_init(&s->lock);
    g_cond_init(&s->alloc_done);
    s->read_only = bs->read_only;
    s->file_size = len < 0 ? 0 : len;
    ret = qcow2_read_header(bs, errp);
    if (ret == 0) {
        qcow2_init_geometry(s);
        if ((s->incompatible_features & QCOW2_INCOMPAT_CORRUPT) &&
            !s->read_only && !(flags & BDRV_O_CHECK)) {
            warn_report("qcow2: Image '%s' is marked corrupt; opening it "
                        "read-only (run 'qlite-img check -r all')",
                        bs->filename);
            s->read_only = bs->read_only = true;
        }
        ret = qcow2_open_rest(bs, opts, flags, errp);
    }
    if (ret < 0) {
        error_prepend(errp, "Could not open '%s': ", bs->filename);
        qcow2_free_state(s);
        g_clear_pointer(&bs->backing_file, g_free);
        return ret;
    }
    return 0;
}

static void qcow2_close(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    if (!s->read_only) {
        qcow2_flush_metadata(bs, true);
        qcow2_mark_clean(bs);
    }
    qcow2_free_state(s);
}

static int qcow2_read_cluster_part(BlockDriverState *bs, int type,
                                   uint64_t offset, uint64_t n,
                                   uint64_t host, uint64_t l2e, uint8_t *buf)
{
    BDRVQcow2State *s = bs->opaque;
    uint8_t *tmp;
    int ret;

    switch (type) {
    case QCOW2_CLUSTER_UNALLOCATED:
        return bdrv_read_backing(bs, offset, n, buf);
    case QCOW2_CLUSTER_NORMAL:
        return bdrv_pread(bs->file, host, n, buf);
    case QCOW2_CLUSTER_COMPRESSED:
        tmp = g_malloc(s->cluster_size);
        g_mutex_lock(&s->lock);
        ret = qcow2_read_compressed(bs, l2e, tmp);
        g_mutex_unlock(&s->lock);
        if (ret == 0) {
            memcpy(buf, tmp + qcow2_offset_into_cluster(s, offset), n);
        }
        g_free(tmp);
        return ret;
    default:
        memset(buf, 0, n);
        return 0;
    }
}

static int qcow2_pread(BlockDriverState *bs, int64_t offset, int64_t bytes,
                       void *buf)
{
    BDRVQcow2State *s = bs->opaque;
    uint8_t *p = buf;

    if ((uint64_t)offset + bytes > s->size) {
        return -EINVAL;
    }
    while (bytes > 0) {
        uint64_t n = bytes, host, l2e;
        int type, ret;

        g_mutex_lock(&s->lock);
        type = qcow2_get_host_offset(bs, offset, &n, &host, &l2e);
        g_mutex_unlock(&s->lock);
        if (type < 0) {
            return type;
        }
        if (type == QCOW2_CLUSTER_COMPRESSED) {
            n = MIN(n, s->cluster_size - qcow2_offset_into_cluster(s,
                                                                   offset));
        }
        ret = qcow2_read_cluster_part(bs, type, offset, n, host, l2e, p);
        if (ret < 0) {
            return ret;
        }
        offset += n;
        p += n;
        bytes -= n;
    }
    return 0;
}

static int qcow2_writable(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    if (s->read_only) {
        return -EACCES;
    }
    if (s->lazy_refcounts) {
        return qcow2_mark_dirty(bs);
    }
    return 0;
}

/* One piece of a write, from the lock held to the lock held. */
static int qcow2_pwrite_piece_locked(BlockDriverState *bs, uint64_t offset,
                                     uint64_t bytes, const uint8_t *buf,
                                     uint64_t *done)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2WriteMap m = { 0 };
    int ret;

    qcow2_inflight_wait_locked(s, offset, bytes);
    ret = qcow2_writable(bs);
    if (ret == 0) {
        ret = qcow2_write_cluster_range(bs, offset, bytes, buf, &m);
    }
    *done = m.done;
    if (ret < 0) {
        return ret;
    }
    switch (m.how) {
    case QCOW2_WRITE_IN_PLACE:
        g_mutex_unlock(&s->lock);
        ret = bdrv_pwrite(bs->file, m.host, m.done, buf, 0);
        g_mutex_lock(&s->lock);
        return ret;
    case QCOW2_WRITE_ALLOC:
        return qcow2_inflight_write(bs, &m, offset, buf);
    default:
        return 0;
    }
}

static int qcow2_pwrite(BlockDriverState *bs, int64_t offset, int64_t bytes,
                        const void *buf, int flags)
{
    BDRVQcow2State *s = bs->opaque;
    const uint8_t *p = buf;
    int ret = 0;

    if ((uint64_t)offset + bytes > s->size) {
        return -EINVAL;
    }
    g_mutex_lock(&s->lock);
    while (bytes > 0 && ret == 0) {
        uint64_t done = 0;

        ret = qcow2_pwrite_piece_locked(bs, offset, bytes, p, &done);
        offset += done;
        p += done;
        bytes -= done;
    }
    g_mutex_unlock(&s->lock);
    if (ret == 0 && (flags & BDRV_REQ_FUA)) {
        ret = bs->drv->flush(bs);
    }
    return ret;
}

/*
 * The submitting thread maps a request when the metadata is at hand; a
 * worker holding the lock, an allocation, a cache miss or anything
 * unusual sends the request to the worker pool instead.
 */
static int qcow2_map_direct(BlockDriverState *bs, int64_t offset,
                            int64_t bytes, bool write, int64_t *host,
                            BlockDriverState **file)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t h = 0;
    int ret = -EAGAIN;

    if ((uint64_t)offset + bytes > s->size || !g_mutex_trylock(&s->lock)) {
        return -EAGAIN;
    }
    if (!write || (!s->read_only && (!s->lazy_refcounts ||
                                      s->dirty_marked))) {
        ret = qcow2_map_cached(bs, offset, bytes, write, &h);
    }
    g_mutex_unlock(&s->lock);
    *host = h;
    *file = bs->file;
    return ret;
}

/* Zero or discard the whole clusters inside the range; @partial gets
 * the unaligned head and tail. */
static int qcow2_zero_or_discard(BlockDriverState *bs, int64_t offset,
                                 int64_t bytes, bool discard)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t start = qcow2_align_up(offset, s->cluster_size);
    uint64_t end = (offset + bytes) & ~(uint64_t)(s->cluster_size - 1);
    int ret = 0;

    if ((uint64_t)(offset + bytes) == s->size) {
        end = qcow2_align_up(s->size, s->cluster_size);
    }
    if (start < end) {
        g_mutex_lock(&s->lock);
        qcow2_inflight_wait_locked(s, start, end - start);
        ret = qcow2_writable(bs);
        if (ret == 0) {
            ret = qcow2_zero_range(bs, start, end - start, discard, discard);
        }
        g_mutex_unlock(&s->lock);
    }
    return ret;
}

static int qcow2_write_zero_data(BlockDriverState *bs, int64_t offset,
                                 int64_t bytes)
{
    uint8_t *zero;
    int ret = 0;

    if (bytes <= 0) {
        return 0;
    }
    zero = g_malloc0(MIN(bytes, (int64_t)MiB));
    while (bytes > 0 && ret == 0) {
        int64_t n = MIN(bytes, (int64_t)MiB);
        ret = qcow2_pwrite(bs, offset, n, zero, 0);
        offset += n;
        bytes -= n;
    }
    g_free(zero);
    return ret;
}

static int qcow2_pwrite_zeroes(BlockDriverState *bs, int64_t offset,
                               int64_t bytes, int flags)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t start = qcow2_align_up(offset, s->cluster_size);
    uint64_t end = (offset + bytes) & ~(uint64_t)(s->cluster_size - 1);
    int ret;

    if ((uint64_t)offset + bytes > s->size) {
        return -EINVAL;
    }
    if ((uint64_t)(offset + bytes) == s->size) {
        end = qcow2_align_up(s->size, s->cluster_size);
    }
    if (start >= end) {
        return qcow2_write_zero_data(bs, offset, bytes);
    }
    ret = qcow2_zero_or_discard(bs, offset, bytes, false);
    if (ret == -ENOTSUP) {
        return qcow2_write_zero_data(bs, offset, bytes);
    }
    if (ret == 0) {
        ret = qcow2_write_zero_data(bs, offset, start - offset);
    }
    if (ret == 0 && end < (uint64_t)(offset + bytes)) {
        ret = qcow2_write_zero_data(bs, end, offset + bytes - end);
    }
    return ret;
}

static int qcow2_discard(BlockDriverState *bs, int64_t offset, int64_t bytes)
{
    BDRVQcow2State *s = bs->opaque;

    if ((uint64_t)offset + bytes > s->size) {
        return -EINVAL;
    }
    return qcow2_zero_or_discard(bs, offset, bytes, true);
}

static int qcow2_pwrite_compressed(BlockDriverState *bs, int64_t offset,
                                   int64_t bytes, const void *buf)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree uint8_t *out = NULL;
    ssize_t clen;
    int ret;

    if (!QLITE_IS_ALIGNED((uint64_t)offset, s->cluster_size) ||
        bytes > s->cluster_size ||
        (bytes < s->cluster_size && (uint64_t)(offset + bytes) != s->size)) {
        return -EINVAL;
    }
    /* Deflate before taking the lock: writers compress side by side. */
    out = g_malloc(s->cluster_size);
    clen = qcow2_compress_cluster(s, buf, bytes, out);
    if (clen == -ENOSPC) {
        /* Incompressible: store as a normal cluster. */
        return qcow2_pwrite(bs, offset, bytes, buf, 0);
    }
    if (clen < 0) {
        return clen;
    }
    g_mutex_lock(&s->lock);
    qcow2_inflight_wait_locked(s, offset, s->cluster_size);
    ret = qcow2_writable(bs);
    if (ret == 0) {
        ret = qcow2_write_compressed_cluster(bs, offset, out, clen);
    }
    g_mutex_unlock(&s->lock);
    return ret;
}

static int qcow2_flush(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (s->read_only) {
        return 0;
    }
    g_mutex_lock(&s->lock);
    ret = qcow2_flush_metadata(bs, true);
    g_mutex_unlock(&s->lock);
    return ret;
}

static int qcow2_header_set_size(BlockDriverState *bs, uint64_t size)
{
    uint64_t be = GUINT64_TO_BE(size);
    int ret = bdrv_pwrite(bs->file, 24, 8, &be, 0);

    return ret < 0 ? ret : bdrv_flush(bs->file);
}

static int qcow2_truncate(BlockDriverState *bs, int64_t size, GError **errp)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if ((uint64_t)size < s->size) {
        error_setg(errp, "qcow2 images cannot be shrunk");
        return -ENOTSUP;
    }
    if (s->nb_snapshots) {
        error_setg(errp, "Cannot resize an image with internal snapshots");
        return -ENOTSUP;
    }
    g_mutex_lock(&s->lock);
    qcow2_inflight_drain_locked(s);
    ret = qcow2_writable(bs);
    if (ret == 0) {
        ret = qcow2_grow_l1_table(bs, qcow2_l1_entries_for(size,
                                                           s->cluster_bits));
    }
    if (ret == 0) {
        ret = qcow2_flush_metadata(bs, true);
    }
    if (ret == 0) {
        ret = qcow2_header_set_size(bs, size);
    }
    if (ret == 0) {
        s->size = size;
    }
    g_mutex_unlock(&s->lock);
    if (ret < 0) {
        error_setg(errp, "Could not resize '%s': %s", bs->filename,
                   g_strerror(-ret));
    }
    return ret;
}

static int64_t qcow2_getlength(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    return s->size;
}

static int qcow2_block_status(BlockDriverState *bs, int64_t offset,
                              int64_t bytes, int64_t *pnum, int64_t *map,
                              BlockDriverState **file)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t n = bytes, host, l2e;
    int type;

    g_mutex_lock(&s->lock);
    type = qcow2_get_host_offset(bs, offset, &n, &host, &l2e);
    g_mutex_unlock(&s->lock);
    if (type < 0) {
        return type;
    }
    *pnum = n;
    switch (type) {
    case QCOW2_CLUSTER_UNALLOCATED:
        return 0;
    case QCOW2_CLUSTER_NORMAL:
        *map = host;
        *file = bs->file;
        return BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID |
               BDRV_BLOCK_ALLOCATED;
    case QCOW2_CLUSTER_COMPRESSED:
        *pnum = MIN(n, s->cluster_size -
                    qcow2_offset_into_cluster(s, offset));
        return BDRV_BLOCK_DATA | BDRV_BLOCK_ALLOCATED |
               BDRV_BLOCK_COMPRESSED;
    default:
        return BDRV_BLOCK_ZERO | BDRV_BLOCK_ALLOCATED;
    }
}

static int qcow2_get_cluster_size(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    return s->cluster_size;
}

static bool qcow2_is_dirty(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    return (s->incompatible_features & QCOW2_INCOMPAT_DIRTY) != 0;
}

/* qemu-img 7.2's ImageInfoSpecificQCow2, field for field. */
static json_t *qcow2_info_specific(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    json_t *data = json_object();

    json_object_set_new(data, "compat",
                        json_string(s->version >= 3 ? "1.1" : "0.10"));
    json_object_set_new(data, "compression-type", json_string("zlib"));
    if (s->version >= 3) {
        json_object_set_new(data, "lazy-refcounts",
                            json_boolean(s->lazy_refcounts));
    }
    json_object_set_new(data, "refcount-bits",
                        json_integer(s->refcount_bits));
    if (s->version >= 3) {
        json_object_set_new(data, "corrupt", json_boolean(
            (s->incompatible_features & QCOW2_INCOMPAT_CORRUPT) != 0));
        json_object_set_new(data, "extended-l2", json_false());
    }
    return json_pack("{s:s, s:o}", "type", "qcow2", "data", data);
}

static int qcow2_check_entry(BlockDriverState *bs, BdrvCheckResult *res,
                             int fix)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    g_mutex_lock(&s->lock);
    ret = qcow2_check(bs, res, fix);
    g_mutex_unlock(&s->lock);
    return ret;
}

const BlockDriver bdrv_qcow2 = {
    .format_name = "qcow2",
    .instance_size = sizeof(BDRVQcow2State),
    .supports_backing = true,
    .probe = qcow2_probe,
    .open = qcow2_open,
    .close = qcow2_close,
    .create = qcow2_create,
    .pread = qcow2_pread,
    .pwrite = qcow2_pwrite,
    .pwrite_zeroes = qcow2_pwrite_zeroes,
    .pwrite_compressed = qcow2_pwrite_compressed,
    .map_direct = qcow2_map_direct,
    .flush = qcow2_flush,
    .discard = qcow2_discard,
    .truncate = qcow2_truncate,
    .getlength = qcow2_getlength,
    .block_status = qcow2_block_status,
    .get_cluster_size = qcow2_get_cluster_size,
    .info_specific = qcow2_info_specific,
    .is_dirty = qcow2_is_dirty,
    .check = qcow2_check_entry,
    .snapshot_list = qcow2_snapshot_list,
    .snapshot_create = qcow2_snapshot_create,
    .snapshot_apply = qcow2_snapshot_apply,
    .snapshot_delete = qcow2_snapshot_delete,
};
