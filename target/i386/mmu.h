/*
 * The system side's memory internals (mmu.c), shared with seg.c, excp.c
 * and the unit tests: the page walk as a pure-ish function and the
 * linear-address accessors with an explicit TLB index.
 */
#ifndef TARGET_I386_MMU_H
#define TARGET_I386_MMU_H

#include "cpu.h"

/* MAXPHYADDR of every model (QEMU's TCG default is 40 bits too). */
#define X86_PHYS_BITS   40
#define X86_VIRT_BITS   48

/* MAXPHYADDR of @env: -cpu phys-bits=N / host-phys-bits=on, or 40. */
static inline unsigned x86_phys_bits(const X86CPUState *env)
{
    return env->phys_bits ? env->phys_bits : X86_PHYS_BITS;
}

/* #PF error code bits (SDM vol 3A 4.7). */
#define PFERR_P     (1u << 0)
#define PFERR_W     (1u << 1)
#define PFERR_U     (1u << 2)
#define PFERR_RSVD  (1u << 3)
#define PFERR_I     (1u << 4)
#define PFERR_PK    (1u << 5)

/* What one walk found. */
typedef struct X86Walk {
    uint64_t paddr;             /* physical address of the linear one */
    uint64_t page_size;         /* 4K, 2M, 4M or 1G */
    uint64_t rights;            /* AND of R/W and U/S over the levels */
    bool nx;                    /* some level had XD (with EFER.NXE) */
    uint8_t pkey;               /* the leaf's protection key, 4-level */
    bool global;
    bool dirty;                 /* leaf has D set (or paging is off) */
    bool fault;
    uint32_t error;             /* #PF error code when fault */
    unsigned levels;
    uint64_t entries[4];        /* physical addresses of the entries used */
    uint64_t values[4];
} X86Walk;

/*
 * Translate @linear for @access (X86_ACC_*) as a @user (CPL 3, not
 * implicit-supervisor) access.  Sets A/D bits on success; on failure
 * returns false with w->error the #PF error code.  Raises nothing.
 */
bool x86_mmu_walk(X86CPUState *env, uint64_t linear, int access, bool user,
                  X86Walk *w);
/* The same for an access through TLB @idx (X86_MMU_*). */
bool x86_mmu_walk_idx(X86CPUState *env, uint64_t linear, int access, int idx,
                      X86Walk *w);

/* Linear access through TLB @idx (X86_MMU_KERNEL/USER); may raise #PF. */
uint64_t x86_mmu_ld(X86CPUState *env, uint64_t linear, unsigned size,
                    int idx);
void x86_mmu_st(X86CPUState *env, uint64_t linear, unsigned size,
                uint64_t val, int idx);

/* Segment base + limit + rights checks: the linear address of ea. */
uint64_t x86_seg_linear(X86CPUState *env, int seg, uint64_t ea,
                        unsigned size, bool write);
/* Linear addresses are 32-bit outside long mode. */
uint64_t x86_linear_mask(X86CPUState *env, uint64_t linear);
/* RAM at physical @paddr was stored to behind the TLB: keep code honest. */
void x86_mmu_note_store(X86CPUState *env, uint64_t paddr, unsigned len);

#endif
