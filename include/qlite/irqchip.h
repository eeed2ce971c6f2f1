/*
 * Who delivers interrupts: the board's own models (i8259, IOAPIC, local
 * APICs, PIT), or an interrupt controller that an accelerator keeps for
 * itself (KVM's in-kernel irqchip).  The board asks this, never which
 * accelerator runs; an accelerator that keeps the controllers registers
 * them before the board is built.
 */
#ifndef QLITE_IRQCHIP_H
#define QLITE_IRQCHIP_H

#include "qlite/irq.h"

typedef struct AccelIrqchip {
    /*
     * ISA_NUM_IRQS lines for the ISA bus: IRQ n goes to GSI n (PIC pin n
     * and IOAPIC pin n, IRQ 0 to IOAPIC pin 2 as on a PC).
     */
    IrqLine **(*isa_irqs)(void);
    /* Deliver an MSI as the device wrote it; false if refused. */
    bool (*send_msi)(uint64_t addr, uint32_t data);
} AccelIrqchip;

/* @chip stays valid; NULL gives interrupt delivery back to the board. */
void irqchip_set_accel(const AccelIrqchip *chip);
/*
 * The accelerator's irqchip, or NULL: then the board creates and wires
 * its own PIC, IOAPIC, PIT and local APICs.
 */
const AccelIrqchip *irqchip_accel(void);

#endif
