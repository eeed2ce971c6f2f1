/*
 * A writer for the crash test: random writes, zero writes, discards and
 * flushes to an image through the BlockBackend, until it is killed.
 *
 * Every 4 KiB page it writes names itself (block, sequence number, page)
 * so a checker can tell which write it came from.  Each operation is
 * logged twice with write(2), which survives SIGKILL: "i OP BLOCK SEQ"
 * before it starts and "d OP BLOCK SEQ" when it has completed; "F" marks
 * a completed flush.  "ready" on stdout says that the image and the log
 * are open, before the first operation.
 *
 *   qlite-crash-writer IMAGE LOGFILE SEED [BLOCK_SIZE] [MAX_OPS]
 */
#include "qlite/block.h"
#include "qlite/error.h"

#include <fcntl.h>
#include <unistd.h>

#define CW_MAGIC 0x51434c57u    /* "QCLW" */
#define CW_PAGE 4096

typedef struct CrashWriter {
    BlockBackend *blk;
    int log_fd;
    uint64_t block_size;
    uint64_t nblocks;
    GRand *rand;
    uint8_t *buf;
} CrashWriter;

/* Page layout: magic(4) block(4) seq(8) page(4) pad(4), then words. */
static void cw_fill(CrashWriter *cw, uint32_t block, uint64_t seq)
{
    for (uint64_t p = 0; p < cw->block_size / CW_PAGE; p++) {
        uint8_t *page = cw->buf + p * CW_PAGE;
        uint32_t hdr32[2] = { GUINT32_TO_BE(CW_MAGIC), GUINT32_TO_BE(block) };
        uint64_t be_seq = GUINT64_TO_BE(seq);
        uint32_t be_page = GUINT32_TO_BE((uint32_t)p);

        memset(page, 0, 24);
        memcpy(page, hdr32, 8);
        memcpy(page + 8, &be_seq, 8);
        memcpy(page + 16, &be_page, 4);
        for (int i = 24; i < CW_PAGE; i++) {
            page[i] = (uint8_t)(seq * 131 + block * 7 + p * 3 + i);
        }
    }
}

static void cw_log(CrashWriter *cw, char phase, char op, uint64_t block,
                   uint64_t seq)
{
    char line[64];
    int n = snprintf(line, sizeof(line), "%c %c %" PRIu64 " %" PRIu64 "\n",
                     phase, op, block, seq);

    if (write(cw->log_fd, line, n) != n) {
        error_report("crash-writer: log write failed");
        exit(1);
    }
}

static int cw_step(CrashWriter *cw, uint64_t seq)
{
    uint32_t r = g_rand_int_range(cw->rand, 0, 100);
    uint64_t b = g_rand_int_range(cw->rand, 0, cw->nblocks);
    int64_t off = b * cw->block_size;
    char op = r < 78 ? 'W' : r < 88 ? 'Z' : r < 93 ? 'D' : 'F';
    int ret;

    if (op == 'F') {
        ret = blk_flush(cw->blk);
        if (ret == 0 && write(cw->log_fd, "F\n", 2) != 2) {
            return -EIO;
        }
        return ret;
    }
    cw_log(cw, 'i', op, b, seq);
    if (op == 'W') {
        cw_fill(cw, b, seq);
        ret = blk_pwrite(cw->blk, off, cw->block_size, cw->buf, 0);
    } else if (op == 'Z') {
        ret = blk_pwrite_zeroes(cw->blk, off, cw->block_size,
                                BDRV_REQ_MAY_UNMAP);
    } else {
        ret = blk_discard(cw->blk, off, cw->block_size);
    }
    if (ret == 0) {
        cw_log(cw, 'd', op, b, seq);
    }
    return ret;
}

int main(int argc, char **argv)
{
    CrashWriter cw = { 0 };
    GError *err = NULL;
    uint64_t max_ops = UINT64_MAX;
    int ret = 0;

    error_set_progname("qlite-crash-writer");
    if (argc < 4) {
        error_report("usage: %s IMAGE LOGFILE SEED [BLOCK_SIZE] [MAX_OPS]",
                     argv[0]);
        return 2;
    }
    cw.block_size = argc > 4 ? g_ascii_strtoull(argv[4], NULL, 10) : 65536;
    max_ops = argc > 5 ? g_ascii_strtoull(argv[5], NULL, 10) : UINT64_MAX;
    if (cw.block_size < CW_PAGE || cw.block_size % CW_PAGE) {
        error_report("block size must be a multiple of 4096");
        return 2;
    }
    cw.blk = blk_new_open(argv[1], NULL, NULL, BDRV_O_RDWR, &err);
    if (!cw.blk) {
        error_report_err(err);
        return 1;
    }
    cw.log_fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (cw.log_fd < 0) {
        error_report("cannot open log '%s'", argv[2]);
        return 1;
    }
    cw.nblocks = blk_getlength(cw.blk) / cw.block_size;
    cw.rand = g_rand_new_with_seed(g_ascii_strtoull(argv[3], NULL, 10));
    cw.buf = g_aligned_alloc(cw.block_size, 1, 4096);
    /* Sequence numbers of different runs never collide. */
    uint64_t base = g_ascii_strtoull(argv[3], NULL, 10) << 32;
    /* Image and log are open: the crash test may kill us from here on. */
    fputs("ready\n", stdout);
    fflush(stdout);
    for (uint64_t i = 1; i <= max_ops && ret == 0; i++) {
        ret = cw_step(&cw, base + i);
    }
    if (ret < 0) {
        error_report("operation failed: %s", g_strerror(-ret));
    }
    blk_unref(cw.blk);
    g_rand_free(cw.rand);
    g_aligned_free(cw.buf);
    return ret < 0 ? 1 : 0;
}
