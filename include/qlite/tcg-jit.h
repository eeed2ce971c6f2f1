/*
 * Inside the block translator: the translation context shared by its
 * core (tcg-jit.c: code buffer, block layout, exits and chaining, slow
 * path stubs, handler calls) and its instruction translators
 * (jit-ops.c).  See tcg-jit.c for the register conventions.
 */
#ifndef QLITE_TCG_JIT_H
#define QLITE_TCG_JIT_H

#include "qlite/tcg-asm.h"
#include "qlite/tcg.h"

#define JIT_MAX_STUBS   (4 * TCG_BLOCK_MAX_INSNS + 4)
#define JIT_NCACHE      5

#define ENV_OFF(f)      ((int32_t)offsetof(X86CPUState, f))
#define REG_OFF(g)      (ENV_OFF(regs) + 8 * (int32_t)(g))

/* x86 condition codes used on the host side. */
enum { CC_O = 0, CC_C = 2, CC_E = 4, CC_NE = 5, CC_A = 7, CC_S = 8 };

typedef enum {
    STUB_EXIT,          /* leave the block: rip (unless kept) */
    STUB_CHAIN,         /* go to the block at rip_off, linked if it can */
    STUB_LOAD,          /* TLB miss of a load: x86_mem_read */
    STUB_STORE,         /* TLB miss of a store: x86_mem_write */
    STUB_GENERIC,       /* TLB miss: the whole instruction, generically */
} JitStubKind;

typedef struct JitStub {
    JitStubKind kind;
    uint8_t *from;          /* displacement of the branch to the stub */
    uint8_t *from_limit;    /* or NULL: the segment limit check's branch,
                             * taken with RSI = the effective address */
    uint8_t *back;          /* where a slow path rejoins, or NULL: exit */
    uint32_t rip_off;       /* EXIT: new rip; others: the instruction's */
    uint32_t next_off;      /* the next instruction's offset */
    bool keep_rip;          /* EXIT: the handler set env->rip */
    uint8_t dirty;          /* JitCtx.dirty where the branch is */
    uint8_t size;
    uint8_t seg;
    const X86Insn *insn;
} JitStub;

typedef struct JitCtx {
    JitAsm a;
    const TcgBlock *tb;
    int32_t tlb;            /* offset of the TLB of the block's CPL */
    uint8_t *entry;         /* the prologue: TcgBlock.jit once published */
    uint8_t *body;          /* where a chained jump enters */
    uint8_t *body_cached;   /* past the cache's loads: a loop's back edge */
    bool hf_live;           /* host flags hold the guest flags */
    /*
     * Guest registers the block keeps in host registers (jit_cache_regs
     * in tcg-jit.c): slot k holds guest register cache_guest[k], loaded
     * where the body begins; the slots in @dirty are newer than env's
     * copy, which gets them before anything reads env (a call, a stub,
     * an exit).  cache_slot[g]: g's slot, or -1.
     */
    unsigned ncache;
    uint8_t cache_guest[JIT_NCACHE];
    int8_t cache_slot[16];
    uint8_t dirty;
    /*
     * The dirty set where the body_cached begins: in a block that loops
     * to its start, the slots it may write, so that its back edge need
     * not store them (jit_exit_loop()).
     */
    uint8_t loop_dirty;
    /* The CC_OP_xxxB and size this block last recorded, or -1: unknown. */
    int cc_group;
    unsigned cc_size;
    /* env->cc_op on every path to here, or -1: unknown (jit_cc()). */
    int cc_op_known;
    unsigned i;             /* instruction being translated */
    uint32_t off;           /* its offset in the block */
    uint32_t next;          /* the next one's */
    unsigned nstubs;
    TcgJitLink *links;      /* the block's link slots */
    TcgJitPatch *patches;   /* one per link slot, for those in the page */
    unsigned nlinks;
    unsigned max_links;
    bool failed;            /* something did not fit: no code */
    /*
     * Outside 64-bit mode: rip wraps at 4 GiB or 64 KiB (@ip_size 4 or
     * 2; 8 in 64-bit mode), and memory goes through the segments of
     * @seg_mask as they are in @segs (TcgBlock.jit_segs).
     */
    unsigned ip_size;
    bool segmented;
    uint8_t seg_mask;
    TcgJitSeg segs[6];
    uint8_t *limit_from;    /* a limit check for the next jit_tlb() */
    JitStub stubs[JIT_MAX_STUBS];
} JitCtx;

/* The host registers that cache guest ones (caller-saved: reloaded). */
extern const JaReg jit_cache_regs[JIT_NCACHE];

/* The hflags when the chain of blocks was entered (the prologue's). */
#define JIT_CHAIN_HFLAGS    ja_mem(JA_RSP, 0)

/* env->exec_budget and tcg_tb_epoch while translated code runs. */
#define JIT_BUDGET      JA_R14
#define JIT_EPOCH       JA_R15

static inline JaMem env_mem(int32_t off)
{
    return ja_mem(JA_RBX, off);
}

static inline JaMem greg(unsigned g)
{
    return env_mem(REG_OFF(g));
}

/* ---- tcg-jit.c: stubs and exits for the instruction translators ---- */

/* A stub of @kind reached by the branch whose displacement is @from. */
JitStub *jit_stub(JitCtx *c, JitStubKind kind, uint8_t *from);
/*
 * The host register that holds guest register @g in this block, or
 * JA_NOREG: it is in env.
 */
static inline JaReg jit_greg_host(const JitCtx *c, unsigned g)
{
    return g < 16 && c->cache_slot[g] >= 0 ? jit_cache_regs[c->cache_slot[g]]
                                           : JA_NOREG;
}
/* Mark @g's cached copy newer than env's. */
static inline void jit_greg_dirty(JitCtx *c, unsigned g)
{
    c->dirty |= 1u << c->cache_slot[g];
}
/*
 * Store the dirty cached registers to env (before env is read); they
 * stay marked dirty (jit_cache_flush() in tcg-jit.c).
 */
void jit_cache_flush(JitCtx *c);
/* Truncate @r to @size bytes (4 or 2; 8 keeps it). */
void jit_wrap(JitCtx *c, unsigned size, JaReg r);
/* @r = the block's rip + @off, wrapped as rip wraps in this mode. */
void jit_rip_lea(JitCtx *c, JaReg r, uint32_t off);
/* env->rip = the block's rip + @off. */
void jit_set_rip(JitCtx *c, uint32_t off);
/* Leave the block with rip at @rip_off. */
void jit_exit(JitCtx *c, uint32_t rip_off);
/* Go on at @rip_off, into the next block's code when linked. */
void jit_exit_chain(JitCtx *c, uint32_t rip_off);
/* Go on at env->rip (set by the instruction: RET, indirect branches). */
void jit_exit_lookup(JitCtx *c);
/* Go on at @rip_off when the host condition @cc holds. */
void jit_exit_if(JitCtx *c, int cc, uint32_t rip_off);
/* Call @fn(env[, @arg]) (clobbers the caller-saved registers). */
void jit_call_env(JitCtx *c, const void *fn, bool with_arg, uint64_t arg);
/*
 * @dst = the offset in a TLB of the slot of the linear address @linear
 * (its page number mod X86_TLB_SIZE, times the entry's 64 bytes).
 */
void jit_tlb_slot(JitCtx *c, JaReg dst, JaReg linear);
/* Leave after this instruction if it invalidated its own block. */
void jit_check_stale(JitCtx *c, bool keep_rip);

/* ---- jit-ops.c ---------------------------------------------------- */

/*
 * Translate @op to host instructions; false (nothing emitted that
 * counts) when it is left to its handler.  @live: the host flags hold the
 * guest's, left by the instruction before.
 */
bool jit_native(JitCtx *c, const TcgOp *op, bool live);

/* Does @op always leave the block (so nothing follows it)? */
bool jit_x86_op_leaves(const TcgOp *op);
/* Loads a segment register and goes on (the others end the block). */
bool jit_x86_op_loads_seg(const TcgOp *op);
/* The segments @tb's translated accesses may use (R_* bits), CS always. */
uint8_t jit_x86_seg_scan(const TcgBlock *tb);
/* Exits with a static target, each with a link slot. */
unsigned jit_x86_count_links(const TcgBlock *tb);

#endif
