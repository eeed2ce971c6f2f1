/*
 * qcow2 cluster mapping ("Cluster mapping"): guest offset -> L1 entry ->
 * L2 table -> L2 entry -> host cluster.  Allocation, copy-on-write,
 * zero/discard and compressed clusters.  Callers hold the qcow2 lock.
 */
#include "qcow2.h"

#include <zlib.h>

Qcow2ClusterType qcow2_get_cluster_type(uint64_t e)
{
    if (e & QCOW_OFLAG_COMPRESSED) {
        return QCOW2_CLUSTER_COMPRESSED;
    }
    if (e & QCOW_OFLAG_ZERO) {
        return (e & L2E_OFFSET_MASK) ? QCOW2_CLUSTER_ZERO_ALLOC
                                     : QCOW2_CLUSTER_ZERO_PLAIN;
    }
    return (e & L2E_OFFSET_MASK) ? QCOW2_CLUSTER_NORMAL
                                 : QCOW2_CLUSTER_UNALLOCATED;
}

/*
 * Compressed descriptor ("Compressed Clusters Descriptor"): the data
 * starts at the offset field and runs to the end of the last of
 * (1 + additional) 512-byte sectors.
 */
void qcow2_compressed_range(BDRVQcow2State *s, uint64_t e, uint64_t *off,
                            uint64_t *len)
{
    uint64_t nb = ((e >> s->csize_shift) & s->csize_mask) + 1;

    *off = e & s->cluster_offset_mask;
    *len = nb * 512 - (*off & 511);
}

bool qcow2_host_offset_ok(BlockDriverState *bs, uint64_t off,
                          const char *what, uint64_t guest)
{
    BDRVQcow2State *s = bs->opaque;

    if (!QLITE_IS_ALIGNED(off, s->cluster_size)) {
        qcow2_signal_corruption(bs, "%s for guest offset %#" PRIx64
                                ": host offset %#" PRIx64 " is not "
                                "cluster aligned", what, guest, off);
        return false;
    }
    if (off == 0 || off >= s->file_size) {
        qcow2_signal_corruption(bs, "%s for guest offset %#" PRIx64
                                ": host offset %#" PRIx64 " is %s", what,
                                guest, off, off ? "past the end of the file"
                                : "the header cluster");
        return false;
    }
    return true;
}

static uint64_t qcow2_l1_index(BDRVQcow2State *s, uint64_t offset)
{
    return offset >> (s->l2_bits + s->cluster_bits);
}

static int qcow2_l2_index(BDRVQcow2State *s, uint64_t offset)
{
    return (offset >> s->cluster_bits) & (s->l2_size - 1);
}

/* The L2 table for @offset, or *l2 = NULL when none is allocated. */
static int qcow2_get_l2(BlockDriverState *bs, uint64_t offset, uint64_t **l2)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t l1i = qcow2_l1_index(s, offset);
    uint64_t l2_off;

    *l2 = NULL;
    if (l1i >= s->l1_size) {
        return 0;
    }
    l2_off = s->l1_table[l1i] & L1E_OFFSET_MASK;
    if (!l2_off) {
        return 0;
    }
    if (!qcow2_host_offset_ok(bs, l2_off, "L1 entry", offset)) {
        return -EIO;
    }
    return qcow2_cache_get(bs, s->l2_cache, l2_off, (void **)l2);
}

/* Whether entry @b continues the run that entry @a starts, @k later. */
static bool qcow2_same_run(BDRVQcow2State *s, uint64_t a, uint64_t b,
                           int k)
{
    Qcow2ClusterType ta = qcow2_get_cluster_type(a);

    if (ta != qcow2_get_cluster_type(b) || ta == QCOW2_CLUSTER_COMPRESSED) {
        return false;
    }
    if (ta != QCOW2_CLUSTER_NORMAL) {
        return true;
    }
    return (a & QCOW_OFLAG_COPIED) == (b & QCOW_OFLAG_COPIED) &&
           (b & L2E_OFFSET_MASK) ==
           (a & L2E_OFFSET_MASK) + ((uint64_t)k << s->cluster_bits);
}

int qcow2_get_host_offset(BlockDriverState *bs, uint64_t offset,
                          uint64_t *bytes, uint64_t *host,
                          uint64_t *l2_entry)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t in_cl = qcow2_offset_into_cluster(s, offset);
    int l2i = qcow2_l2_index(s, offset);
    uint64_t max = MIN(*bytes, ((uint64_t)(s->l2_size - l2i) <<
                                s->cluster_bits) - in_cl);
    uint64_t *l2, e, run;
    int k, ret;

    *host = 0;
    ret = qcow2_get_l2(bs, offset, &l2);
    if (ret < 0) {
        return ret;
    }
    if (!l2) {
        *l2_entry = 0;
        *bytes = max;
        return QCOW2_CLUSTER_UNALLOCATED;
    }
    e = GUINT64_FROM_BE(l2[l2i]);
    run = s->cluster_size - in_cl;
    for (k = 1; run < max; k++, run += s->cluster_size) {
        if (!qcow2_same_run(s, e, GUINT64_FROM_BE(l2[l2i + k]), k)) {
            break;
        }
    }
    qcow2_cache_put(s->l2_cache, (void **)&l2);
    *bytes = MIN(run, max);
    *l2_entry = e;
    ret = qcow2_get_cluster_type(e);
    if (ret == QCOW2_CLUSTER_NORMAL) {
        if ((e & 0x1fe) || !qcow2_host_offset_ok(bs, e & L2E_OFFSET_MASK,
                                                 "L2 entry", offset)) {
            return -EIO;
        }
        *host = (e & L2E_OFFSET_MASK) + in_cl;
    }
    return ret;
}

/* A normal cluster entry usable for direct I/O, checked as
 * qcow2_get_host_offset() would (which reports what fails). */
static bool qcow2_entry_direct(BDRVQcow2State *s, uint64_t e, bool write)
{
    uint64_t off = e & L2E_OFFSET_MASK;

    return qcow2_get_cluster_type(e) == QCOW2_CLUSTER_NORMAL &&
           (!write || (e & QCOW_OFLAG_COPIED)) && !(e & 0x1fe) &&
           QLITE_IS_ALIGNED(off, s->cluster_size) && off &&
           off < s->file_size;
}

int qcow2_map_cached(BlockDriverState *bs, uint64_t offset, uint64_t bytes,
                     bool write, uint64_t *host)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t in_cl = qcow2_offset_into_cluster(s, offset);
    uint64_t l1i = qcow2_l1_index(s, offset);
    int l2i = qcow2_l2_index(s, offset);
    uint64_t n = (in_cl + bytes + s->cluster_size - 1) >> s->cluster_bits;
    uint64_t l2_off, *l2, e0;

    if (l1i >= s->l1_size || n > (uint64_t)(s->l2_size - l2i)) {
        return -EAGAIN;
    }
    l2_off = s->l1_table[l1i] & L1E_OFFSET_MASK;
    l2 = l2_off ? qcow2_cache_peek(s->l2_cache, l2_off) : NULL;
    if (!l2) {
        return -EAGAIN;
    }
    e0 = GUINT64_FROM_BE(l2[l2i]);
    for (uint64_t k = 0; k < n; k++) {
        uint64_t e = GUINT64_FROM_BE(l2[l2i + k]);
        if (!qcow2_entry_direct(s, e, write) ||
            (e & L2E_OFFSET_MASK) !=
            (e0 & L2E_OFFSET_MASK) + (k << s->cluster_bits)) {
            return -EAGAIN;
        }
    }
    *host = (e0 & L2E_OFFSET_MASK) + in_cl;
    return 0;
}

int qcow2_read_compressed(BlockDriverState *bs, uint64_t e, uint8_t *out)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t off, len;
    z_stream z = { 0 };
    uint8_t *in;
    int ret, zr;

    qcow2_compressed_range(s, e, &off, &len);
    if (off >= s->file_size || off < (uint64_t)s->cluster_size) {
        qcow2_signal_corruption(bs, "Compressed cluster descriptor %#"
                                PRIx64 ": data offset %#" PRIx64 " is "
                                "outside the file", e, off);
        return -EIO;
    }
    len = MIN(len, s->file_size - off);
    in = g_malloc(len);
    ret = bdrv_pread(bs->file, off, len, in);
    if (ret == 0) {
        inflateInit2(&z, -15);
        z.next_in = in;
        z.avail_in = len;
        z.next_out = out;
        z.avail_out = s->cluster_size;
        zr = inflate(&z, Z_FINISH);
        if ((zr != Z_STREAM_END && zr != Z_BUF_ERROR) || z.avail_out != 0) {
            qcow2_signal_corruption(bs, "Compressed cluster descriptor %#"
                                    PRIx64 ": data does not inflate to a "
                                    "cluster", e);
            ret = -EIO;
        }
        inflateEnd(&z);
    }
    g_free(in);
    return ret;
}

int qcow2_write_l1(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t bytes = (uint64_t)s->l1_size * 8;
    uint64_t *be = g_malloc0(MAX(bytes, 8));
    int ret;

    for (uint32_t i = 0; i < s->l1_size; i++) {
        be[i] = GUINT64_TO_BE(s->l1_table[i]);
    }
    ret = bdrv_pwrite(bs->file, s->l1_table_offset, bytes, be, 0);
    g_free(be);
    if (ret == 0) {
        s->l1_dirty = false;
        s->file_unsynced = true;
    }
    return ret;
}

/* The L2 table for @offset, ready to modify (allocated or COW'd). */
static int qcow2_get_l2_for_write(BlockDriverState *bs, uint64_t offset,
                                  uint64_t **l2)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t l1i = qcow2_l1_index(s, offset);
    uint64_t e, old_off;
    uint64_t *old = NULL;
    int64_t new_off;
    int ret;

    if (l1i >= s->l1_size) {
        return -EIO;
    }
    e = s->l1_table[l1i];
    old_off = e & L1E_OFFSET_MASK;
    if (old_off && (e & QCOW_OFLAG_COPIED)) {
        return qcow2_get_l2(bs, offset, l2);
    }
    if (old_off) {
        ret = qcow2_get_l2(bs, offset, &old);
        if (ret < 0) {
            return ret;
        }
    }
    new_off = qcow2_alloc_clusters(bs, 1);
    if (new_off < 0) {
        qcow2_cache_put(s->l2_cache, (void **)&old);
        return new_off;
    }
    ret = qcow2_cache_get_empty(bs, s->l2_cache, new_off, (void **)l2);
    if (ret < 0) {
        qcow2_cache_put(s->l2_cache, (void **)&old);
        return ret;
    }
    if (old) {
        /* The copy shares the data clusters: their counts do not move. */
        memcpy(*l2, old, s->cluster_size);
        qcow2_cache_put(s->l2_cache, (void **)&old);
        qcow2_free_clusters_deferred(bs, old_off, s->cluster_size);
    }
    qcow2_cache_mark_dirty(s->l2_cache, *l2);
    s->l1_table[l1i] = new_off | QCOW_OFLAG_COPIED;
    s->l1_dirty = true;
    return 0;
}

/* Whether clusters of this type get a fresh host cluster on write. */
static bool qcow2_needs_alloc(uint64_t e)
{
    return !(qcow2_get_cluster_type(e) == QCOW2_CLUSTER_NORMAL &&
             (e & QCOW_OFLAG_COPIED));
}

/* Point entries [l2i, l2i + n) of @l2 at the host clusters from @host
 * on; the clusters they pointed at are freed once the table is on disk. */
void qcow2_set_l2_run(BlockDriverState *bs, uint64_t *l2, int l2i, int n,
                      uint64_t host)
{
    BDRVQcow2State *s = bs->opaque;

    for (int k = 0; k < n; k++) {
        qcow2_free_l2_entry_deferred(bs, GUINT64_FROM_BE(l2[l2i + k]));
        l2[l2i + k] = GUINT64_TO_BE((host + ((uint64_t)k << s->cluster_bits))
                                    | QCOW_OFLAG_COPIED);
    }
    qcow2_cache_mark_dirty(s->l2_cache, l2);
}

/* The current content of one guest cluster, for copy-on-write. */
static int qcow2_read_old_cluster(BlockDriverState *bs, uint64_t guest,
                                  uint64_t e, uint8_t *buf)
{
    BDRVQcow2State *s = bs->opaque;

    switch (qcow2_get_cluster_type(e)) {
    case QCOW2_CLUSTER_UNALLOCATED:
        return bdrv_read_backing(bs, guest, s->cluster_size, buf);
    case QCOW2_CLUSTER_NORMAL:
        if (!qcow2_host_offset_ok(bs, e & L2E_OFFSET_MASK, "L2 entry",
                                  guest)) {
            return -EIO;
        }
        return bdrv_pread(bs->file, e & L2E_OFFSET_MASK, s->cluster_size,
                          buf);
    case QCOW2_CLUSTER_COMPRESSED:
        return qcow2_read_compressed(bs, e, buf);
    default:
        memset(buf, 0, s->cluster_size);
        return 0;
    }
}

/* Whether the old content of a cluster of this type is all zeroes. */
bool qcow2_old_is_zero(BlockDriverState *bs, uint64_t e)
{
    Qcow2ClusterType t = qcow2_get_cluster_type(e);

    return t == QCOW2_CLUSTER_ZERO_PLAIN || t == QCOW2_CLUSTER_ZERO_ALLOC ||
           (t == QCOW2_CLUSTER_UNALLOCATED && !bs->backing);
}

/*
 * Allocating write of guest clusters [first, first + n) of one L2 table
 * whose old content must be copied (a backing file, a compressed or
 * shared cluster): read, merge and write under the lock.
 */
static int qcow2_alloc_write_cow(BlockDriverState *bs, uint64_t *l2,
                                 int l2i, uint64_t first, int n,
                                 uint64_t offset, uint64_t bytes,
                                 const uint8_t *buf)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t cs = s->cluster_size, len = n * cs;
    uint64_t head = offset - first;
    uint64_t e_first = GUINT64_FROM_BE(l2[l2i]);
    uint64_t e_last = GUINT64_FROM_BE(l2[l2i + n - 1]);
    int64_t host = qcow2_alloc_clusters(bs, n);
    uint8_t *cl;
    int ret = 0;

    if (host < 0) {
        return host;
    }
    cl = g_malloc(len);
    if (head) {
        ret = qcow2_read_old_cluster(bs, first, e_first, cl);
    }
    if (ret == 0 && head + bytes < len && (n > 1 || !head)) {
        ret = qcow2_read_old_cluster(bs, first + len - cs, e_last,
                                     cl + len - cs);
    }
    memcpy(cl + head, buf, bytes);
    if (ret == 0) {
        ret = bdrv_pwrite(bs->file, host, len, cl, 0);
    }
    g_free(cl);
    if (ret < 0) {
        /* The clusters leak; nothing points at them. */
        return ret;
    }
    s->file_unsynced = true;
    qcow2_set_l2_run(bs, l2, l2i, n, host);
    return 0;
}

/*
 * How many clusters from @l2i on can share one fresh allocation: a run
 * of clusters with no host cluster of their own.
 */
static int qcow2_alloc_run(BDRVQcow2State *s, uint64_t *l2, int l2i,
                           int max)
{
    int n = 1;
    Qcow2ClusterType t0 = qcow2_get_cluster_type(GUINT64_FROM_BE(l2[l2i]));

    if (t0 != QCOW2_CLUSTER_UNALLOCATED && t0 != QCOW2_CLUSTER_ZERO_PLAIN) {
        return 1;
    }
    while (n < max) {
        Qcow2ClusterType t =
            qcow2_get_cluster_type(GUINT64_FROM_BE(l2[l2i + n]));
        if (t != QCOW2_CLUSTER_UNALLOCATED && t != QCOW2_CLUSTER_ZERO_PLAIN) {
            break;
        }
        n++;
    }
    return n;
}

/*
 * Allocate host clusters for a write whose old content reads as zero:
 * the data goes to them without the lock (qcow2_inflight_write), and
 * only clusters the write does not cover in full need zero filling.
 */
static int qcow2_alloc_unlocked(BlockDriverState *bs, uint64_t first, int n,
                                Qcow2WriteMap *m)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t zero_from = s->file_size;
    int64_t host = qcow2_alloc_clusters(bs, n);

    if (host < 0) {
        return host;
    }
    m->how = QCOW2_WRITE_ALLOC;
    m->host = host;
    m->first = first;
    m->n = n;
    /* Past the old end of the file: unwritten bytes read as zero. */
    m->fresh = (uint64_t)host >= zero_from;
    return 0;
}

int qcow2_write_cluster_range(BlockDriverState *bs, uint64_t offset,
                              uint64_t bytes, const uint8_t *buf,
                              Qcow2WriteMap *m)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t in_cl = qcow2_offset_into_cluster(s, offset);
    int l2i = qcow2_l2_index(s, offset);
    uint64_t first = offset - in_cl;
    uint64_t n_bytes = bytes, l2e, *l2;
    int ret, n;

    ret = qcow2_get_host_offset(bs, offset, &n_bytes, &m->host, &l2e);
    if (ret < 0) {
        return ret;
    }
    if (!qcow2_needs_alloc(l2e)) {
        /* In place: the caller writes after dropping the lock. */
        m->how = QCOW2_WRITE_IN_PLACE;
        m->done = n_bytes;
        return 0;
    }
    ret = qcow2_get_l2_for_write(bs, offset, &l2);
    if (ret < 0) {
        return ret;
    }
    n = (in_cl + bytes + s->cluster_size - 1) >> s->cluster_bits;
    n = MIN(n, s->l2_size - l2i);
    n = qcow2_alloc_run(s, l2, l2i, n);
    n_bytes = MIN(bytes, ((uint64_t)n << s->cluster_bits) - in_cl);
    m->done = n_bytes;
    if (qcow2_old_is_zero(bs, GUINT64_FROM_BE(l2[l2i])) &&
        qcow2_old_is_zero(bs, GUINT64_FROM_BE(l2[l2i + n - 1]))) {
        ret = qcow2_alloc_unlocked(bs, first, n, m);
    } else {
        m->how = QCOW2_WRITE_DONE;
        ret = qcow2_alloc_write_cow(bs, l2, l2i, first, n, offset, n_bytes,
                                    buf);
    }
    qcow2_cache_put(s->l2_cache, (void **)&l2);
    return ret;
}

/* Set the L2 entries of an allocation whose data is written. */
int qcow2_alloc_finish(BlockDriverState *bs, const Qcow2WriteMap *m)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t *l2;
    int ret = qcow2_get_l2_for_write(bs, m->first, &l2);

    if (ret < 0) {
        return ret;
    }
    qcow2_set_l2_run(bs, l2, qcow2_l2_index(s, m->first), m->n, m->host);
    s->file_unsynced = true;
    qcow2_cache_put(s->l2_cache, (void **)&l2);
    return 0;
}

/*
 * Zero (or discard) whole clusters [offset, offset+bytes), both cluster
 * aligned.  With a backing file, or when @full_discard is false on a v3
 * image, the entries get the zero flag; otherwise they become
 * unallocated.  A v2 image with a backing file cannot express zeroes:
 * returns -ENOTSUP and the caller writes zero data.
 */
int qcow2_zero_range(BlockDriverState *bs, uint64_t offset, uint64_t bytes,
                     bool full_discard, bool unmap)
{
    BDRVQcow2State *s = bs->opaque;
    int ret = 0;

    while (bytes > 0 && ret == 0) {
        int l2i = qcow2_l2_index(s, offset);
        uint64_t n = MIN(bytes >> s->cluster_bits,
                         (uint64_t)(s->l2_size - l2i));
        uint64_t *l2;
        bool use_zero = bs->backing || !full_discard;

        if (use_zero && s->version < 3) {
            if (bs->backing) {
                return -ENOTSUP;
            }
            use_zero = false;
        }
        ret = qcow2_get_l2(bs, offset, &l2);
        if (ret == 0 && !l2 && !use_zero) {
            /* Nothing allocated here and nothing below: already zero. */
            offset += n << s->cluster_bits;
            bytes -= n << s->cluster_bits;
            continue;
        }
        qcow2_cache_put(s->l2_cache, (void **)&l2);
        if (ret == 0) {
            ret = qcow2_get_l2_for_write(bs, offset, &l2);
        }
        if (ret < 0) {
            return ret;
        }
        for (uint64_t k = 0; k < n; k++) {
            uint64_t e = GUINT64_FROM_BE(l2[l2i + k]);
            uint64_t ne = use_zero ? QCOW_OFLAG_ZERO : 0;
            if (e == ne) {
                continue;
            }
            qcow2_free_l2_entry_deferred(bs, e);
            l2[l2i + k] = GUINT64_TO_BE(ne);
        }
        qcow2_cache_mark_dirty(s->l2_cache, l2);
        qcow2_cache_put(s->l2_cache, (void **)&l2);
        offset += n << s->cluster_bits;
        bytes -= n << s->cluster_bits;
    }
    return ret;
}

/* Raw deflate with a 4 KiB window, as QEMU writes (and reads) it. */
static ssize_t qcow2_deflate(const uint8_t *in, size_t len, uint8_t *out,
                             size_t out_len)
{
    z_stream z = { 0 };
    ssize_t ret;

    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        return -ENOMEM;
    }
    z.next_in = (uint8_t *)in;
    z.avail_in = len;
    z.next_out = out;
    z.avail_out = out_len;
    ret = deflate(&z, Z_FINISH) == Z_STREAM_END ? (ssize_t)(out_len -
                                                            z.avail_out)
                                                : -ENOSPC;
    deflateEnd(&z);
    return ret;
}

ssize_t qcow2_compress_cluster(BDRVQcow2State *s, const uint8_t *data,
                               size_t len, uint8_t *out)
{
    uint8_t *cl = g_malloc0(s->cluster_size);
    ssize_t clen;

    memcpy(cl, data, len);
    /* Not shrinking by a byte at least: -ENOSPC, store it plain. */
    clen = qcow2_deflate(cl, s->cluster_size, out, s->cluster_size - 1);
    g_free(cl);
    return clen;
}

int qcow2_write_compressed_cluster(BlockDriverState *bs, uint64_t offset,
                                   const uint8_t *out, size_t clen)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t *l2 = NULL, e, nb;
    int64_t off = 0;
    int ret;

    ret = qcow2_get_l2_for_write(bs, offset, &l2);
    if (ret == 0) {
        off = qcow2_alloc_bytes(bs, clen);
        ret = off < 0 ? (int)off
                      : bdrv_pwrite(bs->file, off, clen, out, 0);
    }
    if (ret == 0) {
        int l2i = qcow2_l2_index(s, offset);
        nb = ((off + clen - 1) >> 9) - (off >> 9);
        e = QCOW_OFLAG_COMPRESSED | (nb << s->csize_shift) | off;
        qcow2_free_l2_entry_deferred(bs, GUINT64_FROM_BE(l2[l2i]));
        l2[l2i] = GUINT64_TO_BE(e);
        qcow2_cache_mark_dirty(s->l2_cache, l2);
        s->file_unsynced = true;
    }
    if (l2) {
        qcow2_cache_put(s->l2_cache, (void **)&l2);
    }
    return ret;
}

/* Header bytes 36-47: l1_size and l1_table_offset, in one write. */
static int qcow2_header_set_l1(BlockDriverState *bs, uint32_t size,
                               uint64_t off)
{
    uint8_t buf[12];
    uint32_t be_size = GUINT32_TO_BE(size);
    uint64_t be_off = GUINT64_TO_BE(off);
    int ret;

    memcpy(buf, &be_size, 4);
    memcpy(buf + 4, &be_off, 8);
    ret = bdrv_pwrite(bs->file, 36, sizeof(buf), buf, 0);
    return ret < 0 ? ret : bdrv_flush(bs->file);
}

int qcow2_grow_l1_table(BlockDriverState *bs, uint64_t min_size)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t old_off = s->l1_table_offset;
    uint64_t old_bytes = (uint64_t)s->l1_size * 8;
    uint64_t bytes, *tbl;
    int64_t off;
    int ret;

    if (min_size <= s->l1_size) {
        return 0;
    }
    if (min_size > QCOW2_MAX_L1_BYTES / 8) {
        return -EFBIG;
    }
    bytes = qcow2_align_up(min_size * 8, s->cluster_size);
    /* Everything the new table will point at must be on disk first. */
    ret = qcow2_flush_metadata(bs, true);
    if (ret < 0) {
        return ret;
    }
    off = qcow2_alloc_clusters(bs, bytes >> s->cluster_bits);
    if (off < 0) {
        return off;
    }
    tbl = g_new0(uint64_t, bytes / 8);
    memcpy(tbl, s->l1_table, old_bytes);
    g_free(s->l1_table);
    s->l1_table = tbl;
    s->l1_size = min_size;
    s->l1_table_offset = off;
    ret = qcow2_refcount_sync(bs);
    if (ret == 0) {
        ret = qcow2_write_l1(bs);
    }
    if (ret == 0) {
        ret = bdrv_flush(bs->file);
    }
    if (ret == 0) {
        ret = qcow2_header_set_l1(bs, s->l1_size, off);
    }
    if (ret == 0 && old_bytes) {
        qcow2_free_clusters_deferred(bs, old_off, old_bytes);
    }
    return ret;
}
