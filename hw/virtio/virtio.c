/*
 * The virtio core (virtio 1.2): device status and reset (2.1, 2.4),
 * feature negotiation (2.2, 3.1.1), the device configuration space and
 * its generation counter (2.5), and the split virtqueue's rings (2.7):
 * taking chains from the avail ring, returning them on the used ring,
 * and notification suppression both ways (2.7.7, 2.7.10).
 *
 * Ring memory is reached only through dma_map() of guest RAM, never
 * through MMIO: a ring pointed at a device's BAR cannot re-enter it.
 */
#include "qlite/error.h"
#include "qlite/virtio.h"

#define VIRTIO_MAX_QUEUES 64

static void *virtio_dma_map(void *opaque, uint64_t addr, uint64_t len,
                            bool is_write)
{
    return dma_map(opaque, addr, len, is_write);
}

static VirtqMem virtio_mem(VirtIODevice *vdev)
{
    return (VirtqMem){ .map = virtio_dma_map, .opaque = vdev->as };
}

void virtio_init(VirtIODevice *vdev, const char *name, uint16_t device_id,
                 uint32_t config_len, const VirtIODeviceOps *ops,
                 void *opaque)
{
    vdev->name = name;
    vdev->device_id = device_id;
    vdev->config_len = config_len;
    vdev->config = g_malloc0(config_len);
    vdev->vq = g_new0(VirtQueue, VIRTIO_MAX_QUEUES);
    vdev->nvqs = 0;
    vdev->as = &address_space_memory;
    vdev->ops = ops;
    vdev->opaque = opaque;
    vdev->config_vector = VIRTIO_NO_VECTOR;
}

void virtio_cleanup(VirtIODevice *vdev)
{
    g_clear_pointer(&vdev->config, g_free);
    g_clear_pointer(&vdev->vq, g_free);
    vdev->nvqs = 0;
}

VirtQueue *virtio_add_queue(VirtIODevice *vdev, uint16_t num_max,
                            VirtQueueHandler handler)
{
    VirtQueue *vq;

    g_assert(vdev->nvqs < VIRTIO_MAX_QUEUES);
    g_assert(num_max && num_max <= VIRTQUEUE_MAX_SIZE &&
             !(num_max & (num_max - 1)));
    vq = &vdev->vq[vdev->nvqs];
    vq->vdev = vdev;
    vq->index = vdev->nvqs++;
    vq->num_max = num_max;
    vq->num = num_max;
    vq->vector = VIRTIO_NO_VECTOR;
    vq->handler = handler;
    return vq;
}

bool virtio_vdev_has_feature(VirtIODevice *vdev, unsigned bit)
{
    return virtio_has_feature(vdev->guest_features, bit);
}

static void virtio_queue_reset(VirtQueue *vq)
{
    vq->num = vq->num_max;
    vq->enabled = false;
    vq->desc = vq->avail = vq->used = 0;
    vq->vector = VIRTIO_NO_VECTOR;
    vq->last_avail_idx = vq->used_idx = 0;
    vq->signalled_used = 0;
    vq->signalled_used_valid = false;
    vq->inuse = 0;
}

/* 2.4: everything back to its initial state; old requests are orphans. */
void virtio_reset(VirtIODevice *vdev)
{
    vdev->reset_count++;
    if (vdev->ops->reset) {
        vdev->ops->reset(vdev);
    }
    vdev->status = 0;
    vdev->isr = 0;
    vdev->broken = false;
    vdev->guest_features = 0;
    vdev->features_refused = false;
    vdev->config_vector = VIRTIO_NO_VECTOR;
    for (unsigned i = 0; i < vdev->nvqs; i++) {
        virtio_queue_reset(&vdev->vq[i]);
    }
}

bool virtio_set_features(VirtIODevice *vdev, uint64_t features)
{
    bool ok = !(features & ~vdev->host_features);

    /* Once FEATURES_OK is set the choice is fixed (3.1.1 step 5). */
    if (vdev->status & VIRTIO_CONFIG_S_FEATURES_OK) {
        return false;
    }
    vdev->guest_features = features & vdev->host_features;
    vdev->features_refused = !ok;
    if (vdev->ops->set_features) {
        vdev->ops->set_features(vdev, vdev->guest_features);
    }
    return ok;
}

void virtio_set_status(VirtIODevice *vdev, uint8_t status)
{
    uint8_t old = vdev->status;

    if (status == 0) {
        virtio_reset(vdev);
        return;
    }
    /*
     * FEATURES_OK is refused to a driver that asked for features we lack
     * or (being modern) left VERSION_1 out (3.1.1, 6.1).
     */
    if ((status & VIRTIO_CONFIG_S_FEATURES_OK) &&
        !(old & VIRTIO_CONFIG_S_FEATURES_OK) &&
        (vdev->features_refused ||
         !virtio_vdev_has_feature(vdev, VIRTIO_F_VERSION_1))) {
        status &= ~VIRTIO_CONFIG_S_FEATURES_OK;
    }
    /* NEEDS_RESET is the device's to set and only a reset clears it. */
    status &= ~VIRTIO_CONFIG_S_NEEDS_RESET;
    vdev->status = status | (old & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* ---- configuration space ---- */

uint32_t virtio_config_read(VirtIODevice *vdev, uint32_t addr, unsigned size)
{
    uint32_t val = 0;

    if (size > 4 || addr >= vdev->config_len ||
        size > vdev->config_len - addr) {
        return 0;
    }
    if (vdev->ops->get_config) {
        vdev->ops->get_config(vdev, vdev->config);
    }
    for (unsigned i = 0; i < size; i++) {
        val |= (uint32_t)vdev->config[addr + i] << (8 * i);
    }
    return val;
}

void virtio_config_write(VirtIODevice *vdev, uint32_t addr, uint32_t val,
                         unsigned size)
{
    if (size > 4 || addr >= vdev->config_len ||
        size > vdev->config_len - addr) {
        return;
    }
    if (vdev->ops->get_config) {
        vdev->ops->get_config(vdev, vdev->config);
    }
    for (unsigned i = 0; i < size; i++) {
        vdev->config[addr + i] = val >> (8 * i);
    }
    if (vdev->ops->set_config) {
        vdev->ops->set_config(vdev, vdev->config);
    }
}

void virtio_notify_config(VirtIODevice *vdev)
{
    vdev->generation++;
    if (!(vdev->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
        return;
    }
    vdev->isr |= VIRTIO_ISR_CONFIG;
    vdev->notify(vdev, vdev->config_vector, VIRTIO_ISR_CONFIG);
}

void virtio_error(VirtIODevice *vdev, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    if (vdev->broken) {
        return;
    }
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    qlite_log_guest_error("%s: %s; device needs reset", vdev->name, msg);
    vdev->broken = true;
    vdev->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
    virtio_notify_config(vdev);
}

/* ---- queue setup ---- */

void virtio_queue_set_num(VirtQueue *vq, uint16_t num)
{
    /* Split queues are a power of two, at most what we offer (2.7). */
    if (num == 0 || num > vq->num_max || (num & (num - 1))) {
        qlite_log_guest_error("%s: queue %u size %u refused",
                              vq->vdev->name, vq->index, num);
        return;
    }
    vq->num = num;
}

/* Legacy layout (4.1.4.8 / 2.7.2 legacy interface): 4 KiB alignment. */
void virtio_queue_set_legacy_pfn(VirtQueue *vq, uint32_t pfn)
{
    if (pfn == 0) {
        virtio_queue_reset(vq);
        return;
    }
    vq->num = vq->num_max;
    vq->desc = (uint64_t)pfn << 12;
    vq->avail = vq->desc + (uint64_t)vq->num * VIRTQ_DESC_SIZE;
    vq->used = ROUND_UP(vq->avail + VIRTQ_AVAIL_SIZE(vq->num), 4096);
    vq->enabled = true;
}

uint32_t virtio_queue_get_legacy_pfn(VirtQueue *vq)
{
    return vq->enabled ? vq->desc >> 12 : 0;
}

void virtio_queue_set_enabled(VirtQueue *vq, bool on)
{
    vq->enabled = on;
}

bool virtio_queue_ready(VirtQueue *vq)
{
    return vq->enabled && vq->num;
}

void virtio_queue_notify(VirtIODevice *vdev, unsigned n)
{
    VirtQueue *vq;

    if (n >= vdev->nvqs) {
        qlite_log_guest_error("%s: notify of queue %u (has %u)",
                              vdev->name, n, vdev->nvqs);
        return;
    }
    vq = &vdev->vq[n];
    if (vq->handler && !vdev->broken && virtio_queue_ready(vq)) {
        vq->handler(vdev, vq);
    }
}

/* ---- ring access ---- */

static bool vring_read16(VirtQueue *vq, uint64_t addr, uint16_t *val)
{
    uint8_t *p = dma_map(vq->vdev->as, addr, 2, false);

    if (!p) {
        return false;
    }
    memcpy(val, p, 2);
    *val = GUINT16_FROM_LE(*val);
    return true;
}

static bool vring_write(VirtQueue *vq, uint64_t addr, const void *buf,
                        unsigned len)
{
    uint8_t *p = dma_map(vq->vdev->as, addr, len, true);

    if (!p) {
        return false;
    }
    memcpy(p, buf, len);
    return true;
}

static bool vring_write16(VirtQueue *vq, uint64_t addr, uint16_t val)
{
    val = GUINT16_TO_LE(val);
    return vring_write(vq, addr, &val, 2);
}

static void vring_fail(VirtQueue *vq, VirtqError err)
{
    virtio_error(vq->vdev, "queue %u: %s", vq->index, virtq_error_str(err));
}

/* avail->idx, checked against what we consumed (2.7.6). */
static bool vring_avail_idx(VirtQueue *vq, uint16_t *idx)
{
    if (!vring_read16(vq, vq->avail + 2, idx)) {
        vring_fail(vq, VIRTQ_ERR_RING_ADDR);
        return false;
    }
    if ((uint16_t)(*idx - vq->last_avail_idx) > vq->num) {
        vring_fail(vq, VIRTQ_ERR_AVAIL_IDX);
        return false;
    }
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return true;
}

/* With EVENT_IDX, avail_event tells the driver when to kick (2.7.10). */
static bool vring_set_avail_event(VirtQueue *vq)
{
    if (!virtio_vdev_has_feature(vq->vdev, VIRTIO_F_RING_EVENT_IDX)) {
        return true;
    }
    if (!vring_write16(vq, vq->used + 4 + VIRTQ_USED_ELEM_SIZE *
                       (uint64_t)vq->num, vq->last_avail_idx)) {
        vring_fail(vq, VIRTQ_ERR_RING_ADDR);
        return false;
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return true;
}

bool virtqueue_pending(VirtQueue *vq)
{
    uint16_t idx;

    return !vq->vdev->broken && virtio_queue_ready(vq) &&
           vring_read16(vq, vq->avail + 2, &idx) &&
           idx != vq->last_avail_idx;
}

static bool virtqueue_can_pop(VirtQueue *vq)
{
    VirtIODevice *vdev = vq->vdev;

    return !vdev->broken && virtio_queue_ready(vq) &&
           (vdev->status & VIRTIO_CONFIG_S_DRIVER_OK) && vq->inuse < vq->num;
}

VirtQueueElement *virtqueue_pop(VirtQueue *vq)
{
    VirtqMem mem = virtio_mem(vq->vdev);
    VirtQueueElement *elem;
    uint16_t avail, head;
    VirtqError err;

    if (!virtqueue_can_pop(vq) || !vring_avail_idx(vq, &avail)) {
        return NULL;
    }
    if (avail == vq->last_avail_idx) {
        /* Publish where we stopped, then look once more (no lost kick). */
        if (!vring_set_avail_event(vq) || !vring_avail_idx(vq, &avail) ||
            avail == vq->last_avail_idx) {
            return NULL;
        }
    }
    if (!vring_read16(vq, vq->avail + 4 + 2 * (uint64_t)(vq->last_avail_idx %
                                                         vq->num), &head)) {
        vring_fail(vq, VIRTQ_ERR_RING_ADDR);
        return NULL;
    }
    vq->last_avail_idx++;
    elem = virtq_element_new(vq->num);
    err = virtq_walk_chain(&mem, vq->desc, vq->num, head,
                           virtio_vdev_has_feature(vq->vdev,
                                                   VIRTIO_F_RING_INDIRECT_DESC),
                           elem);
    if (err) {
        vring_fail(vq, err);
        virtq_element_free(elem);
        return NULL;
    }
    vq->inuse++;
    vring_set_avail_event(vq);
    return elem;
}

void virtqueue_push(VirtQueue *vq, VirtQueueElement *elem, uint32_t len)
{
    uint64_t slot = vq->used + 4 + VIRTQ_USED_ELEM_SIZE *
                    (uint64_t)(vq->used_idx % vq->num);
    uint32_t e[2] = { GUINT32_TO_LE(elem->head), GUINT32_TO_LE(len) };

    virtq_element_free(elem);
    /* A queue the driver switched off (legacy PFN 0) takes nothing back. */
    if (vq->inuse == 0 || !virtio_queue_ready(vq)) {
        return;
    }
    vq->inuse--;
    if (vq->vdev->broken) {
        return;
    }
    if (!vring_write(vq, slot, e, sizeof(e))) {
        vring_fail(vq, VIRTQ_ERR_RING_ADDR);
        return;
    }
    /* The element must be visible before the index that publishes it. */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    vq->used_idx++;
    if (!vring_write16(vq, vq->used + 2, vq->used_idx)) {
        vring_fail(vq, VIRTQ_ERR_RING_ADDR);
    }
}

/*
 * Return @n elements with their lengths and publish them with one used
 * idx update, so the driver sees all or none of them: a mergeable
 * receive frame spread over several chains (virtio 1.2, 5.1.6.4).
 */
void virtqueue_push_many(VirtQueue *vq, VirtQueueElement **elems,
                         const uint32_t *lens, unsigned n)
{
    uint16_t idx = vq->used_idx;
    bool ok = vq->inuse >= n && virtio_queue_ready(vq);

    for (unsigned i = 0; i < n; i++) {
        uint64_t slot = vq->used + 4 + VIRTQ_USED_ELEM_SIZE *
                        (uint64_t)((uint16_t)(idx + i) % vq->num);
        uint32_t e[2] = { GUINT32_TO_LE(elems[i]->head),
                          GUINT32_TO_LE(lens[i]) };

        virtq_element_free(elems[i]);
        if (ok && !vq->vdev->broken && !vring_write(vq, slot, e, sizeof(e))) {
            vring_fail(vq, VIRTQ_ERR_RING_ADDR);
        }
    }
    if (!ok) {
        return;
    }
    vq->inuse -= n;
    if (vq->vdev->broken) {
        return;
    }
    __atomic_thread_fence(__ATOMIC_RELEASE);
    vq->used_idx += n;
    if (!vring_write16(vq, vq->used + 2, vq->used_idx)) {
        vring_fail(vq, VIRTQ_ERR_RING_ADDR);
    }
}

/* 2.7.10: notify if new_idx passed event since the last interrupt. */
static bool vring_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

static bool virtio_should_notify(VirtIODevice *vdev, VirtQueue *vq)
{
    uint16_t flags, event, old = vq->signalled_used;
    bool valid = vq->signalled_used_valid;

    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (virtio_vdev_has_feature(vdev, VIRTIO_F_NOTIFY_ON_EMPTY) &&
        vq->inuse == 0 && !virtqueue_pending(vq)) {
        return true;
    }
    if (!virtio_vdev_has_feature(vdev, VIRTIO_F_RING_EVENT_IDX)) {
        return !vring_read16(vq, vq->avail, &flags) ||
               !(flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
    }
    vq->signalled_used = vq->used_idx;
    vq->signalled_used_valid = true;
    if (!vring_read16(vq, vq->avail + 4 + 2 * (uint64_t)vq->num, &event)) {
        return true;
    }
    return !valid || vring_need_event(event, vq->used_idx, old);
}

void virtio_notify(VirtIODevice *vdev, VirtQueue *vq)
{
    if (vdev->broken || !virtio_should_notify(vdev, vq)) {
        return;
    }
    vdev->isr |= VIRTIO_ISR_QUEUE;
    vdev->notify(vdev, vq->vector, VIRTIO_ISR_QUEUE);
}
