/*
 * -blockdev: one node per option, in keyval ("driver=qcow2,node-name=n,
 * file.driver=file,file.filename=disk.qcow2") or JSON form.  A format
 * node's "file" is either a nested protocol node or the node-name of one
 * defined earlier.
 */
#include "block_int.h"

static QliteOpts *blockdev_parse(const char *optstr, GError **errp)
{
    return keyval_parse_any(optstr, "blockdev", NULL, 0, errp);
}

static bool blockdev_flags(QliteOpts *opts, const char *prefix, int *flags,
                           GError **errp)
{
    g_autofree char *ro_k = g_strconcat(prefix, "read-only", NULL);
    g_autofree char *dir_k = g_strconcat(prefix, "cache.direct", NULL);
    g_autofree char *nf_k = g_strconcat(prefix, "cache.no-flush", NULL);
    bool ro, direct, no_flush;

    if (!qopts_get_bool(opts, ro_k, false, &ro, errp) ||
        !qopts_get_bool(opts, dir_k, false, &direct, errp) ||
        !qopts_get_bool(opts, nf_k, false, &no_flush, errp)) {
        return false;
    }
    *flags = (ro ? 0 : BDRV_O_RDWR) | (direct ? BDRV_O_NOCACHE : 0) |
             (no_flush ? BDRV_O_NO_FLUSH : 0);
    {
        g_autofree char *lk = g_strconcat(prefix, "locking", NULL);
        return block_parse_locking(opts, lk, flags, errp);
    }
}

/* The protocol node under a format node: nested or by name. */
static BlockDriverState *blockdev_file_child(QliteOpts *opts, int flags,
                                             GError **errp)
{
    const char *ref = qopts_get(opts, "file");
    const char *drv = qopts_get(opts, "file.driver");
    const char *fn = qopts_get(opts, "file.filename");
    BlockDriverState *bs;
    int cflags = flags;

    if (ref) {
        bs = bdrv_find_node(ref);
        if (!bs) {
            error_setg(errp, "Cannot find device='' nor node-name='%s'", ref);
            return NULL;
        }
        bdrv_ref(bs);
        return bs;
    }
    if (!drv || strcmp(drv, "file") != 0 || !fn) {
        error_setg(errp, "Parameter 'file' is missing (give file=NODE or "
                   "file.driver=file,file.filename=PATH)");
        return NULL;
    }
    if (!blockdev_flags(opts, "file.", &cflags, errp)) {
        return NULL;
    }
    cflags |= flags & BDRV_O_RDWR;
    return bdrv_open(fn, "file", opts, cflags, errp);
}

/*
 * auto-read-only=on: a node asked to be writable is opened read-only when
 * the file cannot be written (permissions, a read-only mount), as QEMU's.
 */
static bool blockdev_auto_read_only(QliteOpts *opts, const char *filename,
                                    int *flags, GError **errp)
{
    bool auto_ro;

    if (!qopts_get_bool(opts, "auto-read-only", false, &auto_ro, errp)) {
        return false;
    }
    if (auto_ro && (*flags & BDRV_O_RDWR) && access(filename, W_OK) < 0 &&
        (errno == EACCES || errno == EPERM || errno == EROFS)) {
        *flags &= ~BDRV_O_RDWR;
    }
    return true;
}

/* backing: absent (the image's own chain) or null (none). */
static bool blockdev_backing(QliteOpts *opts, int *flags, GError **errp)
{
    const char *backing = qopts_get(opts, "backing");

    if (!backing) {
        return true;
    }
    if (*backing) {
        error_setg(errp, "backing='%s': a backing node given by name is not "
                   "supported (use null, or let the image name its backing "
                   "file)", backing);
        return false;
    }
    *flags |= BDRV_O_NO_BACKING;
    return true;
}

static BlockDriverState *blockdev_open(QliteOpts *opts, GError **errp)
{
    const char *drv = qopts_get(opts, "driver");
    const BlockDriver *d;
    BlockDriverState *file;
    int flags;

    if (!drv) {
        error_setg(errp, "Parameter 'driver' is missing");
        return NULL;
    }
    d = bdrv_find_format(drv);
    if (!d) {
        error_setg(errp, "Unknown driver '%s'", drv);
        return NULL;
    }
    if (!blockdev_flags(opts, "", &flags, errp)) {
        return NULL;
    }
    if (d->is_protocol) {
        const char *fn = qopts_get(opts, "filename");
        if (!fn) {
            error_setg(errp, "Parameter 'filename' is missing");
            return NULL;
        }
        if (!blockdev_auto_read_only(opts, fn, &flags, errp)) {
            return NULL;
        }
        return bdrv_open(fn, drv, opts, flags, errp);
    }
    if (!blockdev_backing(opts, &flags, errp)) {
        return NULL;
    }
    file = blockdev_file_child(opts, flags, errp);
    if (!file) {
        return NULL;
    }
    return bdrv_open_format(file, drv, opts, flags, errp);
}

BlockDriverState *blockdev_add(const char *optstr, GError **errp)
{
    g_autoptr(QliteOpts) opts = blockdev_parse(optstr, errp);
    const char *name;
    BlockDriverState *bs;
    bool unmap;

    if (!opts) {
        return NULL;
    }
    name = qopts_get(opts, "node-name");
    if (!name || !*name) {
        error_setg(errp, "-blockdev needs a node-name");
        return NULL;
    }
    if (bdrv_find_node(name)) {
        error_setg(errp, "Duplicate nodes with node-name='%s'", name);
        return NULL;
    }
    qopts_get(opts, "l2-cache-size");
    qopts_get(opts, "refcount-cache-size");
    qopts_get(opts, "file.aio");
    qopts_get(opts, "aio");
    bs = blockdev_open(opts, errp);
    if (!bs) {
        return NULL;
    }
    if (!block_parse_discard(opts, &unmap, errp) ||
        !qopts_check_all_used(opts, errp)) {
        bdrv_unref(bs);
        return NULL;
    }
    /* discard belongs to the node: one with "ignore" drops them. */
    bs->discard_ignore = !unmap;
    bs->node_name = g_strdup(name);
    blockdev_register_node(bs);
    return bs;
}
