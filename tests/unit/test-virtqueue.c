/*
 * The descriptor chain walk (hw/virtio/virtqueue.c) on a fake guest RAM
 * buffer: good chains, indirect tables, and every error it reports.
 */
#include "qlite/virtio.h"

#define RAM_SIZE    0x10000
#define DESC_ADDR   0x1000
#define QSIZE       8
/* Addresses from here "map" without backing: the walker never reads them. */
#define HUGE_BASE   UINT64_C(0x1000000000)

static uint8_t ram[RAM_SIZE];
static uint8_t huge_dummy;

static void *fake_map(void *opaque, uint64_t addr, uint64_t len,
                      bool is_write)
{
    if (len && addr + (len - 1) < addr) {
        return NULL;            /* wraps past 2^64, as dma_map() says */
    }
    if (addr >= HUGE_BASE) {
        return &huge_dummy;
    }
    if (len == 0 || addr >= RAM_SIZE || len > RAM_SIZE - addr) {
        return NULL;
    }
    return ram + addr;
}

static const VirtqMem mem = { .map = fake_map };

static void put_desc(uint64_t table, unsigned i, uint64_t addr, uint32_t len,
                     uint16_t flags, uint16_t next)
{
    uint8_t *p = ram + table + i * VIRTQ_DESC_SIZE;
    uint64_t a = GUINT64_TO_LE(addr);
    uint32_t l = GUINT32_TO_LE(len);
    uint16_t f = GUINT16_TO_LE(flags), n = GUINT16_TO_LE(next);

    memcpy(p, &a, 8);
    memcpy(p + 8, &l, 4);
    memcpy(p + 12, &f, 2);
    memcpy(p + 14, &n, 2);
}

static VirtqError walk(uint16_t head, bool indirect, VirtQueueElement **out)
{
    VirtQueueElement *e = virtq_element_new(QSIZE);
    VirtqError err = virtq_walk_chain(&mem, DESC_ADDR, QSIZE, head, indirect,
                                      e);

    if (out) {
        *out = e;
    } else {
        virtq_element_free(e);
    }
    return err;
}

static void setup(void)
{
    memset(ram, 0, sizeof(ram));
}

static void test_good_chain(void)
{
    VirtQueueElement *e;

    setup();
    put_desc(DESC_ADDR, 2, 0x4000, 16, VIRTQ_DESC_F_NEXT, 5);
    put_desc(DESC_ADDR, 5, 0x5000, 512, VIRTQ_DESC_F_NEXT, 0);
    put_desc(DESC_ADDR, 0, 0x6000, 513, VIRTQ_DESC_F_WRITE |
             VIRTQ_DESC_F_NEXT, 1);
    put_desc(DESC_ADDR, 1, 0x7000, 1, VIRTQ_DESC_F_WRITE, 0);
    g_assert_cmpint(walk(2, false, &e), ==, VIRTQ_OK);
    g_assert_cmpuint(e->head, ==, 2);
    g_assert_cmpuint(e->out_num, ==, 2);
    g_assert_cmpuint(e->in_num, ==, 2);
    g_assert_cmpuint(e->out_len, ==, 528);
    g_assert_cmpuint(e->in_len, ==, 514);
    g_assert(e->out_sg[0].iov_base == ram + 0x4000);
    g_assert(e->in_sg[1].iov_base == ram + 0x7000);
    virtq_element_free(e);
}

static void test_zero_length_skipped(void)
{
    VirtQueueElement *e;

    setup();
    put_desc(DESC_ADDR, 0, 0x4000, 0, VIRTQ_DESC_F_NEXT, 1);
    put_desc(DESC_ADDR, 1, 0x5000, 4, 0, 0);
    g_assert_cmpint(walk(0, false, &e), ==, VIRTQ_OK);
    g_assert_cmpuint(e->out_num, ==, 1);
    g_assert_cmpuint(e->out_len, ==, 4);
    virtq_element_free(e);
}

static void test_indirect(void)
{
    VirtQueueElement *e;

    setup();
    put_desc(DESC_ADDR, 3, 0x2000, 3 * VIRTQ_DESC_SIZE,
             VIRTQ_DESC_F_INDIRECT, 0);
    put_desc(0x2000, 0, 0x4000, 16, VIRTQ_DESC_F_NEXT, 2);
    put_desc(0x2000, 2, 0x5000, 4096, VIRTQ_DESC_F_WRITE |
             VIRTQ_DESC_F_NEXT, 1);
    put_desc(0x2000, 1, 0x8000, 1, VIRTQ_DESC_F_WRITE, 0);
    g_assert_cmpint(walk(3, true, &e), ==, VIRTQ_OK);
    g_assert_cmpuint(e->head, ==, 3);
    g_assert_cmpuint(e->out_num, ==, 1);
    g_assert_cmpuint(e->in_num, ==, 2);
    g_assert_cmpuint(e->in_len, ==, 4097);
    virtq_element_free(e);
    /* Without the feature the same chain is an error. */
    g_assert_cmpint(walk(3, false, NULL), ==, VIRTQ_ERR_INDIRECT_OFF);
}

static void test_direct_then_indirect(void)
{
    VirtQueueElement *e;

    setup();
    put_desc(DESC_ADDR, 0, 0x4000, 16, VIRTQ_DESC_F_NEXT, 1);
    put_desc(DESC_ADDR, 1, 0x2000, 1 * VIRTQ_DESC_SIZE,
             VIRTQ_DESC_F_INDIRECT, 0);
    put_desc(0x2000, 0, 0x8000, 1, VIRTQ_DESC_F_WRITE, 0);
    g_assert_cmpint(walk(0, true, &e), ==, VIRTQ_OK);
    g_assert_cmpuint(e->out_num + e->in_num, ==, 2);
    virtq_element_free(e);
}

static void test_head_range(void)
{
    setup();
    g_assert_cmpint(walk(QSIZE, false, NULL), ==, VIRTQ_ERR_HEAD_RANGE);
}

static void test_next_range(void)
{
    setup();
    put_desc(DESC_ADDR, 0, 0x4000, 16, VIRTQ_DESC_F_NEXT, QSIZE);
    g_assert_cmpint(walk(0, false, NULL), ==, VIRTQ_ERR_NEXT_RANGE);
    /* In an indirect table the bound is the table's own size. */
    put_desc(DESC_ADDR, 0, 0x2000, 2 * VIRTQ_DESC_SIZE,
             VIRTQ_DESC_F_INDIRECT, 0);
    put_desc(0x2000, 0, 0x4000, 16, VIRTQ_DESC_F_NEXT, 2);
    g_assert_cmpint(walk(0, true, NULL), ==, VIRTQ_ERR_NEXT_RANGE);
}

static void test_loop(void)
{
    VirtQueueElement *e;

    setup();
    put_desc(DESC_ADDR, 0, 0x4000, 16, VIRTQ_DESC_F_NEXT, 1);
    put_desc(DESC_ADDR, 1, 0x4000, 16, VIRTQ_DESC_F_NEXT, 0);
    g_assert_cmpint(walk(0, false, &e), ==, VIRTQ_ERR_LOOP);
    g_assert_cmpuint(e->out_num + e->in_num, ==, 0);
    virtq_element_free(e);
    /* A descriptor pointing at itself. */
    put_desc(DESC_ADDR, 3, 0x4000, 16, VIRTQ_DESC_F_NEXT, 3);
    g_assert_cmpint(walk(3, false, NULL), ==, VIRTQ_ERR_LOOP);
    /* A loop inside an indirect table. */
    put_desc(DESC_ADDR, 0, 0x2000, 2 * VIRTQ_DESC_SIZE,
             VIRTQ_DESC_F_INDIRECT, 0);
    put_desc(0x2000, 0, 0x4000, 16, VIRTQ_DESC_F_NEXT, 1);
    put_desc(0x2000, 1, 0x4000, 16, VIRTQ_DESC_F_NEXT, 0);
    g_assert_cmpint(walk(0, true, NULL), ==, VIRTQ_ERR_LOOP);
}

static void test_too_long(void)
{
    setup();
    /* Two direct buffers, then an indirect table of QSIZE: QSIZE + 2. */
    put_desc(DESC_ADDR, 0, 0x4000, 16, VIRTQ_DESC_F_NEXT, 1);
    put_desc(DESC_ADDR, 1, 0x4000, 16, VIRTQ_DESC_F_NEXT, 2);
    put_desc(DESC_ADDR, 2, 0x2000, QSIZE * VIRTQ_DESC_SIZE,
             VIRTQ_DESC_F_INDIRECT, 0);
    for (unsigned i = 0; i < QSIZE; i++) {
        put_desc(0x2000, i, 0x5000, 8, VIRTQ_DESC_F_NEXT, i + 1);
    }
    put_desc(0x2000, QSIZE - 1, 0x5000, 8, 0, 0);
    g_assert_cmpint(walk(0, true, NULL), ==, VIRTQ_ERR_TOO_LONG);
}

static void test_indirect_errors(void)
{
    setup();
    put_desc(DESC_ADDR, 0, 0x2000, 2 * VIRTQ_DESC_SIZE,
             VIRTQ_DESC_F_INDIRECT, 0);
    put_desc(0x2000, 0, 0x3000, VIRTQ_DESC_SIZE, VIRTQ_DESC_F_INDIRECT, 0);
    g_assert_cmpint(walk(0, true, NULL), ==, VIRTQ_ERR_NESTED_INDIRECT);

    put_desc(DESC_ADDR, 0, 0x2000, 0, VIRTQ_DESC_F_INDIRECT, 0);
    g_assert_cmpint(walk(0, true, NULL), ==, VIRTQ_ERR_INDIRECT_LEN);
    put_desc(DESC_ADDR, 0, 0x2000, 17, VIRTQ_DESC_F_INDIRECT, 0);
    g_assert_cmpint(walk(0, true, NULL), ==, VIRTQ_ERR_INDIRECT_LEN);
    put_desc(DESC_ADDR, 0, 0x2000, (QSIZE + 1) * VIRTQ_DESC_SIZE,
             VIRTQ_DESC_F_INDIRECT, 0);
    g_assert_cmpint(walk(0, true, NULL), ==, VIRTQ_ERR_INDIRECT_LEN);

    put_desc(DESC_ADDR, 0, 0x2000, VIRTQ_DESC_SIZE,
             VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
    g_assert_cmpint(walk(0, true, NULL), ==, VIRTQ_ERR_INDIRECT_NEXT);

    /* An indirect table outside RAM. */
    put_desc(DESC_ADDR, 0, RAM_SIZE, VIRTQ_DESC_SIZE,
             VIRTQ_DESC_F_INDIRECT, 0);
    g_assert_cmpint(walk(0, true, NULL), ==, VIRTQ_ERR_TABLE_ADDR);
}

static void test_table_addr(void)
{
    VirtQueueElement *e = virtq_element_new(QSIZE);

    setup();
    g_assert_cmpint(virtq_walk_chain(&mem, RAM_SIZE - 8, QSIZE, 0, false, e),
                    ==, VIRTQ_ERR_TABLE_ADDR);
    /* A table address that wraps around 2^64. */
    g_assert_cmpint(virtq_walk_chain(&mem, UINT64_MAX - 15, QSIZE, 1, false,
                                     e), ==, VIRTQ_ERR_TABLE_ADDR);
    virtq_element_free(e);
}

static void test_buf_addr(void)
{
    setup();
    put_desc(DESC_ADDR, 0, RAM_SIZE - 8, 16, 0, 0);
    g_assert_cmpint(walk(0, false, NULL), ==, VIRTQ_ERR_BUF_ADDR);
    put_desc(DESC_ADDR, 0, UINT64_MAX - 4, 16, VIRTQ_DESC_F_WRITE, 0);
    g_assert_cmpint(walk(0, false, NULL), ==, VIRTQ_ERR_BUF_ADDR);
}

static void test_order(void)
{
    setup();
    put_desc(DESC_ADDR, 0, 0x4000, 1, VIRTQ_DESC_F_WRITE |
             VIRTQ_DESC_F_NEXT, 1);
    put_desc(DESC_ADDR, 1, 0x5000, 16, 0, 0);
    g_assert_cmpint(walk(0, false, NULL), ==, VIRTQ_ERR_ORDER);
}

static void test_len_overflow(void)
{
    setup();
    put_desc(DESC_ADDR, 0, HUGE_BASE, 0x80000000u, VIRTQ_DESC_F_NEXT, 1);
    put_desc(DESC_ADDR, 1, HUGE_BASE, 0x80000000u, 0, 0);
    g_assert_cmpint(walk(0, false, NULL), ==, VIRTQ_ERR_LEN_OVERFLOW);
    /* The writable side counts separately and overflows the same way. */
    put_desc(DESC_ADDR, 0, HUGE_BASE, 0xffffffffu, VIRTQ_DESC_F_WRITE |
             VIRTQ_DESC_F_NEXT, 1);
    put_desc(DESC_ADDR, 1, HUGE_BASE, 1, VIRTQ_DESC_F_WRITE, 0);
    g_assert_cmpint(walk(0, false, NULL), ==, VIRTQ_ERR_LEN_OVERFLOW);
}

static void test_error_strings(void)
{
    for (int i = 0; i < VIRTQ_ERR_MAX; i++) {
        g_assert_nonnull(virtq_error_str(i));
    }
    g_assert_cmpstr(virtq_error_str(VIRTQ_ERR_MAX), ==, "unknown error");
}

static void test_iov_helpers(void)
{
    uint8_t a[3] = { 1, 2, 3 }, b[2] = { 4, 5 }, out[5];
    struct iovec iov[2] = { { a, 3 }, { b, 2 } };
    uint8_t in[2] = { 9, 8 };

    g_assert_cmpuint(iov_to_buf(iov, 2, 2, out, 5), ==, 3);
    g_assert_cmpuint(out[0], ==, 3);
    g_assert_cmpuint(out[2], ==, 5);
    g_assert_cmpuint(iov_from_buf(iov, 2, 4, in, 2), ==, 1);
    g_assert_cmpuint(b[1], ==, 9);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/virtqueue/good-chain", test_good_chain);
    g_test_add_func("/virtqueue/zero-length", test_zero_length_skipped);
    g_test_add_func("/virtqueue/indirect", test_indirect);
    g_test_add_func("/virtqueue/direct-then-indirect",
                    test_direct_then_indirect);
    g_test_add_func("/virtqueue/err/head-range", test_head_range);
    g_test_add_func("/virtqueue/err/next-range", test_next_range);
    g_test_add_func("/virtqueue/err/loop", test_loop);
    g_test_add_func("/virtqueue/err/too-long", test_too_long);
    g_test_add_func("/virtqueue/err/indirect", test_indirect_errors);
    g_test_add_func("/virtqueue/err/table-addr", test_table_addr);
    g_test_add_func("/virtqueue/err/buf-addr", test_buf_addr);
    g_test_add_func("/virtqueue/err/order", test_order);
    g_test_add_func("/virtqueue/err/len-overflow", test_len_overflow);
    g_test_add_func("/virtqueue/error-strings", test_error_strings);
    g_test_add_func("/virtqueue/iov", test_iov_helpers);
    return g_test_run();
}
