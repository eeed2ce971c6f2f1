/*
 * Internals of the tcg accelerator: decoded blocks and their cache, the
 * per-vCPU execution state, and the memory/port interface it gives the
 * CPU core.
 *
 * The x86 CPU's templates and its side of the loop (target/i386/tcg/)
 * use them too.
 *
 * Threads: one thread runs every vCPU round-robin (tcg-all.c), so the
 * block cache is shared and needs no lock of its own; it is only touched
 * by that thread (and by tests, which have no thread).
 */
#ifndef QLITE_TCG_H
#define QLITE_TCG_H

#include "qlite/stats.h"
#include "qlite/x86-cpu.h"

/* Guest instructions per block at most: bounds the work between checks. */
#define TCG_BLOCK_MAX_INSNS 64
#define TCG_NO_PAGE         UINT64_MAX
/* Entries of a vCPU's jump cache (linear pc -> block). */
#define TCG_JC_BITS         12
#define TCG_JC_SIZE         (1u << TCG_JC_BITS)

/*
 * A decoded block: straight-line guest code that starts at physical
 * address @phys and ends with a control transfer, a mode change, the end
 * of its page or TCG_BLOCK_MAX_INSNS.  Only a block's first instruction
 * may cross into a second page (then it is the block's only one), so the
 * fault on that page is raised with rip on that instruction.
 */
/* A decoded instruction with its handler, resolved once. */
typedef struct TcgOp {
    X86Handler *fn;
    /*
     * x86_exec_pure(): the handler neither faults nor reads rip, nor
     * changes rip, the mode or memory, so the loop need not keep
     * env->rip current for it nor check anything after it.
     */
    bool pure;
    /* The flags it writes are overwritten before anything reads them. */
    bool flags_dead;
    X86Insn insn;
} TcgOp;

/* A translated block (tcg-jit.c), and the chain of blocks linked to it. */
typedef void TcgJitFn(X86CPUState *env);

/*
 * A jump from translated code to block @tb at linear @pc: taken directly
 * while @tb is valid, @epoch equals tcg_tb_epoch (no block was freed
 * since) and @gen env->tlb_gen.
 */
typedef struct TcgJitLink {
    void *code;                 /* the target's jit_body */
    uint64_t pc;
    const TcgBlock *tb;
    uint32_t epoch;
    uint32_t gen;
    struct TcgJitPatch *patch;  /* a jump within the page: patched */
} TcgJitLink;

/*
 * A jump in translated code to the block at @phys (in the jumping
 * block's page, of its mode), patched to go there directly: while it
 * does, @target holds it on its jit_in list, and invalidating @target
 * points it back at @unlinked (tb_lock guards all of it).
 */
typedef struct TcgJitPatch {
    uint8_t *rel;               /* the JMP's displacement, aligned */
    uint8_t *unlinked;          /* where it goes when not patched */
    uint64_t phys;
    TcgBlock *target;           /* NULL while not patched */
    struct TcgJitPatch *next;   /* on target->jit_in */
    uint8_t mode;
} TcgJitPatch;

/* A segment as translated code was made for it (TcgBlock.jit_segs). */
typedef struct TcgJitSeg {
    uint64_t base;
    uint32_t limit;
    uint32_t flags;
} TcgJitSeg;

typedef struct TcgBlock TcgBlock;
struct TcgBlock {
    uint64_t phys;              /* physical address of the first byte */
    uint64_t page[2];           /* physical pages; page[1] TCG_NO_PAGE */
    TcgBlock *hash_next;        /* bucket chain (kept when unlinked) */
    TcgBlock *gc_next;          /* the garbage list, once invalidated */
    TcgBlock *page_next[2];     /* blocks of page[0] / page[1] */
    uint16_t size;              /* bytes of guest code */
    uint16_t n;                 /* decoded instructions */
    uint8_t mode;               /* X86_MODE16/32/64 of the decoder */
    bool cached;                /* in the cache; false: run once, freed */
    bool valid;                 /* false once invalidated */
    /*
     * Host code for the block, valid while env->hflags & TCG_JIT_GUARD
     * equals jit_guard; jit_failed: not translatable, don't try again.
     */
    TcgJitFn *jit;
    void *jit_body;             /* after the prologue: where links enter */
    struct TcgJitPatch *jit_in; /* jumps patched to come here */
    uint32_t jit_guard;
    bool jit_failed;
    /*
     * Outside 64-bit mode the code is made for the segments it uses as
     * they were (base, limit, attributes): jit_seg_mask has bit n for
     * segment n, jit_segs their state.  The code checks them where it
     * is entered; tcg_jit_usable() checks them in C, and after
     * TCG_JIT_SEG_MISSES mismatches translates the block again.
     */
    uint8_t jit_seg_mask;
    uint8_t jit_seg_misses;
    TcgJitSeg jit_segs[6];
    TcgOp ops[];
};

/* ---- the block cache (tcg-tb.c) ----------------------------------- */

TcgBlock *tcg_tb_lookup(uint64_t phys, int mode);
/*
 * Add a block to the cache (its pages become code pages) and return it;
 * or, when another vCPU added the same one meanwhile, free @tb and
 * return that one.
 */
TcgBlock *tcg_tb_insert(X86CPUState *env, TcgBlock *tb);
/* The cache's lock, for translation (tcg-jit.c); lookups need none. */
void tcg_tb_lock(void);
void tcg_tb_unlock(void);
/*
 * One host thread per vCPU (-accel tcg,thread=multi), fixed before the
 * vCPUs start; false: one thread runs them all in turn.
 */
extern bool tcg_threads_multi;
/* Free what was invalidated; flush when the cache grew too big. */
void tcg_tb_gc(void);
/* Set when tcg_tb_gc() has something to do (the loop's cheap test). */
extern bool tcg_tb_gc_wanted;
/* Code at @paddr changed: drop the blocks overlapping it. */
void tcg_tb_invalidate_phys(X86CPUState *env, uint64_t paddr, unsigned len);
/* Invalidate the blocks of every page holding some for which @stale says so. */
void tcg_tb_invalidate_pages_if(bool (*stale)(uint64_t page, void *opaque),
                                void *opaque);
/* Drop every block (reset, cache full). */
void tcg_tb_flush_all(void);
/*
 * The block this thread's interpreter is executing: invalidating it (a
 * store by this vCPU over its own code) sets tcg_tb_running_stale, which
 * stops it after the current instruction.  Another vCPU's store does not
 * stop it: cross-modifying code takes effect at the next block, which
 * the SDM allows (vol 3A 8.1.3: the writer and the executor synchronise).
 */
extern __thread TcgBlock *tcg_tb_running;
extern __thread bool tcg_tb_running_stale;
static inline void tcg_tb_set_running(TcgBlock *tb)
{
    tcg_tb_running = tb;
    tcg_tb_running_stale = false;
}
/*
 * Bumped whenever blocks are freed or their code is (a flush, a block
 * translated again), so that nothing refers to a block that no longer
 * is; an invalidated block only turns TcgBlock.valid false, which links
 * and jump-cache entries check (6500 epoch bumps in a Linux boot, each
 * of which made every link and entry stale, became 69).
 */
extern uint32_t tcg_tb_epoch;
/* Blocks in the cache (for tests and statistics). */
unsigned tcg_tb_count(void);
/* Flush the whole cache at the next tcg_tb_gc() (the code buffer is full). */
void tcg_tb_request_flush(void);

/* ---- translation to host code (tcg-jit.c) ------------------------- */

/*
 * What translated code is specialised for: the CPL and SMAP's AC (which
 * TLB), AC; protected mode (real and virtual-8086 mode are interpreted:
 * a 16-bit block of either must not run code made for the other); and
 * never for single steps (HF_STEP), which the interpreter runs.
 */
#define TCG_JIT_GUARD   (HF_CPL_MASK | HF_AC | HF_SMAP_AC | HF_CS64 | \
                         HF_STEP | HF_PE | HF_VM)
/* Segment mismatches at entry before a block is translated again. */
#define TCG_JIT_SEG_MISSES  8

/* Translation is on (QLITE_JIT=0 or a CPU trace turns it off). */
bool tcg_jit_enabled(void);
/* The code buffer's size in MiB (-accel tcg,tb-size=; 0: 64). */
void tcg_jit_configure(size_t mib);
/* Translate @tb for env's current state, setting tb->jit (or not). */
void tcg_jit_compile(X86CPUState *env, TcgBlock *tb);
/*
 * May @tb's translated code run in env's state (the guard and the
 * segments it was made for)?  Translates it first when it has no code
 * yet, or again after repeated segment mismatches.
 */
bool tcg_jit_usable(X86CPUState *env, TcgBlock *tb);
/* Every block was dropped: reuse the code buffer at tcg_jit_gc(). */
void tcg_jit_flush(void);
/* Between blocks, when no translated code runs. */
void tcg_jit_gc(void);
/*
 * env->exec_pending_link: set by translated code leaving through a stale
 * link slot; the loop fills it with the block it runs next.
 */
void tcg_jit_link_pending(X86CPUState *env, TcgBlock *tb);
/* @tb is being invalidated, tb_lock held: no jump may come to it. */
void tcg_jit_unlink(TcgBlock *tb);
/*
 * Translated code, after an indirect branch: the translated code of the
 * block at env->rip, or NULL when the loop should run (tcg-exec.c).
 */
void *tcg_jit_next_code(X86CPUState *env);
/*
 * Chained jumps (env->exec_budget) before translated code returns: long
 * enough that the loop's round trip is rare (with 256, a busy guest
 * returned to it about 700,000 times a second), as a kick ends the
 * chain at once anyway.
 */
#define TCG_JIT_CHAIN_BUDGET    4096
/*
 * tcg_exec_cpu()'s budget is in chained blocks; a block run through the
 * loop takes TCG_LOOP_BLOCK_COST of it, so that a turn ends after as
 * many of those as before chains were long (thread=single's fairness).
 */
#define TCG_LOOP_BLOCK_COST     256

/* ---- building and finding blocks (target/i386/tcg/block.c) -------- */

/*
 * The block to run at env's CS:rip (decoding it on a miss).  Raises the
 * fetch faults: #PF, #GP for the CS limit, #UD for an undefined opcode
 * and #GP for one longer than 15 bytes.  A block that is not cached
 * (code outside RAM) must be given to tcg_block_release() after use.
 */
TcgBlock *tcg_block_find(X86CPUState *env);
/* The instruction at CS:rip alone, never cached: single steps. */
TcgBlock *tcg_block_one(X86CPUState *env);
typedef struct TcgCPU TcgCPU;
/*
 * The same, first trying the vCPU's jump cache (tc->jc), which skips
 * the translation and the hash lookup.
 */
TcgBlock *tcg_block_next(X86CPUState *env, TcgCPU *tc);

static inline void tcg_block_release(TcgBlock *tb)
{
    if (!tb->cached) {
        g_free(tb);
    }
}

/* The linear address of CS:rip. */
static inline uint64_t tcg_block_pc(const X86CPUState *env)
{
    if (env->hflags & HF_CS64) {
        return env->rip;
    }
    return (env->segs[R_CS].base + env->rip) & UINT32_MAX;
}

/* Bytes the decoder may read from the CS limit on (non-64-bit code). */
static inline uint64_t tcg_block_limit_room(const X86CPUState *env)
{
    uint64_t limit = env->segs[R_CS].limit;

    if (env->hflags & HF_CS64) {
        return UINT64_MAX;
    }
    if (env->rip > limit) {
        return 0;
    }
    return limit - env->rip + 1;
}

/* ---- per-vCPU execution (tcg-exec.c; the CPU's side: tcg-cpu.h) --- */

/*
 * A jump-cache entry: the block at linear @pc, found while the cache's
 * epoch was @epoch, under TLB generation @gen and hflags @hflags; used
 * while the block is valid.  Each
 * vCPU has its own cache, so only its own thread reads and writes it.
 */
typedef struct TcgJumpEntry {
    uint64_t pc;
    TcgBlock *tb;
    uint32_t epoch;
    uint32_t gen;
    uint32_t hflags;
} TcgJumpEntry;

/*
 * Per-vCPU counters (tcg-stats.c names them for query-stats).  Only the
 * tcg thread writes them, with stats_inc(); the monitor reads them.
 */
typedef enum TcgStat {
    /* Blocks the loop ran; those not translated were interpreted. */
    TCG_STAT_BLOCKS_LOOP,
    TCG_STAT_BLOCKS_TRANSLATED, /* translated blocks the loop entered */
    TCG_STAT_BLOCKS_CHAINED,    /* blocks translated code jumped to */
    TCG_STAT_DECODES,           /* blocks decoded (a block cache miss) */
    TCG_STAT_TRANSLATIONS,      /* blocks translated to host code */
    TCG_STAT_EXIT_SLICE,        /* back to the thread loop: slice used up */
    TCG_STAT_EXIT_KICK,         /* ... kicked (event, memory map, I/O) */
    TCG_STAT_EXIT_STOP,         /* ... asked to stop (pause) */
    TCG_STAT_HALTS,             /* ... halted (HLT, waiting for SIPI) */
    TCG_STAT_IRQS,              /* external interrupts delivered */
    TCG_STAT_NMIS,
    TCG_STAT_EXCEPTIONS,        /* exceptions delivered */
    TCG_STAT_PIO_READS,
    TCG_STAT_PIO_WRITES,
    TCG_STAT_MMIO_READS,
    TCG_STAT_MMIO_WRITES,
    TCG_STAT__MAX,
} TcgStat;

struct TcgCPU {
    CPUState *cpu;
    X86CPUState *env;
    X86IO io;
    TcgJumpEntry jc[TCG_JC_SIZE];
    /*
     * Pages that other vCPUs' threads made code pages, whose write
     * entries this vCPU drops from its TLB before its next block.
     */
    GMutex protect_lock;
    int protect_pending;        /* atomic: protect_count or overflow */
    unsigned protect_count;
    bool protect_overflow;      /* too many: flush the whole TLB */
    uint64_t protect_pages[16];
    bool wait_sipi;             /* an AP waiting for INIT-SIPI-SIPI */
    bool dead;                  /* triple-faulted: waits for the reset */
    uint64_t stats[TCG_STAT__MAX];
};

static inline TcgJumpEntry *tcg_jc_entry(TcgCPU *tc, uint64_t pc)
{
    return &tc->jc[(pc ^ (pc >> TCG_JC_BITS)) & (TCG_JC_SIZE - 1)];
}

/*
 * tcg_block_next()'s common case inline: the block the jump cache
 * remembers at this pc, under the same translations and mode, still
 * valid (and not freed: the epoch is the same).
 */
static inline TcgBlock *tcg_block_next_inline(X86CPUState *env, TcgCPU *tc)
{
    uint64_t pc = tcg_block_pc(env);
    const TcgJumpEntry *e = tcg_jc_entry(tc, pc);

    if (e->pc == pc && e->tb &&
        e->epoch == __atomic_load_n(&tcg_tb_epoch, __ATOMIC_ACQUIRE) &&
        __atomic_load_n(&e->tb->valid, __ATOMIC_ACQUIRE) &&
        e->gen == env->tlb_gen && e->hflags == env->hflags &&
        e->tb->size <= tcg_block_limit_room(env)) {
        return e->tb;
    }
    return tcg_block_next(env, tc);
}

/*
 * Run @tb once through its translation (tb->jit, which must be set), as
 * the loop would; for tests (tcg_exec_block_interp() is the other way).
 */
void tcg_exec_block_translated(X86CPUState *env, TcgBlock *tb);

/* Leave the execution loop at the next block boundary (any thread). */
void tcg_exec_kick(X86CPUState *env);
/* The same for every vCPU (the memory map or RAM under code changed). */
void tcg_exec_kick_all(void);
/*
 * Another vCPU's thread made @page a code page: ask env's vCPU to drop
 * its write entries for it before its next block (any thread).
 */
void tcg_exec_request_protect(X86CPUState *env, uint64_t page);
/*
 * Run @cpu for at most @budget blocks (a block through the loop counting
 * TCG_LOOP_BLOCK_COST), returning early when it halts, is asked to stop
 * or is kicked.  Called without the big lock.
 */
void tcg_exec_cpu(CPUState *cpu, unsigned budget);

/* ---- memory and ports for the system build (tcg-mem.c) ------------ */

/* Route @io to address_space_memory/io, the big lock taken for devices. */
void tcg_mem_io_init(X86IO *io, TcgCPU *tc);
/* Start following the memory map (big lock held, once). */
void tcg_mem_init(void);
/*
 * Pick up a memory map change, if any: big lock held, no vCPU running
 * (one thread, or tcg-all.c's exclusive section).
 */
void tcg_mem_sync(void);
bool tcg_mem_sync_pending(void);
/*
 * vCPU thread, between blocks: drop the decoded code of RAM that devices
 * wrote since the last call (memory_add_ram_write_notifier()).
 */
void tcg_mem_drop_written_code(X86CPUState *env);
/* Non-zero (atomic) when tcg_mem_drop_written_code() has work. */
extern int tcg_mem_dirty_pending;

/* ---- statistics (tcg-stats.c) ------------------------------------- */

/* VM-wide counters, written by the tcg thread (or with vCPUs paused). */
typedef enum TcgVmStat {
    TCG_VM_STAT_TB_FLUSHES,     /* the whole block cache dropped */
    TCG_VM_STAT_CODE_FLUSHES,   /* the code buffer started over */
    TCG_VM_STAT__MAX,
} TcgVmStat;

extern uint64_t tcg_vm_stats[TCG_VM_STAT__MAX];

/* Count @s for env's vCPU; env->exec is NULL in unit tests. */
static inline void tcg_stat_env(X86CPUState *env, TcgStat s)
{
    TcgCPU *tc = env->exec;

    if (tc) {
        stats_inc(&tc->stats[s]);
    }
}

/* Register the "tcg" statistics provider. */
void tcg_stats_init(void);

#endif
