/* Who delivers interrupts (see qlite/irqchip.h). */
#include "qlite/irqchip.h"

static const AccelIrqchip *accel_chip;

void irqchip_set_accel(const AccelIrqchip *chip)
{
    accel_chip = chip;
}

const AccelIrqchip *irqchip_accel(void)
{
    return accel_chip;
}
