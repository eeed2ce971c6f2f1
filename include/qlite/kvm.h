/*
 * What the board needs to know about KVM: whether the interrupt
 * controllers (PIC, IOAPIC, local APICs) and the PIT live in the kernel,
 * and the interrupt lines that reach them.
 */
#ifndef QLITE_KVM_H
#define QLITE_KVM_H

#include "qlite/irq.h"

#define KVM_NUM_GSIS 24     /* IOAPIC pins; GSIs 0-15 are the ISA IRQs */

/* true once the kvm accelerator set up its in-kernel irqchip. */
bool kvm_irqchip_in_kernel(void);

/*
 * ISA_NUM_IRQS lines for the ISA bus: IRQ n goes to GSI n (PIC pin n and
 * IOAPIC pin n, IRQ 0 to IOAPIC pin 2 as on a PC).  NULL without KVM.
 */
IrqLine **kvm_isa_irqs(void);

/* KVM_NUM_GSIS lines to the in-kernel IOAPIC (PCI INTx).  NULL w/o KVM. */
IrqLine **kvm_gsi_irqs(void);

/* Deliver an MSI (address/data as the device wrote them). */
bool kvm_send_msi(uint64_t addr, uint32_t data);

#endif
