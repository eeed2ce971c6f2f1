/*
 * "info registers": the CPU state in QEMU's layout, so that tools and
 * people used to it read ours the same way.
 */
#include "target/i386/cpu.h"

static const char *const dump_seg_names[X86_NB_SEGS] = {
    "ES", "CS", "SS", "DS", "FS", "GS", "LDT", "TR",
};

/* System descriptor types (SDM vol 3 table 3-2), legacy and long mode. */
static const char *const dump_sys_types[2][16] = {
    {
        "", "TSS16-avl", "LDT", "TSS16-busy", "CallGate16", "TaskGate",
        "IntGate16", "TrapGate16", "", "TSS32-avl", "", "TSS32-busy",
        "CallGate32", "", "IntGate32", "TrapGate32",
    }, {
        "", "", "LDT", "", "", "", "", "", "", "TSS64-avl", "",
        "TSS64-busy", "CallGate64", "", "IntGate64", "TrapGate64",
    },
};

static void dump_seg_kind(X86CPUState *env, const SegmentCache *sc,
                          GString *out)
{
    uint32_t f = sc->flags;
    bool lma = env->hflags & HF_LMA;

    g_string_append_printf(out, " DPL=%u ",
                           (f & DESC_DPL_MASK) >> DESC_DPL_SHIFT);
    if (!(f & DESC_S_MASK)) {
        g_string_append(out, dump_sys_types[lma][(f & DESC_TYPE_MASK) >>
                                                 DESC_TYPE_SHIFT]);
        return;
    }
    if (f & DESC_CS_MASK) {
        g_string_append_printf(out, "%s [%c%c",
                               (f & DESC_L_MASK) ? "CS64" :
                               (f & DESC_B_MASK) ? "CS32" : "CS16",
                               (f & DESC_C_MASK) ? 'C' : '-',
                               (f & DESC_R_MASK) ? 'R' : '-');
    } else {
        g_string_append_printf(out, "%s [%c%c",
                               (f & DESC_B_MASK) || lma ? "DS  " : "DS16",
                               (f & DESC_E_MASK) ? 'E' : '-',
                               (f & DESC_W_MASK) ? 'W' : '-');
    }
    g_string_append_printf(out, "%c]", (f & DESC_A_MASK) ? 'A' : '-');
}

static void dump_seg(X86CPUState *env, int i, GString *out)
{
    const SegmentCache *sc = &env->segs[i];

    if (env->hflags & HF_LMA) {
        g_string_append_printf(out, "%-3s=%04x %016" PRIx64 " %08x %08x",
                               dump_seg_names[i], sc->selector, sc->base,
                               sc->limit, sc->flags & 0x00ffff00);
    } else {
        g_string_append_printf(out, "%-3s=%04x %08x %08x %08x",
                               dump_seg_names[i], sc->selector,
                               (uint32_t)sc->base, sc->limit,
                               sc->flags & 0x00ffff00);
    }
    if ((env->hflags & HF_PE) && (sc->flags & DESC_P_MASK)) {
        dump_seg_kind(env, sc, out);
    }
    g_string_append_c(out, '\n');
}

static void dump_gprs(X86CPUState *env, uint32_t fl, GString *out)
{
    static const char *const names64[16] = {
        "RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
        "R8 ", "R9 ", "R10", "R11", "R12", "R13", "R14", "R15",
    };
    /* QEMU's order: A B C D, SI DI BP SP, then R8-R15. */
    static const uint8_t order[16] = {
        R_EAX, R_EBX, R_ECX, R_EDX, R_ESI, R_EDI, R_EBP, R_ESP,
        8, 9, 10, 11, 12, 13, 14, 15,
    };
    bool lma = env->hflags & HF_LMA;
    int n = lma ? 16 : 8;

    for (int k = 0; k < n; k++) {
        int r = order[k];

        if (lma) {
            g_string_append_printf(out, "%s=%016" PRIx64, names64[r],
                                   env->regs[r]);
        } else {
            g_string_append_printf(out, "E%c%c=%08x", names64[r][1],
                                   names64[r][2], (uint32_t)env->regs[r]);
        }
        g_string_append_c(out, (k & 3) == 3 ? '\n' : ' ');
    }
    if (lma) {
        g_string_append_printf(out, "RIP=%016" PRIx64 " RFL=%08x",
                               env->rip, fl);
    } else {
        g_string_append_printf(out, "EIP=%08x EFL=%08x",
                               (uint32_t)env->rip, fl);
    }
    g_string_append_printf(out, " [%c%c%c%c%c%c%c] CPL=%u II=%d A20=%d "
                           "SMM=0 HLT=%d\n",
                           fl & DF_MASK ? 'D' : '-', fl & OF_MASK ? 'O' : '-',
                           fl & SF_MASK ? 'S' : '-', fl & ZF_MASK ? 'Z' : '-',
                           fl & AF_MASK ? 'A' : '-', fl & PF_MASK ? 'P' : '-',
                           fl & CF_MASK ? 'C' : '-', x86_cpl(env),
                           env->int_shadow, !!(env->a20_mask & (1u << 20)),
                           env->cs ? env->cs->halted : 0);
}

static void dump_control(X86CPUState *env, GString *out)
{
    bool lma = env->hflags & HF_LMA;

    if (lma) {
        g_string_append_printf(out, "GDT=     %016" PRIx64 " %08x\n"
                               "IDT=     %016" PRIx64 " %08x\n",
                               env->gdt.base, env->gdt.limit,
                               env->idt.base, env->idt.limit);
    } else {
        g_string_append_printf(out, "GDT=     %08x %08x\nIDT=     %08x %08x\n",
                               (uint32_t)env->gdt.base, env->gdt.limit,
                               (uint32_t)env->idt.base, env->idt.limit);
    }
    if (lma) {
        g_string_append_printf(out, "CR0=%08x CR2=%016" PRIx64 " CR3=%016"
                               PRIx64 " CR4=%08x\n", (uint32_t)env->cr[0],
                               env->cr[2], env->cr[3], (uint32_t)env->cr[4]);
    } else {
        g_string_append_printf(out, "CR0=%08x CR2=%08x CR3=%08x CR4=%08x\n",
                               (uint32_t)env->cr[0], (uint32_t)env->cr[2],
                               (uint32_t)env->cr[3], (uint32_t)env->cr[4]);
    }
    for (int i = 0; i < 4; i++) {
        g_string_append_printf(out, "DR%d=%016" PRIx64 " ", i, env->dr[i]);
    }
    g_string_append_printf(out, "\nDR6=%016" PRIx64 " DR7=%016" PRIx64 "\n",
                           env->dr[6], env->dr[7]);
    g_string_append_printf(out, "EFER=%016" PRIx64 "\n", env->efer);
}

static void dump_fpu(X86CPUState *env, GString *out)
{
    unsigned tags = 0;
    int nxmm = (env->hflags & HF_CS64) ? 16 : 8;

    for (int i = 0; i < 8; i++) {
        tags |= (!env->fptags[i]) << i;
    }
    g_string_append_printf(out, "FCW=%04x FSW=%04x [ST=%u] FTW=%02x "
                           "MXCSR=%08x\n", env->fpuc,
                           (env->fpus & ~0x3800u) | ((env->fptop & 7) << 11),
                           env->fptop & 7, tags, env->mxcsr);
    for (int i = 0; i < 8; i++) {
        g_string_append_printf(out, "FPR%d=%016" PRIx64 " %04x%c", i,
                               env->fpregs[i].raw.mant,
                               env->fpregs[i].raw.exp,
                               (i & 1) ? '\n' : ' ');
    }
    for (int i = 0; i < nxmm; i++) {
        const X86XMMReg *x = &env->xmm[i];

        g_string_append_printf(out, "XMM%02d=%08x%08x%08x%08x%c", i,
                               x->l[3], x->l[2], x->l[1], x->l[0],
                               (i & 1) ? '\n' : ' ');
    }
}

void x86_cpu_dump_state(X86CPUState *env, GString *out)
{
    dump_gprs(env, x86_get_eflags(env), out);
    for (int i = 0; i < X86_NB_SEGS; i++) {
        dump_seg(env, i, out);
    }
    dump_control(env, out);
    dump_fpu(env, out);
}
