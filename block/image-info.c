/*
 * ImageInfo as qemu-img info --output=json and QMP's query-block show it.
 */
#include "block_int.h"

json_t *bdrv_snapshots_json(BlockDriverState *bs)
{
    BdrvSnapshotInfo *sn = NULL;
    json_t *arr;
    int n;

    if (!bs->drv->snapshot_list) {
        return NULL;
    }
    n = bs->drv->snapshot_list(bs, &sn);
    if (n <= 0) {
        g_free(sn);
        return NULL;
    }
    arr = json_array();
    for (int i = 0; i < n; i++) {
        json_t *o = json_object();
        if (sn[i].icount != UINT64_MAX) {
            json_object_set_new(o, "icount", json_integer(sn[i].icount));
        }
        json_object_set_new(o, "vm-clock-nsec",
                            json_integer(sn[i].vm_clock_nsec % 1000000000));
        json_object_set_new(o, "name", json_string(sn[i].name));
        json_object_set_new(o, "date-sec", json_integer(sn[i].date_sec));
        json_object_set_new(o, "date-nsec", json_integer(sn[i].date_nsec));
        json_object_set_new(o, "vm-clock-sec",
                            json_integer(sn[i].vm_clock_nsec / 1000000000));
        json_object_set_new(o, "id", json_string(sn[i].id_str));
        json_object_set_new(o, "vm-state-size",
                            json_integer(sn[i].vm_state_size));
        json_array_append_new(arr, o);
        bdrv_snapshot_info_clear(&sn[i]);
    }
    g_free(sn);
    return arr;
}

/* qemu-img 7.2's ImageInfo, in its key order. */
json_t *bdrv_image_info_json(BlockDriverState *bs)
{
    json_t *o = json_object(), *sn = bdrv_snapshots_json(bs);
    int64_t actual = bdrv_get_allocated_file_size(bs);

    if (bs->backing_file && bs->backing_format) {
        json_object_set_new(o, "backing-filename-format",
                            json_string(bs->backing_format));
    }
    if (sn) {
        json_object_set_new(o, "snapshots", sn);
    }
    json_object_set_new(o, "virtual-size", json_integer(bdrv_getlength(bs)));
    json_object_set_new(o, "filename", json_string(bs->filename));
    if (bs->drv->get_cluster_size) {
        json_object_set_new(o, "cluster-size",
                            json_integer(bs->drv->get_cluster_size(bs)));
    }
    json_object_set_new(o, "format", json_string(bs->drv->format_name));
    if (actual >= 0) {
        json_object_set_new(o, "actual-size", json_integer(actual));
    }
    if (bs->drv->info_specific) {
        json_object_set_new(o, "format-specific", bs->drv->info_specific(bs));
    }
    if (bs->backing_file) {
        g_autofree char *full = bdrv_resolve_backing(bs->filename,
                                                     bs->backing_file);
        json_object_set_new(o, "full-backing-filename", json_string(full));
        json_object_set_new(o, "backing-filename",
                            json_string(bs->backing_file));
    }
    json_object_set_new(o, "dirty-flag", json_boolean(
        bs->drv->is_dirty && bs->drv->is_dirty(bs)));
    return o;
}

