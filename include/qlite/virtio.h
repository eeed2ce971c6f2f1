/*
 * The virtio core (Virtual I/O Device (VIRTIO) Version 1.2): split
 * virtqueues (2.7), feature negotiation (2.2), device status (2.1) and
 * reset, the configuration space with its generation counter (2.5).
 *
 * A VirtIODevice is embedded in its transport (virtio-pci) and carries
 * the device type's ops (virtio-blk ...).  The transport turns register
 * accesses into calls here and delivers what virtio_notify_vector()
 * asks for (MSI-X or INTx).
 *
 * Guest-supplied rings are never trusted: virtq_walk_chain() is a pure
 * function that maps one descriptor chain or says what was wrong with
 * it; any such error marks the device NEEDS_RESET (2.1.1) and stops it
 * until the driver resets it.
 */
#ifndef QLITE_VIRTIO_H
#define QLITE_VIRTIO_H

#include "qlite/iov.h"
#include "qlite/memory.h"

#include <sys/uio.h>

/* Device status (2.1). */
#define VIRTIO_CONFIG_S_ACKNOWLEDGE     0x01
#define VIRTIO_CONFIG_S_DRIVER          0x02
#define VIRTIO_CONFIG_S_DRIVER_OK       0x04
#define VIRTIO_CONFIG_S_FEATURES_OK     0x08
#define VIRTIO_CONFIG_S_NEEDS_RESET     0x40
#define VIRTIO_CONFIG_S_FAILED          0x80

/* Reserved feature bits (6). */
#define VIRTIO_F_NOTIFY_ON_EMPTY        24
#define VIRTIO_F_ANY_LAYOUT             27
#define VIRTIO_F_RING_INDIRECT_DESC     28
#define VIRTIO_F_RING_EVENT_IDX         29
#define VIRTIO_F_VERSION_1              32

/* ISR bits (4.1.4.5). */
#define VIRTIO_ISR_QUEUE                0x1
#define VIRTIO_ISR_CONFIG               0x2

#define VIRTIO_NO_VECTOR                0xffff
#define VIRTQUEUE_MAX_SIZE              1024

/* Split ring layout (2.7.5, 2.7.6, 2.7.8). */
#define VIRTQ_DESC_SIZE                 16
#define VIRTQ_DESC_F_NEXT               1
#define VIRTQ_DESC_F_WRITE              2
#define VIRTQ_DESC_F_INDIRECT           4
#define VIRTQ_AVAIL_F_NO_INTERRUPT      1
#define VIRTQ_USED_F_NO_NOTIFY          1
#define VIRTQ_USED_ELEM_SIZE            8

/* Bytes of each ring part for a queue of @num entries, event idx included. */
#define VIRTQ_AVAIL_SIZE(num)           (6 + 2 * (uint64_t)(num))
#define VIRTQ_USED_SIZE(num)            (6 + 8 * (uint64_t)(num))

typedef enum {
    VIRTQ_OK = 0,
    VIRTQ_ERR_HEAD_RANGE,       /* head index >= queue size */
    VIRTQ_ERR_NEXT_RANGE,       /* next index outside its table */
    VIRTQ_ERR_LOOP,             /* a descriptor visited twice */
    VIRTQ_ERR_TOO_LONG,         /* more descriptors than the queue size */
    VIRTQ_ERR_NESTED_INDIRECT,  /* indirect inside an indirect table */
    VIRTQ_ERR_INDIRECT_LEN,     /* table length 0, not 16n or too big */
    VIRTQ_ERR_INDIRECT_NEXT,    /* INDIRECT together with NEXT */
    VIRTQ_ERR_INDIRECT_OFF,     /* INDIRECT without the feature */
    VIRTQ_ERR_TABLE_ADDR,       /* descriptor table not in guest RAM */
    VIRTQ_ERR_BUF_ADDR,         /* a buffer not in guest RAM */
    VIRTQ_ERR_ORDER,            /* readable after writable (2.7.4.2) */
    VIRTQ_ERR_LEN_OVERFLOW,     /* total length does not fit 32 bits */
    VIRTQ_ERR_AVAIL_IDX,        /* avail idx moved by more than the size */
    VIRTQ_ERR_RING_ADDR,        /* avail or used ring not in guest RAM */
    VIRTQ_ERR_MAX
} VirtqError;

const char *virtq_error_str(VirtqError err);

/*
 * How the chain walker reaches guest memory: a host pointer to all of
 * [addr, addr+len) in RAM, or NULL.  Production uses dma_map(); the unit
 * test a fake buffer.
 */
typedef struct VirtqMem {
    void *(*map)(void *opaque, uint64_t addr, uint64_t len, bool is_write);
    void *opaque;
} VirtqMem;

/*
 * One popped request: device-readable (out) then device-writable (in)
 * buffers, as host pointers into guest RAM valid until it is pushed.
 */
typedef struct VirtQueueElement {
    uint16_t head;
    unsigned out_num;
    unsigned in_num;
    uint32_t out_len;           /* total bytes of each direction */
    uint32_t in_len;
    struct iovec *out_sg;       /* @max entries each */
    struct iovec *in_sg;
} VirtQueueElement;

VirtQueueElement *virtq_element_new(unsigned max);
void virtq_element_free(VirtQueueElement *elem);

/*
 * Walk the chain starting at @head of the @qsize-entry descriptor table
 * at @desc_addr.  @indirect allows VIRTQ_DESC_F_INDIRECT.  Fills @elem
 * (made for at least @qsize entries); on error @elem is left empty.
 * Pure: reads guest memory only through @mem and touches nothing else.
 */
VirtqError virtq_walk_chain(const VirtqMem *mem, uint64_t desc_addr,
                            uint16_t qsize, uint16_t head, bool indirect,
                            VirtQueueElement *elem);

typedef struct VirtIODevice VirtIODevice;
typedef struct VirtQueue VirtQueue;
typedef void (*VirtQueueHandler)(VirtIODevice *vdev, VirtQueue *vq);

struct VirtQueue {
    VirtIODevice *vdev;
    uint16_t index;
    uint16_t num_max;           /* what the device offers */
    uint16_t num;               /* what the driver chose (power of 2) */
    bool enabled;
    uint64_t desc, avail, used; /* guest-physical ring addresses */
    uint16_t vector;            /* MSI-X vector or VIRTIO_NO_VECTOR */
    uint16_t last_avail_idx;
    uint16_t used_idx;
    uint16_t signalled_used;    /* used idx at the last interrupt */
    bool signalled_used_valid;
    unsigned inuse;             /* popped, not pushed yet */
    VirtQueueHandler handler;
};

/* What a device type supplies. */
typedef struct VirtIODeviceOps {
    /* Refresh vdev->config from the device's state before a read. */
    void (*get_config)(VirtIODevice *vdev, uint8_t *config);
    /* The driver wrote into vdev->config. */
    void (*set_config)(VirtIODevice *vdev, const uint8_t *config);
    /* The driver accepted these features (FEATURES_OK or legacy). */
    void (*set_features)(VirtIODevice *vdev, uint64_t features);
    /* Device-type state back to power-on; in-flight work is abandoned. */
    void (*reset)(VirtIODevice *vdev);
} VirtIODeviceOps;

/* What the transport supplies. */
typedef void (*VirtIONotifyFn)(VirtIODevice *vdev, uint16_t vector,
                               uint8_t isr_bit);

struct VirtIODevice {
    const char *name;           /* for log lines: "virtio-blk" */
    uint16_t device_id;         /* 5 Device Types: 2 for block */
    uint8_t status;
    uint8_t isr;
    uint8_t generation;         /* config_generation (4.1.4.3) */
    bool broken;                /* NEEDS_RESET set; queues stopped */
    uint64_t host_features;
    uint64_t guest_features;
    bool features_refused;      /* the driver asked for what we lack */
    uint16_t config_vector;
    uint32_t config_len;
    uint8_t *config;
    unsigned nvqs;
    VirtQueue *vq;
    uint32_t reset_count;       /* bumped by each reset: stale completions */
    AddressSpace *as;
    const VirtIODeviceOps *ops;
    VirtIONotifyFn notify;
    void *opaque;               /* the device type's state */
};

void virtio_init(VirtIODevice *vdev, const char *name, uint16_t device_id,
                 uint32_t config_len, const VirtIODeviceOps *ops,
                 void *opaque);
void virtio_cleanup(VirtIODevice *vdev);
VirtQueue *virtio_add_queue(VirtIODevice *vdev, uint16_t num_max,
                            VirtQueueHandler handler);

static inline bool virtio_has_feature(uint64_t features, unsigned bit)
{
    return features & (UINT64_C(1) << bit);
}

/* Whether the driver negotiated @bit. */
bool virtio_vdev_has_feature(VirtIODevice *vdev, unsigned bit);
void virtio_reset(VirtIODevice *vdev);
void virtio_set_status(VirtIODevice *vdev, uint8_t status);
/* Modern drivers: refused (false) unless a subset of host_features. */
bool virtio_set_features(VirtIODevice *vdev, uint64_t features);

/* Config space access by the driver; out-of-range reads give 0. */
uint32_t virtio_config_read(VirtIODevice *vdev, uint32_t addr, unsigned size);
void virtio_config_write(VirtIODevice *vdev, uint32_t addr, uint32_t val,
                         unsigned size);
/* The device changed its config: new generation, config interrupt. */
void virtio_notify_config(VirtIODevice *vdev);

/* Queue setup registers. */
void virtio_queue_set_num(VirtQueue *vq, uint16_t num);
/* Legacy: rings laid out from one page frame number (4.1.4.8). */
void virtio_queue_set_legacy_pfn(VirtQueue *vq, uint32_t pfn);
uint32_t virtio_queue_get_legacy_pfn(VirtQueue *vq);
void virtio_queue_set_enabled(VirtQueue *vq, bool on);
bool virtio_queue_ready(VirtQueue *vq);
/* The driver kicked queue @n. */
void virtio_queue_notify(VirtIODevice *vdev, unsigned n);

/*
 * Take the next available chain: NULL when the queue is empty, stopped
 * or broken (an error marks the device NEEDS_RESET and logs it once).
 */
VirtQueueElement *virtqueue_pop(VirtQueue *vq);
/* Return @elem with @len bytes written into it, and free it. */
void virtqueue_push(VirtQueue *vq, VirtQueueElement *elem, uint32_t len);
/* Return @n elements at once: the driver sees all of them or none. */
void virtqueue_push_many(VirtQueue *vq, VirtQueueElement **elems,
                         const uint32_t *lens, unsigned n);
/* Interrupt the driver unless it suppressed it (2.7.7, 2.7.10). */
void virtio_notify(VirtIODevice *vdev, VirtQueue *vq);
/* Whether the avail ring holds chains not popped yet. */
bool virtqueue_pending(VirtQueue *vq);
/* Mark the device broken: NEEDS_RESET, config interrupt, one log line. */
void virtio_error(VirtIODevice *vdev, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);

#endif
