/*
 * BlockBackend: what a device or a tool holds.  It checks every request
 * against the disk size, applies the write-cache setting (writethrough
 * flushes after each write), and runs asynchronous requests in a worker
 * pool whose completions are dispatched from the GLib default main
 * context, i.e. in the main thread.  Reads and writes that map straight
 * onto the host file with cached metadata skip the pool and go to the
 * io_uring (bdrv_aio_try), completing in the same main context.
 */
#include "block_int.h"
#include "qlite/iov.h"
#include "qlite/qdev.h"
#include "qlite/runstate.h"

struct BlockBackend {
    char *name;                 /* -drive id, or "" */
    BlockDriverState *bs;       /* NULL: no medium */
    bool wce;
    bool no_direct;             /* aio=threads: always the worker pool */
    gint in_flight;
    BlockdevOnError on_read_error, on_write_error;
    struct DeviceState *dev;
    const char *dev_child;      /* see blk_set_dev_child() */
    const BlockDevOps *dev_ops;
    void *dev_opaque;
    BlockAcctStats stats;
    int iostatus;               /* 0 ok, ENOSPC nospace, else failed */
};

static GList *all_blks;         /* of BlockBackend *, creation order */

static BlockBackend *blk_alloc(const char *name, bool writethrough)
{
    BlockBackend *blk = g_new0(BlockBackend, 1);

    blk->name = g_strdup(name ? name : "");
    blk->wce = !writethrough;
    blk->on_read_error = BLOCKDEV_ON_ERROR_REPORT;
    blk->on_write_error = BLOCKDEV_ON_ERROR_ENOSPC;
    blk->stats.idle_since_ns = -1;
    all_blks = g_list_append(all_blks, blk);
    return blk;
}

BlockBackend *blk_new_empty(const char *name)
{
    return blk_alloc(name, false);
}

GList *blk_list(void)
{
    return all_blks;
}

typedef enum {
    BLK_OP_READ,
    BLK_OP_WRITE,
    BLK_OP_ZEROES,
    BLK_OP_FLUSH,
    BLK_OP_DISCARD,
} BlkOp;

typedef struct BlkAioReq {
    BlockBackend *blk;
    BlkOp op;
    int64_t offset;
    int64_t bytes;
    struct iovec *iov;
    int niov;
    int flags;
    int ret;
    int64_t start_ns;
    BlockCompletionFunc *cb;
    void *opaque;
} BlkAioReq;

/* Enough threads to keep a queue depth of 32-64 busy on a fast disk. */
#define BLK_POOL_THREADS 64

static GThreadPool *blk_pool;
static GOnce blk_pool_once = G_ONCE_INIT;

BlockBackend *blk_new_with_bs(BlockDriverState *bs, bool writethrough)
{
    BlockBackend *blk = blk_alloc(NULL, writethrough);

    bdrv_ref(bs);
    blk->bs = bs;
    return blk;
}

BlockBackend *blk_new_open(const char *filename, const char *fmt,
                           QliteOpts *opts, int flags, GError **errp)
{
    const char *cache = opts ? qopts_get(opts, "cache") : NULL;
    bool writethrough = false;
    BlockDriverState *bs;
    BlockBackend *blk;

    if (cache && !bdrv_parse_cache_mode(cache, &flags, &writethrough, errp)) {
        return NULL;
    }
    bs = bdrv_open(filename, fmt, opts, flags, errp);
    if (!bs) {
        return NULL;
    }
    blk = blk_new_with_bs(bs, writethrough);
    bdrv_unref(bs);
    return blk;
}

void blk_unref(BlockBackend *blk)
{
    if (!blk) {
        return;
    }
    blk_drain(blk);
    if (blk->bs) {
        bdrv_unref(blk->bs);
    }
    all_blks = g_list_remove(all_blks, blk);
    g_free(blk->name);
    g_free(blk);
}

BlockDriverState *blk_bs(BlockBackend *blk)
{
    return blk->bs;
}

const char *blk_name(BlockBackend *blk)
{
    return blk->name;
}

void blk_set_name(BlockBackend *blk, const char *name)
{
    g_free(blk->name);
    blk->name = g_strdup(name);
}

const char *blk_device_name(BlockBackend *blk)
{
    return blk->name;
}

int64_t blk_getlength(BlockBackend *blk)
{
    return blk->bs ? bdrv_getlength(blk->bs) : -ENOMEDIUM;
}

bool blk_is_read_only(BlockBackend *blk)
{
    return !blk->bs || blk->bs->read_only;
}

void blk_set_aio_threads(BlockBackend *blk, bool on)
{
    blk->no_direct = on;
}

const BlockAcctStats *blk_get_stats(BlockBackend *blk)
{
    return &blk->stats;
}

int blk_resize(BlockBackend *blk, int64_t size, GError **errp)
{
    int ret;

    if (!blk->bs) {
        error_setg(errp, "No medium inserted");
        return -ENOMEDIUM;
    }
    if (blk->bs->read_only) {
        error_setg(errp, "Cannot resize a read-only image");
        return -EACCES;
    }
    blk_drain(blk);
    ret = bdrv_truncate(blk->bs, size, errp);
    if (ret == 0 && blk->dev_ops && blk->dev_ops->resize_cb) {
        blk->dev_ops->resize_cb(blk->dev_opaque);
    }
    return ret;
}

/* Devices and their media */

void blk_attach_dev(BlockBackend *blk, struct DeviceState *dev)
{
    blk->dev = dev;
    if (!dev) {
        blk->dev_ops = NULL;
        blk->dev_opaque = NULL;
        blk->dev_child = NULL;
    }
}

void blk_set_dev_child(BlockBackend *blk, const char *child)
{
    blk->dev_child = child;
}

const char *blk_get_dev_child(BlockBackend *blk)
{
    return blk->dev_child;
}


struct DeviceState *blk_get_attached_dev(BlockBackend *blk)
{
    return blk->dev;
}

void blk_set_dev_ops(BlockBackend *blk, const BlockDevOps *ops,
                     void *opaque)
{
    blk->dev_ops = ops;
    blk->dev_opaque = opaque;
}

bool blk_is_removable(BlockBackend *blk)
{
    return blk->dev_ops && blk->dev_ops->change_media_cb;
}

bool blk_is_inserted(BlockBackend *blk)
{
    return blk->bs != NULL;
}

bool blk_dev_is_tray_open(BlockBackend *blk)
{
    return blk->dev_ops && blk->dev_ops->is_tray_open &&
           blk->dev_ops->is_tray_open(blk->dev_opaque);
}

bool blk_dev_is_medium_locked(BlockBackend *blk)
{
    return blk->dev_ops && blk->dev_ops->is_medium_locked &&
           blk->dev_ops->is_medium_locked(blk->dev_opaque);
}

void blk_remove_bs(BlockBackend *blk)
{
    if (!blk->bs) {
        return;
    }
    blk_drain(blk);
    bdrv_unref(blk->bs);
    blk->bs = NULL;
}

void blk_insert_bs(BlockBackend *blk, BlockDriverState *bs)
{
    g_assert(!blk->bs);
    bdrv_ref(bs);
    blk->bs = bs;
}

void blk_dev_change_media(BlockBackend *blk, bool load)
{
    if (blk->dev_ops && blk->dev_ops->change_media_cb) {
        blk->dev_ops->change_media_cb(blk->dev_opaque, load);
    }
}

void blk_dev_eject_request(BlockBackend *blk, bool force)
{
    if (blk->dev_ops && blk->dev_ops->eject_request_cb) {
        blk->dev_ops->eject_request_cb(blk->dev_opaque, force);
    }
}

/* The QMP id of the device: its qdev id, else its path. */
char *blk_get_attached_dev_id(BlockBackend *blk)
{
    if (!blk->dev) {
        return g_strdup("");
    }
    return blk->dev->id ? g_strdup(blk->dev->id)
                        : object_get_canonical_path(OBJECT(blk->dev));
}

void blk_tray_moved(BlockBackend *blk, bool open)
{
    g_autofree char *id = blk_get_attached_dev_id(blk);
    json_t *data = json_pack("{s:s, s:s, s:b}", "device", blk->name,
                             "id", id, "tray-open", open);
    g_autofree char *text = json_dumps(data, JSON_COMPACT);

    json_decref(data);
    qlite_event_emit("DEVICE_TRAY_MOVED", text);
}

static void blk_watch_runstate(void);

/* Error policy */

static const char *const on_error_names[] = {
    [BLOCKDEV_ON_ERROR_REPORT] = "report",
    [BLOCKDEV_ON_ERROR_IGNORE] = "ignore",
    [BLOCKDEV_ON_ERROR_ENOSPC] = "enospc",
    [BLOCKDEV_ON_ERROR_STOP] = "stop",
    [BLOCKDEV_ON_ERROR_AUTO] = "auto",
};

bool blk_parse_on_error(const char *s, bool is_read, BlockdevOnError *out,
                        GError **errp)
{
    for (size_t i = 0; i < G_N_ELEMENTS(on_error_names); i++) {
        if (!strcmp(s, on_error_names[i])) {
            /* QEMU takes enospc for writes only. */
            if (is_read && i == BLOCKDEV_ON_ERROR_ENOSPC) {
                break;
            }
            *out = i;
            return true;
        }
    }
    error_setg(errp, "'%s' invalid %s error action", s,
               is_read ? "read" : "write");
    return false;
}

void blk_set_on_error(BlockBackend *blk, BlockdevOnError rerror,
                      BlockdevOnError werror)
{
    blk->on_read_error = rerror == BLOCKDEV_ON_ERROR_AUTO ?
                         BLOCKDEV_ON_ERROR_REPORT : rerror;
    blk->on_write_error = werror == BLOCKDEV_ON_ERROR_AUTO ?
                          BLOCKDEV_ON_ERROR_ENOSPC : werror;
}

BlockdevOnError blk_get_on_error(BlockBackend *blk, bool is_read)
{
    return is_read ? blk->on_read_error : blk->on_write_error;
}

const char *blk_on_error_name(BlockdevOnError e)
{
    return e < G_N_ELEMENTS(on_error_names) ? on_error_names[e] : "?";
}

BlockErrorAction blk_get_error_action(BlockBackend *blk, bool is_read,
                                      int error)
{
    switch (blk_get_on_error(blk, is_read)) {
    case BLOCKDEV_ON_ERROR_ENOSPC:
        return error == -ENOSPC || error == ENOSPC ?
               BLOCK_ERROR_ACTION_STOP : BLOCK_ERROR_ACTION_REPORT;
    case BLOCKDEV_ON_ERROR_STOP:
        return BLOCK_ERROR_ACTION_STOP;
    case BLOCKDEV_ON_ERROR_IGNORE:
        return BLOCK_ERROR_ACTION_IGNORE;
    default:
        return BLOCK_ERROR_ACTION_REPORT;
    }
}

void blk_error_action(BlockBackend *blk, BlockErrorAction action,
                      bool is_read, int error)
{
    static const char *const names[] = { "report", "ignore", "stop" };
    int err = error < 0 ? -error : error;
    json_t *data = json_pack("{s:s, s:s, s:s, s:b, s:s}",
                             "device", blk->name,
                             "node-name", blk->bs && blk->bs->node_name ?
                                          blk->bs->node_name : "",
                             "operation", is_read ? "read" : "write",
                             "nospace", err == ENOSPC,
                             "reason", g_strerror(err));
    g_autofree char *text = NULL;

    json_object_set_new(data, "action", json_string(names[action]));
    text = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(data);
    qlite_event_emit("BLOCK_IO_ERROR", text);
    if (action == BLOCK_ERROR_ACTION_STOP) {
        if (!blk->iostatus) {
            blk->iostatus = err == ENOSPC ? ENOSPC : EIO;
        }
        blk_watch_runstate();
        vm_stop(RUN_STATE_IO_ERROR);
    }
}

/* The I/O status is reset when the VM runs again (QMP cont). */
static void blk_runstate_changed(void *opaque, bool running)
{
    if (running) {
        for (GList *l = all_blks; l; l = l->next) {
            ((BlockBackend *)l->data)->iostatus = 0;
        }
    }
}

static void blk_watch_runstate(void)
{
    static bool watching;

    if (!watching) {
        watching = true;
        runstate_add_change_notifier(blk_runstate_changed, NULL);
    }
}

const char *blk_iostatus_name(BlockBackend *blk)
{
    return !blk->iostatus ? "ok" :
           blk->iostatus == ENOSPC ? "nospace" : "failed";
}

BlockBackend *blk_by_device(const char *device, const char *id,
                            GError **errp)
{
    for (GList *l = all_blks; l; l = l->next) {
        BlockBackend *blk = l->data;

        if (device && device[0] && !strcmp(blk->name, device)) {
            return blk;
        }
        if (id && blk->dev) {
            g_autofree char *path =
                object_get_canonical_path(OBJECT(blk->dev));
            if ((blk->dev->id && !strcmp(blk->dev->id, id)) ||
                !strcmp(path, id)) {
                return blk;
            }
        }
    }
    g_set_error(errp, QLITE_ERROR, QLITE_ERROR_DEVICE_NOT_FOUND,
                "Device '%s' not found", device ? device : id ? id : "");
    return NULL;
}

void blk_set_enable_write_cache(BlockBackend *blk, bool wce)
{
    blk->wce = wce;
}

bool blk_enable_write_cache(BlockBackend *blk)
{
    return blk->wce;
}

static int blk_check_range(BlockBackend *blk, int64_t offset, int64_t bytes)
{
    int64_t len;

    if (!blk->bs) {
        return -ENOMEDIUM;
    }
    if (offset < 0 || bytes < 0) {
        return -EIO;
    }
    len = blk_getlength(blk);
    if (len < 0) {
        return (int)len;
    }
    if (offset > len || bytes > len - offset) {
        return -EIO;
    }
    return 0;
}

/* Writethrough mode: the write is only done once it is durable. */
static int blk_after_write(BlockBackend *blk, int ret)
{
    if (ret == 0 && !blk->wce) {
        ret = bdrv_flush(blk->bs);
    }
    return ret;
}

int blk_pread(BlockBackend *blk, int64_t offset, int64_t bytes, void *buf)
{
    int ret = blk_check_range(blk, offset, bytes);

    return ret < 0 ? ret : bdrv_pread(blk->bs, offset, bytes, buf);
}

int blk_pwrite(BlockBackend *blk, int64_t offset, int64_t bytes,
               const void *buf, int flags)
{
    int ret = blk_check_range(blk, offset, bytes);

    if (ret == 0) {
        ret = blk_after_write(blk, bdrv_pwrite(blk->bs, offset, bytes, buf,
                                               flags));
    }
    return ret;
}

int blk_pwrite_zeroes(BlockBackend *blk, int64_t offset, int64_t bytes,
                      int flags)
{
    int ret = blk_check_range(blk, offset, bytes);

    if (ret == 0) {
        ret = blk_after_write(blk, bdrv_pwrite_zeroes(blk->bs, offset, bytes,
                                                      flags));
    }
    return ret;
}

int blk_pwrite_compressed(BlockBackend *blk, int64_t offset, int64_t bytes,
                          const void *buf)
{
    int ret = blk_check_range(blk, offset, bytes);

    if (ret == 0) {
        ret = blk_after_write(blk, bdrv_pwrite_compressed(blk->bs, offset,
                                                          bytes, buf));
    }
    return ret;
}

int blk_flush(BlockBackend *blk)
{
    return blk->bs ? bdrv_flush(blk->bs) : -ENOMEDIUM;
}

int blk_discard(BlockBackend *blk, int64_t offset, int64_t bytes)
{
    int ret = blk_check_range(blk, offset, bytes);

    return ret < 0 ? ret : bdrv_discard(blk->bs, offset, bytes);
}

int blk_truncate(BlockBackend *blk, int64_t size, GError **errp)
{
    if (!blk->bs) {
        error_setg(errp, "No medium inserted");
        return -ENOMEDIUM;
    }
    return bdrv_truncate(blk->bs, size, errp);
}

static int blk_aio_read(BlkAioReq *req)
{
    uint8_t *buf;
    int ret;

    if (req->niov == 1) {
        return blk_pread(req->blk, req->offset, req->bytes,
                         req->iov[0].iov_base);
    }
    buf = g_malloc(req->bytes);
    ret = blk_pread(req->blk, req->offset, req->bytes, buf);
    if (ret == 0) {
        int64_t pos = 0;
        for (int i = 0; i < req->niov; i++) {
            memcpy(req->iov[i].iov_base, buf + pos, req->iov[i].iov_len);
            pos += req->iov[i].iov_len;
        }
    }
    g_free(buf);
    return ret;
}

static int blk_aio_write(BlkAioReq *req)
{
    uint8_t *buf;
    int64_t pos = 0;
    int ret;

    if (req->niov == 1) {
        return blk_pwrite(req->blk, req->offset, req->bytes,
                          req->iov[0].iov_base, req->flags);
    }
    buf = g_malloc(req->bytes);
    for (int i = 0; i < req->niov; i++) {
        memcpy(buf + pos, req->iov[i].iov_base, req->iov[i].iov_len);
        pos += req->iov[i].iov_len;
    }
    ret = blk_pwrite(req->blk, req->offset, req->bytes, buf, req->flags);
    g_free(buf);
    return ret;
}

static int blk_aio_run(BlkAioReq *req)
{
    switch (req->op) {
    case BLK_OP_READ:
        return blk_aio_read(req);
    case BLK_OP_WRITE:
        return blk_aio_write(req);
    case BLK_OP_ZEROES:
        return blk_pwrite_zeroes(req->blk, req->offset, req->bytes,
                                 req->flags);
    case BLK_OP_FLUSH:
        return blk_flush(req->blk);
    case BLK_OP_DISCARD:
        return blk_discard(req->blk, req->offset, req->bytes);
    }
    return -EINVAL;
}

/* In the main thread: hand the result to the requester. */
static int64_t blk_now_ns(void)
{
    return g_get_monotonic_time() * 1000;
}

/* query-blockstats' counters; write-zeroes count as writes, as QEMU's. */
static void blk_account(BlkAioReq *req)
{
    BlockAcctStats *st = &req->blk->stats;
    int64_t now = blk_now_ns(), t = now - req->start_ns;
    bool failed = req->ret < 0;

    switch (req->op) {
    case BLK_OP_READ:
        st->rd_operations++;
        st->rd_bytes += failed ? 0 : req->bytes;
        st->rd_total_time_ns += t;
        st->failed_rd_operations += failed;
        break;
    case BLK_OP_WRITE:
    case BLK_OP_ZEROES:
        st->wr_operations++;
        st->wr_bytes += failed ? 0 : req->bytes;
        st->wr_total_time_ns += t;
        st->failed_wr_operations += failed;
        if (!failed && (uint64_t)(req->offset + req->bytes) >
                       st->wr_highest_offset) {
            st->wr_highest_offset = req->offset + req->bytes;
        }
        break;
    case BLK_OP_FLUSH:
        st->flush_operations++;
        st->flush_total_time_ns += t;
        st->failed_flush_operations += failed;
        break;
    case BLK_OP_DISCARD:
        st->unmap_operations++;
        st->unmap_bytes += failed ? 0 : req->bytes;
        st->unmap_total_time_ns += t;
        st->failed_unmap_operations += failed;
        break;
    }
    st->idle_since_ns = now;
}

static gboolean blk_aio_complete(gpointer data)
{
    BlkAioReq *req = data;

    blk_account(req);
    g_atomic_int_dec_and_test(&req->blk->in_flight);
    req->cb(req->opaque, req->ret);
    g_free(req->iov);
    g_free(req);
    return G_SOURCE_REMOVE;
}

static void blk_aio_worker(gpointer data, gpointer user_data)
{
    BlkAioReq *req = data;

    req->ret = blk_aio_run(req);
    g_idle_add_full(G_PRIORITY_DEFAULT, blk_aio_complete, req, NULL);
}

static gpointer blk_pool_init(gpointer unused)
{
    blk_pool = g_thread_pool_new(blk_aio_worker, NULL, BLK_POOL_THREADS,
                                 FALSE, NULL);
    return NULL;
}

/* In the main thread: a request done without the pool. */
static void blk_aio_direct_done(void *opaque, int ret)
{
    BlkAioReq *req = opaque;

    req->ret = ret;
    blk_aio_complete(req);
}

/*
 * Reads, and writes that need no flush after them, try the direct path
 * first: mapped by the submitting thread and queued on the io_uring.
 */
static bool blk_aio_try_direct(BlkAioReq *req)
{
    BlockBackend *blk = req->blk;
    bool write = req->op == BLK_OP_WRITE;

    if (blk->no_direct || !blk->bs ||
        (req->op != BLK_OP_READ && !write) ||
        (write && (req->flags || !blk->wce)) ||
        blk_check_range(blk, req->offset, req->bytes) < 0) {
        return false;
    }
    return bdrv_aio_try(blk->bs, write, req->offset, req->bytes, req->iov,
                        req->niov, blk_aio_direct_done, req);
}

static void blk_aio_submit(BlockBackend *blk, BlkOp op, int64_t offset,
                           int64_t bytes, const struct iovec *iov, int niov,
                           int flags, BlockCompletionFunc *cb, void *opaque)
{
    BlkAioReq *req = g_new0(BlkAioReq, 1);

    req->blk = blk;
    req->op = op;
    req->offset = offset;
    req->bytes = bytes;
    req->iov = iov ? g_memdup2(iov, sizeof(*iov) * niov) : NULL;
    req->niov = niov;
    req->flags = flags;
    req->cb = cb;
    req->opaque = opaque;
    req->start_ns = blk_now_ns();
    g_atomic_int_inc(&blk->in_flight);
    if (blk_aio_try_direct(req)) {
        return;
    }
    g_once(&blk_pool_once, blk_pool_init, NULL);
    g_thread_pool_push(blk_pool, req, NULL);
}

void blk_aio_preadv(BlockBackend *blk, int64_t offset,
                    const struct iovec *iov, int niov,
                    BlockCompletionFunc *cb, void *opaque)
{
    blk_aio_submit(blk, BLK_OP_READ, offset, iov_size(iov, niov), iov,
                   niov, 0, cb, opaque);
}

void blk_aio_pwritev(BlockBackend *blk, int64_t offset,
                     const struct iovec *iov, int niov, int flags,
                     BlockCompletionFunc *cb, void *opaque)
{
    blk_aio_submit(blk, BLK_OP_WRITE, offset, iov_size(iov, niov), iov,
                   niov, flags, cb, opaque);
}

void blk_aio_pwrite_zeroes(BlockBackend *blk, int64_t offset, int64_t bytes,
                           int flags, BlockCompletionFunc *cb, void *opaque)
{
    blk_aio_submit(blk, BLK_OP_ZEROES, offset, bytes, NULL, 0, flags, cb,
                   opaque);
}

void blk_aio_flush(BlockBackend *blk, BlockCompletionFunc *cb, void *opaque)
{
    blk_aio_submit(blk, BLK_OP_FLUSH, 0, 0, NULL, 0, 0, cb, opaque);
}

void blk_aio_discard(BlockBackend *blk, int64_t offset, int64_t bytes,
                     BlockCompletionFunc *cb, void *opaque)
{
    blk_aio_submit(blk, BLK_OP_DISCARD, offset, bytes, NULL, 0, 0, cb,
                   opaque);
}

unsigned blk_in_flight(BlockBackend *blk)
{
    return g_atomic_int_get(&blk->in_flight);
}

void blk_drain(BlockBackend *blk)
{
    while (g_atomic_int_get(&blk->in_flight) > 0) {
        g_main_context_iteration(NULL, TRUE);
    }
}
