/*
 * Statistics providers: the accelerators publish named counters for the
 * VM and for each vCPU (QMP query-stats, HMP "info stats", qlite-stat).
 *
 * A provider describes its counters once per target (StatsDesc, the
 * same facts QEMU's StatsSchemaValue carries) and fills in their current
 * values on request, in descriptor order, stats_desc_values() numbers
 * per descriptor.  The monitor does the filtering and the JSON.
 */
#ifndef QLITE_STATS_H
#define QLITE_STATS_H

#include "qlite/osdep.h"

typedef struct CPUState CPUState;

/* QEMU's StatsTarget, StatsType and StatsUnit, in their order. */
typedef enum StatsTarget {
    STATS_TARGET_VM,
    STATS_TARGET_VCPU,
    STATS_TARGET__MAX,
} StatsTarget;

typedef enum StatsType {
    STATS_TYPE_CUMULATIVE,
    STATS_TYPE_INSTANT,
    STATS_TYPE_PEAK,
    STATS_TYPE_LINEAR_HISTOGRAM,
    STATS_TYPE_LOG2_HISTOGRAM,
    STATS_TYPE__MAX,
} StatsType;

typedef enum StatsUnit {
    STATS_UNIT_NONE,            /* a plain count: "unit" is left out */
    STATS_UNIT_BYTES,
    STATS_UNIT_SECONDS,
    STATS_UNIT_CYCLES,
    STATS_UNIT_BOOLEAN,
    STATS_UNIT__MAX,
} StatsUnit;

typedef struct StatsDesc {
    const char *name;
    StatsType type;
    StatsUnit unit;
    uint8_t base;               /* 2 or 10 when exponent != 0 */
    int16_t exponent;           /* value * base^exponent is in @unit */
    uint32_t bucket_size;       /* linear histograms */
    uint32_t size;              /* values: 1, or a histogram's buckets */
} StatsDesc;

typedef struct StatsProvider {
    const char *name;           /* "kvm", "tcg" (QMP's StatsProvider) */
    /*
     * The descriptors of @target: *n of them, owned by the provider and
     * unchanged while it is registered.  NULL with *n = 0 for none.
     */
    const StatsDesc *(*schema)(StatsTarget target, size_t *n);
    /*
     * Fill @values (stats_values_count() of them) for @target; @cpu for
     * STATS_TARGET_VCPU.  Main thread; false when they can't be read now.
     */
    bool (*read)(StatsTarget target, CPUState *cpu, uint64_t *values);
} StatsProvider;

/* Registered once by an accelerator as it sets up the machine. */
void stats_register_provider(const StatsProvider *p);
/* The @i-th registered provider, or NULL past the last. */
const StatsProvider *stats_provider_get(size_t i);
/* Values one descriptor has (1 for a scalar). */
static inline size_t stats_desc_values(const StatsDesc *d)
{
    return d->size ? d->size : 1;
}
/* Values all @n descriptors have together. */
size_t stats_values_count(const StatsDesc *desc, size_t n);

const char *stats_target_name(StatsTarget t);
const char *stats_type_name(StatsType t);
const char *stats_unit_name(StatsUnit u);
/* STATS_TARGET__MAX when @name is not a target. */
StatsTarget stats_target_parse(const char *name);

/*
 * A counter that one thread increments and others read: relaxed atomic
 * accesses (a plain add on x86), so a reader never races the writer.
 */
static inline void stats_add(uint64_t *c, uint64_t n)
{
    __atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n,
                     __ATOMIC_RELAXED);
}

static inline void stats_inc(uint64_t *c)
{
    stats_add(c, 1);
}

static inline uint64_t stats_get(const uint64_t *c)
{
    return __atomic_load_n(c, __ATOMIC_RELAXED);
}

#endif
