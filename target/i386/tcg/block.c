/*
 * Building blocks: fetch guest code at CS:rip through the TLB's execute
 * checks, decode it once into an array of X86Insn, and find it again by
 * physical address and decoder mode.
 *
 * Fetch faults follow the SDM: a block never decodes past an instruction
 * that would fault, so the fault is raised when rip reaches it.  Only the
 * first instruction of a block may fault at fetch (#PF, the CS limit,
 * #UD, or #GP for more than 15 bytes).
 */
#include "qlite/tcg.h"

#define BLOCK_PHYS_LIMIT    (UINT64_C(1) << 40)

/* Linear addresses wrap at 4 GiB outside long mode. */
static uint64_t block_next_page(const X86CPUState *env, uint64_t pc)
{
    uint64_t next = (pc & X86_PAGE_MASK) + X86_PAGE_SIZE;

    return (env->hflags & HF_LMA) ? next : next & UINT32_MAX;
}

/* Copy @len code bytes at physical @phys into @buf (code outside RAM). */
static void block_read_phys(X86CPUState *env, uint64_t phys, uint8_t *buf,
                            unsigned len)
{
    const uint8_t *host = env->io->ram_ptr(env->io->opaque,
                                           phys & X86_PAGE_MASK, false);

    for (unsigned i = 0; i < len; i++) {
        buf[i] = host ? host[(phys & ~X86_PAGE_MASK) + i]
                      : env->io->phys_read(env->io->opaque, phys + i, 1);
    }
}

typedef struct BlockBuild {
    X86CPUState *env;
    uint64_t pc;                /* linear start */
    uint64_t phys;              /* physical start */
    const uint8_t *host;        /* the first page in host memory, or NULL */
    int mode;
    uint64_t room;              /* bytes left before the CS limit */
    uint64_t page2;             /* second page, when the first insn crosses */
    bool cacheable;
    unsigned size;
    unsigned n;
    X86Insn insn[TCG_BLOCK_MAX_INSNS];
} BlockBuild;

static noreturn void block_fetch_fault(X86CPUState *env, X86DecodeResult r)
{
    if (r == X86_DEC_UD) {
        x86_raise_exception(env, EXCP_UD);
    }
    x86_raise_exception_err(env, EXCP_GP, 0);
}

/*
 * The first instruction runs into the next page: fetch its 15 bytes from
 * both pages (the second translation may raise #PF, correctly for this
 * instruction) and decode again.
 */
static X86DecodeResult block_decode_crossing(BlockBuild *b, X86Insn *in,
                                             unsigned avail)
{
    X86CPUState *env = b->env;
    uint8_t buf[15];

    b->page2 = x86_translate(env, block_next_page(env, b->pc), X86_ACC_EXEC);
    block_read_phys(env, b->phys, buf, avail);
    block_read_phys(env, b->page2, buf + avail, sizeof(buf) - avail);
    if (!env->io->ram_ptr(env->io->opaque, b->page2, false) ||
        b->page2 >= BLOCK_PHYS_LIMIT) {
        b->cacheable = false;
    }
    return x86_decode(in, buf, sizeof(buf), b->mode);
}

/*
 * Does @in end its block?  A conditional branch does not: the block goes
 * on along the fall-through path, and when the branch is taken the loop
 * leaves the block there (rip is not the next instruction's), so a
 * not-taken branch costs no block lookup.
 */
static bool block_ends(const X86Insn *in)
{
    return (in->flags & X86_F_END) && in->op != X86_OP_JCC;
}

/* Decode one more instruction; false ends the block before it. */
static bool block_decode_one(BlockBuild *b)
{
    X86CPUState *env = b->env;
    X86Insn *in = &b->insn[b->n];
    unsigned off = (b->phys & ~X86_PAGE_MASK) + b->size;
    unsigned avail = X86_PAGE_SIZE - off;
    uint8_t buf[15];
    const uint8_t *p = b->host ? b->host + off : buf;
    X86DecodeResult r;

    if (avail == 0) {
        return false;
    }
    if (!b->host) {
        block_read_phys(env, b->phys + b->size, buf, MIN(avail, 15u));
    }
    r = x86_decode(in, p, MIN(avail, 15u), b->mode);
    if (r == X86_DEC_MORE && b->n == 0) {
        r = block_decode_crossing(b, in, avail);
    }
    if (r == X86_DEC_OK && b->size + in->len > b->room) {
        r = X86_DEC_TOO_LONG;       /* beyond the CS limit: #GP(0) too */
    }
    if (r != X86_DEC_OK) {
        if (b->n == 0) {
            block_fetch_fault(env, r);
        }
        return false;
    }
    b->size += in->len;
    b->n++;
    return !block_ends(in) && b->page2 == TCG_NO_PAGE;
}

/*
 * Decode the block at @pc (physical @phys).  The builder lives on the
 * stack, so a fetch fault of the first instruction leaks nothing.
 */
static TcgBlock *block_build(X86CPUState *env, uint64_t pc, uint64_t phys,
                             int mode, bool cacheable, unsigned max)
{
    BlockBuild b = {
        .env = env, .pc = pc, .phys = phys, .mode = mode,
        .room = tcg_block_limit_room(env), .page2 = TCG_NO_PAGE,
    };
    TcgBlock *tb;

    b.host = env->io->ram_ptr(env->io->opaque, phys & X86_PAGE_MASK, false);
    b.cacheable = cacheable && b.host && phys < BLOCK_PHYS_LIMIT;
    while (b.n < max && block_decode_one(&b)) {
        /* each call adds one instruction */
    }
    tb = g_malloc(sizeof(*tb) + b.n * sizeof(TcgOp));
    tb->phys = phys;
    tb->page[0] = phys & X86_PAGE_MASK;
    tb->page[1] = b.page2;
    tb->size = b.size;
    tb->n = b.n;
    tb->mode = mode;
    tb->cached = false;
    tb->valid = true;
    tb->hash_next = NULL;
    tb->page_next[0] = tb->page_next[1] = NULL;
    for (unsigned i = 0; i < b.n; i++) {
        /* The trace shows the flags after each instruction: keep them. */
        bool dead = !tcg_trace_on &&
                    x86_exec_flags_dead(&b.insn[i + 1], b.n - i - 1);

        tb->ops[i].insn = b.insn[i];
        tb->ops[i].fn = x86_exec_block_handler(&b.insn[i], dead);
        tb->ops[i].pure = !tcg_trace_on && x86_exec_pure(&b.insn[i]);
        tb->ops[i].flags_dead = dead;
    }
    tb->jit = NULL;
    tb->jit_in = NULL;
    tb->jit_guard = 0;
    tb->jit_failed = false;
    tb->jit_seg_mask = 0;
    tb->jit_seg_misses = 0;
    tcg_stat_env(env, TCG_STAT_DECODES);
    if (b.cacheable) {
        tb = tcg_tb_insert(env, tb);
    }
    return tb;
}

TcgBlock *tcg_block_find(X86CPUState *env)
{
    uint64_t pc = tcg_block_pc(env);
    int mode = x86_decode_mode(env);
    uint64_t phys = x86_translate(env, pc, X86_ACC_EXEC);
    TcgBlock *tb = tcg_tb_lookup(phys, mode);

    if (tb && tb->page[1] != TCG_NO_PAGE &&
        x86_translate(env, block_next_page(env, pc), X86_ACC_EXEC) !=
        tb->page[1]) {
        /* The second page is mapped elsewhere now: decode afresh. */
        tcg_tb_invalidate_phys(env, phys, 1);
        tb = NULL;
    }
    if (tb && tb->size > tcg_block_limit_room(env)) {
        /* CS shrank under a cached block: fetch checks one by one. */
        return block_build(env, pc, phys, mode, false, TCG_BLOCK_MAX_INSNS);
    }
    return tb ? tb : block_build(env, pc, phys, mode, true,
                                 TCG_BLOCK_MAX_INSNS);
}

TcgBlock *tcg_block_one(X86CPUState *env)
{
    uint64_t pc = tcg_block_pc(env);

    return block_build(env, pc, x86_translate(env, pc, X86_ACC_EXEC),
                       x86_decode_mode(env), false, 1);
}

/*
 * Look the block up, and remember it in the jump cache under the epoch
 * seen before the lookup: a block invalidated meanwhile (by another
 * vCPU) leaves the entry stale at once.  Blocks crossing into a second
 * page are not remembered: their second page is checked on each lookup.
 */
TcgBlock *tcg_block_next(X86CPUState *env, TcgCPU *tc)
{
    uint64_t pc = tcg_block_pc(env);
    uint32_t epoch = __atomic_load_n(&tcg_tb_epoch, __ATOMIC_ACQUIRE);
    TcgBlock *tb = tcg_block_find(env);

    x86_tlb_note_code(env, pc, pc + MAX(tb->size, 1) - 1);
    if (tb->cached && tb->page[1] == TCG_NO_PAGE) {
        *tcg_jc_entry(tc, pc) = (TcgJumpEntry){
            .pc = pc, .tb = tb, .epoch = epoch,
            .gen = env->tlb_gen, .hflags = env->hflags,
        };
    }
    return tb;
}
