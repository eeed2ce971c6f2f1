/*
 * query-stats and query-stats-schemas (QEMU 7.2's qapi/stats.json), and
 * HMP "info stats": the counters the statistics providers registered
 * (include/qlite/stats.h), filtered by target, provider, name and vCPU.
 */
#include "monitor-internal.h"
#include "qlite/cpu.h"
#include "qlite/error.h"
#include "qlite/stats.h"

/* What one query asks for (arguments already checked by the schema). */
typedef struct StatsQuery {
    StatsTarget target;
    json_t *providers;          /* [StatsRequest], or NULL for all */
    json_t *vcpus;              /* [str] of QOM paths, or NULL for all */
} StatsQuery;

static bool stats_str_in(json_t *list, const char *s)
{
    size_t i;
    json_t *v;

    json_array_foreach(list, i, v) {
        if (!g_strcmp0(json_string_value(v), s)) {
            return true;
        }
    }
    return false;
}

/*
 * Does @q want provider @name?  *names becomes the names it wants from
 * it (the union over its requests), or NULL for every name.
 */
static bool stats_query_provider(const StatsQuery *q, const char *name,
                                 json_t **names)
{
    bool found = false, all = false;
    json_t *req;
    size_t i;

    *names = NULL;
    if (!q->providers) {
        return true;
    }
    json_array_foreach(q->providers, i, req) {
        json_t *n = json_object_get(req, "names");

        if (strcmp(json_string_value(json_object_get(req, "provider")),
                   name)) {
            continue;
        }
        found = true;
        if (!n) {
            all = true;
        } else if (!*names) {
            *names = json_deep_copy(n);
        } else {
            json_array_extend(*names, n);
        }
    }
    if (all) {
        json_decref(*names);
        *names = NULL;
    }
    return found;
}

/* One statistic's value: a histogram's buckets, a bool or an int. */
static json_t *stats_value(const StatsDesc *d, const uint64_t *v)
{
    json_t *list;

    if (d->type == STATS_TYPE_LINEAR_HISTOGRAM ||
        d->type == STATS_TYPE_LOG2_HISTOGRAM || d->size > 1) {
        list = json_array();
        for (size_t i = 0; i < stats_desc_values(d); i++) {
            json_array_append_new(list, json_integer(MIN(v[i], INT64_MAX)));
        }
        return list;
    }
    if (d->unit == STATS_UNIT_BOOLEAN) {
        return json_boolean(v[0] != 0);
    }
    return json_integer(MIN(v[0], INT64_MAX));
}

/*
 * The StatsResult of provider @p for the VM or @cpu (at @path), or NULL
 * when it has nothing there that @names lets through.
 */
static json_t *stats_result(const StatsProvider *p, StatsTarget target,
                            CPUState *cpu, const char *path, json_t *names)
{
    size_t n, k = 0;
    const StatsDesc *desc = p->schema(target, &n);
    g_autofree uint64_t *values = g_new0(uint64_t,
                                         stats_values_count(desc, n) + 1);
    json_t *stats, *res;

    if (!n || !p->read(target, cpu, values)) {
        return NULL;
    }
    stats = json_array();
    for (size_t i = 0; i < n; k += stats_desc_values(&desc[i]), i++) {
        if (!names || stats_str_in(names, desc[i].name)) {
            json_array_append_new(stats, json_pack(
                "{s:s,s:o}", "name", desc[i].name,
                "value", stats_value(&desc[i], &values[k])));
        }
    }
    if (!json_array_size(stats)) {
        json_decref(stats);
        return NULL;
    }
    res = json_pack("{s:s}", "provider", p->name);
    if (path) {
        json_object_set_new(res, "qom-path", json_string(path));
    }
    json_object_set_new(res, "stats", stats);
    return res;
}

static void stats_append(json_t *list, json_t *res)
{
    if (res) {
        json_array_append_new(list, res);
    }
}

/* Provider @p's results for @q: the VM's, or each wanted vCPU's. */
static void stats_collect_provider(const StatsQuery *q,
                                   const StatsProvider *p, json_t *names,
                                   json_t *list)
{
    if (q->target == STATS_TARGET_VM) {
        stats_append(list, stats_result(p, q->target, NULL, NULL, names));
        return;
    }
    for (int i = 0; i < cpu_count(); i++) {
        g_autofree char *path = qmp_cpu_qom_path(i);

        if (!q->vcpus || stats_str_in(q->vcpus, path)) {
            stats_append(list, stats_result(p, q->target, cpu_get(i), path,
                                            names));
        }
    }
}

static json_t *stats_collect(const StatsQuery *q)
{
    json_t *list = json_array();
    const StatsProvider *p;

    for (size_t i = 0; (p = stats_provider_get(i)); i++) {
        json_t *names;

        if (stats_query_provider(q, p->name, &names)) {
            stats_collect_provider(q, p, names, list);
            json_decref(names);
        }
    }
    return list;
}

json_t *qmp_cmd_query_stats(QmpSession *s, json_t *a, GError **errp)
{
    StatsQuery q = {
        .target = stats_target_parse(qmp_arg_str(a, "target")),
        .providers = json_object_get(a, "providers"),
        .vcpus = json_object_get(a, "vcpus"),
    };

    /* As QEMU's union: 'vcpus' is a member of the vcpu branch only. */
    if (q.vcpus && q.target != STATS_TARGET_VCPU) {
        error_setg(errp, "Parameter 'vcpus' is unexpected");
        return NULL;
    }
    return stats_collect(&q);
}

/* ---- query-stats-schemas ---------------------------------------------- */

static json_t *stats_schema_value(const StatsDesc *d)
{
    json_t *v = json_pack("{s:s,s:s,s:i}", "name", d->name,
                          "type", stats_type_name(d->type),
                          "exponent", (json_int_t)d->exponent);

    if (d->unit != STATS_UNIT_NONE) {
        json_object_set_new(v, "unit", json_string(stats_unit_name(d->unit)));
    }
    if (d->exponent) {
        json_object_set_new(v, "base", json_integer(d->base));
    }
    if (d->type == STATS_TYPE_LINEAR_HISTOGRAM) {
        json_object_set_new(v, "bucket-size", json_integer(d->bucket_size));
    }
    return v;
}

static json_t *stats_schema(const StatsProvider *p, StatsTarget target)
{
    size_t n;
    const StatsDesc *desc = p->schema(target, &n);
    json_t *stats;

    if (!n) {
        return NULL;
    }
    stats = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(stats, stats_schema_value(&desc[i]));
    }
    return json_pack("{s:s,s:s,s:o}", "provider", p->name,
                     "target", stats_target_name(target), "stats", stats);
}

json_t *qmp_cmd_query_stats_schemas(QmpSession *s, json_t *a, GError **errp)
{
    const char *want = qmp_arg_str(a, "provider");
    json_t *list = json_array();
    const StatsProvider *p;

    for (size_t i = 0; (p = stats_provider_get(i)); i++) {
        if (want && strcmp(want, p->name)) {
            continue;
        }
        for (int t = 0; t < STATS_TARGET__MAX; t++) {
            stats_append(list, stats_schema(p, t));
        }
    }
    return list;
}

/* ---- HMP: info stats target [names] [provider] ------------------------ */

/* The descriptor of @name in provider @pname's schema for @target. */
static const StatsDesc *stats_find_desc(const char *pname, StatsTarget t,
                                        const char *name)
{
    const StatsProvider *p;

    for (size_t i = 0; (p = stats_provider_get(i)); i++) {
        size_t n;
        const StatsDesc *desc = p->schema(t, &n);

        for (size_t k = 0; !strcmp(p->name, pname) && k < n; k++) {
            if (!strcmp(desc[k].name, name)) {
                return &desc[k];
            }
        }
    }
    return NULL;
}

/* The unit as QEMU's "info stats" shows it: "ns", "KiB", "cycles". */
static void hmp_stats_unit(GString *out, const StatsDesc *d)
{
    static const char *const si[] = { "n", "u", "m" };
    static const char *const bin[] = { "Ki", "Mi", "Gi" };
    const char *prefix = NULL;

    if (d->unit == STATS_UNIT_SECONDS && d->base == 10 &&
        d->exponent >= -9 && d->exponent <= -3 && d->exponent % 3 == 0) {
        prefix = si[(d->exponent + 9) / 3];
    } else if (d->unit == STATS_UNIT_BYTES && d->base == 2 &&
               d->exponent >= 10 && d->exponent <= 30 &&
               d->exponent % 10 == 0) {
        prefix = bin[d->exponent / 10 - 1];
    } else if (d->exponent) {
        g_string_append_printf(out, ", * %u^%d", d->base, d->exponent);
    }
    if (d->unit == STATS_UNIT_NONE) {
        return;
    }
    g_string_append_printf(out, ", %s%s", prefix ? prefix : "",
                           prefix && d->unit == STATS_UNIT_SECONDS ? "s" :
                           prefix ? "B" : stats_unit_name(d->unit));
}

static void hmp_stats_print_one(GString *out, const StatsDesc *d,
                                json_t *value)
{
    g_autofree char *text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);

    g_string_append_printf(out, "    %s (%s", d->name,
                           stats_type_name(d->type));
    hmp_stats_unit(out, d);
    g_string_append_printf(out, "): %s\n", json_is_boolean(value) ?
                           (json_is_true(value) ? "yes" : "no") : text);
}

static void hmp_stats_print(GString *out, StatsTarget target, json_t *list)
{
    json_t *res, *st;
    size_t i, k;

    json_array_foreach(list, i, res) {
        const char *pname = json_string_value(json_object_get(res,
                                                              "provider"));

        g_string_append_printf(out, "provider: %s\n", pname);
        json_array_foreach(json_object_get(res, "stats"), k, st) {
            const StatsDesc *d = stats_find_desc(
                pname, target, json_string_value(json_object_get(st, "name")));

            if (d) {
                hmp_stats_print_one(out, d, json_object_get(st, "value"));
            }
        }
    }
}

/* One StatsRequest for "info stats": provider @pname, @names or all. */
static json_t *hmp_stats_request(const char *pname, const char *names)
{
    json_t *req = json_pack("{s:s}", "provider", pname);
    g_auto(GStrv) split = NULL;
    json_t *list;

    if (names && strcmp(names, "*")) {
        split = g_strsplit(names, ",", -1);
        list = json_array();
        for (char **w = split; *w; w++) {
            json_array_append_new(list, json_string(*w));
        }
        json_object_set_new(req, "names", list);
    }
    return req;
}

/* The providers filter of "info stats": @names ("*" for all), @provider. */
static json_t *hmp_stats_providers(const char *names, const char *provider)
{
    const StatsProvider *p;
    json_t *list;

    if (provider) {
        return json_pack("[o]", hmp_stats_request(provider, names));
    }
    list = json_array();
    for (size_t i = 0; (p = stats_provider_get(i)); i++) {
        json_array_append_new(list, hmp_stats_request(p->name, names));
    }
    return list;
}

/* Split @args into at most @max words; false (and a message) on more. */
static bool hmp_stats_words(GString *out, char **split, const char **word,
                            int max)
{
    int n = 0;

    for (char **p = split; *p; p++) {
        if (!**p) {
            continue;
        }
        if (n == max) {
            g_string_append(out, "info stats: too many arguments\n");
            return false;
        }
        word[n++] = *p;
    }
    return true;
}

void hmp_info_stats(GString *out, const char *args, int cpu_index)
{
    g_auto(GStrv) split = g_strsplit_set(args, " \t", -1);
    const char *word[3] = { NULL, NULL, NULL };
    g_autofree char *path = NULL;
    StatsQuery q = { .target = STATS_TARGET__MAX };
    json_t *list;

    if (!hmp_stats_words(out, split, word, 3)) {
        return;
    }
    if (word[0]) {
        q.target = stats_target_parse(word[0]);
    }
    if (q.target == STATS_TARGET__MAX) {
        g_string_append(out, "info stats: the target must be vm or vcpu\n");
        return;
    }
    if (word[2] && strcmp(word[2], "kvm") && strcmp(word[2], "tcg")) {
        g_string_append_printf(out, "info stats: unknown provider '%s'\n",
                               word[2]);
        return;
    }
    q.providers = hmp_stats_providers(word[1], word[2]);
    if (q.target == STATS_TARGET_VCPU) {
        /* As QEMU: the monitor's current CPU. */
        path = qmp_cpu_qom_path(MAX(cpu_index, 0));
        q.vcpus = json_pack("[s]", path);
    }
    list = stats_collect(&q);
    hmp_stats_print(out, q.target, list);
    json_decref(list);
    json_decref(q.providers);
    json_decref(q.vcpus);
}
