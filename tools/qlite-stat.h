/*
 * qlite-stat: a kvm_stat for qlite (and QEMU), over QMP query-stats.
 *
 *   qlite-stat-qmp.c   a minimal QMP client: connect, greet, negotiate,
 *                      run one command, each step under a timeout
 *   qlite-stat-view.c  samples into rows (total, rate), text and JSON
 *   qlite-stat.c       options, the polling loop, the terminal
 */
#ifndef QLITE_STAT_H
#define QLITE_STAT_H

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* ---- qlite-stat-qmp.c ---- */

/* The GError domain of every qlite-stat error (code 0). */
#define STAT_ERROR stat_error_quark()
GQuark stat_error_quark(void);

typedef struct StatQmp StatQmp;

/*
 * Connect to the QMP socket @path ("unix:" prefix allowed), read the
 * greeting and leave capabilities negotiation; @timeout_ms bounds each
 * step.  NULL with @errp set on failure.
 */
StatQmp *stat_qmp_open(const char *path, int timeout_ms, GError **errp);
/* The "return" of @cmd with @args (borrowed, may be NULL): new ref. */
json_t *stat_qmp_call(StatQmp *q, const char *cmd, json_t *args,
                      GError **errp);
void stat_qmp_close(StatQmp *q);

/* ---- qlite-stat-view.c ---- */

typedef struct StatOptions {
    bool per_vcpu;              /* one row per counter and vCPU */
    const char *provider;       /* only this provider, or NULL */
    GRegex *fields;             /* only matching names, or NULL */
} StatOptions;

/*
 * One sample: counter name -> total (gint64 *), summed over the vCPUs
 * unless per_vcpu; from query-stats' results for vm and for vcpu.
 */
GHashTable *stat_sample_new(json_t *vm, json_t *vcpu,
                            const StatOptions *opts);

typedef struct StatRow {
    const char *name;           /* borrowed from the sample */
    int64_t total;
    double rate;                /* per second since the previous sample */
} StatRow;

/* The rows of @cur against @prev over @seconds, by rate then total. */
GArray *stat_rows(GHashTable *cur, GHashTable *prev, double seconds);
/* The table as text, at most @max_rows rows (0: all). */
void stat_print_table(GString *out, GArray *rows, const char *title,
                      unsigned max_rows);
/* One JSON object per sample: {"interval":..,"stats":{name:{..}}}. */
json_t *stat_rows_json(GArray *rows, double seconds);

#endif
