/*
 * Lazy condition codes: the arithmetic flags computed from what the last
 * flag-setting instruction recorded (see CCOp in cpu.h).  Flag formulas
 * from the SDM vol 2 instruction pages.
 */
#include "exec.h"

static unsigned cc_parity(uint64_t v)
{
    return __builtin_parity((unsigned)(v & 0xff)) ? 0 : PF_MASK;
}

/* ZF, SF and PF of a result of @bits bits. */
static uint32_t cc_zsp(uint64_t res, unsigned bits)
{
    uint64_t m = x86_size_mask(bits / 8);
    uint32_t f = cc_parity(res);
    if (!(res & m)) {
        f |= ZF_MASK;
    }
    if ((res >> (bits - 1)) & 1) {
        f |= SF_MASK;
    }
    return f;
}

static uint32_t cc_sign_to(uint64_t v, unsigned bits, uint32_t flag)
{
    return ((v >> (bits - 1)) & 1) ? flag : 0;
}

static uint32_t cc_add(X86CPUState *env, unsigned bits, uint64_t cin)
{
    uint64_t m = x86_size_mask(bits / 8);
    uint64_t res = env->cc_dst & m, b = env->cc_src & m;
    uint64_t a = (res - b - cin) & m;
    uint32_t f = cc_zsp(res, bits);
    if (cin ? res <= a : res < a) {
        f |= CF_MASK;
    }
    f |= (res ^ a ^ b) & AF_MASK;
    f |= cc_sign_to((a ^ res) & (b ^ res), bits, OF_MASK);
    return f;
}

static uint32_t cc_sub(X86CPUState *env, unsigned bits, uint64_t bin)
{
    uint64_t m = x86_size_mask(bits / 8);
    uint64_t res = env->cc_dst & m, b = env->cc_src & m;
    uint64_t a = (res + b + bin) & m;
    uint32_t f = cc_zsp(res, bits);
    if (bin ? a <= b : a < b) {
        f |= CF_MASK;
    }
    f |= (res ^ a ^ b) & AF_MASK;
    f |= cc_sign_to((a ^ b) & (a ^ res), bits, OF_MASK);
    return f;
}

static uint32_t cc_incdec(X86CPUState *env, unsigned bits, bool inc)
{
    uint64_t m = x86_size_mask(bits / 8);
    uint64_t res = env->cc_dst & m;
    uint64_t sign = UINT64_C(1) << (bits - 1);
    uint32_t f = cc_zsp(res, bits) | (env->cc_src ? CF_MASK : 0);
    if (inc) {
        f |= (res & 0xf) == 0 ? AF_MASK : 0;
        f |= res == sign ? OF_MASK : 0;
    } else {
        f |= (res & 0xf) == 0xf ? AF_MASK : 0;
        f |= res == sign - 1 ? OF_MASK : 0;
    }
    return f;
}

static uint32_t cc_shift(X86CPUState *env, unsigned bits, bool left)
{
    uint64_t res = env->cc_dst, src = env->cc_src;
    uint32_t f = cc_zsp(res, bits);
    if (left) {
        f |= cc_sign_to(src, bits, CF_MASK);
        f |= cc_sign_to(src ^ (src << 1), bits, OF_MASK);
    } else {
        f |= (src & 1) ? CF_MASK : 0;
        f |= cc_sign_to(src ^ res, bits, OF_MASK);
    }
    return f;
}

uint32_t x86_cc_compute(X86CPUState *env)
{
    unsigned op = env->cc_op;
    unsigned bits = 8u << ((op - 1) & 3);

    switch ((op - 1) >> 2) {
    case 0: return cc_add(env, bits, 0);
    case 1: return cc_add(env, bits, env->cc_src2 & 1);
    case 2: return cc_sub(env, bits, 0);
    case 3: return cc_sub(env, bits, env->cc_src2 & 1);
    case 4: return cc_zsp(env->cc_dst, bits);
    case 5: return cc_incdec(env, bits, true);
    case 6: return cc_incdec(env, bits, false);
    case 7: return cc_shift(env, bits, true);
    case 8: return cc_shift(env, bits, false);
    case 9:
        return cc_zsp(env->cc_dst, bits) |
               (env->cc_src ? CF_MASK | OF_MASK : 0);
    default:
        return env->cc_src & CC_MASK;   /* CC_OP_EFLAGS */
    }
}

unsigned x86_get_cf(X86CPUState *env)
{
    return x86_cf_inline(env);
}

uint32_t x86_get_eflags(X86CPUState *env)
{
    return (env->eflags & ~CC_MASK) | x86_cc_compute(env) | 2;
}

void x86_set_eflags(X86CPUState *env, uint32_t val, uint32_t mask)
{
    uint32_t old = env->eflags;
    if (mask & CC_MASK) {
        uint32_t cc = x86_cc_compute(env);
        env->cc_src = (cc & ~mask) | (val & mask & CC_MASK);
        env->cc_op = CC_OP_EFLAGS;
    }
    mask &= ~CC_MASK;
    env->eflags = ((env->eflags & ~mask) | (val & mask) | 2) & ~CC_MASK;
    if ((old ^ env->eflags) & (VM_MASK | AC_MASK | TF_MASK)) {
        x86_update_hflags(env);
    }
}
