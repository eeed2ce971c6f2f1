/*
 * faultinject: a TEST-ONLY filter over protocol nodes, in the manner of
 * SQLite's I/O-error and crash tests.  Nothing a user types reaches it:
 * it is not in the driver table, and it is linked into one test program
 * only (tests/interop/faultinject-img.c, qlite-img with a fault spec as
 * its first argument), which arms it before opening images.  Once armed,
 * every protocol node the process opens sits under one, through
 * bdrv_protocol_wrap_hook, and the counters are shared by all.
 *
 * Spec (keyval): fail-op=read|write|flush|truncate, fail-at=N (the Nth
 * call of that operation fails, 1-based), errno=EIO|ENOSPC, sticky=on
 * (every call from the Nth on fails); cut-after-bytes=N: a power cut
 * once N bytes were written: the write that crosses N is torn there (at
 * the sector boundary below) and
 * the process ends at once with status FAULTINJECT_CUT_STATUS, so only
 * what reached the file before remains.  reorder=on with a cut: the
 * writes since the last flush, except the torn one, are undone as
 * well, as a disk that reordered them would lose them.
 */
#include "faultinject.h"

#include <unistd.h>

static const BlockDriver bdrv_faultinject;

typedef enum {
    FI_OP_READ,
    FI_OP_WRITE,
    FI_OP_FLUSH,
    FI_OP_TRUNCATE,
    FI_OP_COUNT,
    FI_OP_NONE = FI_OP_COUNT,
} FaultInjectOp;

static const char *const fi_op_names[FI_OP_COUNT] = {
    "read", "write", "flush", "truncate",
};

/* The old content of a range written since the last flush. */
typedef struct FaultInjectUndo {
    BlockDriverState *file;
    int64_t offset;
    int64_t bytes;
    uint8_t *old;
} FaultInjectUndo;

static struct {
    FaultInjectOp fail_op;
    uint64_t fail_at;
    int err;
    bool sticky;
    uint64_t cut_after;     /* 0: no cut */
    bool reorder;

    GMutex lock;
    uint64_t calls[FI_OP_COUNT];
    uint64_t written;
    uint64_t failed;
    GArray *unflushed;      /* of FaultInjectUndo */
} fi;

static bool fi_parse_op(const char *s, FaultInjectOp *op, GError **errp)
{
    for (int i = 0; i < FI_OP_COUNT; i++) {
        if (!strcmp(s, fi_op_names[i])) {
            *op = i;
            return true;
        }
    }
    error_setg(errp, "faultinject: unknown fail-op '%s'", s);
    return false;
}

static bool fi_parse_errno(const char *s, int *err, GError **errp)
{
    if (!strcmp(s, "EIO")) {
        *err = EIO;
    } else if (!strcmp(s, "ENOSPC")) {
        *err = ENOSPC;
    } else {
        error_setg(errp, "faultinject: errno must be EIO or ENOSPC");
        return false;
    }
    return true;
}

static BlockDriverState *fi_wrap(BlockDriverState *file)
{
    return bdrv_new_filter(&bdrv_faultinject, file);
}

bool bdrv_faultinject_arm(const char *spec, GError **errp)
{
    g_autoptr(QliteOpts) o = keyval_parse(spec, NULL, 0, errp);
    const char *op, *err;

    if (!o) {
        return false;
    }
    fi.fail_op = FI_OP_NONE;
    fi.err = EIO;
    op = qopts_get(o, "fail-op");
    err = qopts_get(o, "errno");
    if ((op && !fi_parse_op(op, &fi.fail_op, errp)) ||
        (err && !fi_parse_errno(err, &fi.err, errp)) ||
        !qopts_get_uint(o, "fail-at", 0, &fi.fail_at, errp) ||
        !qopts_get_uint(o, "cut-after-bytes", 0, &fi.cut_after, errp) ||
        !qopts_get_bool(o, "sticky", false, &fi.sticky, errp) ||
        !qopts_get_bool(o, "reorder", false, &fi.reorder, errp) ||
        !qopts_check_all_used(o, errp)) {
        return false;
    }
    fi.unflushed = g_array_new(false, false, sizeof(FaultInjectUndo));
    bdrv_protocol_wrap_hook = fi_wrap;
    return true;
}

void bdrv_faultinject_report(FILE *out)
{
    fprintf(out, "faultinject: reads=%" PRIu64 " writes=%" PRIu64
            " flushes=%" PRIu64 " truncates=%" PRIu64 " bytes=%" PRIu64
            " failed=%" PRIu64 "\n", fi.calls[FI_OP_READ],
            fi.calls[FI_OP_WRITE], fi.calls[FI_OP_FLUSH],
            fi.calls[FI_OP_TRUNCATE], fi.written, fi.failed);
}

/* Count a call of @op; -errno when this one is to fail. */
static int fi_count(FaultInjectOp op)
{
    uint64_t n;
    int ret = 0;

    g_mutex_lock(&fi.lock);
    n = ++fi.calls[op];
    if (op == fi.fail_op &&
        (n == fi.fail_at || (fi.sticky && n > fi.fail_at))) {
        fi.failed++;
        ret = -fi.err;
    }
    g_mutex_unlock(&fi.lock);
    return ret;
}

static void fi_drop_undo(void)
{
    for (guint i = 0; i < fi.unflushed->len; i++) {
        g_free(g_array_index(fi.unflushed, FaultInjectUndo, i).old);
    }
    g_array_set_size(fi.unflushed, 0);
}

/* Keep what @bytes at @offset held, to undo it at a reordering cut. */
static void fi_save_undo(BlockDriverState *file, int64_t offset,
                         int64_t bytes)
{
    FaultInjectUndo u = { file, offset, bytes, g_malloc(bytes) };

    if (bdrv_pread(file, offset, bytes, u.old) < 0) {
        g_free(u.old);
        return;
    }
    g_array_append_val(fi.unflushed, u);
}

/* The power goes: tear this write, undo reordered ones, stop. */
static void G_GNUC_NORETURN fi_cut(BlockDriverState *file, int64_t offset,
                                   int64_t keep, const void *buf)
{
    if (fi.reorder) {
        for (guint i = fi.unflushed->len; i-- > 0;) {
            FaultInjectUndo *u = &g_array_index(fi.unflushed,
                                                FaultInjectUndo, i);
            bdrv_pwrite(u->file, u->offset, u->bytes, u->old, 0);
        }
    }
    if (keep > 0) {
        bdrv_pwrite(file, offset, keep, buf, 0);
    }
    _exit(FAULTINJECT_CUT_STATUS);
}

static int fi_pread(BlockDriverState *bs, int64_t offset, int64_t bytes,
                    void *buf)
{
    int ret = fi_count(FI_OP_READ);

    return ret < 0 ? ret : bdrv_pread(bs->file, offset, bytes, buf);
}

static int fi_pwrite(BlockDriverState *bs, int64_t offset, int64_t bytes,
                     const void *buf, int flags)
{
    int ret = fi_count(FI_OP_WRITE);

    if (ret < 0) {
        return ret;
    }
    g_mutex_lock(&fi.lock);
    if (fi.cut_after && fi.written + bytes >= fi.cut_after) {
        /* Sectors are atomic: the tear falls on a 512-byte boundary. */
        fi_cut(bs->file, offset,
               (fi.cut_after - fi.written) & ~(uint64_t)511, buf);
    }
    fi.written += bytes;
    if (fi.reorder) {
        fi_save_undo(bs->file, offset, bytes);
    }
    ret = bdrv_pwrite(bs->file, offset, bytes, buf, flags);
    g_mutex_unlock(&fi.lock);
    return ret;
}

static int fi_pwrite_zeroes(BlockDriverState *bs, int64_t offset,
                            int64_t bytes, int flags)
{
    /* As a write of zeroes, so a cut can tear it too. */
    g_autofree uint8_t *zero = g_malloc0(bytes);

    return fi_pwrite(bs, offset, bytes, zero, flags);
}

static int fi_flush(BlockDriverState *bs)
{
    int ret = fi_count(FI_OP_FLUSH);

    if (ret == 0) {
        ret = bdrv_flush(bs->file);
    }
    if (ret == 0 && fi.reorder) {
        g_mutex_lock(&fi.lock);
        fi_drop_undo();
        g_mutex_unlock(&fi.lock);
    }
    return ret;
}

static int fi_truncate(BlockDriverState *bs, int64_t size, GError **errp)
{
    int ret = fi_count(FI_OP_TRUNCATE);

    if (ret < 0) {
        error_setg(errp, "Could not resize '%s': %s", bs->filename,
                   g_strerror(-ret));
        return ret;
    }
    return bdrv_truncate(bs->file, size, errp);
}

static int fi_discard(BlockDriverState *bs, int64_t offset, int64_t bytes)
{
    return bdrv_discard(bs->file, offset, bytes);
}

static int64_t fi_getlength(BlockDriverState *bs)
{
    return bdrv_getlength(bs->file);
}

static int fi_block_status(BlockDriverState *bs, int64_t offset,
                           int64_t bytes, int64_t *pnum, int64_t *map,
                           BlockDriverState **file)
{
    return bdrv_block_status(bs->file, offset, bytes, pnum, map, file);
}

static const BlockDriver bdrv_faultinject = {
    .format_name = "faultinject",
    .instance_size = 1,
    .is_protocol = true,
    .pread = fi_pread,
    .pwrite = fi_pwrite,
    .pwrite_zeroes = fi_pwrite_zeroes,
    .flush = fi_flush,
    .discard = fi_discard,
    .truncate = fi_truncate,
    .getlength = fi_getlength,
    .block_status = fi_block_status,
};
