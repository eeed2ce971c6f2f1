/*
 * The qcow2 header ("Header", "Header extensions"): parsing with every
 * field checked against the file, and writing it back.
 *
 *   0 magic | 4 version | 8 backing_file_offset | 16 backing_file_size
 *  20 cluster_bits | 24 size | 32 crypt_method | 36 l1_size
 *  40 l1_table_offset | 48 refcount_table_offset
 *  56 refcount_table_clusters | 60 nb_snapshots | 64 snapshots_offset
 *  v3: 72 incompatible | 80 compatible | 88 autoclear
 *      96 refcount_order | 100 header_length | 104 compression_type
 */
#include "qcow2.h"

static uint32_t qcow2_rd32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return GUINT32_FROM_BE(v);
}

static uint64_t qcow2_rd64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return GUINT64_FROM_BE(v);
}

static void qcow2_wr32(uint8_t *p, uint32_t v)
{
    v = GUINT32_TO_BE(v);
    memcpy(p, &v, 4);
}

static void qcow2_wr64(uint8_t *p, uint64_t v)
{
    v = GUINT64_TO_BE(v);
    memcpy(p, &v, 8);
}

/* The names QEMU gives its incompatible features (feature name table). */
static const char *const qcow2_incompat_names[] = {
    "dirty bit", "corrupt bit", "external data file", "compression type",
    "extended L2 entries",
};

/* Feature name from the image's own table, if it has one. */
static char *qcow2_feature_name(const uint8_t *tbl, uint32_t len, int bit)
{
    for (uint32_t i = 0; tbl && i + 48 <= len; i += 48) {
        if (tbl[i] == 0 && tbl[i + 1] == bit) {
            return g_strndup((const char *)tbl + i + 2, 46);
        }
    }
    if (bit < (int)G_N_ELEMENTS(qcow2_incompat_names)) {
        return g_strdup(qcow2_incompat_names[bit]);
    }
    return g_strdup_printf("Unknown incompatible feature: %" PRIx64,
                           (uint64_t)1 << bit);
}

static bool qcow2_check_incompat(BDRVQcow2State *s, const uint8_t *tbl,
                                 uint32_t tbl_len, GError **errp)
{
    uint64_t unknown = s->incompatible_features & ~QCOW2_INCOMPAT_SUPPORTED;
    GString *names;

    if (!unknown) {
        return true;
    }
    names = g_string_new(NULL);
    for (int bit = 0; bit < 64; bit++) {
        if (unknown & (1ULL << bit)) {
            g_autofree char *n = qcow2_feature_name(tbl, tbl_len, bit);
            g_string_append_printf(names, "%s%s", names->len ? ", " : "", n);
        }
    }
    error_setg(errp, "Unsupported qcow2 feature(s): %s (incompatible_features"
               " %#" PRIx64 ")", names->str, s->incompatible_features);
    g_string_free(names, true);
    return false;
}

/* [a, a+alen) and [b, b+blen) share a byte. */
static bool qcow2_ranges_overlap(uint64_t a, uint64_t alen, uint64_t b,
                                 uint64_t blen)
{
    return alen && blen && a < b + blen && b < a + alen;
}

/* A table must be cluster aligned, inside the file, and clear of others. */
static bool qcow2_check_table(BlockDriverState *bs, const char *field,
                              uint64_t off, uint64_t bytes, GError **errp)
{
    BDRVQcow2State *s = bs->opaque;

    if (!bytes) {
        return true;
    }
    if (!QLITE_IS_ALIGNED(off, s->cluster_size)) {
        error_setg(errp, "%s %#" PRIx64 " is not aligned to a cluster",
                   field, off);
        return false;
    }
    if (bs->open_flags & BDRV_O_CHECK) {
        /* check reports (and -r all repairs) what lies past the end of
         * the file or on other metadata, as qemu-img check does. */
        return true;
    }
    if (off > s->file_size || bytes > s->file_size - off) {
        error_setg(errp, "%s %#" PRIx64 " (%" PRIu64 " bytes) is past the "
                   "end of the file (%" PRIu64 " bytes)", field, off, bytes,
                   s->file_size);
        return false;
    }
    if (qcow2_ranges_overlap(off, bytes, 0, s->cluster_size)) {
        error_setg(errp, "%s %#" PRIx64 " overlaps the header", field, off);
        return false;
    }
    return true;
}

static bool qcow2_check_tables(BlockDriverState *bs, GError **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t l1_bytes = (uint64_t)s->l1_size * 8;
    uint64_t rt_bytes = (uint64_t)s->refcount_table_clusters <<
                        s->cluster_bits;

    if (!qcow2_check_table(bs, "l1_table_offset", s->l1_table_offset,
                           l1_bytes, errp) ||
        !qcow2_check_table(bs, "refcount_table_offset",
                           s->refcount_table_offset, rt_bytes, errp)) {
        return false;
    }
    if (!(bs->open_flags & BDRV_O_CHECK) &&
        qcow2_ranges_overlap(s->l1_table_offset, l1_bytes,
                             s->refcount_table_offset, rt_bytes)) {
        error_setg(errp, "l1_table_offset %#" PRIx64 " overlaps the "
                   "refcount table at refcount_table_offset %#" PRIx64,
                   s->l1_table_offset, s->refcount_table_offset);
        return false;
    }
    if (s->nb_snapshots &&
        !QLITE_IS_ALIGNED(s->snapshots_offset, s->cluster_size)) {
        error_setg(errp, "snapshots_offset %#" PRIx64 " is not aligned to "
                   "a cluster", s->snapshots_offset);
        return false;
    }
    return true;
}

static bool qcow2_parse_sizes(BlockDriverState *bs, const uint8_t *h,
                              GError **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t need;

    s->size = qcow2_rd64(h + 24);
    s->l1_size = qcow2_rd32(h + 36);
    s->l1_table_offset = qcow2_rd64(h + 40);
    s->refcount_table_offset = qcow2_rd64(h + 48);
    s->refcount_table_clusters = qcow2_rd32(h + 56);
    s->nb_snapshots = qcow2_rd32(h + 60);
    s->snapshots_offset = qcow2_rd64(h + 64);
    if (s->size > (1ULL << 62)) {
        error_setg(errp, "size %" PRIu64 " is too large", s->size);
        return false;
    }
    if ((uint64_t)s->l1_size * 8 > QCOW2_MAX_L1_BYTES) {
        error_setg(errp, "l1_size %" PRIu32 " is too large (the L1 table "
                   "may be at most %" PRIu64 " bytes)", s->l1_size,
                   QCOW2_MAX_L1_BYTES);
        return false;
    }
    need = qcow2_l1_entries_for(s->size, s->cluster_bits);
    if (s->l1_size < need) {
        error_setg(errp, "l1_size %" PRIu32 " is too small for the virtual "
                   "size %" PRIu64 " (needs %" PRIu64 ")", s->l1_size,
                   s->size, need);
        return false;
    }
    if (s->refcount_table_clusters == 0 ||
        ((uint64_t)s->refcount_table_clusters << s->cluster_bits) >
        QCOW2_MAX_REFTABLE_BYTES) {
        error_setg(errp, "refcount_table_clusters %" PRIu32 " is out of "
                   "range (1 to %" PRIu64 " bytes)", s->refcount_table_clusters,
                   QCOW2_MAX_REFTABLE_BYTES);
        return false;
    }
    if (s->nb_snapshots > QCOW2_MAX_SNAPSHOTS) {
        error_setg(errp, "nb_snapshots %" PRIu32 " is too large",
                   s->nb_snapshots);
        return false;
    }
    return true;
}

static bool qcow2_parse_v3(BlockDriverState *bs, const uint8_t *h,
                           uint64_t avail, GError **errp)
{
    BDRVQcow2State *s = bs->opaque;

    if (s->version < 3) {
        s->header_length = QCOW2_V2_HEADER_LEN;
        s->refcount_order = 4;
        return true;
    }
    if (avail < QCOW2_V3_HEADER_LEN) {
        error_setg(errp, "Image is too small for a version 3 header "
                   "(%" PRIu64 " bytes)", avail);
        return false;
    }
    s->incompatible_features = qcow2_rd64(h + 72);
    s->compatible_features = qcow2_rd64(h + 80);
    s->autoclear_features = qcow2_rd64(h + 88);
    s->header_length = qcow2_rd32(h + 100);
    if (qcow2_rd32(h + 96) > 6) {
        error_setg(errp, "refcount_order %" PRIu32 " is too large (at most "
                   "6)", qcow2_rd32(h + 96));
        return false;
    }
    s->refcount_order = qcow2_rd32(h + 96);
    if (s->header_length < QCOW2_V3_HEADER_LEN ||
        s->header_length > (uint32_t)s->cluster_size ||
        s->header_length % 8 || s->header_length > avail) {
        error_setg(errp, "header_length %" PRIu32 " is invalid",
                   s->header_length);
        return false;
    }
    s->header_tail = g_memdup2(h + QCOW2_V3_HEADER_LEN,
                               s->header_length - QCOW2_V3_HEADER_LEN);
    if (s->header_length > QCOW2_V3_HEADER_LEN) {
        s->compression_type = h[104];
    }
    return true;
}

static void qcow2_unknown_ext_free(gpointer p)
{
    Qcow2UnknownExt *e = p;

    g_free(e->data);
    g_free(e);
}

/* Walk the extensions from @start to @end; the feature table is returned. */
static bool qcow2_parse_exts(BlockDriverState *bs, const uint8_t *h,
                             uint64_t start, uint64_t end,
                             const uint8_t **ftbl, uint32_t *ftbl_len,
                             GError **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t off = start;

    while (off + 8 <= end) {
        uint32_t type = qcow2_rd32(h + off), len = qcow2_rd32(h + off + 4);
        if (type == QCOW2_EXT_END) {
            return true;
        }
        if (len > end - off - 8) {
            error_setg(errp, "Header extension %#" PRIx32 " at offset %"
                       PRIu64 " is too long (%" PRIu32 " bytes)", type, off,
                       len);
            return false;
        }
        if (type == QCOW2_EXT_BACKING_FMT) {
            g_free(bs->backing_format);
            bs->backing_format = g_strndup((const char *)h + off + 8,
                                           MIN(len, 15));
        } else if (type == QCOW2_EXT_FEATURE_TABLE) {
            *ftbl = h + off + 8;
            *ftbl_len = len;
            s->has_feature_table = true;
        } else {
            Qcow2UnknownExt *e = g_new0(Qcow2UnknownExt, 1);
            e->magic = type;
            e->len = len;
            e->data = g_memdup2(h + off + 8, len);
            g_ptr_array_add(s->unknown_exts, e);
        }
        off += 8 + qcow2_align_up(len, 8);
    }
    return true;
}

static bool qcow2_parse_backing(BlockDriverState *bs, const uint8_t *h,
                                uint64_t avail, const uint8_t *fixed,
                                GError **errp)
{
    BDRVQcow2State *s = bs->opaque;

    s->backing_file_offset = qcow2_rd64(fixed + 8);
    s->backing_file_size = qcow2_rd32(fixed + 16);
    if (!s->backing_file_offset) {
        return true;
    }
    if (s->backing_file_size > QCOW2_MAX_BACKING_NAME ||
        s->backing_file_offset > avail ||
        s->backing_file_size > avail - s->backing_file_offset) {
        error_setg(errp, "backing_file_offset %#" PRIx64 " with "
                   "backing_file_size %" PRIu32 " is outside the header "
                   "cluster", s->backing_file_offset, s->backing_file_size);
        return false;
    }
    bs->backing_file = g_strndup((const char *)h + s->backing_file_offset,
                                 s->backing_file_size);
    if (!bs->backing_file[0]) {
        g_clear_pointer(&bs->backing_file, g_free);
    }
    return true;
}

static bool qcow2_parse_basic(BlockDriverState *bs, const uint8_t *h,
                              GError **errp)
{
    BDRVQcow2State *s = bs->opaque;

    if (qcow2_rd32(h) != QCOW2_MAGIC) {
        error_setg(errp, "Image is not in qcow2 format (bad magic)");
        return false;
    }
    s->version = qcow2_rd32(h + 4);
    if (s->version != 2 && s->version != 3) {
        error_setg(errp, "Unsupported qcow2 version %d", s->version);
        return false;
    }
    s->cluster_bits = qcow2_rd32(h + 20);
    if (s->cluster_bits < QCOW2_MIN_CLUSTER_BITS ||
        s->cluster_bits > QCOW2_MAX_CLUSTER_BITS) {
        error_setg(errp, "cluster_bits %d is out of range (%d to %d)",
                   s->cluster_bits, QCOW2_MIN_CLUSTER_BITS,
                   QCOW2_MAX_CLUSTER_BITS);
        return false;
    }
    if (qcow2_rd32(h + 32) != 0) {
        error_setg(errp, "crypt_method %" PRIu32 ": encrypted images are "
                   "not supported", qcow2_rd32(h + 32));
        return false;
    }
    s->cluster_size = 1 << s->cluster_bits;
    return true;
}

int qcow2_read_header(BlockDriverState *bs, GError **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint8_t fixed[QCOW2_V2_HEADER_LEN];
    const uint8_t *ftbl = NULL;
    uint32_t ftbl_len = 0;
    uint64_t avail, ext_end;
    g_autofree uint8_t *h = NULL;
    int ret;

    s->unknown_exts = g_ptr_array_new_with_free_func(qcow2_unknown_ext_free);
    if (s->file_size < QCOW2_V2_HEADER_LEN) {
        error_setg(errp, "Image is too small for a qcow2 header (%" PRIu64
                   " of %d bytes): truncated header", s->file_size,
                   QCOW2_V2_HEADER_LEN);
        return -EINVAL;
    }
    ret = bdrv_pread(bs->file, 0, sizeof(fixed), fixed);
    if (ret < 0) {
        error_setg(errp, "Could not read the qcow2 header: %s",
                   g_strerror(-ret));
        return ret;
    }
    if (!qcow2_parse_basic(bs, fixed, errp)) {
        return -EINVAL;
    }
    avail = MIN(s->file_size, (uint64_t)s->cluster_size);
    h = g_malloc0(s->cluster_size);
    ret = bdrv_pread(bs->file, 0, avail, h);
    if (ret < 0) {
        error_setg(errp, "Could not read the qcow2 header: %s",
                   g_strerror(-ret));
        return ret;
    }
    if (!qcow2_parse_v3(bs, h, avail, errp) ||
        !qcow2_parse_sizes(bs, h, errp) ||
        !qcow2_parse_backing(bs, h, avail, fixed, errp)) {
        return -EINVAL;
    }
    ext_end = s->backing_file_offset && s->backing_file_offset < avail
              ? s->backing_file_offset : avail;
    if (!qcow2_parse_exts(bs, h, s->header_length, ext_end, &ftbl,
                          &ftbl_len, errp) ||
        !qcow2_check_incompat(s, ftbl, ftbl_len, errp)) {
        return -EINVAL;
    }
    if (s->compression_type != 0) {
        error_setg(errp, "compression_type %d is invalid without the "
                   "compression type feature bit", s->compression_type);
        return -EINVAL;
    }
    return qcow2_check_tables(bs, errp) ? 0 : -EINVAL;
}

/* Feature name table entries: (type, bit, name). */
static const struct {
    uint8_t type;
    uint8_t bit;
    const char *name;
} qcow2_feature_table[] = {
    { 0, 0, "dirty bit" },
    { 0, 1, "corrupt bit" },
    { 0, 2, "external data file" },
    { 0, 3, "compression type" },
    { 0, 4, "extended L2 entries" },
    { 1, 0, "lazy refcounts" },
    { 2, 0, "bitmaps" },
    { 2, 1, "raw external data" },
};

static size_t qcow2_put_ext(uint8_t *buf, size_t off, uint32_t type,
                            const void *data, uint32_t len)
{
    qcow2_wr32(buf + off, type);
    qcow2_wr32(buf + off + 4, len);
    if (len) {
        memcpy(buf + off + 8, data, len);   /* an empty one may be NULL */
    }
    return off + 8 + qcow2_align_up(len, 8);
}

static size_t qcow2_put_feature_table(uint8_t *buf, size_t off)
{
    size_t n = G_N_ELEMENTS(qcow2_feature_table);
    g_autofree uint8_t *t = g_malloc0(n * 48);

    for (size_t i = 0; i < n; i++) {
        t[i * 48] = qcow2_feature_table[i].type;
        t[i * 48 + 1] = qcow2_feature_table[i].bit;
        strncpy((char *)t + i * 48 + 2, qcow2_feature_table[i].name, 46);
    }
    return qcow2_put_ext(buf, off, QCOW2_EXT_FEATURE_TABLE, t, n * 48);
}

static void qcow2_put_fixed(BlockDriverState *bs, uint8_t *h)
{
    BDRVQcow2State *s = bs->opaque;

    qcow2_wr32(h, QCOW2_MAGIC);
    qcow2_wr32(h + 4, s->version);
    qcow2_wr32(h + 20, s->cluster_bits);
    qcow2_wr64(h + 24, s->size);
    qcow2_wr32(h + 36, s->l1_size);
    qcow2_wr64(h + 40, s->l1_table_offset);
    qcow2_wr64(h + 48, s->refcount_table_offset);
    qcow2_wr32(h + 56, s->refcount_table_clusters);
    qcow2_wr32(h + 60, s->nb_snapshots);
    qcow2_wr64(h + 64, s->snapshots_offset);
    if (s->version >= 3) {
        qcow2_wr64(h + 72, s->incompatible_features);
        qcow2_wr64(h + 80, s->compatible_features);
        qcow2_wr64(h + 88, s->autoclear_features);
        qcow2_wr32(h + 96, s->refcount_order);
        qcow2_wr32(h + 100, s->header_length);
        if (s->header_tail) {
            memcpy(h + 104, s->header_tail, s->header_length - 104);
        }
    }
}

int qcow2_update_header(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree uint8_t *h = g_malloc0(s->cluster_size + 4096);
    size_t off;

    /* Unknown autoclear features become invalid once we write. */
    s->autoclear_features &= 0;
    qcow2_put_fixed(bs, h);
    off = s->version >= 3 ? s->header_length : QCOW2_V2_HEADER_LEN;
    if (bs->backing_format && bs->backing_file) {
        off = qcow2_put_ext(h, off, QCOW2_EXT_BACKING_FMT,
                            bs->backing_format, strlen(bs->backing_format));
    }
    if (s->version >= 3) {
        off = qcow2_put_feature_table(h, off);
    }
    for (guint i = 0; i < s->unknown_exts->len; i++) {
        Qcow2UnknownExt *e = g_ptr_array_index(s->unknown_exts, i);
        if (off + 16 + e->len > (size_t)s->cluster_size) {
            return -ENOSPC;
        }
        off = qcow2_put_ext(h, off, e->magic, e->data, e->len);
    }
    off += 8;   /* end of extensions */
    if (bs->backing_file) {
        size_t len = strlen(bs->backing_file);
        if (off + len > (size_t)s->cluster_size) {
            return -ENOSPC;
        }
        qcow2_wr64(h + 8, off);
        qcow2_wr32(h + 16, len);
        memcpy(h + off, bs->backing_file, len);
        off += len;
    }
    if (off > (size_t)s->cluster_size) {
        return -ENOSPC;
    }
    return bdrv_pwrite(bs->file, 0, off, h, 0);
}

int qcow2_write_incompat(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t be = GUINT64_TO_BE(s->incompatible_features);

    if (s->version < 3) {
        return 0;
    }
    return bdrv_pwrite(bs->file, 72, 8, &be, 0);
}
