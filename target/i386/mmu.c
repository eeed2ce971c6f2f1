/*
 * Memory access for the x86 CPU: segmentation (base, limit, rights), the
 * page walk (2-level, PAE, 4-level; 4K/2M/4M/1G pages; NX, U/S, R/W,
 * CR0.WP, SMEP, SMAP, protection keys, A/D bits) with #PF error codes and
 * CR2, and the soft TLB
 * that caches the walk's result as a host addend per access kind.
 *
 * References: SDM vol 3A chapter 4 (paging), 3.4-3.5 (segments), 6.15
 * (#PF error code).
 */
#include "target/i386/cpu.h"
#include "target/i386/mmu.h"
#include "qlite/stats.h"

/*
 * Physical address width the model reports (CPUID 0x80000008 EAX[7:0]);
 * these use the @env in scope.
 */
#define MMU_PHYS_MASK   ((UINT64_C(1) << x86_phys_bits(env)) - 1)
/* Address bits of a PAE/4-level entry: 51:12 clipped to MAXPHYADDR. */
#define MMU_ADDR_MASK   (MMU_PHYS_MASK & ~UINT64_C(0xfff))

#define PG_P        (1u << 0)
#define PG_RW       (1u << 1)
#define PG_US       (1u << 2)
#define PG_A        (1u << 5)
#define PG_D        (1u << 6)
#define PG_PS       (1u << 7)
#define PG_G        (1u << 8)
#define PG_NX       (UINT64_C(1) << 63)
#define PG_PKEY_SHIFT   59              /* bits 62:59 of a 4-level leaf */

/* The accelerator's decoded code (cpu.h), NULL while there is none. */
static const X86CodeCache *code_cache;

void x86_set_code_cache(const X86CodeCache *cache)
{
    code_cache = cache;
}

/*
 * Host memory access of 1, 2, 4 or 8 bytes with a constant size per case,
 * so that the compiler emits one move instead of a memcpy call.
 */
static inline uint64_t mmu_host_ld(const void *p, unsigned size)
{
    uint8_t b;
    uint16_t w;
    uint32_t l;
    uint64_t q;

    switch (size) {
    case 1:
        memcpy(&b, p, 1);
        return b;
    case 2:
        memcpy(&w, p, 2);
        return w;
    case 4:
        memcpy(&l, p, 4);
        return l;
    default:
        memcpy(&q, p, 8);
        return q;
    }
}

static inline void mmu_host_st(void *p, unsigned size, uint64_t val)
{
    uint8_t b = val;
    uint16_t w = val;
    uint32_t l = val;

    switch (size) {
    case 1:
        memcpy(p, &b, 1);
        break;
    case 2:
        memcpy(p, &w, 2);
        break;
    case 4:
        memcpy(p, &l, 4);
        break;
    default:
        memcpy(p, &val, 8);
        break;
    }
}

/* ---- physical access for the walker ---------------------------------- */

static uint64_t mmu_phys_ld(X86CPUState *env, uint64_t paddr, unsigned size)
{
    uint8_t *host;

    paddr &= env->a20_mask;
    host = env->io->ram_ptr(env->io->opaque, paddr & X86_PAGE_MASK, false);
    if (host) {
        return mmu_host_ld(host + (paddr & ~X86_PAGE_MASK), size);
    }
    return env->io->phys_read(env->io->opaque, paddr, size);
}

static void mmu_phys_st(X86CPUState *env, uint64_t paddr, unsigned size,
                        uint64_t val)
{
    uint8_t *host;

    paddr &= env->a20_mask;
    host = env->io->ram_ptr(env->io->opaque, paddr & X86_PAGE_MASK, true);
    if (host) {
        mmu_host_st(host + (paddr & ~X86_PAGE_MASK), size, val);
    } else {
        env->io->phys_write(env->io->opaque, paddr, val, size);
    }
}

/* ---- the page walk ---------------------------------------------------- */

static bool mmu_pse36(const X86CPUState *env)
{
    return env->features[FEAT_1_EDX] & (1u << 17);
}

static bool mmu_has_1g(const X86CPUState *env)
{
    return env->features[FEAT_8000_0001_EDX] & (1u << 26);
}

/*
 * One level of a PAE/4-level walk: the entry at @table + index.  Returns
 * the entry, or sets w->error for not-present / reserved bits.
 */
static uint64_t mmu_walk_entry(X86CPUState *env, X86Walk *w, uint64_t addr,
                               uint64_t rsvd)
{
    uint64_t e = mmu_phys_ld(env, addr, 8);

    if (!(e & PG_P)) {
        w->error = 0;
        w->fault = true;
        return e;
    }
    if (!(env->efer & EFER_NXE)) {
        rsvd |= PG_NX;
    }
    if (e & rsvd) {
        w->error = PFERR_P | PFERR_RSVD;
        w->fault = true;
        return e;
    }
    w->rights &= e | ~(uint64_t)(PG_RW | PG_US);
    if ((env->efer & EFER_NXE) && (e & PG_NX)) {
        w->nx = true;
    }
    w->entries[w->levels] = addr;
    w->values[w->levels++] = e;
    return e;
}

/* Reserved bits of a PAE/4-level entry above MAXPHYADDR (bits 51:M). */
#define RSVD_HIGH   (~MMU_PHYS_MASK & UINT64_C(0x000fffffffffffff))

static void mmu_walk_long_or_pae(X86CPUState *env, uint64_t linear,
                                 X86Walk *w)
{
    uint64_t e, base;

    if (env->efer & EFER_LMA) {
        base = env->cr[3] & MMU_ADDR_MASK;
        e = mmu_walk_entry(env, w, base + ((linear >> 39) & 0x1ff) * 8,
                           RSVD_HIGH | PG_PS);
        if (w->fault) {
            return;
        }
        e = mmu_walk_entry(env, w, (e & MMU_ADDR_MASK)
                           + ((linear >> 30) & 0x1ff) * 8, RSVD_HIGH);
        if (w->fault) {
            return;
        }
        if (e & PG_PS) {
            if (!mmu_has_1g(env) || (e & UINT64_C(0x3fffe000))) {
                w->error = PFERR_P | PFERR_RSVD;
                w->fault = true;
                return;
            }
            w->page_size = 1u << 30;
            w->paddr = (e & MMU_ADDR_MASK & ~UINT64_C(0x3fffffff))
                     | (linear & 0x3fffffff);
            return;
        }
    } else {
        /* PAE: the PDPTE has no R/W, U/S or NX (SDM 4.4.1). */
        e = mmu_phys_ld(env, (env->cr[3] & 0xffffffe0)
                        + ((linear >> 30) & 3) * 8, 8);
        if (!(e & PG_P)) {
            w->error = 0;
            w->fault = true;
            return;
        }
        if (e & (RSVD_HIGH | UINT64_C(0x1e6) | PG_NX)) {
            w->error = PFERR_P | PFERR_RSVD;
            w->fault = true;
            return;
        }
    }
    e = mmu_walk_entry(env, w, (e & MMU_ADDR_MASK)
                       + ((linear >> 21) & 0x1ff) * 8, RSVD_HIGH);
    if (w->fault) {
        return;
    }
    if (e & PG_PS) {
        if (e & UINT64_C(0x1fe000)) {
            w->error = PFERR_P | PFERR_RSVD;
            w->fault = true;
            return;
        }
        w->page_size = 2u << 20;
        w->paddr = (e & MMU_ADDR_MASK & ~UINT64_C(0x1fffff))
                 | (linear & 0x1fffff);
        return;
    }
    e = mmu_walk_entry(env, w, (e & MMU_ADDR_MASK)
                       + ((linear >> 12) & 0x1ff) * 8, RSVD_HIGH);
    if (w->fault) {
        return;
    }
    w->page_size = 4096;
    w->paddr = (e & MMU_ADDR_MASK) | (linear & 0xfff);
}

static uint32_t mmu_walk_entry32(X86CPUState *env, X86Walk *w,
                                 uint64_t addr)
{
    uint32_t e = (uint32_t)mmu_phys_ld(env, addr, 4);

    if (!(e & PG_P)) {
        w->error = 0;
        w->fault = true;
        return e;
    }
    w->rights &= e | ~(uint64_t)(PG_RW | PG_US);
    w->entries[w->levels] = addr;
    w->values[w->levels++] = e;
    return e;
}

/* 32-bit paging (SDM 4.3), with PSE 4 MiB pages and PSE-36. */
static void mmu_walk_legacy(X86CPUState *env, uint64_t linear, X86Walk *w)
{
    uint32_t e;

    e = mmu_walk_entry32(env, w, (env->cr[3] & 0xfffff000)
                         + ((linear >> 22) & 0x3ff) * 4);
    if (w->fault) {
        return;
    }
    if ((e & PG_PS) && (env->cr[4] & CR4_PSE)) {
        uint64_t high = mmu_pse36(env) ? (uint64_t)((e >> 13) & 0xff) << 32
                                       : 0;

        /* Bit 21 is always reserved; 20:13 above MAXPHYADDR too. */
        if ((e & (1u << 21)) || (high & ~MMU_PHYS_MASK)) {
            w->error = PFERR_P | PFERR_RSVD;
            w->fault = true;
            return;
        }
        w->page_size = 4u << 20;
        w->paddr = high | (e & 0xffc00000) | (linear & 0x3fffff);
        return;
    }
    e = mmu_walk_entry32(env, w, (e & 0xfffff000)
                         + ((linear >> 12) & 0x3ff) * 4);
    if (w->fault) {
        return;
    }
    w->page_size = 4096;
    w->paddr = (e & 0xfffff000) | (linear & 0xfff);
}

/*
 * Protection keys (SDM 4.6.2): data accesses under 4-level paging, to
 * user pages with CR4.PKE (rights in PKRU) and to supervisor pages with
 * CR4.PKS (rights in IA32_PKRS).  AD denies all of them, WD writes (a
 * supervisor write only with CR0.WP).
 */
static bool mmu_pkey_ok(X86CPUState *env, const X86Walk *w, int access,
                        bool user)
{
    bool page_user = w->rights & PG_US;
    uint32_t bits;

    if (!(env->efer & EFER_LMA) || access == X86_ACC_EXEC ||
        !(env->cr[4] & (page_user ? CR4_PKE : CR4_PKS))) {
        return true;
    }
    bits = (page_user ? env->pkru : env->pkrs) >> (2 * w->pkey);
    if (bits & 1) {
        return false;
    }
    return !(access == X86_ACC_WRITE && (bits & 2) &&
             (user || (env->cr[0] & CR0_WP)));
}

/*
 * SMAP (SDM 4.6.1): supervisor data accesses to user pages fault, except
 * explicit ones with EFLAGS.AC set (TLB X86_MMU_KERNEL_AC).
 */
static bool mmu_smap_ok(X86CPUState *env, const X86Walk *w, int access,
                        int idx)
{
    return !(env->cr[4] & CR4_SMAP) || idx != X86_MMU_KERNEL ||
           !(w->rights & PG_US) || access == X86_ACC_EXEC;
}

/* The paging rights of @access through TLB @idx, keys left aside. */
static bool mmu_paging_ok(X86CPUState *env, const X86Walk *w, int access,
                          int idx)
{
    bool user = idx == X86_MMU_USER;
    bool page_user = w->rights & PG_US;

    if (user && !page_user) {
        return false;
    }
    if (!mmu_smap_ok(env, w, access, idx)) {
        return false;
    }
    if (access == X86_ACC_WRITE && !(w->rights & PG_RW)
        && (user || (env->cr[0] & CR0_WP))) {
        return false;
    }
    if (access == X86_ACC_EXEC) {
        if (w->nx) {
            return false;
        }
        if (!user && page_user && (env->cr[4] & CR4_SMEP)) {
            return false;
        }
    }
    return true;
}

/* May @access through TLB @idx go through the walk's rights and keys? */
static bool mmu_rights_ok(X86CPUState *env, const X86Walk *w, int access,
                          int idx)
{
    return mmu_paging_ok(env, w, access, idx) &&
           mmu_pkey_ok(env, w, access, idx == X86_MMU_USER);
}

/* Set A on every entry used, and D on the leaf for a write. */
static void mmu_set_ad(X86CPUState *env, X86Walk *w, int access)
{
    bool wide = (env->cr[4] & CR4_PAE) != 0;

    for (unsigned i = 0; i < w->levels; i++) {
        uint64_t v = w->values[i] | PG_A;

        if (i == w->levels - 1 && access == X86_ACC_WRITE) {
            v |= PG_D;
        }
        if (v != w->values[i]) {
            mmu_phys_st(env, w->entries[i], wide ? 8 : 4, v);
            w->values[i] = v;
        }
    }
    w->dirty = w->levels == 0 || (w->values[w->levels - 1] & PG_D);
}

bool x86_mmu_walk(X86CPUState *env, uint64_t linear, int access, bool user,
                  X86Walk *w)
{
    return x86_mmu_walk_idx(env, linear, access,
                            user ? X86_MMU_USER : X86_MMU_KERNEL, w);
}

bool x86_mmu_walk_idx(X86CPUState *env, uint64_t linear, int access, int idx,
                      X86Walk *w)
{
    bool user = idx == X86_MMU_USER;

    memset(w, 0, sizeof(*w));
    w->rights = PG_RW | PG_US;
    if (!(env->cr[0] & CR0_PG)) {
        w->paddr = linear & 0xffffffff;
        w->page_size = 4096;
        w->dirty = true;
        return true;
    }
    if (env->cr[4] & CR4_PAE) {
        mmu_walk_long_or_pae(env, linear, w);
    } else {
        mmu_walk_legacy(env, linear, w);
    }
    if (!w->fault && (env->efer & EFER_LMA)) {
        w->pkey = (w->values[w->levels - 1] >> PG_PKEY_SHIFT) & 0xf;
    }
    if (!w->fault && !mmu_paging_ok(env, w, access, idx)) {
        w->error = PFERR_P;
        w->fault = true;
    } else if (!w->fault && !mmu_pkey_ok(env, w, access, user)) {
        /* PK: the keys alone deny it (SDM 4.7). */
        w->error = PFERR_P | PFERR_PK;
        w->fault = true;
    }
    if (w->fault) {
        if (access == X86_ACC_WRITE) {
            w->error |= PFERR_W;
        }
        if (user) {
            w->error |= PFERR_U;
        }
        if (access == X86_ACC_EXEC
            && (((env->efer & EFER_NXE) && (env->cr[4] & CR4_PAE))
                || (env->cr[4] & CR4_SMEP))) {
            w->error |= PFERR_I;
        }
        return false;
    }
    mmu_set_ad(env, w, access);
    w->global = w->levels && (w->values[w->levels - 1] & PG_G)
                && (env->cr[4] & CR4_PGE);
    return true;
}

/* ---- TLB ------------------------------------------------------------- */

static void mmu_tlb_invalidate(X86TLBEntry *e)
{
    e->tag_read = e->tag_write = e->tag_code = X86_TLB_INVALID;
    e->tag_write_code = X86_TLB_INVALID;
    e->page_mask = X86_PAGE_MASK;
    e->global = false;
}

/*
 * A new TLB generation, unique across vCPUs: the execution side shares
 * decoded blocks (and their links) between vCPUs, so an equal
 * generation must mean the same vCPU with no flush since.
 */
static void mmu_tlb_new_gen(X86CPUState *env)
{
    static int counter;

    env->tlb_gen = (uint32_t)g_atomic_int_add(&counter, 1) + 1;
    memset(env->tlb_code_regions, 0, sizeof(env->tlb_code_regions));
    env->tlb_code_huge = false;
}

/* Could the entry be valid?  (All tags invalid: it is empty.) */
static bool mmu_tlb_in_use(const X86TLBEntry *e)
{
    return (e->tag_read & e->tag_write & e->tag_code & e->tag_write_code)
           != X86_TLB_INVALID;
}

/*
 * The slots of TLB @idx that were filled since its last flush, so that
 * a flush (a MOV to CR3 on every context switch) visits those instead
 * of all X86_TLB_SIZE; past X86_TLB_SIZE of them (a slot refilled after
 * INVLPG counts again), all slots.  Two lists: slots filled with a
 * non-global translation (TLB_LOCAL), which every flush visits, and
 * with a global one, which only a flush of everything does, so that a
 * context switch does not walk the kernel's pages.  A slot in use is on
 * the list of its translation (and may be on the other from before).
 */
enum { TLB_LOCAL, TLB_GLOBAL };

static unsigned mmu_tlb_used_count(const X86CPUState *env, int list, int idx)
{
    return MIN(env->tlb_nused[list][idx], X86_TLB_SIZE);
}

static X86TLBEntry *mmu_tlb_used(X86CPUState *env, int list, int idx,
                                 unsigned k)
{
    bool all = env->tlb_nused[list][idx] > X86_TLB_SIZE;

    return &env->tlb[idx][all ? k : env->tlb_used[list][idx][k]];
}

static void mmu_tlb_note_fill(X86CPUState *env, int list, int idx,
                              X86TLBEntry *e)
{
    uint32_t *n = &env->tlb_nused[list][idx];

    if (*n < X86_TLB_SIZE) {
        env->tlb_used[list][idx][*n] = e - env->tlb[idx];
    }
    if (*n <= X86_TLB_SIZE) {
        (*n)++;
    }
}

void x86_tlb_flush(X86CPUState *env, bool global)
{
    /*
     * The code translations the execution side keeps are dropped either
     * way (tlb_gen): they do not tell global pages apart.
     */
    stats_inc(&env->stat_tlb_flushes);
    mmu_tlb_new_gen(env);
    for (int idx = 0; idx < X86_MMU_NB; idx++) {
        if (global) {
            /* Every slot: this is also how a new TLB starts empty. */
            for (unsigned i = 0; i < X86_TLB_SIZE; i++) {
                mmu_tlb_invalidate(&env->tlb[idx][i]);
            }
            env->tlb_nused[TLB_LOCAL][idx] = 0;
            env->tlb_nused[TLB_GLOBAL][idx] = 0;
            env->tlb_large_lo[idx] = UINT64_MAX;
            env->tlb_large_hi[idx] = 0;
            env->tlb_large_max[idx] = 0;
            continue;
        }
        /* Global pages stay (on their list, and maybe on this one). */
        for (unsigned k = 0, n = mmu_tlb_used_count(env, TLB_LOCAL, idx);
             k < n; k++) {
            X86TLBEntry *e = mmu_tlb_used(env, TLB_LOCAL, idx, k);

            if (!e->global) {
                mmu_tlb_invalidate(e);
            }
        }
        /* Large global entries may remain around their bounds. */
        env->tlb_nused[TLB_LOCAL][idx] = 0;
    }
}

void x86_tlb_protect_phys(X86CPUState *env, uint64_t page)
{
    for (int idx = 0; idx < X86_MMU_NB; idx++) {
        for (int list = TLB_LOCAL; list <= TLB_GLOBAL; list++) {
            for (unsigned k = 0, n = mmu_tlb_used_count(env, list, idx);
                 k < n; k++) {
                X86TLBEntry *e = mmu_tlb_used(env, list, idx, k);

                if (e->tag_write != X86_TLB_INVALID && e->paddr == page) {
                    /* Still writable, through the slow path. */
                    e->tag_write_code = e->tag_write;
                    e->tag_write = X86_TLB_INVALID;
                }
            }
        }
    }
}

static inline X86TLBEntry *mmu_tlb_entry(X86CPUState *env, int idx,
                                         uint64_t linear)
{
    return &env->tlb[idx][(linear >> X86_PAGE_BITS) & (X86_TLB_SIZE - 1)];
}

/* The filter bit of @linear's 2 MiB region. */
static unsigned mmu_code_region_bit(uint64_t linear)
{
    return (linear >> 21) & (64 * X86_CODE_REGION_WORDS - 1);
}

static bool mmu_code_region_noted(const X86CPUState *env, uint64_t linear)
{
    unsigned bit = mmu_code_region_bit(linear);

    return env->tlb_code_huge ||
           (env->tlb_code_regions[bit / 64] >> (bit % 64)) & 1;
}

void x86_tlb_note_code(X86CPUState *env, uint64_t first, uint64_t last)
{
    const X86TLBEntry *e = mmu_tlb_entry(env, x86_mmu_index(env), first);
    uint64_t ends[2] = { first, last };

    for (int i = 0; i < 2; i++) {
        unsigned bit = mmu_code_region_bit(ends[i]);

        env->tlb_code_regions[bit / 64] |= UINT64_C(1) << (bit % 64);
    }
    /* A 1 GiB page (or no entry to tell): any one-page flush may hit it. */
    if (e->tag_code != (first & X86_PAGE_MASK) ||
        ~e->page_mask >= (UINT64_C(2) << 20)) {
        env->tlb_code_huge = true;
    }
}

static bool mmu_tlb_matches(const X86TLBEntry *e, uint64_t linear)
{
    uint64_t tags[4] = {
        e->tag_read, e->tag_write, e->tag_code, e->tag_write_code,
    };

    for (int i = 0; i < 4; i++) {
        if (tags[i] != X86_TLB_INVALID
            && ((tags[i] ^ linear) & e->page_mask) == 0) {
            return true;
        }
    }
    return false;
}

void x86_tlb_flush_page(X86CPUState *env, uint64_t linear)
{
    /*
     * A slot caches one 4K slice of a page; the slices of a large page
     * sit in many slots, all of which INVLPG drops (SDM 4.10.4.1).
     */
    stats_inc(&env->stat_tlb_flush_pages);
    if (mmu_code_region_noted(env, linear)) {
        mmu_tlb_new_gen(env);
    }
    for (int idx = 0; idx < X86_MMU_NB; idx++) {
        X86TLBEntry *own = mmu_tlb_entry(env, idx, linear);

        /* The walks recorded for large pages go with them. */
        for (unsigned i = 0; i < X86_LARGE_PAGES; i++) {
            X86LargePage *lp = &env->large[idx][i];

            if (lp->size && (linear & ~(lp->size - 1)) == lp->linear) {
                lp->size = 0;
            }
        }
        /* Only @linear's own slot can hold a 4K page with it. */
        if (mmu_tlb_matches(own, linear)) {
            mmu_tlb_invalidate(own);
        }
        if (linear < env->tlb_large_lo[idx] ||
            linear > env->tlb_large_hi[idx]) {
            continue;       /* no large page around @linear */
        }
        /*
         * A large page's slices sit in the slots of the pages it spans:
         * those of the largest page size seen, aligned, hold them all.
         */
        uint64_t span = env->tlb_large_max[idx] >> X86_PAGE_BITS;
        unsigned first = (linear >> X86_PAGE_BITS) & ~(span - 1);

        span = MIN(span, X86_TLB_SIZE);
        for (unsigned i = 0; i < span; i++) {
            X86TLBEntry *e = &env->tlb[idx][(first + i) & (X86_TLB_SIZE - 1)];

            if (e->page_mask != X86_PAGE_MASK && mmu_tlb_matches(e, linear)) {
                mmu_tlb_invalidate(e);
            }
        }
    }
}


static noreturn void mmu_raise_pf(X86CPUState *env, uint64_t linear,
                                  uint32_t error)
{
    env->cr[2] = linear;
    x86_raise_exception_err(env, EXCP_PF, error);
}

/*
 * Walk for @access and fill the TLB slot of @linear with what the walk
 * allows.  Returns the physical address (A20 applied).
 */
static X86LargePage *mmu_large_slot(X86CPUState *env, int idx,
                                    uint64_t linear)
{
    return &env->large[idx][(linear >> 21) & (X86_LARGE_PAGES - 1)];
}

/*
 * The walk for @linear from a recorded large page, when it allows
 * @access (a write needs D already set); false: walk the tables.
 */
static bool mmu_large_walk(X86CPUState *env, uint64_t linear, int access,
                           int idx, X86Walk *w)
{
    const X86LargePage *lp = mmu_large_slot(env, idx, linear);

    if (lp->gen != env->tlb_gen || lp->size == 0 ||
        (linear & ~(lp->size - 1)) != lp->linear ||
        (access == X86_ACC_WRITE && !lp->dirty)) {
        return false;
    }
    memset(w, 0, sizeof(*w));
    w->paddr = lp->paddr + (linear - lp->linear);
    w->page_size = lp->size;
    w->rights = lp->rights;
    w->nx = lp->nx;
    w->dirty = lp->dirty;
    w->global = lp->global;
    w->pkey = lp->pkey;
    return mmu_rights_ok(env, w, access, idx);
}

static void mmu_large_record(X86CPUState *env, uint64_t linear, int idx,
                             const X86Walk *w)
{
    X86LargePage *lp = mmu_large_slot(env, idx, linear);
    uint64_t off = linear & (w->page_size - 1);

    if (w->page_size <= X86_PAGE_SIZE || !(env->cr[0] & CR0_PG)) {
        return;
    }
    *lp = (X86LargePage){
        .linear = linear - off, .paddr = w->paddr - off,
        .size = w->page_size, .rights = w->rights, .nx = w->nx,
        .dirty = w->dirty, .global = w->global, .pkey = w->pkey,
        .gen = env->tlb_gen,
    };
}

static uint64_t mmu_fill(X86CPUState *env, uint64_t linear, int access,
                         int idx)
{
    X86TLBEntry *e = mmu_tlb_entry(env, idx, linear);
    uint64_t page = linear & X86_PAGE_MASK;
    uint64_t paddr, ppage;
    uint8_t *host;
    X86Walk w;

    stats_inc(&env->stat_tlb_fills);
    if (!mmu_large_walk(env, linear, access, idx, &w)) {
        if (!x86_mmu_walk_idx(env, linear, access, idx, &w)) {
            mmu_raise_pf(env, linear, w.error);
        }
        mmu_large_record(env, linear, idx, &w);
    }
    paddr = w.paddr & env->a20_mask;
    ppage = paddr & X86_PAGE_MASK;
    host = env->io->ram_ptr(env->io->opaque, ppage, false);
    /* On the list of its new translation, unless already there. */
    if (!mmu_tlb_in_use(e) || e->global != w.global) {
        mmu_tlb_note_fill(env, w.global ? TLB_GLOBAL : TLB_LOCAL, idx, e);
    }
    mmu_tlb_invalidate(e);
    e->page_mask = ~(uint64_t)(w.page_size - 1);
    e->global = w.global;
    if (w.page_size > X86_PAGE_SIZE) {
        uint64_t base = linear & e->page_mask;

        env->tlb_large_lo[idx] = MIN(env->tlb_large_lo[idx], base);
        env->tlb_large_max[idx] = MAX(env->tlb_large_max[idx], w.page_size);
        env->tlb_large_hi[idx] = MAX(env->tlb_large_hi[idx],
                                     base + w.page_size - 1);
    }
    e->paddr = ppage;
    if (!host) {
        return paddr;
    }
    e->addend = (uintptr_t)host - (uintptr_t)page;
    if (env->dbg_data && x86_debug_page_watched(env, page)) {
        /* Every data access here takes the slow path, which checks. */
        if (mmu_rights_ok(env, &w, X86_ACC_EXEC, idx)) {
            e->tag_code = page;
        }
        return paddr;
    }
    if (mmu_rights_ok(env, &w, X86_ACC_READ, idx)) {
        e->tag_read = page;
    }
    if (mmu_rights_ok(env, &w, X86_ACC_EXEC, idx)) {
        e->tag_code = page;
    }
    if (w.dirty && mmu_rights_ok(env, &w, X86_ACC_WRITE, idx)
        && env->io->ram_ptr(env->io->opaque, ppage, true) == host) {
        if (code_cache && code_cache->page_has_code(env, ppage)) {
            e->tag_write_code = page;
        } else {
            e->tag_write = page;
        }
    }
    return paddr;
}

static int mmu_index(X86CPUState *env)
{
    return x86_mmu_index(env);
}

/* Physical address of @linear for @access through the TLB slot of @idx. */
static uint64_t mmu_translate_idx(X86CPUState *env, uint64_t linear,
                                  int access, int idx)
{
    X86TLBEntry *e = mmu_tlb_entry(env, idx, linear);
    uint64_t page = linear & X86_PAGE_MASK;
    uint64_t tag = access == X86_ACC_READ ? e->tag_read
                 : access == X86_ACC_WRITE ? e->tag_write : e->tag_code;

    if (tag == page ||
        (access == X86_ACC_WRITE && e->tag_write_code == page)) {
        return e->paddr | (linear & ~X86_PAGE_MASK);
    }
    return mmu_fill(env, linear, access, idx);
}

uint64_t x86_translate(X86CPUState *env, uint64_t linear, int access)
{
    return mmu_translate_idx(env, linear, access, mmu_index(env));
}

/* ---- linear access --------------------------------------------------- */

/* A store landed on physical [paddr, paddr+len): keep decoded code honest. */
static void mmu_note_store(X86CPUState *env, uint64_t paddr, unsigned len)
{
    if (code_cache && code_cache->page_has_code(env, paddr)) {
        code_cache->code_written(env, paddr, len);
    }
}

void x86_mmu_note_store(X86CPUState *env, uint64_t paddr, unsigned len)
{
    mmu_note_store(env, paddr, len);
}

/* One access inside one page, slow path: MMIO, code pages, first touch. */
static uint64_t mmu_ld_page(X86CPUState *env, uint64_t linear, unsigned size,
                            int idx)
{
    uint64_t paddr = mmu_translate_idx(env, linear, X86_ACC_READ, idx);
    X86TLBEntry *e = mmu_tlb_entry(env, idx, linear);

    if (env->dbg_data) {
        x86_debug_data_access(env, linear, size, false);
    }
    if (e->tag_read == (linear & X86_PAGE_MASK)) {
        return mmu_host_ld((void *)(uintptr_t)(linear + e->addend), size);
    }
    return mmu_phys_ld(env, paddr, size);
}

static void mmu_st_page(X86CPUState *env, uint64_t linear, unsigned size,
                        uint64_t val, int idx)
{
    uint64_t paddr = mmu_translate_idx(env, linear, X86_ACC_WRITE, idx);
    X86TLBEntry *e = mmu_tlb_entry(env, idx, linear);

    if (env->dbg_data) {
        x86_debug_data_access(env, linear, size, true);
    }
    if (e->tag_write == (linear & X86_PAGE_MASK)) {
        mmu_host_st((void *)(uintptr_t)(linear + e->addend), size, val);
        return;
    }
    if (e->tag_write_code == (linear & X86_PAGE_MASK)) {
        mmu_host_st((void *)(uintptr_t)(linear + e->addend), size, val);
        mmu_note_store(env, paddr & env->a20_mask, size);
        return;
    }
    mmu_phys_st(env, paddr, size, val);
    mmu_note_store(env, paddr & env->a20_mask, size);
}

static inline bool mmu_crosses_page(uint64_t linear, unsigned size)
{
    return ((linear & ~X86_PAGE_MASK) + size) > X86_PAGE_SIZE;
}

uint64_t x86_mmu_ld(X86CPUState *env, uint64_t linear, unsigned size,
                    int idx)
{
    X86TLBEntry *e = mmu_tlb_entry(env, idx, linear);
    uint64_t v = 0;

    if (e->tag_read == (linear & X86_PAGE_MASK)
        && !mmu_crosses_page(linear, size)) {
        return mmu_host_ld((void *)(uintptr_t)(linear + e->addend), size);
    }
    if (!mmu_crosses_page(linear, size)) {
        return mmu_ld_page(env, linear, size, idx);
    }
    /* Both pages must be readable before anything is returned. */
    mmu_translate_idx(env, linear, X86_ACC_READ, idx);
    mmu_translate_idx(env, linear + size - 1, X86_ACC_READ, idx);
    for (unsigned i = 0; i < size; i++) {
        v |= mmu_ld_page(env, linear + i, 1, idx) << (8 * i);
    }
    return v;
}

void x86_mmu_st(X86CPUState *env, uint64_t linear, unsigned size,
                uint64_t val, int idx)
{
    X86TLBEntry *e = mmu_tlb_entry(env, idx, linear);

    if (e->tag_write == (linear & X86_PAGE_MASK)
        && !mmu_crosses_page(linear, size)) {
        mmu_host_st((void *)(uintptr_t)(linear + e->addend), size, val);
        return;
    }
    if (!mmu_crosses_page(linear, size)) {
        mmu_st_page(env, linear, size, val, idx);
        return;
    }
    /* Fault on either page before writing a byte (SDM: no partial store). */
    mmu_translate_idx(env, linear, X86_ACC_WRITE, idx);
    mmu_translate_idx(env, linear + size - 1, X86_ACC_WRITE, idx);
    for (unsigned i = 0; i < size; i++) {
        mmu_st_page(env, linear + i, 1, val >> (8 * i), idx);
    }
}

uint64_t x86_ld_linear(X86CPUState *env, uint64_t linear, unsigned size,
                       bool supervisor)
{
    int idx = supervisor ? X86_MMU_KERNEL : mmu_index(env);

    return x86_mmu_ld(env, x86_linear_mask(env, linear), size, idx);
}

void x86_st_linear(X86CPUState *env, uint64_t linear, unsigned size,
                   uint64_t val, bool supervisor)
{
    int idx = supervisor ? X86_MMU_KERNEL : mmu_index(env);

    x86_mmu_st(env, x86_linear_mask(env, linear), size, val, idx);
}

/* ---- segmentation ---------------------------------------------------- */

static noreturn void mmu_seg_fault(X86CPUState *env, int seg)
{
    x86_raise_exception_err(env, seg == R_SS ? EXCP_SS : EXCP_GP, 0);
}

static bool mmu_canonical(uint64_t linear)
{
    return (uint64_t)((int64_t)(linear << 16) >> 16) == linear;
}

/* Is [ea, ea+size) inside the segment's limit (SDM 5.3)? */
static bool mmu_within_limit(const SegmentCache *sc, uint64_t ea,
                             unsigned size)
{
    uint64_t last = ea + size - 1;

    if ((sc->flags & (DESC_S_MASK | DESC_CS_MASK | DESC_E_MASK))
        == (DESC_S_MASK | DESC_E_MASK)) {
        uint64_t top = (sc->flags & DESC_B_MASK) ? 0xffffffff : 0xffff;

        return ea > sc->limit && last <= top;
    }
    return last <= sc->limit;
}

uint64_t x86_seg_linear(X86CPUState *env, int seg, uint64_t ea,
                        unsigned size, bool write)
{
    const SegmentCache *sc = &env->segs[seg];
    uint64_t linear;

    if (env->hflags & HF_CS64) {
        linear = ea + ((seg == R_FS || seg == R_GS) ? sc->base : 0);
        if (!mmu_canonical(linear) || !mmu_canonical(linear + size - 1)) {
            mmu_seg_fault(env, seg);
        }
        return linear;
    }
    if ((env->hflags & HF_PE) && !(env->hflags & HF_VM)) {
        if (!(sc->flags & DESC_P_MASK)) {
            mmu_seg_fault(env, seg);
        }
        if (sc->flags & DESC_CS_MASK) {
            if (write || !(sc->flags & DESC_R_MASK)) {
                mmu_seg_fault(env, seg);
            }
        } else if (write && !(sc->flags & DESC_W_MASK)) {
            mmu_seg_fault(env, seg);
        }
    }
    if (!mmu_within_limit(sc, ea, size)) {
        mmu_seg_fault(env, seg);
    }
    return (sc->base + ea) & 0xffffffff;
}

uint64_t x86_linear_mask(X86CPUState *env, uint64_t linear)
{
    return (env->hflags & HF_LMA) ? linear : (linear & 0xffffffff);
}

/* #AC: CPL 3, CR0.AM and EFLAGS.AC, a misaligned access (SDM 6.15). */
static inline void mmu_check_align(X86CPUState *env, uint64_t linear,
                                   unsigned size)
{
    if ((env->hflags & HF_AC) && (linear & (size - 1))) {
        x86_raise_exception_err(env, EXCP_AC, 0);
    }
}

static uint64_t mmu_ld_seg(X86CPUState *env, int seg, uint64_t ea,
                           unsigned size)
{
    uint64_t linear = x86_seg_linear(env, seg, ea, size, false);

    mmu_check_align(env, linear, size);
    return x86_mmu_ld(env, linear, size, mmu_index(env));
}

static void mmu_st_seg(X86CPUState *env, int seg, uint64_t ea, unsigned size,
                       uint64_t val)
{
    uint64_t linear = x86_seg_linear(env, seg, ea, size, true);

    mmu_check_align(env, linear, size);
    x86_mmu_st(env, linear, size, val, mmu_index(env));
}

uint8_t x86_ld8(X86CPUState *env, int seg, uint64_t ea)
{
    return (uint8_t)mmu_ld_seg(env, seg, ea, 1);
}

uint16_t x86_ld16(X86CPUState *env, int seg, uint64_t ea)
{
    return (uint16_t)mmu_ld_seg(env, seg, ea, 2);
}

uint32_t x86_ld32(X86CPUState *env, int seg, uint64_t ea)
{
    return (uint32_t)mmu_ld_seg(env, seg, ea, 4);
}

uint64_t x86_ld64(X86CPUState *env, int seg, uint64_t ea)
{
    return mmu_ld_seg(env, seg, ea, 8);
}

void x86_st8(X86CPUState *env, int seg, uint64_t ea, uint8_t val)
{
    mmu_st_seg(env, seg, ea, 1, val);
}

void x86_st16(X86CPUState *env, int seg, uint64_t ea, uint16_t val)
{
    mmu_st_seg(env, seg, ea, 2, val);
}

void x86_st32(X86CPUState *env, int seg, uint64_t ea, uint32_t val)
{
    mmu_st_seg(env, seg, ea, 4, val);
}

void x86_st64(X86CPUState *env, int seg, uint64_t ea, uint64_t val)
{
    mmu_st_seg(env, seg, ea, 8, val);
}

/* 128-bit: two 8-byte halves after one check of the whole range. */
void x86_ld128(X86CPUState *env, int seg, uint64_t ea, X86XMMReg *val,
               bool aligned)
{
    uint64_t linear = x86_seg_linear(env, seg, ea, 16, false);
    int idx = mmu_index(env);

    if (aligned && (linear & 15)) {
        x86_raise_exception_err(env, EXCP_GP, 0);
    }
    if (mmu_crosses_page(linear, 16)) {
        mmu_translate_idx(env, linear + 15, X86_ACC_READ, idx);
    }
    val->q[0] = x86_mmu_ld(env, linear, 8, idx);
    val->q[1] = x86_mmu_ld(env, x86_linear_mask(env, linear + 8), 8, idx);
}

void x86_st128(X86CPUState *env, int seg, uint64_t ea,
               const X86XMMReg *val, bool aligned)
{
    uint64_t linear = x86_seg_linear(env, seg, ea, 16, true);
    int idx = mmu_index(env);

    if (aligned && (linear & 15)) {
        x86_raise_exception_err(env, EXCP_GP, 0);
    }
    mmu_translate_idx(env, linear, X86_ACC_WRITE, idx);
    mmu_translate_idx(env, x86_linear_mask(env, linear + 15),
                      X86_ACC_WRITE, idx);
    x86_mmu_st(env, linear, 8, val->q[0], idx);
    x86_mmu_st(env, x86_linear_mask(env, linear + 8), 8, val->q[1], idx);
}

void x86_probe_write(X86CPUState *env, int seg, uint64_t ea, unsigned size)
{
    uint64_t linear = x86_seg_linear(env, seg, ea, size, true);
    int idx = mmu_index(env);

    mmu_check_align(env, linear, size);
    mmu_translate_idx(env, linear, X86_ACC_WRITE, idx);
    if (mmu_crosses_page(linear, size)) {
        mmu_translate_idx(env, x86_linear_mask(env, linear + size - 1),
                          X86_ACC_WRITE, idx);
    }
}
