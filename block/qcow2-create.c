/*
 * Creating a qcow2 image: a header, a one-cluster refcount table and one
 * refcount block describing clusters 0-2, an empty L1 table; then the
 * image is opened and grown to its size by the normal resize path.
 */
#include "qcow2.h"

typedef struct Qcow2CreateOpts {
    uint64_t size;
    int version;
    int cluster_bits;
    int refcount_order;
    bool lazy_refcounts;
    const char *backing_file;
    const char *backing_fmt;
} Qcow2CreateOpts;

static bool qcow2_parse_compat(const char *compat, int *version,
                               GError **errp)
{
    if (!compat || !strcmp(compat, "1.1") || !strcmp(compat, "v3")) {
        *version = 3;
    } else if (!strcmp(compat, "0.10") || !strcmp(compat, "v2")) {
        *version = 2;
    } else {
        error_setg(errp, "Invalid parameter value for 'compat': '%s' (use "
                   "0.10 or 1.1)", compat);
        return false;
    }
    return true;
}

static bool qcow2_parse_cluster_size(QliteOpts *opts, int *bits,
                                     GError **errp)
{
    uint64_t cs;

    if (!qopts_get_size(opts, "cluster_size", 64 * KiB, &cs, errp)) {
        return false;
    }
    if (cs < 512 || cs > 2 * MiB || (cs & (cs - 1))) {
        error_setg(errp, "Cluster size must be a power of two between 512 "
                   "and 2048k");
        return false;
    }
    *bits = __builtin_ctzll(cs);
    return true;
}

static bool qcow2_parse_refcount_bits(QliteOpts *opts, int version,
                                      int *order, GError **errp)
{
    uint64_t rb;

    if (!qopts_get_uint(opts, "refcount_bits", 16, &rb, errp)) {
        return false;
    }
    if (rb < 1 || rb > 64 || (rb & (rb - 1))) {
        error_setg(errp, "Refcount width must be a power of two and may not "
                   "exceed 64 bits");
        return false;
    }
    if (version < 3 && rb != 16) {
        error_setg(errp, "Different refcount widths than 16 bits require "
                   "compatibility level 1.1 or above (use version=v3 or "
                   "greater)");
        return false;
    }
    *order = __builtin_ctzll(rb);
    return true;
}

static bool qcow2_parse_unsupported(QliteOpts *opts, GError **errp)
{
    static const struct {
        const char *key, *ok;
    } fixed[] = {
        { "preallocation", "off" },
        { "extended_l2", "off" },
        { "compression_type", "zlib" },
        { "encryption", "off" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(fixed); i++) {
        const char *v = qopts_get(opts, fixed[i].key);
        if (v && strcmp(v, fixed[i].ok) != 0) {
            error_setg(errp, "Unsupported value for '%s': '%s' (qlite "
                       "supports '%s' only)", fixed[i].key, v, fixed[i].ok);
            return false;
        }
    }
    return true;
}

static bool qcow2_parse_create_opts(QliteOpts *opts, Qcow2CreateOpts *o,
                                    GError **errp)
{
    if (!qcow2_parse_compat(qopts_get(opts, "compat"), &o->version, errp) ||
        !qcow2_parse_cluster_size(opts, &o->cluster_bits, errp) ||
        !qcow2_parse_refcount_bits(opts, o->version, &o->refcount_order,
                                   errp) ||
        !qopts_get_bool(opts, "lazy_refcounts", false, &o->lazy_refcounts,
                        errp) ||
        !qcow2_parse_unsupported(opts, errp)) {
        return false;
    }
    if (o->lazy_refcounts && o->version < 3) {
        error_setg(errp, "Lazy refcounts only supported with compatibility "
                   "level 1.1 and above (use version=v3 or greater)");
        return false;
    }
    o->backing_file = qopts_get(opts, "backing_file");
    o->backing_fmt = qopts_get(opts, "backing_fmt");
    if (o->backing_file && strlen(o->backing_file) > QCOW2_MAX_BACKING_NAME) {
        error_setg(errp, "Backing file name too long");
        return false;
    }
    if (o->backing_fmt && !bdrv_find_format(o->backing_fmt)) {
        error_setg(errp, "Unknown backing file format '%s'", o->backing_fmt);
        return false;
    }
    if (!qopts_has(opts, "size")) {
        error_setg(errp, "Image creation needs a size parameter");
        return false;
    }
    if (!qopts_get_size(opts, "size", 0, &o->size, errp)) {
        return false;
    }
    /* QEMU counts the virtual size in 512-byte sectors (header "size"
     * read as size / 512): round up, as qemu-img does, so that no byte
     * of a converted image falls off its end. */
    o->size = (o->size + 511) & ~(uint64_t)511;
    return true;
}

/* The refcount table (cluster 1) and first block (cluster 2). */
static int qcow2_write_initial_refcounts(BlockDriverState *file,
                                         const Qcow2CreateOpts *o)
{
    int cs = 1 << o->cluster_bits;
    g_autofree uint8_t *buf = g_malloc0(2 * cs);
    uint64_t be = GUINT64_TO_BE(2ULL * cs);

    memcpy(buf, &be, 8);
    for (int i = 0; i < 3; i++) {
        qcow2_rb_set(buf + cs, i, o->refcount_order, 1);
    }
    return bdrv_pwrite(file, cs, 2 * cs, buf, 0);
}

static int qcow2_write_initial_header(BlockDriverState *file,
                                      const Qcow2CreateOpts *o)
{
    BDRVQcow2State s = { 0 };
    BlockDriverState fake = { 0 };
    int ret;

    s.version = o->version;
    s.cluster_bits = o->cluster_bits;
    s.cluster_size = 1 << o->cluster_bits;
    s.header_length = QCOW2_HEADER_LEN_WRITTEN;
    s.header_tail = g_malloc0(QCOW2_HEADER_LEN_WRITTEN -
                              QCOW2_V3_HEADER_LEN);
    s.refcount_order = o->refcount_order;
    s.refcount_table_offset = s.cluster_size;
    s.refcount_table_clusters = 1;
    s.compatible_features = o->lazy_refcounts ?
                            QCOW2_COMPAT_LAZY_REFCOUNTS : 0;
    s.unknown_exts = g_ptr_array_new();
    fake.opaque = &s;
    fake.file = file;
    fake.backing_file = (char *)o->backing_file;
    fake.backing_format = (char *)o->backing_fmt;
    ret = qcow2_update_header(&fake);
    g_ptr_array_free(s.unknown_exts, true);
    g_free(s.header_tail);
    return ret;
}

static int qcow2_create_file(const char *filename, const Qcow2CreateOpts *o,
                             GError **errp)
{
    g_autoptr(QliteOpts) fopts = qopts_new("create");
    BlockDriverState *file;
    int ret;

    qopts_set(fopts, "size", "0");
    ret = bdrv_file.create(filename, fopts, errp);
    if (ret < 0) {
        return ret;
    }
    file = bdrv_open(filename, "file", NULL, BDRV_O_RDWR, errp);
    if (!file) {
        return -EIO;
    }
    ret = qcow2_write_initial_refcounts(file, o);
    if (ret == 0) {
        ret = qcow2_write_initial_header(file, o);
    }
    if (ret == 0) {
        ret = bdrv_flush(file);
    }
    bdrv_unref(file);
    if (ret < 0) {
        error_setg(errp, "Could not write the qcow2 header of '%s': %s",
                   filename, g_strerror(-ret));
    }
    return ret;
}

int qcow2_create(const char *filename, QliteOpts *opts, GError **errp)
{
    Qcow2CreateOpts o = { 0 };
    BlockDriverState *bs;
    int ret;

    /* Every option checked before the file exists: a bad one leaves no
     * image behind. */
    if (!qcow2_parse_create_opts(opts, &o, errp) ||
        !qopts_check_all_used(opts, errp)) {
        return -EINVAL;
    }
    ret = qcow2_create_file(filename, &o, errp);
    if (ret < 0) {
        return ret;
    }
    bs = bdrv_open(filename, "qcow2", NULL,
                   BDRV_O_RDWR | BDRV_O_NO_BACKING, errp);
    if (!bs) {
        return -EIO;
    }
    ret = bdrv_truncate(bs, o.size, errp);
    bdrv_unref(bs);
    return ret;
}
