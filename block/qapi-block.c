/*
 * What QMP and HMP show of the block layer, in QEMU 7.2's shapes:
 * query-block (BlockInfo), query-named-block-nodes (BlockDeviceInfo),
 * query-blockstats (BlockStats) and "info block".
 */
#include "block_int.h"
#include "qlite/object.h"
#include "qlite/qdev.h"

/* QEMU names the nodes a user did not name "#blockNNN". */
static const char *bdrv_node_name(BlockDriverState *bs)
{
    static unsigned next = 100;

    if (!bs->node_name) {
        bs->node_name = g_strdup_printf("#block%03u", next++);
    }
    return bs->node_name;
}

static json_t *image_info_chain(BlockDriverState *bs)
{
    json_t *o = bdrv_image_info_json(bs);

    if (bs->backing) {
        json_object_set_new(o, "backing-image",
                            image_info_chain(bs->backing));
    }
    return o;
}

static int backing_depth(BlockDriverState *bs)
{
    int n = 0;

    for (bs = bs->backing; bs; bs = bs->backing) {
        n++;
    }
    return n;
}

/* Members that are always 0 in qlite, listed up to NULL. */
static void set_zeroes(json_t *o, const char *const *names)
{
    for (; *names; names++) {
        json_object_set_new(o, *names, json_integer(0));
    }
}

static json_t *cache_info(BlockDriverState *bs, bool writeback)
{
    return json_pack("{s:b, s:b, s:b}", "writeback", writeback,
                     "direct", (bs->open_flags & BDRV_O_NOCACHE) != 0,
                     "no-flush", (bs->open_flags & BDRV_O_NO_FLUSH) != 0);
}

/* BlockDeviceInfo of one node. */
static json_t *node_info(BlockDriverState *bs, bool writeback)
{
    json_t *o = json_object();

    json_object_set_new(o, "file", json_string(bs->filename));
    json_object_set_new(o, "node-name", json_string(bdrv_node_name(bs)));
    json_object_set_new(o, "ro", json_boolean(bs->read_only));
    json_object_set_new(o, "drv", json_string(bs->drv->format_name));
    if (bs->backing_file) {
        json_object_set_new(o, "backing_file",
                            json_string(bs->backing_file));
    }
    json_object_set_new(o, "backing_file_depth",
                        json_integer(backing_depth(bs)));
    json_object_set_new(o, "encrypted", json_false());
    json_object_set_new(o, "detect_zeroes", json_string("off"));
    /* No I/O throttling and no write threshold in qlite: all 0 (none). */
    set_zeroes(o, (const char *const[]){ "bps", "bps_rd", "bps_wr", "iops",
                                         "iops_rd", "iops_wr",
                                         "write_threshold", NULL });
    json_object_set_new(o, "image", image_info_chain(bs));
    json_object_set_new(o, "cache", cache_info(bs, writeback));
    return o;
}

/*
 * "qdev" as QEMU reports it: the device's id, else its QOM path; a device
 * that names a child (virtio proxies, whose real device has no id) is
 * reported by the child's path, which libvirt matches on.
 */
static char *qdev_path(BlockBackend *blk)
{
    DeviceState *dev = blk_get_attached_dev(blk);
    g_autofree char *path = NULL;

    if (!dev) {
        return NULL;
    }
    path = object_get_canonical_path(OBJECT(dev));
    if (blk_get_dev_child(blk)) {
        return g_strconcat(path, "/", blk_get_dev_child(blk), NULL);
    }
    return dev->id ? g_strdup(dev->id) : g_steal_pointer(&path);
}

/* The backends QMP lists: every -drive, and those devices made. */
static bool blk_is_listed(BlockBackend *blk)
{
    return blk_device_name(blk)[0] || blk_get_attached_dev(blk);
}

/* What BlockInfo and BlockStats start with: "device" and "qdev". */
static json_t *blk_entry(BlockBackend *blk)
{
    g_autofree char *qdev = qdev_path(blk);
    json_t *o = json_object();

    json_object_set_new(o, "device", json_string(blk_device_name(blk)));
    if (qdev) {
        json_object_set_new(o, "qdev", json_string(qdev));
    }
    return o;
}

json_t *qmp_block_query_block(void)
{
    json_t *list = json_array();

    for (GList *l = blk_list(); l; l = l->next) {
        BlockBackend *blk = l->data;
        BlockDriverState *bs = blk_bs(blk);
        json_t *o;

        if (!blk_is_listed(blk)) {
            continue;
        }
        o = blk_entry(blk);
        json_object_set_new(o, "type", json_string("unknown"));
        json_object_set_new(o, "removable", json_boolean(
                                blk_is_removable(blk)));
        json_object_set_new(o, "locked", json_boolean(
                                blk_dev_is_medium_locked(blk)));
        if (blk_is_removable(blk)) {
            json_object_set_new(o, "tray_open", json_boolean(
                                    blk_dev_is_tray_open(blk)));
        }
        if (blk_get_attached_dev(blk)) {
            json_object_set_new(o, "io-status",
                                json_string(blk_iostatus_name(blk)));
        }
        if (bs) {
            json_object_set_new(o, "inserted", node_info(
                                    bs, blk_enable_write_cache(blk)));
        }
        json_array_append_new(list, o);
    }
    return list;
}

static void named_nodes_add(json_t *list, GHashTable *seen,
                            BlockDriverState *bs, bool writeback)
{
    for (; bs; bs = bs->backing) {
        if (g_hash_table_contains(seen, bs)) {
            return;
        }
        g_hash_table_add(seen, bs);
        json_array_append_new(list, node_info(bs, writeback));
        if (bs->file) {
            named_nodes_add(list, seen, bs->file, writeback);
        }
    }
}

json_t *qmp_block_query_named_nodes(void)
{
    g_autoptr(GHashTable) seen = g_hash_table_new(NULL, NULL);
    json_t *list = json_array();

    for (GList *l = blk_list(); l; l = l->next) {
        BlockBackend *blk = l->data;

        if (blk_bs(blk)) {
            named_nodes_add(list, seen, blk_bs(blk),
                            blk_enable_write_cache(blk));
        }
    }
    for (GList *l = bdrv_named_nodes(); l; l = l->next) {
        named_nodes_add(list, seen, l->data, true);
    }
    return list;
}

static void node_stats_children(json_t *o, BlockDriverState *bs);

static json_t *stats_json(const BlockAcctStats *st)
{
    json_t *o = json_object();

#define STAT(name) json_object_set_new(o, #name, json_integer(st->name))
    STAT(rd_bytes); STAT(wr_bytes); STAT(unmap_bytes);
    STAT(rd_operations); STAT(wr_operations); STAT(flush_operations);
    STAT(unmap_operations);
    STAT(rd_total_time_ns); STAT(wr_total_time_ns);
    STAT(flush_total_time_ns); STAT(unmap_total_time_ns);
    STAT(wr_highest_offset);
    STAT(failed_rd_operations); STAT(failed_wr_operations);
    STAT(failed_flush_operations); STAT(failed_unmap_operations);
#undef STAT
    /* qlite neither merges requests nor counts invalid ones apart. */
    set_zeroes(o, (const char *const[]){
        "rd_merged", "wr_merged", "unmap_merged", "invalid_rd_operations",
        "invalid_wr_operations", "invalid_flush_operations",
        "invalid_unmap_operations", NULL });
    json_object_set_new(o, "account_invalid", json_false());
    json_object_set_new(o, "account_failed", json_true());
    json_object_set_new(o, "timed_stats", json_array());
    if (st->idle_since_ns >= 0) {
        json_object_set_new(o, "idle_time_ns", json_integer(
                                g_get_monotonic_time() * 1000 -
                                st->idle_since_ns));
    }
    return o;
}

/*
 * A node's own statistics: the requests are counted where the device's
 * backend makes them, so a node has only how far it was written (which
 * libvirt reads as a disk's allocation), as in QEMU.  "parent" is the
 * node's protocol child, "backing" its backing node.
 */
static json_t *node_stats(BlockDriverState *bs)
{
    BlockAcctStats st = {
        .wr_highest_offset = __atomic_load_n(&bs->wr_highest_offset,
                                             __ATOMIC_RELAXED),
        .idle_since_ns = -1,
    };
    json_t *o = json_object();

    if (bdrv_node_name(bs)[0]) {
        json_object_set_new(o, "node-name", json_string(bdrv_node_name(bs)));
    }
    json_object_set_new(o, "stats", stats_json(&st));
    node_stats_children(o, bs);
    return o;
}

static void node_stats_children(json_t *o, BlockDriverState *bs)
{
    if (bs->file) {
        json_object_set_new(o, "parent", node_stats(bs->file));
    }
    if (bs->backing) {
        json_object_set_new(o, "backing", node_stats(bs->backing));
    }
}

json_t *qmp_block_query_blockstats(bool query_nodes)
{
    json_t *list = json_array();

    if (query_nodes) {
        for (GList *l = bdrv_named_nodes(); l; l = l->next) {
            json_array_append_new(list, node_stats(l->data));
        }
        return list;
    }
    for (GList *l = blk_list(); l; l = l->next) {
        BlockBackend *blk = l->data;
        json_t *o;

        if (!blk_is_listed(blk)) {
            continue;
        }
        o = blk_entry(blk);
        if (blk_bs(blk)) {
            json_object_set_new(o, "node-name",
                                json_string(bdrv_node_name(blk_bs(blk))));
        }
        json_object_set_new(o, "stats", stats_json(blk_get_stats(blk)));
        if (blk_bs(blk)) {
            node_stats_children(o, blk_bs(blk));
        }
        json_array_append_new(list, o);
    }
    return list;
}

static const char *cache_mode_text(BlockDriverState *bs, bool writeback)
{
    bool direct = bs->open_flags & BDRV_O_NOCACHE;
    bool no_flush = bs->open_flags & BDRV_O_NO_FLUSH;

    if (no_flush) {
        return direct ? "writeback, direct, ignore flushes"
                      : "writeback, ignore flushes";
    }
    if (writeback) {
        return direct ? "writeback, direct" : "writeback";
    }
    return direct ? "writethrough, direct" : "writethrough";
}

void hmp_block_info(GString *out)
{
    bool first = true;

    for (GList *l = blk_list(); l; l = l->next) {
        BlockBackend *blk = l->data;
        BlockDriverState *bs = blk_bs(blk);
        g_autofree char *qdev = qdev_path(blk);
        const char *name = blk_device_name(blk);

        if (!blk_is_listed(blk)) {
            continue;
        }
        g_string_append(out, first ? "" : "\n");
        first = false;
        if (!bs) {
            g_string_append_printf(out, "%s: [not inserted]\n", name);
        } else if (name[0]) {
            g_string_append_printf(out, "%s (%s): %s (%s%s)\n", name,
                                   bdrv_node_name(bs), bs->filename,
                                   bs->drv->format_name,
                                   bs->read_only ? ", read-only" : "");
        } else {
            g_string_append_printf(out, "%s: %s (%s%s)\n",
                                   bdrv_node_name(bs), bs->filename,
                                   bs->drv->format_name,
                                   bs->read_only ? ", read-only" : "");
        }
        if (qdev) {
            g_string_append_printf(out, "    Attached to:      %s\n", qdev);
        }
        if (blk_is_removable(blk)) {
            g_string_append_printf(out, "    Removable device: %slocked, "
                                   "tray %s\n",
                                   blk_dev_is_medium_locked(blk) ? "" : "not ",
                                   blk_dev_is_tray_open(blk) ? "open"
                                                             : "closed");
        }
        if (bs) {
            g_string_append_printf(out, "    Cache mode:       %s\n",
                                   cache_mode_text(
                                       bs, blk_enable_write_cache(blk)));
            if (bs->backing_file) {
                g_string_append_printf(out, "    Backing file:     %s "
                                       "(chain depth: %d)\n",
                                       bs->backing_file, backing_depth(bs));
            }
        }
    }
}
