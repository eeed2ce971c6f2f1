/*
 * The interpreter's core: operand access shared by every handler, the
 * stack, condition codes, and the dispatch of one decoded instruction.
 */
#include "exec.h"

static X86Handler *exec_handlers[X86_OP_NB];

void x86_exec_register(unsigned op, X86Handler *h)
{
    g_assert(op < X86_OP_NB);
    exec_handlers[op] = h;
}

static void exec_init_once(void)
{
    static gsize done;
    if (g_once_init_enter(&done)) {
        x86_exec_alu_init();
        x86_exec_ctl_init();
        x86_exec_str_init();
        x86_exec_sys_init();
        x86_exec_simd_init();
        g_once_init_leave(&done, 1);
    }
}

unsigned x86_opnd_size(const X86Insn *in, unsigned o)
{
    switch (o) {
    case X86_OPND_Eb: case X86_OPND_Gb: case X86_OPND_Ib:
    case X86_OPND_AL: case X86_OPND_Zb: case X86_OPND_Xb: case X86_OPND_Yb:
    case X86_OPND_Ob: case X86_OPND_CL: case X86_OPND_I1:
        return 1;
    case X86_OPND_Ew: case X86_OPND_Gw: case X86_OPND_Iw: case X86_OPND_Sw:
    case X86_OPND_Mw: case X86_OPND_DX:
        return 2;
    case X86_OPND_Ed: case X86_OPND_Gd: case X86_OPND_Md:
        return 4;
    case X86_OPND_Eq: case X86_OPND_Mq:
        return 8;
    case X86_OPND_Ey: case X86_OPND_Gy: case X86_OPND_Ry:
        return in->osize == 8 ? 8 : 4;
    case X86_OPND_Gz: case X86_OPND_Iz:
        return in->osize == 2 ? 2 : 4;
    default:
        return in->osize;
    }
}

uint64_t x86_ea(X86CPUState *env, const X86Insn *in)
{
    uint64_t ea = (int64_t)in->disp;
    if (in->rip_rel) {
        ea += env->rip + in->len;
    }
    if (in->base != X86_NOREG) {
        ea += env->regs[in->base];
    }
    if (in->index != X86_NOREG) {
        ea += env->regs[in->index] << in->scale;
    }
    return ea & x86_size_mask(in->asize);
}

static bool exec_is_rm(unsigned o)
{
    switch (o) {
    case X86_OPND_Eb: case X86_OPND_Ew: case X86_OPND_Ed: case X86_OPND_Ev:
    case X86_OPND_Ey: case X86_OPND_Eq: case X86_OPND_Rv: case X86_OPND_Ry:
    case X86_OPND_Mw: case X86_OPND_Md: case X86_OPND_Mv: case X86_OPND_Mq:
    case X86_OPND_M: case X86_OPND_Mp: case X86_OPND_Ma: case X86_OPND_Mdq:
        return true;
    default:
        return false;
    }
}

static void exec_loc_reg(X86Loc *l, const X86Insn *in, unsigned reg)
{
    l->mem = false;
    l->reg = reg;
    /* Without REX, byte registers 4-7 are AH CH DH BH (SDM 3.4.1.1). */
    if (l->size == 1 && !(in->prefix & X86_PFX_REX) && reg >= 4 &&
        reg < 8) {
        l->high8 = true;
        l->reg = reg - 4;
    }
}

X86Loc x86_loc(X86CPUState *env, const X86Insn *in, int n)
{
    unsigned o = in->opnd[n];
    X86Loc l = { .size = x86_opnd_size(in, o), .seg = in->seg };

    if (exec_is_rm(o)) {
        if (in->mod == 3) {
            exec_loc_reg(&l, in, in->rm);
        } else {
            l.mem = true;
            l.ea = x86_ea(env, in);
        }
    } else if (o == X86_OPND_Ob || o == X86_OPND_Ov) {
        l.mem = true;
        l.ea = in->imm & x86_size_mask(in->asize);
    } else if (o == X86_OPND_Zb || o == X86_OPND_Zv) {
        exec_loc_reg(&l, in, in->reg);
    } else if (o == X86_OPND_AL || o == X86_OPND_rAX) {
        exec_loc_reg(&l, in, R_EAX);
    } else if (o == X86_OPND_CL) {
        exec_loc_reg(&l, in, R_ECX);
    } else if (o == X86_OPND_DX) {
        exec_loc_reg(&l, in, R_EDX);
    } else {
        exec_loc_reg(&l, in, in->reg);      /* G kinds */
    }
    return l;
}

uint64_t x86_reg_read(X86CPUState *env, unsigned reg, unsigned size)
{
    return env->regs[reg] & x86_size_mask(size);
}

void x86_reg_write(X86CPUState *env, unsigned reg, unsigned size,
                   uint64_t v)
{
    uint64_t m = x86_size_mask(size);
    if (size == 4) {
        env->regs[reg] = (uint32_t)v;       /* 32-bit writes zero-extend */
    } else {
        env->regs[reg] = (env->regs[reg] & ~m) | (v & m);
    }
}

uint64_t x86_mem_read(X86CPUState *env, int seg, uint64_t ea, unsigned size)
{
    switch (size) {
    case 1: return x86_ld8(env, seg, ea);
    case 2: return x86_ld16(env, seg, ea);
    case 4: return x86_ld32(env, seg, ea);
    default: return x86_ld64(env, seg, ea);
    }
}

void x86_mem_write(X86CPUState *env, int seg, uint64_t ea, unsigned size,
                   uint64_t v)
{
    switch (size) {
    case 1: x86_st8(env, seg, ea, v); break;
    case 2: x86_st16(env, seg, ea, v); break;
    case 4: x86_st32(env, seg, ea, v); break;
    default: x86_st64(env, seg, ea, v); break;
    }
}

uint64_t x86_loc_read(X86CPUState *env, const X86Loc *l)
{
    if (l->mem) {
        return x86_mem_read(env, l->seg, l->ea, l->size);
    }
    if (l->high8) {
        return (env->regs[l->reg] >> 8) & 0xff;
    }
    return x86_reg_read(env, l->reg, l->size);
}

void x86_loc_write(X86CPUState *env, const X86Loc *l, uint64_t v)
{
    if (l->mem) {
        x86_mem_write(env, l->seg, l->ea, l->size, v);
    } else if (l->high8) {
        env->regs[l->reg] = (env->regs[l->reg] & ~UINT64_C(0xff00)) |
                            ((v & 0xff) << 8);
    } else {
        x86_reg_write(env, l->reg, l->size, v);
    }
}

static bool exec_is_imm(unsigned o)
{
    return o == X86_OPND_Ib || o == X86_OPND_Ibs || o == X86_OPND_Iw ||
           o == X86_OPND_Iz || o == X86_OPND_Iv;
}

/* Which immediate (0 or 1) operand @n is: decode stored them in order. */
static int exec_imm_index(const X86Insn *in, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        k += exec_is_imm(in->opnd[i]);
    }
    return k;
}

uint64_t x86_opnd_read(X86CPUState *env, const X86Insn *in, int n)
{
    X86Loc l;
    switch (in->opnd[n]) {
    case X86_OPND_Ib: case X86_OPND_Ibs: case X86_OPND_Iw:
    case X86_OPND_Iz: case X86_OPND_Iv:
        return exec_imm_index(in, n) ? in->imm2 : in->imm;
    case X86_OPND_I1:
        return 1;
    default:
        l = x86_loc(env, in, n);
        return x86_loc_read(env, &l);
    }
}

unsigned x86_stack_size(const X86CPUState *env)
{
    if (env->hflags & HF_CS64) {
        return 8;
    }
    return (env->hflags & HF_SS32) ? 4 : 2;
}

void x86_push(X86CPUState *env, unsigned size, uint64_t v)
{
    unsigned ss = x86_stack_size(env);
    uint64_t sp = (env->regs[R_ESP] - size) & x86_size_mask(ss);
    x86_mem_write(env, R_SS, sp, size, v);
    x86_reg_write(env, R_ESP, ss, sp);
}

uint64_t x86_pop(X86CPUState *env, unsigned size)
{
    unsigned ss = x86_stack_size(env);
    uint64_t sp = env->regs[R_ESP] & x86_size_mask(ss);
    uint64_t v = x86_mem_read(env, R_SS, sp, size);
    x86_reg_write(env, R_ESP, ss, sp + size);
    return v;
}

uint64_t x86_next_rip(const X86CPUState *env, const X86Insn *in)
{
    uint64_t next = env->rip + in->len;
    if (env->hflags & HF_CS64) {
        return next;
    }
    return (env->hflags & HF_CS32) ? (uint32_t)next : next & 0xffff;
}

void x86_jump(X86CPUState *env, const X86Insn *in, uint64_t target)
{
    env->rip = target & x86_size_mask(in->osize);
}

bool x86_cond(X86CPUState *env, unsigned cc)
{
    uint32_t f = x86_cc_compute(env);
    bool r;
    switch (cc >> 1) {
    case 0: r = f & OF_MASK; break;
    case 1: r = f & CF_MASK; break;
    case 2: r = f & ZF_MASK; break;
    case 3: r = f & (CF_MASK | ZF_MASK); break;
    case 4: r = f & SF_MASK; break;
    case 5: r = f & PF_MASK; break;
    case 6: r = !(f & SF_MASK) != !(f & OF_MASK); break;
    default:
        r = (f & ZF_MASK) || (!(f & SF_MASK) != !(f & OF_MASK));
        break;
    }
    return r ^ (cc & 1);
}

void x86_exec_insn(X86CPUState *env, const X86Insn *in)
{
    X86Handler *h;
    exec_init_once();
    h = exec_handlers[in->op];
    if (!h) {
        x86_raise_exception(env, EXCP_UD);
    }
    if (in->flags & (X86_F_END | X86_F_REP)) {
        h(env, in);                 /* the handler sets rip */
    } else {
        uint64_t next = x86_next_rip(env, in);
        h(env, in);
        env->rip = next;
    }
}
