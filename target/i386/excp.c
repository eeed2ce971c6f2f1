/*
 * Exceptions and interrupts: raising (with the #DF / triple-fault rules as
 * a table), delivery through the IVT (real mode), 8-byte IDT gates
 * (protected mode) and 16-byte gates with IST (long mode).
 *
 * References: SDM vol 3A 6.3-6.15 (table 6-4 and 6-5 for the classes),
 * 6.12.1 (privilege and stack switch), 6.14 (64-bit mode).
 */
#include "target/i386/cpu.h"
#include "target/i386/mmu.h"
#include "target/i386/seg.h"

/* ---- classes and raising --------------------------------------------- */

typedef enum {
    EXC_BENIGN,
    EXC_CONTRIBUTORY,
    EXC_PAGE_FAULT,
    EXC_DOUBLE_FAULT,
} ExcClass;

/* SDM vol 3A table 6-4: the class of each vector (unlisted: benign). */
static const uint8_t excp_class[32] = {
    [EXCP_DE] = EXC_CONTRIBUTORY,
    [EXCP_TS] = EXC_CONTRIBUTORY,
    [EXCP_NP] = EXC_CONTRIBUTORY,
    [EXCP_SS] = EXC_CONTRIBUTORY,
    [EXCP_GP] = EXC_CONTRIBUTORY,
    [EXCP_PF] = EXC_PAGE_FAULT,
    [EXCP_DF] = EXC_DOUBLE_FAULT,
};

/*
 * SDM vol 3A table 6-5: what a second exception raised while the first
 * is being delivered becomes.  Rows: first; columns: second.
 */
typedef enum { EXC_SERIAL, EXC_TO_DF, EXC_TRIPLE } ExcOutcome;
static const uint8_t excp_combine[4][4] = {
    [EXC_BENIGN] = { EXC_SERIAL, EXC_SERIAL, EXC_SERIAL, EXC_SERIAL },
    [EXC_CONTRIBUTORY] = { EXC_SERIAL, EXC_TO_DF, EXC_SERIAL, EXC_TO_DF },
    [EXC_PAGE_FAULT] = { EXC_SERIAL, EXC_TO_DF, EXC_TO_DF, EXC_TO_DF },
    [EXC_DOUBLE_FAULT] = { EXC_SERIAL, EXC_TRIPLE, EXC_TRIPLE, EXC_TRIPLE },
};

static ExcClass excp_class_of(int vector)
{
    return vector >= 0 && vector < 32 ? excp_class[vector] : EXC_BENIGN;
}

/* Vectors that push an error code (SDM vol 3A table 6-1). */
static bool excp_has_error(int vector)
{
    switch (vector) {
    case EXCP_DF: case EXCP_TS: case EXCP_NP: case EXCP_SS: case EXCP_GP:
    case EXCP_PF: case EXCP_AC: case 21:
        return true;
    default:
        return false;
    }
}

static noreturn void excp_unwind(X86CPUState *env)
{
    x86_lock_abandon(env);      /* a locked instruction faulted */
    longjmp(env->jmp_env, 1);
}

noreturn void x86_raise_exception_err(X86CPUState *env, int vector,
                                      uint32_t error_code)
{
    ExcOutcome out = EXC_SERIAL;

    if (env->exc_prev >= 0) {
        out = excp_combine[excp_class_of(env->exc_prev)]
                          [excp_class_of(vector)];
    }
    if (out == EXC_TRIPLE) {
        env->triple_fault = true;
        excp_unwind(env);
    }
    if (out == EXC_TO_DF) {
        vector = EXCP_DF;
        error_code = 0;
    }
    env->exc_vector = vector;
    env->exc_error_code = error_code;
    env->exc_has_error = excp_has_error(vector);
    env->exc_is_soft = false;
    env->exc_next_rip = env->rip;
    excp_unwind(env);
}

noreturn void x86_raise_exception(X86CPUState *env, int vector)
{
    x86_raise_exception_err(env, vector, 0);
}

noreturn void x86_raise_soft_interrupt(X86CPUState *env, int vector,
                                       uint64_t next_rip)
{
    env->exc_vector = vector;
    env->exc_error_code = 0;
    env->exc_has_error = false;
    env->exc_is_soft = true;
    env->exc_next_rip = next_rip;
    excp_unwind(env);
}

/* ---- delivery --------------------------------------------------------- */

/* One event being delivered. */
typedef struct Event {
    int vector;
    bool soft;                  /* INT n/INT3/INTO: gate DPL is checked */
    bool has_error;
    uint32_t error;
    uint64_t ret_rip;           /* pushed as the return address */
    uint32_t ext;               /* EXT bit for errors during delivery */
    bool fault;                 /* a fault: the pushed EFLAGS has RF */
} Event;

/*
 * Fault-class vectors (SDM vol 3A table 6-1).  #DB is left out: its
 * instruction-breakpoint fault pushes RF as it is (SDM vol 3B 17.3.1.1),
 * so that the handler decides whether to go on past the breakpoint.
 */
static bool excp_is_fault(int vector)
{
    switch (vector) {
    case EXCP_DE: case EXCP_BR: case EXCP_UD: case EXCP_NM: case EXCP_TS:
    case EXCP_NP: case EXCP_SS: case EXCP_GP: case EXCP_PF: case EXCP_MF:
    case EXCP_AC: case EXCP_XM: case 20: case 21:
        return true;
    default:
        return false;
    }
}

/* The EFLAGS image an event pushes: faults set RF (17.3.1.1). */
static uint32_t excp_pushed_flags(X86CPUState *env, const Event *ev)
{
    return x86_get_eflags(env) | (ev->fault ? RF_MASK : 0);
}

static noreturn void excp_fault(X86CPUState *env, int vec, uint32_t sel,
                                const Event *ev)
{
    x86_raise_exception_err(env, vec, (sel & 0xfffc) | ev->ext);
}

/* Error code naming the IDT entry itself (SDM 6.13: IDT bit). */
static noreturn void excp_idt_fault(X86CPUState *env, int vec,
                                    const Event *ev)
{
    x86_raise_exception_err(env, vec, ev->vector * 8 + 2 + ev->ext);
}

static void excp_deliver_real(X86CPUState *env, const Event *ev)
{
    uint64_t entry = ev->vector * 4u;
    uint32_t ivt;
    X86Stack st;
    SegmentCache cs = env->segs[R_CS];

    if (entry + 3 > env->idt.limit) {
        excp_idt_fault(env, EXCP_GP, ev);
    }
    ivt = (uint32_t)x86_ld_linear(env, env->idt.base + entry, 4, true);
    x86_stack_init_current(env, &st);
    x86_stack_push(env, &st, 2, excp_pushed_flags(env, ev));
    x86_stack_push(env, &st, 2, env->segs[R_CS].selector);
    x86_stack_push(env, &st, 2, ev->ret_rip);
    x86_stack_commit(env, &st);
    x86_set_eflags(env, 0, IF_MASK | TF_MASK | AC_MASK | RF_MASK);
    cs.selector = ivt >> 16;
    cs.base = (uint64_t)(ivt >> 16) << 4;
    x86_seg_set(env, R_CS, &cs);
    env->rip = ivt & 0xffff;
}

/* Read the gate (8 or 16 bytes) and apply the gate checks of SDM 6.12.1. */
static void excp_read_gate(X86CPUState *env, const Event *ev, bool wide,
                           uint32_t g[4])
{
    unsigned size = wide ? 16 : 8;
    uint64_t addr = env->idt.base + (uint64_t)ev->vector * size;
    unsigned type, dpl;

    if ((uint64_t)ev->vector * size + size - 1 > env->idt.limit) {
        excp_idt_fault(env, EXCP_GP, ev);
    }
    for (unsigned i = 0; i < size / 4; i++) {
        g[i] = (uint32_t)x86_ld_linear(env, addr + 4 * i, 4, true);
    }
    type = desc_type(g[1]);
    dpl = desc_dpl(g[1]);
    if (wide ? (type != DESC_TYPE_INT && type != DESC_TYPE_TRAP)
             : (type != DESC_TYPE_INT && type != DESC_TYPE_TRAP
                && type != DESC_TYPE_INT16 && type != DESC_TYPE_TRAP16)) {
        /* Task gates (type 5) land here too: no task switching. */
        excp_idt_fault(env, EXCP_GP, ev);
    }
    if (ev->soft && dpl < x86_cpl(env)) {
        excp_idt_fault(env, EXCP_GP, ev);
    }
    if (!(g[1] & DESC_P_MASK)) {
        excp_idt_fault(env, EXCP_NP, ev);
    }
}

/* The gate's target code segment: checks, then its descriptor. */
static void excp_target_cs(X86CPUState *env, const Event *ev, uint16_t sel,
                           uint32_t *lo, uint32_t *hi)
{
    if ((sel & ~3u) == 0) {
        excp_fault(env, EXCP_GP, 0, ev);
    }
    if (!x86_seg_read_desc(env, sel, lo, hi)
        || (*hi & (DESC_S_MASK | DESC_CS_MASK))
           != (DESC_S_MASK | DESC_CS_MASK)
        || desc_dpl(*hi) > x86_cpl(env)) {
        excp_fault(env, EXCP_GP, sel, ev);
    }
    if ((env->hflags & HF_LMA)
        && (!(*hi & DESC_L_MASK) || (*hi & DESC_B_MASK))) {
        excp_fault(env, EXCP_GP, sel, ev);
    }
    if (!(*hi & DESC_P_MASK)) {
        excp_fault(env, EXCP_NP, sel, ev);
    }
}

static void excp_enter_handler(X86CPUState *env, uint16_t sel, uint32_t lo,
                               uint32_t hi, unsigned cpl, uint64_t rip,
                               bool int_gate)
{
    SegmentCache cs;

    x86_seg_cache_from_desc(&cs, (sel & ~3u) | cpl, lo, hi);
    x86_set_eflags(env, 0, TF_MASK | VM_MASK | RF_MASK | NT_MASK
                   | (int_gate ? IF_MASK : 0));
    x86_seg_set(env, R_CS, &cs);
    env->rip = rip;
}

/* Protected mode, 8-byte gates (SDM 6.12.1). */
static void excp_deliver_pm(X86CPUState *env, const Event *ev)
{
    uint32_t g[4], lo, hi, ss_lo, ss_hi;
    bool vm86 = env->hflags & HF_VM;
    unsigned type, dpl, size;
    uint64_t offset;
    uint16_t sel;
    X86Stack st;
    SegmentCache ss;
    uint32_t flags = excp_pushed_flags(env, ev);

    excp_read_gate(env, ev, false, g);
    type = desc_type(g[1]);
    size = (type & 8) ? 4 : 2;
    sel = g[0] >> 16;
    offset = (g[0] & 0xffff) | (size == 4 ? (g[1] & 0xffff0000) : 0);
    excp_target_cs(env, ev, sel, &lo, &hi);
    dpl = (hi & DESC_C_MASK) ? x86_cpl(env) : desc_dpl(hi);
    if (dpl < x86_cpl(env) || vm86) {
        uint16_t ss_sel;
        uint32_t sp;

        if (vm86 && dpl != 0) {
            excp_fault(env, EXCP_GP, sel, ev);
        }
        x86_tss_get_stack(env, dpl, &ss_sel, &sp, ev->ext);
        if ((ss_sel & ~3u) == 0 || (ss_sel & 3u) != dpl
            || !x86_seg_read_desc(env, ss_sel, &ss_lo, &ss_hi)
            || desc_dpl(ss_hi) != dpl || !(ss_hi & DESC_S_MASK)
            || (ss_hi & DESC_CS_MASK) || !(ss_hi & DESC_W_MASK)) {
            excp_fault(env, EXCP_TS, ss_sel, ev);
        }
        if (!(ss_hi & DESC_P_MASK)) {
            excp_fault(env, EXCP_SS, ss_sel, ev);
        }
        x86_seg_cache_from_desc(&ss, ss_sel, ss_lo, ss_hi);
        st = (X86Stack){ .base = ss.base, .sp = sp, .idx = X86_MMU_KERNEL,
                         .mask = (ss_hi & DESC_B_MASK) ? 0xffffffff : 0xffff };
        if (vm86) {
            x86_stack_push(env, &st, size, env->segs[R_GS].selector);
            x86_stack_push(env, &st, size, env->segs[R_FS].selector);
            x86_stack_push(env, &st, size, env->segs[R_DS].selector);
            x86_stack_push(env, &st, size, env->segs[R_ES].selector);
        }
        x86_stack_push(env, &st, size, env->segs[R_SS].selector);
        x86_stack_push(env, &st, size, env->regs[R_ESP]);
    } else {
        x86_stack_init_current(env, &st);
        st.idx = dpl == 3 ? X86_MMU_USER : X86_MMU_KERNEL;
    }
    x86_stack_push(env, &st, size, flags);
    x86_stack_push(env, &st, size, env->segs[R_CS].selector);
    x86_stack_push(env, &st, size, ev->ret_rip);
    if (ev->has_error) {
        x86_stack_push(env, &st, size, ev->error);
    }
    /* All pushes done: switch state. */
    if (dpl < x86_cpl(env) || vm86) {
        if (vm86) {
            static const SegmentCache null_seg;

            env->segs[R_ES] = env->segs[R_DS] = null_seg;
            env->segs[R_FS] = env->segs[R_GS] = null_seg;
        }
        excp_enter_handler(env, sel, lo, hi, dpl, offset,
                           !(type & 1));
        x86_seg_set(env, R_SS, &ss);
    } else {
        excp_enter_handler(env, sel, lo, hi, dpl, offset, !(type & 1));
    }
    x86_stack_commit(env, &st);
}

/* Long mode, 16-byte gates, IST (SDM 6.14). */
static void excp_deliver_long(X86CPUState *env, const Event *ev)
{
    uint32_t g[4], lo, hi;
    unsigned dpl, ist;
    uint64_t offset, rsp;
    uint16_t sel;
    X86Stack st;
    uint32_t flags = excp_pushed_flags(env, ev);
    bool switch_ss;

    excp_read_gate(env, ev, true, g);
    sel = g[0] >> 16;
    offset = (g[0] & 0xffff) | (g[1] & 0xffff0000) | ((uint64_t)g[2] << 32);
    ist = g[1] & 7;
    excp_target_cs(env, ev, sel, &lo, &hi);
    dpl = (hi & DESC_C_MASK) ? x86_cpl(env) : desc_dpl(hi);
    switch_ss = dpl < x86_cpl(env);
    if (ist) {
        rsp = x86_tss64_get_rsp(env, 3 + ist, ev->ext);
    } else if (switch_ss) {
        rsp = x86_tss64_get_rsp(env, dpl, ev->ext);
    } else {
        rsp = env->regs[R_ESP];
    }
    st = (X86Stack){ .sp = rsp & ~UINT64_C(15), .mask = UINT64_MAX,
                     .idx = dpl == 3 ? X86_MMU_USER : X86_MMU_KERNEL };
    x86_stack_push(env, &st, 8, env->segs[R_SS].selector);
    x86_stack_push(env, &st, 8, env->regs[R_ESP]);
    x86_stack_push(env, &st, 8, flags);
    x86_stack_push(env, &st, 8, env->segs[R_CS].selector);
    x86_stack_push(env, &st, 8, ev->ret_rip);
    if (ev->has_error) {
        x86_stack_push(env, &st, 8, ev->error);
    }
    excp_enter_handler(env, sel, lo, hi, dpl, offset,
                       desc_type(g[1]) == DESC_TYPE_INT);
    if (switch_ss) {
        SegmentCache ss = { .selector = dpl, .flags = dpl << DESC_DPL_SHIFT };

        x86_seg_set(env, R_SS, &ss);
    }
    env->regs[R_ESP] = st.sp;
}

static void excp_deliver(X86CPUState *env, const Event *ev)
{
    if (!(env->hflags & HF_PE)) {
        excp_deliver_real(env, ev);
    } else if (env->hflags & HF_LMA) {
        excp_deliver_long(env, ev);
    } else {
        excp_deliver_pm(env, ev);
    }
}

void x86_deliver_exception(X86CPUState *env)
{
    Event ev = {
        .vector = env->exc_vector,
        .soft = env->exc_is_soft,
        .has_error = env->exc_has_error,
        .error = env->exc_error_code,
        .ret_rip = env->exc_is_soft ? env->exc_next_rip : env->rip,
        .ext = env->exc_is_soft ? 0 : 1,
        .fault = !env->exc_is_soft && excp_is_fault(env->exc_vector),
    };

    /* A fault while delivering a software interrupt is not a #DF. */
    env->exc_prev = ev.soft ? -1 : ev.vector;
    /*
     * The instruction a MOV SS shadowed raised instead of completing:
     * its held #DB trap is dropped, not delivered inside the handler.
     */
    env->dbg_pending = 0;
    if (ev.vector == EXCP_DF && !(env->hflags & HF_PE)) {
        /* Real mode has no error code on the stack. */
        ev.has_error = false;
    }
    if (!(env->hflags & HF_PE)) {
        ev.has_error = false;
    }
    excp_deliver(env, &ev);
}

void x86_deliver_interrupt(X86CPUState *env, int vector)
{
    Event ev = {
        .vector = vector & 0xff,
        .ret_rip = env->rip,
        .ext = 1,
    };

    env->exc_prev = -1;
    if (vector == EXCP_NMI) {
        env->nmi_blocked = true;
    }
    excp_deliver(env, &ev);
}

/* ---- fast system calls (SDM vol 2B SYSCALL/SYSRET/SYSENTER/SYSEXIT) -- */

/* The fixed flat segments the fast system calls load. */
static void excp_load_flat(X86CPUState *env, int seg, uint16_t sel,
                           unsigned dpl, bool code64)
{
    SegmentCache sc = {
        .selector = sel,
        .base = 0,
        .limit = 0xffffffff,
        .flags = DESC_G_MASK | DESC_P_MASK | DESC_S_MASK | DESC_A_MASK
               | (dpl << DESC_DPL_SHIFT)
               | (seg == R_CS ? DESC_CS_MASK | DESC_R_MASK : DESC_W_MASK)
               | (code64 ? DESC_L_MASK : DESC_B_MASK),
    };

    x86_seg_set(env, seg, &sc);
}

void x86_helper_syscall(X86CPUState *env, uint64_t next_rip)
{
    uint16_t sel = (env->star >> 32) & 0xfffc;

    if (!(env->efer & EFER_SCE)) {
        x86_raise_exception(env, EXCP_UD);
    }
    if (env->hflags & HF_LMA) {
        bool from64 = env->hflags & HF_CS64;

        env->regs[R_ECX] = next_rip;
        env->regs[R_R11] = x86_get_eflags(env) & ~RF_MASK;
        x86_set_eflags(env, 0, (uint32_t)env->fmask | RF_MASK | VM_MASK);
        excp_load_flat(env, R_CS, sel, 0, true);
        excp_load_flat(env, R_SS, sel + 8, 0, false);
        env->rip = from64 ? env->lstar : env->cstar;
        return;
    }
    /* Legacy mode (AMD): EIP from STAR[31:0]. */
    env->regs[R_ECX] = (uint32_t)next_rip;
    x86_set_eflags(env, 0, IF_MASK | RF_MASK | VM_MASK);
    excp_load_flat(env, R_CS, sel, 0, false);
    excp_load_flat(env, R_SS, sel + 8, 0, false);
    env->rip = (uint32_t)env->star;
}

static bool excp_canonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

void x86_helper_sysret(X86CPUState *env, int osize)
{
    uint16_t sel = (env->star >> 48) & 0xfffc;

    if (!(env->efer & EFER_SCE)) {
        x86_raise_exception(env, EXCP_UD);
    }
    if (!(env->hflags & HF_PE) || x86_cpl(env) != 0) {
        x86_raise_exception_err(env, EXCP_GP, 0);
    }
    if (env->hflags & HF_LMA) {
        uint64_t rip = osize == 8 ? env->regs[R_ECX]
                                  : (uint32_t)env->regs[R_ECX];

        if (!excp_canonical(rip)) {
            x86_raise_exception_err(env, EXCP_GP, 0);
        }
        x86_set_eflags(env, (uint32_t)env->regs[R_R11] | 2,
                       ~(uint32_t)(RF_MASK | VM_MASK));
        excp_load_flat(env, R_CS, (osize == 8 ? sel + 16 : sel) | 3, 3,
                       osize == 8);
        excp_load_flat(env, R_SS, (sel + 8) | 3, 3, false);
        env->rip = rip;
        x86_debug_sysret(env);
        return;
    }
    x86_set_eflags(env, IF_MASK, IF_MASK);
    excp_load_flat(env, R_CS, sel | 3, 3, false);
    excp_load_flat(env, R_SS, (sel + 8) | 3, 3, false);
    env->rip = (uint32_t)env->regs[R_ECX];
}

void x86_helper_sysenter(X86CPUState *env)
{
    uint16_t sel = env->sysenter_cs & 0xfffc;
    bool lma = env->hflags & HF_LMA;

    if (!(env->hflags & HF_PE) || sel == 0) {
        x86_raise_exception_err(env, EXCP_GP, 0);
    }
    x86_set_eflags(env, 0, VM_MASK | IF_MASK | RF_MASK);
    excp_load_flat(env, R_CS, sel, 0, lma);
    excp_load_flat(env, R_SS, sel + 8, 0, false);
    env->regs[R_ESP] = lma ? env->sysenter_esp : (uint32_t)env->sysenter_esp;
    env->rip = lma ? env->sysenter_eip : (uint32_t)env->sysenter_eip;
}

void x86_helper_sysexit(X86CPUState *env, int osize)
{
    uint16_t sel = env->sysenter_cs & 0xfffc;

    if (!(env->hflags & HF_PE) || x86_cpl(env) != 0 || sel == 0) {
        x86_raise_exception_err(env, EXCP_GP, 0);
    }
    if (osize == 8) {
        if (!excp_canonical(env->regs[R_EDX])
            || !excp_canonical(env->regs[R_ECX])) {
            x86_raise_exception_err(env, EXCP_GP, 0);
        }
        excp_load_flat(env, R_CS, (sel + 32) | 3, 3, true);
        excp_load_flat(env, R_SS, (sel + 40) | 3, 3, false);
        env->regs[R_ESP] = env->regs[R_ECX];
        env->rip = env->regs[R_EDX];
        return;
    }
    excp_load_flat(env, R_CS, (sel + 16) | 3, 3, false);
    excp_load_flat(env, R_SS, (sel + 24) | 3, 3, false);
    env->regs[R_ESP] = (uint32_t)env->regs[R_ECX];
    env->rip = (uint32_t)env->regs[R_EDX];
}

/* ---- I/O permission (SDM vol 1 19.5) ---------------------------------- */

static void excp_check_io_permission(X86CPUState *env, uint16_t port,
                                     unsigned size)
{
    const SegmentCache *tr = &env->segs[R_TR];
    unsigned iopl = (env->eflags & IOPL_MASK) >> IOPL_SHIFT;
    unsigned type = desc_type(tr->flags) & 0xf;
    uint32_t base, bits;

    if (!(env->hflags & HF_PE)
        || (!(env->hflags & HF_VM) && x86_cpl(env) <= iopl)) {
        return;
    }
    /* Only a 32/64-bit TSS has a bitmap; its offset lives at byte 102. */
    if (!(tr->flags & DESC_P_MASK)
        || (type != DESC_TYPE_TSS_AVAIL && type != DESC_TYPE_TSS_BUSY)
        || tr->limit < 103) {
        x86_raise_exception_err(env, EXCP_GP, 0);
    }
    base = (uint32_t)x86_ld_linear(env, tr->base + 102, 2, true);
    if ((uint64_t)base + port / 8 + 1 > tr->limit) {
        x86_raise_exception_err(env, EXCP_GP, 0);
    }
    bits = (uint32_t)x86_ld_linear(env, tr->base + base + port / 8, 2, true);
    if ((bits >> (port & 7)) & ((1u << size) - 1)) {
        x86_raise_exception_err(env, EXCP_GP, 0);
    }
}

/* Permitted accesses count for the I/O breakpoints (SDM vol 3B 17.2.4). */
void x86_check_io(X86CPUState *env, uint16_t port, unsigned size)
{
    excp_check_io_permission(env, port, size);
    x86_debug_io(env, port, size);
}
