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

uint64_t x86_mem_read(X86CPUState *env, int seg, uint64_t ea, unsigned size)
{
    void *host;

    if (__builtin_expect(env->lock_active, 0)) {
        return x86_lock_read(env, seg, ea, size);
    }
    host = x86_fast_host(env, seg, ea, size, false);
    uint8_t b;
    uint16_t w;
    uint32_t l;
    uint64_t q;

    if (host) {
        switch (size) {
        case 1: memcpy(&b, host, 1); return b;
        case 2: memcpy(&w, host, 2); return w;
        case 4: memcpy(&l, host, 4); return l;
        default: memcpy(&q, host, 8); return q;
        }
    }
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
    void *host;
    uint8_t b = v;
    uint16_t w = v;
    uint32_t l = v;

    if (__builtin_expect(env->lock_active, 0)) {
        x86_lock_write(env, seg, ea, size, v);
        return;
    }
    host = x86_fast_host(env, seg, ea, size, true);
    if (host) {
        switch (size) {
        case 1: memcpy(host, &b, 1); return;
        case 2: memcpy(host, &w, 2); return;
        case 4: memcpy(host, &l, 4); return;
        default: memcpy(host, &v, 8); return;
        }
    }
    switch (size) {
    case 1: x86_st8(env, seg, ea, v); break;
    case 2: x86_st16(env, seg, ea, v); break;
    case 4: x86_st32(env, seg, ea, v); break;
    default: x86_st64(env, seg, ea, v); break;
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

bool x86_cond_flags(X86CPUState *env, unsigned cc)
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

bool x86_cond(X86CPUState *env, unsigned cc)
{
    return x86_cond_inline(env, cc);
}

/* Operations decoded but not implemented (yet): #UD, as undefined ones. */
static void exec_unimplemented(X86CPUState *env, const X86Insn *in)
{
    x86_raise_exception(env, EXCP_UD);
}

static X86Handler *exec_generic_handler(const X86Insn *in)
{
    exec_init_once();
    return exec_handlers[in->op] ? exec_handlers[in->op]
                                 : exec_unimplemented;
}

void x86_exec_generic(X86CPUState *env, const X86Insn *in)
{
    exec_generic_handler(in)(env, in);
}

X86Handler *x86_exec_block_handler(const X86Insn *in, bool flags_dead)
{
    X86Handler *h;

    if (x86_insn_locked(in)) {
        return x86_exec_locked;
    }
    h = x86_exec_fast_handler(in, flags_dead);

    return h ? h : exec_generic_handler(in);
}

X86Handler *x86_exec_handler(const X86Insn *in)
{
    return x86_exec_block_handler(in, false);
}

void x86_exec_insn(X86CPUState *env, const X86Insn *in)
{
    X86Handler *h = x86_exec_handler(in);

    if (in->flags & (X86_F_END | X86_F_REP)) {
        h(env, in);                 /* the handler sets rip */
    } else {
        uint64_t next = x86_next_rip(env, in);
        h(env, in);
        env->rip = next;
    }
}
