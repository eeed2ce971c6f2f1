/*
 * qlite-img bench: keep @depth asynchronous requests in flight through
 * the BlockBackend's worker pool, as qemu-img bench does: offsets start
 * at -o and advance by the step size, wrapping at the image size.
 */
#include "qlite-img.h"

typedef struct BenchState {
    BlockBackend *blk;
    uint64_t image_size;
    uint64_t bufsize;
    uint64_t step;
    uint64_t offset;
    int count;
    int submitted;
    int completed;
    int in_flight;
    int flush_interval;
    bool write;
    uint8_t **bufs;
    int *free_bufs;
    int nfree;
    int ret;
    GMainLoop *loop;
} BenchState;

typedef struct BenchReq {
    BenchState *b;
    int buf;
} BenchReq;

static void bench_submit(BenchState *b);

static void bench_done(void *opaque, int ret)
{
    BenchReq *r = opaque;
    BenchState *b = r->b;

    if (ret < 0 && b->ret == 0) {
        error_report("Failed request: %s", g_strerror(-ret));
        b->ret = ret;
    }
    if (r->buf >= 0) {
        b->free_bufs[b->nfree++] = r->buf;
        b->completed++;
    }
    b->in_flight--;
    g_free(r);
    if (b->ret == 0 && b->submitted < b->count) {
        bench_submit(b);
    } else if (b->in_flight == 0) {
        g_main_loop_quit(b->loop);
    }
}

static void bench_submit(BenchState *b)
{
    while (b->nfree > 0 && b->submitted < b->count) {
        BenchReq *r = g_new0(BenchReq, 1);
        struct iovec iov;

        r->b = b;
        r->buf = b->free_bufs[--b->nfree];
        iov.iov_base = b->bufs[r->buf];
        iov.iov_len = b->bufsize;
        b->in_flight++;
        b->submitted++;
        if (b->write) {
            blk_aio_pwritev(b->blk, b->offset, &iov, 1, 0, bench_done, r);
        } else {
            blk_aio_preadv(b->blk, b->offset, &iov, 1, bench_done, r);
        }
        b->offset += b->step;
        b->offset %= b->image_size;
        if (b->offset + b->bufsize > b->image_size) {
            b->offset = 0;
        }
        if (b->flush_interval && b->submitted % b->flush_interval == 0) {
            BenchReq *f = g_new0(BenchReq, 1);
            f->b = b;
            f->buf = -1;
            b->in_flight++;
            blk_aio_flush(b->blk, bench_done, f);
        }
    }
}

static int bench_run(BenchState *b, int depth, int pattern, bool quiet)
{
    gint64 t0;

    b->bufs = g_new0(uint8_t *, depth);
    b->free_bufs = g_new0(int, depth);
    for (int i = 0; i < depth; i++) {
        b->bufs[i] = g_aligned_alloc(b->bufsize, 1, 4096);
        memset(b->bufs[i], pattern, b->bufsize);
        b->free_bufs[b->nfree++] = i;
    }
    b->loop = g_main_loop_new(NULL, FALSE);
    t0 = g_get_monotonic_time();
    bench_submit(b);
    if (b->in_flight) {
        g_main_loop_run(b->loop);
    }
    if (!quiet && b->ret == 0) {
        printf("Run completed in %3.3f seconds.\n",
               (g_get_monotonic_time() - t0) / 1e6);
    }
    g_main_loop_unref(b->loop);
    for (int i = 0; i < depth; i++) {
        g_aligned_free(b->bufs[i]);
    }
    g_free(b->bufs);
    g_free(b->free_bufs);
    return b->ret ? 1 : 0;
}

enum { OPT_PATTERN = 256, OPT_FLUSH_INTERVAL, OPT_NO_DRAIN };

static bool bench_uint(const char *name, const char *s, uint64_t *v)
{
    GError *err = NULL;

    if (!keyval_parse_size(name, s, 1, v, &err)) {
        error_report_err(err);
        return false;
    }
    return true;
}

int img_bench(int argc, char **argv)
{
    static const struct option lopts[] = {
        { "pattern", required_argument, NULL, OPT_PATTERN },
        { "flush-interval", required_argument, NULL, OPT_FLUSH_INTERVAL },
        { "no-drain", no_argument, NULL, OPT_NO_DRAIN },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *cache = "writeback";
    BenchState b = { .bufsize = 4096, .count = 75000 };
    uint64_t v, depth = 64, pattern = 0, step = 0;
    bool quiet = false;
    int c, ret, r;

    while ((c = getopt_long(argc, argv, "hc:d:f:ni:o:qs:S:t:wU", lopts,
                            NULL)) != -1) {
        uint64_t *dst = NULL;
        switch (c) {
        case 'c': dst = &v; break;
        case 'd': dst = &depth; break;
        case 'o': dst = &b.offset; break;
        case 's': dst = &b.bufsize; break;
        case 'S': dst = &step; break;
        case OPT_PATTERN: dst = &pattern; break;
        case OPT_FLUSH_INTERVAL: dst = &v; break;
        case 'f': fmt = optarg; break;
        case 't': cache = optarg; break;
        case 'w': b.write = true; break;
        case 'q': quiet = true; break;
        case 'n': case 'i': case 'U': case OPT_NO_DRAIN: break;
        default: return 1;
        }
        if (dst && !bench_uint("option", optarg, dst)) {
            return 1;
        }
        if (c == 'c') {
            b.count = MIN(v, (uint64_t)INT_MAX);
        } else if (c == OPT_FLUSH_INTERVAL) {
            b.flush_interval = MIN(v, (uint64_t)INT_MAX);
        }
    }
    if (optind != argc - 1 || depth < 1 || depth > 1024 || !b.bufsize ||
        b.bufsize > 64 * MiB) {
        error_report("Expecting one image file name (and depth 1-1024, "
                     "buffer size up to 64 MiB)");
        return 1;
    }
    b.step = step ? step : b.bufsize;
    b.blk = img_open(argv[optind], fmt, b.write ? BDRV_O_RDWR : 0, cache,
                     quiet);
    if (!b.blk) {
        return 1;
    }
    b.image_size = blk_getlength(b.blk);
    if (b.image_size < b.bufsize) {
        error_report("Image is smaller than the buffer size");
        blk_unref(b.blk);
        return 1;
    }
    b.offset %= b.image_size;
    if (!quiet) {
        printf("Sending %d %s requests, %" PRIu64 " bytes each, %" PRIu64
               " in parallel (starting at offset %" PRIu64 ", step size %"
               PRIu64 ")\n", b.count, b.write ? "write" : "read", b.bufsize,
               depth, b.offset, b.step);
    }
    ret = bench_run(&b, depth, pattern, quiet);
    /* Success means the data is on disk: a failed last flush fails. */
    if (ret == 0 && b.write && (r = blk_flush(b.blk)) < 0) {
        error_report("Failed flush request: %s", g_strerror(-r));
        ret = 1;
    }
    blk_unref(b.blk);
    return ret;
}
