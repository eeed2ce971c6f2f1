/*
 * The "file" protocol: a host file or block device.
 *
 * Cache modes map onto open flags: cache=none and directsync open with
 * O_DIRECT, so every request must be aligned in offset, length and memory;
 * requests that are not go through an aligned bounce buffer here.
 * cache=unsafe (BDRV_O_NO_FLUSH) turns flushes into no-ops.
 */
#include "block_int.h"
#include "qlite/fdset.h"
#include "qlite/iov.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct BDRVFileState {
    int fd;
    bool direct;
    bool no_flush;
    /* Serialises read-modify-write cycles of unaligned O_DIRECT writes. */
    GMutex rmw_lock;
} BDRVFileState;

static int file_probe_alignment(BDRVFileState *s)
{
    static const uint32_t sizes[] = { 512, 1024, 2048, 4096 };
    void *buf = NULL;
    int align = 4096;

    if (posix_memalign(&buf, 4096, 4096) != 0) {
        return 4096;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
        ssize_t r = pread(s->fd, buf, sizes[i], 0);
        if (r >= 0 || errno != EINVAL) {
            align = sizes[i];
            break;
        }
    }
    free(buf);
    return align;
}

/* Lock (where asked) and set up what the requests need. */
static int file_open_finish(BlockDriverState *bs, int oflags, int flags,
                            GError **errp)
{
    BDRVFileState *s = bs->opaque;

    if ((flags & BDRV_O_LOCK)) {
        int r = file_lock_image(s->fd, bs->filename, flags & BDRV_O_RDWR,
                                errp);
        if (r < 0) {
            close(s->fd);
            s->fd = -1;
            return r;
        }
    }
    s->direct = (oflags & O_DIRECT) != 0;
    s->no_flush = (flags & BDRV_O_NO_FLUSH) != 0;
    g_mutex_init(&s->rmw_lock);
    bs->request_alignment = s->direct ? file_probe_alignment(s) : 1;
    return 0;
}

static int file_open(BlockDriverState *bs, QliteOpts *opts, int flags,
                     GError **errp)
{
    BDRVFileState *s = bs->opaque;
    int oflags = O_CLOEXEC;

    oflags |= (flags & BDRV_O_RDWR) ? O_RDWR : O_RDONLY;
    if (flags & BDRV_O_NOCACHE) {
        oflags |= O_DIRECT;
    }
    if (g_str_has_prefix(bs->filename, "/dev/fdset/")) {
        /* a dup of an fd libvirt passed (-add-fd) */
        s->fd = qlite_open(bs->filename, oflags, 0, errp);
        return s->fd < 0 ? -EACCES : file_open_finish(bs, oflags, flags,
                                                      errp);
    }
    s->fd = open(bs->filename, oflags);
    if (s->fd < 0 && errno == EINVAL && (oflags & O_DIRECT)) {
        error_setg(errp, "Could not open '%s': the file system does not "
                   "support O_DIRECT (cache=none)", bs->filename);
        return -EINVAL;
    }
    if (s->fd < 0) {
        int err = errno;
        error_setg(errp, "Could not open '%s': %s", bs->filename,
                   g_strerror(err));
        return -err;
    }
    return file_open_finish(bs, oflags, flags, errp);
}

static void file_close(BlockDriverState *bs)
{
    BDRVFileState *s = bs->opaque;

    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    g_mutex_clear(&s->rmw_lock);
}

/* Full pread: short reads past EOF are zero-filled, as for a disk. */
static int file_pread_full(int fd, void *buf, size_t len, int64_t offset)
{
    uint8_t *p = buf;

    while (len > 0) {
        ssize_t r = pread(fd, p, len, offset);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        if (r == 0) {
            memset(p, 0, len);
            return 0;
        }
        p += r;
        len -= r;
        offset += r;
    }
    return 0;
}

static int file_pwrite_full(int fd, const void *buf, size_t len,
                            int64_t offset)
{
    const uint8_t *p = buf;

    while (len > 0) {
        ssize_t r = pwrite(fd, p, len, offset);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        if (r == 0) {
            return -EIO;
        }
        p += r;
        len -= r;
        offset += r;
    }
    return 0;
}

static bool file_is_aligned(BlockDriverState *bs, int64_t offset,
                            int64_t bytes, const void *buf)
{
    uint32_t a = bs->request_alignment;

    return QLITE_IS_ALIGNED((uint64_t)offset, a) &&
           QLITE_IS_ALIGNED((uint64_t)bytes, a) &&
           QLITE_IS_ALIGNED((uintptr_t)buf, a);
}

/* The aligned window around [offset, offset+bytes). */
static void file_align_window(BlockDriverState *bs, int64_t offset,
                              int64_t bytes, int64_t *start, int64_t *len)
{
    uint32_t a = bs->request_alignment;

    *start = offset & ~(int64_t)(a - 1);
    *len = ((offset + bytes + a - 1) & ~(int64_t)(a - 1)) - *start;
}

static int file_pread(BlockDriverState *bs, int64_t offset, int64_t bytes,
                      void *buf)
{
    BDRVFileState *s = bs->opaque;
    int64_t start, len;
    void *bounce;
    int ret;

    if (!s->direct || file_is_aligned(bs, offset, bytes, buf)) {
        return file_pread_full(s->fd, buf, bytes, offset);
    }
    file_align_window(bs, offset, bytes, &start, &len);
    bounce = g_aligned_alloc(len, 1, bs->request_alignment);
    ret = file_pread_full(s->fd, bounce, len, start);
    if (ret == 0) {
        memcpy(buf, (uint8_t *)bounce + (offset - start), bytes);
    }
    g_aligned_free(bounce);
    return ret;
}

static int file_pwrite_bounce(BlockDriverState *bs, int64_t offset,
                              int64_t bytes, const void *buf)
{
    BDRVFileState *s = bs->opaque;
    int64_t start, len;
    uint8_t *bounce;
    int ret = 0;

    file_align_window(bs, offset, bytes, &start, &len);
    bounce = g_aligned_alloc(len, 1, bs->request_alignment);
    g_mutex_lock(&s->rmw_lock);
    if (start != offset || len != bytes) {
        ret = file_pread_full(s->fd, bounce, len, start);
    }
    if (ret == 0) {
        memcpy(bounce + (offset - start), buf, bytes);
        ret = file_pwrite_full(s->fd, bounce, len, start);
    }
    g_mutex_unlock(&s->rmw_lock);
    g_aligned_free(bounce);
    return ret;
}

static int file_flush(BlockDriverState *bs)
{
    BDRVFileState *s = bs->opaque;

    if (s->no_flush) {
        return 0;
    }
    if (fdatasync(s->fd) < 0) {
        return -errno;
    }
    return 0;
}

static int file_pwrite(BlockDriverState *bs, int64_t offset, int64_t bytes,
                       const void *buf, int flags)
{
    BDRVFileState *s = bs->opaque;
    int ret;

    if (!s->direct || file_is_aligned(bs, offset, bytes, buf)) {
        ret = file_pwrite_full(s->fd, buf, bytes, offset);
    } else {
        ret = file_pwrite_bounce(bs, offset, bytes, buf);
    }
    if (ret == 0 && (flags & BDRV_REQ_FUA)) {
        ret = file_flush(bs);
    }
    return ret;
}

typedef struct FileAioReq {
    BlockDriverState *bs;
    bool write;
    int64_t offset;
    struct iovec *iov;
    int niov;
    BlockCompletionFunc *cb;
    void *opaque;
} FileAioReq;

/*
 * Finish a request the kernel did only @done bytes of, synchronously:
 * a read that reached the end of the file (zeroes follow, as for a
 * disk) or, rarely, a short write.
 */
static int file_aio_finish(FileAioReq *r, int64_t done)
{
    BDRVFileState *s = r->bs->opaque;
    int64_t pos = r->offset;
    int ret = 0;

    for (int i = 0; i < r->niov && ret == 0; i++) {
        int64_t len = r->iov[i].iov_len, skip = MIN(done, len);
        uint8_t *p = (uint8_t *)r->iov[i].iov_base + skip;

        done -= skip;
        if (skip < len) {
            ret = r->write ? file_pwrite_full(s->fd, p, len - skip,
                                              pos + skip)
                           : file_pread_full(s->fd, p, len - skip,
                                             pos + skip);
        }
        pos += len;
    }
    return ret;
}

static void file_aio_done(void *opaque, int64_t res)
{
    FileAioReq *r = opaque;
    int64_t total = iov_size(r->iov, r->niov);
    int ret;

    if (res == -EAGAIN || res == -EINTR) {
        ret = file_aio_finish(r, 0);
    } else if (res < 0) {
        ret = res;
    } else {
        ret = res < total ? file_aio_finish(r, res) : 0;
    }
    r->cb(r->opaque, ret);
    g_free(r->iov);
    g_free(r);
}

static bool file_aio_rw(BlockDriverState *bs, bool write, int64_t offset,
                        const struct iovec *iov, int niov,
                        BlockCompletionFunc *cb, void *opaque)
{
    BDRVFileState *s = bs->opaque;
    FileAioReq *r;

    if (s->direct) {
        /* O_DIRECT wants every segment aligned; others go bounced. */
        if (!QLITE_IS_ALIGNED((uint64_t)offset, bs->request_alignment)) {
            return false;
        }
        for (int i = 0; i < niov; i++) {
            if (!file_is_aligned(bs, 0, iov[i].iov_len, iov[i].iov_base)) {
                return false;
            }
        }
    }
    r = g_new(FileAioReq, 1);
    *r = (FileAioReq) {
        .bs = bs, .write = write, .offset = offset,
        .iov = g_memdup2(iov, sizeof(*iov) * niov), .niov = niov,
        .cb = cb, .opaque = opaque,
    };
    if (!aio_uring_submit(s->fd, write, offset, r->iov, niov, file_aio_done,
                          r)) {
        g_free(r->iov);
        g_free(r);
        return false;
    }
    return true;
}

static int file_write_zero_buffer(BlockDriverState *bs, int64_t offset,
                                  int64_t bytes)
{
    const int64_t chunk = 1 * MiB;
    uint8_t *zero = g_aligned_alloc0(chunk, 1, 4096);
    int ret = 0;

    while (bytes > 0 && ret == 0) {
        int64_t n = MIN(bytes, chunk);
        ret = file_pwrite(bs, offset, n, zero, 0);
        offset += n;
        bytes -= n;
    }
    g_aligned_free(zero);
    return ret;
}

static int file_pwrite_zeroes(BlockDriverState *bs, int64_t offset,
                              int64_t bytes, int flags)
{
    BDRVFileState *s = bs->opaque;
    struct stat st;

    if (fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode)) {
        if ((flags & BDRV_REQ_MAY_UNMAP) && offset + bytes <= st.st_size &&
            fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                      offset, bytes) == 0) {
            return 0;
        }
        if (fallocate(s->fd, FALLOC_FL_ZERO_RANGE, offset, bytes) == 0) {
            return 0;
        }
    }
    return file_write_zero_buffer(bs, offset, bytes);
}

static int file_discard(BlockDriverState *bs, int64_t offset, int64_t bytes)
{
    BDRVFileState *s = bs->opaque;

    if (fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  offset, bytes) < 0) {
        /* Discard is advisory: a file system without holes is fine. */
        return errno == EOPNOTSUPP ? 0 : -errno;
    }
    return 0;
}

static int64_t file_getlength(BlockDriverState *bs)
{
    BDRVFileState *s = bs->opaque;
    off_t end = lseek(s->fd, 0, SEEK_END);

    return end < 0 ? -errno : end;
}

static int file_truncate(BlockDriverState *bs, int64_t size, GError **errp)
{
    BDRVFileState *s = bs->opaque;
    struct stat st;

    if (fstat(s->fd, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (size > file_getlength(bs)) {
            error_setg(errp, "Cannot grow device '%s'", bs->filename);
            return -EINVAL;
        }
        return 0;
    }
    if (ftruncate(s->fd, size) < 0) {
        int err = errno;
        error_setg(errp, "Failed to resize '%s': %s", bs->filename,
                   g_strerror(err));
        return -err;
    }
    return 0;
}

static int64_t file_get_allocated_file_size(BlockDriverState *bs)
{
    BDRVFileState *s = bs->opaque;
    struct stat st;

    if (fstat(s->fd, &st) < 0) {
        return -errno;
    }
    return (int64_t)st.st_blocks * 512;
}

/* Data or hole at @offset, from SEEK_DATA/SEEK_HOLE. */
static int file_block_status(BlockDriverState *bs, int64_t offset,
                             int64_t bytes, int64_t *pnum, int64_t *map,
                             BlockDriverState **file)
{
    BDRVFileState *s = bs->opaque;
    off_t data = lseek(s->fd, offset, SEEK_DATA);
    int ret = BDRV_BLOCK_OFFSET_VALID;

    *map = offset;
    *file = bs;
    if (data < 0 && errno == ENXIO) {
        /* Past the last data: a hole to the end. */
        *pnum = bytes;
        return ret | BDRV_BLOCK_ZERO;
    }
    if (data < 0) {
        *pnum = bytes;
        return ret | BDRV_BLOCK_DATA;
    }
    if (data > offset) {
        *pnum = MIN(bytes, data - offset);
        return ret | BDRV_BLOCK_ZERO;
    }
    off_t hole = lseek(s->fd, offset, SEEK_HOLE);
    *pnum = hole > offset ? MIN(bytes, hole - offset) : bytes;
    return ret | BDRV_BLOCK_DATA;
}

static int file_create(const char *filename, QliteOpts *opts, GError **errp)
{
    uint64_t size = 0;
    int fd;

    if (!qopts_get_size(opts, "size", 0, &size, errp) ||
        !qopts_check_all_used(opts, errp)) {
        return -EINVAL;
    }
    fd = open(filename, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int err = errno;
        error_setg(errp, "Could not create '%s': %s", filename,
                   g_strerror(err));
        return -err;
    }
    if (ftruncate(fd, size) < 0) {
        int err = errno;
        error_setg(errp, "Could not resize file '%s': %s", filename,
                   g_strerror(err));
        close(fd);
        return -err;
    }
    close(fd);
    return 0;
}

const BlockDriver bdrv_file = {
    .format_name = "file",
    .instance_size = sizeof(BDRVFileState),
    .is_protocol = true,
    .open = file_open,
    .close = file_close,
    .create = file_create,
    .pread = file_pread,
    .pwrite = file_pwrite,
    .pwrite_zeroes = file_pwrite_zeroes,
    .aio_rw = file_aio_rw,
    .flush = file_flush,
    .discard = file_discard,
    .truncate = file_truncate,
    .getlength = file_getlength,
    .get_allocated_file_size = file_get_allocated_file_size,
    .block_status = file_block_status,
};
