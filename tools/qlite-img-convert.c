/*
 * qlite-img convert and compare.
 *
 * convert copies in 2 MiB chunks aligned to the target's clusters (a
 * reader thread runs ahead of the writes, see img_convert_copy); a
 * freshly created target reads as zeroes, so zero granules (4 KiB, or a
 * whole cluster with -c) are skipped, which keeps the target sparse.
 */
#include "qlite-img.h"

#define IMG_CHUNK (2 * MiB)

typedef struct ConvertState {
    BlockBackend **src;
    int nsrc;
    int64_t total;
    BlockBackend *dst;
    bool compress;
    bool target_zero;
    int64_t sparse;         /* zero-detection granule; 0: write all */
    int cluster_size;
    bool progress;
    bool progress_printed;
    double progress_last;
} ConvertState;

static bool img_is_zero(const uint8_t *p, size_t len)
{
    static const uint8_t zero[4096];

    while (len >= sizeof(zero)) {
        if (memcmp(p, zero, sizeof(zero)) != 0) {
            return false;
        }
        p += sizeof(zero);
        len -= sizeof(zero);
    }
    return memcmp(p, zero, len) == 0;
}

/* Whether [off, off+len) of @bs reads as zeroes, by metadata alone. */
static bool img_range_is_zero(BlockDriverState *bs, int64_t off, int64_t len)
{
    while (len > 0) {
        int64_t pnum, map;
        BlockDriverState *file;
        int depth;
        int ret = bdrv_block_status_above(bs, off, len, &pnum, &map, &file,
                                          &depth);
        if (ret < 0 || (ret & BDRV_BLOCK_DATA) || pnum <= 0 ||
            (!(ret & BDRV_BLOCK_ZERO) && (ret & BDRV_BLOCK_ALLOCATED))) {
            return false;
        }
        off += pnum;
        len -= pnum;
    }
    return true;
}

/* Write the non-zero granules of @buf (target offset @off). */
static int img_write_sparse(ConvertState *cs, int64_t off, uint8_t *buf,
                            int64_t len)
{
    int64_t g = cs->sparse, pos = 0;

    if (!g || !cs->target_zero) {
        return blk_pwrite(cs->dst, off, len, buf, 0);
    }
    while (pos < len) {
        int64_t start = pos, n;
        while (pos < len && img_is_zero(buf + pos, MIN(g, len - pos))) {
            pos += MIN(g, len - pos);
        }
        start = pos;
        while (pos < len && !img_is_zero(buf + pos, MIN(g, len - pos))) {
            pos += MIN(g, len - pos);
        }
        n = pos - start;
        if (n > 0) {
            int ret = blk_pwrite(cs->dst, off + start, n, buf + start, 0);
            if (ret < 0) {
                return ret;
            }
        }
    }
    return 0;
}

static int img_write_compressed(ConvertState *cs, int64_t off, uint8_t *buf,
                                int64_t len)
{
    int64_t pos = 0;

    while (pos < len) {
        int64_t n = MIN((int64_t)cs->cluster_size, len - pos);
        if (!img_is_zero(buf + pos, n)) {
            int ret = blk_pwrite_compressed(cs->dst, off + pos, n, buf + pos);
            if (ret < 0) {
                return ret;
            }
        }
        pos += n;
    }
    return 0;
}

/*
 * The copy is a two-stage pipeline: a reader thread finds out whether a
 * chunk is zero and reads it, while the main thread writes the chunks
 * before it, so reading and writing (and compressing) overlap.
 */
#define IMG_PIPE_DEPTH 4

typedef struct ConvertChunk {
    BlockBackend *src;
    int64_t soff;
    int64_t doff;
    int64_t len;            /* 0: the reader is done */
    bool zero;              /* reads as zeroes by metadata, not read */
    int ret;
    uint8_t *buf;
} ConvertChunk;

typedef struct ConvertPipe {
    ConvertState *cs;
    GAsyncQueue *free_q;    /* chunks for the reader to fill */
    GAsyncQueue *full_q;    /* chunks for the writer, in order */
    gint stop;              /* the writer failed: read no more */
} ConvertPipe;

/* Reader: one chunk; false when the pipeline ends. */
static bool img_convert_read_one(ConvertPipe *p, BlockBackend *src,
                                 int64_t soff, int64_t doff, int64_t n)
{
    ConvertChunk *c = g_async_queue_pop(p->free_q);

    c->src = src;
    c->soff = soff;
    c->doff = doff;
    c->len = n;
    c->zero = img_range_is_zero(blk_bs(src), soff, n);
    c->ret = c->zero ? 0 : blk_pread(src, soff, n, c->buf);
    g_async_queue_push(p->full_q, c);
    return c->ret == 0 && !g_atomic_int_get(&p->stop);
}

static gpointer img_convert_reader(gpointer opaque)
{
    ConvertPipe *p = opaque;
    ConvertState *cs = p->cs;
    ConvertChunk *end;
    int64_t doff = 0;
    bool go = true;

    for (int i = 0; i < cs->nsrc && go; i++) {
        int64_t len = blk_getlength(cs->src[i]), soff = 0;
        while (soff < len && go) {
            /* Chunks end on target cluster boundaries. */
            int64_t n = MIN(IMG_CHUNK - (doff % IMG_CHUNK), len - soff);
            go = img_convert_read_one(p, cs->src[i], soff, doff, n);
            soff += n;
            doff += n;
        }
    }
    end = g_async_queue_pop(p->free_q);
    end->len = 0;
    g_async_queue_push(p->full_q, end);
    return NULL;
}

/* Writer: one chunk the reader filled. */
static int img_convert_write_one(ConvertState *cs, ConvertChunk *c)
{
    int ret = c->ret;

    if (ret < 0) {
        error_report("error while reading at byte %" PRId64 ": %s", c->soff,
                     g_strerror(-ret));
        return ret;
    }
    if (c->zero) {
        return cs->target_zero ? 0 : blk_pwrite_zeroes(cs->dst, c->doff,
                                                       c->len, 0);
    }
    ret = cs->compress ? img_write_compressed(cs, c->doff, c->buf, c->len)
                       : img_write_sparse(cs, c->doff, c->buf, c->len);
    if (ret < 0) {
        error_report("error while writing at byte %" PRId64 ": %s", c->doff,
                     g_strerror(-ret));
    }
    return ret;
}

static int img_convert_pipe_run(ConvertPipe *p)
{
    ConvertState *cs = p->cs;
    ConvertChunk *c;
    int ret = 0;

    while ((c = g_async_queue_pop(p->full_q))->len > 0) {
        if (ret == 0) {
            ret = img_convert_write_one(cs, c);
            if (ret < 0) {
                g_atomic_int_set(&p->stop, 1);
            }
        }
        if (ret == 0 && cs->progress && cs->total) {
            img_print_progress((c->doff + c->len) * 100.0 / cs->total,
                               &cs->progress_printed, &cs->progress_last);
        }
        /* After a failure keep draining until the reader ends. */
        g_async_queue_push(p->free_q, c);
    }
    g_async_queue_push(p->free_q, c);
    return ret;
}

static int img_convert_copy(ConvertState *cs)
{
    ConvertChunk chunks[IMG_PIPE_DEPTH];
    ConvertPipe p = { .cs = cs };
    GThread *reader;
    int ret;

    p.free_q = g_async_queue_new();
    p.full_q = g_async_queue_new();
    for (int i = 0; i < IMG_PIPE_DEPTH; i++) {
        chunks[i].buf = g_aligned_alloc(IMG_CHUNK, 1, 4096);
        g_async_queue_push(p.free_q, &chunks[i]);
    }
    if (cs->progress) {
        img_print_progress(0, &cs->progress_printed, &cs->progress_last);
    }
    reader = g_thread_new("convert-read", img_convert_reader, &p);
    ret = img_convert_pipe_run(&p);
    g_thread_join(reader);
    if (cs->progress) {
        if (ret == 0) {
            img_print_progress(100.0, &cs->progress_printed,
                               &cs->progress_last);
        }
        printf("\n");
    }
    for (int i = 0; i < IMG_PIPE_DEPTH; i++) {
        g_aligned_free(chunks[i].buf);
    }
    g_async_queue_unref(p.free_q);
    g_async_queue_unref(p.full_q);
    return ret;
}

static bool img_convert_open_dst(ConvertState *cs, const char *out,
                                 const char *ofmt, QliteOpts *copts,
                                 bool skip_create, const char *cache)
{
    GError *err = NULL;

    if (!skip_create) {
        g_autofree char *sz = g_strdup_printf("%" PRId64, cs->total);
        qopts_set(copts, "size", sz);
        if (bdrv_create(ofmt, out, copts, &err) < 0) {
            error_report("%s: error while converting %s: %s", out, ofmt,
                         err->message);
            g_error_free(err);
            return false;
        }
        if (!qopts_check_all_used(copts, &err)) {
            error_report_err(err);
            return false;
        }
    }
    cs->dst = img_open(out, ofmt, BDRV_O_RDWR | BDRV_O_NO_BACKING, cache,
                       false);
    if (!cs->dst) {
        return false;
    }
    if (cs->compress && !blk_bs(cs->dst)->drv->pwrite_compressed) {
        error_report("Compression not supported for this file format");
        return false;
    }
    cs->cluster_size = blk_bs(cs->dst)->drv->get_cluster_size ?
        blk_bs(cs->dst)->drv->get_cluster_size(blk_bs(cs->dst)) : 4096;
    cs->target_zero = !skip_create;
    return true;
}

static int img_convert_run(ConvertState *cs, char **files, int nfiles,
                           const char *fmt, const char *scache,
                           const char *out, const char *ofmt,
                           QliteOpts *copts, bool skip, const char *cache)
{
    int ret = 1;

    cs->src = g_new0(BlockBackend *, nfiles);
    cs->nsrc = nfiles;
    for (int i = 0; i < nfiles; i++) {
        cs->src[i] = img_open(files[i], fmt, 0, scache, false);
        if (!cs->src[i]) {
            goto out;
        }
        cs->total += blk_getlength(cs->src[i]);
    }
    if (img_convert_open_dst(cs, out, ofmt, copts, skip, cache)) {
        if (blk_getlength(cs->dst) < cs->total) {
            error_report("Target image is too small");
        } else if (img_convert_copy(cs) == 0 && blk_flush(cs->dst) == 0) {
            ret = 0;
        }
    }
out:
    blk_unref(cs->dst);
    for (int i = 0; i < nfiles; i++) {
        blk_unref(cs->src[i]);
    }
    g_free(cs->src);
    return ret;
}

int img_convert(int argc, char **argv)
{
    static const struct option lopts[] = {
        { "force-share", no_argument, NULL, 'U' },
        { "target-is-zero", no_argument, NULL, 'Z' },
        { NULL, 0, NULL, 0 },
    };
    g_autoptr(QliteOpts) copts = qopts_new("create");
    const char *fmt = NULL, *ofmt = "raw", *cache = "unsafe", *scache = NULL;
    ConvertState cs = { .sparse = 4096 };
    bool skip_create = false;
    uint64_t sparse;
    int c;

    while ((c = getopt_long(argc, argv, "hf:O:o:cpqnt:T:S:m:WUCB:",
                            lopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'O': ofmt = optarg; break;
        case 'o': if (!img_parse_o(copts, optarg)) { return 1; } break;
        case 'c': cs.compress = true; break;
        case 'p': cs.progress = true; break;
        case 'q': cs.progress = false; break;
        case 'n': skip_create = true; break;
        case 't': cache = optarg; break;
        case 'T': scache = optarg; break;
        case 'S':
            if (!img_parse_size(optarg, &sparse)) {
                return 1;
            }
            cs.sparse = sparse;
            break;
        case 'm': case 'W': case 'U': case 'C': case 'Z': break;
        case 'B': qopts_set(copts, "backing_file", optarg); break;
        default: return 1;
        }
    }
    if (argc - optind < 2) {
        error_report("Expecting image file name");
        return 1;
    }
    return img_convert_run(&cs, argv + optind, argc - optind - 1, fmt,
                           scache, argv[argc - 1], ofmt, copts, skip_create,
                           cache);
}

/* First 512-byte sector where @a and @b differ, or -1. */
static int64_t img_first_diff(const uint8_t *a, const uint8_t *b,
                              int64_t len)
{
    for (int64_t pos = 0; pos < len; pos += 512) {
        int64_t n = MIN(512, len - pos);
        if (memcmp(a + pos, b + pos, n) != 0) {
            return pos;
        }
    }
    return -1;
}

/* Beyond the shorter image, the longer one must read as zeroes. */
static int img_compare_tail(BlockBackend *blk, int64_t from, uint8_t *buf)
{
    int64_t len = blk_getlength(blk);

    for (int64_t off = from; off < len; off += IMG_CHUNK) {
        int64_t n = MIN(IMG_CHUNK, len - off);
        if (img_range_is_zero(blk_bs(blk), off, n)) {
            continue;
        }
        if (blk_pread(blk, off, n, buf) < 0) {
            error_report("Error while reading offset %" PRId64, off);
            return 2;
        }
        for (int64_t p = 0; p < n; p += 512) {
            if (!img_is_zero(buf + p, MIN(512, n - p))) {
                printf("Content mismatch at offset %" PRId64 "!\n", off + p);
                return 1;
            }
        }
    }
    return 0;
}

static int img_compare_common(BlockBackend *b1, BlockBackend *b2,
                              int64_t len, uint8_t *x, uint8_t *y)
{
    for (int64_t off = 0; off < len; off += IMG_CHUNK) {
        int64_t n = MIN(IMG_CHUNK, len - off), d;
        if (img_range_is_zero(blk_bs(b1), off, n) &&
            img_range_is_zero(blk_bs(b2), off, n)) {
            continue;
        }
        if (blk_pread(b1, off, n, x) < 0 || blk_pread(b2, off, n, y) < 0) {
            error_report("Error while reading offset %" PRId64, off);
            return 2;
        }
        d = img_first_diff(x, y, n);
        if (d >= 0) {
            printf("Content mismatch at offset %" PRId64 "!\n", off + d);
            return 1;
        }
    }
    return 0;
}

static int img_compare_run(BlockBackend *b1, BlockBackend *b2, bool strict,
                           bool quiet)
{
    int64_t l1 = blk_getlength(b1), l2 = blk_getlength(b2);
    uint8_t *x = g_malloc(IMG_CHUNK), *y = g_malloc(IMG_CHUNK);
    int ret;

    if (l1 != l2 && strict) {
        printf("Strict mode: Image size mismatch!\n");
        ret = 1;
    } else {
        ret = img_compare_common(b1, b2, MIN(l1, l2), x, y);
        if (ret == 0 && l1 != l2) {
            if (!quiet) {
                printf("Warning: Image size mismatch!\n");
            }
            ret = img_compare_tail(l1 > l2 ? b1 : b2, MIN(l1, l2), x);
        }
        if (ret == 0 && !quiet) {
            printf("Images are identical.\n");
        }
    }
    g_free(x);
    g_free(y);
    return ret;
}

int img_compare(int argc, char **argv)
{
    static const struct option lopts[] = {
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    const char *f1 = NULL, *f2 = NULL, *cache = NULL;
    bool strict = false, quiet = false;
    BlockBackend *b1, *b2;
    int c, ret;

    while ((c = getopt_long(argc, argv, "hf:F:pqsT:U", lopts, NULL)) != -1) {
        switch (c) {
        case 'f': f1 = optarg; break;
        case 'F': f2 = optarg; break;
        case 's': strict = true; break;
        case 'q': quiet = true; break;
        case 'T': cache = optarg; break;
        case 'p': case 'U': break;
        default: return 2;
        }
    }
    if (optind != argc - 2) {
        error_report("Expecting two image file names");
        return 2;
    }
    if (!f2) {
        f2 = f1;
    }
    b1 = img_open(argv[optind], f1, 0, cache, quiet);
    b2 = b1 ? img_open(argv[optind + 1], f2, 0, cache, quiet) : NULL;
    ret = b2 ? img_compare_run(b1, b2, strict, quiet) : 2;
    blk_unref(b1);
    blk_unref(b2);
    return ret;
}
