/*
 * Debug traps (SDM vol 3B ch. 17): single-step on EFLAGS.TF, the four
 * breakpoints DR0-DR3 as DR7 arms them (execute, data write, data
 * read/write, I/O), their report in DR6, and RF.
 *
 * While one of them (or an interrupt shadow) is live, HF_STEP makes the
 * execution loop run one instruction at a time and bracket it with
 * x86_debug_insn_begin() and x86_debug_insn_end().  Data breakpoints are
 * seen by the soft-TLB's slow path: a page holding a watched address
 * gets no fast-path tags (mmu.c).
 */
#include "target/i386/cpu.h"
#include "target/i386/decode.h"
#include "target/i386/mmu.h"

/* DR7 (SDM vol 3B 17.2.4): L/G enables, then R/W and LEN per register. */
#define DR7_ENABLED(dr7, i) (((dr7) >> (2 * (i))) & 3)
#define DR7_RW(dr7, i)      (((dr7) >> (16 + 4 * (i))) & 3)
#define DR7_LEN(dr7, i)     (((dr7) >> (18 + 4 * (i))) & 3)
#define DR7_ANY_ENABLED     0xffu

enum { DR_RW_EXEC, DR_RW_WRITE, DR_RW_IO, DR_RW_ACCESS };

/* DR6 (SDM vol 3B 17.2.3): B0-B3 name the hits, BS is the single step. */
#define DR6_HITS            0xfu
#define DR6_BS              (1u << 14)

/* LEN encodes 1, 2, 8 (in 64-bit capable parts) or 4 bytes. */
static uint64_t debug_len(uint64_t dr7, int i)
{
    static const uint8_t len[4] = { 1, 2, 8, 4 };

    return len[DR7_LEN(dr7, i)];
}

static uint8_t debug_armed(const X86CPUState *env, unsigned rw)
{
    uint8_t mask = 0;

    for (int i = 0; i < 4; i++) {
        if (DR7_ENABLED(env->dr[7], i) && DR7_RW(env->dr[7], i) == rw) {
            mask |= 1u << i;
        }
    }
    return mask;
}

void x86_debug_rearm(X86CPUState *env)
{
    bool watched = env->dbg_data;

    env->dbg_exec = debug_armed(env, DR_RW_EXEC);
    env->dbg_data = debug_armed(env, DR_RW_WRITE) |
                    debug_armed(env, DR_RW_ACCESS);
    /* R/W = 10 means I/O only with CR4.DE; without it, undefined. */
    env->dbg_io = (env->cr[4] & CR4_DE) ? debug_armed(env, DR_RW_IO) : 0;
    x86_update_hflags(env);
    if (watched || env->dbg_data) {
        /* Pages that hold a watched address lose their fast-path tags. */
        x86_tlb_flush(env, true);
    }
}

void x86_set_int_shadow(X86CPUState *env, bool ss)
{
    env->int_shadow = true;
    env->dbg_shadow |= ss;
    x86_update_hflags(env);
}

/* Does DRi's range (aligned to its length) meet [addr, addr + size)? */
static bool debug_overlaps(const X86CPUState *env, int i, uint64_t addr,
                           unsigned size)
{
    uint64_t len = debug_len(env->dr[7], i);
    uint64_t start = env->dr[i] & ~(len - 1);

    return addr < start + len && start < addr + size;
}

static uint8_t debug_match(const X86CPUState *env, uint8_t armed,
                           uint64_t addr, unsigned size)
{
    uint8_t hits = 0;

    for (int i = 0; i < 4; i++) {
        if ((armed & (1u << i)) && debug_overlaps(env, i, addr, size)) {
            hits |= 1u << i;
        }
    }
    return hits;
}

/* #DB with @bits reported in DR6 (B0-B3 replaced, BS accumulates). */
static noreturn void debug_raise(X86CPUState *env, uint32_t bits)
{
    uint64_t dr6 = env->dr[6];

    if (bits & DR6_HITS) {
        dr6 &= ~(uint64_t)DR6_HITS;
    }
    env->dr[6] = dr6 | bits;
    x86_raise_exception(env, EXCP_DB);
}

/*
 * Instruction breakpoints are faults, taken before the instruction at
 * CS:rip runs, unless RF says the handler asked to go on (17.3.1.1).
 */
void x86_debug_insn_begin(X86CPUState *env, X86DebugStep *st)
{
    uint8_t hits;

    bool shadowed = env->dbg_shadow;

    st->tf = env->eflags & TF_MASK;
    env->int_shadow = false;
    env->dbg_shadow = false;
    env->dbg_hits = 0;
    x86_update_hflags(env);
    if (env->dbg_pending && !shadowed) {
        /* A trap of the previous instruction, which ran in a block. */
        uint32_t bits = env->dbg_pending;

        env->dbg_pending = 0;
        debug_raise(env, bits);
    }
    if (!env->dbg_exec || (env->eflags & RF_MASK)) {
        return;
    }
    hits = debug_match(env, env->dbg_exec,
                       x86_linear_mask(env, env->segs[R_CS].base + env->rip),
                       1);
    if (hits) {
        debug_raise(env, hits);
    }
}

/*
 * Traps after a completed instruction: single-step when TF was set as it
 * began (so POPF that sets TF traps only after the next one, 17.3.1.4),
 * except that SYSCALL and SYSRET look at TF after themselves (vol 2B:
 * FMASK may clear it on the way in; R11 may set it on the way out, and
 * the trap then belongs to the user instruction).  A MOV/POP SS holds
 * the traps until after the instruction it shadows (vol 2B, MOV).
 */
void x86_debug_insn_end(X86CPUState *env, const X86DebugStep *st,
                        unsigned op)
{
    bool tf = st->tf;
    uint32_t bits = env->dbg_hits;

    if (op == X86_OP_SYSCALL || op == X86_OP_SYSRET) {
        tf = env->eflags & TF_MASK;
    }
    if (op != X86_OP_IRET) {
        /* RF lasts one instruction; an IRET may have just loaded it. */
        env->eflags &= ~RF_MASK;
    }
    if (tf) {
        bits |= DR6_BS;
    }
    env->dbg_hits = 0;
    if (env->dbg_shadow) {
        env->dbg_pending |= bits;
        return;
    }
    bits |= env->dbg_pending;
    env->dbg_pending = 0;
    if (bits) {
        debug_raise(env, bits);
    }
}

void x86_debug_sysret(X86CPUState *env)
{
    if (env->eflags & TF_MASK) {
        env->dbg_pending |= DR6_BS;
    }
}

void x86_debug_data_access(X86CPUState *env, uint64_t linear,
                           unsigned size, bool write)
{
    uint8_t armed = write ? env->dbg_data
                          : env->dbg_data & debug_armed(env, DR_RW_ACCESS);

    env->dbg_hits |= debug_match(env, armed, linear, size);
}

void x86_debug_io(X86CPUState *env, uint16_t port, unsigned size)
{
    if (env->dbg_io) {
        env->dbg_hits |= debug_match(env, env->dbg_io, port, size);
    }
}

bool x86_debug_page_watched(const X86CPUState *env, uint64_t page)
{
    return debug_match(env, env->dbg_data, page, X86_PAGE_SIZE) != 0;
}
