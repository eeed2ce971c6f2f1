/*
 * The interpreter's shortcuts against its own reference paths:
 *  - x86_cond()/x86_get_cf() read conditions and CF straight from the
 *    lazy operands; they must agree with the flags x86_cc_compute()
 *    gives (which test-x86-diff checks against the host CPU) for every
 *    CC_OP, size, operands and condition;
 *  - the block builder's flag liveness (x86_exec_flags_dead()) and the
 *    "dead flags" handler variants: a random register-only sequence run
 *    as a block must end in the same registers and flags as the same
 *    instructions run one by one through x86_exec_insn().
 */
#include "qlite/osdep.h"
#include "../exec.h"

#define CC_CASES    200000
#define SEQ_CASES   20000
#define SEQ_MAX     24

static uint64_t rnd_value(GRand *r)
{
    uint64_t v = ((uint64_t)g_rand_int(r) << 32) | g_rand_int(r);

    switch (g_rand_int_range(r, 0, 6)) {
    case 0: return 0;
    case 1: return v & 0xff;            /* small */
    case 2: return -(v & 0xf);          /* near the top */
    case 3: return (v & 1) << (g_rand_int_range(r, 0, 64));
    default: return v;
    }
}

static void test_cond_matches_flags(void)
{
    GRand *r = g_rand_new_with_seed(0x5eed0cc);
    X86CPUState *env = g_new0(X86CPUState, 1);
    unsigned bad = 0;

    for (unsigned i = 0; i < CC_CASES; i++) {
        uint32_t f;

        env->cc_op = g_rand_int_range(r, CC_OP_EFLAGS, CC_OP_NB);
        env->cc_dst = rnd_value(r);
        env->cc_src = rnd_value(r);
        env->cc_src2 = g_rand_int_range(r, 0, 2);
        if (env->cc_op == CC_OP_EFLAGS) {
            env->cc_src &= CC_MASK;
        }
        if (g_rand_boolean(r)) {
            /* the relation the handlers keep: src among dst's operands */
            env->cc_dst = env->cc_src + g_rand_int_range(r, -2, 3);
        }
        f = x86_cc_compute(env);
        if (x86_get_cf(env) != (f & CF_MASK)) {
            g_test_message("CF: cc_op %u dst %" PRIx64 " src %" PRIx64,
                           env->cc_op, env->cc_dst, env->cc_src);
            bad++;
        }
        for (unsigned cc = 0; cc < 16; cc++) {
            if (x86_cond(env, cc) != x86_cond_flags(env, cc)) {
                g_test_message("cond %u: cc_op %u dst %" PRIx64
                               " src %" PRIx64, cc, env->cc_op,
                               env->cc_dst, env->cc_src);
                bad++;
            }
        }
    }
    g_assert_cmpuint(bad, ==, 0);
    g_free(env);
    g_rand_free(r);
}

/* ---- register-only sequences ------------------------------------------ */

typedef struct Seq {
    uint8_t bytes[SEQ_MAX * 8];
    unsigned len;
    X86Insn insn[SEQ_MAX];
    unsigned n;
} Seq;

static void seq_byte(Seq *s, unsigned b)
{
    s->bytes[s->len++] = b;
}

/* REX with W at random and the high bits of reg and rm. */
static void seq_rex(GRand *r, Seq *s, unsigned reg, unsigned rm)
{
    unsigned rex = 0x40 | (g_rand_boolean(r) ? 8 : 0) |
                   ((reg & 8) ? 4 : 0) | ((rm & 8) ? 1 : 0);

    if (rex != 0x40 || g_rand_boolean(r)) {
        seq_byte(s, rex);
    }
}

static void seq_modrm_reg(GRand *r, Seq *s, unsigned opc_len,
                          const uint8_t *opc, unsigned reg)
{
    unsigned rm = g_rand_int_range(r, 0, 16);

    if (g_rand_int_range(r, 0, 8) == 0) {
        seq_byte(s, 0x66);              /* 16-bit operands now and then */
    }
    seq_rex(r, s, reg, rm);
    for (unsigned i = 0; i < opc_len; i++) {
        seq_byte(s, opc[i]);
    }
    seq_byte(s, 0xc0 | (reg & 7) << 3 | (rm & 7));
}

/* One random register-only instruction (flag writers, readers, movers). */
static void seq_one(GRand *r, Seq *s)
{
    unsigned reg = g_rand_int_range(r, 0, 16);
    uint8_t opc[2];

    switch (g_rand_int_range(r, 0, 12)) {
    case 0:     /* ADD OR ADC SBB AND SUB XOR CMP Ev,Gv */
        opc[0] = (g_rand_int_range(r, 0, 8) << 3) | 1;
        seq_modrm_reg(r, s, 1, opc, reg);
        break;
    case 1:     /* the same with imm8 */
        opc[0] = 0x83;
        seq_modrm_reg(r, s, 1, opc, g_rand_int_range(r, 0, 8));
        seq_byte(s, g_rand_int_range(r, 0, 256));
        break;
    case 2:     /* TEST */
        opc[0] = 0x85;
        seq_modrm_reg(r, s, 1, opc, reg);
        break;
    case 3:     /* NOT NEG */
        opc[0] = 0xf7;
        seq_modrm_reg(r, s, 1, opc, g_rand_int_range(r, 2, 4));
        break;
    case 4:     /* INC DEC */
        opc[0] = 0xff;
        seq_modrm_reg(r, s, 1, opc, g_rand_int_range(r, 0, 2));
        break;
    case 5:     /* ROL ROR SHL SHR SAR by imm8 or by 1 */
        opc[0] = g_rand_boolean(r) ? 0xc1 : 0xd1;
        seq_modrm_reg(r, s, 1, opc,
                      (const unsigned[]){ 0, 1, 4, 5, 7 }
                      [g_rand_int_range(r, 0, 5)]);
        if (opc[0] == 0xc1) {
            seq_byte(s, g_rand_int_range(r, 0, 70));
        }
        break;
    case 6:     /* IMUL Gv,Ev */
        opc[0] = 0x0f;
        opc[1] = 0xaf;
        seq_modrm_reg(r, s, 2, opc, reg);
        break;
    case 7:     /* IMUL Gv,Ev,imm8 */
        opc[0] = 0x6b;
        seq_modrm_reg(r, s, 1, opc, reg);
        seq_byte(s, g_rand_int_range(r, 0, 256));
        break;
    case 8:     /* MOV Ev,Gv */
        opc[0] = 0x89;
        seq_modrm_reg(r, s, 1, opc, reg);
        break;
    case 9:     /* LEA Gv,[base+disp8] */
        seq_rex(r, s, reg, 0);
        seq_byte(s, 0x8d);
        seq_byte(s, 0x40 | (reg & 7) << 3 | (const unsigned[]){ 0, 1, 2, 3,
                 6, 7 }[g_rand_int_range(r, 0, 6)]);
        seq_byte(s, g_rand_int_range(r, 0, 256));
        break;
    case 10:    /* SETcc Eb */
        opc[0] = 0x0f;
        opc[1] = 0x90 + g_rand_int_range(r, 0, 16);
        seq_rex(r, s, 0, reg);
        seq_byte(s, opc[0]);
        seq_byte(s, opc[1]);
        seq_byte(s, 0xc0 | (reg & 7));
        break;
    default:    /* CMOVcc Gv,Ev */
        opc[0] = 0x0f;
        opc[1] = 0x40 + g_rand_int_range(r, 0, 16);
        seq_modrm_reg(r, s, 2, opc, reg);
        break;
    }
}

static void seq_state(GRand *r, X86CPUState *env)
{
    memset(env, 0, sizeof(*env));
    env->hflags = HF_CS64 | HF_LMA | HF_PE | HF_CS32 | HF_SS32;
    for (unsigned i = 0; i < 16; i++) {
        env->regs[i] = rnd_value(r);
    }
    env->cc_op = CC_OP_EFLAGS;
    env->cc_src = g_rand_int(r) & CC_MASK;
    env->rip = 0x1000;
}

static void test_dead_flags_blocks(void)
{
    GRand *r = g_rand_new_with_seed(0xdeadf1a6);
    X86CPUState *a = g_new0(X86CPUState, 1), *b = g_new0(X86CPUState, 1);
    unsigned dead_total = 0;

    for (unsigned c = 0; c < SEQ_CASES; c++) {
        Seq s = { .len = 0 };
        unsigned n = g_rand_int_range(r, 1, SEQ_MAX + 1);
        unsigned off = 0;

        for (unsigned i = 0; i < n; i++) {
            seq_one(r, &s);
        }
        while (off < s.len) {
            g_assert_cmpint(x86_decode(&s.insn[s.n], s.bytes + off,
                                       s.len - off, X86_MODE64), ==,
                            X86_DEC_OK);
            off += s.insn[s.n++].len;
        }
        seq_state(r, a);
        *b = *a;
        /* One by one, every flag computed. */
        for (unsigned i = 0; i < s.n; i++) {
            x86_exec_insn(a, &s.insn[i]);
        }
        /* As the block loop does: liveness, dead variants, pure ops. */
        for (unsigned i = 0; i < s.n; i++) {
            bool dead = x86_exec_flags_dead(&s.insn[i + 1], s.n - i - 1);
            X86Handler *h = x86_exec_block_handler(&s.insn[i], dead);

            dead_total += dead;
            h(b, &s.insn[i]);
            b->rip += s.insn[i].len;
        }
        for (unsigned i = 0; i < 16; i++) {
            if (a->regs[i] != b->regs[i]) {
                char buf[64];

                for (unsigned k = 0; k < s.n; k++) {
                    x86_insn_format(&s.insn[k], buf, sizeof(buf));
                    g_test_message("  %s", buf);
                }
                g_test_message("case %u: r%u %" PRIx64 " vs %" PRIx64,
                               c, i, a->regs[i], b->regs[i]);
                g_assert_not_reached();
            }
        }
        g_assert_cmphex(x86_get_eflags(a), ==, x86_get_eflags(b));
        g_assert_cmphex(a->rip, ==, b->rip);
    }
    /* The test means something only if dead variants ran. */
    g_assert_cmpuint(dead_total, >, SEQ_CASES);
    g_free(a);
    g_free(b);
    g_rand_free(r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/x86/cc/cond-matches-flags", test_cond_matches_flags);
    g_test_add_func("/x86/cc/dead-flags-blocks", test_dead_flags_blocks);
    return g_test_run();
}
