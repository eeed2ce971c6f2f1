/*
 * Samples and their display: query-stats results folded into one table
 * of named totals, then rows with the rate since the previous sample,
 * printed as kvm_stat prints them or as JSON.
 */
#include "qlite-stat.h"

#include <inttypes.h>
#include <string.h>

/* Add @value to the total of @key (a new key starts at 0). */
static void stat_sample_add(GHashTable *s, const char *key, gint64 value)
{
    gint64 *total = g_hash_table_lookup(s, key);

    if (!total) {
        total = g_new0(gint64, 1);
        g_hash_table_insert(s, g_strdup(key), total);
    }
    *total += value;
}

/* The vCPU number at the end of a QOM path "...device[N]", or -1. */
static int stat_vcpu_index(const char *path)
{
    const char *open = path ? strrchr(path, '[') : NULL;

    return open ? atoi(open + 1) : -1;
}

/* One StatsResult's integer counters; histograms and booleans are not. */
static void stat_sample_result(GHashTable *s, json_t *res,
                               const StatOptions *opts)
{
    const char *path = json_string_value(json_object_get(res, "qom-path"));
    json_t *st;
    size_t i;

    json_array_foreach(json_object_get(res, "stats"), i, st) {
        const char *name = json_string_value(json_object_get(st, "name"));
        json_t *value = json_object_get(st, "value");
        g_autofree char *key = NULL;

        if (!name || !json_is_integer(value) ||
            (opts->fields && !g_regex_match(opts->fields, name, 0, NULL))) {
            continue;
        }
        key = opts->per_vcpu && path ?
              g_strdup_printf("%s(%d)", name, stat_vcpu_index(path)) :
              g_strdup(name);
        stat_sample_add(s, key, json_integer_value(value));
    }
}

static void stat_sample_results(GHashTable *s, json_t *list,
                                const StatOptions *opts)
{
    json_t *res;
    size_t i;

    json_array_foreach(list, i, res) {
        stat_sample_result(s, res, opts);
    }
}

GHashTable *stat_sample_new(json_t *vm, json_t *vcpu,
                            const StatOptions *opts)
{
    GHashTable *s = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                          g_free);

    stat_sample_results(s, vm, opts);
    stat_sample_results(s, vcpu, opts);
    return s;
}

static gint stat_row_cmp(gconstpointer pa, gconstpointer pb)
{
    const StatRow *a = pa, *b = pb;

    if (a->rate != b->rate) {
        return a->rate < b->rate ? 1 : -1;
    }
    if (a->total != b->total) {
        return a->total < b->total ? 1 : -1;
    }
    return strcmp(a->name, b->name);
}

GArray *stat_rows(GHashTable *cur, GHashTable *prev, double seconds)
{
    GArray *rows = g_array_new(false, false, sizeof(StatRow));
    GHashTableIter it;
    gpointer key, value;

    g_hash_table_iter_init(&it, cur);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        const gint64 *before = prev ? g_hash_table_lookup(prev, key) : NULL;
        StatRow r = { .name = key, .total = *(gint64 *)value };

        if (before && seconds > 0) {
            r.rate = (double)(r.total - *before) / seconds;
        }
        g_array_append_val(rows, r);
    }
    g_array_sort(rows, stat_row_cmp);
    return rows;
}

void stat_print_table(GString *out, GArray *rows, const char *title,
                      unsigned max_rows)
{
    g_string_append_printf(out, "%s\n\n %-40s %20s %12s\n", title, "Event",
                           "Total", "Current");
    for (guint i = 0; i < rows->len && (!max_rows || i < max_rows); i++) {
        const StatRow *r = &g_array_index(rows, StatRow, i);

        g_string_append_printf(out, " %-40s %20" PRId64 " %12.0f\n",
                               r->name, r->total, r->rate);
    }
}

json_t *stat_rows_json(GArray *rows, double seconds)
{
    json_t *stats = json_object();

    for (guint i = 0; i < rows->len; i++) {
        const StatRow *r = &g_array_index(rows, StatRow, i);

        json_object_set_new(stats, r->name, json_pack(
            "{s:I,s:f}", "total", (json_int_t)r->total, "rate", r->rate));
    }
    return json_pack("{s:f,s:f,s:o}", "time",
                     (double)g_get_real_time() / G_USEC_PER_SEC,
                     "interval", seconds, "stats", stats);
}
