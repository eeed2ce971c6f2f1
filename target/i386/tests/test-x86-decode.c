/*
 * The x86 decoder on its own: lengths, operand sizes, ModRM/SIB fields,
 * immediates, and the #UD / 15-byte rules, checked against encodings
 * taken from the SDM.
 */
#include "qlite/osdep.h"
#include "../decode.h"

typedef struct DecodeCase {
    const char *bytes;      /* hex */
    int mode;
    X86DecodeResult res;
    unsigned len;
    const char *form;       /* x86_insn_format(), or NULL */
    unsigned osize;
} DecodeCase;

static const DecodeCase decode_cases[] = {
    /* add [rax], al / add eax, 0x12345678 */
    { "0000", X86_MODE64, X86_DEC_OK, 2, "ADD Eb,Gb", 4 },
    { "0578563412", X86_MODE32, X86_DEC_OK, 5, "ADD rAX,Iz", 4 },
    { "6605341200", X86_MODE32, X86_DEC_OK, 4, "ADD rAX,Iz", 2 },
    { "4805785634f2", X86_MODE64, X86_DEC_OK, 6, "ADD rAX,Iz", 8 },
    /* mov rax, imm64 */
    { "48b88877665544332211", X86_MODE64, X86_DEC_OK, 10, "MOV Zv,Iv", 8 },
    /* lea eax, [ebx+ecx*4+0x10] */
    { "8d448b10", X86_MODE32, X86_DEC_OK, 4, "LEA Gv,M", 4 },
    /* mov eax, [rip+0x100] */
    { "8b0500010000", X86_MODE64, X86_DEC_OK, 6, "MOV Gv,Ev", 4 },
    /* 16-bit: mov ax, [bp+si+0x1234] */
    { "8b823412", X86_MODE16, X86_DEC_OK, 4, "MOV Gv,Ev", 2 },
    /* push rbx: default 64-bit */
    { "53", X86_MODE64, X86_DEC_OK, 1, "PUSH Zv", 8 },
    { "6653", X86_MODE64, X86_DEC_OK, 2, "PUSH Zv", 2 },
    /* inc eax in 32-bit; 40 is REX in 64-bit (then 90 = NOP) */
    { "40", X86_MODE32, X86_DEC_OK, 1, "INC Zv", 4 },
    { "4090", X86_MODE64, X86_DEC_OK, 2, "NOP", 4 },
    { "4190", X86_MODE64, X86_DEC_OK, 2, "XCHG Zv,rAX", 4 },
    { "f390", X86_MODE32, X86_DEC_OK, 2, "PAUSE", 4 },
    /* invalid in 64-bit: push es, aaa; arpl becomes movsxd */
    { "06", X86_MODE64, X86_DEC_UD, 0, NULL, 0 },
    { "37", X86_MODE64, X86_DEC_UD, 0, NULL, 0 },
    { "4863c1", X86_MODE64, X86_DEC_OK, 3, "MOVSXD Gv,Ed", 8 },
    { "63c1", X86_MODE32, X86_DEC_OK, 2, "ARPL Ew,Gw", 4 },
    /* group opcodes */
    { "c1e005", X86_MODE32, X86_DEC_OK, 3, "SHL Ev,Ib", 4 },
    { "f7d8", X86_MODE32, X86_DEC_OK, 2, "NEG Ev", 4 },
    { "f6c1ff", X86_MODE32, X86_DEC_OK, 3, "TEST Eb,Ib", 4 },
    { "ffe0", X86_MODE64, X86_DEC_OK, 2, "JMP_IND Ev", 8 },
    { "fff8", X86_MODE32, X86_DEC_UD, 0, NULL, 0 },
    { "8fc8", X86_MODE32, X86_DEC_UD, 0, NULL, 0 },
    /* LOCK rules */
    { "f00118", X86_MODE32, X86_DEC_OK, 3, "ADD Ev,Gv", 4 },
    { "f001c0", X86_MODE32, X86_DEC_UD, 0, NULL, 0 },
    { "f089 18", X86_MODE32, X86_DEC_UD, 0, NULL, 0 },
    /* two-byte map */
    { "0fafc1", X86_MODE32, X86_DEC_OK, 3, "IMUL2 Gv,Ev", 4 },
    { "0f8400010000", X86_MODE32, X86_DEC_OK, 6, "JCC Jz", 4 },
    { "0f1f440000", X86_MODE64, X86_DEC_OK, 5, "NOP Ev", 4 },
    { "0fc70e", X86_MODE32, X86_DEC_OK, 3, "CMPXCHG8B Mq", 4 },
    { "0fc7c8", X86_MODE32, X86_DEC_UD, 0, NULL, 0 },
    { "f30fb8c1", X86_MODE32, X86_DEC_OK, 4, "POPCNT Gv,Ev", 4 },
    { "0fb8c1", X86_MODE32, X86_DEC_UD, 0, NULL, 0 },
    { "0f0b", X86_MODE32, X86_DEC_OK, 2, "UD", 4 },
    /* mov cr0, eax: mod ignored */
    { "0f2200", X86_MODE32, X86_DEC_OK, 3, "MOV_TO_CR Cd,Ry", 4 },
    /* far jmp ptr16:32, enter */
    { "ea78563412cdab", X86_MODE32, X86_DEC_OK, 7, "JMPF Ap", 4 },
    { "c8100001", X86_MODE32, X86_DEC_OK, 4, "ENTER Iw,Ib", 4 },
    /* too long: 14 prefixes + 2-byte instruction; short input */
    { "6666666666666666666666666666 01c0", X86_MODE32, X86_DEC_TOO_LONG,
      0, NULL, 0 },
    { "05785634", X86_MODE32, X86_DEC_MORE, 0, NULL, 0 },
    /* sgdt needs memory; swapgs is a register form */
    { "0f01c0", X86_MODE32, X86_DEC_OK, 3, "GRP7_REG", 4 },
    { "0f0100", X86_MODE32, X86_DEC_OK, 3, "SGDT M", 4 },
    /* stac, rdpkru: group 7 register forms; invpcid rax, [rcx] */
    { "0f01cb", X86_MODE64, X86_DEC_OK, 3, "GRP7_REG", 4 },
    { "0f01ee", X86_MODE64, X86_DEC_OK, 3, "GRP7_REG", 4 },
    { "660f388201", X86_MODE64, X86_DEC_OK, 5, "INVPCID Gy,Mdq", 2 },
    { "660f3882c1", X86_MODE64, X86_DEC_UD, 0, NULL, 0 },
    { "0f388201", X86_MODE64, X86_DEC_UD, 0, NULL, 0 },
};

static unsigned decode_hex(const char *s, uint8_t *out)
{
    unsigned n = 0;
    while (*s) {
        if (*s == ' ') {
            s++;
            continue;
        }
        g_assert_true(g_ascii_isxdigit(s[0]) && g_ascii_isxdigit(s[1]));
        out[n++] = g_ascii_xdigit_value(s[0]) * 16 +
                   g_ascii_xdigit_value(s[1]);
        s += 2;
    }
    return n;
}

static void test_decode_table(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(decode_cases); i++) {
        const DecodeCase *dc = &decode_cases[i];
        uint8_t buf[32];
        unsigned n = decode_hex(dc->bytes, buf);
        X86Insn in;
        X86DecodeResult r = x86_decode(&in, buf, n, dc->mode);
        char text[64];

        if (r != dc->res) {
            g_error("case %zu (%s): result %d, expected %d", i, dc->bytes,
                    r, dc->res);
        }
        if (r != X86_DEC_OK) {
            continue;
        }
        x86_insn_format(&in, text, sizeof(text));
        g_assert_cmpstr(text, ==, dc->form);
        g_assert_cmpuint(in.len, ==, dc->len);
        g_assert_cmpuint(in.osize, ==, dc->osize);
    }
}

static void test_decode_fields(void)
{
    uint8_t buf[16];
    X86Insn in;

    /* lea eax, [ebx+ecx*4+0x10] */
    decode_hex("8d448b10", buf);
    g_assert_cmpint(x86_decode(&in, buf, 4, X86_MODE32), ==, X86_DEC_OK);
    g_assert_cmpuint(in.base, ==, 3);
    g_assert_cmpuint(in.index, ==, 1);
    g_assert_cmpuint(in.scale, ==, 2);
    g_assert_cmpint(in.disp, ==, 0x10);
    g_assert_cmpuint(in.reg, ==, 0);

    /* mov r9, [r12+r13*8-8] : REX.WRXB, SIB, disp8 */
    decode_hex("4f8b4cecf8", buf);
    g_assert_cmpint(x86_decode(&in, buf, 5, X86_MODE64), ==, X86_DEC_OK);
    g_assert_cmpuint(in.reg, ==, 9);
    g_assert_cmpuint(in.base, ==, 12);
    g_assert_cmpuint(in.index, ==, 13);
    g_assert_cmpuint(in.scale, ==, 3);
    g_assert_cmpint(in.disp, ==, -8);

    /* mov eax, [rip+0x100]; mov eax, [rbp]: default segment SS */
    decode_hex("8b0500010000", buf);
    g_assert_cmpint(x86_decode(&in, buf, 6, X86_MODE64), ==, X86_DEC_OK);
    g_assert_true(in.rip_rel);
    g_assert_cmpuint(in.base, ==, X86_NOREG);
    decode_hex("8b4500", buf);
    g_assert_cmpint(x86_decode(&in, buf, 3, X86_MODE64), ==, X86_DEC_OK);
    g_assert_cmpuint(in.seg, ==, 2);
    /* fs: override, 16-bit [bp+si+0x1234] */
    decode_hex("648b823412", buf);
    g_assert_cmpint(x86_decode(&in, buf, 5, X86_MODE16), ==, X86_DEC_OK);
    g_assert_cmpuint(in.seg, ==, 4);
    g_assert_cmpuint(in.base, ==, 5);
    g_assert_cmpuint(in.index, ==, 6);
    g_assert_cmpint(in.disp, ==, 0x1234);

    /* sign-extended immediates */
    decode_hex("4883c0ff", buf);
    g_assert_cmpint(x86_decode(&in, buf, 4, X86_MODE64), ==, X86_DEC_OK);
    g_assert_cmphex(in.imm, ==, UINT64_MAX);
    decode_hex("ea78563412cdab", buf);
    g_assert_cmpint(x86_decode(&in, buf, 7, X86_MODE32), ==, X86_DEC_OK);
    g_assert_cmphex(in.imm, ==, 0x12345678);
    g_assert_cmphex(in.imm2, ==, 0xabcd);
}

/* Every byte sequence either decodes within 15 bytes or is refused. */
static void test_decode_random(void)
{
    GRand *r = g_rand_new_with_seed(1234);
    for (int i = 0; i < 200000; i++) {
        uint8_t buf[20];
        X86Insn in;
        for (int j = 0; j < 20; j++) {
            buf[j] = g_rand_int(r);
        }
        X86DecodeResult res = x86_decode(&in, buf, 20, i % 3);
        g_assert_true(res != X86_DEC_MORE);
        if (res == X86_DEC_OK) {
            g_assert_cmpuint(in.len, >=, 1);
            g_assert_cmpuint(in.len, <=, 15);
            g_assert_cmpuint(in.op, <, X86_OP_NB);
        }
    }
    g_rand_free(r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/x86/decode/table", test_decode_table);
    g_test_add_func("/x86/decode/fields", test_decode_fields);
    g_test_add_func("/x86/decode/random", test_decode_random);
    return g_test_run();
}
