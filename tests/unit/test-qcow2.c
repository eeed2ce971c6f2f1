/*
 * Block layer unit tests: qcow2 arithmetic, read/write round trips through
 * the BlockBackend (sync and async), check results, damaged images, and
 * -drive/-blockdev parsing.
 */
#include "../../block/qcow2.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmpdir;

static char *tmp_path(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

/* Refcount entries of every width: own bits only, documented layout. */
static void test_refcount_packing(void)
{
    for (int order = 0; order <= 6; order++) {
        uint8_t blk[512] = { 0 };
        int bits = 1 << order;
        uint64_t max = bits == 64 ? UINT64_MAX : (1ULL << bits) - 1;

        qcow2_rb_set(blk, 5, order, max);
        g_assert_cmpuint(qcow2_rb_get(blk, 5, order), ==, max);
        g_assert_cmpuint(qcow2_rb_get(blk, 4, order), ==, 0);
        g_assert_cmpuint(qcow2_rb_get(blk, 6, order), ==, 0);
        qcow2_rb_set(blk, 5, order, 1);
        g_assert_cmpuint(qcow2_rb_get(blk, 5, order), ==, 1);
    }
    /* 1-bit: entry 0 is the least significant bit of byte 0. */
    uint8_t b1[8] = { 0 };
    qcow2_rb_set(b1, 0, 0, 1);
    qcow2_rb_set(b1, 9, 0, 1);
    g_assert_cmpuint(b1[0], ==, 0x01);
    g_assert_cmpuint(b1[1], ==, 0x02);
    /* 16-bit: big-endian. */
    uint8_t b16[8] = { 0 };
    qcow2_rb_set(b16, 1, 4, 0x1234);
    g_assert_cmpuint(b16[2], ==, 0x12);
    g_assert_cmpuint(b16[3], ==, 0x34);
}

/* Compressed descriptor: x = 62 - (cluster_bits - 8). */
static void test_compressed_descriptor(void)
{
    BDRVQcow2State s = { .cluster_bits = 16 };
    uint64_t off, len, e;

    s.csize_shift = 62 - (16 - 8);
    s.csize_mask = (1ULL << 8) - 1;
    s.cluster_offset_mask = (1ULL << s.csize_shift) - 1;
    e = QCOW_OFLAG_COMPRESSED | (2ULL << s.csize_shift) | 0x50123;
    qcow2_compressed_range(&s, e, &off, &len);
    g_assert_cmphex(off, ==, 0x50123);
    /* Three sectors from the one holding the offset. */
    g_assert_cmpuint(off + len, ==, (0x50123 & ~511ULL) + 3 * 512);
    g_assert_cmpint(qcow2_get_cluster_type(e), ==, QCOW2_CLUSTER_COMPRESSED);
    g_assert_cmpint(qcow2_get_cluster_type(QCOW_OFLAG_ZERO), ==,
                    QCOW2_CLUSTER_ZERO_PLAIN);
    g_assert_cmpint(qcow2_get_cluster_type(0x10000 | QCOW_OFLAG_ZERO), ==,
                    QCOW2_CLUSTER_ZERO_ALLOC);
    g_assert_cmpint(qcow2_get_cluster_type(0), ==,
                    QCOW2_CLUSTER_UNALLOCATED);
    g_assert_cmpuint(qcow2_l1_entries_for(1 * GiB, 16), ==, 2);
    g_assert_cmpuint(qcow2_l1_entries_for(1 * GiB + 1, 16), ==, 3);
}

static void create_qcow2(const char *fn, const char *size, const char *o)
{
    g_autoptr(QliteOpts) opts = NULL;
    GError *err = NULL;

    opts = o ? keyval_parse(o, NULL, 0, &err) : qopts_new("create");
    g_assert_no_error(err);
    qopts_set(opts, "size", size);
    g_assert_cmpint(bdrv_create("qcow2", fn, opts, &err), ==, 0);
    g_assert_no_error(err);
}

static void fill(uint8_t *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)(seed * 37 + i * 11 + (i >> 9));
    }
}

static void assert_clean(BlockBackend *blk)
{
    BlockDriverState *bs = blk_bs(blk);
    BdrvCheckResult r;

    g_assert_cmpint(bs->drv->check(bs, &r, 0), ==, 0);
    g_assert_cmpint(r.corruptions, ==, 0);
    g_assert_cmpint(r.leaks, ==, 0);
    g_assert_cmpint(r.check_errors, ==, 0);
}

/* Writes of odd sizes and offsets read back; zeroes and discards too. */
static void roundtrip(const char *opts)
{
    g_autofree char *fn = tmp_path("rt.qcow2");
    const int64_t size = 8 * MiB;
    uint8_t *model = g_malloc0(size), *buf = g_malloc(size);
    GError *err = NULL;
    BlockBackend *blk;

    create_qcow2(fn, "8M", opts);
    blk = blk_new_open(fn, "qcow2", NULL, BDRV_O_RDWR, &err);
    g_assert_no_error(err);
    for (int i = 0; i < 40; i++) {
        int64_t off = (i * 748123) % (size - 300000);
        int64_t len = 1 + (i * 91237) % 200000;
        fill(model + off, len, i);
        g_assert_cmpint(blk_pwrite(blk, off, len, model + off, 0), ==, 0);
    }
    g_assert_cmpint(blk_pwrite_zeroes(blk, 65536, 3 * 65536 + 100, 0), ==, 0);
    memset(model + 65536, 0, 3 * 65536 + 100);
    /* Whole clusters for every cluster size tested: discarded. */
    g_assert_cmpint(blk_discard(blk, 4 * MiB, 2 * MiB), ==, 0);
    memset(model + 4 * MiB, 0, 2 * MiB);
    g_assert_cmpint(blk_flush(blk), ==, 0);
    g_assert_cmpint(blk_pread(blk, 0, size, buf), ==, 0);
    g_assert(memcmp(buf, model, size) == 0);
    assert_clean(blk);
    /* Out of range requests fail cleanly. */
    g_assert_cmpint(blk_pread(blk, size - 10, 20, buf), ==, -EIO);
    blk_unref(blk);

    blk = blk_new_open(fn, NULL, NULL, 0, &err);
    g_assert_no_error(err);
    g_assert_cmpint(blk_pread(blk, 0, size, buf), ==, 0);
    g_assert(memcmp(buf, model, size) == 0);
    assert_clean(blk);
    blk_unref(blk);
    g_free(model);
    g_free(buf);
}

static void test_roundtrip_default(void)
{
    roundtrip(NULL);
}

static void test_roundtrip_small_clusters(void)
{
    roundtrip("cluster_size=512,refcount_bits=1");
}

static void test_roundtrip_v2(void)
{
    roundtrip("compat=0.10,cluster_size=4096");
}

static void test_roundtrip_wide_refcounts(void)
{
    roundtrip("refcount_bits=64,cluster_size=2M");
}

/* Backing files: unwritten ranges come from below, writes stay on top. */
static void test_backing(void)
{
    g_autofree char *base = tmp_path("base.qcow2");
    g_autofree char *top = tmp_path("top.qcow2");
    g_autoptr(QliteOpts) o = qopts_new("create");
    uint8_t a[8192], b[8192];
    GError *err = NULL;
    BlockBackend *blk;

    create_qcow2(base, "1M", NULL);
    blk = blk_new_open(base, "qcow2", NULL, BDRV_O_RDWR, &err);
    g_assert_no_error(err);
    memset(a, 0xaa, sizeof(a));
    g_assert_cmpint(blk_pwrite(blk, 0, sizeof(a), a, 0), ==, 0);
    blk_unref(blk);

    qopts_set(o, "backing_file", "base.qcow2");
    qopts_set(o, "backing_fmt", "qcow2");
    qopts_set(o, "size", "2M");
    g_assert_cmpint(bdrv_create("qcow2", top, o, &err), ==, 0);
    blk = blk_new_open(top, NULL, NULL, BDRV_O_RDWR, &err);
    g_assert_no_error(err);
    memset(b, 0xbb, 100);
    g_assert_cmpint(blk_pwrite(blk, 1000, 100, b, 0), ==, 0);
    g_assert_cmpint(blk_pread(blk, 0, sizeof(b), b), ==, 0);
    memset(a + 1000, 0xbb, 100);
    g_assert(memcmp(a, b, sizeof(a)) == 0);
    /* Past the 1M backing file the top reads zeroes. */
    g_assert_cmpint(blk_pread(blk, 1 * MiB + 4096, 100, b), ==, 0);
    g_assert_cmpuint(b[0] | b[99], ==, 0);
    assert_clean(blk);
    blk_unref(blk);
}

static void test_backing_loop(void)
{
    g_autofree char *fn = tmp_path("loop.qcow2");
    g_autoptr(QliteOpts) o = qopts_new("create");
    GError *err = NULL;

    qopts_set(o, "backing_file", "loop.qcow2");
    qopts_set(o, "backing_fmt", "qcow2");
    qopts_set(o, "size", "1M");
    g_assert_cmpint(bdrv_create("qcow2", fn, o, &err), ==, 0);
    g_assert_null(blk_new_open(fn, NULL, NULL, 0, &err));
    g_assert_nonnull(err);
    g_assert(strstr(err->message, "loops"));
    g_assert(strstr(err->message, "loop.qcow2"));
    g_clear_error(&err);
}

static void test_compressed_write(void)
{
    g_autofree char *fn = tmp_path("comp.qcow2");
    uint8_t *c = g_malloc(65536), *r = g_malloc(65536);
    GError *err = NULL;
    BlockBackend *blk;

    create_qcow2(fn, "1M", NULL);
    blk = blk_new_open(fn, NULL, NULL, BDRV_O_RDWR, &err);
    g_assert_no_error(err);
    for (int i = 0; i < 4; i++) {
        memset(c, 'a' + i, 65536);
        g_assert_cmpint(blk_pwrite_compressed(blk, i * 65536, 65536, c), ==,
                        0);
    }
    for (int i = 0; i < 4; i++) {
        memset(c, 'a' + i, 65536);
        g_assert_cmpint(blk_pread(blk, i * 65536, 65536, r), ==, 0);
        g_assert(memcmp(c, r, 65536) == 0);
    }
    /* Overwriting part of a compressed cluster copies it first. */
    g_assert_cmpint(blk_pwrite(blk, 65536 + 10, 5, "hello", 0), ==, 0);
    g_assert_cmpint(blk_pread(blk, 65536, 65536, r), ==, 0);
    g_assert(memcmp(r + 10, "hello", 5) == 0 && r[9] == 'b' && r[15] == 'b');
    assert_clean(blk);
    blk_unref(blk);
    g_free(c);
    g_free(r);
}

static void test_snapshots(void)
{
    g_autofree char *fn = tmp_path("snap.qcow2");
    uint8_t buf[512];
    GError *err = NULL;
    BlockBackend *blk;
    BlockDriverState *bs;

    create_qcow2(fn, "1M", NULL);
    blk = blk_new_open(fn, NULL, NULL, BDRV_O_RDWR, &err);
    g_assert_no_error(err);
    bs = blk_bs(blk);
    memset(buf, 1, sizeof(buf));
    g_assert_cmpint(blk_pwrite(blk, 0, sizeof(buf), buf, 0), ==, 0);
    g_assert_cmpint(bs->drv->snapshot_create(bs, "s1", &err), ==, 0);
    memset(buf, 2, sizeof(buf));
    g_assert_cmpint(blk_pwrite(blk, 0, sizeof(buf), buf, 0), ==, 0);
    assert_clean(blk);
    g_assert_cmpint(bs->drv->snapshot_apply(bs, "s1", &err), ==, 0);
    g_assert_cmpint(blk_pread(blk, 0, sizeof(buf), buf), ==, 0);
    g_assert_cmpuint(buf[0], ==, 1);
    g_assert_cmpint(bs->drv->snapshot_delete(bs, "nope", &err), ==, -ENOENT);
    g_clear_error(&err);
    g_assert_cmpint(bs->drv->snapshot_delete(bs, "s1", &err), ==, 0);
    assert_clean(blk);
    blk_unref(blk);
}

/* Patch bytes of a fresh image and expect open to name the field. */
static void expect_bad(uint64_t off, const void *data, size_t len,
                       const char *word)
{
    g_autofree char *fn = tmp_path("bad.qcow2");
    GError *err = NULL;
    int fd;

    create_qcow2(fn, "1M", NULL);
    fd = open(fn, O_RDWR);
    g_assert_cmpint(pwrite(fd, data, len, off), ==, (ssize_t)len);
    close(fd);
    g_assert_null(blk_new_open(fn, NULL, NULL, 0, &err));
    g_assert_nonnull(err);
    if (!strstr(err->message, word) || !strstr(err->message, "bad.qcow2")) {
        g_error("message '%s' does not name '%s'", err->message, word);
    }
    g_clear_error(&err);
}

static void test_bad_headers(void)
{
    uint32_t huge = GUINT32_TO_BE(0x40000000);
    uint64_t zero = 0, ext = GUINT64_TO_BE(1ULL << 4);
    uint32_t bits = GUINT32_TO_BE(30), version = GUINT32_TO_BE(4);

    expect_bad(36, &huge, 4, "l1_size");
    expect_bad(56, &huge, 4, "refcount_table_clusters");
    expect_bad(48, &zero, 8, "refcount_table_offset");
    expect_bad(72, &ext, 8, "extended L2 entries");
    expect_bad(20, &bits, 4, "cluster_bits");
    expect_bad(4, &version, 4, "version");
}

typedef struct AioCtx {
    int done;
    int ret;
} AioCtx;

static void aio_cb(void *opaque, int ret)
{
    AioCtx *c = opaque;

    /* Completions run in the main thread. */
    g_assert(g_main_context_is_owner(g_main_context_default()));
    c->done++;
    c->ret = ret ? ret : c->ret;
}

static void test_async(void)
{
    g_autofree char *fn = tmp_path("aio.qcow2");
    uint8_t *bufs[16];
    AioCtx ctx = { 0 };
    GError *err = NULL;
    BlockBackend *blk;

    create_qcow2(fn, "4M", NULL);
    blk = blk_new_open(fn, NULL, NULL, BDRV_O_RDWR, &err);
    g_assert_no_error(err);
    for (int i = 0; i < 16; i++) {
        struct iovec iov[2];
        bufs[i] = g_malloc(8192);
        fill(bufs[i], 8192, i);
        iov[0] = (struct iovec){ bufs[i], 4096 };
        iov[1] = (struct iovec){ bufs[i] + 4096, 4096 };
        blk_aio_pwritev(blk, i * 200000, iov, 2, 0, aio_cb, &ctx);
    }
    blk_aio_flush(blk, aio_cb, &ctx);
    blk_drain(blk);
    g_assert_cmpint(ctx.done, ==, 17);
    g_assert_cmpint(ctx.ret, ==, 0);
    for (int i = 0; i < 16; i++) {
        uint8_t r[8192];
        struct iovec iov = { r, sizeof(r) };
        blk_aio_preadv(blk, i * 200000, &iov, 1, aio_cb, &ctx);
        blk_drain(blk);
        g_assert(memcmp(r, bufs[i], 8192) == 0);
        g_free(bufs[i]);
    }
    assert_clean(blk);
    blk_unref(blk);
}

static void aio_run(BlockBackend *blk, bool write, int64_t offset,
                    struct iovec *iov, int niov)
{
    AioCtx ctx = { 0 };

    if (write) {
        blk_aio_pwritev(blk, offset, iov, niov, 0, aio_cb, &ctx);
    } else {
        blk_aio_preadv(blk, offset, iov, niov, aio_cb, &ctx);
    }
    blk_drain(blk);
    g_assert_cmpint(ctx.done, ==, 1);
    g_assert_cmpint(ctx.ret, ==, 0);
}

/*
 * Requests on allocated clusters skip the worker pool (io_uring): an
 * in-place write of scattered buffers across a cluster boundary, and a
 * read of a cluster whose host file ends inside it (zeroes follow).
 */
static void test_async_direct(void)
{
    g_autofree char *fn = tmp_path("aio-direct.qcow2");
    g_autofree uint8_t *data = g_malloc(1 * MiB);
    g_autofree uint8_t *cl = g_malloc(65536);
    uint8_t w[12288], r[12288];
    struct iovec wv[3] = { { w, 1000 }, { w + 1000, 3096 },
                           { w + 4096, 8192 } };
    struct iovec rv[2] = { { r, 5000 }, { r + 5000, 7288 } };
    struct iovec cv = { cl, 65536 };
    GError *err = NULL;
    BlockBackend *blk;
    unsigned before;

    create_qcow2(fn, "4M", NULL);
    blk = blk_new_open(fn, NULL, NULL, BDRV_O_RDWR, &err);
    g_assert_no_error(err);
    fill(data, 1 * MiB, 7);
    g_assert_cmpint(blk_pwrite(blk, 0, 1 * MiB, data, 0), ==, 0);
    g_assert_cmpint(blk_pwrite(blk, 2 * MiB, 4096, data, 0), ==, 0);
    before = bdrv_aio_direct_requests();
    fill(w, sizeof(w), 9);
    aio_run(blk, true, 60000, wv, 3);
    memcpy(data + 60000, w, sizeof(w));
    aio_run(blk, false, 60000, rv, 2);
    g_assert(memcmp(r, w, sizeof(r)) == 0);
    memset(cl, 0xee, 65536);
    aio_run(blk, false, 2 * MiB, &cv, 1);
    g_assert(memcmp(cl, data, 4096) == 0);
    for (int i = 4096; i < 65536; i++) {
        g_assert_cmpint(cl[i], ==, 0);
    }
    if (aio_uring_available()) {
        g_assert_cmpuint(bdrv_aio_direct_requests() - before, ==, 3);
    } else {
        g_test_message("no io_uring here: the worker pool ran them");
    }
    /* The synchronous path sees what the direct one wrote. */
    g_assert_cmpint(blk_pread(blk, 0, 65536, cl), ==, 0);
    g_assert(memcmp(cl, data, 65536) == 0);
    assert_clean(blk);
    blk_unref(blk);
}

/* Every byte of [off, off + len) of @buf is @v. */
static void assert_bytes(const uint8_t *buf, int64_t off, int64_t len, int v)
{
    for (int64_t i = off; i < off + len; i++) {
        g_assert_cmpint(buf[i], ==, v);
    }
}

/*
 * A partial write to a new cluster reads back zeroes around it: for a
 * fresh cluster past the end of the file and for a reused one whose old
 * content was data (zero-filled, not read).
 */
static void test_alloc_partial(void)
{
    g_autofree char *fn = tmp_path("alloc-partial.qcow2");
    g_autofree uint8_t *cl = g_malloc(65536);
    g_autofree uint8_t *r = g_malloc(3 * 65536);
    GError *err = NULL;
    BlockBackend *blk;

    create_qcow2(fn, "4M", NULL);
    blk = blk_new_open(fn, NULL, NULL, BDRV_O_RDWR, &err);
    g_assert_no_error(err);
    memset(cl, 0xab, 65536);
    g_assert_cmpint(blk_pwrite(blk, 0, 65536, cl, 0), ==, 0);
    /* Fresh: 5000 bytes in the middle of guest cluster 2. */
    g_assert_cmpint(blk_pwrite(blk, 2 * 65536 + 7000, 5000, cl, 0), ==, 0);
    /* Free guest cluster 0's host cluster, then reuse it for cluster 1. */
    g_assert_cmpint(blk_discard(blk, 0, 65536), ==, 0);
    g_assert_cmpint(blk_flush(blk), ==, 0);
    g_assert_cmpint(blk_pwrite(blk, 65536 + 100, 300, cl, 0), ==, 0);
    g_assert_cmpint(blk_pread(blk, 0, 3 * 65536, r), ==, 0);
    assert_bytes(r, 0, 65536 + 100, 0);
    assert_bytes(r, 65536 + 100, 300, 0xab);
    assert_bytes(r, 65536 + 400, 65536 - 400 + 7000, 0);
    assert_bytes(r, 2 * 65536 + 7000, 5000, 0xab);
    assert_bytes(r, 2 * 65536 + 12000, 65536 - 12000, 0);
    assert_clean(blk);
    blk_unref(blk);
}

/*
 * Many allocating writes in flight at once, several to each cluster:
 * the ones that meet an allocation in flight wait for it, none is lost.
 */
static void test_alloc_concurrent(void)
{
    g_autofree char *fn = tmp_path("alloc-conc.qcow2");
    g_autofree uint8_t *model = g_malloc0(1 * MiB);
    g_autofree uint8_t *r = g_malloc(1 * MiB);
    AioCtx ctx = { 0 };
    GError *err = NULL;
    BlockBackend *blk;

    create_qcow2(fn, "1M", NULL);
    blk = blk_new_open(fn, NULL, NULL, BDRV_O_RDWR, &err);
    g_assert_no_error(err);
    for (int i = 0; i < 64; i++) {
        /* Blocks 0, 16, 32, ... then 1, 17, ...: 4 clusters, 4 rounds. */
        int64_t off = ((i % 16) * 16 + i / 16) * 4096;
        struct iovec iov = { model + off, 4096 };
        fill(model + off, 4096, i + 1);
        blk_aio_pwritev(blk, off, &iov, 1, 0, aio_cb, &ctx);
    }
    blk_drain(blk);
    g_assert_cmpint(ctx.done, ==, 64);
    g_assert_cmpint(ctx.ret, ==, 0);
    g_assert_cmpint(blk_pread(blk, 0, 1 * MiB, r), ==, 0);
    g_assert(memcmp(r, model, 1 * MiB) == 0);
    assert_clean(blk);
    blk_unref(blk);
}

static void test_cache_modes(void)
{
    static const char *const modes[] = {
        "none", "writeback", "writethrough", "directsync", "unsafe",
    };
    g_autofree char *fn = tmp_path("cache.qcow2");
    GError *err = NULL;
    int flags = 0;
    bool wt;

    g_assert_false(bdrv_parse_cache_mode("bogus", &flags, &wt, &err));
    g_clear_error(&err);
    create_qcow2(fn, "1M", NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(modes); i++) {
        g_autoptr(QliteOpts) o = qopts_new("drive");
        uint8_t w[1000], r[1000];
        BlockBackend *blk;

        qopts_set(o, "cache", modes[i]);
        blk = blk_new_open(fn, NULL, o, BDRV_O_RDWR, &err);
        if (!blk) {
            g_test_message("cache=%s unsupported here: %s", modes[i],
                           err->message);
            g_clear_error(&err);
            continue;
        }
        fill(w, sizeof(w), i);
        /* Unaligned on purpose: O_DIRECT goes through bounce buffers. */
        g_assert_cmpint(blk_pwrite(blk, 777 + i, sizeof(w), w, 0), ==, 0);
        g_assert_cmpint(blk_flush(blk), ==, 0);
        g_assert_cmpint(blk_pread(blk, 777 + i, sizeof(r), r), ==, 0);
        g_assert(memcmp(w, r, sizeof(w)) == 0);
        blk_unref(blk);
    }
}

/* Blocks a raw file holds after 1 MiB written and then discarded. */
static int64_t discard_leaves(const char *opt, const char *fn)
{
    g_autofree uint8_t *buf = g_malloc(1 << 20);
    GError *err = NULL;
    DriveInfo *d;
    struct stat st;

    memset(buf, 0xab, 1 << 20);
    d = drive_new(opt, IF_NONE, &err);
    g_assert_no_error(err);
    g_assert_cmpint(blk_pwrite(d->blk, 0, 1 << 20, buf, 0), ==, 0);
    g_assert_cmpint(blk_flush(d->blk), ==, 0);
    g_assert_cmpint(blk_discard(d->blk, 0, 1 << 20), ==, 0);
    g_assert_cmpint(stat(fn, &st), ==, 0);
    return st.st_blocks;
}

/* discard= is the image node's: ignore drops them (the default), unmap
 * frees the space. */
static void test_drive_discard(void)
{
    g_autofree char *a = tmp_path("keep.raw");
    g_autofree char *b = tmp_path("free.raw");
    g_autofree char *oa = g_strdup_printf(
        "file=%s,format=raw,if=none,id=dkeep,discard=ignore", a);
    g_autofree char *ob = g_strdup_printf(
        "file=%s,format=raw,if=none,id=dfree,discard=unmap", b);

    g_assert_true(g_file_set_contents(a, "", 0, NULL));
    g_assert_true(g_file_set_contents(b, "", 0, NULL));
    g_assert_cmpint(truncate(a, 1 << 20), ==, 0);
    g_assert_cmpint(truncate(b, 1 << 20), ==, 0);
    g_assert_cmpint(discard_leaves(oa, a), >=, (1 << 20) / 512);
    g_assert_cmpint(discard_leaves(ob, b), <, (1 << 20) / 512);
}

static void test_drive_options(void)
{
    g_autofree char *fn = tmp_path("drive.qcow2");
    g_autofree char *opt = NULL;
    GError *err = NULL;
    DriveInfo *d;

    create_qcow2(fn, "1M", NULL);
    opt = g_strdup_printf("file=%s,format=qcow2,if=virtio,cache=writeback,"
                          "id=disk0", fn);
    d = drive_new(opt, IF_IDE, &err);
    g_assert_no_error(err);
    g_assert_cmpint(d->type, ==, IF_VIRTIO);
    g_assert_cmpstr(d->id, ==, "disk0");
    g_assert_nonnull(d->blk);
    g_free(opt);
    /* The same image again, in one process: only without the locks. */
    opt = g_strdup_printf("file=%s,snapshot=on,readonly=off,"
                          "file.locking=off", fn);
    d = drive_new(opt, IF_IDE, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(d->id, ==, "ide0-hd0");
    g_assert_true(drive_get(IF_IDE, 0, 0) == d);
    g_free(opt);
    opt = g_strdup_printf("file=%s,if=floppyy", fn);
    g_assert_null(drive_new(opt, IF_IDE, &err));
    g_assert(strstr(err->message, "if"));
    g_clear_error(&err);
    g_free(opt);
    opt = g_strdup_printf("file=%s,bogus=1,file.locking=off", fn);
    g_assert_null(drive_new(opt, IF_IDE, &err));
    g_assert(strstr(err->message, "bogus"));
    g_clear_error(&err);
    g_assert_nonnull(blk_claim_by_name("disk0", NULL, &err));
    g_assert_null(blk_claim_by_name("disk0", NULL, &err));
    g_clear_error(&err);

    g_free(opt);
    opt = g_strdup_printf("{\"driver\": \"qcow2\", \"node-name\": \"n0\", "
                          "\"file\": {\"driver\": \"file\", \"locking\": "
                          "\"off\", \"filename\": \"%s\"}}", fn);
    g_assert_nonnull(blockdev_add(opt, &err));
    g_assert_no_error(err);
    g_free(opt);
    opt = g_strdup_printf("driver=file,node-name=f1,locking=off,"
                          "filename=%s", fn);
    g_assert_nonnull(blockdev_add(opt, &err));
    g_assert_nonnull(blockdev_add("driver=raw,node-name=r1,file=f1", &err));
    g_assert_no_error(err);
    g_assert_nonnull(blk_claim_by_name("n0", NULL, &err));
    g_assert_null(blockdev_add("driver=raw,node-name=r2,file=nope", &err));
    g_clear_error(&err);
    drive_cleanup_all();
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("qlite-test-qcow2-XXXXXX", NULL);
    g_assert_nonnull(tmpdir);
    g_test_add_func("/qcow2/refcount-packing", test_refcount_packing);
    g_test_add_func("/qcow2/compressed-descriptor",
                    test_compressed_descriptor);
    g_test_add_func("/qcow2/roundtrip/default", test_roundtrip_default);
    g_test_add_func("/qcow2/roundtrip/small-clusters",
                    test_roundtrip_small_clusters);
    g_test_add_func("/qcow2/roundtrip/v2", test_roundtrip_v2);
    g_test_add_func("/qcow2/roundtrip/wide-refcounts",
                    test_roundtrip_wide_refcounts);
    g_test_add_func("/qcow2/backing", test_backing);
    g_test_add_func("/qcow2/backing-loop", test_backing_loop);
    g_test_add_func("/qcow2/compressed-write", test_compressed_write);
    g_test_add_func("/qcow2/snapshots", test_snapshots);
    g_test_add_func("/qcow2/bad-headers", test_bad_headers);
    g_test_add_func("/block/async", test_async);
    g_test_add_func("/block/async-direct", test_async_direct);
    g_test_add_func("/block/cache-modes", test_cache_modes);
    g_test_add_func("/qcow2/alloc-partial", test_alloc_partial);
    g_test_add_func("/qcow2/alloc-concurrent", test_alloc_concurrent);
    g_test_add_func("/block/drive-options", test_drive_options);
    g_test_add_func("/block/drive-discard", test_drive_discard);
    ret = g_test_run();
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) {
        g_printerr("could not remove %s\n", tmpdir);
    }
    return ret;
}
