/*
 * The virtio PCI transport (virtio 1.2, 4.1): the modern interface's
 * vendor capabilities and BAR 4 (4.1.4), the transitional legacy I/O
 * BAR 0 (4.1.4.8), MSI-X in BAR 1 with INTx and the ISR as fallback
 * (4.1.4.5, 4.1.5).
 */
#include "qlite/error.h"
#include "qlite/msix.h"
#include "qlite/virtio-pci.h"

#define VIRTIO_PCI_VENDOR_ID        PCI_VENDOR_ID_REDHAT_QUMRANET
#define VIRTIO_PCI_LEGACY_ID_BASE   0x0fff  /* + virtio id: 0x1001 blk */
#define VIRTIO_PCI_MODERN_ID_BASE   0x1040  /* + virtio id: 0x1042 blk */

#define VIRTIO_PCI_LEGACY_BAR       0
#define VIRTIO_PCI_MSIX_BAR         1
#define VIRTIO_PCI_MODERN_BAR       4

/* BAR 4 layout, one 4 KiB page per structure. */
#define VIRTIO_PCI_COMMON_OFF       0x0000
#define VIRTIO_PCI_ISR_OFF          0x1000
#define VIRTIO_PCI_DEVICE_OFF       0x2000
#define VIRTIO_PCI_NOTIFY_OFF       0x3000
#define VIRTIO_PCI_MODERN_SIZE      0x4000
#define VIRTIO_PCI_PAGE             0x1000
#define VIRTIO_PCI_NOTIFY_MULT      4

/* struct virtio_pci_cap (4.1.4) and its cfg_type values. */
#define VIRTIO_PCI_CAP_LEN          16
#define VIRTIO_PCI_CAP_TYPE         3
#define VIRTIO_PCI_CAP_BAR          4
#define VIRTIO_PCI_CAP_OFFSET       8
#define VIRTIO_PCI_CAP_LENGTH       12
#define VIRTIO_PCI_CAP_EXTRA        16  /* notify multiplier / cfg data */
#define VIRTIO_PCI_CAP_COMMON_CFG   1
#define VIRTIO_PCI_CAP_NOTIFY_CFG   2
#define VIRTIO_PCI_CAP_ISR_CFG      3
#define VIRTIO_PCI_CAP_DEVICE_CFG   4
#define VIRTIO_PCI_CAP_PCI_CFG      5

/* struct virtio_pci_common_cfg (4.1.4.3). */
#define VPC_DFSELECT        0x00
#define VPC_DF              0x04
#define VPC_GFSELECT        0x08
#define VPC_GF              0x0c
#define VPC_MSIX_CONFIG     0x10
#define VPC_NUM_QUEUES      0x12
#define VPC_STATUS          0x14
#define VPC_CFG_GENERATION  0x15
#define VPC_Q_SELECT        0x16
#define VPC_Q_SIZE          0x18
#define VPC_Q_MSIX_VECTOR   0x1a
#define VPC_Q_ENABLE        0x1c
#define VPC_Q_NOTIFY_OFF    0x1e
#define VPC_Q_DESC          0x20
#define VPC_Q_AVAIL         0x28
#define VPC_Q_USED          0x30
#define VPC_COMMON_SIZE     0x38

/* Legacy header (4.1.4.8). */
#define VPL_HOST_FEATURES   0x00
#define VPL_GUEST_FEATURES  0x04
#define VPL_QUEUE_PFN       0x08
#define VPL_QUEUE_NUM       0x0c
#define VPL_QUEUE_SEL       0x0e
#define VPL_QUEUE_NOTIFY    0x10
#define VPL_STATUS          0x12
#define VPL_ISR             0x13
#define VPL_MSIX_CONFIG     0x14
#define VPL_MSIX_QUEUE      0x16
#define VPL_HEADER          0x14
#define VPL_HEADER_MSIX     0x18

static VirtIOPCIProxy *proxy_of(VirtIODevice *vdev)
{
    return container_of(vdev, VirtIOPCIProxy, vdev);
}

static VirtQueue *virtio_pci_selected(VirtIOPCIProxy *p)
{
    return p->queue_sel < p->vdev.nvqs ? &p->vdev.vq[p->queue_sel] : NULL;
}

/* ---- interrupts ---- */

/* INTx follows the ISR, but only while MSI-X is off (4.1.5.3, 4.1.5.4). */
static void virtio_pci_update_irq(VirtIOPCIProxy *p)
{
    PCIDevice *pci = &p->parent;

    pci_set_irq(pci, p->vdev.isr != 0 && !msix_enabled(pci));
}

/* A device whose bus mastering is off cannot reach its rings. */
static void virtio_pci_queue_notify(VirtIOPCIProxy *p, unsigned index)
{
    if (!pci_bus_master_enabled(&p->parent)) {
        qlite_log_guest_error("%s: queue %u notified with bus mastering "
                              "off; ignored", p->vdev.name, index);
        return;
    }
    virtio_queue_notify(&p->vdev, index);
}

static void virtio_pci_notify(VirtIODevice *vdev, uint16_t vector,
                              uint8_t isr_bit)
{
    VirtIOPCIProxy *p = proxy_of(vdev);

    if (msix_enabled(&p->parent)) {
        if (vector != VIRTIO_NO_VECTOR) {
            msix_notify(&p->parent, vector);
        }
        return;
    }
    virtio_pci_update_irq(p);
}

static uint8_t virtio_pci_read_isr(VirtIOPCIProxy *p)
{
    uint8_t isr = p->vdev.isr;

    p->vdev.isr = 0;
    virtio_pci_update_irq(p);
    return isr;
}

/* An unusable vector reads back as NO_VECTOR: the driver sees it. */
static uint16_t virtio_pci_check_vector(VirtIOPCIProxy *p, uint16_t vector)
{
    return vector < p->nvectors && msix_present(&p->parent)
           ? vector : VIRTIO_NO_VECTOR;
}

static void virtio_pci_set_status(VirtIOPCIProxy *p, uint8_t status)
{
    virtio_set_status(&p->vdev, status);
    if (status == 0) {
        p->dfselect = p->gfselect = 0;
        p->gfeatures[0] = p->gfeatures[1] = 0;
        p->queue_sel = 0;
        virtio_pci_update_irq(p);
    }
}

/* ---- modern common configuration ---- */

static void virtio_pci_common_image(VirtIOPCIProxy *p, uint8_t *img)
{
    VirtIODevice *vdev = &p->vdev;
    VirtQueue *vq = virtio_pci_selected(p);
    uint64_t df = p->dfselect < 2 ? vdev->host_features >> (32 * p->dfselect)
                                  : 0;

    memset(img, 0, VPC_COMMON_SIZE);
    pci_set_long(img + VPC_DFSELECT, p->dfselect);
    pci_set_long(img + VPC_DF, (uint32_t)df);
    pci_set_long(img + VPC_GFSELECT, p->gfselect);
    pci_set_long(img + VPC_GF, p->gfselect < 2 ? p->gfeatures[p->gfselect]
                                               : 0);
    pci_set_word(img + VPC_MSIX_CONFIG, vdev->config_vector);
    pci_set_word(img + VPC_NUM_QUEUES, vdev->nvqs);
    img[VPC_STATUS] = vdev->status;
    img[VPC_CFG_GENERATION] = vdev->generation;
    pci_set_word(img + VPC_Q_SELECT, p->queue_sel);
    if (!vq) {
        return;     /* a queue that does not exist reads as size 0 */
    }
    pci_set_word(img + VPC_Q_SIZE, vq->num);
    pci_set_word(img + VPC_Q_MSIX_VECTOR, vq->vector);
    pci_set_word(img + VPC_Q_ENABLE, vq->enabled);
    pci_set_word(img + VPC_Q_NOTIFY_OFF, vq->index);
    pci_set_long(img + VPC_Q_DESC, vq->desc);
    pci_set_long(img + VPC_Q_DESC + 4, vq->desc >> 32);
    pci_set_long(img + VPC_Q_AVAIL, vq->avail);
    pci_set_long(img + VPC_Q_AVAIL + 4, vq->avail >> 32);
    pci_set_long(img + VPC_Q_USED, vq->used);
    pci_set_long(img + VPC_Q_USED + 4, vq->used >> 32);
}

static uint64_t virtio_pci_common_read(VirtIOPCIProxy *p, uint64_t addr,
                                       unsigned size)
{
    uint8_t img[VPC_COMMON_SIZE];
    uint64_t val = 0;

    if (addr >= VPC_COMMON_SIZE || size > VPC_COMMON_SIZE - addr) {
        return 0;
    }
    virtio_pci_common_image(p, img);
    for (unsigned i = 0; i < size; i++) {
        val |= (uint64_t)img[addr + i] << (8 * i);
    }
    return val;
}

/* One 32-bit half of a ring address; only while the queue is off. */
static void virtio_pci_set_ring_half(VirtQueue *vq, uint64_t *field,
                                     bool high, uint32_t val)
{
    if (vq->enabled) {
        qlite_log_guest_error("%s: ring address of enabled queue %u "
                              "written", vq->vdev->name, vq->index);
        return;
    }
    *field = high ? (*field & 0xffffffffu) | (uint64_t)val << 32
                  : (*field & ~(uint64_t)0xffffffffu) | val;
}

static void virtio_pci_queue_write(VirtIOPCIProxy *p, VirtQueue *vq,
                                   uint64_t addr, uint32_t val)
{
    switch (addr) {
    case VPC_Q_SIZE:
        if (!vq->enabled) {
            virtio_queue_set_num(vq, val);
        }
        break;
    case VPC_Q_MSIX_VECTOR:
        vq->vector = virtio_pci_check_vector(p, val);
        break;
    case VPC_Q_ENABLE:
        /* 4.1.4.3.2: the driver only writes 1 here. */
        if (val == 1) {
            virtio_queue_set_enabled(vq, true);
        }
        break;
    case VPC_Q_DESC: case VPC_Q_DESC + 4:
        virtio_pci_set_ring_half(vq, &vq->desc, addr & 4, val);
        break;
    case VPC_Q_AVAIL: case VPC_Q_AVAIL + 4:
        virtio_pci_set_ring_half(vq, &vq->avail, addr & 4, val);
        break;
    case VPC_Q_USED: case VPC_Q_USED + 4:
        virtio_pci_set_ring_half(vq, &vq->used, addr & 4, val);
        break;
    }
}

static void virtio_pci_common_write(VirtIOPCIProxy *p, uint64_t addr,
                                    uint64_t val, unsigned size)
{
    VirtIODevice *vdev = &p->vdev;
    VirtQueue *vq = virtio_pci_selected(p);

    switch (addr) {
    case VPC_DFSELECT:
        p->dfselect = val;
        break;
    case VPC_GFSELECT:
        p->gfselect = val;
        break;
    case VPC_GF:
        if (p->gfselect < 2) {
            p->gfeatures[p->gfselect] = val;
            virtio_set_features(vdev, p->gfeatures[0] |
                                (uint64_t)p->gfeatures[1] << 32);
        }
        break;
    case VPC_MSIX_CONFIG:
        vdev->config_vector = virtio_pci_check_vector(p, val);
        break;
    case VPC_STATUS:
        virtio_pci_set_status(p, val);
        break;
    case VPC_Q_SELECT:
        p->queue_sel = val;
        break;
    default:
        if (vq && addr >= VPC_Q_SIZE && addr < VPC_COMMON_SIZE) {
            virtio_pci_queue_write(p, vq, addr, val);
        }
        break;
    }
}

/* ---- BAR 4 ---- */

static uint64_t virtio_pci_modern_access(VirtIOPCIProxy *p, uint64_t addr,
                                         unsigned size, bool write,
                                         uint64_t val)
{
    uint64_t page = addr & ~(uint64_t)(VIRTIO_PCI_PAGE - 1);
    uint64_t off = addr - page;

    switch (page) {
    case VIRTIO_PCI_COMMON_OFF:
        if (write) {
            virtio_pci_common_write(p, off, val, size);
            return 0;
        }
        return virtio_pci_common_read(p, off, size);
    case VIRTIO_PCI_ISR_OFF:
        return !write && off == 0 ? virtio_pci_read_isr(p) : 0;
    case VIRTIO_PCI_DEVICE_OFF:
        if (write) {
            virtio_config_write(&p->vdev, off, val, size);
            return 0;
        }
        return virtio_config_read(&p->vdev, off, size);
    case VIRTIO_PCI_NOTIFY_OFF:
        if (write) {
            virtio_pci_queue_notify(p, off / VIRTIO_PCI_NOTIFY_MULT);
        }
        return 0;
    }
    return 0;
}

static uint64_t virtio_pci_modern_read(void *opaque, uint64_t addr,
                                       unsigned size)
{
    return virtio_pci_modern_access(opaque, addr, size, false, 0);
}

static void virtio_pci_modern_write(void *opaque, uint64_t addr, uint64_t val,
                                    unsigned size)
{
    virtio_pci_modern_access(opaque, addr, size, true, val);
}

static const MemoryRegionOps virtio_pci_modern_ops = {
    .read = virtio_pci_modern_read,
    .write = virtio_pci_modern_write,
    .valid = { .min_access_size = 1, .max_access_size = 4 },
};

/* ---- BAR 0: the legacy header ---- */

static uint32_t virtio_pci_legacy_header(VirtIOPCIProxy *p)
{
    return msix_enabled(&p->parent) ? VPL_HEADER_MSIX : VPL_HEADER;
}

static uint64_t virtio_pci_legacy_reg_read(VirtIOPCIProxy *p, uint64_t addr)
{
    VirtIODevice *vdev = &p->vdev;
    VirtQueue *vq = virtio_pci_selected(p);

    switch (addr) {
    case VPL_HOST_FEATURES:
        return (uint32_t)vdev->host_features;
    case VPL_GUEST_FEATURES:
        return (uint32_t)vdev->guest_features;
    case VPL_QUEUE_PFN:
        return vq ? virtio_queue_get_legacy_pfn(vq) : 0;
    case VPL_QUEUE_NUM:
        return vq ? vq->num_max : 0;
    case VPL_QUEUE_SEL:
        return p->queue_sel;
    case VPL_STATUS:
        return vdev->status;
    case VPL_ISR:
        return virtio_pci_read_isr(p);
    case VPL_MSIX_CONFIG:
        return vdev->config_vector;
    case VPL_MSIX_QUEUE:
        return vq ? vq->vector : VIRTIO_NO_VECTOR;
    }
    return 0;
}

static void virtio_pci_legacy_reg_write(VirtIOPCIProxy *p, uint64_t addr,
                                        uint32_t val)
{
    VirtIODevice *vdev = &p->vdev;
    VirtQueue *vq = virtio_pci_selected(p);

    switch (addr) {
    case VPL_GUEST_FEATURES:
        virtio_set_features(vdev, val);
        break;
    case VPL_QUEUE_PFN:
        if (vq) {
            virtio_queue_set_legacy_pfn(vq, val);
        }
        break;
    case VPL_QUEUE_SEL:
        p->queue_sel = val;
        break;
    case VPL_QUEUE_NOTIFY:
        virtio_pci_queue_notify(p, val);
        break;
    case VPL_STATUS:
        virtio_pci_set_status(p, val);
        break;
    case VPL_MSIX_CONFIG:
        vdev->config_vector = virtio_pci_check_vector(p, val);
        break;
    case VPL_MSIX_QUEUE:
        if (vq) {
            vq->vector = virtio_pci_check_vector(p, val);
        }
        break;
    }
}

/* Register widths of the legacy header: 32, 32, 32, 16, 16, 16, 8, 8. */
static unsigned virtio_pci_legacy_width(uint64_t addr)
{
    return addr < VPL_QUEUE_NUM ? 4 : addr < VPL_STATUS ? 2
           : addr < VPL_MSIX_CONFIG ? 1 : 2;
}

static uint64_t virtio_pci_legacy_read(void *opaque, uint64_t addr,
                                       unsigned size)
{
    VirtIOPCIProxy *p = opaque;
    uint32_t hdr = virtio_pci_legacy_header(p);

    if (addr >= hdr) {
        return virtio_config_read(&p->vdev, addr - hdr, size);
    }
    if (size != virtio_pci_legacy_width(addr) || addr % size) {
        return UINT32_MAX >> (32 - 8 * size);
    }
    return virtio_pci_legacy_reg_read(p, addr);
}

static void virtio_pci_legacy_write(void *opaque, uint64_t addr, uint64_t val,
                                    unsigned size)
{
    VirtIOPCIProxy *p = opaque;
    uint32_t hdr = virtio_pci_legacy_header(p);

    if (addr >= hdr) {
        virtio_config_write(&p->vdev, addr - hdr, val, size);
        return;
    }
    if (size != virtio_pci_legacy_width(addr) || addr % size) {
        qlite_log_guest_error("%s: legacy register 0x%" PRIx64 " written "
                              "with size %u", p->vdev.name, addr, size);
        return;
    }
    virtio_pci_legacy_reg_write(p, addr, val);
}

static const MemoryRegionOps virtio_pci_legacy_ops = {
    .read = virtio_pci_legacy_read,
    .write = virtio_pci_legacy_write,
    .valid = { .min_access_size = 1, .max_access_size = 4 },
};

/* ---- PCI configuration access capability (4.1.4.9) ---- */

static bool virtio_pci_cfg_window(VirtIOPCIProxy *p, uint32_t *off,
                                  unsigned *len)
{
    uint8_t *cap = p->parent.config + p->cfg_cap;

    *off = pci_get_long(cap + VIRTIO_PCI_CAP_OFFSET);
    *len = pci_get_long(cap + VIRTIO_PCI_CAP_LENGTH);
    return cap[VIRTIO_PCI_CAP_BAR] == VIRTIO_PCI_MODERN_BAR &&
           (*len == 1 || *len == 2 || *len == 4) && *off % *len == 0 &&
           *off < VIRTIO_PCI_MODERN_SIZE;
}

static bool virtio_pci_touches_cfg_data(VirtIOPCIProxy *p, uint32_t addr,
                                        int len)
{
    uint32_t data = p->cfg_cap + VIRTIO_PCI_CAP_EXTRA;

    return p->cfg_cap && addr < data + 4 && data < addr + len;
}

static uint32_t virtio_pci_config_read(PCIDevice *dev, uint32_t addr, int len)
{
    VirtIOPCIProxy *p = VIRTIO_PCI(dev);
    uint32_t off;
    unsigned n;

    if (virtio_pci_touches_cfg_data(p, addr, len) &&
        virtio_pci_cfg_window(p, &off, &n)) {
        uint32_t val = virtio_pci_modern_access(p, off, n, false, 0);

        pci_set_long(dev->config + p->cfg_cap + VIRTIO_PCI_CAP_EXTRA, val);
    }
    return pci_default_read_config(dev, addr, len);
}

static void virtio_pci_config_write(PCIDevice *dev, uint32_t addr,
                                    uint32_t val, int len)
{
    VirtIOPCIProxy *p = VIRTIO_PCI(dev);
    uint32_t off;
    unsigned n;

    pci_default_write_config(dev, addr, val, len);
    if (virtio_pci_touches_cfg_data(p, addr, len) &&
        virtio_pci_cfg_window(p, &off, &n)) {
        uint32_t data = pci_get_long(dev->config + p->cfg_cap +
                                     VIRTIO_PCI_CAP_EXTRA);

        virtio_pci_modern_access(p, off, n, true,
                                 data & (UINT32_MAX >> (32 - 8 * n)));
    }
    /* MSI-X on or off moves the interrupt between INTx and messages. */
    virtio_pci_update_irq(p);
}

/* ---- realize ---- */

static uint8_t virtio_pci_add_cap(PCIDevice *dev, uint8_t type,
                                  uint32_t offset, uint32_t length,
                                  uint8_t cap_len, GError **errp)
{
    uint8_t cap = pci_add_capability(dev, PCI_CAP_ID_VNDR, 0, cap_len, errp);
    uint8_t *c = dev->config + cap;

    if (!cap) {
        return 0;
    }
    c[2] = cap_len;
    c[VIRTIO_PCI_CAP_TYPE] = type;
    c[VIRTIO_PCI_CAP_BAR] = type == VIRTIO_PCI_CAP_PCI_CFG
                            ? 0 : VIRTIO_PCI_MODERN_BAR;
    pci_set_long(c + VIRTIO_PCI_CAP_OFFSET, offset);
    pci_set_long(c + VIRTIO_PCI_CAP_LENGTH, length);
    return cap;
}

static bool virtio_pci_modern_init(VirtIOPCIProxy *p, GError **errp)
{
    PCIDevice *dev = &p->parent;
    uint8_t notify, cfg;

    memory_region_init_io(&p->modern_bar, &virtio_pci_modern_ops, p,
                          "virtio-pci-modern", VIRTIO_PCI_MODERN_SIZE);
    pci_register_bar(dev, VIRTIO_PCI_MODERN_BAR,
                     PCI_BASE_ADDRESS_MEM_TYPE_64 |
                     PCI_BASE_ADDRESS_MEM_PREFETCH, &p->modern_bar);
    if (!virtio_pci_add_cap(dev, VIRTIO_PCI_CAP_COMMON_CFG,
                            VIRTIO_PCI_COMMON_OFF, VIRTIO_PCI_PAGE,
                            VIRTIO_PCI_CAP_LEN, errp) ||
        !virtio_pci_add_cap(dev, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF,
                            VIRTIO_PCI_PAGE, VIRTIO_PCI_CAP_LEN, errp) ||
        !virtio_pci_add_cap(dev, VIRTIO_PCI_CAP_DEVICE_CFG,
                            VIRTIO_PCI_DEVICE_OFF, VIRTIO_PCI_PAGE,
                            VIRTIO_PCI_CAP_LEN, errp)) {
        return false;
    }
    notify = virtio_pci_add_cap(dev, VIRTIO_PCI_CAP_NOTIFY_CFG,
                                VIRTIO_PCI_NOTIFY_OFF, VIRTIO_PCI_PAGE,
                                VIRTIO_PCI_CAP_LEN + 4, errp);
    if (!notify) {
        return false;
    }
    pci_set_long(dev->config + notify + VIRTIO_PCI_CAP_EXTRA,
                 VIRTIO_PCI_NOTIFY_MULT);
    cfg = virtio_pci_add_cap(dev, VIRTIO_PCI_CAP_PCI_CFG, 0, 0,
                             VIRTIO_PCI_CAP_LEN + 4, errp);
    if (!cfg) {
        return false;
    }
    /* The driver picks bar, offset, length and moves data (4.1.4.9). */
    dev->wmask[cfg + VIRTIO_PCI_CAP_BAR] = 0xff;
    memset(dev->wmask + cfg + VIRTIO_PCI_CAP_OFFSET, 0xff, 12);
    p->cfg_cap = cfg;
    p->vdev.host_features |= UINT64_C(1) << VIRTIO_F_VERSION_1;
    return true;
}

static void virtio_pci_legacy_init(VirtIOPCIProxy *p)
{
    uint32_t size = 32;

    while (size < VPL_HEADER_MSIX + p->vdev.config_len) {
        size *= 2;
    }
    memory_region_init_io(&p->legacy_bar, &virtio_pci_legacy_ops, p,
                          "virtio-pci-legacy", size);
    pci_register_bar(&p->parent, VIRTIO_PCI_LEGACY_BAR,
                     PCI_BASE_ADDRESS_SPACE_IO, &p->legacy_bar);
}

/* IDs as QEMU gives them (docs/specs/pci-ids.rst, virtio 4.1.2). */
static void virtio_pci_set_ids(VirtIOPCIProxy *p, uint16_t virtio_id)
{
    uint8_t *c = p->parent.config;

    pci_set_word(c + PCI_VENDOR_ID, VIRTIO_PCI_VENDOR_ID);
    pci_set_word(c + PCI_SUBSYSTEM_VENDOR_ID, VIRTIO_PCI_VENDOR_ID);
    if (p->disable_legacy) {
        pci_set_word(c + PCI_DEVICE_ID, VIRTIO_PCI_MODERN_ID_BASE + virtio_id);
        pci_set_word(c + PCI_SUBSYSTEM_ID, PCI_SUBDEVICE_ID_QEMU);
        c[PCI_REVISION_ID] = 1;
    } else {
        pci_set_word(c + PCI_DEVICE_ID, VIRTIO_PCI_LEGACY_ID_BASE + virtio_id);
        pci_set_word(c + PCI_SUBSYSTEM_ID, virtio_id);
        c[PCI_REVISION_ID] = 0;
    }
    c[PCI_INTERRUPT_PIN] = 1;
}

static void virtio_pci_realize(PCIDevice *dev, GError **errp)
{
    VirtIOPCIProxy *p = VIRTIO_PCI(dev);
    VirtIOPCIClass *vc = VIRTIO_PCI_GET_CLASS(dev);
    GError *err = NULL;

    if (p->disable_legacy && p->disable_modern) {
        error_setg(errp, "device cannot work as neither modern nor legacy "
                   "mode is enabled");
        return;
    }
    vc->realize(p, &err);
    if (err) {
        g_propagate_error(errp, err);
        return;
    }
    p->vdev.notify = virtio_pci_notify;
    virtio_pci_set_ids(p, vc->virtio_id);
    p->nvectors = p->vdev.nvqs + 1;
    /* Capabilities in QEMU's order: the virtio ones first, then MSI-X. */
    if ((!p->disable_modern && !virtio_pci_modern_init(p, errp)) ||
        !msix_init_exclusive_bar(dev, p->nvectors, VIRTIO_PCI_MSIX_BAR,
                                 &p->msix_bar, errp)) {
        if (vc->unrealize) {
            vc->unrealize(p);
        }
        return;
    }
    if (!p->disable_legacy) {
        virtio_pci_legacy_init(p);
    }
}

static void virtio_pci_exit(PCIDevice *dev)
{
    VirtIOPCIProxy *p = VIRTIO_PCI(dev);
    VirtIOPCIClass *vc = VIRTIO_PCI_GET_CLASS(dev);

    if (vc->unrealize) {
        vc->unrealize(p);
    }
    memory_region_destroy(&p->modern_bar);
    memory_region_destroy(&p->legacy_bar);
    memory_region_destroy(&p->msix_bar);
}

static void virtio_pci_reset(PCIDevice *dev)
{
    virtio_pci_set_status(VIRTIO_PCI(dev), 0);
}

static const Property virtio_pci_props[] = {
    DEFINE_PROP_BOOL("disable-legacy", VirtIOPCIProxy, disable_legacy, false),
    DEFINE_PROP_BOOL("disable-modern", VirtIOPCIProxy, disable_modern, false),
    DEFINE_PROP_END_OF_LIST(),
};

static void virtio_pci_class_init(ObjectClass *oc, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(oc);

    dc->props = virtio_pci_props;
    k->realize = virtio_pci_realize;
    k->exit = virtio_pci_exit;
    k->reset = virtio_pci_reset;
    k->config_read = virtio_pci_config_read;
    k->config_write = virtio_pci_config_write;
    k->vendor_id = VIRTIO_PCI_VENDOR_ID;
}

static const TypeInfo virtio_pci_info = {
    .name = TYPE_VIRTIO_PCI,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(VirtIOPCIProxy),
    .class_size = sizeof(VirtIOPCIClass),
    .abstract = true,
    .class_init = virtio_pci_class_init,
};

type_init(virtio_pci_register_types)
{
    type_register(&virtio_pci_info);
}
