/*
 * Host file I/O through io_uring, completed on the GLib default main
 * context.
 *
 * The kernel serves a request inline when it can (a read from the page
 * cache, most buffered writes) and hands it to its own workers when it
 * would block, so no thread of ours wakes up per request.  Requests
 * queued from the main context are submitted together when the main
 * loop next polls; requests from other threads are submitted at once.
 * Completions are reaped only in the main context.
 */
#include "block_int.h"

#include <liburing.h>

#define AIO_URING_ENTRIES 256

typedef struct AioUringReq {
    AioUringFunc *cb;
    void *opaque;
} AioUringReq;

typedef struct AioUringSource {
    GSource source;
    GPollFD pfd;
} AioUringSource;

static struct io_uring aio_ring;
static GMutex aio_sq_lock;          /* guards the submission queue */
static unsigned aio_queued;         /* SQEs not yet submitted */
static gint aio_in_flight;          /* queued, not yet reaped */
static bool aio_ready;
static bool aio_disabled;
static GOnce aio_once = G_ONCE_INIT;

/* Hand queued SQEs to the kernel; the caller holds aio_sq_lock. */
static void aio_uring_flush_locked(void)
{
    if (aio_queued) {
        int ret = io_uring_submit(&aio_ring);
        if (ret >= 0) {
            aio_queued -= MIN((unsigned)ret, aio_queued);
        }
    }
}

static gboolean aio_uring_prepare(GSource *source, gint *timeout)
{
    g_mutex_lock(&aio_sq_lock);
    aio_uring_flush_locked();
    g_mutex_unlock(&aio_sq_lock);
    *timeout = -1;
    return io_uring_cq_ready(&aio_ring) > 0;
}

static gboolean aio_uring_check(GSource *source)
{
    return io_uring_cq_ready(&aio_ring) > 0;
}

static gboolean aio_uring_dispatch(GSource *source, GSourceFunc unused,
                                   gpointer data)
{
    struct io_uring_cqe *cqe;

    /* Callbacks may queue more requests: they go out at the next poll. */
    while (io_uring_peek_cqe(&aio_ring, &cqe) == 0) {
        AioUringReq *req = io_uring_cqe_get_data(cqe);
        int64_t res = cqe->res;

        io_uring_cqe_seen(&aio_ring, cqe);
        g_atomic_int_dec_and_test(&aio_in_flight);
        req->cb(req->opaque, res);
        g_free(req);
    }
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs aio_uring_funcs = {
    .prepare = aio_uring_prepare,
    .check = aio_uring_check,
    .dispatch = aio_uring_dispatch,
};

static gpointer aio_uring_init(gpointer unused)
{
    AioUringSource *src;

    if (getenv("QLITE_AIO_THREADS") ||
        io_uring_queue_init(AIO_URING_ENTRIES, &aio_ring, 0) < 0) {
        aio_disabled = true;
        return NULL;
    }
    src = (AioUringSource *)g_source_new(&aio_uring_funcs,
                                         sizeof(AioUringSource));
    src->pfd.fd = aio_ring.ring_fd;
    src->pfd.events = G_IO_IN;
    g_source_add_poll(&src->source, &src->pfd);
    g_source_set_name(&src->source, "block io_uring");
    g_source_attach(&src->source, NULL);
    g_source_unref(&src->source);
    aio_ready = true;
    return NULL;
}

bool aio_uring_submit(int fd, bool write, int64_t offset,
                      const struct iovec *iov, int niov, AioUringFunc *cb,
                      void *opaque)
{
    struct io_uring_sqe *sqe;
    AioUringReq *req;

    g_once(&aio_once, aio_uring_init, NULL);
    if (aio_disabled || niov < 1) {
        return false;
    }
    g_mutex_lock(&aio_sq_lock);
    /* Keep the completions within the CQ ring: beyond, use the pool. */
    sqe = g_atomic_int_get(&aio_in_flight) < AIO_URING_ENTRIES ?
          io_uring_get_sqe(&aio_ring) : NULL;
    if (!sqe) {
        g_mutex_unlock(&aio_sq_lock);
        return false;
    }
    req = g_new(AioUringReq, 1);
    req->cb = cb;
    req->opaque = opaque;
    if (niov == 1 && write) {
        io_uring_prep_write(sqe, fd, iov[0].iov_base, iov[0].iov_len,
                            offset);
    } else if (niov == 1) {
        io_uring_prep_read(sqe, fd, iov[0].iov_base, iov[0].iov_len,
                           offset);
    } else if (write) {
        io_uring_prep_writev(sqe, fd, iov, niov, offset);
    } else {
        io_uring_prep_readv(sqe, fd, iov, niov, offset);
    }
    io_uring_sqe_set_data(sqe, req);
    aio_queued++;
    g_atomic_int_inc(&aio_in_flight);
    /*
     * The main loop submits at its next poll, together with whatever
     * else its callbacks queue; other threads cannot wait for that.
     */
    if (!g_main_context_is_owner(g_main_context_default())) {
        aio_uring_flush_locked();
    }
    g_mutex_unlock(&aio_sq_lock);
    return true;
}

bool aio_uring_available(void)
{
    g_once(&aio_once, aio_uring_init, NULL);
    return aio_ready;
}
