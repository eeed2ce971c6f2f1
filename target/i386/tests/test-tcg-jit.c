/*
 * The block translator (accel/tcg/tcg-jit.c) against the interpreter
 * (exec_block() in tcg-exec.c): both run the same decoded block from the
 * same state, and must leave the same registers, rip, flags (as
 * x86_cc_compute() and x86_get_eflags() see them), exception and
 * memory.
 *
 * Random blocks come from x86-blockgen.c, over the fake memory of
 * x86-fake-mem.c seen through the real page walk and soft TLB (cold,
 * warm or half warm; data pages shuffled so that page-crossing accesses
 * need both translations); CPL 0 or 3, with or without CR0.AM; lazy
 * flags as a random flag setter leaves them.  A mismatch prints the
 * block (hex and decoded), the state, the differences, and the shortest
 * prefix of the block that still differs.
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
    e->a20_mask = UINT64_MAX;
    e->cr[0] = CR0_PE | CR0_PG | (am ? CR0_AM : 0);
    e->cr[3] = DIFF_PT;
    e->cr[4] = CR4_PAE;
    e->efer = EFER_LMA | EFER_LME;
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
    g_assert(x86_decode(&in, p->code, p->len, X86_MODE64) == X86_DEC_OK);
    if (!setjmp(tmpl.jmp_env)) {
        x86_exec_insn(&tmpl, &in);
    }
    tmpl.rip = DIFF_MEM + CODE_OFF;
    tmpl.exc_vector = -1;
    g_free(p);
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
 * The case's initial state in tmpl and mem0: random registers and
 * memory, the pointers, the stack, random flags and DF, the code; a TLB
 * with all, some or none of the data pages in it.
 */
static void state_random(BlockGen *g)
{
    uint64_t x = blockgen_rnd64(g) | 1;

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
    tmpl.eflags = 2 | (g_rand_int(g->r) & CC_MASK) |
                  (blockgen_chance(g, 4) ? DF_MASK : 0);
    tmpl.cc_src = tmpl.eflags & CC_MASK;
    state_shuffle_pages(g);
    state_prelude(g);
    memcpy(diff_emu_mem + CODE_OFF, g->code, g->len + 16);
    memcpy(mem0, diff_emu_mem, DIFF_MEM_SIZE);
    x86_tlb_flush(&tmpl, true);
    if (!blockgen_chance(g, 3)) {
        bool all = blockgen_chance(g, 2);

        for (unsigned p = 0; p < DIFF_MEM_SIZE / 0x1000; p++) {
            if (all || blockgen_chance(g, 2)) {
                x86_translate(&tmpl, DIFF_MEM + p * 0x1000, X86_ACC_WRITE);
            }
        }
    }
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
}

/*
 * Translated code as the loop runs it (exec_translated()): with
 * @budget chained jumps (tcg_exec_block_translated() gives none).
 */
static void run_translated(TcgBlock *tb, int32_t budget)
{
    env.int_shadow = false;
    tcg_jit_budget = budget;
    tb->jit(&env);
}

/*
 * One run of @tb, translated when @jit and the loop would (the code is
 * there and made for this CPL and EFLAGS.AC), else interpreted.  False
 * when @must (the case's own block) has no translation.
 */
static bool run_once(bool jit, bool must, TcgBlock *tb)
{
    if (jit && !tb->jit && !tb->jit_failed) {
        tcg_jit_compile(&env, tb);
    }
    if (!jit || !tb->jit ||
        (env.hflags & TCG_JIT_GUARD) != tb->jit_guard) {
        if (jit && must) {
            return false;
        }
        tcg_exec_block_interp(&env, &test_tc, tb);
        return true;
    }
    if (g_atomic_int_get(&tcg_exec_kicked)) {
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
    tcg_jit_pending_link = NULL;
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
    tcg_tb_flush_all();
    tcg_tb_gc();
    g_atomic_int_set(&tcg_exec_kicked, kick);
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
    tcg_jit_pending_link = NULL;
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
    g_printerr("  block (%u bytes at %#" PRIx64 "): %s\n", len,
               DIFF_MEM + CODE_OFF, h->str);
    while (off < len) {
        X86Insn in;
        char text[96];

        if (x86_decode(&in, code + off, len - off, X86_MODE64) !=
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
}

static bool run_compare(const char *name, const uint8_t *code, unsigned len,
                        bool kick, Outcome *interp, Outcome *jit);

/*
 * A third opinion: the instructions one at a time through
 * x86_exec_insn(), without blocks, until rip leaves [start, start+len).
 */
static void run_stepped(unsigned len, Outcome *o)
{
    uint64_t start = DIFF_MEM + CODE_OFF;

    memcpy(&env, &tmpl, sizeof(env));
    memcpy(diff_emu_mem, mem0, DIFF_MEM_SIZE);
    tcg_tb_flush_all();
    tcg_tb_gc();
    if (!setjmp(env.jmp_env)) {
        for (unsigned i = 0; i < LOOP_MAX * TCG_BLOCK_MAX_INSNS &&
             env.rip >= start && env.rip < start + len; i++) {
            X86Insn in;

            if (x86_decode(&in, diff_emu_mem + (env.rip - DIFF_MEM), 15,
                           X86_MODE64) != X86_DEC_OK) {
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

        if (x86_decode(&in, code + off, len - off, X86_MODE64) !=
            X86_DEC_OK) {
            break;
        }
        off += in.len;
        memcpy(mem0, saved, DIFF_MEM_SIZE);
        memset(mem0 + CODE_OFF + off, 0x06, 16);
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
        if (tmpl.rip == DIFF_MEM + CODE_OFF) {
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
} RandomStats;

static void random_one(GRand *r, unsigned index, RandomStats *st)
{
    BlockGen *g = g_new0(BlockGen, 1);
    static const uint64_t seg_bases[] = { 0, 0x40, (uint64_t)-0x40, 0x1000 };
    Outcome a, b;
    char name[32];
    bool kick;

    g->r = r;
    blockgen_pointers(g);
    g->fs_base = seg_bases[blockgen_rnd(g, 4)];
    g->gs_base = seg_bases[blockgen_rnd(g, 4)];
    blockgen_block(g);
    state_random(g);
    kick = blockgen_chance(g, 2);
    snprintf(name, sizeof(name), "random block %u", index);
    st->blocks++;
    if (!run_compare(name, g->code, g->len, kick, &a, &b)) {
        st->bad++;
    }
    st->insns += a.n;
    st->faults += a.vector >= 0;
    st->cut += a.n < g->ninsn && !g->ended;
    g_free(g);
}

static void test_random_blocks(void)
{
    GRand *r = g_rand_new_with_seed(g_test_rand_int());
    RandomStats st = { 0 };
    gint64 t0 = g_get_monotonic_time();

    for (unsigned i = 0; i < RANDOM_BLOCKS && st.bad < 20; i++) {
        random_one(r, i, &st);
    }
    printf("# %u random blocks, %u instructions decoded, %u ended by an "
           "exception, %u cut short by the decoder, %u mismatches, %.1f s\n",
           st.blocks, st.insns, st.faults, st.cut, st.bad,
           (g_get_monotonic_time() - t0) / 1e6);
    g_rand_free(r);
    g_assert_cmpuint(st.bad, ==, 0);
    /* Most blocks must run to their end, or little is compared. */
    g_assert_cmpuint(st.faults, <, st.blocks / 4);
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
    g_atomic_int_set(&tcg_exec_kicked, 0);
    tcg_jit_pending_link = NULL;
    o->runs = 0;
    o->untranslated = false;
    if (setjmp(env.jmp_env)) {
        tcg_tb_set_running(NULL);
    } else {
        while (env.rip >= lo && env.rip < hi && o->runs < LOOP_MAX) {
            TcgBlock *tb;

            if (tcg_tb_gc_wanted) {
                tcg_tb_gc();
            }
            tb = tcg_block_find(&env);
            if (jit && !tb->jit && !tb->jit_failed) {
                tcg_jit_compile(&env, tb);
            }
            if (tcg_jit_pending_link) {
                tcg_jit_link_pending(&env, tb);
            }
            o->runs++;
            if (jit && tb->jit) {
                run_translated(tb, TCG_JIT_CHAIN_BUDGET);
            } else {
                o->untranslated |= jit;
                tcg_exec_block_interp(&env, &test_tc, tb);
            }
        }
    }
    tcg_jit_pending_link = NULL;
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
    g_test_add_func("/tcg-jit/tlb-miss", test_tlb_miss);
    g_test_add_func("/tcg-jit/self-modifying", test_self_modifying);
    g_test_add_func("/tcg-jit/page-cross", test_page_cross);
    g_test_add_func("/tcg-jit/chain", test_chain);
    return g_test_run();
}
