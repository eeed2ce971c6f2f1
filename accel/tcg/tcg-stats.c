/*
 * The "tcg" statistics provider: the execution loop's own counters, per
 * vCPU and for the VM, as query-stats reports them (docs/qlite-stat.md
 * says what each one counts).  All are cumulative counts.
 */
#include "qlite/cpu.h"
#include "qlite/tcg.h"

uint64_t tcg_vm_stats[TCG_VM_STAT__MAX];

#define TCG_COUNT(n) { .name = (n), .type = STATS_TYPE_CUMULATIVE }

/* In TcgStat order, then the soft TLB's counters (X86CPUState). */
static const StatsDesc tcg_vcpu_desc[] = {
    [TCG_STAT_BLOCKS_LOOP] = TCG_COUNT("blocks_interpreted"),
    [TCG_STAT_BLOCKS_TRANSLATED] = TCG_COUNT("blocks_translated"),
    [TCG_STAT_BLOCKS_CHAINED] = TCG_COUNT("blocks_chained"),
    [TCG_STAT_DECODES] = TCG_COUNT("decodes"),
    [TCG_STAT_TRANSLATIONS] = TCG_COUNT("translations"),
    [TCG_STAT_EXIT_SLICE] = TCG_COUNT("exits_slice"),
    [TCG_STAT_EXIT_KICK] = TCG_COUNT("exits_kick"),
    [TCG_STAT_EXIT_STOP] = TCG_COUNT("exits_stop"),
    [TCG_STAT_HALTS] = TCG_COUNT("halt_exits"),
    [TCG_STAT_IRQS] = TCG_COUNT("irq_injections"),
    [TCG_STAT_NMIS] = TCG_COUNT("nmi_injections"),
    [TCG_STAT_EXCEPTIONS] = TCG_COUNT("exceptions"),
    [TCG_STAT_PIO_READS] = TCG_COUNT("io_reads"),
    [TCG_STAT_PIO_WRITES] = TCG_COUNT("io_writes"),
    [TCG_STAT_MMIO_READS] = TCG_COUNT("mmio_reads"),
    [TCG_STAT_MMIO_WRITES] = TCG_COUNT("mmio_writes"),
    TCG_COUNT("tlb_fills"),
    TCG_COUNT("tlb_flushes"),
    TCG_COUNT("tlb_flush_pages"),
};

static const StatsDesc tcg_vm_desc[] = {
    [TCG_VM_STAT_TB_FLUSHES] = TCG_COUNT("tb_flushes"),
    [TCG_VM_STAT_CODE_FLUSHES] = TCG_COUNT("code_buffer_flushes"),
};

G_STATIC_ASSERT(G_N_ELEMENTS(tcg_vcpu_desc) == TCG_STAT__MAX + 3);
G_STATIC_ASSERT(G_N_ELEMENTS(tcg_vm_desc) == TCG_VM_STAT__MAX);

static const StatsDesc *tcg_stats_schema(StatsTarget target, size_t *n)
{
    if (target == STATS_TARGET_VM) {
        *n = G_N_ELEMENTS(tcg_vm_desc);
        return tcg_vm_desc;
    }
    *n = G_N_ELEMENTS(tcg_vcpu_desc);
    return tcg_vcpu_desc;
}

static bool tcg_stats_read_vcpu(CPUState *cpu, uint64_t *values)
{
    TcgCPU *tc = cpu ? cpu->accel : NULL;
    X86CPUState *env;

    if (!tc) {
        return false;           /* not started */
    }
    env = tc->env;
    for (int i = 0; i < TCG_STAT__MAX; i++) {
        values[i] = stats_get(&tc->stats[i]);
    }
    /* The loop's blocks less the translated ones (read apart: clamp). */
    values[TCG_STAT_BLOCKS_LOOP] -= MIN(values[TCG_STAT_BLOCKS_LOOP],
                                        values[TCG_STAT_BLOCKS_TRANSLATED]);
    values[TCG_STAT__MAX] = stats_get(&env->stat_tlb_fills);
    values[TCG_STAT__MAX + 1] = stats_get(&env->stat_tlb_flushes);
    values[TCG_STAT__MAX + 2] = stats_get(&env->stat_tlb_flush_pages);
    return true;
}

static bool tcg_stats_read(StatsTarget target, CPUState *cpu,
                           uint64_t *values)
{
    if (target == STATS_TARGET_VCPU) {
        return tcg_stats_read_vcpu(cpu, values);
    }
    for (int i = 0; i < TCG_VM_STAT__MAX; i++) {
        values[i] = stats_get(&tcg_vm_stats[i]);
    }
    return true;
}

static const StatsProvider tcg_stats_provider = {
    .name = "tcg",
    .schema = tcg_stats_schema,
    .read = tcg_stats_read,
};

void tcg_stats_init(void)
{
    stats_register_provider(&tcg_stats_provider);
}
