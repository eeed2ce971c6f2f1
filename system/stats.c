/*
 * The registry of statistics providers (include/qlite/stats.h) and the
 * names of QEMU's Stats* enums.
 */
#include "qlite/stats.h"

#define STATS_MAX_PROVIDERS 4

static const StatsProvider *stats_providers[STATS_MAX_PROVIDERS];
static size_t stats_nproviders;

void stats_register_provider(const StatsProvider *p)
{
    for (size_t i = 0; i < stats_nproviders; i++) {
        if (stats_providers[i] == p) {
            return;             /* a second machine set-up (tests) */
        }
    }
    g_assert(stats_nproviders < STATS_MAX_PROVIDERS);
    stats_providers[stats_nproviders++] = p;
}

const StatsProvider *stats_provider_get(size_t i)
{
    return i < stats_nproviders ? stats_providers[i] : NULL;
}

size_t stats_values_count(const StatsDesc *desc, size_t n)
{
    size_t total = 0;

    for (size_t i = 0; i < n; i++) {
        total += stats_desc_values(&desc[i]);
    }
    return total;
}

static const char *const stats_target_names[] = { "vm", "vcpu" };
static const char *const stats_type_names[] = {
    "cumulative", "instant", "peak", "linear-histogram", "log2-histogram",
};
static const char *const stats_unit_names[] = {
    "", "bytes", "seconds", "cycles", "boolean",
};

G_STATIC_ASSERT(G_N_ELEMENTS(stats_target_names) == STATS_TARGET__MAX);
G_STATIC_ASSERT(G_N_ELEMENTS(stats_type_names) == STATS_TYPE__MAX);
G_STATIC_ASSERT(G_N_ELEMENTS(stats_unit_names) == STATS_UNIT__MAX);

const char *stats_target_name(StatsTarget t)
{
    return stats_target_names[t];
}

const char *stats_type_name(StatsType t)
{
    return stats_type_names[t];
}

const char *stats_unit_name(StatsUnit u)
{
    return stats_unit_names[u];
}

StatsTarget stats_target_parse(const char *name)
{
    for (int t = 0; t < STATS_TARGET__MAX; t++) {
        if (!strcmp(name, stats_target_names[t])) {
            return t;
        }
    }
    return STATS_TARGET__MAX;
}
