/*
 * The virtio PCI transport (virtio 1.2, 4.1): a PCI function that carries
 * one VirtIODevice.  A device type (virtio-blk-pci ...) derives from
 * TYPE_VIRTIO_PCI, fills its class's realize with "set up vdev: config
 * size, host features, queues", and the transport does the rest:
 *
 *   BAR 0  legacy I/O header + device config   (unless disable-legacy)
 *   BAR 1  MSI-X table and PBA                 (one vector per queue + 1)
 *   BAR 4  64-bit memory: common cfg 0x0000, ISR 0x1000, device cfg
 *          0x2000, notify 0x3000               (unless disable-modern)
 *
 * plus the vendor capabilities that point into BAR 4 and the PCI
 * configuration access capability.
 */
#ifndef QLITE_VIRTIO_PCI_H
#define QLITE_VIRTIO_PCI_H

#include "qlite/pci.h"
#include "qlite/virtio.h"

#define TYPE_VIRTIO_PCI "virtio-pci"

typedef struct VirtIOPCIProxy {
    PCIDevice parent;
    VirtIODevice vdev;
    /* properties */
    bool disable_legacy;
    bool disable_modern;
    /* transport registers */
    uint32_t dfselect;          /* device_feature_select */
    uint32_t gfselect;          /* driver_feature_select */
    uint32_t gfeatures[2];      /* driver_feature words as written */
    uint16_t queue_sel;
    uint16_t nvectors;
    uint8_t cfg_cap;            /* PCI cfg access capability offset */
    MemoryRegion legacy_bar;
    MemoryRegion msix_bar;
    MemoryRegion modern_bar;
} VirtIOPCIProxy;

typedef struct VirtIOPCIClass {
    PCIDeviceClass parent;
    /* Device type: virtio_init(), host features, queues. */
    void (*realize)(VirtIOPCIProxy *proxy, GError **errp);
    void (*unrealize)(VirtIOPCIProxy *proxy);
    uint16_t virtio_id;         /* 5 Device Types: 2 block, 1 net ... */
} VirtIOPCIClass;

#define VIRTIO_PCI(obj) OBJECT_CHECK(VirtIOPCIProxy, (obj), TYPE_VIRTIO_PCI)
#define VIRTIO_PCI_CLASS(k) \
    OBJECT_CLASS_CHECK(VirtIOPCIClass, (k), TYPE_VIRTIO_PCI)
#define VIRTIO_PCI_GET_CLASS(obj) \
    OBJECT_GET_CLASS(VirtIOPCIClass, (obj), TYPE_VIRTIO_PCI)

#endif
