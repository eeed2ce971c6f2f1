/*
 * qlite-img convert's copy engine.
 *
 * A reader thread walks the sources by extents (one block-status query
 * per extent of data or zeroes, not per chunk) and reads data in chunks
 * of up to IMG_CHUNK that end on target cluster boundaries; IMG_WRITERS
 * writers (the calling thread and helpers) take the chunks as they come
 * and write them, so chunks land out of order, as qemu-img's -W allows:
 * they never overlap, so the result is the same.  The qcow2 driver sends
 * allocating writes' data with its lock dropped, so the writers overlap
 * in the file as well as in compression.
 *
 * A freshly created target without a backing file reads as zeroes: zero
 * extents are skipped and zero granules of -S bytes (4 KiB by default,
 * a whole cluster with -c) inside data are left unwritten, which keeps
 * the target sparse.  -S 0 writes everything, zeroes included.
 */
#include "qlite-img-convert.h"

#define IMG_WRITERS 3
#define IMG_PIPE_DEPTH 8
/* Zero extents go to the writers in pieces of at most this. */
#define IMG_ZERO_PIECE (256 * MiB)

bool img_is_zero(const uint8_t *p, size_t len)
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

/* The extent at @off: *zero and its length (at most @len), or -errno. */
static int64_t img_extent(BlockDriverState *bs, int64_t off, int64_t len,
                          bool *zero)
{
    MapEntry e;
    int ret = img_map_get(bs, off, len, &e);

    if (ret < 0) {
        return ret;
    }
    if (e.length <= 0) {
        *zero = false;
        return len;
    }
    *zero = (e.flags & BDRV_BLOCK_ZERO) && !(e.flags & BDRV_BLOCK_DATA);
    return e.length;
}

bool img_range_is_zero(BlockDriverState *bs, int64_t off, int64_t len)
{
    while (len > 0) {
        bool zero;
        int64_t n = img_extent(bs, off, len, &zero);
        if (n < 0 || !zero) {
            return false;
        }
        off += n;
        len -= n;
    }
    return true;
}

typedef struct ConvertChunk {
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
    GAsyncQueue *full_q;    /* chunks for the writers, in any order */
    gint stop;              /* a writer failed: read no more */
    gint ret;               /* the first error */
    GMutex progress_lock;
    int64_t done;           /* bytes written, under progress_lock */
} ConvertPipe;

/* Reader: one chunk; false when the pipeline ends. */
static bool img_read_one(ConvertPipe *p, BlockBackend *src, int64_t soff,
                         int64_t doff, int64_t n, bool zero)
{
    ConvertChunk *c = g_async_queue_pop(p->free_q);

    c->soff = soff;
    c->doff = doff;
    c->len = n;
    c->zero = zero;
    c->ret = zero ? 0 : blk_pread(src, soff, n, c->buf);
    g_async_queue_push(p->full_q, c);
    return c->ret == 0 && !g_atomic_int_get(&p->stop);
}

/* The extent around @soff, queried again once @soff passes its end. */
typedef struct ConvertExtent {
    int64_t end;
    bool zero;
} ConvertExtent;

static void img_extent_at(ConvertState *cs, BlockBackend *src,
                          int64_t soff, int64_t len, ConvertExtent *ext)
{
    int64_t n;

    if (soff < ext->end) {
        return;
    }
    ext->zero = false;
    n = cs->sparse ? img_extent(blk_bs(src), soff, len - soff, &ext->zero)
                   : len - soff;
    if (n < 0) {
        /* Read it as data and let the read report what is wrong. */
        n = MIN(IMG_CHUNK, len - soff);
    }
    ext->end = soff + n;
}

/*
 * The next piece at @soff (target @doff): its length and whether it is
 * zero.  Pieces start and end on target cluster boundaries (compressed
 * writes need whole clusters), so a zero extent that does not cover a
 * whole cluster is copied as data.
 */
static int64_t img_next_piece(ConvertState *cs, BlockBackend *src,
                              int64_t soff, int64_t len, int64_t doff,
                              ConvertExtent *ext, bool *zero)
{
    int64_t cl = cs->cluster_size, ext_dend, n;

    img_extent_at(cs, src, soff, len, ext);
    ext_dend = doff + (ext->end - soff);
    *zero = false;
    if (ext->zero) {
        int64_t dend = ext_dend - ext_dend % cl;
        if (doff % cl == 0 && dend > doff) {
            *zero = true;
            return MIN(IMG_ZERO_PIECE, dend - doff);
        }
        n = cl - doff % cl;
    } else {
        n = (ext_dend + cl - 1) / cl * cl - doff;
    }
    n = MIN(n, IMG_CHUNK - doff % IMG_CHUNK);
    return MIN(n, len - soff);
}

/* Reader: all of one source; false when the pipeline ends. */
static bool img_read_source(ConvertPipe *p, BlockBackend *src,
                            int64_t *doff)
{
    int64_t len = blk_getlength(src), soff = 0;
    ConvertExtent ext = { 0 };

    while (soff < len) {
        bool zero;
        int64_t n = img_next_piece(p->cs, src, soff, len, *doff, &ext,
                                   &zero);
        if (!img_read_one(p, src, soff, *doff, n, zero)) {
            return false;
        }
        soff += n;
        *doff += n;
    }
    return true;
}

static gpointer img_convert_reader(gpointer opaque)
{
    ConvertPipe *p = opaque;
    ConvertState *cs = p->cs;
    int64_t doff = 0;

    for (int i = 0; i < cs->nsrc; i++) {
        if (!img_read_source(p, cs->src[i], &doff)) {
            break;
        }
    }
    for (int i = 0; i < IMG_WRITERS; i++) {
        ConvertChunk *end = g_async_queue_pop(p->free_q);
        end->len = 0;
        g_async_queue_push(p->full_q, end);
    }
    return NULL;
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
        int64_t start, n;
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
        int64_t room = MIN((int64_t)cs->cluster_size,
                           blk_getlength(cs->dst) - (off + pos));
        if (n < room) {
            /* A source that ends inside a cluster of a larger target:
             * the rest of the cluster (inside the chunk buffer) is
             * zero, and the cluster goes out whole. */
            memset(buf + pos + n, 0, room - n);
            n = room;
        }
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

/* Writer: one chunk the reader filled. */
static int img_write_one(ConvertState *cs, ConvertChunk *c)
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

static void img_progress_add(ConvertPipe *p, int64_t n)
{
    ConvertState *cs = p->cs;

    if (!cs->progress || !cs->total) {
        return;
    }
    g_mutex_lock(&p->progress_lock);
    p->done += n;
    img_print_progress(p->done * 100.0 / cs->total, &cs->progress_printed,
                       &cs->progress_last);
    g_mutex_unlock(&p->progress_lock);
}

static gpointer img_convert_writer(gpointer opaque)
{
    ConvertPipe *p = opaque;
    ConvertChunk *c;

    while ((c = g_async_queue_pop(p->full_q))->len > 0) {
        /* After a failure keep draining until the reader ends. */
        if (!g_atomic_int_get(&p->stop)) {
            int ret = img_write_one(p->cs, c);
            if (ret < 0) {
                g_atomic_int_compare_and_exchange(&p->ret, 0, ret);
                g_atomic_int_set(&p->stop, 1);
            } else {
                img_progress_add(p, c->len);
            }
        }
        g_async_queue_push(p->free_q, c);
    }
    g_async_queue_push(p->free_q, c);
    return NULL;
}

static void img_convert_progress_end(ConvertState *cs, int ret)
{
    if (!cs->progress) {
        return;
    }
    if (ret == 0) {
        img_print_progress(100.0, &cs->progress_printed, &cs->progress_last);
    }
    printf("\n");
}

int img_convert_copy(ConvertState *cs)
{
    ConvertChunk chunks[IMG_PIPE_DEPTH];
    ConvertPipe p = { .cs = cs };
    GThread *reader, *writers[IMG_WRITERS - 1];

    p.free_q = g_async_queue_new();
    p.full_q = g_async_queue_new();
    g_mutex_init(&p.progress_lock);
    for (int i = 0; i < IMG_PIPE_DEPTH; i++) {
        chunks[i].buf = g_aligned_alloc(IMG_CHUNK, 1, 4096);
        g_async_queue_push(p.free_q, &chunks[i]);
    }
    if (cs->progress) {
        img_print_progress(0, &cs->progress_printed, &cs->progress_last);
    }
    reader = g_thread_new("convert-read", img_convert_reader, &p);
    for (int i = 0; i < IMG_WRITERS - 1; i++) {
        writers[i] = g_thread_new("convert-write", img_convert_writer, &p);
    }
    img_convert_writer(&p);
    for (int i = 0; i < IMG_WRITERS - 1; i++) {
        g_thread_join(writers[i]);
    }
    g_thread_join(reader);
    img_convert_progress_end(cs, p.ret);
    for (int i = 0; i < IMG_PIPE_DEPTH; i++) {
        g_aligned_free(chunks[i].buf);
    }
    g_mutex_clear(&p.progress_lock);
    g_async_queue_unref(p.free_q);
    g_async_queue_unref(p.full_q);
    return p.ret;
}
