/*
 * libFuzzer target: open a fuzzed qcow2 image, read it, map it, check it,
 * list its snapshots, then write to a copy of it.  Every path must end in
 * an error value, never a crash or an out-of-bounds access.
 *
 *   clang -fsanitize=fuzzer,address,undefined ... (meson -Dfuzzing=true)
 */
#include "../../block/block_int.h"

#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *fuzz_path;

static void fuzz_read_all(BlockBackend *blk)
{
    int64_t len = blk_getlength(blk);
    static uint8_t buf[256 * 1024];

    /* A handful of spread-out reads keeps each run fast. */
    for (int i = 0; i < 16 && len > 0; i++) {
        int64_t off = (len / 16) * i;
        int64_t n = MIN((int64_t)sizeof(buf), len - off);
        blk_pread(blk, off, n, buf);
    }
}

static void fuzz_status(BlockDriverState *bs)
{
    int64_t len = bdrv_getlength(bs), off = 0;

    for (int i = 0; i < 64 && off < len; i++) {
        int64_t pnum = 0, map;
        BlockDriverState *file;
        int depth;
        if (bdrv_block_status_above(bs, off, len - off, &pnum, &map, &file,
                                    &depth) < 0 || pnum <= 0) {
            break;
        }
        off += pnum;
    }
}

static void fuzz_inspect(BlockBackend *blk)
{
    BlockDriverState *bs = blk_bs(blk);
    BdrvSnapshotInfo *sn = NULL;
    BdrvCheckResult res;
    json_t *info;
    int n;

    fuzz_read_all(blk);
    fuzz_status(bs);
    info = bs->drv->info_specific ? bs->drv->info_specific(bs) : NULL;
    json_decref(info);
    n = bs->drv->snapshot_list ? bs->drv->snapshot_list(bs, &sn) : 0;
    for (int i = 0; i < n; i++) {
        bdrv_snapshot_info_clear(&sn[i]);
    }
    g_free(sn);
    if (bs->drv->check) {
        bs->drv->check(bs, &res, 0);
    }
}

static void fuzz_write(void)
{
    GError *err = NULL;
    BlockBackend *blk = blk_new_open(fuzz_path, "qcow2", NULL,
                                     BDRV_O_RDWR | BDRV_O_NO_BACKING |
                                     BDRV_O_NO_FLUSH, &err);
    static uint8_t buf[70000];
    int64_t len;

    if (!blk) {
        g_error_free(err);
        return;
    }
    len = blk_getlength(blk);
    memset(buf, 0x5a, sizeof(buf));
    for (int i = 0; i < 4 && len > (int64_t)sizeof(buf); i++) {
        int64_t off = (len / 4) * i + i * 777;
        blk_pwrite(blk, MIN(off, len - (int64_t)sizeof(buf)), sizeof(buf),
                   buf, 0);
    }
    if (len >= 65536) {
        blk_pwrite_zeroes(blk, 0, 65536, BDRV_REQ_MAY_UNMAP);
        blk_discard(blk, 0, MIN(len, 4 * 65536));
    }
    blk_flush(blk);
    blk_unref(blk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    GError *err = NULL;
    BlockBackend *blk;
    FILE *f;

    if (!fuzz_path) {
        int fd = g_file_open_tmp("fuzz-qcow2-XXXXXX", &fuzz_path, NULL);
        g_assert(fd >= 0);
        close(fd);
        error_set_progname("fuzz-qcow2");
    }
    f = fopen(fuzz_path, "wb");
    g_assert(f);
    if (size && fwrite(data, 1, size, f) != size) {
        g_error("short write to %s", fuzz_path);
    }
    fclose(f);
    blk = blk_new_open(fuzz_path, "qcow2", NULL, BDRV_O_NO_BACKING, &err);
    if (!blk) {
        g_error_free(err);
        return 0;
    }
    fuzz_inspect(blk);
    blk_unref(blk);
    fuzz_write();
    return 0;
}
