/*
 * The block translator: a decoded 64-bit-mode block becomes one host
 * function, void fn(X86CPUState *env), that runs it (and the blocks it
 * is linked to) and leaves env as the interpreter would.
 *
 * It is a template translator on top of the interpreter.  The hot
 * integer instructions become host instructions (jit-ops.c); everything
 * else is a call to the instruction's handler, exactly as exec_block()
 * makes it (jit_generic() here).  This file holds the code buffer, the
 * code all blocks share at its start (the epilogue, the checks of a
 * chained exit, the next block's lookup), the block's layout (link
 * slots, prologue, body, stubs), the exits and the chaining between
 * blocks, and the slow-path stubs.
 *
 * Registers in the generated code: RBX = env, R12 = the block's first
 * rip, R13 = env->tlb_gen when the block's body began (zero-extended,
 * see jit_check_leave()), R14D = the chain budget, R15D = tcg_tb_epoch
 * (jit_load_run_state()); R10 R11 R8 RBP R9 hold guest registers
 * (jit_cache_regs); RAX RCX RDX RSI RDI are scratch (and calls clobber
 * all but RBP).  The hflags when the chain of blocks was entered are in
 * the stack slot at RSP (JIT_CHAIN_HFLAGS).  Blocks jump to each other
 * through link slots (jit_exit_chain()) without returning to the loop.
 *
 * Code is specialised for the CPL (which TLB) with EFLAGS.AC alignment
 * checks off; tcg-exec.c runs the block in the interpreter when the
 * vCPU's state differs (tb->jit_guard).
 *
 * 32-bit and 16-bit protected-mode code (CS.D 1 or 0, not real or
 * virtual-8086 mode) is translated too, for the segments the block's
 * native accesses use as they were when it was translated (base, limit,
 * attributes: tb->jit_segs), which the code compares at its entry
 * (where links enter too) and tcg_jit_usable() in C: a block entered
 * with other segments leaves at once and the loop interprets it.  So a
 * base is a constant to add, a limit a constant to compare the offset
 * with (a violation takes the slow path, whose accessor raises #GP or
 * #SS as the interpreter does), and a segment the access may not use
 * (not present, read-only, execute-only, expand-down) leaves the
 * instruction to its handler.  Instructions that load a segment
 * register end the block.  Effective addresses wrap at the address
 * size, rip and the stack pointer at theirs (jit_rip_lea(), SS.B).
 */
#include <sys/mman.h>

#include "qlite/error.h"
#include "qlite/tcg-jit.h"

/* The code buffer: 64 MiB, or QLITE_JIT_BUFFER_MIB (tests make it small). */
#define JIT_BUF_DEFAULT (64u << 20)
/*
 * Room one block may need at most: 64 instructions and their stubs, and
 * a link slot per vCPU for each exit (TCG_BLOCK_MAX_INSNS + 1 at most).
 */
#define JIT_BLOCK_ROOM  ((48u << 10) + \
                         (TCG_BLOCK_MAX_INSNS + 1) * jit_ncpus * \
                         sizeof(TcgJitLink))


static uint8_t *jit_buf;
static size_t jit_used;
static bool jit_reset_wanted;
static size_t jit_buf_size;
static int jit_state = -1;          /* -1 not yet decided, 0 off, 1 on */
/*
 * Code every block shares, at the start of the buffer, which a reset
 * keeps (jit_emit_shared()): the epilogue, the checks of a chained
 * exit, within the block's page or not (jit_exit_chain()), and the
 * lookup of the next block (jit_exit_lookup()).
 */
static uint8_t *jit_epilogue;
/* How a chained exit's target is known to be what the link says. */
enum {
    CHAIN_TLB,          /* 64-bit: no flush since, or the TLB says so */
    CHAIN_GEN,          /* no flush since the link was filled */
    CHAIN_KINDS
};
static uint8_t *jit_chain_check[CHAIN_KINDS];
static uint8_t *jit_lookup;
/* Leave with env->rip = R12; and so, asking to fill the link at RAX. */
static uint8_t *jit_leave_at_r12;
static uint8_t *jit_leave_to_fill;
static size_t jit_shared_size;
static void jit_emit_shared(void);
/* vCPUs: each link slot has one copy per vCPU (env->exec_link_off). */
static unsigned jit_ncpus = 1;
static size_t tcg_jit_buf_mib;      /* -accel tcg,tb-size= (0: default) */

G_STATIC_ASSERT(sizeof(X86TLBEntry) == 64);
G_STATIC_ASSERT(X86_TLB_SIZE <= 4096);

/* ---- the code buffer ------------------------------------------------ */

void tcg_jit_configure(size_t mib)
{
    tcg_jit_buf_mib = mib;
}

bool tcg_jit_enabled(void)
{
    if (jit_state < 0) {
        const char *v = g_getenv("QLITE_JIT");

        const char *mib = g_getenv("QLITE_JIT_BUFFER_MIB");

        jit_state = !(v && !strcmp(v, "0")) && !tcg_trace_on;
        jit_ncpus = MAX(cpu_count(), 1);
        jit_buf_size = JIT_BUF_DEFAULT;
        if (mib) {
            guint64 n;

            if (g_ascii_string_to_unsigned(mib, 10, 1, 1024, &n, NULL)) {
                jit_buf_size = (size_t)n << 20;
            } else {
                warn_report("QLITE_JIT_BUFFER_MIB=%s: not a size from 1 "
                            "to 1024 (MiB); using 64", mib);
            }
        }
        if (tcg_jit_buf_mib) {
            jit_buf_size = tcg_jit_buf_mib << 20;
        }
        if (jit_state) {
            jit_buf = mmap(NULL, jit_buf_size,
                           PROT_READ | PROT_WRITE | PROT_EXEC,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (jit_buf == MAP_FAILED) {
                warn_report("tcg: no executable memory for translated "
                            "code (%s); interpreting", g_strerror(errno));
                jit_buf = NULL;
                jit_state = 0;
            } else {
                jit_emit_shared();
            }
        }
    }
    return jit_state;
}

/*
 * QLITE_JIT_PERFMAP=1: tell perf(1) where each block's code is
 * (/tmp/perf-PID.map, "start size name"), named by guest rip.
 */
static void jit_perf_map(const TcgBlock *tb, uint64_t rip,
                         const uint8_t *start, size_t size)
{
    static FILE *map;
    static int on = -1;

    if (on < 0) {
        on = g_getenv("QLITE_JIT_PERFMAP") != NULL;
        if (on) {
            char *path = g_strdup_printf("/tmp/perf-%d.map", getpid());

            map = fopen(path, "w");
            on = map != NULL;
            g_free(path);
        }
    }
    if (on) {
        fprintf(map, "%" PRIxPTR " %zx guest_%" PRIx64 "_n%u\n",
                (uintptr_t)start, size, rip, tb->n);
        fflush(map);
    }
}

void tcg_jit_flush(void)
{
    jit_reset_wanted = true;
}

void tcg_jit_gc(void)
{
    if (jit_reset_wanted) {
        /*
         * No block refers to translated code any more; nor may a pending
         * link, whose slot lies in the code about to be overwritten.
         */
        jit_reset_wanted = false;
        jit_used = jit_shared_size;
        stats_inc(&tcg_vm_stats[TCG_VM_STAT_CODE_FLUSHES]);
        for (int i = 0; i < cpu_count(); i++) {
            if (cpu_get(i)->arch) {
                x86_env(cpu_get(i))->exec_pending_link = NULL;
            }
        }
    }
}

/* ---- small pieces ---------------------------------------------------- */

void jit_tlb_slot(JitCtx *c, JaReg dst, JaReg linear)
{
    ja_mov_rr(&c->a, 4, dst, linear);
    ja_shift_ri(&c->a, JA_SHR, 4, dst, X86_PAGE_BITS - 6);
    ja_alu_ri(&c->a, JA_AND, 4, dst, (X86_TLB_SIZE - 1) << 6);
}

JitStub *jit_stub(JitCtx *c, JitStubKind kind, uint8_t *from)
{
    JitStub *s;

    if (c->nstubs == JIT_MAX_STUBS) {
        c->failed = true;
        s = &c->stubs[0];   /* scribble: the block is thrown away */
    } else {
        s = &c->stubs[c->nstubs++];
    }
    *s = (JitStub){
        .kind = kind, .from = from, .rip_off = c->off, .next_off = c->next,
        .dirty = c->dirty,
    };
    return s;
}

/* ---- guest registers in host registers ------------------------------ */

/* A register worth caching is used this much (jit_cache_choose()). */
#define JIT_CACHE_MIN_SCORE 4

/* Free in the translators; a call clobbers them (jit_call_env()). */
const JaReg jit_cache_regs[JIT_NCACHE] = {
    JA_R10, JA_R11, JA_R8, JA_RBP, JA_R9,
};

/*
 * The dirty slots stay dirty: code may branch around the flush (a call
 * on a slow path only), and a second store of the same value is
 * harmless.  Only the body's start makes them clean.
 */
void jit_cache_flush(JitCtx *c)
{
    for (unsigned k = 0; k < c->ncache; k++) {
        if (c->dirty & (1u << k)) {
            ja_store(&c->a, 8, greg(c->cache_guest[k]), jit_cache_regs[k]);
        }
    }
}

/* The cached registers from env (where the body begins, after calls). */
static void jit_cache_reload(JitCtx *c)
{
    for (unsigned k = 0; k < c->ncache; k++) {
        ja_load(&c->a, 8, jit_cache_regs[k], greg(c->cache_guest[k]));
    }
}

/*
 * Which guest registers to cache: the most used, a write counting
 * twice (it saves a store until the next exit), if used enough to pay
 * for the loads where the body begins.  For a block that branches back
 * to its start, also the cached ones it may write (loop_dirty: any
 * register operand, ModRM's, RAX and RSP; more is only stores to spare).
 */
static void jit_cache_choose(JitCtx *c)
{
    unsigned score[16] = { 0 };
    uint32_t written = 1u << R_EAX | 1u << R_ESP;
    const TcgBlock *tb = c->tb;
    uint32_t off = 0;
    bool loops = false;

    for (unsigned i = 0; i < tb->n; i++) {
        const X86Insn *in = &tb->ops[i].insn;

        for (int n = 0; n < 3; n++) {
            if (in->loc[n].kind == X86_LOC_REG && in->loc[n].reg < 16) {
                score[in->loc[n].reg] += n == 0 && in->op != X86_OP_CMP &&
                                         in->op != X86_OP_TEST ? 2 : 1;
                written |= 1u << in->loc[n].reg;
            }
        }
        if (in->base < 16) {
            score[in->base]++;
        }
        if (in->index < 16) {
            score[in->index]++;
        }
        written |= (in->reg < 16 ? 1u << in->reg : 0) |
                   (in->rm < 16 ? 1u << in->rm : 0);
        switch (in->op) {
        case X86_OP_PUSH: case X86_OP_POP: case X86_OP_CALL: case X86_OP_RET:
            score[R_ESP] += 3;
            break;
        default:
            break;
        }
        off += in->len;
        if ((in->op == X86_OP_JCC || in->op == X86_OP_JMP) &&
            (uint32_t)(off + in->imm) == 0) {
            loops = true;
        }
    }
    memset(c->cache_slot, -1, sizeof(c->cache_slot));
    c->ncache = 0;
    c->dirty = 0;
    c->loop_dirty = 0;
    while (c->ncache < JIT_NCACHE) {
        unsigned best = 0;

        for (unsigned g = 1; g < 16; g++) {
            if (score[g] > score[best]) {
                best = g;
            }
        }
        if (score[best] < JIT_CACHE_MIN_SCORE) {
            break;
        }
        if (loops && (written & (1u << best))) {
            c->loop_dirty |= 1u << c->ncache;
        }
        c->cache_slot[best] = (int8_t)c->ncache;
        c->cache_guest[c->ncache++] = (uint8_t)best;
        score[best] = 0;
    }
}

void jit_wrap(JitCtx *c, unsigned size, JaReg r)
{
    if (size == 4) {
        ja_mov_rr(&c->a, 4, r, r);
    } else if (size == 2) {
        ja_movx_rr(&c->a, false, 2, r, r);
    }
}

void jit_rip_lea(JitCtx *c, JaReg r, uint32_t off)
{
    ja_lea(&c->a, r, ja_mem(JA_R12, off));
    jit_wrap(c, c->ip_size, r);
}

/* env->rip = the block's rip + @off. */
void jit_set_rip(JitCtx *c, uint32_t off)
{
    jit_rip_lea(c, JA_RAX, off);
    ja_store(&c->a, 8, env_mem(ENV_OFF(rip)), JA_RAX);
}

void jit_exit(JitCtx *c, uint32_t rip_off)
{
    jit_cache_flush(c);
    jit_set_rip(c, rip_off);
    ja_jmp_to(&c->a, jit_epilogue);
}

G_STATIC_ASSERT(offsetof(X86CPUState, exec_kicked) ==
                offsetof(X86CPUState, tlb_gen) + 4);
G_STATIC_ASSERT(offsetof(X86CPUState, tlb_gen) % 8 == 0);

/*
 * Leave when kicked (@out[0]) or out of budget (@out[1]).  Translated
 * code keeps env->exec_budget in JIT_BUDGET (loaded by the prologue,
 * stored by the epilogue and around tcg_jit_next_code(), which takes
 * one too).  With @gen, also when a TLB flush came since the body began
 * (@out[0] too): one 8-byte compare of R13 (tlb_gen then, zero-extended)
 * with tlb_gen and the kick after it.
 */
static void jit_check_leave(JitCtx *c, uint8_t **out, bool gen)
{
    JitAsm *a = &c->a;

    if (gen) {
        ja_alu_rm(a, JA_CMP, 8, JA_R13, env_mem(ENV_OFF(tlb_gen)));
    } else {
        ja_alu_mi(a, JA_CMP, 4, env_mem(ENV_OFF(exec_kicked)), 0);
    }
    out[0] = ja_jcc(a, CC_NE);
    ja_alu_ri(a, JA_SUB, 4, JIT_BUDGET, 1);
    out[1] = ja_jcc(a, CC_S);
}

/*
 * What translated code keeps in registers while it runs: the budget,
 * and the blocks' epoch (JIT_EPOCH), which changes only while no vCPU
 * runs (tcg_tb_gc()) but for a block translated again for other
 * segments, whose old code stays valid: links to it may go on.
 */
static void jit_load_run_state(JitCtx *c)
{
    ja_load(&c->a, 4, JIT_BUDGET, env_mem(ENV_OFF(exec_budget)));
    ja_mov_imm(&c->a, JIT_EPOCH, (uintptr_t)&tcg_tb_epoch);
    ja_load(&c->a, 4, JIT_EPOCH, ja_mem(JIT_EPOCH, 0));
}

/* tcg_jit_next_code() with env->exec_budget current around it. */
static void jit_call_next_code(JitCtx *c)
{
    ja_store(&c->a, 4, env_mem(ENV_OFF(exec_budget)), JIT_BUDGET);
    jit_call_env(c, tcg_jit_next_code, false, 0);
    jit_load_run_state(c);
}

/*
 * A branch taken when this block was invalidated (a store hit its code);
 * returns its displacement for the caller to patch.
 */
static uint8_t *jit_if_invalid(JitCtx *c)
{
    ja_mov_imm(&c->a, JA_RAX, (uintptr_t)&c->tb->valid);
    ja_load(&c->a, 1, JA_RAX, ja_mem(JA_RAX, 0));
    ja_test_rr(&c->a, 4, JA_RAX, JA_RAX);
    return ja_jcc(&c->a, CC_E);
}

/*
 * Back to the block's own start (a loop): it is this block while the
 * block is valid and no TLB flush happened since the body began (R13).
 */
static void jit_exit_loop(JitCtx *c)
{
    JitAsm *a = &c->a;
    uint8_t *out[3] = { NULL };

    /*
     * The cached registers are still in theirs, and the body assumes
     * loop_dirty dirty: what else is dirty goes to env first.
     */
    if (c->dirty & ~c->loop_dirty) {
        jit_cache_flush(c);
    }
    /*
     * Only another vCPU running meanwhile can invalidate the running
     * block unseen: its own stores check (jit_check_stale()), and
     * devices writing RAM kick.
     */
    if (tcg_threads_multi && jit_ncpus > 1) {
        out[2] = jit_if_invalid(c);
    }
    jit_check_leave(c, out, true);
    ja_jmp_to(a, c->body_cached);
    for (int k = 0; k < 3; k++) {
        if (out[k]) {
            ja_patch(a, out[k], a->p);
        }
    }
    jit_exit(c, 0);
}

/*
 * Does the exit to @rip_off stay in the page the block starts in (64-bit
 * code, where rip does not wrap)?  Then its target is known by physical
 * address: the block was entered under the mapping of its page, and
 * while no flush came since (R13), that page still holds the target.
 * So such a jump is patched (jit_exit_patchable()), and survives the
 * TLB flushes of context switches.
 */
static bool jit_same_page(const JitCtx *c, uint32_t rip_off)
{
    int64_t in_page = (int64_t)(c->tb->phys & ~X86_PAGE_MASK) +
                      (int32_t)rip_off;

    return !c->segmented && in_page >= 0 && in_page < X86_PAGE_SIZE;
}

/*
 * Is the target's page (R12) mapped, for fetching, to the physical page
 * the target block lies in (one page only) by the TLB at offset EDI of
 * env?  Then the link holds whatever flushes came since it was filled:
 * a flush empties the TLB but for global pages, which the kernel's code
 * is in, so links across its pages survive the context switches (they
 * were half a million trips through the loop to fill them again in a
 * boot).  Branches to @miss when not; clobbers RDX RSI R8.
 */
static void jit_chain_tlb_check(JitCtx *c, uint8_t **miss, JaMem tb)
{
    JitAsm *a = &c->a;

    jit_tlb_slot(c, JA_RSI, JA_R12);
    ja_alu_rr(a, JA_ADD, 8, JA_RSI, JA_RDI);
    ja_alu_rr(a, JA_ADD, 8, JA_RSI, JA_RBX);     /* the entry */
    ja_mov_rr(a, 8, JA_R8, JA_R12);
    ja_alu_ri(a, JA_AND, 8, JA_R8, (int32_t)X86_PAGE_MASK);
    ja_alu_rm(a, JA_CMP, 8, JA_R8,
              ja_mem(JA_RSI, offsetof(X86TLBEntry, tag_code)));
    miss[0] = ja_jcc(a, CC_NE);
    ja_load(a, 8, JA_RDX, tb);
    ja_load(a, 8, JA_R8, ja_mem(JA_RSI, offsetof(X86TLBEntry, paddr)));
    ja_alu_rm(a, JA_CMP, 8, JA_R8, ja_mem(JA_RDX, offsetof(TcgBlock, page)));
    miss[1] = ja_jcc(a, CC_NE);
    ja_alu_mi(a, JA_CMP, 8,
              ja_mem(JA_RDX, offsetof(TcgBlock, page) + sizeof(uint64_t)),
              (int32_t)TCG_NO_PAGE);
    miss[2] = ja_jcc(a, CC_NE);
    /*
     * The link (or jump-cache entry) keeps its old generation: only the
     * loop notes the code's region under the new one
     * (x86_tlb_note_code()), without which an INVLPG of the target's
     * page would not bump it.
     */
}

/*
 * The checks of a chained exit, shared by every block: called with R12 =
 * the target rip, RAX = the exit's link slot (vCPU 0's copy) and, for
 * CHAIN_TLB, EDI = the offset in env of the block's TLB, they return in
 * RAX where to jump: the target's code, or the epilogue (after asking
 * the loop to fill the slot, on a miss).
 */
static void jit_emit_chain_check(JitCtx *c, int kind)
{
    JitAsm *a = &c->a;
    uint8_t *miss[7], *out[2], *gen_ok = NULL;
    unsigned nmiss = 0;

    if (jit_ncpus > 1) {
        ja_alu_rm(a, JA_ADD, 8, JA_RAX, env_mem(ENV_OFF(exec_link_off)));
    }
    ja_alu_rm(a, JA_CMP, 4, JIT_EPOCH,
              ja_mem(JA_RAX, offsetof(TcgJitLink, epoch)));
    miss[nmiss++] = ja_jcc(a, CC_NE);
    ja_alu_rm(a, JA_CMP, 8, JA_R12, ja_mem(JA_RAX, offsetof(TcgJitLink, pc)));
    miss[nmiss++] = ja_jcc(a, CC_NE);
    ja_load(a, 4, JA_RCX, env_mem(ENV_OFF(tlb_gen)));
    ja_alu_rm(a, JA_CMP, 4, JA_RCX, ja_mem(JA_RAX, offsetof(TcgJitLink, gen)));
    if (kind == CHAIN_TLB) {
        gen_ok = ja_jcc(a, CC_E);
        jit_chain_tlb_check(c, &miss[nmiss],
                            ja_mem(JA_RAX, offsetof(TcgJitLink, tb)));
        nmiss += 3;
        ja_patch(a, gen_ok, a->p);
    } else {
        miss[nmiss++] = ja_jcc(a, CC_NE);
    }
    ja_load(a, 8, JA_RDX, ja_mem(JA_RAX, offsetof(TcgJitLink, tb)));
    ja_alu_mi(a, JA_CMP, 1, ja_mem(JA_RDX, offsetof(TcgBlock, valid)), 0);
    miss[nmiss++] = ja_jcc(a, CC_E);
    jit_check_leave(c, out, false);
    ja_load(a, 8, JA_RAX, ja_mem(JA_RAX, offsetof(TcgJitLink, code)));
    ja_ret(a);
    for (unsigned k = 0; k < nmiss; k++) {
        ja_patch(a, miss[k], a->p);
    }
    ja_store(a, 8, env_mem(ENV_OFF(exec_pending_link)), JA_RAX);
    for (int k = 0; k < 2; k++) {
        ja_patch(a, out[k], a->p);
    }
    /* Only leaving needs env->rip: the target's code has it in R12. */
    ja_store(a, 8, env_mem(ENV_OFF(rip)), JA_R12);
    ja_mov_imm(a, JA_RAX, (uintptr_t)jit_epilogue);
    ja_ret(a);
}

/*
 * A jump within the block's page (R12 = its rip): the target is the
 * block at this one's physical address plus the offset, whatever the
 * linear address this one runs at, while no TLB flush came since the
 * body began (R13).  So the jump is patched, once the loop has found
 * the target, to go straight there (tcg_jit_link_pending()), checking
 * only for a kick and the budget; invalidating the target points it
 * back here, at leaving to have it patched again (tcg_jit_unlink()).
 */
static void jit_exit_patchable(JitCtx *c, TcgJitLink *link, TcgJitPatch *p,
                               uint32_t rip_off)
{
    JitAsm *a = &c->a;
    uint8_t *out[2];

    jit_check_leave(c, out, true);
    ja_patch(a, out[0], jit_leave_at_r12);
    ja_patch(a, out[1], jit_leave_at_r12);
    p->rel = ja_jmp_patchable(a);
    p->unlinked = a->p;
    p->phys = c->tb->phys + (int32_t)rip_off;
    p->mode = c->tb->mode;
    for (unsigned i = 0; i < jit_ncpus; i++) {
        link[i].patch = p;
    }
    ja_mov_imm(a, JA_RAX, (uintptr_t)link);
    ja_jmp_to(a, jit_leave_to_fill);
}

/*
 * Go on at the block's rip + @rip_off: within the block's page through
 * a patched jump (jit_exit_patchable()), else through a link slot
 * (TcgJitLink): while the slot's epoch is current (no block was
 * freed since it was filled, so its target still exists) and its target
 * valid, it was filled for this rip under this TLB generation (or, in
 * 64-bit code, the TLB maps its page where the target is), no kick is
 * pending and the budget lasts, jump straight into the target's code.
 * Otherwise leave, asking the loop to fill the slot with the block it
 * runs next.
 * The checks are shared code (jit_emit_chain_check()); the jump to
 * the target is the exit's own, which the host predicts exit by exit.
 */
void jit_exit_chain(JitCtx *c, uint32_t rip_off)
{
    JitAsm *a = &c->a;
    TcgJitLink *link;
    int kind;

    if (rip_off == 0) {
        jit_exit_loop(c);
        return;
    }
    if (c->nlinks == c->max_links) {
        jit_exit(c, rip_off);
        return;
    }
    jit_cache_flush(c);
    /* One slot per vCPU, each written by its own vCPU's thread only. */
    link = &c->links[c->nlinks * jit_ncpus];
    for (unsigned i = 0; i < jit_ncpus; i++) {
        link[i].epoch = tcg_tb_epoch - 1;   /* not linked yet */
    }
    jit_rip_lea(c, JA_R12, rip_off);
    if (jit_same_page(c, rip_off)) {
        jit_exit_patchable(c, link, &c->patches[c->nlinks++], rip_off);
        return;
    }
    c->nlinks++;
    ja_mov_imm(a, JA_RAX, (uintptr_t)link);
    if (!c->segmented) {
        kind = CHAIN_TLB;
        ja_mov_imm(a, JA_RDI, (uint32_t)c->tlb);
    } else {
        kind = CHAIN_GEN;
    }
    ja_call_to(a, jit_chain_check[kind]);
    ja_jmp_reg(a, JA_RAX);
}

G_STATIC_ASSERT(sizeof(TcgJumpEntry) == 32);

/*
 * The jump cache's hit, as tcg_block_next_inline() and tcg_jit_usable()
 * make it, for 64-bit code: the entry for env->rip (R12) holds a block
 * of this pc, TLB generation (or the TLB at offset EDI maps the pc's
 * page where the block is, jit_chain_tlb_check()), hflags and epoch,
 * still valid and translated for this guard; then return its code
 * unless kicked or out of budget (@out).
 * Anything else branches to one of the returned @slow (up to 12).
 */
static unsigned jit_jc_hit(JitCtx *c, uint8_t **slow, uint8_t **out)
{
    JitAsm *a = &c->a;
    int32_t jc = offsetof(TcgCPU, jc);
    uint8_t *gen_ok;
    unsigned n = 0;

    ja_mov_rr(a, 8, JA_RAX, JA_R12);
    ja_shift_ri(a, JA_SHR, 8, JA_RAX, TCG_JC_BITS);
    ja_alu_rr(a, JA_XOR, 8, JA_RAX, JA_R12);
    ja_alu_ri(a, JA_AND, 4, JA_RAX, TCG_JC_SIZE - 1);
    ja_shift_ri(a, JA_SHL, 4, JA_RAX, 5);
    ja_alu_rm(a, JA_ADD, 8, JA_RAX, env_mem(ENV_OFF(exec)));
    ja_alu_rm(a, JA_CMP, 8, JA_R12,
              ja_mem(JA_RAX, jc + offsetof(TcgJumpEntry, pc)));
    slow[n++] = ja_jcc(a, CC_NE);
    ja_load(a, 4, JA_RCX, env_mem(ENV_OFF(tlb_gen)));
    ja_alu_rm(a, JA_CMP, 4, JA_RCX,
              ja_mem(JA_RAX, jc + offsetof(TcgJumpEntry, gen)));
    gen_ok = ja_jcc(a, CC_E);
    /* Or the TLB at EDI maps the page where the block is (as links). */
    jit_chain_tlb_check(c, &slow[n],
                        ja_mem(JA_RAX, jc + offsetof(TcgJumpEntry, tb)));
    n += 3;
    ja_patch(a, gen_ok, a->p);
    ja_load(a, 4, JA_RSI, env_mem(ENV_OFF(hflags)));
    ja_alu_rm(a, JA_CMP, 4, JA_RSI,
              ja_mem(JA_RAX, jc + offsetof(TcgJumpEntry, hflags)));
    slow[n++] = ja_jcc(a, CC_NE);
    ja_alu_rm(a, JA_CMP, 4, JIT_EPOCH,
              ja_mem(JA_RAX, jc + offsetof(TcgJumpEntry, epoch)));
    slow[n++] = ja_jcc(a, CC_NE);
    ja_load(a, 8, JA_RAX, ja_mem(JA_RAX, jc + offsetof(TcgJumpEntry, tb)));
    ja_test_rr(a, 8, JA_RAX, JA_RAX);
    slow[n++] = ja_jcc(a, CC_E);
    ja_alu_mi(a, JA_CMP, 1, ja_mem(JA_RAX, offsetof(TcgBlock, valid)), 0);
    slow[n++] = ja_jcc(a, CC_E);
    ja_load(a, 8, JA_RCX, ja_mem(JA_RAX, offsetof(TcgBlock, jit)));
    ja_test_rr(a, 8, JA_RCX, JA_RCX);
    slow[n++] = ja_jcc(a, CC_E);
    ja_alu_ri(a, JA_AND, 4, JA_RSI, TCG_JIT_GUARD);      /* hflags, above */
    ja_alu_rm(a, JA_CMP, 4, JA_RSI,
              ja_mem(JA_RAX, offsetof(TcgBlock, jit_guard)));
    slow[n++] = ja_jcc(a, CC_NE);
    jit_check_leave(c, out, false);
    ja_store_imm(a, 1, env_mem(ENV_OFF(int_shadow)), 0);
    ja_load(a, 8, JA_RAX, ja_mem(JA_RAX, offsetof(TcgBlock, jit_body)));
    ja_ret(a);
    return n;
}

/* tcg_jit_next_code(): on into the block it returns, or leave on NULL. */
static void jit_exit_next_code(JitCtx *c)
{
    JitAsm *a = &c->a;

    jit_call_next_code(c);
    ja_test_rr(a, 8, JA_RAX, JA_RAX);
    ja_jcc_to(a, CC_E, jit_epilogue);
    ja_load(a, 8, JA_R12, env_mem(ENV_OFF(rip)));
    ja_jmp_reg(a, JA_RAX);
}

/*
 * Where to go on at env->rip, shared by every block (64-bit code; EDI =
 * the offset in env of the calling block's TLB): it returns in RAX the
 * next block's code, R12 its rip, through the jump cache's hit or else
 * tcg_jit_next_code(), or the epilogue.
 */
static void jit_emit_lookup(JitCtx *c)
{
    JitAsm *a = &c->a;
    uint8_t *slow[12], *out[2], *leave;
    unsigned nslow;

    ja_load(a, 8, JA_R12, env_mem(ENV_OFF(rip)));
    nslow = jit_jc_hit(c, slow, out);
    for (unsigned k = 0; k < nslow; k++) {
        ja_patch(a, slow[k], a->p);
    }
    ja_alu_ri(a, JA_SUB, 8, JA_RSP, 8);     /* aligned again for the call */
    jit_call_next_code(c);
    ja_alu_ri(a, JA_ADD, 8, JA_RSP, 8);
    ja_test_rr(a, 8, JA_RAX, JA_RAX);
    leave = ja_jcc(a, CC_E);
    ja_load(a, 8, JA_R12, env_mem(ENV_OFF(rip)));
    ja_ret(a);
    ja_patch(a, leave, a->p);
    for (int k = 0; k < 2; k++) {
        ja_patch(a, out[k], a->p);
    }
    ja_mov_imm(a, JA_RAX, (uintptr_t)jit_epilogue);
    ja_ret(a);
}

/*
 * Go on at env->rip, which the instruction computed (RET, an indirect
 * JMP or CALL): in 64-bit code through the shared lookup, with the jump
 * into the block this exit's own; else tcg_jit_next_code() finds the
 * block as the loop would and returns its code, or NULL to leave.
 */
void jit_exit_lookup(JitCtx *c)
{
    jit_cache_flush(c);
    if (c->segmented) {
        jit_exit_next_code(c);
        return;
    }
    ja_mov_imm(&c->a, JA_RDI, (uint32_t)c->tlb);
    ja_call_to(&c->a, jit_lookup);
    ja_jmp_reg(&c->a, JA_RAX);
}

/* The buffer's shared code (see jit_epilogue); once, before any block. */
static void jit_emit_shared(void)
{
    JitCtx *c = g_new0(JitCtx, 1);
    JitAsm *a = &c->a;

    ja_init(a, jit_buf, jit_buf_size);
    jit_epilogue = a->p;
    ja_store(a, 4, env_mem(ENV_OFF(exec_budget)), JIT_BUDGET);
    ja_alu_ri(a, JA_ADD, 8, JA_RSP, 8);
    ja_pop(a, JIT_EPOCH);
    ja_pop(a, JIT_BUDGET);
    ja_pop(a, JA_R13);
    ja_pop(a, JA_RBP);
    ja_pop(a, JA_R12);
    ja_pop(a, JA_RBX);
    ja_ret(a);
    for (int kind = 0; kind < CHAIN_KINDS; kind++) {
        jit_chain_check[kind] = a->p;
        jit_emit_chain_check(c, kind);
    }
    jit_lookup = a->p;
    jit_emit_lookup(c);
    jit_leave_to_fill = a->p;
    if (jit_ncpus > 1) {
        ja_alu_rm(a, JA_ADD, 8, JA_RAX, env_mem(ENV_OFF(exec_link_off)));
    }
    ja_store(a, 8, env_mem(ENV_OFF(exec_pending_link)), JA_RAX);
    jit_leave_at_r12 = a->p;
    ja_store(a, 8, env_mem(ENV_OFF(rip)), JA_R12);
    ja_jmp_to(a, jit_epilogue);
    g_assert(!a->overflow);
    jit_shared_size = ((size_t)(a->p - jit_buf) + 15) & ~(size_t)15;
    jit_used = jit_shared_size;
    g_free(c);
}

/* A conditional exit to rip_off (host condition @cc), chained. */
void jit_exit_if(JitCtx *c, int cc, uint32_t rip_off)
{
    JitStub *s = jit_stub(c, STUB_CHAIN, ja_jcc(&c->a, cc));

    s->rip_off = rip_off;
}

/*
 * Leave after this instruction if it invalidated this block (it stored
 * over its own code), as the interpreter does (tcg_tb_running_stale).
 */
void jit_check_stale(JitCtx *c, bool keep_rip)
{
    JitStub *s = jit_stub(c, STUB_EXIT, jit_if_invalid(c));

    s->rip_off = c->next;
    s->keep_rip = keep_rip;
}

/* ---- instructions ---------------------------------------------------- */

/*
 * Anything else: call the handler as exec_block() does, keeping
 * env->rip current for it and leaving when it changed rip (a branch, a
 * REP slice), the mode, or the code of this block.
 */
static void jit_generic(JitCtx *c, const TcgOp *op)
{
    bool sets_rip = op->insn.flags & (X86_F_END | X86_F_REP);
    JitStub *s;

    c->cc_group = -1;           /* the handler may record anything */
    c->cc_op_known = -1;
    if (!op->pure) {
        jit_set_rip(c, c->off);
    }
    jit_call_env(c, op->fn, true, (uintptr_t)&op->insn);
    if (op->pure) {
        return;
    }
    if (jit_x86_op_leaves(op)) {
        /* A branch, a mode change: it set rip, the block is done. */
        if (op->insn.op == X86_OP_JMP_IND || op->insn.op == X86_OP_CALL_IND) {
            jit_exit_next_code(c);
        } else {
            ja_jmp_to(&c->a, jit_epilogue);
        }
        return;
    }
    if (c->segmented && jit_x86_op_loads_seg(op)) {
        /* The code after it was made for the old segment. */
        if (!sets_rip) {
            jit_set_rip(c, c->next);
        }
        ja_jmp_to(&c->a, jit_epilogue);
        return;
    }
    if (sets_rip) {
        jit_rip_lea(c, JA_RAX, c->next);
        ja_alu_rm(&c->a, JA_CMP, 8, JA_RAX, env_mem(ENV_OFF(rip)));
        s = jit_stub(c, STUB_EXIT, ja_jcc(&c->a, CC_NE));
        s->keep_rip = true;
    }
    ja_load(&c->a, 4, JA_RAX, env_mem(ENV_OFF(hflags)));
    ja_alu_rm(&c->a, JA_CMP, 4, JA_RAX, JIT_CHAIN_HFLAGS);
    s = jit_stub(c, STUB_EXIT, ja_jcc(&c->a, CC_NE));
    s->rip_off = c->next;
    s->keep_rip = sets_rip;
    jit_check_stale(c, sets_rip);
}

/* ---- stubs, prologue, the block ---------------------------------- */

void jit_call_env(JitCtx *c, const void *fn, bool with_arg, uint64_t arg)
{
    jit_cache_flush(c);
    ja_mov_rr(&c->a, 8, JA_RDI, JA_RBX);
    if (with_arg) {
        ja_mov_imm(&c->a, JA_RSI, arg);
    }
    ja_call(&c->a, fn);
    /* It may have changed guest registers, and clobbered the cache's. */
    jit_cache_reload(c);
}

/* RDX = the access's effective address: RSI less the segment base. */
static void jit_stub_ea(JitCtx *c, const JitStub *s)
{
    if (c->segmented) {
        /* Linear addresses wrap at 4 GiB, and so does this. */
        ja_mov_rr(&c->a, 4, JA_RDX, JA_RSI);
        if ((uint32_t)c->segs[s->seg].base) {
            ja_alu_ri(&c->a, JA_SUB, 4, JA_RDX,
                      (int32_t)(uint32_t)c->segs[s->seg].base);
        }
        return;
    }
    ja_mov_rr(&c->a, 8, JA_RDX, JA_RSI);
    if (s->seg == R_FS || s->seg == R_GS) {
        ja_alu_rm(&c->a, JA_SUB, 8, JA_RDX,
                  env_mem(ENV_OFF(segs[s->seg].base)));
    }
}

static void jit_emit_stub(JitCtx *c, JitStub *s)
{
    JitAsm *a = &c->a;
    uint32_t base = c->segmented ? (uint32_t)c->segs[s->seg].base : 0;

    if (s->from_limit) {
        /* Past the limit, RSI still the offset: the accessor faults. */
        ja_patch(a, s->from_limit, a->p);
        if (s->kind != STUB_GENERIC && base) {
            ja_alu_ri(a, JA_ADD, 4, JA_RSI, (int32_t)base);
        }
    }
    ja_patch(a, s->from, a->p);
    /* Exits made here belong to the stub's instruction. */
    c->off = s->rip_off;
    c->next = s->next_off;
    /*
     * Anything the stub does reads env: the registers as they were.
     * Then nothing is dirty here (the stub's arguments may use R8).
     * But for a loop's back edge, which stores what it must.
     */
    c->dirty = s->dirty;
    if (s->kind != STUB_CHAIN || s->rip_off != 0) {
        jit_cache_flush(c);
        c->dirty = 0;
    }
    switch (s->kind) {
    case STUB_EXIT:
        if (!s->keep_rip) {
            jit_set_rip(c, s->rip_off);
        }
        ja_jmp_to(a, jit_epilogue);
        return;
    case STUB_CHAIN:
        jit_exit_chain(c, s->rip_off);
        return;
    case STUB_LOAD:
    case STUB_STORE:
        /* x86_mem_read(env, seg, ea, size) / x86_mem_write(..., value) */
        jit_set_rip(c, s->rip_off);
        ja_mov_rr(a, 8, JA_R8, JA_RCX);
        jit_stub_ea(c, s);
        ja_mov_imm(a, JA_RCX, s->size);
        jit_call_env(c, s->kind == STUB_LOAD ? (void *)x86_mem_read
                                             : (void *)x86_mem_write,
                     true, s->seg);
        if (s->kind == STUB_STORE) {
            jit_check_stale(c, false);
        }
        ja_jmp_to(a, s->back);
        return;
    case STUB_GENERIC:
        jit_set_rip(c, s->rip_off);
        /* XCHG and CMPXCHG are translated: their slow path is atomic. */
        jit_call_env(c, x86_insn_locked(s->insn) ? (void *)x86_exec_locked
                                                 : (void *)x86_exec_generic,
                     true, (uintptr_t)s->insn);
        if (!s->back) {
            /* CALL, RET: the handler set rip (a slow path: no inline hit). */
            jit_exit_next_code(c);
            return;
        }
        jit_check_stale(c, false);
        ja_jmp_to(a, s->back);
        return;
    }
}


G_STATIC_ASSERT(offsetof(SegmentCache, flags) ==
                offsetof(SegmentCache, limit) + 4);

/* Leave (rip is the block's start) unless env's segment @seg is c's. */
static void jit_check_seg(JitCtx *c, unsigned seg)
{
    JitAsm *a = &c->a;
    const TcgJitSeg *sc = &c->segs[seg];

    ja_mov_imm(a, JA_RAX, sc->base);
    ja_alu_rm(a, JA_CMP, 8, JA_RAX, env_mem(ENV_OFF(segs[seg].base)));
    ja_jcc_to(a, CC_NE, jit_epilogue);
    ja_mov_imm(a, JA_RAX, (uint64_t)sc->flags << 32 | sc->limit);
    ja_alu_rm(a, JA_CMP, 8, JA_RAX, env_mem(ENV_OFF(segs[seg].limit)));
    ja_jcc_to(a, CC_NE, jit_epilogue);
}

/*
 * At the entry: the segments are those the code was made for, and the
 * block lies within CS's limit from this rip (the loop's lookup checks
 * that; a link does not).
 */
static void jit_check_segs(JitCtx *c)
{
    JitAsm *a = &c->a;
    uint32_t limit = c->segs[R_CS].limit;

    for (unsigned seg = 0; seg < 6; seg++) {
        if (c->seg_mask & (1u << seg)) {
            jit_check_seg(c, seg);
        }
    }
    if (c->tb->size - 1u > limit) {
        c->failed = true;
        return;
    }
    ja_mov_imm(a, JA_RAX, limit - (c->tb->size - 1u));
    ja_alu_rr(a, JA_CMP, 8, JA_R12, JA_RAX);
    ja_jcc_to(a, CC_A, jit_epilogue);
}

/*
 * A block whose instruction crosses into a second page, entered through
 * a jump within its first page (jit_exit_patchable()), which checks only
 * the first: leave unless the TLB maps the second where it was.
 */
static void jit_check_second_page(JitCtx *c)
{
    JitAsm *a = &c->a;

    ja_lea(a, JA_RSI, ja_mem(JA_R12, X86_PAGE_SIZE));
    ja_alu_ri(a, JA_AND, 8, JA_RSI, (int32_t)X86_PAGE_MASK);
    jit_tlb_slot(c, JA_RAX, JA_RSI);
    ja_alu_rr(a, JA_ADD, 8, JA_RAX, JA_RBX);
    ja_alu_rm(a, JA_CMP, 8, JA_RSI,
              ja_mem(JA_RAX, c->tlb + offsetof(X86TLBEntry, tag_code)));
    ja_jcc_to(a, CC_NE, jit_leave_at_r12);
    ja_mov_imm(a, JA_RSI, c->tb->page[1]);
    ja_alu_rm(a, JA_CMP, 8, JA_RSI,
              ja_mem(JA_RAX, c->tlb + offsetof(X86TLBEntry, paddr)));
    ja_jcc_to(a, CC_NE, jit_leave_at_r12);
}

/*
 * The block's code: link slots, the entry (prologue), the body (where
 * chained jumps enter) and the stubs; the epilogue is shared.
 */
static void jit_translate(JitCtx *c)
{
    const TcgBlock *tb = c->tb;
    JitAsm *a = &c->a;
    uint32_t off = 0;
    bool left = false;

    /* One slot per exit with a static target: Jcc, JMP, CALL, the end. */
    c->max_links = jit_x86_count_links(tb);
    c->links = ja_reserve(a, c->max_links * jit_ncpus * sizeof(TcgJitLink));
    c->patches = ja_reserve(a, c->max_links * sizeof(TcgJitPatch));
    if (!c->links || !c->patches) {
        return;
    }

    c->cc_group = -1;           /* flags from before the block */
    c->cc_op_known = -1;
    jit_cache_choose(c);

    c->entry = a->p;
    ja_push(a, JA_RBX);
    ja_push(a, JA_R12);
    ja_push(a, JA_RBP);
    ja_push(a, JA_R13);
    ja_push(a, JIT_BUDGET);
    ja_push(a, JIT_EPOCH);
    ja_alu_ri(a, JA_SUB, 8, JA_RSP, 8);     /* 16-byte aligned for calls */
    ja_mov_rr(a, 8, JA_RBX, JA_RDI);
    jit_load_run_state(c);
    ja_load(a, 8, JA_R12, env_mem(ENV_OFF(rip)));
    ja_load(a, 4, JA_RAX, env_mem(ENV_OFF(hflags)));
    ja_store(a, 4, JIT_CHAIN_HFLAGS, JA_RAX);
    if (c->segmented) {
        jit_check_segs(c);
    }
    /* Loops to the start skip the checks: nothing changed the segments. */
    c->body = a->p;
    ja_load(a, 4, JA_R13, env_mem(ENV_OFF(tlb_gen)));
    if (tb->page[1] != TCG_NO_PAGE && !c->segmented) {
        jit_check_second_page(c);
    }
    jit_cache_reload(c);
    c->body_cached = a->p;
    c->dirty = c->loop_dirty;

    for (unsigned i = 0; i < tb->n && !left; i++) {
        const TcgOp *op = &tb->ops[i];
        bool live = c->hf_live;
        uint8_t *start = a->p;
        unsigned nstubs = c->nstubs;
        int cc_group = c->cc_group;
        uint8_t dirty = c->dirty;

        c->hf_live = false;
        c->i = i;
        c->off = off;
        c->next = off + op->insn.len;
        if (!jit_native(c, op, live)) {
            /* Undo what a translation that gave up had emitted. */
            a->p = start;
            c->nstubs = nstubs;
            c->cc_group = cc_group;
            c->dirty = dirty;
            c->hf_live = false;
            c->limit_from = NULL;
            jit_generic(c, op);
        }
        for (unsigned k = nstubs; k < c->nstubs; k++) {
            /* A handler that rejoins may record flags as it will. */
            if (c->stubs[k].kind == STUB_GENERIC && c->stubs[k].back) {
                c->cc_op_known = -1;
            }
        }
        off = c->next;
        left = jit_x86_op_leaves(op);
    }
    if (!left) {
        c->i = tb->n - 1;
        jit_exit_chain(c, off);
    }
    for (unsigned k = 0; k < c->nstubs; k++) {
        jit_emit_stub(c, &c->stubs[k]);
    }
}

/*
 * Translate @tb, tb_lock held.  Other vCPUs may be reading the block
 * meanwhile: its code is published last (tb->jit, release), after
 * everything that describes it.
 */
static void jit_compile_locked(X86CPUState *env, TcgBlock *tb)
{
    JitCtx *c;

    if (tb->jit || tb->jit_failed) {
        return;                     /* another vCPU got here first */
    }
    if (!tcg_jit_enabled() || !tb->cached || (env->hflags & HF_AC) ||
        (tb->mode != X86_MODE64 &&
         (!(env->hflags & HF_PE) || (env->hflags & HF_VM)))) {
        /* Real and virtual-8086 mode stay interpreted. */
        tb->jit_failed = true;
        return;
    }
    if (jit_reset_wanted) {
        return;                     /* try again once the buffer is reset */
    }
    if (jit_buf_size - jit_used < JIT_BLOCK_ROOM) {
        /* Full: start over with an empty cache (tcg-tb.c flushes). */
        tcg_tb_request_flush();
        return;
    }
    c = g_new0(JitCtx, 1);
    c->tb = tb;
    c->ip_size = tb->mode == X86_MODE64 ? 8 : tb->mode == X86_MODE32 ? 4 : 2;
    c->segmented = tb->mode != X86_MODE64;
    if (c->segmented) {
        c->seg_mask = jit_x86_seg_scan(tb);
        for (unsigned seg = 0; seg < 6; seg++) {
            c->segs[seg] = (TcgJitSeg){
                .base = env->segs[seg].base, .limit = env->segs[seg].limit,
                .flags = env->segs[seg].flags,
            };
        }
    }
    c->tlb = ENV_OFF(tlb) + x86_mmu_index(env) * (int32_t)sizeof(env->tlb[0]);
    ja_init(&c->a, jit_buf + jit_used, JIT_BLOCK_ROOM);
    jit_translate(c);
    if (!c->a.overflow && !c->failed) {
        jit_perf_map(tb, env->rip, c->a.start, c->a.p - c->a.start);
        jit_used += c->a.p - c->a.start;
        jit_used = (jit_used + 15) & ~(size_t)15;
        tb->jit_guard = (env->hflags & TCG_JIT_GUARD);
        tb->jit_seg_mask = c->seg_mask;
        memcpy(tb->jit_segs, c->segs, sizeof(tb->jit_segs));
        tb->jit_body = c->body;
        __atomic_store_n(&tb->jit, (TcgJitFn *)(void *)c->entry,
                         __ATOMIC_RELEASE);
        tcg_stat_env(env, TCG_STAT_TRANSLATIONS);
    } else {
        tb->jit_failed = true;
    }
    g_free(c);
}

void tcg_jit_compile(X86CPUState *env, TcgBlock *tb)
{
    tcg_tb_lock();
    jit_compile_locked(env, tb);
    tcg_tb_unlock();
}

/* Is env in the state @tb's code was made for (guard, segments)? */
static bool jit_state_matches(const X86CPUState *env, const TcgBlock *tb)
{
    if ((env->hflags & TCG_JIT_GUARD) != tb->jit_guard) {
        return false;
    }
    if (!tb->jit_seg_mask) {
        return true;                /* 64-bit code: no segments to check */
    }
    for (unsigned seg = 0; seg < 6; seg++) {
        const SegmentCache *sc = &env->segs[seg];
        const TcgJitSeg *js = &tb->jit_segs[seg];

        if ((tb->jit_seg_mask & (1u << seg)) &&
            (sc->base != js->base || sc->limit != js->limit ||
             sc->flags != js->flags)) {
            return false;
        }
    }
    return true;
}

bool tcg_jit_usable(X86CPUState *env, TcgBlock *tb)
{
    if (!__atomic_load_n(&tb->jit, __ATOMIC_ACQUIRE)) {
        if (tb->jit_failed) {
            return false;
        }
        tcg_jit_compile(env, tb);
        return tb->jit && jit_state_matches(env, tb);
    }
    if (jit_state_matches(env, tb)) {
        return true;
    }
    if (!tb->jit_seg_mask || (env->hflags & TCG_JIT_GUARD) != tb->jit_guard ||
        ++tb->jit_seg_misses < TCG_JIT_SEG_MISSES) {
        return false;
    }
    /*
     * The segments changed for good (or this code runs with several):
     * translate it again for them.  The old code stays in the buffer
     * until it is reset, checking its own segments; links to it are
     * made stale so that they are filled with the new code.
     */
    tcg_tb_lock();
    if (tb->jit && !jit_state_matches(env, tb)) {
        /* The old code stays in the buffer: another vCPU may run it. */
        tb->jit_seg_misses = 0;
        __atomic_store_n(&tb->jit, NULL, __ATOMIC_RELEASE);
        __atomic_add_fetch(&tcg_tb_epoch, 1, __ATOMIC_RELEASE);
        jit_compile_locked(env, tb);
    }
    tcg_tb_unlock();
    return tb->jit && jit_state_matches(env, tb);
}

/* Point @p's jump at @target's code. */
static void jit_patch_jump(TcgJitPatch *p, const uint8_t *target)
{
    int32_t d = (int32_t)(target - (p->rel + 4));

    /* One aligned store: a vCPU running the jump sees old or new. */
    __atomic_store_n((int32_t *)(void *)p->rel, d, __ATOMIC_RELEASE);
}

/* The loop runs @tb after leaving through @p's jump: patch it there. */
static void jit_link_patch(X86CPUState *env, TcgJitPatch *p, TcgBlock *tb)
{
    if (tb->phys != p->phys || tb->mode != p->mode || !tb->jit_body ||
        !jit_state_matches(env, tb)) {
        /* Something came between (an interrupt), or not for a link. */
        return;
    }
    tcg_tb_lock();
    if (!p->target && __atomic_load_n(&tb->valid, __ATOMIC_ACQUIRE)) {
        p->target = tb;
        p->next = tb->jit_in;
        tb->jit_in = p;
        jit_patch_jump(p, tb->jit_body);
    }
    tcg_tb_unlock();
}

void tcg_jit_unlink(TcgBlock *tb)
{
    for (TcgJitPatch *p = tb->jit_in; p; p = p->next) {
        jit_patch_jump(p, p->unlinked);
        p->target = NULL;
    }
    tb->jit_in = NULL;
}

/*
 * The loop is about to run @tb after an exit whose link slot was stale:
 * fill the slot with it (or patch the exit's jump).  If something came
 * between (an interrupt), the slot's pc does not match the exit's next
 * time, and it is filled again.
 */
void tcg_jit_link_pending(X86CPUState *env, TcgBlock *tb)
{
    TcgJitLink *link = env->exec_pending_link;

    env->exec_pending_link = NULL;
    if (link->patch) {
        jit_link_patch(env, link->patch, tb);
        return;
    }
    if (tb->jit_body && jit_state_matches(env, tb)) {
        link->code = tb->jit_body;
        link->tb = tb;
        link->pc = env->rip;
        link->gen = env->tlb_gen;
        link->epoch = tcg_tb_epoch;
    }
}
