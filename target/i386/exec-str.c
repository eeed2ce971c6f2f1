/*
 * String instructions with their REP prefixes (SDM vol 2 "REP/REPE/
 * REPNE").  Counts and pointers use the address size; a long REP runs in
 * slices so interrupts and stop requests are not held off: after a slice
 * rip stays on the instruction and the loop resumes it later.
 */
#include "exec.h"

#define STR_SLICE 4096          /* iterations per visit */

typedef struct StrState {
    unsigned sz;                /* element size */
    unsigned as;                /* address size */
    int64_t step;               /* +sz or -sz from EFLAGS.DF */
} StrState;

static StrState str_state(X86CPUState *env, const X86Insn *in)
{
    StrState s;
    s.sz = (in->flags & X86_F_BYTE) ? 1 : in->osize;
    s.as = in->asize;
    s.step = (env->eflags & DF_MASK) ? -(int64_t)s.sz : s.sz;
    return s;
}

static void str_advance(X86CPUState *env, const StrState *s, int reg)
{
    x86_reg_write(env, reg, s->as, env->regs[reg] + s->step);
}

static uint64_t str_ptr(X86CPUState *env, const StrState *s, int reg)
{
    return x86_reg_read(env, reg, s->as);
}

/* One iteration; returns false when a REPE/REPNE condition ends it. */
static bool str_one(X86CPUState *env, const X86Insn *in, const StrState *s)
{
    uint64_t a, b;
    switch (in->op) {
    case X86_OP_MOVS:
        a = x86_mem_read(env, in->seg, str_ptr(env, s, R_ESI), s->sz);
        x86_mem_write(env, R_ES, str_ptr(env, s, R_EDI), s->sz, a);
        str_advance(env, s, R_ESI);
        str_advance(env, s, R_EDI);
        return true;
    case X86_OP_STOS:
        x86_mem_write(env, R_ES, str_ptr(env, s, R_EDI), s->sz,
                      env->regs[R_EAX]);
        str_advance(env, s, R_EDI);
        return true;
    case X86_OP_LODS:
        a = x86_mem_read(env, in->seg, str_ptr(env, s, R_ESI), s->sz);
        x86_reg_write(env, R_EAX, s->sz, a);
        str_advance(env, s, R_ESI);
        return true;
    case X86_OP_CMPS:
        a = x86_mem_read(env, in->seg, str_ptr(env, s, R_ESI), s->sz);
        b = x86_mem_read(env, R_ES, str_ptr(env, s, R_EDI), s->sz);
        x86_set_cc(env, CC_OP_SUBB, s->sz, a - b, b);
        str_advance(env, s, R_ESI);
        str_advance(env, s, R_EDI);
        return false;
    case X86_OP_SCAS:
        a = x86_reg_read(env, R_EAX, s->sz);
        b = x86_mem_read(env, R_ES, str_ptr(env, s, R_EDI), s->sz);
        x86_set_cc(env, CC_OP_SUBB, s->sz, a - b, b);
        str_advance(env, s, R_EDI);
        return false;
    case X86_OP_INS:
        x86_check_io(env, env->regs[R_EDX], s->sz);
        /* Probe first: the port read must not happen if the store faults. */
        x86_probe_write(env, R_ES, str_ptr(env, s, R_EDI), s->sz);
        a = env->io->port_in(env->io->opaque, env->regs[R_EDX], s->sz);
        x86_mem_write(env, R_ES, str_ptr(env, s, R_EDI), s->sz, a);
        str_advance(env, s, R_EDI);
        return true;
    default:    /* OUTS */
        x86_check_io(env, env->regs[R_EDX], s->sz);
        a = x86_mem_read(env, in->seg, str_ptr(env, s, R_ESI), s->sz);
        env->io->port_out(env->io->opaque, env->regs[R_EDX], a, s->sz);
        str_advance(env, s, R_ESI);
        return true;
    }
}

/*
 * REP MOVS/STOS going up, a page at a time in host memory: as many
 * elements as fit before either pointer's page ends, when the TLB maps
 * both pages for the access (x86_fast_host(): RAM, no code page, no
 * segment check needed).  Overlapping MOVS ranges are left to the
 * element loop, whose result (a repeated pattern) memcpy would not
 * give.  Returns the elements done, 0 to take the element loop.
 */
static uint64_t str_bulk(X86CPUState *env, const X86Insn *in,
                         const StrState *s, uint64_t count)
{
    uint64_t di = str_ptr(env, s, R_EDI), si = 0, n, bytes;
    uint64_t room = X86_PAGE_SIZE - (di & ~X86_PAGE_MASK);
    uint8_t *d, *src;

    if (in->op == X86_OP_MOVS) {
        si = str_ptr(env, s, R_ESI);
        room = MIN(room, X86_PAGE_SIZE - (si & ~X86_PAGE_MASK));
    }
    n = MIN(count, room / s->sz);
    if (n == 0) {
        return 0;               /* an element straddles a page */
    }
    bytes = n * s->sz;
    d = x86_fast_host(env, R_ES, di, bytes, true);
    if (!d) {
        return 0;
    }
    if (in->op == X86_OP_MOVS) {
        src = x86_fast_host(env, in->seg, si, bytes, false);
        if (!src || (src < d + bytes && d < src + bytes)) {
            return 0;
        }
        memcpy(d, src, bytes);
        x86_reg_write(env, R_ESI, s->as, env->regs[R_ESI] + bytes);
    } else if (s->sz == 1) {
        memset(d, (uint8_t)env->regs[R_EAX], bytes);
    } else {
        for (uint64_t i = 0; i < n; i++) {
            memcpy(d + i * s->sz, &env->regs[R_EAX], s->sz);  /* LE host */
        }
    }
    x86_reg_write(env, R_EDI, s->as, env->regs[R_EDI] + bytes);
    return n;
}

static void str_exec(X86CPUState *env, const X86Insn *in)
{
    StrState s = str_state(env, in);
    uint64_t next = x86_next_rip(env, in);
    bool rep = in->prefix & (X86_PFX_REPZ | X86_PFX_REPNZ);
    bool cmp = in->op == X86_OP_CMPS || in->op == X86_OP_SCAS;
    unsigned n = 0;

    if (!rep) {
        str_one(env, in, &s);
        env->rip = next;
        return;
    }
    while (x86_reg_read(env, R_ECX, s.as) != 0) {
        uint64_t done;

        if (n++ >= STR_SLICE) {
            return;                 /* resume later at the same rip */
        }
        if ((in->op == X86_OP_MOVS || in->op == X86_OP_STOS) &&
            s.step > 0 &&
            (done = str_bulk(env, in, &s,
                             x86_reg_read(env, R_ECX, s.as))) != 0) {
            x86_reg_write(env, R_ECX, s.as, env->regs[R_ECX] - done);
            n += done / 8;          /* a page costs about 64 elements */
            continue;
        }
        str_one(env, in, &s);
        x86_reg_write(env, R_ECX, s.as, env->regs[R_ECX] - 1);
        if (cmp) {
            /* F3 repeats while equal, F2 while not equal. */
            bool zf = x86_cond(env, 4);
            if (zf != !!(in->prefix & X86_PFX_REPZ)) {
                break;
            }
        }
    }
    env->rip = next;
}

void x86_exec_str_init(void)
{
    x86_exec_register(X86_OP_MOVS, str_exec);
    x86_exec_register(X86_OP_CMPS, str_exec);
    x86_exec_register(X86_OP_STOS, str_exec);
    x86_exec_register(X86_OP_LODS, str_exec);
    x86_exec_register(X86_OP_SCAS, str_exec);
    x86_exec_register(X86_OP_INS, str_exec);
    x86_exec_register(X86_OP_OUTS, str_exec);
}
