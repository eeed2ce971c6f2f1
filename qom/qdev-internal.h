/* Shared between qdev.c and qdev-properties.c only. */
#ifndef QOM_QDEV_INTERNAL_H
#define QOM_QDEV_INTERNAL_H

#include "qlite/qdev.h"

/* Defaults into the struct, one QOM property per table entry. */
void qdev_props_init(DeviceState *dev);
/* Free strings, detach chardevs. */
void qdev_props_finalize(DeviceState *dev);

#endif
