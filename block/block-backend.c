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

struct BlockBackend {
    char *name;
    BlockDriverState *bs;
    bool wce;
    gint in_flight;
};

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
    BlockCompletionFunc *cb;
    void *opaque;
} BlkAioReq;

/* Enough threads to keep a queue depth of 32-64 busy on a fast disk. */
#define BLK_POOL_THREADS 64

static GThreadPool *blk_pool;
static GOnce blk_pool_once = G_ONCE_INIT;

BlockBackend *blk_new_with_bs(BlockDriverState *bs, bool writethrough)
{
    BlockBackend *blk = g_new0(BlockBackend, 1);

    bdrv_ref(bs);
    blk->bs = bs;
    blk->wce = !writethrough;
    blk->name = g_strdup(bs->node_name ? bs->node_name : "");
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
    bdrv_unref(blk->bs);
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

int64_t blk_getlength(BlockBackend *blk)
{
    return bdrv_getlength(blk->bs);
}

bool blk_is_read_only(BlockBackend *blk)
{
    return blk->bs->read_only;
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
    return bdrv_flush(blk->bs);
}

int blk_discard(BlockBackend *blk, int64_t offset, int64_t bytes)
{
    int ret = blk_check_range(blk, offset, bytes);

    return ret < 0 ? ret : bdrv_discard(blk->bs, offset, bytes);
}

int blk_truncate(BlockBackend *blk, int64_t size, GError **errp)
{
    return bdrv_truncate(blk->bs, size, errp);
}

static int64_t blk_iov_size(const struct iovec *iov, int niov)
{
    int64_t n = 0;

    for (int i = 0; i < niov; i++) {
        n += iov[i].iov_len;
    }
    return n;
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
static gboolean blk_aio_complete(gpointer data)
{
    BlkAioReq *req = data;

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

    if ((req->op != BLK_OP_READ && !write) ||
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
    blk_aio_submit(blk, BLK_OP_READ, offset, blk_iov_size(iov, niov), iov,
                   niov, 0, cb, opaque);
}

void blk_aio_pwritev(BlockBackend *blk, int64_t offset,
                     const struct iovec *iov, int niov, int flags,
                     BlockCompletionFunc *cb, void *opaque)
{
    blk_aio_submit(blk, BLK_OP_WRITE, offset, blk_iov_size(iov, niov), iov,
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
