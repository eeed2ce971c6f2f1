/*
 * The node graph: opening formats over protocols, backing chains, and the
 * checked entry points every request goes through.
 */
#include "block_int.h"

#include <sys/stat.h>

static const BlockDriver *const bdrv_drivers[] = {
    &bdrv_file,
    &bdrv_raw,
    &bdrv_qcow2,
};

const BlockDriver *bdrv_find_format(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(bdrv_drivers); i++) {
        if (!strcmp(bdrv_drivers[i]->format_name, name)) {
            return bdrv_drivers[i];
        }
    }
    return NULL;
}

bool bdrv_parse_cache_mode(const char *mode, int *flags, bool *writethrough,
                           GError **errp)
{
    *flags &= ~(BDRV_O_NOCACHE | BDRV_O_NO_FLUSH);
    *writethrough = false;
    if (!strcmp(mode, "none") || !strcmp(mode, "off")) {
        *flags |= BDRV_O_NOCACHE;
    } else if (!strcmp(mode, "directsync")) {
        *flags |= BDRV_O_NOCACHE;
        *writethrough = true;
    } else if (!strcmp(mode, "writethrough")) {
        *writethrough = true;
    } else if (!strcmp(mode, "unsafe")) {
        *flags |= BDRV_O_NO_FLUSH;
    } else if (strcmp(mode, "writeback") != 0) {
        error_setg(errp, "Invalid cache mode '%s'", mode);
        return false;
    }
    return true;
}

void bdrv_snapshot_info_clear(BdrvSnapshotInfo *sn)
{
    g_free(sn->id_str);
    g_free(sn->name);
    memset(sn, 0, sizeof(*sn));
}

static BlockDriverState *bdrv_new(const BlockDriver *drv,
                                  const char *filename, int flags)
{
    BlockDriverState *bs = g_new0(BlockDriverState, 1);

    bs->drv = drv;
    bs->opaque = g_malloc0(drv->instance_size);
    bs->filename = g_strdup(filename);
    bs->open_flags = flags;
    bs->read_only = !(flags & BDRV_O_RDWR);
    bs->refcnt = 1;
    bs->request_alignment = 1;
    return bs;
}

static void bdrv_free(BlockDriverState *bs)
{
    g_free(bs->opaque);
    g_free(bs->filename);
    g_free(bs->node_name);
    g_free(bs->backing_file);
    g_free(bs->backing_format);
    g_free(bs->full_backing_filename);
    g_free(bs);
}

void bdrv_ref(BlockDriverState *bs)
{
    bs->refcnt++;
}

void bdrv_unref(BlockDriverState *bs)
{
    if (!bs || --bs->refcnt > 0) {
        return;
    }
    if (bs->drv->close) {
        bs->drv->close(bs);
    }
    bdrv_unref(bs->backing);
    bdrv_unref(bs->file);
    bdrv_free(bs);
}

BlockDriverState *(*bdrv_protocol_wrap_hook)(BlockDriverState *file);

BlockDriverState *bdrv_new_filter(const BlockDriver *drv,
                                  BlockDriverState *file)
{
    BlockDriverState *bs = bdrv_new(drv, file->filename, file->open_flags);

    bs->file = file;
    bs->request_alignment = file->request_alignment;
    return bs;
}

static BlockDriverState *bdrv_open_protocol(const char *filename,
                                            const BlockDriver *drv,
                                            QliteOpts *opts, int flags,
                                            GError **errp)
{
    BlockDriverState *bs = bdrv_new(drv, filename, flags);

    if (drv->open(bs, opts, flags, errp) < 0) {
        bdrv_free(bs);
        return NULL;
    }
    return bdrv_protocol_wrap_hook ? bdrv_protocol_wrap_hook(bs) : bs;
}

const char *bdrv_probe_format(BlockDriverState *file)
{
    uint8_t buf[512];
    int best = 0;
    const char *name = "raw";
    int64_t len = bdrv_getlength(file);
    int n = len < 0 ? 0 : (int)MIN(len, (int64_t)sizeof(buf));

    memset(buf, 0, sizeof(buf));
    /* A read error must not make an image raw (resize would cut it). */
    if (n > 0 && bdrv_pread(file, 0, n, buf) < 0) {
        return NULL;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(bdrv_drivers); i++) {
        const BlockDriver *drv = bdrv_drivers[i];
        int score = drv->probe ? drv->probe(buf, n, file->filename) : 0;
        if (score > best) {
            best = score;
            name = drv->format_name;
        }
    }
    return name;
}

char *bdrv_resolve_backing(const char *image, const char *backing)
{
    g_autofree char *dir = NULL;

    if (g_path_is_absolute(backing) || strstr(backing, "://")) {
        return g_strdup(backing);
    }
    dir = g_path_get_dirname(image);
    if (!strcmp(dir, ".")) {
        return g_strdup(backing);
    }
    return g_build_filename(dir, backing, NULL);
}

/* The files of a chain being opened, to catch loops (dev, inode). */
typedef struct BdrvChain {
    GArray *ids;
    int depth;
} BdrvChain;

static bool bdrv_chain_add(BdrvChain *chain, const char *filename,
                           GError **errp)
{
    struct stat st;
    uint64_t id[2];

    if (stat(filename, &st) < 0) {
        return true;    /* the open itself reports the problem */
    }
    id[0] = st.st_dev;
    id[1] = st.st_ino;
    for (guint i = 0; i < chain->ids->len; i += 2) {
        uint64_t *e = &g_array_index(chain->ids, uint64_t, i);
        if (e[0] == id[0] && e[1] == id[1]) {
            error_setg(errp, "backing_file '%s' is already in the chain "
                       "(the backing chain loops)", filename);
            return false;
        }
    }
    g_array_append_vals(chain->ids, id, 2);
    return true;
}

static BlockDriverState *bdrv_open_chain(const char *filename,
                                         const char *fmt, QliteOpts *opts,
                                         int flags, BdrvChain *chain,
                                         GError **errp);

static bool bdrv_open_backing(BlockDriverState *bs, int flags,
                              BdrvChain *chain, GError **errp)
{
    int bflags = (flags & ~(BDRV_O_RDWR | BDRV_O_SNAPSHOT)) &
                 (BDRV_O_NOCACHE | BDRV_O_NO_FLUSH | BDRV_O_UNSAFE_BACKING |
                  BDRV_O_LOCK);
    GError *local = NULL;

    bs->full_backing_filename = bdrv_resolve_backing(bs->filename,
                                                     bs->backing_file);
    if (chain->depth >= BDRV_MAX_BACKING_DEPTH) {
        error_setg(errp, "Backing chain of '%s' is deeper than %d images",
                   bs->filename, BDRV_MAX_BACKING_DEPTH);
        return false;
    }
    chain->depth++;
    bs->backing = bdrv_open_chain(bs->full_backing_filename,
                                  bs->backing_format, NULL, bflags, chain,
                                  &local);
    chain->depth--;
    if (!bs->backing) {
        if (flags & BDRV_O_UNSAFE_BACKING) {
            g_error_free(local);
            return true;
        }
        g_propagate_prefixed_error(errp, local,
                                   "Could not open backing file of '%s': ",
                                   bs->filename);
        return false;
    }
    return true;
}

static BlockDriverState *bdrv_open_format_chain(BlockDriverState *file,
                                                const char *fmt,
                                                QliteOpts *opts, int flags,
                                                BdrvChain *chain,
                                                GError **errp)
{
    const BlockDriver *drv;
    BlockDriverState *bs;

    if (!fmt) {
        fmt = bdrv_probe_format(file);
    }
    if (!fmt) {
        error_setg(errp, "Could not read image for determining its format: "
                   "%s", g_strerror(EIO));
        bdrv_unref(file);
        return NULL;
    }
    drv = bdrv_find_format(fmt);
    if (!drv || drv->is_protocol) {
        error_setg(errp, "Unknown driver '%s'", fmt);
        bdrv_unref(file);
        return NULL;
    }
    bs = bdrv_new(drv, file->filename, flags);
    bs->file = file;
    if (drv->open(bs, opts, flags, errp) < 0) {
        bdrv_unref(file);
        bdrv_free(bs);
        return NULL;
    }
    if (bs->backing_file && !(flags & BDRV_O_NO_BACKING) &&
        !bdrv_open_backing(bs, flags, chain, errp)) {
        bdrv_unref(bs);
        return NULL;
    }
    return bs;
}

static BlockDriverState *bdrv_open_chain(const char *filename,
                                         const char *fmt, QliteOpts *opts,
                                         int flags, BdrvChain *chain,
                                         GError **errp)
{
    const BlockDriver *drv = fmt ? bdrv_find_format(fmt) : NULL;
    BlockDriverState *file;

    if (fmt && !drv) {
        error_setg(errp, "Unknown driver '%s'", fmt);
        return NULL;
    }
    if (!bdrv_chain_add(chain, filename, errp)) {
        return NULL;
    }
    file = bdrv_open_protocol(filename, &bdrv_file, opts, flags, errp);
    if (!file || (drv && drv->is_protocol)) {
        return file;
    }
    return bdrv_open_format_chain(file, fmt, opts, flags, chain, errp);
}

BlockDriverState *bdrv_open(const char *filename, const char *fmt,
                            QliteOpts *opts, int flags, GError **errp)
{
    BdrvChain chain = { g_array_new(false, false, sizeof(uint64_t)), 0 };
    BlockDriverState *bs;

    bs = bdrv_open_chain(filename, fmt, opts, flags, &chain, errp);
    g_array_free(chain.ids, true);
    return bs;
}

BlockDriverState *bdrv_open_format(BlockDriverState *file, const char *fmt,
                                   QliteOpts *opts, int flags,
                                   GError **errp)
{
    BdrvChain chain = { g_array_new(false, false, sizeof(uint64_t)), 0 };
    BlockDriverState *bs;

    bdrv_chain_add(&chain, file->filename, NULL);
    bs = bdrv_open_format_chain(file, fmt, opts, flags, &chain, errp);
    g_array_free(chain.ids, true);
    return bs;
}

int bdrv_create(const char *fmt, const char *filename, QliteOpts *opts,
                GError **errp)
{
    const BlockDriver *drv = bdrv_find_format(fmt);

    if (!drv) {
        error_setg(errp, "Unknown file format '%s'", fmt);
        return -EINVAL;
    }
    if (!drv->create) {
        error_setg(errp, "Format driver '%s' does not support image "
                   "creation", fmt);
        return -ENOTSUP;
    }
    return drv->create(filename, opts, errp);
}

static int bdrv_check_request(BlockDriverState *bs, int64_t offset,
                              int64_t bytes)
{
    if (offset < 0 || bytes < 0 || offset > INT64_MAX - bytes) {
        return -EINVAL;
    }
    return 0;
}

/* Every write, zero write and discard passes here once it is valid. */
static int bdrv_check_write(BlockDriverState *bs, int64_t offset,
                            int64_t bytes)
{
    uint64_t end = (uint64_t)offset + bytes;
    uint64_t old;
    int ret;

    if (bs->read_only) {
        return -EACCES;
    }
    ret = bdrv_check_request(bs, offset, bytes);
    old = __atomic_load_n(&bs->wr_highest_offset, __ATOMIC_RELAXED);
    while (ret == 0 && end > old &&
           !__atomic_compare_exchange_n(&bs->wr_highest_offset, &old, end,
                                        true, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED)) {
    }
    return ret;
}

int bdrv_pread(BlockDriverState *bs, int64_t offset, int64_t bytes,
               void *buf)
{
    int ret = bdrv_check_request(bs, offset, bytes);

    if (ret < 0 || bytes == 0) {
        return ret;
    }
    return bs->drv->pread(bs, offset, bytes, buf);
}

int bdrv_pwrite(BlockDriverState *bs, int64_t offset, int64_t bytes,
                const void *buf, int flags)
{
    int ret = bdrv_check_write(bs, offset, bytes);

    if (ret < 0 || bytes == 0) {
        return ret;
    }
    return bs->drv->pwrite(bs, offset, bytes, buf, flags);
}

static gint bdrv_aio_direct_count;

unsigned bdrv_aio_direct_requests(void)
{
    return g_atomic_int_get(&bdrv_aio_direct_count);
}

bool bdrv_aio_try(BlockDriverState *bs, bool write, int64_t offset,
                  int64_t bytes, const struct iovec *iov, int niov,
                  BlockCompletionFunc *cb, void *opaque)
{
    int depth = 0;

    if (bytes <= 0) {
        return false;
    }
    while (bs->drv->map_direct && depth++ < BDRV_MAX_BACKING_DEPTH) {
        int64_t host;
        BlockDriverState *file;

        if ((write ? bdrv_check_write(bs, offset, bytes)
                   : bdrv_check_request(bs, offset, bytes)) < 0 ||
            bs->drv->map_direct(bs, offset, bytes, write, &host,
                                &file) < 0) {
            return false;
        }
        bs = file;
        offset = host;
    }
    if (!bs->drv->aio_rw || (write ? bdrv_check_write(bs, offset, bytes)
                                   : bdrv_check_request(bs, offset,
                                                        bytes)) < 0) {
        return false;
    }
    if (!bs->drv->aio_rw(bs, write, offset, iov, niov, cb, opaque)) {
        return false;
    }
    g_atomic_int_inc(&bdrv_aio_direct_count);
    return true;
}

int bdrv_pwrite_zeroes(BlockDriverState *bs, int64_t offset, int64_t bytes,
                       int flags)
{
    int ret = bdrv_check_write(bs, offset, bytes);
    uint8_t *zero;

    if (ret < 0 || bytes == 0) {
        return ret;
    }
    if (bs->drv->pwrite_zeroes) {
        return bs->drv->pwrite_zeroes(bs, offset, bytes, flags);
    }
    zero = g_malloc0(MIN(bytes, (int64_t)MiB));
    while (bytes > 0 && ret == 0) {
        int64_t n = MIN(bytes, (int64_t)MiB);
        ret = bs->drv->pwrite(bs, offset, n, zero, 0);
        offset += n;
        bytes -= n;
    }
    g_free(zero);
    return ret;
}

int bdrv_pwrite_compressed(BlockDriverState *bs, int64_t offset,
                           int64_t bytes, const void *buf)
{
    int ret = bdrv_check_write(bs, offset, bytes);

    if (ret < 0) {
        return ret;
    }
    if (!bs->drv->pwrite_compressed) {
        return -ENOTSUP;
    }
    return bs->drv->pwrite_compressed(bs, offset, bytes, buf);
}

int bdrv_flush(BlockDriverState *bs)
{
    if (bs->read_only || !bs->drv->flush) {
        return 0;
    }
    return bs->drv->flush(bs);
}

int bdrv_discard(BlockDriverState *bs, int64_t offset, int64_t bytes)
{
    int ret = bdrv_check_write(bs, offset, bytes);

    if (ret < 0 || bytes == 0 || !bs->drv->discard || bs->discard_ignore) {
        return ret;
    }
    return bs->drv->discard(bs, offset, bytes);
}

int bdrv_truncate(BlockDriverState *bs, int64_t size, GError **errp)
{
    if (bs->read_only) {
        error_setg(errp, "Image '%s' is read-only", bs->filename);
        return -EACCES;
    }
    if (size < 0) {
        error_setg(errp, "Invalid image size %" PRId64, size);
        return -EINVAL;
    }
    if (!bs->drv->truncate) {
        error_setg(errp, "Image format '%s' does not support resizing",
                   bs->drv->format_name);
        return -ENOTSUP;
    }
    return bs->drv->truncate(bs, size, errp);
}

int64_t bdrv_getlength(BlockDriverState *bs)
{
    return bs->drv->getlength ? bs->drv->getlength(bs) : -ENOTSUP;
}

int64_t bdrv_get_allocated_file_size(BlockDriverState *bs)
{
    if (bs->drv->get_allocated_file_size) {
        return bs->drv->get_allocated_file_size(bs);
    }
    return bs->file ? bdrv_get_allocated_file_size(bs->file) : -ENOTSUP;
}

int bdrv_block_status(BlockDriverState *bs, int64_t offset, int64_t bytes,
                      int64_t *pnum, int64_t *map, BlockDriverState **file)
{
    *map = 0;
    *file = NULL;
    if (!bs->drv->block_status) {
        *pnum = bytes;
        return BDRV_BLOCK_DATA | BDRV_BLOCK_ALLOCATED;
    }
    return bs->drv->block_status(bs, offset, bytes, pnum, map, file);
}

int bdrv_block_status_above(BlockDriverState *bs, int64_t offset,
                            int64_t bytes, int64_t *pnum, int64_t *map,
                            BlockDriverState **file, int *depth)
{
    int64_t limit = bytes;
    int d = 0;

    for (;;) {
        int64_t len = bdrv_getlength(bs);
        int64_t n;
        int ret;

        if (len >= 0 && offset >= len) {
            /* Past a backing file's end the layer above reads zeroes. */
            *pnum = limit;
            *depth = d ? d - 1 : 0;
            *map = 0;
            *file = NULL;
            return d ? BDRV_BLOCK_ZERO : BDRV_BLOCK_ZERO |
                                         BDRV_BLOCK_ALLOCATED;
        }
        if (len >= 0) {
            limit = MIN(limit, len - offset);
        }
        ret = bdrv_block_status(bs, offset, limit, &n, map, file);
        if (ret < 0) {
            return ret;
        }
        limit = MIN(limit, n);
        if ((ret & BDRV_BLOCK_ALLOCATED) || !bs->backing) {
            *pnum = limit;
            *depth = d;
            return ret;
        }
        bs = bs->backing;
        d++;
    }
}

int bdrv_read_backing(BlockDriverState *bs, int64_t offset, int64_t bytes,
                      void *buf)
{
    int64_t len, n;

    if (!bs->backing) {
        memset(buf, 0, bytes);
        return 0;
    }
    len = bdrv_getlength(bs->backing);
    if (len < 0) {
        return (int)len;
    }
    n = offset >= len ? 0 : MIN(bytes, len - offset);
    if (n < bytes) {
        memset((uint8_t *)buf + n, 0, bytes - n);
    }
    return n ? bdrv_pread(bs->backing, offset, n, buf) : 0;
}
