/*
 * virtio-blk (virtio 1.2, 5.2) on the PCI transport: "virtio-blk-pci".
 *
 * Each request is a chain: a 16-byte header the device reads, data, and
 * one status byte the device writes last.  Reads, writes, flushes,
 * discards and write-zeroes go to the block layer asynchronously; the
 * completion runs in the main thread (with the big lock, which the main
 * loop holds outside poll()) and returns the chain on the used ring.  A
 * device reset drops requests in flight: their completions see a newer
 * reset count and free them without touching the rings.
 */
#include "qlite/block.h"
#include "qlite/error.h"
#include "qlite/runstate.h"
#include "qlite/virtio-pci.h"

#define TYPE_VIRTIO_BLK_PCI "virtio-blk-pci"
#define VIRTIO_ID_BLOCK     2

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SEG_MAX        2
#define VIRTIO_BLK_F_RO             5
#define VIRTIO_BLK_F_BLK_SIZE       6
#define VIRTIO_BLK_F_FLUSH          9
#define VIRTIO_BLK_F_TOPOLOGY       10
#define VIRTIO_BLK_F_CONFIG_WCE     11
#define VIRTIO_BLK_F_MQ             12
#define VIRTIO_BLK_F_DISCARD        13
#define VIRTIO_BLK_F_WRITE_ZEROES   14

/* struct virtio_blk_config (5.2.4), the fields we fill. */
#define VBC_CAPACITY            0x00    /* le64, 512-byte sectors */
#define VBC_SEG_MAX             0x0c    /* le32 */
#define VBC_BLK_SIZE            0x14    /* le32 */
#define VBC_PHYS_BLOCK_EXP      0x18    /* u8 */
#define VBC_MIN_IO_SIZE         0x1a    /* le16, in blocks */
#define VBC_OPT_IO_SIZE         0x1c    /* le32, in blocks */
#define VBC_WRITEBACK           0x20    /* u8 */
#define VBC_NUM_QUEUES          0x22    /* le16 */
#define VBC_MAX_DISCARD_SECTORS 0x24    /* le32 */
#define VBC_MAX_DISCARD_SEG     0x28    /* le32 */
#define VBC_DISCARD_ALIGN       0x2c    /* le32 */
#define VBC_MAX_WZ_SECTORS      0x30    /* le32 */
#define VBC_MAX_WZ_SEG          0x34    /* le32 */
#define VBC_WZ_MAY_UNMAP        0x38    /* u8 */
#define VBC_SIZE                0x3c

/* Request types and status values (5.2.6). */
#define VIRTIO_BLK_T_IN             0
#define VIRTIO_BLK_T_OUT            1
#define VIRTIO_BLK_T_FLUSH          4
#define VIRTIO_BLK_T_GET_ID         8
#define VIRTIO_BLK_T_DISCARD        11
#define VIRTIO_BLK_T_WRITE_ZEROES   13
#define VIRTIO_BLK_S_OK             0
#define VIRTIO_BLK_S_IOERR          1
#define VIRTIO_BLK_S_UNSUPP         2

#define VIRTIO_BLK_ID_BYTES         20
#define VIRTIO_BLK_HDR_SIZE         16
#define VIRTIO_BLK_SEG_SIZE         16  /* discard / write zeroes segment */
#define VIRTIO_BLK_SEG_F_UNMAP      1
#define VIRTIO_BLK_SECTOR           512
#define VIRTIO_BLK_MAX_SECTORS      0x3fffffu
#define VIRTIO_BLK_MAX_QUEUES       16

typedef struct VirtIOBlock {
    VirtIOPCIProxy parent;
    /* properties */
    char *drive;
    uint16_t num_queues;
    uint16_t queue_size;
    char *serial;
    int32_t bootindex;
    uint32_t logical_block_size;
    uint32_t physical_block_size;
    bool discard;
    bool write_zeroes;
    bool config_wce;
    /* state */
    BlockBackend *blk;
    bool wce_default;           /* the drive's cache mode at realize */
    GQueue stopped;             /* werror=stop: redone when the VM runs */
} VirtIOBlock;

#define VIRTIO_BLK_PCI(obj) \
    OBJECT_CHECK(VirtIOBlock, (obj), TYPE_VIRTIO_BLK_PCI)

typedef struct VirtIOBlockReq {
    VirtIOBlock *s;
    VirtQueue *vq;
    VirtQueueElement *elem;
    uint32_t reset_count;       /* of the device when the request began */
    uint8_t *status;            /* the chain's last writable byte */
    uint32_t type;              /* from the header, to redo it */
    uint64_t sector;
    uint32_t in_len;            /* bytes written into the chain */
    struct iovec *iov;          /* the data part of the chain */
    unsigned niov;
    uint64_t bytes;
} VirtIOBlockReq;

static VirtIOBlock *blk_of(VirtIODevice *vdev)
{
    return container_of(vdev, VirtIOBlock, parent.vdev);
}

/* ---- config space ---- */

/* The disk's size in bytes; 0 if the backend cannot tell. */
static uint64_t virtio_blk_size(VirtIOBlock *s)
{
    int64_t len = blk_getlength(s->blk);

    return len > 0 ? len : 0;
}

static uint8_t virtio_blk_log2(uint32_t v)
{
    uint8_t n = 0;

    while (v > 1) {
        v >>= 1;
        n++;
    }
    return n;
}

static void virtio_blk_get_config(VirtIODevice *vdev, uint8_t *c)
{
    VirtIOBlock *s = blk_of(vdev);
    uint64_t sectors = virtio_blk_size(s) / VIRTIO_BLK_SECTOR;
    uint32_t lbs = s->logical_block_size;

    memset(c, 0, VBC_SIZE);
    pci_set_long(c + VBC_CAPACITY, sectors);
    pci_set_long(c + VBC_CAPACITY + 4, sectors >> 32);
    pci_set_long(c + VBC_SEG_MAX, s->queue_size - 2);
    pci_set_long(c + VBC_BLK_SIZE, lbs);
    c[VBC_PHYS_BLOCK_EXP] = virtio_blk_log2(s->physical_block_size / lbs);
    c[VBC_WRITEBACK] = blk_enable_write_cache(s->blk);
    pci_set_word(c + VBC_NUM_QUEUES, s->num_queues);
    pci_set_long(c + VBC_MAX_DISCARD_SECTORS, VIRTIO_BLK_MAX_SECTORS);
    pci_set_long(c + VBC_MAX_DISCARD_SEG, 1);
    pci_set_long(c + VBC_DISCARD_ALIGN, lbs / VIRTIO_BLK_SECTOR);
    pci_set_long(c + VBC_MAX_WZ_SECTORS, VIRTIO_BLK_MAX_SECTORS);
    pci_set_long(c + VBC_MAX_WZ_SEG, 1);
    c[VBC_WZ_MAY_UNMAP] = s->discard;
}

/* Only the writeback byte is writable, and only with CONFIG_WCE. */
static void virtio_blk_set_config(VirtIODevice *vdev, const uint8_t *c)
{
    VirtIOBlock *s = blk_of(vdev);

    if (virtio_vdev_has_feature(vdev, VIRTIO_BLK_F_CONFIG_WCE)) {
        blk_set_enable_write_cache(s->blk, c[VBC_WRITEBACK] != 0);
    }
}

/* 5.2.5.1: a driver without FLUSH gets a writethrough cache. */
static void virtio_blk_set_features(VirtIODevice *vdev, uint64_t features)
{
    VirtIOBlock *s = blk_of(vdev);

    blk_set_enable_write_cache(s->blk, s->wce_default &&
                               virtio_has_feature(features,
                                                  VIRTIO_BLK_F_FLUSH));
}

static void virtio_blk_req_free(VirtIOBlockReq *req);

/* Requests held for werror=stop belong to the old driver: drop them. */
static void virtio_blk_drop_stopped(VirtIOBlock *s)
{
    VirtIOBlockReq *req;

    while ((req = g_queue_pop_head(&s->stopped))) {
        virtio_blk_req_free(req);
    }
}

static void virtio_blk_reset(VirtIODevice *vdev)
{
    VirtIOBlock *s = blk_of(vdev);

    virtio_blk_drop_stopped(s);
    if (s->blk) {
        blk_set_enable_write_cache(s->blk, s->wce_default);
    }
}

/* ---- requests ---- */

static void virtio_blk_req_free(VirtIOBlockReq *req)
{
    virtq_element_free(req->elem);
    g_free(req->iov);
    g_free(req);
}

static void virtio_blk_complete(VirtIOBlockReq *req, uint8_t status)
{
    VirtIOBlock *s = req->s;
    VirtIODevice *vdev = &s->parent.vdev;
    VirtQueue *vq = req->vq;

    *req->status = status;
    virtqueue_push(vq, req->elem, req->in_len);
    req->elem = NULL;
    virtio_notify(vdev, vq);
    virtio_blk_req_free(req);
}

static void virtio_blk_handle_vq(VirtIODevice *vdev, VirtQueue *vq);

/*
 * -drive rerror=/werror=: report the error to the guest, pretend it
 * worked, or stop the VM and keep the request to redo it on resume.
 */
static uint8_t virtio_blk_error_status(VirtIOBlockReq *req, int ret,
                                       bool *keep)
{
    BlockBackend *blk = req->s->blk;
    bool is_read = req->type == VIRTIO_BLK_T_IN;
    BlockErrorAction action = blk_get_error_action(blk, is_read, ret);

    *keep = action == BLOCK_ERROR_ACTION_STOP;
    if (*keep) {
        g_queue_push_tail(&req->s->stopped, req);
    }
    blk_error_action(blk, action, is_read, ret);
    return action == BLOCK_ERROR_ACTION_IGNORE ? VIRTIO_BLK_S_OK
                                                : VIRTIO_BLK_S_IOERR;
}

static void virtio_blk_io_done(void *opaque, int ret)
{
    VirtIOBlockReq *req = opaque;
    VirtIOBlock *s = req->s;
    VirtQueue *vq = req->vq;
    uint8_t status = VIRTIO_BLK_S_OK;
    bool keep = false;

    if (req->reset_count != s->parent.vdev.reset_count) {
        virtio_blk_req_free(req);       /* reset since: into nothing */
        return;
    }
    if (ret < 0) {
        status = virtio_blk_error_status(req, ret, &keep);
        if (keep) {
            return;
        }
    }
    virtio_blk_complete(req, status);
    /* A full queue stopped popping: carry on now a slot is free. */
    if (virtqueue_pending(vq)) {
        virtio_blk_handle_vq(&s->parent.vdev, vq);
    }
}

/* Sectors [sector, sector + bytes/512) inside the disk, block aligned. */
static bool virtio_blk_range_ok(VirtIOBlock *s, uint64_t sector,
                                uint64_t bytes)
{
    uint64_t size = virtio_blk_size(s);
    uint32_t lbs = s->logical_block_size;

    if (bytes % lbs || sector % (lbs / VIRTIO_BLK_SECTOR)) {
        return false;
    }
    return sector <= size / VIRTIO_BLK_SECTOR &&
           bytes <= size - sector * VIRTIO_BLK_SECTOR;
}

static void virtio_blk_rw(VirtIOBlockReq *req, bool is_write,
                          uint64_t sector)
{
    VirtIOBlock *s = req->s;
    VirtQueueElement *e = req->elem;
    size_t max = MAX(e->in_num, e->out_num);

    if (is_write && blk_is_read_only(s->blk)) {
        virtio_blk_complete(req, VIRTIO_BLK_S_IOERR);
        return;
    }
    req->bytes = is_write ? e->out_len - VIRTIO_BLK_HDR_SIZE : e->in_len - 1;
    if (!virtio_blk_range_ok(s, sector, req->bytes)) {
        qlite_log_guest_error("virtio-blk: %s of %" PRIu64 " bytes at "
                              "sector %" PRIu64 " refused",
                              is_write ? "write" : "read", req->bytes,
                              sector);
        virtio_blk_complete(req, VIRTIO_BLK_S_IOERR);
        return;
    }
    if (req->bytes == 0) {
        virtio_blk_complete(req, VIRTIO_BLK_S_OK);
        return;
    }
    req->iov = g_new(struct iovec, max);
    if (is_write) {
        req->niov = iov_slice(e->out_sg, e->out_num,
                                     VIRTIO_BLK_HDR_SIZE, req->bytes,
                                     req->iov);
        blk_aio_pwritev(s->blk, sector * VIRTIO_BLK_SECTOR, req->iov,
                        req->niov, 0, virtio_blk_io_done, req);
    } else {
        req->niov = iov_slice(e->in_sg, e->in_num, 0, req->bytes,
                                     req->iov);
        blk_aio_preadv(s->blk, sector * VIRTIO_BLK_SECTOR, req->iov,
                       req->niov, virtio_blk_io_done, req);
    }
}

static void virtio_blk_get_id(VirtIOBlockReq *req)
{
    VirtQueueElement *e = req->elem;
    uint8_t id[VIRTIO_BLK_ID_BYTES] = { 0 };
    const char *serial = req->s->serial ? req->s->serial : "";
    size_t n = MIN((size_t)e->in_len - 1, sizeof(id));

    /* Up to 20 bytes, NUL-padded, no terminator if all used (5.2.6). */
    memcpy(id, serial, MIN(strlen(serial), sizeof(id)));
    iov_from_buf(e->in_sg, e->in_num, 0, id, n);
    virtio_blk_complete(req, VIRTIO_BLK_S_OK);
}

/* Discard and write zeroes: one segment {sector, num_sectors, flags}. */
static void virtio_blk_zeroes(VirtIOBlockReq *req, bool discard)
{
    VirtIOBlock *s = req->s;
    VirtQueueElement *e = req->elem;
    uint8_t seg[VIRTIO_BLK_SEG_SIZE];
    uint64_t sector;
    uint32_t count, flags;

    if (blk_is_read_only(s->blk) ||
        e->out_len - VIRTIO_BLK_HDR_SIZE != VIRTIO_BLK_SEG_SIZE) {
        virtio_blk_complete(req, VIRTIO_BLK_S_IOERR);
        return;
    }
    iov_to_buf(e->out_sg, e->out_num, VIRTIO_BLK_HDR_SIZE, seg, sizeof(seg));
    sector = pci_get_long(seg) | (uint64_t)pci_get_long(seg + 4) << 32;
    count = pci_get_long(seg + 8);
    flags = pci_get_long(seg + 12);
    if (flags & ~(uint32_t)VIRTIO_BLK_SEG_F_UNMAP ||
        (discard && flags)) {
        virtio_blk_complete(req, VIRTIO_BLK_S_UNSUPP);
        return;
    }
    if (count > VIRTIO_BLK_MAX_SECTORS ||
        !virtio_blk_range_ok(s, sector, (uint64_t)count *
                             VIRTIO_BLK_SECTOR)) {
        virtio_blk_complete(req, VIRTIO_BLK_S_IOERR);
        return;
    }
    if (discard) {
        blk_aio_discard(s->blk, sector * VIRTIO_BLK_SECTOR,
                        (uint64_t)count * VIRTIO_BLK_SECTOR,
                        virtio_blk_io_done, req);
    } else {
        blk_aio_pwrite_zeroes(s->blk, sector * VIRTIO_BLK_SECTOR,
                              (uint64_t)count * VIRTIO_BLK_SECTOR,
                              (flags && s->discard) ? BDRV_REQ_MAY_UNMAP : 0,
                              virtio_blk_io_done, req);
    }
}

static void virtio_blk_dispatch(VirtIOBlockReq *req, uint32_t type,
                                uint64_t sector)
{
    VirtIODevice *vdev = &req->s->parent.vdev;

    switch (type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT:
        virtio_blk_rw(req, type == VIRTIO_BLK_T_OUT, sector);
        break;
    case VIRTIO_BLK_T_FLUSH:
        blk_aio_flush(req->s->blk, virtio_blk_io_done, req);
        break;
    case VIRTIO_BLK_T_GET_ID:
        virtio_blk_get_id(req);
        break;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        if (!virtio_vdev_has_feature(vdev, type == VIRTIO_BLK_T_DISCARD
                                     ? VIRTIO_BLK_F_DISCARD
                                     : VIRTIO_BLK_F_WRITE_ZEROES)) {
            virtio_blk_complete(req, VIRTIO_BLK_S_UNSUPP);
            break;
        }
        virtio_blk_zeroes(req, type == VIRTIO_BLK_T_DISCARD);
        break;
    default:
        virtio_blk_complete(req, VIRTIO_BLK_S_UNSUPP);
        break;
    }
}

/* Header and status must be there (5.2.6.1), else the driver is broken. */
static void virtio_blk_handle_request(VirtIOBlock *s, VirtQueue *vq,
                                      VirtQueueElement *e)
{
    VirtIODevice *vdev = &s->parent.vdev;
    VirtIOBlockReq *req;
    uint8_t hdr[VIRTIO_BLK_HDR_SIZE];
    struct iovec *last;

    if (e->out_len < VIRTIO_BLK_HDR_SIZE || e->in_len < 1) {
        virtio_error(vdev, "queue %u: request without header or status",
                     vq->index);
        virtqueue_push(vq, e, 0);       /* broken: only frees it */
        return;
    }
    iov_to_buf(e->out_sg, e->out_num, 0, hdr, sizeof(hdr));
    last = &e->in_sg[e->in_num - 1];
    req = g_new0(VirtIOBlockReq, 1);
    req->s = s;
    req->vq = vq;
    req->elem = e;
    req->reset_count = vdev->reset_count;
    req->status = (uint8_t *)last->iov_base + last->iov_len - 1;
    req->in_len = e->in_len;
    req->type = pci_get_long(hdr);
    req->sector = pci_get_long(hdr + 8) |
                  (uint64_t)pci_get_long(hdr + 12) << 32;
    virtio_blk_dispatch(req, req->type, req->sector);
}

/* The VM runs again after a werror=stop: redo what was held back. */
static void virtio_blk_vm_change(void *opaque, bool running)
{
    VirtIOBlock *s = opaque;
    GQueue redo = G_QUEUE_INIT;
    VirtIOBlockReq *req;

    if (!running) {
        return;
    }
    redo = s->stopped;
    g_queue_init(&s->stopped);
    while ((req = g_queue_pop_head(&redo))) {
        g_clear_pointer(&req->iov, g_free);
        virtio_blk_dispatch(req, req->type, req->sector);
    }
}

static void virtio_blk_handle_vq(VirtIODevice *vdev, VirtQueue *vq)
{
    VirtIOBlock *s = blk_of(vdev);
    VirtQueueElement *e;

    /* pop stops at an empty ring, a broken device or a full queue. */
    while ((e = virtqueue_pop(vq))) {
        virtio_blk_handle_request(s, vq, e);
    }
}

/* ---- lifecycle ---- */

static const VirtIODeviceOps virtio_blk_ops = {
    .get_config = virtio_blk_get_config,
    .set_config = virtio_blk_set_config,
    .set_features = virtio_blk_set_features,
    .reset = virtio_blk_reset,
};

static bool virtio_blk_check_props(VirtIOBlock *s, GError **errp)
{
    uint32_t lbs = s->logical_block_size, pbs = s->physical_block_size;

    if (!s->drive || !*s->drive) {
        error_setg(errp, "drive property not set");
        return false;
    }
    if (s->num_queues < 1 || s->num_queues > VIRTIO_BLK_MAX_QUEUES) {
        error_setg(errp, "num-queues property must be between 1 and %d",
                   VIRTIO_BLK_MAX_QUEUES);
        return false;
    }
    if (s->queue_size <= 2 || s->queue_size > VIRTQUEUE_MAX_SIZE ||
        (s->queue_size & (s->queue_size - 1))) {
        error_setg(errp, "queue-size property must be a power of 2 between "
                   "4 and %d", VIRTQUEUE_MAX_SIZE);
        return false;
    }
    if (lbs < 512 || lbs > 32768 || (lbs & (lbs - 1)) || pbs < lbs ||
        pbs > 32768 || (pbs & (pbs - 1))) {
        error_setg(errp, "logical_block_size and physical_block_size must "
                   "be powers of 2 from 512 to 32768, physical >= logical");
        return false;
    }
    return true;
}

static uint64_t virtio_blk_host_features(VirtIOBlock *s)
{
    uint64_t f = UINT64_C(1) << VIRTIO_F_RING_INDIRECT_DESC |
                 UINT64_C(1) << VIRTIO_F_RING_EVENT_IDX |
                 UINT64_C(1) << VIRTIO_BLK_F_SEG_MAX |
                 UINT64_C(1) << VIRTIO_BLK_F_BLK_SIZE |
                 UINT64_C(1) << VIRTIO_BLK_F_TOPOLOGY |
                 UINT64_C(1) << VIRTIO_BLK_F_FLUSH;

    f |= (uint64_t)blk_is_read_only(s->blk) << VIRTIO_BLK_F_RO;
    f |= (uint64_t)s->config_wce << VIRTIO_BLK_F_CONFIG_WCE;
    f |= (uint64_t)(s->num_queues > 1) << VIRTIO_BLK_F_MQ;
    f |= (uint64_t)s->discard << VIRTIO_BLK_F_DISCARD;
    f |= (uint64_t)s->write_zeroes << VIRTIO_BLK_F_WRITE_ZEROES;
    return f;
}

/* block_resize: the capacity the guest reads changed (5.2.6). */
static void virtio_blk_resize(void *opaque)
{
    VirtIOBlock *s = opaque;

    virtio_notify_config(&s->parent.vdev);
}

static const BlockDevOps virtio_blk_dev_ops = {
    .resize_cb = virtio_blk_resize,
};

static void virtio_blk_realize(VirtIOPCIProxy *proxy, GError **errp)
{
    VirtIOBlock *s = VIRTIO_BLK_PCI(proxy);
    VirtIODevice *vdev = &proxy->vdev;

    if (!virtio_blk_check_props(s, errp)) {
        return;
    }
    s->blk = blk_claim_by_name(s->drive, DEVICE(s), errp);
    if (!s->blk) {
        return;
    }
    if (!blk_is_inserted(s->blk)) {
        error_setg(errp, "Device needs media, but drive is empty");
        blk_detach_dev(s->blk);
        s->blk = NULL;
        return;
    }
    g_queue_init(&s->stopped);
    blk_set_dev_ops(s->blk, &virtio_blk_dev_ops, s);
    blk_set_dev_child(s->blk, "virtio-backend");     /* as QEMU names it */
    runstate_add_change_notifier(virtio_blk_vm_change, s);
    s->wce_default = blk_enable_write_cache(s->blk);
    virtio_init(vdev, "virtio-blk", VIRTIO_ID_BLOCK, VBC_SIZE,
                &virtio_blk_ops, s);
    vdev->host_features = virtio_blk_host_features(s);
    for (unsigned i = 0; i < s->num_queues; i++) {
        virtio_add_queue(vdev, s->queue_size, virtio_blk_handle_vq);
    }
}

static void virtio_blk_unrealize(VirtIOPCIProxy *proxy)
{
    VirtIOBlock *s = VIRTIO_BLK_PCI(proxy);

    /* Completions still to come must find nothing to touch. */
    proxy->vdev.reset_count++;
    virtio_blk_drop_stopped(s);
    if (s->blk) {
        runstate_remove_change_notifier(virtio_blk_vm_change, s);
        blk_drain(s->blk);
        blk_detach_dev(s->blk);
        s->blk = NULL;
    }
    virtio_cleanup(&proxy->vdev);
}

static const Property virtio_blk_props[] = {
    DEFINE_PROP_LINK("drive", VirtIOBlock, drive),
    DEFINE_PROP_UINT16("num-queues", VirtIOBlock, num_queues, 1),
    DEFINE_PROP_UINT16("queue-size", VirtIOBlock, queue_size, 256),
    DEFINE_PROP_STRING("serial", VirtIOBlock, serial),
    DEFINE_PROP_INT32("bootindex", VirtIOBlock, bootindex, -1),
    DEFINE_PROP_UINT32("logical_block_size", VirtIOBlock,
                       logical_block_size, 512),
    DEFINE_PROP_UINT32("physical_block_size", VirtIOBlock,
                       physical_block_size, 512),
    DEFINE_PROP_BOOL("discard", VirtIOBlock, discard, true),
    DEFINE_PROP_BOOL("write-zeroes", VirtIOBlock, write_zeroes, true),
    DEFINE_PROP_BOOL("config-wce", VirtIOBlock, config_wce, true),
    DEFINE_PROP_END_OF_LIST(),
};

static void virtio_blk_class_init(ObjectClass *oc, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(oc);
    VirtIOPCIClass *vc = VIRTIO_PCI_CLASS(oc);

    dc->desc = "Virtio block device";
    dc->category = DEVICE_CATEGORY_STORAGE;
    dc->user_creatable = true;
    dc->props = virtio_blk_props;
    k->class_id = 0x0100;       /* mass storage, SCSI: as QEMU's */
    vc->realize = virtio_blk_realize;
    vc->unrealize = virtio_blk_unrealize;
    vc->virtio_id = VIRTIO_ID_BLOCK;
}

static const TypeInfo virtio_blk_pci_info = {
    .name = TYPE_VIRTIO_BLK_PCI,
    .parent = TYPE_VIRTIO_PCI,
    .instance_size = sizeof(VirtIOBlock),
    .class_size = sizeof(VirtIOPCIClass),
    .class_init = virtio_blk_class_init,
};

type_init(virtio_blk_register_types)
{
    type_register(&virtio_blk_pci_info);
}
