/*
 * Plain MSI with one vector and a 64-bit address (PCI Local Bus
 * Specification 3.0, 6.8.1), and the one place every PCI message leaves
 * the device model.
 */
#include "qlite/apic.h"
#include "qlite/error.h"
#include "qlite/irqchip.h"
#include "qlite/msix.h"

/*
 * To the accelerator's local APICs where it keeps them; otherwise the
 * emulated ones take the message as the 0xfee00000 window would.
 */
void pci_msi_send(uint64_t addr, uint32_t data)
{
    const AccelIrqchip *chip = irqchip_accel();

    if (chip) {
        if (!chip->send_msi(addr, data)) {
            qlite_log_guest_error("MSI to 0x%" PRIx64 " data 0x%x was "
                                  "refused by the accelerator", addr, data);
        }
        return;
    }
    apic_deliver_msi(addr, data);
}

bool msi_init(PCIDevice *dev, uint8_t offset, GError **errp)
{
    uint8_t cap = pci_add_capability(dev, PCI_CAP_ID_MSI, offset,
                                     PCI_MSI_CAP_SIZE_64, errp);

    if (!cap) {
        return false;
    }
    dev->msi_cap = cap;
    /* One vector (MMC 0), 64-bit capable; enable and address writable. */
    pci_set_word(dev->config + cap + PCI_MSI_FLAGS, PCI_MSI_FLAGS_64BIT);
    dev->wmask[cap + PCI_MSI_FLAGS] = PCI_MSI_FLAGS_ENABLE;
    pci_set_long(dev->wmask + cap + PCI_MSI_ADDRESS_LO, 0xfffffffc);
    pci_set_long(dev->wmask + cap + PCI_MSI_ADDRESS_HI, 0xffffffff);
    pci_set_word(dev->wmask + cap + PCI_MSI_DATA_64, 0xffff);
    return true;
}

bool msi_enabled(PCIDevice *dev)
{
    return dev->msi_cap && (pci_get_word(dev->config + dev->msi_cap +
                                         PCI_MSI_FLAGS) & PCI_MSI_FLAGS_ENABLE);
}

void msi_notify(PCIDevice *dev)
{
    uint8_t *c = dev->config + dev->msi_cap;
    uint64_t addr;

    if (!msi_enabled(dev) ||
        !(pci_get_word(dev->config + PCI_COMMAND) & PCI_COMMAND_MASTER)) {
        return;
    }
    addr = pci_get_long(c + PCI_MSI_ADDRESS_LO) |
           (uint64_t)pci_get_long(c + PCI_MSI_ADDRESS_HI) << 32;
    pci_msi_send(addr, pci_get_word(c + PCI_MSI_DATA_64));
}
