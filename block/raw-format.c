/*
 * The "raw" format: the guest disk is the file, byte for byte.
 */
#include "block_int.h"

static int raw_probe(const uint8_t *buf, int buf_size, const char *filename)
{
    /* Anything is a raw image; every other format scores higher. */
    return 1;
}

static int raw_open(BlockDriverState *bs, QliteOpts *opts, int flags,
                    GError **errp)
{
    return 0;
}

static int raw_pread(BlockDriverState *bs, int64_t offset, int64_t bytes,
                     void *buf)
{
    return bdrv_pread(bs->file, offset, bytes, buf);
}

static int raw_pwrite(BlockDriverState *bs, int64_t offset, int64_t bytes,
                      const void *buf, int flags)
{
    return bdrv_pwrite(bs->file, offset, bytes, buf, flags);
}

static int raw_pwrite_zeroes(BlockDriverState *bs, int64_t offset,
                             int64_t bytes, int flags)
{
    return bdrv_pwrite_zeroes(bs->file, offset, bytes, flags);
}

static int raw_map_direct(BlockDriverState *bs, int64_t offset,
                          int64_t bytes, bool write, int64_t *host,
                          BlockDriverState **file)
{
    *host = offset;
    *file = bs->file;
    return 0;
}

static int raw_flush(BlockDriverState *bs)
{
    return bdrv_flush(bs->file);
}

static int raw_discard(BlockDriverState *bs, int64_t offset, int64_t bytes)
{
    return bdrv_discard(bs->file, offset, bytes);
}

static int raw_truncate(BlockDriverState *bs, int64_t size, GError **errp)
{
    return bdrv_truncate(bs->file, size, errp);
}

static int64_t raw_getlength(BlockDriverState *bs)
{
    return bdrv_getlength(bs->file);
}

static int64_t raw_get_allocated_file_size(BlockDriverState *bs)
{
    return bdrv_get_allocated_file_size(bs->file);
}

static int raw_block_status(BlockDriverState *bs, int64_t offset,
                            int64_t bytes, int64_t *pnum, int64_t *map,
                            BlockDriverState **file)
{
    int ret = bdrv_block_status(bs->file, offset, bytes, pnum, map, file);

    return ret < 0 ? ret : ret | BDRV_BLOCK_ALLOCATED;
}

static int raw_create(const char *filename, QliteOpts *opts, GError **errp)
{
    return bdrv_file.create(filename, opts, errp);
}

const BlockDriver bdrv_raw = {
    .format_name = "raw",
    .instance_size = 1,
    .probe = raw_probe,
    .open = raw_open,
    .create = raw_create,
    .pread = raw_pread,
    .pwrite = raw_pwrite,
    .pwrite_zeroes = raw_pwrite_zeroes,
    .map_direct = raw_map_direct,
    .flush = raw_flush,
    .discard = raw_discard,
    .truncate = raw_truncate,
    .getlength = raw_getlength,
    .get_allocated_file_size = raw_get_allocated_file_size,
    .block_status = raw_block_status,
};
