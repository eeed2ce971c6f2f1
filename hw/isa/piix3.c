/*
 * Intel 82371SB (PIIX3) function 0: the PCI-to-ISA bridge at 00:01.0
 * (8086:7000).  It owns the ISA bus and routes the four PCI interrupt
 * lines PIRQA-D to ISA IRQs through its PIRQ route control registers
 * 0x60-0x63 (82371SB data sheet 2.2.8: bit 7 disables routing, bits 3:0
 * name the IRQ; 0-2, 8 and 13 are reserved).
 *
 * The edge/level control registers (ELCR, ports 0x4d0/0x4d1) belong to
 * the i8259 model; firmware programs them for the IRQs PIRQs use.
 */
#include "qlite/error.h"
#include "qlite/isa.h"
#include "qlite/pci.h"

#define PIIX_NUM_PIRQS      4
#define PIIX3_IRQ_MASK      0x0f

typedef struct PIIX3State {
    PCIDevice parent;
    ISABus *isa_bus;
    uint8_t pirq_levels;        /* bit n: PIRQn asserted */
    uint16_t isa_levels;        /* ISA IRQs we currently drive high */
} PIIX3State;

#define PIIX3(obj) OBJECT_CHECK(PIIX3State, (obj), TYPE_PIIX3)

/* The ISA IRQ PIRQ @n is routed to, or -1. */
static int piix3_pirq_route(PIIX3State *s, int n)
{
    uint8_t r = s->parent.config[PIIX3_PIRQ_ROUTE + n];
    int irq = r & PIIX3_IRQ_MASK;

    if ((r & PIIX3_PIRQ_DISABLE) || irq < 3 || irq == 8 || irq == 13) {
        return -1;
    }
    return irq;
}

/* Recompute which ISA IRQs the PCI side holds high; drive the changes. */
static void piix3_update_irq(PIIX3State *s)
{
    uint16_t levels = 0;
    uint16_t changed;

    for (int n = 0; n < PIIX_NUM_PIRQS; n++) {
        int irq = piix3_pirq_route(s, n);

        if (irq >= 0 && (s->pirq_levels & (1 << n))) {
            levels |= 1 << irq;
        }
    }
    changed = levels ^ s->isa_levels;
    s->isa_levels = levels;
    for (int irq = 0; irq < ISA_NUM_IRQS && s->isa_bus; irq++) {
        if (changed & (1 << irq)) {
            irq_set(s->isa_bus->irqs[irq], (levels >> irq) & 1);
        }
    }
}

static void piix3_set_pirq(void *opaque, int pirq, int level)
{
    PIIX3State *s = opaque;

    if (pirq < 0 || pirq >= PIIX_NUM_PIRQS) {
        return;
    }
    if (level) {
        s->pirq_levels |= 1 << pirq;
    } else {
        s->pirq_levels &= ~(1 << pirq);
    }
    piix3_update_irq(s);
}

static void piix3_config_write(PCIDevice *dev, uint32_t addr, uint32_t val,
                               int len)
{
    pci_default_write_config(dev, addr, val, len);
    if (addr < PIIX3_PIRQ_ROUTE + PIIX_NUM_PIRQS &&
        addr + len > PIIX3_PIRQ_ROUTE) {
        piix3_update_irq(PIIX3(dev));
    }
}

static void piix3_realize(PCIDevice *dev, GError **errp)
{
    PIIX3State *s = PIIX3(dev);

    s->isa_bus = isa_bus_new(DEVICE(dev), get_system_io());
    pci_bus_irqs(dev->bus, piix3_set_pirq, pci_swizzle_map_irq, s,
                 PIIX_NUM_PIRQS);
}

/* Register values after reset (82371SB data sheet, section 2.2). */
static void piix3_reset(PCIDevice *dev)
{
    PIIX3State *s = PIIX3(dev);
    uint8_t *c = dev->config;

    c[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_MULTI_FUNCTION;
    pci_set_word(c + PCI_STATUS, PCI_STATUS_DEVSEL_MEDIUM);
    c[0x4c] = 0x4d;     /* IORT: ISA I/O recovery timer */
    c[0x4e] = 0x03;     /* XBCS: X-bus chip select */
    c[0x4f] = 0x00;
    memset(c + PIIX3_PIRQ_ROUTE, PIIX3_PIRQ_DISABLE, PIIX_NUM_PIRQS);
    c[0x69] = 0x02;     /* TOM: top of memory */
    c[0x70] = 0x80;     /* MBIRQ0: motherboard IRQ routing disabled */
    c[0x76] = 0x0c;     /* MBDMA0/1 */
    c[0x77] = 0x0c;
    c[0x78] = 0x02;     /* PCSC: programmable chip select */
    c[0xa0] = 0x08;     /* SMICNTL */
    c[0xa2] = 0x00;
    c[0xa3] = 0x00;
    c[0xa4] = 0x00;
    c[0xa5] = 0x00;
    c[0xa6] = 0x00;
    c[0xa7] = 0x00;
    c[0xa8] = 0x0f;     /* SMIREQ */
    c[0xaa] = 0x00;
    c[0xab] = 0x00;
    c[0xac] = 0x00;
    c[0xae] = 0x00;
    s->pirq_levels = 0;
    piix3_update_irq(s);
}

ISABus *piix3_isa_bus(PCIDevice *piix3)
{
    return PIIX3(piix3)->isa_bus;
}

static void piix3_class_init(ObjectClass *oc, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(oc);

    dc->desc = "ISA bridge";
    dc->category = DEVICE_CATEGORY_BRIDGE;
    dc->user_creatable = false;
    k->realize = piix3_realize;
    k->reset = piix3_reset;
    k->config_write = piix3_config_write;
    k->vendor_id = PCI_VENDOR_ID_INTEL;
    k->device_id = 0x7000;
    k->class_id = PCI_CLASS_BRIDGE_ISA;
    k->subsystem_vendor_id = PCI_SUBVENDOR_ID_REDHAT_QUMRANET;
    k->subsystem_id = PCI_SUBDEVICE_ID_QEMU;
}

static const TypeInfo piix3_info = {
    .name = TYPE_PIIX3,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(PIIX3State),
    .class_init = piix3_class_init,
};

type_init(piix3_register_types)
{
    type_register(&piix3_info);
}
