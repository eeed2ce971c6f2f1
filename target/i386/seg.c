/*
 * Segmentation: descriptor loads with their type and privilege checks,
 * LLDT/LTR, LAR/LSL/VERR/VERW, far JMP/CALL/RET (call gates included) and
 * IRET/IRETQ, in real, protected and long mode.
 *
 * References: SDM vol 3A chapter 3 (descriptors), 5.6-5.8 (privilege
 * checks, call gates), vol 2 JMP/CALL/RET/IRET pseudocode.
 */
#include "target/i386/cpu.h"
#include "target/i386/mmu.h"
#include "target/i386/seg.h"

static noreturn void seg_gp(X86CPUState *env, uint32_t err)
{
    x86_raise_exception_err(env, EXCP_GP, err & 0xfffc);
}

static noreturn void seg_raise(X86CPUState *env, int vec, uint32_t err)
{
    x86_raise_exception_err(env, vec, err & 0xfffc);
}

static bool seg_pm(const X86CPUState *env)
{
    return (env->hflags & HF_PE) && !(env->hflags & HF_VM);
}

static bool seg_long(const X86CPUState *env)
{
    return (env->hflags & HF_LMA) != 0;
}

/* ---- descriptors ------------------------------------------------------ */

static bool seg_desc_addr(X86CPUState *env, uint16_t sel, unsigned bytes,
                          uint64_t *addr)
{
    uint64_t base, limit;
    unsigned index = sel & ~7u;

    if (sel & 4) {
        const SegmentCache *ldt = &env->segs[R_LDTR];

        if ((ldt->selector & ~3u) == 0 || !(ldt->flags & DESC_P_MASK)) {
            return false;
        }
        base = ldt->base;
        limit = ldt->limit;
    } else {
        base = env->gdt.base;
        limit = env->gdt.limit;
    }
    if ((uint64_t)index + bytes - 1 > limit) {
        return false;
    }
    *addr = base + index;
    return true;
}

bool x86_seg_read_desc(X86CPUState *env, uint16_t sel, uint32_t *lo,
                       uint32_t *hi)
{
    uint64_t addr;

    if (!seg_desc_addr(env, sel, 8, &addr)) {
        return false;
    }
    *lo = (uint32_t)x86_ld_linear(env, addr, 4, true);
    *hi = (uint32_t)x86_ld_linear(env, addr + 4, 4, true);
    return true;
}

/* The upper 8 bytes of a 16-byte system descriptor (long mode). */
static bool seg_read_desc_high(X86CPUState *env, uint16_t sel,
                               uint32_t *base_hi)
{
    uint64_t addr;

    if (!seg_desc_addr(env, sel, 16, &addr)) {
        return false;
    }
    *base_hi = (uint32_t)x86_ld_linear(env, addr + 8, 4, true);
    return true;
}

void x86_seg_write_desc_hi(X86CPUState *env, uint16_t sel, uint32_t hi)
{
    uint64_t addr;

    if (seg_desc_addr(env, sel, 8, &addr)) {
        x86_st_linear(env, addr + 4, 4, hi, true);
    }
}

void x86_seg_cache_from_desc(SegmentCache *sc, uint16_t sel, uint32_t lo,
                             uint32_t hi)
{
    uint32_t limit = (lo & 0xffff) | (hi & 0x000f0000);

    if (hi & DESC_G_MASK) {
        limit = (limit << 12) | 0xfff;
    }
    sc->selector = sel;
    sc->base = (lo >> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000);
    sc->limit = limit;
    sc->flags = hi & 0x00f0ff00;
}

void x86_seg_set(X86CPUState *env, int seg, const SegmentCache *sc)
{
    env->segs[seg] = *sc;
    if (seg == R_CS || seg == R_SS) {
        x86_update_hflags(env);
    }
}

/* Set the accessed bit the way the CPU does on a load (SDM 3.4.5.1). */
static void seg_set_accessed(X86CPUState *env, uint16_t sel, uint32_t *hi)
{
    if ((*hi & DESC_S_MASK) && !(*hi & DESC_A_MASK)) {
        *hi |= DESC_A_MASK;
        x86_seg_write_desc_hi(env, sel, *hi);
    }
}

static void seg_load_real(X86CPUState *env, int seg, uint16_t sel)
{
    SegmentCache sc = env->segs[seg];

    sc.selector = sel;
    sc.base = (uint64_t)sel << 4;
    if (env->hflags & HF_VM) {
        /* Virtual-8086 segments are fixed (SDM 20.1.1). */
        sc.limit = 0xffff;
        sc.flags = DESC_P_MASK | DESC_S_MASK | DESC_W_MASK | DESC_A_MASK
                 | (3u << DESC_DPL_SHIFT)
                 | (seg == R_CS ? DESC_CS_MASK : 0);
    }
    x86_seg_set(env, seg, &sc);
}

static void seg_load_null(X86CPUState *env, int seg, uint16_t sel)
{
    SegmentCache sc = { .selector = sel };

    if (seg == R_SS) {
        unsigned cpl = x86_cpl(env);

        /* Only 64-bit mode allows a null SS, at CPL 0-2 (SDM MOV). */
        if (!(env->hflags & HF_CS64) || cpl == 3 || (sel & 3) != cpl) {
            seg_gp(env, 0);
        }
        sc.flags = (cpl << DESC_DPL_SHIFT) | DESC_B_MASK;
    }
    x86_seg_set(env, seg, &sc);
}

void x86_load_seg(X86CPUState *env, int seg, uint16_t sel)
{
    unsigned cpl = x86_cpl(env), rpl = sel & 3, dpl;
    uint32_t lo, hi;
    SegmentCache sc;

    if (!seg_pm(env)) {
        seg_load_real(env, seg, sel);
        return;
    }
    if ((sel & ~3u) == 0) {
        seg_load_null(env, seg, sel);
        return;
    }
    if (!x86_seg_read_desc(env, sel, &lo, &hi) || !(hi & DESC_S_MASK)) {
        seg_gp(env, sel);
    }
    dpl = desc_dpl(hi);
    if (seg == R_SS) {
        if ((hi & DESC_CS_MASK) || !(hi & DESC_W_MASK) || rpl != cpl
            || dpl != cpl) {
            seg_gp(env, sel);
        }
        if (!(hi & DESC_P_MASK)) {
            seg_raise(env, EXCP_SS, sel);
        }
    } else {
        if ((hi & DESC_CS_MASK) && !(hi & DESC_R_MASK)) {
            seg_gp(env, sel);
        }
        /* Data and non-conforming code: max(CPL, RPL) <= DPL. */
        if ((!(hi & DESC_CS_MASK) || !(hi & DESC_C_MASK))
            && (dpl < cpl || dpl < rpl)) {
            seg_gp(env, sel);
        }
        if (!(hi & DESC_P_MASK)) {
            seg_raise(env, EXCP_NP, sel);
        }
    }
    seg_set_accessed(env, sel, &hi);
    x86_seg_cache_from_desc(&sc, sel, lo, hi);
    x86_seg_set(env, seg, &sc);
}

/* ---- LDTR and TR ------------------------------------------------------ */

/* Load a system segment (LDT or TSS) descriptor into @sc. */
static void seg_load_system(X86CPUState *env, uint16_t sel, uint32_t lo,
                            uint32_t hi, SegmentCache *sc)
{
    x86_seg_cache_from_desc(sc, sel, lo, hi);
    if (seg_long(env)) {
        uint32_t base_hi;

        if (!seg_read_desc_high(env, sel, &base_hi)) {
            seg_gp(env, sel);
        }
        sc->base |= (uint64_t)base_hi << 32;
    }
}

void x86_helper_lldt(X86CPUState *env, uint16_t sel)
{
    SegmentCache sc = { .selector = sel };
    uint32_t lo, hi;

    if ((sel & ~3u) == 0) {
        env->segs[R_LDTR] = sc;
        return;
    }
    if ((sel & 4) || !x86_seg_read_desc(env, sel, &lo, &hi)
        || (hi & DESC_S_MASK) || desc_type(hi) != DESC_TYPE_LDT) {
        seg_gp(env, sel);
    }
    if (!(hi & DESC_P_MASK)) {
        seg_raise(env, EXCP_NP, sel);
    }
    seg_load_system(env, sel, lo, hi, &sc);
    env->segs[R_LDTR] = sc;
}

void x86_helper_ltr(X86CPUState *env, uint16_t sel)
{
    SegmentCache sc;
    uint32_t lo, hi;
    unsigned type;

    if ((sel & ~3u) == 0 || (sel & 4)
        || !x86_seg_read_desc(env, sel, &lo, &hi) || (hi & DESC_S_MASK)) {
        seg_gp(env, sel);
    }
    type = desc_type(hi);
    if (type != DESC_TYPE_TSS_AVAIL
        && (seg_long(env) || type != DESC_TYPE_TSS16_AVAIL)) {
        seg_gp(env, sel);
    }
    if (!(hi & DESC_P_MASK)) {
        seg_raise(env, EXCP_NP, sel);
    }
    seg_load_system(env, sel, lo, hi, &sc);
    hi |= 2u << DESC_TYPE_SHIFT;        /* busy */
    x86_seg_write_desc_hi(env, sel, hi);
    sc.flags = hi & 0x00f0ff00;
    env->segs[R_TR] = sc;
}

/* ---- LAR, LSL, VERR, VERW (SDM vol 2) --------------------------------- */

/* May the current CPL see this descriptor at all (the common check)? */
static bool seg_visible(X86CPUState *env, uint16_t sel, uint32_t *lo,
                        uint32_t *hi)
{
    unsigned cpl = x86_cpl(env), dpl;

    if ((sel & ~3u) == 0 || !x86_seg_read_desc(env, sel, lo, hi)) {
        return false;
    }
    dpl = desc_dpl(*hi);
    if ((*hi & DESC_S_MASK) && (*hi & DESC_CS_MASK)
        && (*hi & DESC_C_MASK)) {
        return true;                    /* conforming code */
    }
    return dpl >= cpl && dpl >= (sel & 3u);
}

static bool seg_system_type_ok(X86CPUState *env, unsigned type, bool lar)
{
    switch (type) {
    case DESC_TYPE_LDT:
    case DESC_TYPE_TSS_AVAIL:
    case DESC_TYPE_TSS_BUSY:
        return true;
    case DESC_TYPE_TSS16_AVAIL:
    case DESC_TYPE_TSS16_BUSY:
        return !seg_long(env);
    case DESC_TYPE_CALL16:
    case DESC_TYPE_TASK:
        return lar && !seg_long(env);
    case DESC_TYPE_CALL:
        return lar;
    default:
        return false;
    }
}

uint32_t x86_helper_lar(X86CPUState *env, uint16_t sel, bool *ok)
{
    uint32_t lo, hi;

    *ok = seg_visible(env, sel, &lo, &hi)
          && ((hi & DESC_S_MASK)
              || seg_system_type_ok(env, desc_type(hi) & 0xf, true));
    return *ok ? (hi & 0x00f0ff00) : 0;
}

uint32_t x86_helper_lsl(X86CPUState *env, uint16_t sel, bool *ok)
{
    uint32_t lo, hi, limit;

    *ok = seg_visible(env, sel, &lo, &hi)
          && ((hi & DESC_S_MASK)
              || seg_system_type_ok(env, desc_type(hi) & 0xf, false));
    if (!*ok) {
        return 0;
    }
    limit = (lo & 0xffff) | (hi & 0x000f0000);
    return (hi & DESC_G_MASK) ? (limit << 12) | 0xfff : limit;
}

bool x86_helper_verr(X86CPUState *env, uint16_t sel)
{
    uint32_t lo, hi;

    if (!seg_visible(env, sel, &lo, &hi) || !(hi & DESC_S_MASK)) {
        return false;
    }
    return !(hi & DESC_CS_MASK) || (hi & DESC_R_MASK);
}

bool x86_helper_verw(X86CPUState *env, uint16_t sel)
{
    uint32_t lo, hi;

    if (!seg_visible(env, sel, &lo, &hi) || !(hi & DESC_S_MASK)) {
        return false;
    }
    return !(hi & DESC_CS_MASK) && (hi & DESC_W_MASK);
}

/* ---- stacks ----------------------------------------------------------- */

static uint64_t seg_sp_mask(const X86CPUState *env, uint32_t ss_flags)
{
    if (env->hflags & HF_CS64) {
        return UINT64_MAX;
    }
    return (ss_flags & DESC_B_MASK) ? 0xffffffff : 0xffff;
}

void x86_stack_init_current(X86CPUState *env, X86Stack *st)
{
    st->base = (env->hflags & HF_CS64) ? 0 : env->segs[R_SS].base;
    st->sp = env->regs[R_ESP];
    st->mask = seg_sp_mask(env, env->segs[R_SS].flags);
    st->idx = x86_mmu_index(env);
}

void x86_stack_push(X86CPUState *env, X86Stack *st, unsigned size,
                    uint64_t val)
{
    uint64_t lin;

    st->sp = (st->sp & ~st->mask) | ((st->sp - size) & st->mask);
    lin = x86_linear_mask(env, st->base + (st->sp & st->mask));
    x86_mmu_st(env, lin, size, val, st->idx);
}

uint64_t x86_stack_pop(X86CPUState *env, X86Stack *st, unsigned size)
{
    uint64_t lin = x86_linear_mask(env, st->base + (st->sp & st->mask));
    uint64_t v = x86_mmu_ld(env, lin, size, st->idx);

    st->sp = (st->sp & ~st->mask) | ((st->sp + size) & st->mask);
    return v;
}

void x86_stack_commit(X86CPUState *env, const X86Stack *st)
{
    if (st->mask == 0xffff) {
        env->regs[R_ESP] = (env->regs[R_ESP] & ~UINT64_C(0xffff))
                         | (st->sp & 0xffff);
    } else {
        env->regs[R_ESP] = st->sp & st->mask;
    }
}

void x86_tss_get_stack(X86CPUState *env, unsigned dpl, uint16_t *ss,
                       uint32_t *sp, uint32_t ext)
{
    const SegmentCache *tr = &env->segs[R_TR];
    unsigned type = desc_type(tr->flags) & 0xf;
    bool wide = type == DESC_TYPE_TSS_AVAIL || type == DESC_TYPE_TSS_BUSY;
    unsigned off = wide ? 4 + dpl * 8 : 2 + dpl * 4;
    unsigned size = wide ? 4 : 2;

    if (!(tr->flags & DESC_P_MASK) || off + 2 * size - 1 > tr->limit) {
        x86_raise_exception_err(env, EXCP_TS, (tr->selector & 0xfffc) | ext);
    }
    *sp = (uint32_t)x86_ld_linear(env, tr->base + off, size, true);
    *ss = (uint16_t)x86_ld_linear(env, tr->base + off + size, 2, true);
}

uint64_t x86_tss64_get_rsp(X86CPUState *env, unsigned slot, uint32_t ext)
{
    const SegmentCache *tr = &env->segs[R_TR];
    unsigned off = 4 + slot * 8;

    if (!(tr->flags & DESC_P_MASK) || off + 7 > tr->limit) {
        x86_raise_exception_err(env, EXCP_TS, (tr->selector & 0xfffc) | ext);
    }
    return x86_ld_linear(env, tr->base + off, 8, true);
}

void x86_seg_validate_outer(X86CPUState *env, unsigned cpl)
{
    static const int segs[] = { R_ES, R_DS, R_FS, R_GS };

    for (unsigned i = 0; i < G_N_ELEMENTS(segs); i++) {
        SegmentCache *sc = &env->segs[segs[i]];
        bool conforming_code = (sc->flags & DESC_CS_MASK)
                               && (sc->flags & DESC_C_MASK);

        if ((sc->selector & ~3u) == 0) {
            continue;
        }
        if (!conforming_code && desc_dpl(sc->flags) < cpl) {
            /* SDM RET/IRET: the register becomes null, unusable. */
            sc->selector = 0;
            sc->flags = 0;
            sc->base = 0;
            sc->limit = 0;
        }
    }
}
