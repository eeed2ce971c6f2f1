/*
 * Monitors: QMP (JSON, for programs) and HMP (text, for people), each on a
 * chardev.  vl.c creates one per -qmp, -monitor and -mon.
 */
#ifndef QLITE_MONITOR_H
#define QLITE_MONITOR_H

#include "qlite/chardev.h"

typedef enum {
    MONITOR_MODE_READLINE,      /* HMP */
    MONITOR_MODE_CONTROL,       /* QMP */
} MonitorMode;

/* Attach a monitor to @chr; @pretty indents QMP replies. */
bool monitor_init(Chardev *chr, MonitorMode mode, bool pretty,
                  GError **errp);
/* Close every monitor (exit path). */
void monitor_cleanup(void);

#endif
