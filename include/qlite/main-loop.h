/*
 * The main loop: GLib's default main context in the main thread, plus the
 * big lock (BQL) that guards all device state.
 *
 * The main thread holds the BQL except while it sleeps in poll(); vCPU
 * threads take it on every exit to a device model.  Timers and bottom
 * halves run in the main thread with the BQL held.
 */
#ifndef QLITE_MAIN_LOOP_H
#define QLITE_MAIN_LOOP_H

#include "qlite/osdep.h"

void bql_lock(void);
void bql_unlock(void);
bool bql_locked(void);      /* by this thread */
/* Wait on @cond with the big lock held (given up while waiting). */
void bql_cond_wait(GCond *cond);

/* Set up the loop (default GMainContext, poll hook); call once. */
void main_loop_init(void);
/* One iteration; blocks when nothing is ready. */
void main_loop_wait(bool blocking);
/* Run until a shutdown is requested (runstate.h). */
int main_loop_run(void);
/* Wake the main loop from any thread. */
void main_loop_kick(void);

/* Clocks, in nanoseconds. */
typedef enum {
    QLITE_CLOCK_REALTIME,     /* monotonic host time; always runs */
    QLITE_CLOCK_VIRTUAL,      /* guest time: stops while the VM is paused */
    QLITE_CLOCK_HOST,         /* wall-clock time (RTC) */
    QLITE_CLOCK_MAX
} QliteClockType;

int64_t clock_get_ns(QliteClockType type);
/* Start/stop the virtual clock (runstate changes). */
void clock_virtual_enable(bool enable);
/*
 * Under qtest, virtual time moves only when the test says so.
 * clock_virtual_set_manual() switches to that; clock_virtual_advance()
 * moves time to @ns, running timers due on the way.
 */
void clock_virtual_set_manual(bool manual);
void clock_virtual_advance(int64_t ns);
/* The earliest virtual timer deadline, or -1. */
int64_t clock_virtual_next_deadline(void);

typedef void QliteTimerCb(void *opaque);
typedef struct QliteTimer QliteTimer;

QliteTimer *timer_new_ns(QliteClockType type, QliteTimerCb *cb, void *opaque);
void timer_free(QliteTimer *t);
void timer_mod_ns(QliteTimer *t, int64_t expire_ns);   /* absolute */
void timer_del(QliteTimer *t);
bool timer_pending(QliteTimer *t);
int64_t timer_expire_ns(QliteTimer *t);     /* -1 when not pending */

/* Bottom halves: a callback run soon in the main thread. */
typedef struct QliteBH QliteBH;
typedef void QliteBHFunc(void *opaque);
QliteBH *bh_new(QliteBHFunc *cb, void *opaque);
void bh_schedule(QliteBH *bh);      /* thread-safe */
void bh_cancel(QliteBH *bh);
void bh_delete(QliteBH *bh);

#endif
