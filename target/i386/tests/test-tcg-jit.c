/*
 * The block translator (accel/tcg/tcg-jit.c) against the interpreter
 * (exec_block() in tcg-exec.c): both run the same decoded block from the
 * same state, and must leave the same registers, rip, flags (as
 * x86_cc_compute() and x86_get_eflags() see them), XMM and MMX
 * registers, MXCSR, exception and memory.
 *
 * Random blocks come from x86-blockgen.c, over the fake memory of
 * x86-fake-mem.c seen through the real page walk and soft TLB (cold,
 * warm or half warm; data pages shuffled so that page-crossing accesses
 * need both translations); CPL 0 or 3, with or without CR0.AM; lazy
 * flags as a random flag setter leaves them; random XMM registers with
 * edge patterns, and one case in 16 with SSE off (CR0.TS, CR0.EM or no
 * CR4.OSFXSR) so that the translated SSE's fault paths are compared
 * too.  -m thorough runs ten times the blocks.  A mismatch prints the
 * block (hex and decoded), the state, the differences, and the shortest
 * prefix of the block that still differs.
 *
 * Random blocks run in 64-bit mode, and in 32-bit and 16-bit protected
 * mode (compatibility mode over the same page tables, or legacy
 * protected mode without paging) through segments with bases that wrap
 * at 4 GiB, limits some accesses pass, read-only and expand-down ones,
 * 16-bit and 32-bit stacks.
 *
 * The fixed cases cover what random blocks reach only by chance: a
 * cold TLB, a block that stores over its own code, accesses that cross
 * a page (or run past RAM), code that crosses a page, and blocks that
 * chain to each other through their link slots.
 */
#include "qlite/osdep.h"
#include "qlite/cpu.h"
#include "x86-blockgen.h"
#include "x86-fake-mem.h"
#include "qlite/tcg.h"
#include "../cpuid.h"
#include "../mmu.h"
#include "../tcg/jit-ops.h"

#include <setjmp.h>

#define CODE_OFF        BLOCKGEN_CODE_OFF
#define STACK_OFF       0xd800u     /* RSP starts in [STACK_OFF, +0x800) */
#define RANDOM_BLOCKS   12000u
#define MAX_REPORTED    5u
/* Runs of a block that branches back to its own start, at most. */
#define LOOP_MAX        4000u

static X86CPUState tmpl;            /* the initial state of a case */
static X86CPUState env;             /* the state that runs */
static uint8_t mem0[DIFF_MEM_SIZE]; /* the initial memory of a case */
static uint8_t mem_interp[DIFF_MEM_SIZE];
static CPUState test_cpu;
static TcgCPU test_tc;
static X86IO test_io;               /* diff_io, and ports that float */
static unsigned case_bits = 64;     /* the code of the case: 64, 32, 16 */

static int case_mode(void)
{
    return case_bits == 64 ? X86_MODE64 :
           case_bits == 32 ? X86_MODE32 : X86_MODE16;
}

/* Where a case's code starts: CS.base is DIFF_MEM for 16-bit code. */
static uint64_t code_rip(void)
{
    return case_bits == 16 ? CODE_OFF : DIFF_MEM + CODE_OFF;
}

/* ---- the state, and running a block each way ---------------------- */

typedef struct Outcome {
    int vector;                 /* exception, -1 none */
    uint32_t error;
    uint64_t regs[16];
    uint64_t rip;
    uint32_t flags;             /* x86_cc_compute() */
    uint32_t eflags;            /* x86_get_eflags() */
    uint32_t hflags;
    uint64_t cr2;
    X86XMMReg xmm[16];
    uint32_t mxcsr;
    uint64_t mm[8];             /* the MMX registers (x87 mantissas) */
    unsigned n;                 /* instructions in the decoded block */
    unsigned runs;              /* calls of the block (it loops) */
    bool untranslated;          /* tcg_jit_compile() gave no code */
} Outcome;

/* 64-bit mode, paging over the fake memory, CPL 0 or 3. */
static void state_reset(X86CPUState *e, unsigned cpl, bool am)
{
    memset(e, 0, sizeof(*e));
    e->io = &test_io;
    e->cs = &test_cpu;
    e->exec = &test_tc;         /* as tcg-all.c links a vCPU's env */
    e->a20_mask = UINT64_MAX;
    e->cr[0] = CR0_PE | CR0_PG | (am ? CR0_AM : 0);
    e->cr[3] = DIFF_PT;
    e->cr[4] = CR4_PAE | CR4_OSFXSR;
    e->efer = EFER_LMA | EFER_LME;
    /* The SSE handlers check these; SSSE3 for PSHUFB and friends. */
    e->features[FEAT_1_EDX] = CPUID_SSE | CPUID_SSE2;
    e->features[FEAT_1_ECX] = CPUID_EXT_SSE3 | CPUID_EXT_SSSE3;
    e->mxcsr = MXCSR_DEFAULT;
    e->segs[R_CS].flags = DESC_L_MASK | DESC_P_MASK | DESC_S_MASK |
                          DESC_CS_MASK | (cpl << DESC_DPL_SHIFT);
    e->segs[R_CS].selector = cpl;
    e->segs[R_SS].flags = DESC_P_MASK | DESC_S_MASK | DESC_W_MASK |
                          (cpl << DESC_DPL_SHIFT);
    e->segs[R_SS].selector = cpl;
    e->eflags = 2;
    e->cc_op = CC_OP_EFLAGS;
    e->rip = DIFF_MEM + CODE_OFF;
    e->exc_vector = -1;
    e->exc_prev = -1;
    x86_update_hflags(e);
    x86_tlb_flush(e, true);
}

/*
 * Fill tmpl's TLB entry for writes to @linear, unless that would fault:
 * x86_translate() raises #PF by longjmp() to tmpl.jmp_env, which here
 * would land in a setjmp() frame long gone (state_prelude()'s).
 */
static void tlb_warm(uint64_t linear)
{
    X86Walk w;

    if (x86_mmu_walk_idx(&tmpl, linear, X86_ACC_WRITE, x86_mmu_index(&tmpl),
                         &w)) {
        x86_translate(&tmpl, linear, X86_ACC_WRITE);
    }
}

/*
 * Lazy flags as a real predecessor leaves them: run one random flag
 * setter through the interpreter (or keep the flags as plain EFLAGS).
 */
static void state_prelude(BlockGen *g)
{
    BlockGen *p = g_new(BlockGen, 1);
    X86Insn in;

    *p = *g;
    if (!blockgen_flag_setter(p) || p->len == 0) {
        /* None, or the template found no free register for its form. */
        g_free(p);
        return;
    }
    g_assert(x86_decode(&in, p->code, p->len, case_mode()) == X86_DEC_OK);
    if (!setjmp(tmpl.jmp_env)) {
        x86_exec_insn(&tmpl, &in);
    }
    tmpl.rip = code_rip();
    tmpl.exc_vector = -1;
    g_free(p);
}

/*
 * The page tables (DIFF_PT, outside DIFF_MEM) are RAM too: code without
 * paging reaches them at their physical address and may write them, so
 * each run starts from the case's copy (taken with mem0), as it does
 * from mem0.
 */
static uint8_t pt0[3 * 4096];

static void pt_save(void)
{
    memcpy(pt0, diff_io.ram_ptr(NULL, DIFF_PT, false), sizeof(pt0));
}

static void pt_restore(void)
{
    memcpy(diff_io.ram_ptr(NULL, DIFF_PT, true), pt0, sizeof(pt0));
}

/*
 * Random cases map the 17 linear pages from DIFF_MEM (RAM and the page
 * after it) with 4 KiB pages through a page table in RAM page 1, which
 * no template reaches, the data pages shuffled: linear neighbours are
 * not host neighbours, so an access that crosses a page must really
 * take both translations.  The fixed cases keep the 2 MiB page.
 */
#define PT_OFF  0x1000u

static void state_shuffle_pages(BlockGen *g)
{
    uint8_t *pd = diff_io.ram_ptr(NULL, DIFF_PT + 0x2000, true);
    uint64_t pde = (DIFF_MEM + PT_OFF) | 7;
    unsigned phys[17];

    for (unsigned i = 0; i < G_N_ELEMENTS(phys); i++) {
        phys[i] = i;
    }
    for (unsigned i = 15; i > 2; i--) {
        unsigned j = 2 + blockgen_rnd(g, i - 1);
        unsigned t = phys[i];

        phys[i] = phys[j];
        phys[j] = t;
    }
    memset(diff_emu_mem + PT_OFF, 0, 0x1000);
    for (unsigned i = 0; i < G_N_ELEMENTS(phys); i++) {
        uint64_t pte = (DIFF_MEM + phys[i] * 0x1000) | 0x67;  /* P RW US A D */

        memcpy(diff_emu_mem + PT_OFF + i * 8, &pte, 8);
    }
    memcpy(pd + ((DIFF_MEM >> 21) & 511) * 8, &pde, 8);
}

/*
 * Segment bases for 32-bit and 16-bit code, chosen before the block
 * (its addresses are offsets into them): small ones for 32-bit code,
 * -0x40 wrapping at 4 GiB, but now and then DIFF_MEM + 0x1000 for ES;
 * about DIFF_MEM for 16-bit code, whose offsets are below 64 KiB.  (Low
 * physical addresses hold the page tables: no access goes there.)
 */
static void pm_choose_bases(BlockGen *g)
{
    static const uint32_t small[] = { 0, 0x40, (uint32_t)-0x40, 0x1000 };

    for (unsigned seg = 0; seg < 6; seg++) {
        uint32_t b = small[blockgen_rnd(g, G_N_ELEMENTS(small))];

        g->seg_base[seg] = case_bits == 16 ? (uint32_t)(DIFF_MEM + b) : b;
    }
    if (case_bits == 32 && blockgen_chance(g, 2)) {
        /* For 16-bit addressing in 32-bit code (x86-blockgen.c). */
        g->seg_base[R_ES] = DIFF_MEM + 0x1000;
    }
    g->seg_base[R_CS] = case_bits == 16 ? DIFF_MEM : 0;
}

/*
 * A data segment as 32-bit or 16-bit code may find it: mostly 4 GiB
 * (64 KiB) writable expand-up; now and then a limit that some accesses
 * pass (#GP, #SS), read-only (stores fault), or expand-down.
 */
static SegmentCache pm_data_seg(BlockGen *g, unsigned seg, unsigned cpl)
{
    SegmentCache sc = {
        .selector = 0x10 | cpl, .base = g->seg_base[seg],
        .limit = UINT32_MAX,
        .flags = DESC_P_MASK | DESC_S_MASK | DESC_W_MASK | DESC_A_MASK |
                 (cpl << DESC_DPL_SHIFT),
    };
    /* Offsets the accesses use start about here. */
    uint32_t data = case_bits == 16 ? 0 : (uint32_t)(DIFF_MEM - sc.base);

    if (case_bits == 16 && !blockgen_chance(g, 3)) {
        sc.limit = 0xffff;
    }
    if (case_bits == 32 || seg != R_SS || blockgen_chance(g, 2)) {
        sc.flags |= DESC_B_MASK;
    }
    if (blockgen_chance(g, 12)) {
        sc.limit = data + 0x9000;
    } else if (seg != R_SS && blockgen_chance(g, 16)) {
        sc.flags &= ~DESC_W_MASK;
    } else if (blockgen_chance(g, 20)) {
        sc.flags |= DESC_E_MASK;            /* valid above the limit */
        sc.limit = data + 0x1fff;
    }
    if (sc.limit > 0xfffff) {
        sc.flags |= DESC_G_MASK;
    }
    return sc;
}

/*
 * 32-bit or 16-bit protected mode over tmpl's 64-bit state: CS (D for
 * 32-bit code), the data segments, and the stack pointer (SP for a
 * 16-bit stack, its upper bits kept random); one case in three in
 * legacy protected mode without paging.
 */
static void state_pm(X86CPUState *e, BlockGen *g)
{
    unsigned cpl = e->hflags & HF_CPL_MASK;
    uint64_t sp = e->regs[R_ESP];

    if (blockgen_chance(g, 3)) {
        e->efer = 0;
        e->cr[0] &= ~CR0_PG;
        e->cr[4] &= ~CR4_PAE;
    }
    e->segs[R_CS] = (SegmentCache){
        .selector = 0x8 | cpl, .base = g->seg_base[R_CS],
        .limit = case_bits == 16 ? 0xffff : UINT32_MAX,
        .flags = DESC_P_MASK | DESC_S_MASK | DESC_CS_MASK | DESC_R_MASK |
                 DESC_A_MASK | (cpl << DESC_DPL_SHIFT) |
                 (case_bits == 32 ? DESC_B_MASK | DESC_G_MASK : 0),
    };
    for (unsigned seg = 0; seg < 6; seg++) {
        if (seg != R_CS) {
            e->segs[seg] = pm_data_seg(g, seg, cpl);
        }
    }
    sp -= e->segs[R_SS].base;
    if (case_bits == 16 && blockgen_chance(g, 16)) {
        sp = blockgen_rnd(g, 4);            /* a push wraps at 64 KiB */
    }
    if (e->segs[R_SS].flags & DESC_B_MASK) {
        e->regs[R_ESP] = (blockgen_rnd64(g) << 32) | (uint32_t)sp;
    } else {
        e->regs[R_ESP] = (blockgen_rnd64(g) << 16) | (uint16_t)sp;
    }
    e->rip = code_rip();
    x86_update_hflags(e);
    x86_tlb_flush(e, true);
}

/*
 * Random XMM registers, often with the patterns SSE2 operations have
 * edges at: zeros, all ones, 0x80 bytes, bytes and words at the
 * saturation limits, a copy of another register (for PCMPEQ*); MXCSR
 * now and then with another rounding mode, FTZ and DAZ.
 */
static void state_xmm(BlockGen *g, X86CPUState *e)
{
    static const uint16_t words[] = {
        0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0x8080, 0xffff, 0xff7f,
    };

    for (unsigned i = 0; i < 16; i++) {
        X86XMMReg *x = &e->xmm[i];

        switch (blockgen_rnd(g, 8)) {
        case 0: case 1: case 2:
            memset(x, (const uint8_t[]){ 0, 0xff, 0x80 }[blockgen_rnd(g, 3)],
                   sizeof(*x));
            break;
        case 3:
            for (unsigned w = 0; w < 8; w++) {
                x->w[w] = words[blockgen_rnd(g, G_N_ELEMENTS(words))];
            }
            break;
        case 4:
            x->q[0] = blockgen_value(g);
            x->q[1] = blockgen_value(g);
            break;
        case 5:
            *x = e->xmm[blockgen_rnd(g, i + 1)];
            x->b[blockgen_rnd(g, 16)] ^= blockgen_chance(g, 2) ? 0x80 : 0;
            break;
        default:
            x->q[0] = blockgen_rnd64(g);
            x->q[1] = blockgen_rnd64(g);
            break;
        }
    }
    if (blockgen_chance(g, 4)) {
        e->mxcsr = MXCSR_DEFAULT | blockgen_rnd(g, 4) << 13 |
                   (blockgen_chance(g, 2) ? 0x8040 : 0);
    }
}

/*
 * One case in 16 with SSE off, so that the fault paths are compared:
 * CR0.TS (#NM), CR0.EM or CR4.OSFXSR clear (#UD), one or more of them;
 * hflags as the control registers say.  True when off.
 */
static bool state_simd_off(BlockGen *g, X86CPUState *e)
{
    unsigned off;

    if (!blockgen_chance(g, 16)) {
        return false;
    }
    off = 1 + blockgen_rnd(g, 7);
    e->cr[0] |= (off & 1 ? CR0_TS : 0) | (off & 2 ? CR0_EM : 0);
    if (off & 4) {
        e->cr[4] &= ~CR4_OSFXSR;
    }
    x86_update_hflags(e);
    return true;
}

/*
 * The case's initial state in tmpl and mem0: random registers and
 * memory, the pointers, the stack, random flags and DF, the code; a TLB
 * with all, some or none of the data pages in it.  True when SSE is
 * off (state_simd_off()).
 */
static bool state_random(BlockGen *g)
{
    uint64_t x = blockgen_rnd64(g) | 1;
    bool simd_off;

    state_reset(&tmpl, blockgen_chance(g, 2) ? 3 : 0, blockgen_chance(g, 2));
    for (unsigned i = 0; i < DIFF_MEM_SIZE; i += 8) {
        /* xorshift: cheaper than GRand for 64 KiB a case */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(diff_emu_mem + i, &x, 8);
    }
    for (int i = 0; i < 16; i++) {
        tmpl.regs[i] = blockgen_value(g);
    }
    for (int i = 0; i < 3; i++) {
        tmpl.regs[g->ptr[i]] = g->ptr_val[i];
    }
    /* Mostly 8-byte aligned; a misaligned stack may cross a page. */
    tmpl.regs[R_ESP] = DIFF_MEM + STACK_OFF +
                       (blockgen_chance(g, 4) ? blockgen_rnd(g, 0x800)
                                              : blockgen_rnd(g, 0x100) * 8);
    tmpl.segs[R_FS].base = g->fs_base;
    tmpl.segs[R_GS].base = g->gs_base;
    if (case_bits != 64) {
        state_pm(&tmpl, g);
    }
    tmpl.eflags = 2 | (g_rand_int(g->r) & CC_MASK) |
                  (blockgen_chance(g, 4) ? DF_MASK : 0);
    tmpl.cc_src = tmpl.eflags & CC_MASK;
    state_xmm(g, &tmpl);
    simd_off = state_simd_off(g, &tmpl);
    /* Intact tables: a block without paging may have written them. */
    diff_build_page_tables();
    state_shuffle_pages(g);
    state_prelude(g);
    memcpy(diff_emu_mem + CODE_OFF, g->code, g->len + 16);
    memcpy(mem0, diff_emu_mem, DIFF_MEM_SIZE);
    pt_save();
    x86_tlb_flush(&tmpl, true);
    if (!blockgen_chance(g, 3)) {
        bool all = blockgen_chance(g, 2);

        for (unsigned p = 0; p < DIFF_MEM_SIZE / 0x1000; p++) {
            if (all || blockgen_chance(g, 2)) {
                tlb_warm(DIFF_MEM + p * 0x1000);
            }
        }
    }
    return simd_off;
}

static void outcome_take(Outcome *o)
{
    memcpy(o->regs, env.regs, sizeof(o->regs));
    o->vector = env.exc_vector;
    o->error = env.exc_error_code;
    o->rip = env.rip;
    o->flags = x86_cc_compute(&env) & CC_MASK;
    o->eflags = x86_get_eflags(&env);
    o->hflags = env.hflags;
    o->cr2 = env.cr[2];
    memcpy(o->xmm, env.xmm, sizeof(o->xmm));
    o->mxcsr = env.mxcsr;
    for (int i = 0; i < 8; i++) {
        o->mm[i] = env.fpregs[i].raw.mant;
    }
}

/*
 * Translated code as the loop runs it (exec_translated()): with
 * @budget chained jumps (tcg_exec_block_translated() gives none).
 */
static void run_translated(TcgBlock *tb, int32_t budget)
{
    env.int_shadow = false;
    env.exec_budget = budget;
    tb->jit(&env);
}

/*
 * One run of @tb, translated when @jit and the loop would (the code is
 * there and made for this CPL and EFLAGS.AC), else interpreted.  False
 * when @must (the case's own block) has no translation.
 */
static bool run_once(bool jit, bool must, TcgBlock *tb)
{
    if (!jit || !tcg_jit_usable(&env, tb)) {
        if (jit && must) {
            return false;
        }
        tcg_exec_block_interp(&env, &test_tc, tb);
        return true;
    }
    if (g_atomic_int_get(&env.exec_kicked)) {
        tcg_exec_block_translated(&env, tb);
    } else {
        /*
         * The loop's cheap test says "come back": an indirect branch or
         * a slow-path CALL/RET leaves instead of looking the next block
         * up and running it (tcg_jit_next_code()).  Loops to the
         * block's own start run in translated code as in the loop.
         */
        tcg_tb_gc_wanted = true;
        run_translated(tb, TCG_JIT_CHAIN_BUDGET);
    }
    env.exec_pending_link = NULL;
    return true;
}

/*
 * Run the block at tmpl's rip, from tmpl and mem0, with an empty block
 * cache, in the interpreter or translated.  Either may leave the block
 * early and go on where the loop would (translated code leaves at a
 * taken branch to the next instruction and may go round a loop to its
 * own start by itself; both stop after a store to their own code): so
 * each side runs the block at rip until rip is outside the first
 * block's bytes, at most LOOP_MAX times, and only then are they
 * compared (@max_runs 1: one run only).  @kick: a kick is pending, so
 * translated code leaves at its first exit, as the interpreter does.
 */
static void run_block(bool jit, bool kick, unsigned max_runs, Outcome *o)
{
    uint64_t start = tmpl.rip, end;
    TcgBlock *tb;

    memcpy(&env, &tmpl, sizeof(env));
    memcpy(diff_emu_mem, mem0, DIFF_MEM_SIZE);
    pt_restore();
    tcg_tb_flush_all();
    tcg_tb_gc();
    g_atomic_int_set(&env.exec_kicked, kick);
    o->n = 0;
    o->runs = 0;
    o->untranslated = false;
    if (setjmp(env.jmp_env)) {
        tcg_tb_set_running(NULL);
    } else {
        tb = tcg_block_find(&env);
        o->n = tb->n;
        end = start + tb->size;
        while (o->runs < max_runs) {
            o->runs++;
            if (!run_once(jit, o->runs == 1, tb)) {
                o->untranslated = true;
                break;
            }
            if (env.rip < start || env.rip >= end) {
                break;
            }
            tcg_tb_gc();
            tb = tcg_block_find(&env);
        }
    }
    tcg_tb_gc_wanted = false;
    env.exec_pending_link = NULL;
    outcome_take(o);
}

/* ---- comparing and reporting ---------------------------------------- */

static const char *const reg_names[16] = {
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

static void diff_u64(GString *d, const char *what, uint64_t a, uint64_t b)
{
    if (a != b) {
        g_string_append_printf(d, "    %-8s interp %016" PRIx64 "  jit %016"
                               PRIx64 "\n", what, a, b);
    }
}

/* What differs between the two outcomes (and the two memories). */
static void outcome_diff(GString *d, const Outcome *a, const Outcome *b)
{
    unsigned first = DIFF_MEM_SIZE, count = 0;

    if (b->untranslated) {
        g_string_append(d, "    the translator gave no code\n");
        return;
    }
    diff_u64(d, "vector", (uint64_t)(int64_t)a->vector,
             (uint64_t)(int64_t)b->vector);
    if (a->vector >= 0 && a->vector == b->vector) {
        diff_u64(d, "errcode", a->error, b->error);
    }
    diff_u64(d, "rip", a->rip, b->rip);
    for (int i = 0; i < 16; i++) {
        diff_u64(d, reg_names[i], a->regs[i], b->regs[i]);
    }
    diff_u64(d, "flags", a->flags, b->flags);
    diff_u64(d, "eflags", a->eflags, b->eflags);
    diff_u64(d, "hflags", a->hflags, b->hflags);
    diff_u64(d, "cr2", a->cr2, b->cr2);
    for (int i = 0; i < 16; i++) {
        char name[16];

        snprintf(name, sizeof(name), "xmm%d.lo", i);
        diff_u64(d, name, a->xmm[i].q[0], b->xmm[i].q[0]);
        snprintf(name, sizeof(name), "xmm%d.hi", i);
        diff_u64(d, name, a->xmm[i].q[1], b->xmm[i].q[1]);
    }
    diff_u64(d, "mxcsr", a->mxcsr, b->mxcsr);
    for (int i = 0; i < 8; i++) {
        char name[16];

        snprintf(name, sizeof(name), "mm%d", i);
        diff_u64(d, name, a->mm[i], b->mm[i]);
    }
    for (unsigned i = 0; i < DIFF_MEM_SIZE; i++) {
        if (mem_interp[i] != diff_emu_mem[i]) {
            first = MIN(first, i);
            count++;
        }
    }
    if (count) {
        g_string_append_printf(d, "    memory: %u bytes differ, first at "
                               "%#" PRIx64 ": interp %02x jit %02x\n", count,
                               DIFF_MEM + first, mem_interp[first],
                               diff_emu_mem[first]);
    }
}

/* The block's bytes in hex, and as the decoder reads them. */
static void report_block(const uint8_t *code, unsigned len)
{
    g_autoptr(GString) h = g_string_new(NULL);
    unsigned off = 0;

    for (unsigned i = 0; i < len; i++) {
        g_string_append_printf(h, "%02x", code[i]);
    }
    g_printerr("  block (%u bytes at %#" PRIx64 ", %u-bit code): %s\n", len,
               DIFF_MEM + CODE_OFF, case_bits, h->str);
    while (off < len) {
        X86Insn in;
        char text[96];

        if (x86_decode(&in, code + off, len - off, case_mode()) !=
            X86_DEC_OK) {
            break;
        }
        x86_insn_format(&in, text, sizeof(text));
        g_string_truncate(h, 0);
        for (unsigned i = 0; i < in.len; i++) {
            g_string_append_printf(h, "%02x", code[off + i]);
        }
        g_printerr("    +%03x %-30s %s\n", off, h->str, text);
        off += in.len;
    }
}

static void report_state(void)
{
    for (int i = 0; i < 16; i += 4) {
        g_printerr("  in: %-3s %016" PRIx64 " %-3s %016" PRIx64 " %-3s %016"
                   PRIx64 " %-3s %016" PRIx64 "\n",
                   reg_names[i], tmpl.regs[i], reg_names[i + 1],
                   tmpl.regs[i + 1], reg_names[i + 2], tmpl.regs[i + 2],
                   reg_names[i + 3], tmpl.regs[i + 3]);
    }
    g_printerr("  in: eflags %#x cc_op %u cc_src %#" PRIx64 " cc_dst %#"
               PRIx64 " cc_src2 %#" PRIx64 " cpl %u cr0.am %d fs %#" PRIx64
               " gs %#" PRIx64 "\n", tmpl.eflags, tmpl.cc_op, tmpl.cc_src,
               tmpl.cc_dst, tmpl.cc_src2, tmpl.hflags & HF_CPL_MASK,
               !!(tmpl.cr[0] & CR0_AM), tmpl.segs[R_FS].base,
               tmpl.segs[R_GS].base);
    for (int i = 0; i < 16; i += 2) {
        g_printerr("  in: xmm%-2d %016" PRIx64 "%016" PRIx64 "  xmm%-2d %016"
                   PRIx64 "%016" PRIx64 "\n", i, tmpl.xmm[i].q[1],
                   tmpl.xmm[i].q[0], i + 1, tmpl.xmm[i + 1].q[1],
                   tmpl.xmm[i + 1].q[0]);
    }
    g_printerr("  in: mxcsr %#x cr0.ts %d cr0.em %d cr4.osfxsr %d\n",
               tmpl.mxcsr, !!(tmpl.cr[0] & CR0_TS), !!(tmpl.cr[0] & CR0_EM),
               !!(tmpl.cr[4] & CR4_OSFXSR));
    if (case_bits == 64) {
        return;
    }
    g_printerr("  in: efer %#" PRIx64 " cr0 %#" PRIx64 "\n", tmpl.efer,
               tmpl.cr[0]);
    for (int seg = 0; seg < 6; seg++) {
        g_printerr("  in: %s base %#" PRIx64 " limit %#x flags %#x\n",
                   (const char *[]){ "es", "cs", "ss", "ds", "fs", "gs" }[seg],
                   tmpl.segs[seg].base, tmpl.segs[seg].limit,
                   tmpl.segs[seg].flags);
    }
}

static bool run_compare(const char *name, const uint8_t *code, unsigned len,
                        bool kick, Outcome *interp, Outcome *jit);

/*
 * A third opinion: the instructions one at a time through
 * x86_exec_insn(), without blocks, until rip leaves [start, start+len).
 */
static void run_stepped(unsigned len, Outcome *o)
{
    uint64_t start = code_rip();

    memcpy(&env, &tmpl, sizeof(env));
    memcpy(diff_emu_mem, mem0, DIFF_MEM_SIZE);
    pt_restore();
    tcg_tb_flush_all();
    tcg_tb_gc();
    if (!setjmp(env.jmp_env)) {
        for (unsigned i = 0; i < LOOP_MAX * TCG_BLOCK_MAX_INSNS &&
             env.rip >= start && env.rip < start + len; i++) {
            X86Insn in;

            uint64_t lin = env.segs[R_CS].base + env.rip - DIFF_MEM;

            if (lin > DIFF_MEM_SIZE - 15 ||
                x86_decode(&in, diff_emu_mem + lin, 15, case_mode()) !=
                X86_DEC_OK) {
                break;
            }
            x86_exec_insn(&env, &in);
        }
    }
    outcome_take(o);
}

/*
 * The shortest prefix of the block that still mismatches: the block cut
 * after 1, 2, ... instructions (invalid opcodes after them), from the
 * same state.  Its last instruction is the likely culprit.
 */
static void report_shortest(const uint8_t *code, unsigned len, bool kick)
{
    g_autofree uint8_t *saved = g_memdup2(mem0, DIFF_MEM_SIZE);
    unsigned off = 0;

    while (off < len) {
        X86Insn in;
        Outcome a, b;
        g_autoptr(GString) d = g_string_new(NULL);

        if (x86_decode(&in, code + off, len - off, case_mode()) !=
            X86_DEC_OK) {
            break;
        }
        off += in.len;
        memcpy(mem0, saved, DIFF_MEM_SIZE);
        memset(mem0 + CODE_OFF + off, 0x06, 16);
        if (case_bits != 64) {
            memcpy(mem0 + CODE_OFF + off, "\x0f\x0b", 2);     /* UD2 */
        }
        run_block(false, kick, LOOP_MAX, &a);
        memcpy(mem_interp, diff_emu_mem, DIFF_MEM_SIZE);
        run_block(true, kick, LOOP_MAX, &b);
        outcome_diff(d, &a, &b);
        if (d->len) {
            g_printerr("  shortest mismatching prefix: %u bytes, ending "
                       "with the instruction at +%03x\n%s", off,
                       off - in.len, d->str);
            run_stepped(off, &a);
            memcpy(mem_interp, diff_emu_mem, DIFF_MEM_SIZE);
            g_string_truncate(d, 0);
            outcome_diff(d, &a, &b);
            g_printerr("  x86_exec_insn() one by one against the jit:\n%s",
                       d->len ? d->str : "    the same\n");
            break;
        }
    }
    memcpy(mem0, saved, DIFF_MEM_SIZE);
}

/*
 * Run the case in tmpl/mem0 both ways and compare; on a mismatch print
 * the block, the state and the differences (the first MAX_REPORTED).
 */
static bool run_compare(const char *name, const uint8_t *code, unsigned len,
                        bool kick, Outcome *interp, Outcome *jit)
{
    static unsigned reported;
    g_autoptr(GString) d = g_string_new(NULL);

    run_block(false, kick, LOOP_MAX, interp);
    if (interp->runs == LOOP_MAX && !kick) {
        /* Endless: compare LOOP_MAX runs, one per translated call. */
        kick = true;
        run_block(false, kick, LOOP_MAX, interp);
    }
    memcpy(mem_interp, diff_emu_mem, DIFF_MEM_SIZE);
    run_block(true, kick, LOOP_MAX, jit);
    outcome_diff(d, interp, jit);
    if (!d->len) {
        return true;
    }
    if (reported++ < MAX_REPORTED) {
        g_printerr("MISMATCH %s (kick %d, %u instructions decoded):\n", name,
                   kick, interp->n);
        report_block(code, len);
        report_state();
        g_printerr("%s", d->str);
        if (tmpl.rip == code_rip()) {
            report_shortest(code, len, kick);
        }
        if (g_getenv("TEST_TCG_JIT_STOP")) {
            exit(1);    /* keep the last translation for a debugger */
        }
    }
    return false;
}

/* ---- the tests -------------------------------------------------------- */

typedef struct RandomStats {
    unsigned blocks, bad, insns, faults, cut;
    unsigned sse;               /* generated instructions jit-sse.c takes */
    unsigned off, off_faults;   /* cases with SSE off; their #UD and #NM */
} RandomStats;

/* The instructions of @g's block that jit-sse.c translates. */
static unsigned count_sse(const BlockGen *g)
{
    unsigned n = 0;
    X86Insn in;

    for (unsigned off = 0; off < g->len; off += in.len) {
        if (x86_decode(&in, g->code + off, g->len - off, case_mode()) !=
            X86_DEC_OK) {
            break;
        }
        n += jit_sse_takes(&in);
    }
    return n;
}

static void random_one(GRand *r, unsigned index, RandomStats *st)
{
    BlockGen *g = g_new0(BlockGen, 1);
    static const uint64_t seg_bases[] = { 0, 0x40, (uint64_t)-0x40, 0x1000 };
    Outcome a, b;
    char name[32];
    bool kick, off;

    g->r = r;
    g->bits = case_bits;
    if (case_bits != 64) {
        pm_choose_bases(g);
    }
    blockgen_pointers(g);
    g->fs_base = seg_bases[blockgen_rnd(g, 4)];
    g->gs_base = seg_bases[blockgen_rnd(g, 4)];
    blockgen_block(g);
    off = state_random(g);
    kick = blockgen_chance(g, 2);
    snprintf(name, sizeof(name), "random block %u", index);
    st->blocks++;
    if (!run_compare(name, g->code, g->len, kick, &a, &b)) {
        st->bad++;
    }
    st->insns += a.n;
    st->sse += count_sse(g);
    st->off += off;
    st->off_faults += off && (a.vector == EXCP_UD || a.vector == EXCP_NM);
    st->faults += !off && a.vector >= 0;
    st->cut += a.n < g->ninsn && !g->ended;
    g_free(g);
}

static void random_blocks(unsigned bits, unsigned count)
{
    GRand *r = g_rand_new_with_seed(g_test_rand_int());
    RandomStats st = { 0 };
    gint64 t0 = g_get_monotonic_time();

    if (g_test_thorough()) {
        count *= 10;            /* -m thorough (meson test --test-args) */
    }
    case_bits = bits;
    for (unsigned i = 0; i < count && st.bad < 20; i++) {
        random_one(r, i, &st);
    }
    case_bits = 64;
    printf("# %u random %u-bit blocks, %u instructions decoded, %u ended by "
           "an exception, %u cut short by the decoder, %u mismatches, "
           "%.1f s\n", st.blocks, bits, st.insns, st.faults, st.cut, st.bad,
           (g_get_monotonic_time() - t0) / 1e6);
    printf("#   %u translatable SSE instructions generated; %u blocks with "
           "SSE off, %u of them ended by #UD or #NM\n", st.sse, st.off,
           st.off_faults);
    g_rand_free(r);
    g_assert_cmpuint(st.bad, ==, 0);
    /* Most blocks must run to their end, or little is compared. */
    g_assert_cmpuint(st.faults, <, (st.blocks - st.off) / 4);
    /* SSE off must fault in many blocks (over half reach an SSE one). */
    g_assert_cmpuint(st.off_faults, >, st.off / 4);
}

static void test_random_blocks(void)
{
    random_blocks(64, RANDOM_BLOCKS);
}

static void test_random_blocks32(void)
{
    random_blocks(32, RANDOM_BLOCKS / 2);
}

static void test_random_blocks16(void)
{
    random_blocks(16, RANDOM_BLOCKS / 2);
}

/* A fixed block: code from hex at CODE_OFF, registers from @regs. */
static unsigned fixed_setup(const char *hex, const uint64_t regs[16],
                            unsigned cpl, uint8_t *code)
{
    unsigned len = 0;

    diff_build_page_tables();
    state_reset(&tmpl, cpl, false);
    memcpy(tmpl.regs, regs, sizeof(tmpl.regs));
    for (unsigned i = 0; i < DIFF_MEM_SIZE; i++) {
        diff_emu_mem[i] = i * 13 + 7;
    }
    for (; hex[0] && hex[1]; hex += 2) {
        code[len++] = g_ascii_xdigit_value(hex[0]) * 16 +
                      g_ascii_xdigit_value(hex[1]);
    }
    memcpy(diff_emu_mem + CODE_OFF, code, len);
    memset(diff_emu_mem + CODE_OFF + len, 0x06, 16);
    memcpy(mem0, diff_emu_mem, DIFF_MEM_SIZE);
    pt_save();
    return len;
}

/*
 * A cold TLB: every access of the block misses and takes the slow path,
 * which fills the TLB; the same block then runs again from the state
 * the first run left, now with hits.
 */
static void test_tlb_miss(void)
{
    uint64_t regs[16] = { 0 };
    uint8_t code[256];
    const char *hex =
        "488b03"            /* mov rax, [rbx] */
        "48034308"          /* add rax, [rbx + 8] */
        "48014310"          /* add [rbx + 0x10], rax */
        "8b8b00100000"      /* mov ecx, [rbx + 0x1000] */
        "898b00200000"      /* mov [rbx + 0x2000], ecx */
        "80830030000001"    /* add byte [rbx + 0x3000], 1 */
        "0fb6930040ffff"    /* movzx edx, byte [rbx - 0xc000] */
        "53"                /* push rbx */
        "5e"                /* pop rsi */
        "483b7318"          /* cmp rsi, [rbx + 0x18] */
        "0f94c0"            /* sete al */
        "48c7431801000000"; /* mov qword [rbx + 0x18], 1 */
    Outcome a, b;
    unsigned len;
    uint64_t page;
    int idx;

    regs[R_EBX] = DIFF_MEM + 0xc000;
    regs[R_ESP] = DIFF_MEM + 0xe800;
    len = fixed_setup(hex, regs, 3, code);
    g_assert_true(run_compare("cold TLB", code, len, true, &a, &b));
    g_assert_cmpint(a.vector, ==, -1);
    g_assert_cmpuint(a.n, ==, 12);
    g_assert_cmpuint(a.rip, ==, DIFF_MEM + CODE_OFF + len);
    /* The translated run's slow paths filled the TLB. */
    idx = X86_MMU_USER;
    page = DIFF_MEM + 0xd000;
    g_assert_cmpuint(env.tlb[idx][(page >> 12) % X86_TLB_SIZE].tag_read, ==,
                     page);

    /* Again from where it stopped (rip back), the TLB now warm. */
    memcpy(&tmpl, &env, sizeof(env));
    tmpl.rip = DIFF_MEM + CODE_OFF;
    memcpy(mem0, diff_emu_mem, DIFF_MEM_SIZE);
    pt_save();
    g_assert_true(run_compare("warm TLB", code, len, true, &a, &b));
    g_assert_cmpint(a.vector, ==, -1);
}

/*
 * A block that stores over its own code stops right after the store,
 * in both modes, and what runs next is the new code.  A store elsewhere
 * on the code page changes nothing.
 */
static void test_self_modifying(void)
{
    uint64_t regs[16] = { 0 };
    uint8_t code[256];
    /*
     * +0  mov byte [rip + 3], 0x55    the imm8 of the ADD at +8
     * +7  nop
     * +8  add eax, 0x11 (83 c0 11)
     * +b  inc ecx
     */
    const char *hex = "c6050300000055" "90" "83c011" "ffc1";
    /* The same store, 0x600 bytes on: same page, not the block. */
    const char *hex2 = "c605f905000055" "90" "83c011" "ffc1";
    Outcome a, b;
    unsigned len;

    regs[R_ESP] = DIFF_MEM + 0xe800;
    len = fixed_setup(hex, regs, 0, code);
    for (int jit = 0; jit < 2; jit++) {
        Outcome *o = jit ? &b : &a;

        /* One run: it stops after the store, the ADD not done. */
        run_block(jit, false, 1, o);
        g_assert_false(o->untranslated);
        g_assert_cmpint(o->vector, ==, -1);
        g_assert_cmphex(o->rip, ==, DIFF_MEM + CODE_OFF + 7);
        g_assert_cmphex(o->regs[R_EAX], ==, 0);
        g_assert_cmpuint(diff_emu_mem[CODE_OFF + 10], ==, 0x55);
        /* It was dropped from the cache, translation and all. */
        g_assert_null(tcg_tb_lookup(DIFF_MEM + CODE_OFF, X86_MODE64));
    }
    /* Run on: the block at +7 adds the new immediate. */
    g_assert_true(run_compare("self-modifying", code, len, false, &a, &b));
    g_assert_cmpint(a.vector, ==, -1);
    g_assert_cmphex(a.rip, ==, DIFF_MEM + CODE_OFF + len);
    g_assert_cmphex(a.regs[R_EAX], ==, 0x55);
    g_assert_cmphex(a.regs[R_ECX], ==, 1);
    g_assert_cmpuint(a.runs, ==, 2);

    len = fixed_setup(hex2, regs, 0, code);
    g_assert_true(run_compare("code-page store", code, len, false, &a, &b));
    g_assert_cmphex(a.rip, ==, DIFF_MEM + CODE_OFF + len);
    g_assert_cmphex(a.regs[R_EAX], ==, 0x11);
    g_assert_cmpuint(a.runs, ==, 1);
    g_assert_cmpuint(diff_emu_mem[CODE_OFF + 0x600], ==, 0x55);
    g_assert_nonnull(tcg_tb_lookup(DIFF_MEM + CODE_OFF, X86_MODE64));
}

/*
 * Accesses that cross a page: loads, stores, a read-modify-write, a push
 * with RSP two bytes into a page, and a load and a store that run from
 * the last RAM page into the hole past it (reads as ones, writes lost).
 * Then a block whose first instruction crosses into the next page.
 */
static void test_page_cross(void)
{
    uint64_t regs[16] = { 0 };
    uint8_t code[256];
    const char *hex =
        "488b03"            /* mov rax, [rbx]: 5ffd-6004 */
        "48894bfc"          /* mov [rbx - 4], rcx */
        "014b01"            /* add [rbx + 1], ecx */
        "66ff4302"          /* inc word [rbx + 2] */
        "52"                /* push rdx: RSP 9002 */
        "8b16"              /* mov edx, [rsi]: RAM, then the hole */
        "48893e"            /* mov [rsi], rdi */
        "480fb77b02"        /* movzx rdi, word [rbx + 2] */
        "5d";               /* pop rbp */
    Outcome a, b;
    unsigned len;

    regs[R_EBX] = DIFF_MEM + 0x5ffd;
    regs[R_ECX] = UINT64_C(0x1122334455667788);
    regs[R_EDX] = UINT64_C(0x99aabbccddeeff00);
    regs[R_ESI] = DIFF_MEM + DIFF_MEM_SIZE - 2;
    regs[R_EDI] = UINT64_C(0x0123456789abcdef);
    regs[R_ESP] = DIFF_MEM + 0x9002;
    for (unsigned cpl = 0; cpl <= 3; cpl += 3) {
        len = fixed_setup(hex, regs, cpl, code);
        /* The first pages hit the TLB: the crossing alone misses. */
        x86_translate(&tmpl, DIFF_MEM + 0x5000, X86_ACC_WRITE);
        x86_translate(&tmpl, DIFF_MEM + 0x8000, X86_ACC_WRITE);
        g_assert_true(run_compare("page-crossing accesses", code, len, true,
                                  &a, &b));
        g_assert_cmpint(a.vector, ==, -1);
        g_assert_cmpuint(a.rip, ==, DIFF_MEM + CODE_OFF + len);
        /* Two bytes of RAM, two of ones. */
        g_assert_cmphex(a.regs[R_EDX], ==, 0xffff0000u |
                        (mem0[DIFF_MEM_SIZE - 1] << 8) |
                        mem0[DIFF_MEM_SIZE - 2]);
    }

    /* MOV RAX, imm64 from the last 4 bytes of page 0 into page 1. */
    diff_build_page_tables();
    state_reset(&tmpl, 3, false);
    memset(diff_emu_mem, 0x06, 0x2000);
    memcpy(diff_emu_mem + 0xffc, "\x48\xb8\x11\x22\x33\x44\x55\x66\x77\x88",
           10);
    memcpy(mem0, diff_emu_mem, DIFF_MEM_SIZE);
    pt_save();
    tmpl.rip = DIFF_MEM + 0xffc;
    g_assert_true(run_compare("code crossing a page", diff_emu_mem + 0xffc,
                              10, false, &a, &b));
    g_assert_cmpint(a.vector, ==, -1);
    g_assert_cmpuint(a.n, ==, 1);
    g_assert_cmphex(a.regs[R_EAX], ==, UINT64_C(0x8877665544332211));
    g_assert_cmpuint(a.rip, ==, DIFF_MEM + 0x1006);
}

/*
 * The loop's way with blocks (exec_frame()): find the block at rip,
 * fill the link slot the last translated exit asked for, run it; until
 * rip leaves [@lo, @hi).  Translated blocks then jump to each other
 * through their links without coming back here.
 */
static void run_chained(bool jit, uint64_t lo, uint64_t hi, Outcome *o)
{
    memcpy(&env, &tmpl, sizeof(env));
    memcpy(diff_emu_mem, mem0, DIFF_MEM_SIZE);
    tcg_tb_flush_all();
    tcg_tb_gc();
    g_atomic_int_set(&env.exec_kicked, 0);
    env.exec_pending_link = NULL;
    o->runs = 0;
    o->untranslated = false;
    if (setjmp(env.jmp_env)) {
        tcg_tb_set_running(NULL);
    } else {
        while (env.rip >= lo && env.rip < hi && o->runs < LOOP_MAX) {
            TcgBlock *tb;
            bool usable;

            if (tcg_tb_gc_wanted) {
                tcg_tb_gc();
            }
            tb = tcg_block_find(&env);
            usable = jit && tcg_jit_usable(&env, tb);
            if (env.exec_pending_link) {
                tcg_jit_link_pending(&env, tb);
            }
            o->runs++;
            if (usable) {
                run_translated(tb, TCG_JIT_CHAIN_BUDGET);
            } else {
                o->untranslated |= jit;
                tcg_exec_block_interp(&env, &test_tc, tb);
            }
        }
    }
    env.exec_pending_link = NULL;
    outcome_take(o);
}

/* Put @hex at CODE_OFF + @off in mem0. */
static void put_code(unsigned off, const char *hex)
{
    for (; hex[0] && hex[1]; hex += 2) {
        mem0[CODE_OFF + off++] = g_ascii_xdigit_value(hex[0]) * 16 +
                                 g_ascii_xdigit_value(hex[1]);
    }
}

static void chain_compare(const char *name, unsigned end, Outcome *a,
                          Outcome *b)
{
    g_autoptr(GString) d = g_string_new(NULL);

    run_chained(false, DIFF_MEM + CODE_OFF, DIFF_MEM + CODE_OFF + end, a);
    memcpy(mem_interp, diff_emu_mem, DIFF_MEM_SIZE);
    run_chained(true, DIFF_MEM + CODE_OFF, DIFF_MEM + CODE_OFF + end, b);
    outcome_diff(d, a, b);
    if (d->len) {
        g_printerr("MISMATCH %s:\n", name);
        report_block(mem0 + CODE_OFF, end);
        g_printerr("%s", d->str);
    }
    g_assert_cmpuint(d->len, ==, 0);
    g_assert_cmpint(a->vector, ==, -1);
    g_assert_false(b->untranslated);
    g_assert_cmphex(a->rip, ==, DIFF_MEM + CODE_OFF + end);
}

/*
 * Two blocks that loop through each other, first plainly (translated,
 * they chain through their link slots: far fewer returns to the loop),
 * then with the first storing into the second's code every time round
 * (its link must not outlive the code it points to).
 */
static void test_chain(void)
{
    uint64_t regs[16] = { 0 };
    uint8_t code[16];
    Outcome a, b;

    regs[R_ESP] = DIFF_MEM + 0xe800;
    fixed_setup("", regs, 3, code);
    memset(mem0 + CODE_OFF, 0x06, 0x100);
    put_code(0x00, "ffc0" "e939000000");            /* inc eax; jmp +40 */
    put_code(0x40, "83f864" "72bb");                /* cmp eax, 100; jb 0 */
    chain_compare("two blocks in a loop", 0x45, &a, &b);
    g_assert_cmpuint(a.regs[R_EAX], ==, 100);
    g_assert_cmpuint(b.runs, <, a.runs / 10);

    fixed_setup("", regs, 0, code);
    memset(mem0 + CODE_OFF, 0x06, 0x100);
    /* inc ecx; mov [rip + 0x3a], cl (the imm8 at +42); jmp +40 */
    put_code(0x00, "ffc1" "880d3a000000" "e933000000");
    put_code(0x40, "83c000" "83f932" "72b8");       /* add eax, imm8 ... */
    chain_compare("a loop rewriting its other block", 0x48, &a, &b);
    g_assert_cmpuint(a.regs[R_EAX], ==, 50 * 51 / 2);
    g_assert_cmpuint(a.regs[R_ECX], ==, 50);
}

/*
 * tmpl as @bits-bit protected-mode code at CPL 0 (compatibility mode
 * over the fixed page tables): CS as state_pm() makes it, the data
 * segments flat (4 GiB, base 0), the TLB warm for every data page, so
 * that only the segment checks can send an access to the slow path.
 */
static void fixed_pm(unsigned bits)
{
    SegmentCache flat = {
        .selector = 0x10, .limit = UINT32_MAX,
        .flags = DESC_P_MASK | DESC_S_MASK | DESC_W_MASK | DESC_A_MASK |
                 DESC_B_MASK | DESC_G_MASK,
    };

    case_bits = bits;
    tmpl.segs[R_CS] = (SegmentCache){
        .selector = 0x8, .base = bits == 16 ? DIFF_MEM : 0,
        .limit = bits == 16 ? 0xffff : UINT32_MAX,
        .flags = DESC_P_MASK | DESC_S_MASK | DESC_CS_MASK | DESC_R_MASK |
                 DESC_A_MASK | (bits == 32 ? DESC_B_MASK | DESC_G_MASK : 0),
    };
    for (unsigned seg = 0; seg < 6; seg++) {
        if (seg != R_CS) {
            tmpl.segs[seg] = flat;
        }
    }
    tmpl.rip = code_rip();
    x86_update_hflags(&tmpl);
    x86_tlb_flush(&tmpl, true);
    for (unsigned p = 0; p < DIFF_MEM_SIZE / 0x1000; p++) {
        x86_translate(&tmpl, DIFF_MEM + p * 0x1000, X86_ACC_WRITE);
    }
}

/* Compare the fixed case in tmpl; its exception vector, or -1. */
static int pm_case(const char *name, const uint8_t *code, unsigned len)
{
    Outcome a, b;

    memcpy(mem0, diff_emu_mem, DIFF_MEM_SIZE);
    pt_save();
    g_assert_true(run_compare(name, code, len, true, &a, &b));
    g_assert_false(b.untranslated);
    return a.vector;
}

/*
 * 32-bit code through segments: a base that wraps at 4 GiB, limits that
 * the accesses pass (#GP for DS, #SS for the stack) although the TLB
 * holds their pages, a read-only DS, and a 16-bit stack whose pointer
 * wraps at 64 KiB.
 */
static void test_segments32(void)
{
    uint64_t regs[16] = { 0 };
    uint8_t code[64];
    /*
     * mov eax, [ebx]; mov [esi], ecx; push eax; pop edx; add [ebx+4], al;
     * jmp +0x7f (away: what follows would run on)
     */
    const char *hex = "8b03" "890e" "50" "5a" "004304" "eb7f";
    unsigned len;
    uint32_t v;

    regs[R_EBX] = DIFF_MEM + 0x6000;
    regs[R_ESI] = DIFF_MEM + 0x7000;
    regs[R_ECX] = 0x11223344;
    regs[R_ESP] = DIFF_MEM + 0xe800;
    len = fixed_setup(hex, regs, 0, code);
    fixed_pm(32);
    g_assert_cmpint(pm_case("flat 32-bit", code, len), ==, -1);
    g_assert_cmphex(env.rip, ==, DIFF_MEM + CODE_OFF + len + 0x7f);
    memcpy(&v, mem0 + 0x6000, 4);
    g_assert_cmphex(env.regs[R_EDX], ==, v);

    /* DS base 0xfffff000: EBX + 0x1000 wraps round to the same bytes. */
    len = fixed_setup(hex, regs, 0, code);
    fixed_pm(32);
    tmpl.segs[R_DS].base = 0xfffff000;
    tmpl.regs[R_EBX] += 0x1000;
    tmpl.regs[R_ESI] += 0x1000;
    g_assert_cmpint(pm_case("DS base wrapping at 4 GiB", code, len), ==, -1);
    g_assert_cmphex(env.regs[R_EDX], ==, v);

    /* DS limit two bytes short of [ebx]'s dword: #GP(0). */
    len = fixed_setup(hex, regs, 0, code);
    fixed_pm(32);
    tmpl.segs[R_DS].limit = DIFF_MEM + 0x6001;
    g_assert_cmpint(pm_case("DS limit", code, len), ==, EXCP_GP);
    g_assert_cmphex(env.rip, ==, DIFF_MEM + CODE_OFF);

    /* The store's segment read-only: #GP(0) at the MOV. */
    len = fixed_setup(hex, regs, 0, code);
    fixed_pm(32);
    tmpl.segs[R_DS].flags &= ~DESC_W_MASK;
    g_assert_cmpint(pm_case("read-only DS", code, len), ==, EXCP_GP);
    g_assert_cmphex(env.rip, ==, DIFF_MEM + CODE_OFF + 2);

    /* SS limit below the push: #SS. */
    len = fixed_setup(hex, regs, 0, code);
    fixed_pm(32);
    tmpl.segs[R_SS].limit = DIFF_MEM + 0xe000;
    g_assert_cmpint(pm_case("SS limit", code, len), ==, EXCP_SS);
    g_assert_cmphex(env.rip, ==, DIFF_MEM + CODE_OFF + 4);

    /*
     * A 16-bit stack at SP 0: the push goes to 0xfffc, the pop wraps SP
     * back to 0, the upper half of ESP kept.  At SP 2 the push would
     * cross 64 KiB: #SS.
     */
    for (uint32_t sp = 0; sp <= 2; sp += 2) {
        len = fixed_setup(hex, regs, 0, code);
        fixed_pm(32);
        tmpl.segs[R_SS].base = DIFF_MEM;
        tmpl.segs[R_SS].limit = 0xffff;
        tmpl.segs[R_SS].flags &= ~(DESC_B_MASK | DESC_G_MASK);
        x86_update_hflags(&tmpl);
        tmpl.regs[R_ESP] = UINT64_C(0xabcd0000) | sp;
        if (sp) {
            g_assert_cmpint(pm_case("16-bit stack past 64 KiB", code, len),
                            ==, EXCP_SS);
            continue;
        }
        g_assert_cmpint(pm_case("16-bit stack wrapping", code, len), ==,
                        -1);
        g_assert_cmphex(env.regs[R_ESP], ==, UINT64_C(0xabcd0000));
        g_assert_cmphex(env.regs[R_EDX], ==, v);
    }
    case_bits = 64;
}

/*
 * 16-bit code: [bx+si+disp16] wraps at 64 KiB, operands are 16-bit, and
 * CALL/RET keep IP to 16 bits.
 */
static void test_segments16(void)
{
    uint64_t regs[16] = { 0 };
    uint8_t code[64];
    /*
     * +0 mov ax, [bx+si+0x20]  +3 call +a  +6 mov cx, ax
     * +8 jmp +0x7f (away)  +a add ax, 1  +d ret
     */
    const char *h = "8b4020" "e80400" "89c1" "eb7f" "83c001" "c3";
    g_autoptr(GString) d = g_string_new(NULL);
    Outcome a, b;
    unsigned len;
    uint16_t w;

    regs[R_EBX] = UINT64_C(0x55550000fff0);
    regs[R_ESI] = 0x3010;                   /* 0xfff0 + 0x3010 + 0x20 */
    regs[R_ESP] = UINT64_C(0x7777000e800);
    len = fixed_setup(h, regs, 0, code);
    fixed_pm(16);
    tmpl.segs[R_DS].base = DIFF_MEM;
    tmpl.segs[R_SS].base = DIFF_MEM;
    tmpl.segs[R_SS].flags &= ~DESC_B_MASK;
    x86_update_hflags(&tmpl);
    /* Across the CALL and RET: the blocks as the loop runs them. */
    memcpy(mem0, diff_emu_mem, DIFF_MEM_SIZE);
    pt_save();
    run_chained(false, code_rip(), code_rip() + len, &a);
    memcpy(mem_interp, diff_emu_mem, DIFF_MEM_SIZE);
    run_chained(true, code_rip(), code_rip() + len, &b);
    outcome_diff(d, &a, &b);
    if (d->len) {
        g_printerr("MISMATCH 16-bit addressing and calls:\n%s", d->str);
    }
    g_assert_cmpuint(d->len, ==, 0);
    g_assert_false(b.untranslated);
    g_assert_cmpint(a.vector, ==, -1);
    memcpy(&w, mem0 + 0x3020, 2);
    g_assert_cmphex(env.regs[R_EAX] & 0xffff, ==, (uint16_t)(w + 1));
    g_assert_cmphex(env.regs[R_ECX] & 0xffff, ==, (uint16_t)(w + 1));
    g_assert_cmphex(env.rip, ==, CODE_OFF + 0xa + 0x7f);
    g_assert_cmphex(env.regs[R_ESP], ==, UINT64_C(0x7777000e800));
    case_bits = 64;
}

/*
 * A translated block entered with other segments than it was made for
 * leaves at once, changing nothing; the loop interprets it, and after
 * TCG_JIT_SEG_MISSES such entries translates it again for them.
 */
static void test_segment_change(void)
{
    uint64_t regs[16] = { 0 };
    uint8_t code[16];
    TcgBlock *tb;
    unsigned len;

    regs[R_EBX] = DIFF_MEM + 0x6000;
    /* mov eax, [ebx]; inc eax; jmp away */
    len = fixed_setup("8b03" "40" "eb7f", regs, 0, code);
    fixed_pm(32);
    memcpy(&env, &tmpl, sizeof(env));
    memcpy(diff_emu_mem, mem0, DIFF_MEM_SIZE);
    tcg_tb_flush_all();
    tcg_tb_gc();
    tb = tcg_block_find(&env);
    g_assert_cmpuint(tb->n, ==, 3);
    g_assert_true(tcg_jit_usable(&env, tb));
    g_assert_true(tb->jit_seg_mask & (1u << R_DS));

    env.segs[R_DS].base = 0x40;
    g_assert_false(tcg_jit_usable(&env, tb));
    run_translated(tb, 0);                  /* as a link would enter it */
    g_assert_cmphex(env.rip, ==, DIFF_MEM + CODE_OFF);
    g_assert_cmphex(env.regs[R_EAX], ==, 0);
    for (unsigned i = 2; i < TCG_JIT_SEG_MISSES; i++) {
        g_assert_false(tcg_jit_usable(&env, tb));
    }
    g_assert_true(tcg_jit_usable(&env, tb));
    g_assert_cmphex(tb->jit_segs[R_DS].base, ==, 0x40);
    env.exec_pending_link = NULL;
    tcg_tb_gc_wanted = false;
    case_bits = 64;
    (void)len;
}

/* The fixed SSE case in tmpl, the TLB warm: its vector, or -1. */
static int translated_case(const char *name, const uint8_t *code,
                           unsigned len)
{
    Outcome a, b;

    x86_update_hflags(&tmpl);
    for (unsigned p = 0; p < DIFF_MEM_SIZE / 0x1000; p++) {
        x86_translate(&tmpl, DIFF_MEM + p * 0x1000, X86_ACC_WRITE);
    }
    g_assert_true(run_compare(name, code, len, true, &a, &b));
    g_assert_false(b.untranslated);
    return a.vector;
}

/*
 * Translated SSE2 with known results: an aligned load, PCMPEQB and
 * PMOVMSKB, MOVQ to a register; the same faulting on a misaligned
 * operand (#GP), CR0.TS (#NM), CR0.EM or no CR4.OSFXSR (#UD) before
 * anything changes; a MOVDQU store over the block's next instruction.
 */
static void test_sse(void)
{
    uint64_t regs[16] = { 0 };
    uint8_t code[64];
    /*
     * +0 movdqa xmm0, [rbx]  +4 pcmpeqb xmm0, xmm1  +8 pmovmskb eax, xmm0
     * +c movq rcx, xmm0
     */
    const char *hex = "660f6f03" "660f74c1" "660fd7c0" "66480f7ec1";
    /* +0 movdqu [rip], xmm2 (over +8)  +8 mov eax, 0x11 */
    const char *smc = "f30f7f1500000000" "b811000000";
    static const struct {
        const char *name;
        uint32_t cr0, cr4_clear, rbx_off;
        int vector;
    } faults[] = {
        { "SSE: misaligned MOVDQA", 0, 0, 1, EXCP_GP },
        { "SSE: CR0.TS", CR0_TS, 0, 0, EXCP_NM },
        { "SSE: CR0.EM", CR0_EM, 0, 0, EXCP_UD },
        { "SSE: no CR4.OSFXSR", 0, CR4_OSFXSR, 0, EXCP_UD },
    };
    unsigned len;

    regs[R_EBX] = DIFF_MEM + 0x6000;
    regs[R_ESP] = DIFF_MEM + 0xe800;
    len = fixed_setup(hex, regs, 3, code);
    memcpy(&tmpl.xmm[1], mem0 + 0x6000, 16);
    tmpl.xmm[1].b[3] ^= 1;
    g_assert_cmpint(translated_case("SSE: compare and mask", code, len), ==,
                    -1);
    g_assert_cmphex(env.regs[R_EAX], ==, 0xfff7);
    g_assert_cmphex(env.regs[R_ECX], ==, UINT64_C(0xffffffff00ffffff));

    for (unsigned i = 0; i < G_N_ELEMENTS(faults); i++) {
        len = fixed_setup(hex, regs, 3, code);
        tmpl.regs[R_EBX] += faults[i].rbx_off;
        tmpl.cr[0] |= faults[i].cr0;
        tmpl.cr[4] &= ~faults[i].cr4_clear;
        tmpl.xmm[0].q[0] = 0x1234;
        g_assert_cmpint(translated_case(faults[i].name, code, len), ==,
                        faults[i].vector);
        g_assert_cmphex(env.rip, ==, DIFF_MEM + CODE_OFF);
        g_assert_cmphex(env.xmm[0].q[0], ==, 0x1234);
    }

    len = fixed_setup(smc, regs, 0, code);
    memcpy(tmpl.xmm[2].b, "\xb8\x22\0\0\0\x90\x90\x90\x90\x90\x90\x90"
           "\x90\x90\x90\x90", 16);
    g_assert_cmpint(translated_case("SSE: store over the next instruction",
                                    code, len), ==, -1);
    g_assert_cmphex(env.rip, ==, DIFF_MEM + CODE_OFF + 8 + 16);
    g_assert_cmphex(env.regs[R_EAX], ==, 0x22);
}

/*
 * Translated atomics with known results: LOCK CMPXCHG that succeeds (a
 * 32-bit one leaves RAX's upper half alone) and fails (then EAX is
 * loaded, zero-extended), XCHG with memory, and a misaligned CMPXCHG
 * (the atomic handler's path).
 */
static void test_atomics(void)
{
    uint64_t regs[16] = { 0 };
    uint8_t code[64];
    /* +0 lock cmpxchg [rbx], ecx */
    const char *ok = "f00fb10b";
    /* +0 lock cmpxchg [rbx], edx  +4 xchg [rbx+8], rsi */
    const char *fail_xchg = "f00fb113" "48877308";
    /* +0 lock cmpxchg [rbx+1], ecx */
    const char *misaligned = "f00fb14b01";
    uint32_t m32;
    uint64_t m64;
    unsigned len;

    regs[R_EBX] = DIFF_MEM + 0x6000;
    regs[R_ESP] = DIFF_MEM + 0xe800;
    regs[R_ECX] = UINT64_C(0x1111111122222222);
    regs[R_EDX] = UINT64_C(0x3333333344444444);
    regs[R_ESI] = UINT64_C(0x5555555566666666);

    len = fixed_setup(ok, regs, 3, code);
    memcpy(&m32, mem0 + 0x6000, 4);
    tmpl.regs[R_EAX] = UINT64_C(0xdeadbeef00000000) | m32;
    g_assert_cmpint(translated_case("CMPXCHG: equal", code, len), ==, -1);
    g_assert_cmphex(env.regs[R_EAX], ==,
                    UINT64_C(0xdeadbeef00000000) | m32);
    g_assert_cmphex(x86_cc_compute(&env) & ZF_MASK, ==, ZF_MASK);

    len = fixed_setup(fail_xchg, regs, 3, code);
    memcpy(&m32, mem0 + 0x6000, 4);
    memcpy(&m64, mem0 + 0x6008, 8);
    tmpl.regs[R_EAX] = UINT64_C(0xdeadbeef00000000) | (uint32_t)~m32;
    g_assert_cmpint(translated_case("CMPXCHG: unequal, XCHG", code, len),
                    ==, -1);
    g_assert_cmphex(env.regs[R_EAX], ==, m32);
    g_assert_cmphex(x86_cc_compute(&env) & ZF_MASK, ==, 0);
    g_assert_cmphex(env.regs[R_ESI], ==, m64);

    len = fixed_setup(misaligned, regs, 3, code);
    g_assert_cmpint(translated_case("CMPXCHG: misaligned", code, len), ==,
                    -1);
}

/* Code that jumps into itself may run anything, IN and OUT too. */
static uint32_t test_port_in(void *opaque, uint16_t port, unsigned size)
{
    return UINT32_MAX;
}

static void test_port_out(void *opaque, uint16_t port, uint32_t val,
                          unsigned size)
{
}

/* Both runs of a case must read the same TSC (RDTSC made by SMC too). */
static uint64_t fixed_tsc_ns(void)
{
    return UINT64_C(0x123456789);
}

int main(int argc, char **argv)
{
    x86_tsc_host_ns = fixed_tsc_ns;
    g_test_init(&argc, &argv, NULL);
    /* This test is about the translator: off switches do not apply. */
    g_unsetenv("QLITE_JIT");
    g_unsetenv("QLITE_TCG_TRACE");
    if (!tcg_jit_enabled()) {
        printf("SKIP: no executable memory for translated code here\n");
        return 77;
    }
    diff_build_page_tables();
    test_io = diff_io;
    test_io.port_in = test_port_in;
    test_io.port_out = test_port_out;
    test_cpu.accel = &test_tc;
    test_tc.cpu = &test_cpu;
    test_tc.env = &env;
    g_test_add_func("/tcg-jit/random", test_random_blocks);
    g_test_add_func("/tcg-jit/random32", test_random_blocks32);
    g_test_add_func("/tcg-jit/random16", test_random_blocks16);
    g_test_add_func("/tcg-jit/tlb-miss", test_tlb_miss);
    g_test_add_func("/tcg-jit/self-modifying", test_self_modifying);
    g_test_add_func("/tcg-jit/page-cross", test_page_cross);
    g_test_add_func("/tcg-jit/chain", test_chain);
    g_test_add_func("/tcg-jit/atomics", test_atomics);
    g_test_add_func("/tcg-jit/segments32", test_segments32);
    g_test_add_func("/tcg-jit/segments16", test_segments16);
    g_test_add_func("/tcg-jit/segment-change", test_segment_change);
    g_test_add_func("/tcg-jit/sse", test_sse);
    return g_test_run();
}
