/*
 * IRQ lines: a callback plus an opaque pointer.  A device raises or lowers
 * its line and never knows what is behind it.
 */
#ifndef QLITE_IRQ_H
#define QLITE_IRQ_H

#include "qlite/osdep.h"

typedef void (*IrqHandler)(void *opaque, int n, int level);

typedef struct IrqLine {
    IrqHandler handler;
    void *opaque;
    int n;
    int level;      /* last level set, for qtest and "info" */
} IrqLine;

IrqLine *irq_new(IrqHandler handler, void *opaque, int n);
/* An array of @count lines numbered 0..count-1 into one handler. */
IrqLine **irq_new_array(IrqHandler handler, void *opaque, int count);
void irq_free(IrqLine *irq);

/* Set the level; a NULL line (not wired) is ignored. */
void irq_set(IrqLine *irq, int level);
static inline void irq_raise(IrqLine *irq) { irq_set(irq, 1); }
static inline void irq_lower(IrqLine *irq) { irq_set(irq, 0); }
/* Raise then lower: an edge. */
void irq_pulse(IrqLine *irq);

/* Replace the target of @irq (qtest interception); returns nothing. */
void irq_redirect(IrqLine *irq, IrqHandler handler, void *opaque, int n);

#endif
