/*
 * BCD adjustment (DAA, DAS, AAA, AAS) over every input: all 256 AL values
 * with each AF and CF, 1024 cases per instruction.  The expected results
 * come from bcd_model(), a plain C transcription of the SDM's pseudo-code
 * (vol 2A, DAA/DAS/AAA/AAS "Operation"), run here in the test kernel;
 * the CPU runs the instruction itself in this 32-bit segment (all four
 * are #UD in 64-bit mode).
 *
 * Checked: AX, the upper half of EAX (untouched), CF and AF; for DAA/DAS
 * also SF, ZF and PF (OF is undefined).  AAA/AAS leave OF, SF, ZF and PF
 * undefined.
 */
#include "guest.h"

#define F_CF    0x001u
#define F_PF    0x004u
#define F_AF    0x010u
#define F_ZF    0x040u
#define F_SF    0x080u
#define F_OF    0x800u

enum { OP_DAA, OP_DAS, OP_AAA, OP_AAS, OP_COUNT };
static const char *const op_names[OP_COUNT] = { "DAA", "DAS", "AAA", "AAS" };
static const uint32_t op_defined[OP_COUNT] = {
    F_CF | F_AF | F_SF | F_ZF | F_PF, F_CF | F_AF | F_SF | F_ZF | F_PF,
    F_CF | F_AF, F_CF | F_AF,
};

typedef struct BcdResult {
    uint16_t ax;
    uint32_t flags;
} BcdResult;

static uint32_t szp(uint8_t v)
{
    uint32_t f = v ? 0 : F_ZF;
    unsigned ones = 0;

    if (v & 0x80) {
        f |= F_SF;
    }
    for (unsigned i = 0; i < 8; i++) {
        ones += (v >> i) & 1;
    }
    return f | ((ones & 1) ? 0 : F_PF);
}

/* SDM vol 2A "DAA": the second test uses the original AL and CF. */
static BcdResult model_daa(uint16_t ax, bool af, bool cf)
{
    uint8_t al = ax, old_al = al;
    bool old_cf = cf, new_af = false;

    cf = false;
    if ((al & 0xf) > 9 || af) {
        cf = old_cf || al + 6 > 0xff;
        al += 6;
        new_af = true;
    }
    if (old_al > 0x99 || old_cf) {
        al += 0x60;
        cf = true;
    } else {
        cf = false;
    }
    return (BcdResult){ (ax & 0xff00) | al,
                        szp(al) | (cf ? F_CF : 0) | (new_af ? F_AF : 0) };
}

/* SDM vol 2A "DAS": CF keeps the borrow of AL - 6 (no ELSE CF := 0). */
static BcdResult model_das(uint16_t ax, bool af, bool cf)
{
    uint8_t al = ax, old_al = al;
    bool old_cf = cf, new_af = false;

    cf = false;
    if ((al & 0xf) > 9 || af) {
        cf = old_cf || al < 6;
        al -= 6;
        new_af = true;
    }
    if (old_al > 0x99 || old_cf) {
        al -= 0x60;
        cf = true;
    }
    return (BcdResult){ (ax & 0xff00) | al,
                        szp(al) | (cf ? F_CF : 0) | (new_af ? F_AF : 0) };
}

/* SDM vol 2A "AAA": AX := AX + 106H, so AL's carry reaches AH. */
static BcdResult model_aaa(uint16_t ax, bool af, bool cf)
{
    bool adjust = (ax & 0xf) > 9 || af;

    if (adjust) {
        ax += 0x106;
    }
    ax &= 0xff0f;
    return (BcdResult){ ax, adjust ? F_CF | F_AF : 0 };
}

/* SDM vol 2A "AAS": AX := AX - 6; AH := AH - 1. */
static BcdResult model_aas(uint16_t ax, bool af, bool cf)
{
    bool adjust = (ax & 0xf) > 9 || af;

    if (adjust) {
        ax -= 6;
        ax = (uint16_t)(ax - 0x100);
    }
    ax &= 0xff0f;
    return (BcdResult){ ax, adjust ? F_CF | F_AF : 0 };
}

static BcdResult bcd_model(int op, uint16_t ax, bool af, bool cf)
{
    switch (op) {
    case OP_DAA:
        return model_daa(ax, af, cf);
    case OP_DAS:
        return model_das(ax, af, cf);
    case OP_AAA:
        return model_aaa(ax, af, cf);
    default:
        return model_aas(ax, af, cf);
    }
}

#define BCD_RUN(insn) \
    __asm__ volatile("pushl %2; popfl; " insn "; pushfl; popl %1" \
                     : "+a"(eax), "=r"(flags) : "r"(flags_in) : "cc")

/* Run @op on the CPU with EAX = @eax and EFLAGS = @flags_in. */
static uint32_t bcd_cpu(int op, uint32_t eax, uint32_t flags_in,
                        uint32_t *flags_out)
{
    uint32_t flags;

    switch (op) {
    case OP_DAA:
        BCD_RUN("daa");
        break;
    case OP_DAS:
        BCD_RUN("das");
        break;
    case OP_AAA:
        BCD_RUN("aaa");
        break;
    default:
        BCD_RUN("aas");
        break;
    }
    *flags_out = flags;
    return eax;
}

/* One input; prints the first few differences.  Returns true if equal. */
static bool bcd_case(int op, unsigned al, bool af, bool cf,
                     unsigned *printed)
{
    /* AH varies with the input so that AAA/AAS carries into it show. */
    uint16_t ax = (uint16_t)(((af ^ cf) ? al : (~al & 0xff)) << 8 | al);
    /* The undefined flags are set on odd AL, so the result may not copy. */
    uint32_t in = 0x2 | (cf ? F_CF : 0) | (af ? F_AF : 0) |
                  ((al & 1) ? F_SF | F_ZF | F_PF | F_OF : 0);
    uint32_t flags, eax = bcd_cpu(op, 0xdead0000u | ax, in, &flags);
    BcdResult want = bcd_model(op, ax, af, cf);
    uint32_t mask = op_defined[op];
    bool ok = eax == (0xdead0000u | want.ax) &&
              (flags & mask) == (want.flags & mask);

    if (!ok && (*printed)++ < 8) {
        guest_printf("  %s AL=%02x AH=%02x AF=%d CF=%d: got EAX=%08x "
                     "flags=%03x, want AX=%04x flags=%03x\n", op_names[op],
                     al, ax >> 8, af, cf, eax, flags & mask, want.ax,
                     want.flags & mask);
    }
    return ok;
}

static void bcd_check_op(int op)
{
    unsigned wrong = 0, printed = 0;

    for (unsigned al = 0; al < 256; al++) {
        for (unsigned afcf = 0; afcf < 4; afcf++) {
            bool af = afcf & 1, cf = afcf >> 1;

            wrong += !bcd_case(op, al, af, cf, &printed);
        }
    }
    guest_printf("%s: %u of 1024 inputs differ from the SDM pseudo-code\n",
                 op_names[op], wrong);
    CHECK_EQ(wrong, 0, op_names[op]);
}

void kernel_main(void)
{
    for (int op = 0; op < OP_COUNT; op++) {
        bcd_check_op(op);
    }
}
