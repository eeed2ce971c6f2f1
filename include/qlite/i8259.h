/*
 * The PC's pair of 8259A interrupt controllers ("i8259"): master at
 * 0x20/0x21, slave at 0xa0/0xa1 cascaded on master IRQ 2, ELCR at
 * 0x4d0/0x4d1.  GPIO inputs 0-15 are the ISA IRQ lines; GPIO output 0 is
 * the INT line to the CPU.
 */
#ifndef QLITE_I8259_H
#define QLITE_I8259_H

#include "qlite/qdev.h"

#define TYPE_I8259 "i8259"

/*
 * The CPU's interrupt acknowledge cycle: returns the vector of the highest
 * priority pending request and marks it in service; with nothing pending,
 * the spurious vector (master base + 7).  Call with the big lock held.
 */
int i8259_acknowledge(DeviceState *pic);

#endif
