/*
 * -drive and -blockdev: option strings to open nodes and backends that
 * devices later claim by name.
 */
#include "block_int.h"

#include <unistd.h>

static const char *const block_if_names[IF_COUNT] = {
    [IF_NONE] = "none", [IF_IDE] = "ide", [IF_SCSI] = "scsi",
    [IF_FLOPPY] = "floppy", [IF_PFLASH] = "pflash", [IF_MTD] = "mtd",
    [IF_SD] = "sd", [IF_VIRTIO] = "virtio",
};

/* Units per bus, as QEMU numbers index= (IDE: master and slave). */
static const int block_if_units[IF_COUNT] = {
    [IF_IDE] = 2, [IF_SCSI] = 7, [IF_FLOPPY] = 2,
};

static GList *drives;           /* of DriveInfo *, in creation order */
static GHashTable *named_nodes; /* node-name -> BlockDriverState * */
static GList *named_list;       /* the same nodes, in creation order */
static GHashTable *claimed_nodes;
static bool snapshot_default;

void drive_set_snapshot_default(bool on)
{
    snapshot_default = on;
}

const char *block_if_name(BlockInterfaceType type)
{
    return type < IF_COUNT ? block_if_names[type] : "?";
}

static bool drive_parse_if(const char *s, BlockInterfaceType *out,
                           GError **errp)
{
    for (int i = 0; i < IF_COUNT; i++) {
        if (!strcmp(s, block_if_names[i])) {
            *out = i;
            return true;
        }
    }
    error_setg(errp, "Invalid parameter value for 'if': '%s'", s);
    return false;
}

DriveInfo *drive_get(BlockInterfaceType type, int bus, int unit)
{
    for (GList *l = drives; l; l = l->next) {
        DriveInfo *d = l->data;
        if (d->type == type && d->bus == bus && d->unit == unit) {
            return d;
        }
    }
    return NULL;
}

GList *drive_get_unclaimed(BlockInterfaceType type)
{
    GList *out = NULL;

    for (GList *l = drives; l; l = l->next) {
        DriveInfo *d = l->data;
        if (d->type == type && !d->claimed) {
            out = g_list_append(out, d);
        }
    }
    return out;
}

static DriveInfo *drive_find_id(const char *id)
{
    for (GList *l = drives; l; l = l->next) {
        DriveInfo *d = l->data;
        if (!strcmp(d->id, id)) {
            return d;
        }
    }
    return NULL;
}

/* bus/unit from index=, bus=, unit=, or the next free slot. */
static bool drive_place(QliteOpts *opts, DriveInfo *d, GError **errp)
{
    int per_bus = block_if_units[d->type] ? block_if_units[d->type] : 1;
    uint64_t index = UINT64_MAX, bus = 0, unit = UINT64_MAX;

    if (!qopts_get_uint(opts, "index", UINT64_MAX, &index, errp) ||
        !qopts_get_uint(opts, "bus", 0, &bus, errp) ||
        !qopts_get_uint(opts, "unit", UINT64_MAX, &unit, errp)) {
        return false;
    }
    if (index != UINT64_MAX) {
        if (index > 1024) {
            error_setg(errp, "index %" PRIu64 " is too big", index);
            return false;
        }
        bus = index / per_bus;
        unit = index % per_bus;
    }
    if (bus > 64 || (unit != UINT64_MAX && unit > 1024)) {
        error_setg(errp, "bus/unit out of range");
        return false;
    }
    if (unit == UINT64_MAX) {
        for (unit = 0; drive_get(d->type, bus, unit); unit++) {
            if (unit + 1 >= (uint64_t)per_bus && per_bus > 1) {
                bus++;
                unit = UINT64_MAX;
            }
        }
    }
    if (drive_get(d->type, bus, unit)) {
        error_setg(errp, "drive with bus=%" PRIu64 ", unit=%" PRIu64
                   " exists", bus, unit);
        return false;
    }
    d->bus = bus;
    d->unit = unit;
    return true;
}

static char *drive_default_id(DriveInfo *d)
{
    int per_bus = block_if_units[d->type] ? block_if_units[d->type] : 1;

    if (d->type == IF_IDE || d->type == IF_SCSI) {
        return g_strdup_printf("%s%d-%s%d", block_if_name(d->type), d->bus,
                               d->is_cdrom ? "cd" : "hd", d->unit);
    }
    return g_strdup_printf("%s%d", block_if_name(d->type),
                           d->bus * per_bus + d->unit);
}

/* snapshot=on: a temporary qcow2 overlay takes the writes. */
static BlockDriverState *drive_open_snapshot(BlockDriverState *base,
                                             int flags, GError **errp)
{
    g_autoptr(QliteOpts) copts = qopts_new("create");
    g_autofree char *tmp = NULL;
    g_autofree char *abs = NULL;
    g_autofree char *size = NULL;
    BlockDriverState *bs = NULL;
    int fd;

    fd = g_file_open_tmp("qlite-snapshot-XXXXXX.qcow2", &tmp, errp);
    if (fd < 0) {
        return NULL;
    }
    close(fd);
    abs = g_canonicalize_filename(base->filename, NULL);
    size = g_strdup_printf("%" PRId64, bdrv_getlength(base));
    qopts_set(copts, "size", size);
    qopts_set(copts, "backing_file", abs);
    qopts_set(copts, "backing_fmt", base->drv->format_name);
    if (bdrv_create("qcow2", tmp, copts, errp) == 0) {
        bs = bdrv_open(tmp, "qcow2", NULL,
                       (flags | BDRV_O_RDWR) & ~BDRV_O_SNAPSHOT, errp);
    }
    unlink(tmp);
    return bs;
}

static bool drive_parse_flags(QliteOpts *opts, int *flags,
                              bool *writethrough, GError **errp)
{
    const char *cache = qopts_get(opts, "cache");
    bool ro = false, snap = false, direct, no_flush;

    *flags = 0;
    *writethrough = false;
    if (cache && !bdrv_parse_cache_mode(cache, flags, writethrough, errp)) {
        return false;
    }
    if (!qopts_get_bool(opts, "readonly", false, &ro, errp) ||
        !qopts_get_bool(opts, "read-only", ro, &ro, errp) ||
        !qopts_get_bool(opts, "snapshot", snapshot_default, &snap, errp) ||
        !qopts_get_bool(opts, "cache.direct", *flags & BDRV_O_NOCACHE,
                        &direct, errp) ||
        !qopts_get_bool(opts, "cache.no-flush", *flags & BDRV_O_NO_FLUSH,
                        &no_flush, errp)) {
        return false;
    }
    *flags = (direct ? BDRV_O_NOCACHE : 0) | (no_flush ? BDRV_O_NO_FLUSH : 0);
    *flags |= ro ? 0 : BDRV_O_RDWR;
    *flags |= snap ? BDRV_O_SNAPSHOT : 0;
    return block_parse_locking(opts, "file.locking", flags, errp);
}

/* aio=, discard=, werror=, rerror=, detect-zeroes=, copy-on-read=. */
bool block_parse_discard(QliteOpts *opts, bool *unmap, GError **errp)
{
    const char *discard = qopts_get(opts, "discard");
    const char *dz = qopts_get(opts, "detect-zeroes");

    if (discard && strcmp(discard, "ignore") && strcmp(discard, "off") &&
        strcmp(discard, "unmap") && strcmp(discard, "on")) {
        error_setg(errp, "Invalid discard option '%s'", discard);
        return false;
    }
    if (dz && strcmp(dz, "off")) {
        error_setg(errp, "detect-zeroes=%s is not supported (only off)", dz);
        return false;
    }
    /* QEMU's default, for -drive and -blockdev alike, is ignore. */
    *unmap = discard && (!strcmp(discard, "unmap") || !strcmp(discard, "on"));
    return true;
}

static bool drive_apply_policies(DriveInfo *d, QliteOpts *opts,
                                 GError **errp)
{
    const char *aio = qopts_get(opts, "aio");
    const char *werror = qopts_get(opts, "werror");
    const char *rerror = qopts_get(opts, "rerror");
    BlockdevOnError we = BLOCKDEV_ON_ERROR_AUTO, re = BLOCKDEV_ON_ERROR_AUTO;
    bool cor, unmap;

    if (aio && strcmp(aio, "threads") && strcmp(aio, "native") &&
        strcmp(aio, "io_uring")) {
        error_setg(errp, "invalid aio option '%s'", aio);
        return false;
    }
    if (!block_parse_discard(opts, &unmap, errp) ||
        !qopts_get_bool(opts, "copy-on-read", false, &cor, errp)) {
        return false;
    }
    if (cor) {
        error_setg(errp, "copy-on-read=on is not supported");
        return false;
    }
    if ((werror && !blk_parse_on_error(werror, false, &we, errp)) ||
        (rerror && !blk_parse_on_error(rerror, true, &re, errp))) {
        return false;
    }
    if (d->type != IF_NONE && d->type != IF_VIRTIO && d->type != IF_IDE &&
        (werror || rerror)) {
        error_setg(errp, "werror/rerror are not supported by if=%s",
                   block_if_name(d->type));
        return false;
    }
    blk_set_on_error(d->blk, re, we);
    /* "threads" keeps every request in the worker pool; the others use
     * the io_uring where a request allows it. */
    blk_set_aio_threads(d->blk, aio && !strcmp(aio, "threads"));
    /* As -blockdev's, the policy is the node's (bdrv_discard). */
    if (blk_bs(d->blk)) {
        blk_bs(d->blk)->discard_ignore = !unmap;
    }
    return true;
}

static bool drive_open_blk(DriveInfo *d, QliteOpts *opts, GError **errp)
{
    const char *file = qopts_get(opts, "file");
    const char *fmt = qopts_get(opts, "format");
    const char *node = qopts_get(opts, "node-name");
    bool writethrough;
    BlockDriverState *bs;
    int flags;

    if (!drive_parse_flags(opts, &flags, &writethrough, errp)) {
        return false;
    }
    if (!file || !*file) {
        if (!d->is_cdrom) {
            error_setg(errp, "drive '%s' needs a file= parameter", d->id);
            return false;
        }
        d->blk = blk_new_empty(d->id);
        return true;
    }
    if (d->is_cdrom) {
        flags &= ~BDRV_O_RDWR;
    }
    /* Under snapshot=on the image itself is only read: the overlay opens
     * it again as its backing file, and two writers would conflict. */
    bs = bdrv_open(file, fmt, opts, (flags & BDRV_O_SNAPSHOT) ?
                   flags & ~(BDRV_O_SNAPSHOT | BDRV_O_RDWR) :
                   flags, errp);
    if (bs && (flags & BDRV_O_SNAPSHOT)) {
        BlockDriverState *top = drive_open_snapshot(bs, flags, errp);
        bdrv_unref(bs);
        bs = top;
    }
    if (!bs) {
        return false;
    }
    bs->node_name = g_strdup(node);
    d->blk = blk_new_with_bs(bs, writethrough);
    blk_set_name(d->blk, d->id);
    bdrv_unref(bs);
    return true;
}

static bool drive_parse_media(QliteOpts *opts, DriveInfo *d, GError **errp)
{
    const char *media = qopts_get(opts, "media");

    if (!media || !strcmp(media, "disk")) {
        return true;
    }
    if (!strcmp(media, "cdrom")) {
        d->is_cdrom = true;
        return true;
    }
    error_setg(errp, "Invalid parameter value for 'media': '%s'", media);
    return false;
}

/* serial= and addr= go to the device the drive makes for itself. */
static bool drive_check_device_keys(DriveInfo *d, GError **errp)
{
    if (d->serial && d->type != IF_VIRTIO && d->type != IF_IDE) {
        error_setg(errp, "serial= needs if=ide or if=virtio; give it to "
                   "the -device instead");
        return false;
    }
    if (d->devaddr && d->type != IF_VIRTIO) {
        error_setg(errp, "addr is not supported by this bus type");
        return false;
    }
    return true;
}

DriveInfo *drive_new(const char *optstr, BlockInterfaceType default_if,
                     GError **errp)
{
    g_autoptr(QliteOpts) opts = keyval_parse(optstr, "file", 0, errp);
    const char *ifs, *id;
    DriveInfo *d;

    if (!opts) {
        return NULL;
    }
    d = g_new0(DriveInfo, 1);
    d->type = default_if;
    ifs = qopts_get(opts, "if");
    id = qopts_get(opts, "id");
    if ((ifs && !drive_parse_if(ifs, &d->type, errp)) ||
        !drive_parse_media(opts, d, errp) || !drive_place(opts, d, errp)) {
        g_free(d);
        return NULL;
    }
    d->id = id ? g_strdup(id) : drive_default_id(d);
    d->serial = g_strdup(qopts_get(opts, "serial"));
    d->devaddr = g_strdup(qopts_get(opts, "addr"));
    if (!drive_check_device_keys(d, errp)) {
        g_free(d->devaddr);
        g_free(d->serial);
        g_free(d->id);
        g_free(d);
        return NULL;
    }
    if (drive_find_id(d->id)) {
        error_setg(errp, "Duplicate ID '%s' for drive", d->id);
    } else if (drive_open_blk(d, opts, errp) &&
               drive_apply_policies(d, opts, errp) &&
               qopts_check_all_used(opts, errp)) {
        drives = g_list_append(drives, d);
        return d;
    }
    if (d->blk) {
        blk_unref(d->blk);
    }
    g_free(d->devaddr);
    g_free(d->serial);
    g_free(d->id);
    g_free(d);
    return NULL;
}

BlockDriverState *bdrv_open_image(const char *filename, const char *fmt,
                                  bool read_only, GError **errp)
{
    if (!filename || !*filename) {
        error_setg(errp, "Parameter 'filename' is missing");
        return NULL;
    }
    return bdrv_open(filename, fmt, NULL,
                     (read_only ? 0 : BDRV_O_RDWR) | BDRV_O_LOCK, errp);
}

BlockDriverState *bdrv_find_node(const char *node_name)
{
    return named_nodes ? g_hash_table_lookup(named_nodes, node_name) : NULL;
}

BlockBackend *blk_claim_by_name(const char *name, struct DeviceState *dev,
                                GError **errp)
{
    DriveInfo *d = drive_find_id(name);
    BlockDriverState *bs;
    BlockBackend *blk;

    if (d) {
        if (d->claimed) {
            error_setg(errp, "Drive '%s' is already in use by a device",
                       name);
            return NULL;
        }
        d->claimed = true;
        blk_attach_dev(d->blk, dev);
        return d->blk;
    }
    bs = bdrv_find_node(name);
    if (!bs) {
        error_setg(errp, "Drive with id or node-name '%s' not found", name);
        return NULL;
    }
    if (!claimed_nodes) {
        claimed_nodes = g_hash_table_new_full(g_str_hash, g_str_equal,
                                              g_free, NULL);
    }
    if (g_hash_table_contains(claimed_nodes, name)) {
        error_setg(errp, "Node '%s' is already in use by a device", name);
        return NULL;
    }
    blk = blk_new_with_bs(bs, false);
    blk_attach_dev(blk, dev);
    g_hash_table_insert(claimed_nodes, g_strdup(name), blk);
    return blk;
}

/* A device lets go of its backend (unrealize): another may claim it. */
static GList *device_blks;      /* made by blk_new_for_dev() */

BlockBackend *blk_new_for_dev(struct DeviceState *dev)
{
    BlockBackend *blk = blk_new_empty("");

    blk_attach_dev(blk, dev);
    device_blks = g_list_prepend(device_blks, blk);
    return blk;
}

void blk_detach_dev(BlockBackend *blk)
{
    GHashTableIter it;
    gpointer k, v;

    blk_attach_dev(blk, NULL);
    if (g_list_find(device_blks, blk)) {
        device_blks = g_list_remove(device_blks, blk);
        blk_unref(blk);
        return;
    }
    for (GList *l = drives; l; l = l->next) {
        DriveInfo *d = l->data;
        if (d->blk == blk) {
            d->claimed = false;
            return;
        }
    }
    if (!claimed_nodes) {
        return;
    }
    g_hash_table_iter_init(&it, claimed_nodes);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        if (v == blk) {
            g_hash_table_iter_remove(&it);
            blk_unref(blk);
            return;
        }
    }
}

static void drive_free(gpointer p)
{
    DriveInfo *d = p;

    blk_unref(d->blk);
    g_free(d->devaddr);
    g_free(d->serial);
    g_free(d->id);
    g_free(d);
}

void drive_cleanup_all(void)
{
    if (claimed_nodes) {
        GHashTableIter it;
        gpointer v;
        g_hash_table_iter_init(&it, claimed_nodes);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
            blk_unref(v);
        }
        g_clear_pointer(&claimed_nodes, g_hash_table_destroy);
    }
    g_list_free_full(drives, drive_free);
    drives = NULL;
    g_clear_pointer(&named_list, g_list_free);
    g_clear_pointer(&named_nodes, g_hash_table_destroy);
}

void blockdev_register_node(BlockDriverState *bs)
{
    if (!named_nodes) {
        named_nodes = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                            (GDestroyNotify)bdrv_unref);
    }
    g_hash_table_insert(named_nodes, bs->node_name, bs);
    named_list = g_list_append(named_list, bs);
}

GList *bdrv_named_nodes(void)
{
    return named_list;
}

/* blockdev-del: only a node nothing uses (no device, no parent node). */
bool blockdev_del(const char *node_name, GError **errp)
{
    BlockDriverState *bs = bdrv_find_node(node_name);

    if (!bs) {
        error_setg(errp, "Failed to find node with node-name='%s'",
                   node_name);
        return false;
    }
    if ((claimed_nodes && g_hash_table_contains(claimed_nodes, node_name)) ||
        bs->refcnt > 1) {
        error_setg(errp, "Node '%s' is busy: node is used as backing hd "
                   "of a device or another node", node_name);
        return false;
    }
    named_list = g_list_remove(named_list, bs);
    g_hash_table_remove(named_nodes, node_name);
    return true;
}
