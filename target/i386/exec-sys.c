/*
 * System instructions: the parts that need privilege checks, I/O,
 * segment and control-register state.  The architectural work (descriptor
 * loads, task state, MSRs) is the system side's, through cpu.h.
 */
#include "exec.h"

static unsigned sys_iopl(const X86CPUState *env)
{
    return (env->eflags & IOPL_MASK) >> IOPL_SHIFT;
}

/* Privileged instructions: #GP(0) unless CPL 0 (real mode is CPL 0). */
static void sys_need_cpl0(X86CPUState *env)
{
    if (x86_cpl(env) != 0) {
        x86_raise_exception_err(env, EXCP_GP, 0);
    }
}

static void sys_hlt(X86CPUState *env, const X86Insn *in)
{
    sys_need_cpl0(env);
    env->rip = x86_next_rip(env, in);
    env->cs->halted = true;
}

static void sys_cli_sti(X86CPUState *env, const X86Insn *in)
{
    bool sti = in->op == X86_OP_STI;
    if ((env->hflags & HF_PE) && x86_cpl(env) > sys_iopl(env)) {
        x86_raise_exception_err(env, EXCP_GP, 0);
    }
    if (sti && !(env->eflags & IF_MASK)) {
        x86_set_int_shadow(env, false); /* one more instruction first */
    }
    x86_set_eflags(env, sti ? IF_MASK : 0, IF_MASK);
    if (in->flags & X86_F_END) {
        env->rip = x86_next_rip(env, in);
    }
}

static void sys_pushf(X86CPUState *env, const X86Insn *in)
{
    if ((env->hflags & HF_VM) && sys_iopl(env) < 3) {
        x86_raise_exception_err(env, EXCP_GP, 0);
    }
    /* VM and RF read as 0 in the pushed image. */
    x86_push(env, in->osize, x86_get_eflags(env) & ~(VM_MASK | RF_MASK));
}

static void sys_popf(X86CPUState *env, const X86Insn *in)
{
    uint32_t mask = CC_MASK | TF_MASK | DF_MASK | NT_MASK | AC_MASK |
                    ID_MASK;
    uint32_t v;

    if ((env->hflags & HF_VM) && sys_iopl(env) < 3) {
        x86_raise_exception_err(env, EXCP_GP, 0);
    }
    v = x86_pop(env, in->osize);
    if (x86_cpl(env) == 0) {
        mask |= IOPL_MASK;
    }
    if (x86_cpl(env) <= sys_iopl(env)) {
        mask |= IF_MASK;
    }
    if (in->osize == 2) {
        mask &= 0xffff;
    }
    x86_set_eflags(env, v, mask);
    env->rip = x86_next_rip(env, in);
}

static uint16_t sys_port(X86CPUState *env, const X86Insn *in, int n)
{
    return in->opnd[n] == X86_OPND_DX ? env->regs[R_EDX] : in->imm & 0xff;
}

static void sys_in(X86CPUState *env, const X86Insn *in)
{
    unsigned sz = (in->flags & X86_F_BYTE) ? 1 : (in->osize == 2 ? 2 : 4);
    uint16_t port = sys_port(env, in, 1);
    x86_check_io(env, port, sz);
    x86_reg_write(env, R_EAX, sz,
                  env->io->port_in(env->io->opaque, port, sz));
}

static void sys_out(X86CPUState *env, const X86Insn *in)
{
    unsigned sz = (in->flags & X86_F_BYTE) ? 1 : (in->osize == 2 ? 2 : 4);
    uint16_t port = sys_port(env, in, 0);
    x86_check_io(env, port, sz);
    env->io->port_out(env->io->opaque, port,
                      x86_reg_read(env, R_EAX, sz), sz);
}

static void sys_int(X86CPUState *env, const X86Insn *in)
{
    uint64_t next = x86_next_rip(env, in);
    switch (in->op) {
    case X86_OP_INT3:
        x86_raise_soft_interrupt(env, EXCP_BP, next);
    case X86_OP_INTO:
        if (x86_cond(env, 0)) {
            x86_raise_soft_interrupt(env, EXCP_OF, next);
        }
        env->rip = next;
        return;
    case X86_OP_INT1:
        x86_raise_soft_interrupt(env, EXCP_DB, next);
    case X86_OP_INT:
        x86_raise_soft_interrupt(env, in->imm & 0xff, next);
    default:
        x86_raise_exception(env, EXCP_UD);
    }
}

static void sys_iret(X86CPUState *env, const X86Insn *in)
{
    x86_helper_iret(env, in->osize);
    env->nmi_blocked = false;
}

/* ---- segments and far transfers ---- */

static int sys_seg_of_opcode(const X86Insn *in)
{
    switch (in->opcode) {
    case 0x06: case 0x07: return R_ES;
    case 0x0e: return R_CS;
    case 0x16: case 0x17: return R_SS;
    case 0x1e: case 0x1f: return R_DS;
    case 0x1a0: case 0x1a1: return R_FS;
    default: return R_GS;
    }
}

static void sys_push_seg(X86CPUState *env, const X86Insn *in)
{
    x86_push(env, in->osize, env->segs[sys_seg_of_opcode(in)].selector);
}

static void sys_pop_seg(X86CPUState *env, const X86Insn *in)
{
    int seg = sys_seg_of_opcode(in);
    unsigned ss = x86_stack_size(env);
    uint64_t sp = env->regs[R_ESP];
    uint16_t sel = x86_mem_read(env, R_SS, sp & x86_size_mask(ss), 2);
    x86_load_seg(env, seg, sel);
    x86_reg_write(env, R_ESP, ss, sp + in->osize);
    if (seg == R_SS) {
        x86_set_int_shadow(env, true);
    }
    if (in->flags & X86_F_END) {
        env->rip = x86_next_rip(env, in);
    }
}

static void sys_mov_from_seg(X86CPUState *env, const X86Insn *in)
{
    X86Loc d = x86_loc(env, in, 0);
    if ((in->reg & 7) > R_GS) {
        x86_raise_exception(env, EXCP_UD);
    }
    if (d.mem) {
        d.size = 2;
    }
    x86_loc_write(env, &d, env->segs[in->reg & 7].selector);
}

static void sys_mov_to_seg(X86CPUState *env, const X86Insn *in)
{
    int seg = in->reg & 7;
    if (seg == R_CS || seg > R_GS) {
        x86_raise_exception(env, EXCP_UD);
    }
    x86_load_seg(env, seg, x86_opnd_read(env, in, 1));
    if (seg == R_SS) {
        x86_set_int_shadow(env, true);
    }
    env->rip = x86_next_rip(env, in);
}

/* LDS, LES, LSS, LFS, LGS: offset then selector from memory. */
static void sys_lxs(X86CPUState *env, const X86Insn *in)
{
    static const struct { uint16_t op; uint8_t seg; } map[] = {
        { X86_OP_LES, R_ES }, { X86_OP_LDS, R_DS }, { X86_OP_LSS, R_SS },
        { X86_OP_LFS, R_FS }, { X86_OP_LGS, R_GS },
    };
    unsigned sz = in->osize;
    uint64_t ea = x86_ea(env, in);
    uint64_t off = x86_mem_read(env, in->seg, ea, sz);
    uint16_t sel = x86_mem_read(env, in->seg, ea + sz, 2);
    for (size_t i = 0; i < G_N_ELEMENTS(map); i++) {
        if (map[i].op == in->op) {
            x86_load_seg(env, map[i].seg, sel);
        }
    }
    x86_reg_write(env, in->reg, sz, off);
}

static void sys_far(X86CPUState *env, const X86Insn *in)
{
    uint64_t next = x86_next_rip(env, in), off;
    uint16_t sel;

    if (in->op == X86_OP_CALLF || in->op == X86_OP_JMPF) {
        off = in->imm;
        sel = in->imm2;
    } else {
        uint64_t ea = x86_ea(env, in);
        off = x86_mem_read(env, in->seg, ea, in->osize);
        sel = x86_mem_read(env, in->seg, ea + in->osize, 2);
    }
    if (in->op == X86_OP_CALLF || in->op == X86_OP_CALLF_IND) {
        x86_helper_lcall(env, sel, off, in->osize, next);
    } else {
        x86_helper_ljmp(env, sel, off, next);
    }
}

static void sys_retf(X86CPUState *env, const X86Insn *in)
{
    x86_helper_lret(env, in->osize,
                    in->opnd[0] == X86_OPND_Iw ? in->imm : 0);
}


void x86_exec_sys_init(void)
{
    x86_exec_register(X86_OP_HLT, sys_hlt);
    x86_exec_register(X86_OP_CLI, sys_cli_sti);
    x86_exec_register(X86_OP_STI, sys_cli_sti);
    x86_exec_register(X86_OP_PUSHF, sys_pushf);
    x86_exec_register(X86_OP_POPF, sys_popf);
    x86_exec_register(X86_OP_IN, sys_in);
    x86_exec_register(X86_OP_OUT, sys_out);
    x86_exec_register(X86_OP_INT, sys_int);
    x86_exec_register(X86_OP_INT3, sys_int);
    x86_exec_register(X86_OP_INTO, sys_int);
    x86_exec_register(X86_OP_INT1, sys_int);
    x86_exec_register(X86_OP_UD, sys_int);
    x86_exec_register(X86_OP_IRET, sys_iret);
    x86_exec_register(X86_OP_PUSH_SEG, sys_push_seg);
    x86_exec_register(X86_OP_POP_SEG, sys_pop_seg);
    x86_exec_register(X86_OP_MOV_FROM_SEG, sys_mov_from_seg);
    x86_exec_register(X86_OP_MOV_TO_SEG, sys_mov_to_seg);
    x86_exec_register(X86_OP_LES, sys_lxs);
    x86_exec_register(X86_OP_LDS, sys_lxs);
    x86_exec_register(X86_OP_LSS, sys_lxs);
    x86_exec_register(X86_OP_LFS, sys_lxs);
    x86_exec_register(X86_OP_LGS, sys_lxs);
    x86_exec_register(X86_OP_CALLF, sys_far);
    x86_exec_register(X86_OP_JMPF, sys_far);
    x86_exec_register(X86_OP_CALLF_IND, sys_far);
    x86_exec_register(X86_OP_JMPF_IND, sys_far);
    x86_exec_register(X86_OP_RETF, sys_retf);
    x86_exec_sys2_init();
}
