/* Shared inside system/ only. */
#ifndef SYSTEM_INTERNAL_H
#define SYSTEM_INTERNAL_H

#include "qlite/osdep.h"
#include "qlite/runstate.h"

/* The big lock itself, for condition variables that wait on it. */
GMutex *bql_mutex(void);
/* Add the timer GSource to @ctx (main-loop.c calls it). */
void timers_attach_source(GMainContext *ctx);
/* Nanoseconds until the nearest live timer, -1 for none. */
int64_t timers_deadline_ns(void);
/* S3 entry and wake-up requests, from runstate_handle_requests(). */
void suspend_handle_requests(const RunstateHooks *hooks);

#endif
