/*
 * The x86-64 CPU: architectural state and the seam between the two halves
 * of the emulator.
 *
 *   execution side (decode*.c, exec-*.c, cc.c, fpu.c, sse.c, cpu.c and
 *   accel/tcg/): decoding, instruction semantics, lazy flags, blocks, the
 *   execution loop;
 *   system side (mmu.c, seg.c, excp.c, msr.c, cpuid.c, cpu-model.c): the
 *   soft TLB and page walk, segment loads, exception and interrupt
 *   delivery, MSRs, CPUID and the -cpu models.
 *
 * Each function below says which side implements it.  The core reaches
 * physical memory and I/O ports only through env->io (X86IO), so tests and
 * fuzzers can run it over fake memory.
 *
 * Conventions:
 *   - env->rip holds the address of the instruction being executed until
 *     it retires; an exception raised by an instruction therefore reports
 *     the faulting instruction's address, as faults must (SDM vol 3 6.5).
 *   - Addresses handed to the memory accessors are effective addresses
 *     already truncated to the address size; the accessors add the segment
 *     base, check the limit and rights, then translate.
 */
#ifndef TARGET_I386_CPU_H
#define TARGET_I386_CPU_H

#include <setjmp.h>
#include <stdnoreturn.h>

#include "qlite/osdep.h"
#include "qlite/cpu.h"

/* General-purpose register numbers, as ModRM/REX encode them. */
enum {
    R_EAX, R_ECX, R_EDX, R_EBX, R_ESP, R_EBP, R_ESI, R_EDI,
    R_R8, R_R9, R_R10, R_R11, R_R12, R_R13, R_R14, R_R15,
};

/* Segment registers, as the sreg field of ModRM encodes them. */
enum {
    R_ES, R_CS, R_SS, R_DS, R_FS, R_GS,
    R_LDTR, R_TR,               /* system segments, in the same array */
    X86_NB_SEGS,
};

/* EFLAGS (SDM vol 1 3.4.3) */
#define CF_MASK     (1u << 0)
#define PF_MASK     (1u << 2)
#define AF_MASK     (1u << 4)
#define ZF_MASK     (1u << 6)
#define SF_MASK     (1u << 7)
#define TF_MASK     (1u << 8)
#define IF_MASK     (1u << 9)
#define DF_MASK     (1u << 10)
#define OF_MASK     (1u << 11)
#define IOPL_MASK   (3u << 12)
#define IOPL_SHIFT  12
#define NT_MASK     (1u << 14)
#define RF_MASK     (1u << 16)
#define VM_MASK     (1u << 17)
#define AC_MASK     (1u << 18)
#define VIF_MASK    (1u << 19)
#define VIP_MASK    (1u << 20)
#define ID_MASK     (1u << 21)
/* The six arithmetic flags, kept lazily (see cc_op). */
#define CC_MASK     (CF_MASK | PF_MASK | AF_MASK | ZF_MASK | SF_MASK | OF_MASK)

/* CR0 (SDM vol 3 2.5) */
#define CR0_PE  (1u << 0)
#define CR0_MP  (1u << 1)
#define CR0_EM  (1u << 2)
#define CR0_TS  (1u << 3)
#define CR0_ET  (1u << 4)
#define CR0_NE  (1u << 5)
#define CR0_WP  (1u << 16)
#define CR0_AM  (1u << 18)
#define CR0_NW  (1u << 29)
#define CR0_CD  (1u << 30)
#define CR0_PG  (1u << 31)

/* CR4 */
#define CR4_VME         (1u << 0)
#define CR4_PVI         (1u << 1)
#define CR4_TSD         (1u << 2)
#define CR4_DE          (1u << 3)
#define CR4_PSE         (1u << 4)
#define CR4_PAE         (1u << 5)
#define CR4_MCE         (1u << 6)
#define CR4_PGE         (1u << 7)
#define CR4_PCE         (1u << 8)
#define CR4_OSFXSR      (1u << 9)
#define CR4_OSXMMEXCPT  (1u << 10)
#define CR4_UMIP        (1u << 11)
#define CR4_FSGSBASE    (1u << 16)
#define CR4_PCIDE       (1u << 17)
#define CR4_OSXSAVE     (1u << 18)
#define CR4_SMEP        (1u << 20)
#define CR4_SMAP        (1u << 21)
#define CR4_PKE         (1u << 22)
#define CR4_PKS         (1u << 24)

/* EFER (MSR C000_0080) */
#define EFER_SCE    (1u << 0)
#define EFER_LME    (1u << 8)
#define EFER_LMA    (1u << 10)
#define EFER_NXE    (1u << 11)

/* Exception vectors (SDM vol 3 6.3.1) */
enum {
    EXCP_DE = 0, EXCP_DB = 1, EXCP_NMI = 2, EXCP_BP = 3, EXCP_OF = 4,
    EXCP_BR = 5, EXCP_UD = 6, EXCP_NM = 7, EXCP_DF = 8, EXCP_TS = 10,
    EXCP_NP = 11, EXCP_SS = 12, EXCP_GP = 13, EXCP_PF = 14, EXCP_MF = 16,
    EXCP_AC = 17, EXCP_MC = 18, EXCP_XM = 19,
};

/*
 * Segment descriptor attribute bits, kept in SegmentCache.flags in the
 * positions they have in the descriptor's high dword (SDM vol 3 3.4.5):
 *
 *   31     24 23 22  21 20  19  16 15 14 13 12 11    8 7      0
 *  +---------+--+---+--+---+------+--+-----+--+-------+--------+
 *  |(base)   |G |D/B|L |AVL|(lim) |P | DPL |S | type  | (base) |
 *  +---------+--+---+--+---+------+--+-----+--+-------+--------+
 *
 * Only the attribute bits (8-15 and 20-23) are kept; base and limit are
 * expanded into their own fields.
 */
#define DESC_TYPE_SHIFT 8
#define DESC_TYPE_MASK  (15u << DESC_TYPE_SHIFT)
#define DESC_A_MASK     (1u << 8)       /* accessed */
#define DESC_W_MASK     (1u << 9)       /* data: writable */
#define DESC_R_MASK     (1u << 9)       /* code: readable */
#define DESC_E_MASK     (1u << 10)      /* data: expand-down */
#define DESC_C_MASK     (1u << 10)      /* code: conforming */
#define DESC_CS_MASK    (1u << 11)      /* code (with S) */
#define DESC_S_MASK     (1u << 12)      /* code/data, not system */
#define DESC_DPL_SHIFT  13
#define DESC_DPL_MASK   (3u << DESC_DPL_SHIFT)
#define DESC_P_MASK     (1u << 15)
#define DESC_AVL_MASK   (1u << 20)
#define DESC_L_MASK     (1u << 21)      /* 64-bit code */
#define DESC_B_MASK     (1u << 22)      /* D/B: 32-bit default size */
#define DESC_G_MASK     (1u << 23)

typedef struct SegmentCache {
    uint16_t selector;
    uint64_t base;
    uint32_t limit;             /* expanded: byte granular */
    uint32_t flags;             /* DESC_* attribute bits */
} SegmentCache;

typedef struct DescTableReg {   /* GDTR, IDTR */
    uint64_t base;
    uint32_t limit;
} DescTableReg;

/*
 * Hidden flags: the mode bits the decoder and the block cache key on,
 * recomputed by x86_update_hflags() from CR0, CR4, EFER, CS, SS and
 * EFLAGS.VM.  Whoever changes one of those calls it.
 */
#define HF_CPL_MASK     3u              /* CPL = CS.RPL (SS.DPL) */
#define HF_PE           (1u << 2)       /* CR0.PE */
#define HF_CS32         (1u << 3)       /* CS.D: 32-bit default operands */
#define HF_SS32         (1u << 4)       /* SS.B: 32-bit stack pointer */
#define HF_LMA          (1u << 5)       /* EFER.LMA: long mode active */
#define HF_CS64         (1u << 6)       /* LMA and CS.L: 64-bit mode */
#define HF_VM           (1u << 7)       /* EFLAGS.VM: virtual-8086 mode */
#define HF_OSFXSR       (1u << 8)       /* CR4.OSFXSR: SSE enabled */
#define HF_EM           (1u << 9)       /* CR0.EM */
#define HF_TS           (1u << 10)      /* CR0.TS */
#define HF_MP           (1u << 11)      /* CR0.MP */
#define HF_PG           (1u << 12)      /* CR0.PG */
#define HF_SMAP         (1u << 13)      /* CR4.SMAP */
#define HF_AC           (1u << 14)      /* CR0.AM and EFLAGS.AC (CPL 3) */
#define HF_SMAP_AC      (1u << 15)      /* CR4.SMAP, EFLAGS.AC, CPL < 3 */
/*
 * One instruction at a time: an interrupt shadow, EFLAGS.TF or an armed
 * DR7 breakpoint needs the boundary after each instruction (debug.c).
 */
#define HF_STEP         (1u << 20)

/*
 * Lazy condition codes: arithmetic records what it needs and sets cc_op;
 * the flags are computed only when read (x86_cc_compute()).  The CC_OP
 * value says how cc_dst/cc_src/cc_src2 are to be read; each group has
 * four sizes in the order B, W, L, Q so that "CC_OP_ADDB + size_log2"
 * names the right one.
 *
 *   EFLAGS   cc_src holds CF PF AF ZF SF OF directly
 *   ADD      dst = result, src = second operand
 *   ADC      dst = result, src = second operand, src2 = carry in
 *   SUB      dst = result, src = second operand (CMP too)
 *   SBB      dst = result, src = second operand, src2 = borrow in
 *   LOGIC    dst = result (CF = OF = 0, AF = 0)
 *   INC/DEC  dst = result, src = CF before (kept)
 *   SHL      dst = result, src = value shifted by count - 1
 *   SAR/SHR  dst = result, src = value shifted by count - 1
 *   MUL      dst = low half, src = nonzero if the high half is significant
 *   ROL/ROR  handled eagerly into EFLAGS
 */
typedef enum {
    CC_OP_EFLAGS,
    CC_OP_ADDB, CC_OP_ADDW, CC_OP_ADDL, CC_OP_ADDQ,
    CC_OP_ADCB, CC_OP_ADCW, CC_OP_ADCL, CC_OP_ADCQ,
    CC_OP_SUBB, CC_OP_SUBW, CC_OP_SUBL, CC_OP_SUBQ,
    CC_OP_SBBB, CC_OP_SBBW, CC_OP_SBBL, CC_OP_SBBQ,
    CC_OP_LOGICB, CC_OP_LOGICW, CC_OP_LOGICL, CC_OP_LOGICQ,
    CC_OP_INCB, CC_OP_INCW, CC_OP_INCL, CC_OP_INCQ,
    CC_OP_DECB, CC_OP_DECW, CC_OP_DECL, CC_OP_DECQ,
    CC_OP_SHLB, CC_OP_SHLW, CC_OP_SHLL, CC_OP_SHLQ,
    CC_OP_SARB, CC_OP_SARW, CC_OP_SARL, CC_OP_SARQ,
    CC_OP_MULB, CC_OP_MULW, CC_OP_MULL, CC_OP_MULQ,
    CC_OP_NB,
} CCOp;

/* One x87 register: the host's long double is the 80-bit extended format. */
typedef union X86FPReg {
    long double d;
    struct {
        uint64_t mant;          /* also the MMX register when aliased */
        uint16_t exp;
    } raw;
    uint8_t bytes[16];
} X86FPReg;

typedef union X86XMMReg {
    uint8_t b[16];
    uint16_t w[8];
    uint32_t l[4];
    uint64_t q[2];
    int8_t sb[16];
    int16_t sw[8];
    int32_t sl[4];
    int64_t sq[2];
    float s[4];
    double d[2];
} X86XMMReg;

/* MXCSR (SDM vol 1 10.2.3) */
#define MXCSR_DEFAULT   0x1f80u
#define MXCSR_MASK      0xffffu         /* bits we allow; others #GP */

/* The MTRRs the model has (MTRRcap.VCNT). */
#define X86_MTRR_VAR_COUNT  8
#define X86_MTRR_FIX_COUNT  11

/*
 * Soft TLB entry (system side fills it; execution side may read it in
 * inlined fast paths).  A tag is the page-aligned linear address, or
 * X86_TLB_INVALID; addend turns a linear address of that page into a host
 * pointer.  A page that is not plain RAM (MMIO, or a code page for writes)
 * never gets a valid tag for that kind of access, so it takes the slow
 * path.
 */
#define X86_TLB_BITS        12
#define X86_TLB_SIZE        (1u << X86_TLB_BITS)
#define X86_TLB_INVALID     UINT64_C(-1)
#define X86_PAGE_BITS       12
#define X86_PAGE_SIZE       (UINT64_C(1) << X86_PAGE_BITS)
#define X86_PAGE_MASK       (~(X86_PAGE_SIZE - 1))
/*
 * TLB per access kind: supervisor, user (CPL 3), and supervisor with
 * CR4.SMAP and EFLAGS.AC set, whose explicit accesses may touch user
 * pages (SDM 4.6).  Implicit supervisor accesses use X86_MMU_KERNEL.
 */
enum { X86_MMU_KERNEL, X86_MMU_USER, X86_MMU_KERNEL_AC, X86_MMU_NB };

typedef struct X86TLBEntry {
    uint64_t tag_read;
    uint64_t tag_write;
    uint64_t tag_code;
    uintptr_t addend;           /* host = linear + addend */
    uint64_t paddr;             /* physical page, for code and SMC */
    uint64_t page_mask;         /* of the guest page (4K..1G), for INVLPG */
    /*
     * Writable, but the page holds decoded code: stores take the slow
     * path (which drops the code they hit) without walking the tables.
     */
    uint64_t tag_write_code;
    /*
     * A global page (PTE.G with CR4.PGE): kept by flushes that spare
     * them (MOV to CR3, INVPCID types 1 and 3).  Also pads the entry to
     * 64 bytes: translated code finds an entry with a shift and AND.
     */
    uint64_t global;
} X86TLBEntry;

/*
 * Physical memory and port I/O, as the core sees them.  The system build
 * routes them to address_space_memory/io (taking the BQL for devices);
 * tests give a flat buffer.
 */
#define X86_LARGE_PAGES     16
#define X86_CODE_REGION_WORDS 4     /* tlb_code_regions: 256 bits */

typedef struct X86LargePage {
    uint64_t linear;            /* the page's first byte */
    uint64_t paddr;
    uint64_t size;
    uint64_t rights;            /* as X86Walk (mmu.h) */
    bool nx;
    bool dirty;
    bool global;
    uint8_t pkey;
    uint32_t gen;               /* tlb_gen when recorded */
} X86LargePage;

typedef struct X86IO {
    void *opaque;
    /*
     * Host pointer for the RAM page holding @paddr (valid for the whole
     * 4 KiB page), or NULL when it is not RAM (for writes: not writable
     * RAM).  Used to fill the TLB and to fetch code.
     */
    void *(*ram_ptr)(void *opaque, uint64_t paddr, bool is_write);
    /* Slow path: MMIO and everything ram_ptr refuses.  size 1/2/4/8. */
    uint64_t (*phys_read)(void *opaque, uint64_t paddr, unsigned size);
    void (*phys_write)(void *opaque, uint64_t paddr, uint64_t val,
                       unsigned size);
    uint32_t (*port_in)(void *opaque, uint16_t port, unsigned size);
    void (*port_out)(void *opaque, uint16_t port, uint32_t val,
                     unsigned size);
    /* PAUSE, a spin-wait hint: let other vCPUs run (NULL: nothing). */
    void (*pause)(void *opaque);
} X86IO;

/* CPUID feature words, filled by the model (system side). */
typedef enum {
    FEAT_1_EDX, FEAT_1_ECX,
    FEAT_7_0_EBX, FEAT_7_0_ECX, FEAT_7_0_EDX,
    FEAT_8000_0001_EDX, FEAT_8000_0001_ECX,
    FEAT_D_1_EAX,
    FEAT_WORDS,
} X86FeatureWord;

/*
 * A locked instruction's memory while its handler runs (exec-atomic.c):
 * the region its first access names, and its bytes as read atomically
 * (old) and as the handler left them (cur).
 */
typedef struct X86LockState {
    bool region;                /* the region is set (first access seen) */
    bool direct;                /* not one host atomic: plain access */
    bool held;                  /* ... under the split-lock mutex */
    bool written;
    uint8_t size;               /* region bytes: 1, 2, 4, 8 or 16 */
    uint8_t seg;
    uint64_t ea;
    uint64_t paddr;
    void *host;
    uint8_t old[16];
    uint8_t cur[16];
} X86LockState;

typedef struct X86CPUState X86CPUState;
/* A locked instruction faulted: give its region up (exec-atomic.c). */
void x86_lock_abandon(X86CPUState *env);

typedef struct X86CPUState {
    /* --- general state, hot in the interpreter ------------------------ */
    uint64_t regs[16];
    uint64_t rip;
    /* EFLAGS except CC_MASK, which lives in the lazy fields below. */
    uint32_t eflags;
    uint32_t cc_op;             /* CCOp */
    uint64_t cc_dst;
    uint64_t cc_src;
    uint64_t cc_src2;
    uint32_t hflags;            /* HF_*, mode bits */
    /*
     * A locked instruction's handler runs (exec-atomic.c); every
     * x86_mem_read/write asks, so it sits with the hot fields.
     */
    bool lock_active;

    SegmentCache segs[X86_NB_SEGS];     /* ES..GS, LDTR, TR */
    DescTableReg gdt;
    DescTableReg idt;

    uint64_t cr[9];             /* CR0, CR2, CR3, CR4, CR8 used */
    uint64_t dr[8];             /* DR0-DR3, DR6, DR7 (4/5 alias 6/7) */
    uint64_t a20_mask;          /* ~(1 << 20) while the A20 gate is off */

    /* --- MSRs (system side reads and writes them) ---------------------- */
    uint64_t efer;
    uint64_t star, lstar, cstar, fmask;
    uint64_t kernel_gs_base;    /* FS/GS base are segs[].base */
    uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
    int64_t tsc_offset;         /* guest TSC = host ticks + offset */
    uint64_t tsc_aux;
    uint64_t apic_base;
    uint64_t pat;
    uint64_t mtrr_deftype;
    uint64_t mtrr_fixed[X86_MTRR_FIX_COUNT];
    struct {
        uint64_t base;
        uint64_t mask;
    } mtrr_var[X86_MTRR_VAR_COUNT];
    uint64_t misc_enable;
    uint64_t xcr0;
    uint32_t pkru;              /* protection-key rights (SDM 4.6.2) */
    uint32_t pkrs;              /* the same for supervisor pages */

    /* --- x87, MMX, SSE ------------------------------------------------- */
    X86FPReg fpregs[8];         /* physical registers; ST(i) = (top+i)&7 */
    unsigned fptop;
    uint16_t fpuc;              /* control word */
    uint16_t fpus;              /* status word, TOP field kept in fptop */
    uint8_t fptags[8];          /* 1 = empty (abridged view) */
    uint16_t fpop;              /* last opcode */
    uint64_t fpip, fpdp;        /* last instruction and data pointers */
    uint16_t fpcs, fpds;
    X86XMMReg xmm[16];
    uint32_t mxcsr;

    /* --- interrupts and exceptions ------------------------------------- */
    /*
     * Interrupt shadow: set by STI (when IF was 0) and MOV/POP SS; the
     * instruction after them runs before any interrupt is taken.
     */
    bool int_shadow;
    bool dbg_shadow;            /* MOV/POP SS: debug traps wait too */
    bool nmi_blocked;           /* from NMI delivery until IRET */
    /*
     * Debug traps (debug.c): the DR7 breakpoints armed per kind (bit i
     * for DRi), the DR6 B0-B3 hits of the running instruction, and the
     * DR6 bits held across a MOV SS shadow.
     */
    uint8_t dbg_exec, dbg_data, dbg_io;
    uint32_t dbg_hits;
    uint32_t dbg_pending;
    /*
     * The exception being raised, for the execution loop to deliver after
     * unwinding.  exc_vector < 0: none.  x86_raise_* fill these (and use
     * exc_prev to classify #DF / triple fault, SDM vol 3 table 6-5).
     */
    int exc_vector;
    uint32_t exc_error_code;
    bool exc_has_error;
    bool exc_is_soft;           /* INT n / INT3 / INTO: uses exc_next_rip */
    uint64_t exc_next_rip;
    int exc_prev;               /* vector being delivered, or -1 */
    bool triple_fault;          /* set by delivery; the loop resets */
    jmp_buf jmp_env;            /* the execution loop's unwind point */

    /* --- model, set once by the system side ---------------------------- */
    uint32_t features[FEAT_WORDS];
    uint32_t cpuid_level;       /* max basic leaf */
    uint32_t cpuid_xlevel;      /* max extended leaf */
    uint32_t cpuid_version;     /* leaf 1 EAX */
    uint32_t cpuid_vendor[3];   /* EBX, EDX, ECX of leaf 0 */
    uint32_t apic_id;
    uint8_t phys_bits;          /* MAXPHYADDR; 0: X86_PHYS_BITS */
    void *model;                /* system side's own model data */

    /* --- soft TLB (system side) ---------------------------------------- */
    X86TLBEntry tlb[X86_MMU_NB][X86_TLB_SIZE];
    /*
     * Bumped by every flush of all pages, and by a flush of one page
     * that may hold code the execution side looked up since the last
     * bump (x86_tlb_note_code(): a 2 MiB region filter, or any page
     * when code came from a 1 GiB page): the execution side may reuse a
     * linear->physical code translation while it is unchanged.
     */
    uint32_t tlb_gen;
    /*
     * The execution loop's kick (accel/tcg; atomic, set from any
     * thread).  Right after tlb_gen, in the same aligned 8 bytes, so
     * that translated code checks both with one compare.
     */
    int32_t exec_kicked;
    uint64_t tlb_code_regions[X86_CODE_REGION_WORDS];
    bool tlb_code_huge;
    /*
     * Linear bounds and the largest size of the large-page TLB entries
     * since the last flush of everything (INVLPG looks for them there).
     */
    uint64_t tlb_large_lo[X86_MMU_NB], tlb_large_hi[X86_MMU_NB];
    uint64_t tlb_large_max[X86_MMU_NB];
    /*
     * Slots filled since the last flush, with non-global and global
     * translations apart (mmu.c: mmu_tlb_used()).
     */
    uint16_t tlb_used[2][X86_MMU_NB][X86_TLB_SIZE];
    uint32_t tlb_nused[2][X86_MMU_NB];
    /*
     * Recent walks that ended in a large page (2M/4M/1G): a TLB miss
     * elsewhere in the page reuses the walk, as a real TLB keeps one
     * entry for the whole page.  Valid while tlb_gen is unchanged.
     */
    X86LargePage large[X86_MMU_NB][X86_LARGE_PAGES];

    /* --- links -------------------------------------------------------- */
    CPUState *cs;
    const X86IO *io;
    void *exec;                 /* execution side: block cache etc. */
    X86LockState lock;          /* exec-atomic.c */
    /*
     * The execution loop's own words for this vCPU that translated code
     * reads and writes through env (accel/tcg): the chained jumps left,
     * the link slot a stale exit asks the loop to fill, and where this
     * vCPU's link slots lie (the kick is by tlb_gen).
     */
    int32_t exec_budget;
    void *exec_pending_link;
    uint64_t exec_link_off;

    /* --- statistics (last: off the hot fields' cache lines) ------------ */
    /*
     * Counters for query-stats: misses that walked the page tables, whole
     * flushes and single-page flushes.  Written by the vCPU's thread with
     * stats_inc() (qlite/stats.h), read by the monitor.
     */
    uint64_t stat_tlb_fills;
    uint64_t stat_tlb_flushes;
    uint64_t stat_tlb_flush_pages;
} X86CPUState;

/* What hangs off CPUState.arch. */
typedef struct X86CPU {
    X86CPUState env;
    void *apic;                 /* the local APIC device, when there is one */
} X86CPU;

static inline X86CPUState *x86_env(CPUState *cs)
{
    return &((X86CPU *)cs->arch)->env;
}

static inline unsigned x86_cpl(const X86CPUState *env)
{
    return env->hflags & HF_CPL_MASK;
}

/* The TLB (X86_MMU_*) of the current explicit data accesses. */
static inline int x86_mmu_index(const X86CPUState *env)
{
    if (x86_cpl(env) == 3) {
        return X86_MMU_USER;
    }
    return (env->hflags & HF_SMAP_AC) ? X86_MMU_KERNEL_AC : X86_MMU_KERNEL;
}

/* ------------------------------------------------------------------------
 * Execution side (cpu.c, cc.c)
 */

/* Power-on / RESET state (SDM vol 3 9.1.1): real mode at F000:FFF0. */
void x86_cpu_reset(X86CPUState *env);
/* Recompute env->hflags after CR0/CR4/EFER/CS/SS/EFLAGS.VM change. */
void x86_update_hflags(X86CPUState *env);
/* The full EFLAGS, computing the lazy arithmetic flags. */
uint32_t x86_get_eflags(X86CPUState *env);
/*
 * Replace the EFLAGS bits in @mask by those of @val (bit 1 stays set);
 * updates hflags when VM or AC change.  Privilege checks (IOPL, IF) are
 * the caller's.
 */
void x86_set_eflags(X86CPUState *env, uint32_t val, uint32_t mask);
/* Just CF (for ADC/SBB/RCL and friends). */
unsigned x86_get_cf(X86CPUState *env);
/*
 * Code decoded from guest RAM, as the MMU must respect it: an accelerator
 * that keeps such code (tcg's block cache) registers these when it first
 * does; until then there is none.  A page with code never gets a writable
 * TLB entry, so every store to it reaches code_written().
 */
typedef struct X86CodeCache {
    /* Does the physical page of @paddr hold decoded code? */
    bool (*page_has_code)(X86CPUState *env, uint64_t paddr);
    /* Code at @paddr changed: drop what was decoded from it. */
    void (*code_written)(X86CPUState *env, uint64_t paddr, unsigned len);
} X86CodeCache;
void x86_set_code_cache(const X86CodeCache *cache);
/*
 * The local APIC behind CR8 and IA32_APIC_BASE (lapic.c); the values stay
 * in the CPU state when the board has no APIC.
 */
uint8_t x86_lapic_get_tpr(X86CPUState *env);
void x86_lapic_set_tpr(X86CPUState *env, uint8_t tpr);
uint64_t x86_lapic_get_base(X86CPUState *env);
/* False when the APIC refuses the mode change (#GP). */
bool x86_lapic_set_base(X86CPUState *env, uint64_t val);
void x86_lapic_set_tsc_deadline(X86CPUState *env, uint64_t deadline);
uint64_t x86_lapic_get_tsc_deadline(X86CPUState *env);
/* x2APIC MSRs (X86_MSR_X2APIC_FIRST..LAST); false: #GP. */
#define X86_MSR_X2APIC_FIRST    0x800
#define X86_MSR_X2APIC_LAST     0x8ff
bool x86_lapic_msr_read(X86CPUState *env, uint32_t index, uint64_t *val);
bool x86_lapic_msr_write(X86CPUState *env, uint32_t index, uint64_t val);
void x86_lapic_init_reset(X86CPUState *env);
/* "info registers" in QEMU's layout (dump.c). */
void x86_cpu_dump_state(X86CPUState *env, GString *out);

/* ------------------------------------------------------------------------
 * System side: exceptions (excp.c).  All unwind to env->jmp_env.
 */

/* A fault or abort without an error code. */
noreturn void x86_raise_exception(X86CPUState *env, int vector);
noreturn void x86_raise_exception_err(X86CPUState *env, int vector,
                                      uint32_t error_code);
/* INT n, INT3, INTO: a trap; @next_rip is where IRET returns. */
noreturn void x86_raise_soft_interrupt(X86CPUState *env, int vector,
                                       uint64_t next_rip);
/*
 * Deliver the exception recorded in env->exc_* (the loop calls it after
 * unwinding); may raise again (#DF, then triple_fault).
 */
void x86_deliver_exception(X86CPUState *env);
/* Deliver an external interrupt or NMI (vector already acknowledged). */
void x86_deliver_interrupt(X86CPUState *env, int vector);

/* ------------------------------------------------------------------------
 * System side: memory (mmu.c).  Segmentation, limits and rights, paging,
 * alignment check; faults raise #GP/#SS/#PF/#AC.  @seg is R_ES..R_GS.
 */
uint8_t x86_ld8(X86CPUState *env, int seg, uint64_t ea);
uint16_t x86_ld16(X86CPUState *env, int seg, uint64_t ea);
uint32_t x86_ld32(X86CPUState *env, int seg, uint64_t ea);
uint64_t x86_ld64(X86CPUState *env, int seg, uint64_t ea);
/* @aligned: the access needs 16-byte alignment (#GP(0) otherwise). */
void x86_ld128(X86CPUState *env, int seg, uint64_t ea, X86XMMReg *val,
               bool aligned);
void x86_st8(X86CPUState *env, int seg, uint64_t ea, uint8_t val);
void x86_st16(X86CPUState *env, int seg, uint64_t ea, uint16_t val);
void x86_st32(X86CPUState *env, int seg, uint64_t ea, uint32_t val);
void x86_st64(X86CPUState *env, int seg, uint64_t ea, uint64_t val);
void x86_st128(X86CPUState *env, int seg, uint64_t ea,
               const X86XMMReg *val, bool aligned);
/*
 * Fault now if [ea, ea+size) could not be written (read-modify-write
 * instructions call it before their load so the #PF says "write").
 */
void x86_probe_write(X86CPUState *env, int seg, uint64_t ea, unsigned size);
/* Linear-address access, no segmentation (descriptor tables, TSS). */
uint64_t x86_ld_linear(X86CPUState *env, uint64_t linear, unsigned size,
                       bool supervisor);
void x86_st_linear(X86CPUState *env, uint64_t linear, unsigned size,
                   uint64_t val, bool supervisor);

/* Access kinds for x86_translate(). */
#define X86_ACC_READ    0
#define X86_ACC_WRITE   1
#define X86_ACC_EXEC    2
/*
 * Linear -> physical for the current CPL, raising #PF on a fault.  The
 * execution side uses X86_ACC_EXEC for code fetch; the result is masked
 * with a20_mask.
 */
uint64_t x86_translate(X86CPUState *env, uint64_t linear, int access);
/* Drop all TLB entries (@global: global pages too), or one page. */
void x86_tlb_flush(X86CPUState *env, bool global);
void x86_tlb_flush_page(X86CPUState *env, uint64_t linear);
/* Physical @page holds code now: writes through the TLB take the slow path. */
void x86_tlb_protect_phys(X86CPUState *env, uint64_t page);
/*
 * The execution side keeps a translation of code at linear [first,
 * last] (at most two pages) until tlb_gen changes: a one-page flush
 * there must change it.
 */
void x86_tlb_note_code(X86CPUState *env, uint64_t first, uint64_t last);

/* ------------------------------------------------------------------------
 * System side: segments, control transfers, system instructions
 * (seg.c and friends).  @next_rip is the address after the instruction;
 * @osize the operand size in bytes (2, 4, 8).
 */
/* MOV/POP to a segment register, LDS & co: checks, then loads the cache. */
void x86_load_seg(X86CPUState *env, int seg, uint16_t selector);
void x86_helper_ljmp(X86CPUState *env, uint16_t sel, uint64_t offset,
                     uint64_t next_rip);
void x86_helper_lcall(X86CPUState *env, uint16_t sel, uint64_t offset,
                      int osize, uint64_t next_rip);
void x86_helper_lret(X86CPUState *env, int osize, uint16_t imm);
void x86_helper_iret(X86CPUState *env, int osize);
void x86_helper_syscall(X86CPUState *env, uint64_t next_rip);
void x86_helper_sysret(X86CPUState *env, int osize);
void x86_helper_sysenter(X86CPUState *env);
void x86_helper_sysexit(X86CPUState *env, int osize);
void x86_helper_lldt(X86CPUState *env, uint16_t sel);
void x86_helper_ltr(X86CPUState *env, uint16_t sel);
/* LAR/LSL: *ok says whether ZF is set; VERR/VERW return ZF. */
uint32_t x86_helper_lar(X86CPUState *env, uint16_t sel, bool *ok);
uint32_t x86_helper_lsl(X86CPUState *env, uint16_t sel, bool *ok);
bool x86_helper_verr(X86CPUState *env, uint16_t sel);
bool x86_helper_verw(X86CPUState *env, uint16_t sel);
/* I/O permission (IOPL, then the TSS bitmap); #GP(0) when denied. */
void x86_check_io(X86CPUState *env, uint16_t port, unsigned size);
/* MOV CRn/DRn (checks, TLB flush, hflags); LMSW and CLTS go through it. */
uint64_t x86_read_cr(X86CPUState *env, int cr);
void x86_write_cr(X86CPUState *env, int cr, uint64_t val);
uint64_t x86_read_dr(X86CPUState *env, int dr);
void x86_write_dr(X86CPUState *env, int dr, uint64_t val);

/* ------------------------------------------------------------------------
 * Debug traps (debug.c, SDM vol 3B ch. 17)
 */

/* Which DR7 breakpoints are armed, after a DR7 or CR4.DE change. */
void x86_debug_rearm(X86CPUState *env);
/* STI (@ss false) or MOV/POP SS (@ss true) shadow the next boundary. */
void x86_set_int_shadow(X86CPUState *env, bool ss);
/* State of one instruction run under HF_STEP, between begin and end. */
typedef struct X86DebugStep {
    bool tf;                    /* EFLAGS.TF when the instruction began */
} X86DebugStep;
/* Before: end the shadow, fault on an instruction breakpoint. */
void x86_debug_insn_begin(X86CPUState *env, X86DebugStep *st);
/* After @op completed: the single-step, data and I/O traps. */
void x86_debug_insn_end(X86CPUState *env, const X86DebugStep *st,
                        unsigned op);
/*
 * SYSRET looks at TF after itself: the trap is due even when it ran in a
 * block (TF was clear), and HF_STEP delivers it before the next one.
 */
void x86_debug_sysret(X86CPUState *env);
/* A data access at @linear (slow path of pages with a watched address). */
void x86_debug_data_access(X86CPUState *env, uint64_t linear,
                           unsigned size, bool write);
/* An IN/OUT/INS/OUTS at @port that passed its permission checks. */
void x86_debug_io(X86CPUState *env, uint16_t port, unsigned size);
/* Does the 4 KiB page at @page hold a watched data address? */
bool x86_debug_page_watched(const X86CPUState *env, uint64_t page);

/* ------------------------------------------------------------------------
 * System side: MSRs, CPUID, TSC (msr.c, cpuid.c)
 */
/* RDMSR/WRMSR; an unknown MSR or bad value raises #GP(0). */
uint64_t x86_rdmsr(X86CPUState *env, uint32_t index);
void x86_wrmsr(X86CPUState *env, uint32_t index, uint64_t val);
void x86_cpuid(X86CPUState *env, uint32_t leaf, uint32_t subleaf,
               uint32_t *eax, uint32_t *ebx, uint32_t *ecx, uint32_t *edx);
uint64_t x86_rdtsc(X86CPUState *env);
/*
 * The host clock the TSC follows (CLOCK_MONOTONIC in ns); tests that
 * run the same code twice and compare set a fixed one.
 */
extern uint64_t (*x86_tsc_host_ns)(void);
/*
 * Apply a -cpu option ("qemu64,+x2apic,vendor=...", NULL for the default)
 * to the model fields of @env (cpu-model.c).
 */
bool x86_cpu_model_apply(X86CPUState *env, const char *cpu_model,
                         GError **errp);

#endif
