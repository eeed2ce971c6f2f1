/*
 * Block device commands: the queries the block layer answers in QEMU's
 * shapes, node creation and deletion, resize, and the removable-media
 * commands, which move a tray in the same steps QEMU takes (open the
 * tray, remove the medium, insert one, close the tray).
 */
#include "monitor-internal.h"
#include "qlite/block.h"
#include "qlite/error.h"

json_t *qmp_cmd_query_block(QmpSession *s, json_t *a, GError **errp)
{
    return qmp_block_query_block();
}

json_t *qmp_cmd_query_blockstats(QmpSession *s, json_t *a, GError **errp)
{
    return qmp_block_query_blockstats(qmp_arg_bool(a, "query-nodes", false));
}

json_t *qmp_cmd_query_named_block_nodes(QmpSession *s, json_t *a,
                                        GError **errp)
{
    return qmp_block_query_named_nodes();
}

json_t *qmp_cmd_blockdev_add(QmpSession *s, json_t *a, GError **errp)
{
    g_autofree char *text = json_dumps(a, JSON_COMPACT);

    return blockdev_add(text, errp) ? json_object() : NULL;
}

json_t *qmp_cmd_blockdev_del(QmpSession *s, json_t *a, GError **errp)
{
    return blockdev_del(qmp_arg_str(a, "node-name"), errp) ? json_object()
                                                          : NULL;
}

json_t *qmp_cmd_block_resize(QmpSession *s, json_t *a, GError **errp)
{
    const char *device = qmp_arg_str(a, "device");
    const char *node = qmp_arg_str(a, "node-name");
    json_int_t size = json_integer_value(json_object_get(a, "size"));
    BlockBackend *blk;
    BlockDriverState *bs;

    if (!device == !node) {
        error_setg(errp, "Need exactly one of 'device' and 'node-name'");
        return NULL;
    }
    if (size < 0) {
        error_setg(errp, "Parameter 'size' expects a >0 size");
        return NULL;
    }
    if (device) {
        /* QEMU answers an unknown name here with a GenericError. */
        blk = blk_by_device(device, NULL, NULL);
        if (!blk) {
            error_setg(errp, "Cannot find device='%s' nor node-name=''",
                       device);
            return NULL;
        }
        return blk_resize(blk, size, errp) < 0 ? NULL : json_object();
    }
    bs = bdrv_find_node(node);
    if (!bs) {
        g_set_error(errp, QLITE_ERROR, QLITE_ERROR_DEVICE_NOT_FOUND,
                    "Cannot find device='' nor node-name='%s'", node);
        return NULL;
    }
    /* A node used by a device resizes through the device's backend. */
    for (GList *l = blk_list(); l; l = l->next) {
        if (blk_bs(l->data) == bs) {
            return blk_resize(l->data, size, errp) < 0 ? NULL
                                                       : json_object();
        }
    }
    {
        BlockBackend *tmp = blk_new_with_bs(bs, false);
        int r = blk_resize(tmp, size, errp);

        blk_unref(tmp);
        return r < 0 ? NULL : json_object();
    }
}

/* The removable drive named by 'device' (a -drive id) or 'id' (qdev). */
static BlockBackend *qmp_removable(json_t *a, GError **errp)
{
    const char *device = qmp_arg_str(a, "device");
    const char *id = qmp_arg_str(a, "id");
    BlockBackend *blk;

    if (!device == !id) {
        error_setg(errp, "Need exactly one of 'device' and 'id'");
        return NULL;
    }
    blk = blk_by_device(device, id, errp);
    if (blk && !blk_is_removable(blk)) {
        error_setg(errp, "Device '%s' is not removable", device ? device : id);
        return NULL;
    }
    return blk;
}

static const char *qmp_dev_name(json_t *a)
{
    const char *device = qmp_arg_str(a, "device");

    return device ? device : qmp_arg_str(a, "id");
}

/*
 * Open the tray.  A tray the guest locked opens only with @force; without
 * it the guest is asked, and @locked_is_error says whether that is an
 * error (eject) or fine (blockdev-open-tray: the guest will open it).
 */
static bool qmp_open_tray(BlockBackend *blk, json_t *a, bool force,
                          bool locked_is_error, GError **errp)
{
    if (blk_dev_is_tray_open(blk)) {
        return true;
    }
    if (blk_dev_is_medium_locked(blk) && !force) {
        blk_dev_eject_request(blk, false);
        if (locked_is_error) {
            error_setg(errp, "Device '%s' is locked and force was not "
                       "specified, wait for tray to open and try again",
                       qmp_dev_name(a));
            return false;
        }
        return true;
    }
    blk_dev_change_media(blk, false);
    return true;
}

static bool qmp_remove_medium(BlockBackend *blk, const char *name,
                              GError **errp)
{
    if (!blk_dev_is_tray_open(blk)) {
        error_setg(errp, "Tray of device '%s' is not open", name);
        return false;
    }
    blk_remove_bs(blk);
    return true;
}

json_t *qmp_cmd_eject(QmpSession *s, json_t *a, GError **errp)
{
    BlockBackend *blk = qmp_removable(a, errp);

    if (!blk || !qmp_open_tray(blk, a, qmp_arg_bool(a, "force", false),
                               true, errp) ||
        !qmp_remove_medium(blk, qmp_dev_name(a), errp)) {
        return NULL;
    }
    return json_object();
}

json_t *qmp_cmd_blockdev_open_tray(QmpSession *s, json_t *a, GError **errp)
{
    BlockBackend *blk = qmp_removable(a, errp);

    if (!blk || !qmp_open_tray(blk, a, qmp_arg_bool(a, "force", false),
                               false, errp)) {
        return NULL;
    }
    return json_object();
}

json_t *qmp_cmd_blockdev_close_tray(QmpSession *s, json_t *a, GError **errp)
{
    BlockBackend *blk = qmp_removable(a, errp);

    if (!blk) {
        return NULL;
    }
    if (blk_dev_is_tray_open(blk)) {
        blk_dev_change_media(blk, true);
    }
    return json_object();
}

json_t *qmp_cmd_blockdev_remove_medium(QmpSession *s, json_t *a,
                                       GError **errp)
{
    BlockBackend *blk = qmp_removable(a, errp);

    if (!blk || !qmp_remove_medium(blk, qmp_dev_name(a), errp)) {
        return NULL;
    }
    return json_object();
}

static bool qmp_insert_medium(BlockBackend *blk, const char *name,
                              BlockDriverState *bs, GError **errp)
{
    if (!blk_dev_is_tray_open(blk)) {
        error_setg(errp, "Tray of device '%s' is not open", name);
        return false;
    }
    if (blk_is_inserted(blk)) {
        error_setg(errp, "There already is a medium in device '%s'", name);
        return false;
    }
    blk_insert_bs(blk, bs);
    return true;
}

json_t *qmp_cmd_blockdev_insert_medium(QmpSession *s, json_t *a,
                                       GError **errp)
{
    BlockBackend *blk = qmp_removable(a, errp);
    const char *node = qmp_arg_str(a, "node-name");
    BlockDriverState *bs;

    if (!blk) {
        return NULL;
    }
    bs = bdrv_find_node(node);
    if (!bs) {
        g_set_error(errp, QLITE_ERROR, QLITE_ERROR_DEVICE_NOT_FOUND,
                    "Node '%s' not found", node);
        return NULL;
    }
    return qmp_insert_medium(blk, qmp_dev_name(a), bs, errp) ? json_object()
                                                             : NULL;
}

json_t *qmp_cmd_blockdev_change_medium(QmpSession *s, json_t *a,
                                       GError **errp)
{
    BlockBackend *blk = qmp_removable(a, errp);
    const char *mode = qmp_arg_str(a, "read-only-mode");
    BlockDriverState *bs;

    if (!blk) {
        return NULL;
    }
    /* A CD-ROM medium is read-only whatever the mode says, as in QEMU
     * for ide-cd; a read-write mode for it is an error. */
    if (mode && !strcmp(mode, "read-write")) {
        error_setg(errp, "Device '%s' only takes read-only media",
                   qmp_dev_name(a));
        return NULL;
    }
    bs = bdrv_open_image(qmp_arg_str(a, "filename"),
                         qmp_arg_str(a, "format"), true, errp);
    if (!bs) {
        return NULL;
    }
    if (!qmp_open_tray(blk, a, qmp_arg_bool(a, "force", false), true,
                       errp) ||
        (blk_is_inserted(blk) &&
         !qmp_remove_medium(blk, qmp_dev_name(a), errp)) ||
        !qmp_insert_medium(blk, qmp_dev_name(a), bs, errp)) {
        bdrv_unref(bs);
        return NULL;
    }
    bdrv_unref(bs);
    blk_dev_change_media(blk, true);
    return json_object();
}
