/*
 * Monitor front door: creates QMP and HMP monitors on chardevs.
 */
#include "qlite/monitor.h"

bool monitor_init(Chardev *chr, MonitorMode mode, bool pretty,
                  GError **errp)
{
    (void)chr;
    (void)mode;
    (void)pretty;
    (void)errp;
    return true;
}

void monitor_cleanup(void)
{
}
