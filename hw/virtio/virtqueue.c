/*
 * The split virtqueue's descriptor chain walk (virtio 1.2, 2.7.5 and
 * 2.7.5.3): pure, bounded, and checked at every step.  It turns one
 * chain into iovecs over guest RAM or into an error value; it never
 * follows a guest pointer it has not mapped.
 */
#include "qlite/virtio.h"

static const char *const virtq_error_names[VIRTQ_ERR_MAX] = {
    [VIRTQ_OK] = "no error",
    [VIRTQ_ERR_HEAD_RANGE] = "head index beyond the queue size",
    [VIRTQ_ERR_NEXT_RANGE] = "next index beyond the descriptor table",
    [VIRTQ_ERR_LOOP] = "descriptor chain loops",
    [VIRTQ_ERR_TOO_LONG] = "descriptor chain longer than the queue size",
    [VIRTQ_ERR_NESTED_INDIRECT] = "indirect descriptor in an indirect table",
    [VIRTQ_ERR_INDIRECT_LEN] = "bad indirect table length",
    [VIRTQ_ERR_INDIRECT_NEXT] = "indirect descriptor with NEXT set",
    [VIRTQ_ERR_INDIRECT_OFF] = "indirect descriptor not negotiated",
    [VIRTQ_ERR_TABLE_ADDR] = "descriptor table outside guest RAM",
    [VIRTQ_ERR_BUF_ADDR] = "buffer outside guest RAM",
    [VIRTQ_ERR_ORDER] = "device-readable descriptor after a writable one",
    [VIRTQ_ERR_LEN_OVERFLOW] = "chain length overflows 32 bits",
    [VIRTQ_ERR_AVAIL_IDX] = "avail index moved past the queue size",
    [VIRTQ_ERR_RING_ADDR] = "ring outside guest RAM",
};

const char *virtq_error_str(VirtqError err)
{
    return err < VIRTQ_ERR_MAX ? virtq_error_names[err] : "unknown error";
}

VirtQueueElement *virtq_element_new(unsigned max)
{
    VirtQueueElement *elem = g_new0(VirtQueueElement, 1);

    /* Filled up to out_num/in_num only: no need to clear them. */
    elem->out_sg = g_new(struct iovec, max);
    elem->in_sg = g_new(struct iovec, max);
    return elem;
}

void virtq_element_free(VirtQueueElement *elem)
{
    if (elem) {
        g_free(elem->out_sg);
        g_free(elem->in_sg);
        g_free(elem);
    }
}

/* One descriptor as the guest laid it out (2.7.5), little-endian. */
typedef struct VirtqDesc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
} VirtqDesc;

static bool virtq_read_desc(const VirtqMem *mem, uint64_t table,
                            uint16_t idx, VirtqDesc *d)
{
    uint64_t at = table + (uint64_t)idx * VIRTQ_DESC_SIZE;
    const uint8_t *p;

    if (at < table) {
        return false;
    }
    p = mem->map(mem->opaque, at, VIRTQ_DESC_SIZE, false);
    if (!p) {
        return false;
    }
    memcpy(&d->addr, p, 8);
    memcpy(&d->len, p + 8, 4);
    memcpy(&d->flags, p + 12, 2);
    memcpy(&d->next, p + 14, 2);
    d->addr = GUINT64_FROM_LE(d->addr);
    d->len = GUINT32_FROM_LE(d->len);
    d->flags = GUINT16_FROM_LE(d->flags);
    d->next = GUINT16_FROM_LE(d->next);
    return true;
}

/* The walk's position: which table, how big, what was seen. */
typedef struct VirtqWalk {
    uint64_t table;
    uint16_t size;
    bool in_indirect;
    unsigned count;             /* buffer descriptors so far */
    uint8_t seen[VIRTQUEUE_MAX_SIZE / 8];
} VirtqWalk;

static bool virtq_seen(VirtqWalk *w, uint16_t idx)
{
    uint8_t bit = 1u << (idx % 8);
    bool was = w->seen[idx / 8] & bit;

    w->seen[idx / 8] |= bit;
    return was;
}

static VirtqError virtq_enter_indirect(VirtqWalk *w, const VirtqDesc *d,
                                       uint16_t qsize, bool allowed)
{
    if (!allowed) {
        return VIRTQ_ERR_INDIRECT_OFF;
    }
    if (w->in_indirect) {
        return VIRTQ_ERR_NESTED_INDIRECT;
    }
    if (d->flags & VIRTQ_DESC_F_NEXT) {
        return VIRTQ_ERR_INDIRECT_NEXT;
    }
    if (d->len == 0 || d->len % VIRTQ_DESC_SIZE ||
        d->len / VIRTQ_DESC_SIZE > qsize) {
        return VIRTQ_ERR_INDIRECT_LEN;
    }
    w->table = d->addr;
    w->size = d->len / VIRTQ_DESC_SIZE;
    w->in_indirect = true;
    memset(w->seen, 0, sizeof(w->seen));
    return VIRTQ_OK;
}

static VirtqError virtq_add_buffer(const VirtqMem *mem, const VirtqDesc *d,
                                   VirtQueueElement *elem)
{
    bool writable = d->flags & VIRTQ_DESC_F_WRITE;
    uint32_t *total = writable ? &elem->in_len : &elem->out_len;
    struct iovec *iov;
    void *p;

    if (!writable && elem->in_num) {
        return VIRTQ_ERR_ORDER;
    }
    if (d->len > UINT32_MAX - *total) {
        return VIRTQ_ERR_LEN_OVERFLOW;
    }
    if (d->len == 0) {
        return VIRTQ_OK;        /* nothing to map or move */
    }
    p = mem->map(mem->opaque, d->addr, d->len, writable);
    if (!p) {
        return VIRTQ_ERR_BUF_ADDR;
    }
    iov = writable ? &elem->in_sg[elem->in_num++]
                   : &elem->out_sg[elem->out_num++];
    iov->iov_base = p;
    iov->iov_len = d->len;
    *total += d->len;
    return VIRTQ_OK;
}

static VirtqError virtq_walk(const VirtqMem *mem, VirtqWalk *w,
                             uint16_t qsize, uint16_t idx, bool indirect,
                             VirtQueueElement *elem)
{
    VirtqDesc d;
    VirtqError err;

    /* Each step marks a new index or fails: at most 2 * qsize steps. */
    for (;;) {
        if (virtq_seen(w, idx)) {
            return VIRTQ_ERR_LOOP;
        }
        if (!virtq_read_desc(mem, w->table, idx, &d)) {
            return VIRTQ_ERR_TABLE_ADDR;
        }
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            err = virtq_enter_indirect(w, &d, qsize, indirect);
            if (err) {
                return err;
            }
            idx = 0;
            continue;
        }
        if (++w->count > qsize) {
            return VIRTQ_ERR_TOO_LONG;
        }
        err = virtq_add_buffer(mem, &d, elem);
        if (err || !(d.flags & VIRTQ_DESC_F_NEXT)) {
            return err;
        }
        idx = d.next;
        if (idx >= w->size) {
            return VIRTQ_ERR_NEXT_RANGE;
        }
    }
}

VirtqError virtq_walk_chain(const VirtqMem *mem, uint64_t desc_addr,
                            uint16_t qsize, uint16_t head, bool indirect,
                            VirtQueueElement *elem)
{
    VirtqWalk w = { .table = desc_addr, .size = qsize };
    VirtqError err;

    elem->head = head;
    elem->out_num = elem->in_num = 0;
    elem->out_len = elem->in_len = 0;
    if (qsize == 0 || qsize > VIRTQUEUE_MAX_SIZE || head >= qsize) {
        return VIRTQ_ERR_HEAD_RANGE;
    }
    err = virtq_walk(mem, &w, qsize, head, indirect, elem);
    if (err) {
        elem->out_num = elem->in_num = 0;
        elem->out_len = elem->in_len = 0;
    }
    return err;
}
