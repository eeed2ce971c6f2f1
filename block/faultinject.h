/*
 * The fault-injection filter (block/faultinject.c): for tests only.
 */
#ifndef QLITE_FAULTINJECT_H
#define QLITE_FAULTINJECT_H

#include "block_int.h"

/* Exit status of a process stopped by a simulated power cut. */
#define FAULTINJECT_CUT_STATUS 86

/*
 * Put every protocol node opened from now on under the filter, which
 * fails or cuts as @spec says ("fail-op=write,fail-at=3,errno=ENOSPC",
 * "cut-after-bytes=70000,reorder=on"; see faultinject.c).
 */
bool bdrv_faultinject_arm(const char *spec, GError **errp);
/* One line of counters (calls per operation, bytes, failures). */
void bdrv_faultinject_report(FILE *out);

#endif
