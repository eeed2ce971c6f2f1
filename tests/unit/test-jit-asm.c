/*
 * The block translator's assembler (accel/tcg/jit-asm.c) against GNU
 * objdump: every ja_* function is emitted with a spread of registers
 * (R8-R15, RSP/RBP/R12/R13 as bases, byte registers that need a bare
 * REX) and addressing forms (SIB with and without base, no displacement,
 * disp8, disp32), the bytes are disassembled by objdump -M intel, and
 * each instruction must read as the text written here and be exactly as
 * long as the assembler made it.
 *
 * Without objdump the test cannot judge anything: it says so and exits
 * 77, which meson reports as a skip.
 */
#include "qlite/osdep.h"
#include "qlite/tcg-asm.h"

#define ASM_MAX_CASES   400

typedef struct AsmCase {
    unsigned off;           /* where the instruction starts */
    unsigned len;           /* its bytes, as emitted */
    const char *text;       /* objdump -M intel, spaces collapsed */
    unsigned line;          /* of this file, for the failure message */
} AsmCase;

static uint8_t asm_buf[16384];
static JitAsm A;
static AsmCase asm_cases[ASM_MAX_CASES];
static unsigned asm_ncases;

static void asm_add_at(unsigned off, unsigned len, const char *text,
                       unsigned line)
{
    g_assert_cmpuint(asm_ncases, <, ASM_MAX_CASES);
    asm_cases[asm_ncases++] = (AsmCase){
        .off = off, .len = len, .text = text, .line = line,
    };
}

/* The instruction from @off to the end of what was emitted. */
static void asm_add(unsigned off, const char *text, unsigned line)
{
    asm_add_at(off, (unsigned)(A.p - A.start) - off, text, line);
}

/* Emit with @stmt one instruction that objdump must show as @text. */
#define EXPECT(text, stmt) do {                         \
        unsigned off_ = (unsigned)(A.p - A.start);      \
        stmt;                                           \
        asm_add(off_, text, __LINE__);                  \
    } while (0)

static JaMem mem_sib(JaReg base, JaReg index, unsigned scale, int32_t disp)
{
    return (JaMem){ .base = base, .index = index, .scale = scale,
                    .disp = disp };
}

static void asm_emit_loads(void)
{
    EXPECT("movzx eax,BYTE PTR [rbx+0x10]",
           ja_load(&A, 1, JA_RAX, ja_mem(JA_RBX, 0x10)));
    EXPECT("movzx r9d,WORD PTR [rsp]",
           ja_load(&A, 2, JA_R9, ja_mem(JA_RSP, 0)));
    EXPECT("mov ecx,DWORD PTR [rbp+0x0]",
           ja_load(&A, 4, JA_RCX, ja_mem(JA_RBP, 0)));
    EXPECT("mov r15,QWORD PTR [r12+0x12345]",
           ja_load(&A, 8, JA_R15, ja_mem(JA_R12, 0x12345)));
    EXPECT("mov rdx,QWORD PTR [r13-0x80]",
           ja_load(&A, 8, JA_RDX, ja_mem(JA_R13, -0x80)));
    EXPECT("mov r13,QWORD PTR [r13+0x0]",
           ja_load(&A, 8, JA_R13, ja_mem(JA_R13, 0)));
    EXPECT("mov esi,DWORD PTR [r12]",
           ja_load(&A, 4, JA_RSI, ja_mem(JA_R12, 0)));
    EXPECT("mov rax,QWORD PTR [rbx+r10*8+0x8]",
           ja_load(&A, 8, JA_RAX, mem_sib(JA_RBX, JA_R10, 3, 8)));
    EXPECT("mov rax,QWORD PTR [rcx*4+0x100]",
           ja_load(&A, 8, JA_RAX, mem_sib(JA_NOREG, JA_RCX, 2, 0x100)));
    EXPECT("mov r8,QWORD PTR [r9*8-0x4]",
           ja_load(&A, 8, JA_R8, mem_sib(JA_NOREG, JA_R9, 3, -4)));
    EXPECT("movzx edi,BYTE PTR [r13+rax*1+0x0]",
           ja_load(&A, 1, JA_RDI, mem_sib(JA_R13, JA_RAX, 0, 0)));
    EXPECT("movzx r11d,WORD PTR [rsp+rbp*2]",
           ja_load(&A, 2, JA_R11, mem_sib(JA_RSP, JA_RBP, 1, 0)));
    EXPECT("mov r14d,DWORD PTR [rbx+r12*1]",
           ja_load(&A, 4, JA_R14, mem_sib(JA_RBX, JA_R12, 0, 0)));
    EXPECT("mov rax,QWORD PTR [r12+r13*4+0x7fffffff]",
           ja_load(&A, 8, JA_RAX, mem_sib(JA_R12, JA_R13, 2, INT32_MAX)));
    EXPECT("mov rax,QWORD PTR [rbp+rcx*1-0x80000000]",
           ja_load(&A, 8, JA_RAX, mem_sib(JA_RBP, JA_RCX, 0, INT32_MIN)));

    EXPECT("movsx rax,BYTE PTR [rbx+0x7f]",
           ja_load_sx(&A, 1, JA_RAX, ja_mem(JA_RBX, 0x7f)));
    EXPECT("movsx r10,WORD PTR [rsp+0x80]",
           ja_load_sx(&A, 2, JA_R10, ja_mem(JA_RSP, 0x80)));
    EXPECT("movsxd rcx,DWORD PTR [r13+0x0]",
           ja_load_sx(&A, 4, JA_RCX, ja_mem(JA_R13, 0)));
    EXPECT("mov rdi,QWORD PTR [r15+r8*2+0x10]",
           ja_load_sx(&A, 8, JA_RDI, mem_sib(JA_R15, JA_R8, 1, 0x10)));
}

static void asm_emit_stores(void)
{
    EXPECT("mov BYTE PTR [rbx+0x8],cl",
           ja_store(&A, 1, ja_mem(JA_RBX, 8), JA_RCX));
    EXPECT("xchg BYTE PTR [rsi],sil",
           ja_xchg_mr(&A, 1, ja_mem(JA_RSI, 0), JA_RSI));
    EXPECT("xchg WORD PTR [rsi],cx",
           ja_xchg_mr(&A, 2, ja_mem(JA_RSI, 0), JA_RCX));
    EXPECT("xchg DWORD PTR [rsi],ecx",
           ja_xchg_mr(&A, 4, ja_mem(JA_RSI, 0), JA_RCX));
    EXPECT("xchg QWORD PTR [r13+0x0],r9",
           ja_xchg_mr(&A, 8, ja_mem(JA_R13, 0), JA_R9));
    EXPECT("lock cmpxchg BYTE PTR [rsi],dil",
           ja_lock_cmpxchg_mr(&A, 1, ja_mem(JA_RSI, 0), JA_RDI));
    EXPECT("lock cmpxchg WORD PTR [rsi],cx",
           ja_lock_cmpxchg_mr(&A, 2, ja_mem(JA_RSI, 0), JA_RCX));
    EXPECT("lock cmpxchg DWORD PTR [rsi],ecx",
           ja_lock_cmpxchg_mr(&A, 4, ja_mem(JA_RSI, 0), JA_RCX));
    EXPECT("lock cmpxchg QWORD PTR [rsi],r10",
           ja_lock_cmpxchg_mr(&A, 8, ja_mem(JA_RSI, 0), JA_R10));
    EXPECT("mov BYTE PTR [rax],sil",
           ja_store(&A, 1, ja_mem(JA_RAX, 0), JA_RSI));
    EXPECT("mov BYTE PTR [rdi],r8b",
           ja_store(&A, 1, ja_mem(JA_RDI, 0), JA_R8));
    EXPECT("mov BYTE PTR [r12+0x1],spl",
           ja_store(&A, 1, ja_mem(JA_R12, 1), JA_RSP));
    EXPECT("mov WORD PTR [r14+0x7f],dx",
           ja_store(&A, 2, ja_mem(JA_R14, 0x7f), JA_RDX));
    EXPECT("mov DWORD PTR [rsp+0x80],r11d",
           ja_store(&A, 4, ja_mem(JA_RSP, 0x80), JA_R11));
    EXPECT("mov QWORD PTR [rbx+0x1000],rax",
           ja_store(&A, 8, ja_mem(JA_RBX, 0x1000), JA_RAX));
    EXPECT("mov QWORD PTR [rbp+r9*8+0x0],r15",
           ja_store(&A, 8, mem_sib(JA_RBP, JA_R9, 3, 0), JA_R15));

    EXPECT("mov BYTE PTR [rbx+0x4],0x7f",
           ja_store_imm(&A, 1, ja_mem(JA_RBX, 4), 0x7f));
    EXPECT("mov WORD PTR [rbx],0x1234",
           ja_store_imm(&A, 2, ja_mem(JA_RBX, 0), 0x1234));
    EXPECT("mov DWORD PTR [r12],0xffffffff",
           ja_store_imm(&A, 4, ja_mem(JA_R12, 0), -1));
    EXPECT("mov QWORD PTR [rbx+0x20],0xfffffffffffffff0",
           ja_store_imm(&A, 8, ja_mem(JA_RBX, 0x20), -16));
    EXPECT("mov QWORD PTR [r13+0x100],0x12345678",
           ja_store_imm(&A, 8, ja_mem(JA_R13, 0x100), 0x12345678));
}

static void asm_emit_moves(void)
{
    EXPECT("mov al,cl", ja_mov_rr(&A, 1, JA_RAX, JA_RCX));
    EXPECT("mov dil,al", ja_mov_rr(&A, 1, JA_RDI, JA_RAX));
    EXPECT("mov r9b,bpl", ja_mov_rr(&A, 1, JA_R9, JA_RBP));
    EXPECT("mov r9w,ax", ja_mov_rr(&A, 2, JA_R9, JA_RAX));
    EXPECT("mov eax,eax", ja_mov_rr(&A, 4, JA_RAX, JA_RAX));
    EXPECT("mov rbx,rdi", ja_mov_rr(&A, 8, JA_RBX, JA_RDI));
    EXPECT("mov r12,r15", ja_mov_rr(&A, 8, JA_R12, JA_R15));

    EXPECT("mov eax,0x12345678", ja_mov_imm(&A, JA_RAX, 0x12345678));
    EXPECT("mov r10d,0x1", ja_mov_imm(&A, JA_R10, 1));
    EXPECT("mov edi,0xffffffff", ja_mov_imm(&A, JA_RDI, UINT32_MAX));
    EXPECT("mov rax,0xffffffffffffff80",
           ja_mov_imm(&A, JA_RAX, (uint64_t)-128));
    EXPECT("mov r14,0xffffffff80000000",
           ja_mov_imm(&A, JA_R14, (uint64_t)(int64_t)INT32_MIN));
    EXPECT("movabs r11,0x123456789abcdef0",
           ja_mov_imm(&A, JA_R11, UINT64_C(0x123456789abcdef0)));
    EXPECT("movabs rsi,0x100000000",
           ja_mov_imm(&A, JA_RSI, UINT64_C(0x100000000)));

    EXPECT("lea rax,[rbx+rcx*8+0x10]",
           ja_lea(&A, JA_RAX, mem_sib(JA_RBX, JA_RCX, 3, 0x10)));
    EXPECT("lea r12,[r12+0x1]", ja_lea(&A, JA_R12, ja_mem(JA_R12, 1)));
    EXPECT("lea rsp,[rsp-0x8]", ja_lea(&A, JA_RSP, ja_mem(JA_RSP, -8)));
    EXPECT("lea rdx,[rsi+0x7]", ja_lea(&A, JA_RDX, ja_mem(JA_RSI, 7)));
    EXPECT("lea rax,[rax+rax*2]",
           ja_lea(&A, JA_RAX, mem_sib(JA_RAX, JA_RAX, 1, 0)));
    EXPECT("lea r8,[r11*4+0x0]",
           ja_lea(&A, JA_R8, mem_sib(JA_NOREG, JA_R11, 2, 0)));

    EXPECT("movsx rax,cl", ja_movx_rr(&A, true, 1, JA_RAX, JA_RCX));
    EXPECT("movzx eax,sil", ja_movx_rr(&A, false, 1, JA_RAX, JA_RSI));
    EXPECT("movzx edx,dl", ja_movx_rr(&A, false, 1, JA_RDX, JA_RDX));
    EXPECT("movzx r8d,r9w", ja_movx_rr(&A, false, 2, JA_R8, JA_R9));
    EXPECT("movsx rdx,ax", ja_movx_rr(&A, true, 2, JA_RDX, JA_RAX));
    EXPECT("movsxd rcx,edx", ja_movx_rr(&A, true, 4, JA_RCX, JA_RDX));
    EXPECT("mov eax,r13d", ja_movx_rr(&A, false, 4, JA_RAX, JA_R13));
    EXPECT("mov rax,rcx", ja_movx_rr(&A, true, 8, JA_RAX, JA_RCX));
}

static void asm_emit_alu(void)
{
    EXPECT("add rax,rcx", ja_alu_rr(&A, JA_ADD, 8, JA_RAX, JA_RCX));
    EXPECT("sub al,cl", ja_alu_rr(&A, JA_SUB, 1, JA_RAX, JA_RCX));
    EXPECT("xor r8d,r9d", ja_alu_rr(&A, JA_XOR, 4, JA_R8, JA_R9));
    EXPECT("cmp ax,dx", ja_alu_rr(&A, JA_CMP, 2, JA_RAX, JA_RDX));
    EXPECT("and sil,dil", ja_alu_rr(&A, JA_AND, 1, JA_RSI, JA_RDI));
    EXPECT("or r15b,al", ja_alu_rr(&A, JA_OR, 1, JA_R15, JA_RAX));
    EXPECT("adc rax,rcx", ja_alu_rr(&A, JA_ADC, 8, JA_RAX, JA_RCX));
    EXPECT("sbb r12w,r13w", ja_alu_rr(&A, JA_SBB, 2, JA_R12, JA_R13));

    EXPECT("add rcx,QWORD PTR [rbx+0x8]",
           ja_alu_rm(&A, JA_ADD, 8, JA_RCX, ja_mem(JA_RBX, 8)));
    EXPECT("cmp ecx,DWORD PTR [rdx]",
           ja_alu_rm(&A, JA_CMP, 4, JA_RCX, ja_mem(JA_RDX, 0)));
    EXPECT("cmp r12,QWORD PTR [rax+0x8]",
           ja_alu_rm(&A, JA_CMP, 8, JA_R12, ja_mem(JA_RAX, 8)));
    EXPECT("cmp al,BYTE PTR [rsp+0x3]",
           ja_alu_rm(&A, JA_CMP, 1, JA_RAX, ja_mem(JA_RSP, 3)));
    EXPECT("or bpl,BYTE PTR [rbp+0x0]",
           ja_alu_rm(&A, JA_OR, 1, JA_RBP, ja_mem(JA_RBP, 0)));
    EXPECT("and r9w,WORD PTR [rbx+rax*2+0x200]",
           ja_alu_rm(&A, JA_AND, 2, JA_R9, mem_sib(JA_RBX, JA_RAX, 1,
                                                   0x200)));

    EXPECT("add QWORD PTR [rsi],rax",
           ja_alu_mr(&A, JA_ADD, 8, ja_mem(JA_RSI, 0), JA_RAX));
    EXPECT("sub BYTE PTR [rsi+0x1],cl",
           ja_alu_mr(&A, JA_SUB, 1, ja_mem(JA_RSI, 1), JA_RCX));
    EXPECT("xor WORD PTR [r13+0x0],r15w",
           ja_alu_mr(&A, JA_XOR, 2, ja_mem(JA_R13, 0), JA_R15));
    EXPECT("and BYTE PTR [r12],dil",
           ja_alu_mr(&A, JA_AND, 1, ja_mem(JA_R12, 0), JA_RDI));
    EXPECT("cmp DWORD PTR [rcx*8+0x40],r10d",
           ja_alu_mr(&A, JA_CMP, 4, mem_sib(JA_NOREG, JA_RCX, 3, 0x40),
                     JA_R10));

    EXPECT("and al,0xf", ja_alu_ri(&A, JA_AND, 1, JA_RAX, 0x0f));
    EXPECT("cmp dil,0x5", ja_alu_ri(&A, JA_CMP, 1, JA_RDI, 5));
    EXPECT("add r11b,0xff", ja_alu_ri(&A, JA_ADD, 1, JA_R11, -1));
    EXPECT("sub rsp,0x8", ja_alu_ri(&A, JA_SUB, 8, JA_RSP, 8));
    EXPECT("and rdx,0xfffffffffffff000",
           ja_alu_ri(&A, JA_AND, 8, JA_RDX, -4096));
    EXPECT("cmp cx,0x1234", ja_alu_ri(&A, JA_CMP, 2, JA_RCX, 0x1234));
    EXPECT("add eax,0x12345678", ja_alu_ri(&A, JA_ADD, 4, JA_RAX,
                                           0x12345678));
    EXPECT("add rax,0xffffffffffffff80",
           ja_alu_ri(&A, JA_ADD, 8, JA_RAX, -128));
    EXPECT("xor r13d,0x80", ja_alu_ri(&A, JA_XOR, 4, JA_R13, 128));
    EXPECT("or bp,0x7f", ja_alu_ri(&A, JA_OR, 2, JA_RBP, 0x7f));

    EXPECT("test rax,rax", ja_test_rr(&A, 8, JA_RAX, JA_RAX));
    EXPECT("test al,al", ja_test_rr(&A, 1, JA_RAX, JA_RAX));
    EXPECT("test sil,bl", ja_test_rr(&A, 1, JA_RSI, JA_RBX));
    EXPECT("test edx,r8d", ja_test_rr(&A, 4, JA_RDX, JA_R8));
    EXPECT("test r14w,r14w", ja_test_rr(&A, 2, JA_R14, JA_R14));

    EXPECT("test al,0x1", ja_test_ri(&A, 1, JA_RAX, 1));
    EXPECT("test bpl,0x80", ja_test_ri(&A, 1, JA_RBP, 0x80));
    EXPECT("test ecx,0x100", ja_test_ri(&A, 4, JA_RCX, 0x100));
    EXPECT("test dx,0x8000", ja_test_ri(&A, 2, JA_RDX, 0x8000));
    EXPECT("test r9,0x10", ja_test_ri(&A, 8, JA_R9, 0x10));
}

/* Immediate operations on memory, and SSE by opcode (jit-sse.c). */
static void asm_emit_mem_imm_sse(void)
{
    EXPECT("cmp DWORD PTR [rbx+0x40],0x0",
           ja_alu_mi(&A, JA_CMP, 4, ja_mem(JA_RBX, 0x40), 0));
    EXPECT("sub DWORD PTR [rbx+0x1234],0x1",
           ja_alu_mi(&A, JA_SUB, 4, ja_mem(JA_RBX, 0x1234), 1));
    EXPECT("add QWORD PTR [r13+0x0],0x12345",
           ja_alu_mi(&A, JA_ADD, 8, ja_mem(JA_R13, 0), 0x12345));
    EXPECT("and BYTE PTR [rsp+0x8],0x7f",
           ja_alu_mi(&A, JA_AND, 1, ja_mem(JA_RSP, 8), 0x7f));
    EXPECT("movdqu xmm0,XMMWORD PTR [rbx+0x300]",
           ja_sse_rm(&A, 0xf3, 0x6f, false, 0, ja_mem(JA_RBX, 0x300)));
    EXPECT("movdqu XMMWORD PTR [rsi],xmm1",
           ja_sse_rm(&A, 0xf3, 0x7f, false, 1, ja_mem(JA_RSI, 0)));
    EXPECT("movdqu xmm9,XMMWORD PTR [r12+rax*2+0x10]",
           ja_sse_rm(&A, 0xf3, 0x6f, false, 9,
                     mem_sib(JA_R12, JA_RAX, 1, 0x10)));
    EXPECT("pcmpeqb xmm0,xmm1", ja_sse_rr(&A, 0x66, 0x74, false, 0, 1));
    EXPECT("pmovmskb eax,xmm0", ja_sse_rr(&A, 0x66, 0xd7, false, JA_RAX, 0));
    EXPECT("xorps xmm0,xmm1", ja_sse_rr(&A, 0, 0x57, false, 0, 1));
    EXPECT("movq xmm0,rax", ja_sse_rr(&A, 0x66, 0x6e, true, 0, JA_RAX));
    EXPECT("pshuflw xmm0,xmm1,0x1b",
           (ja_sse_rr(&A, 0xf2, 0x70, false, 0, 1), ja_byte(&A, 0x1b)));
}

static void asm_emit_unary(void)
{
    EXPECT("shr eax,0x6", ja_shift_ri(&A, JA_SHR, 4, JA_RAX, 6));
    EXPECT("shl rcx,1", ja_shift_ri(&A, JA_SHL, 8, JA_RCX, 1));
    EXPECT("sar r10b,0x3", ja_shift_ri(&A, JA_SAR, 1, JA_R10, 3));
    EXPECT("rol ax,0x4", ja_shift_ri(&A, JA_ROL, 2, JA_RAX, 4));
    EXPECT("ror r15,1", ja_shift_ri(&A, JA_ROR, 8, JA_R15, 1));
    EXPECT("shl sil,1", ja_shift_ri(&A, JA_SHL, 1, JA_RSI, 1));
    EXPECT("sar rdx,0x3f", ja_shift_ri(&A, JA_SAR, 8, JA_RDX, 63));
    EXPECT("shl rax,cl", ja_shift_cl(&A, JA_SHL, 8, JA_RAX));
    EXPECT("shr r9d,cl", ja_shift_cl(&A, JA_SHR, 4, JA_R9));
    EXPECT("sar dil,cl", ja_shift_cl(&A, JA_SAR, 1, JA_RDI));
    EXPECT("shr ax,cl", ja_shift_cl(&A, JA_SHR, 2, JA_RAX));

    EXPECT("not rax", ja_unary(&A, JA_NOT, 8, JA_RAX));
    EXPECT("neg cl", ja_unary(&A, JA_NEG, 1, JA_RCX));
    EXPECT("neg r8w", ja_unary(&A, JA_NEG, 2, JA_R8));
    EXPECT("not spl", ja_unary(&A, JA_NOT, 1, JA_RSP));
    EXPECT("neg r12d", ja_unary(&A, JA_NEG, 4, JA_R12));

    EXPECT("inc eax", ja_incdec(&A, JA_INC, 4, JA_RAX));
    EXPECT("dec r12", ja_incdec(&A, JA_DEC, 8, JA_R12));
    EXPECT("inc dil", ja_incdec(&A, JA_INC, 1, JA_RDI));
    EXPECT("dec bx", ja_incdec(&A, JA_DEC, 2, JA_RBX));

    EXPECT("cmove rax,rcx", ja_cmov(&A, 4, 8, JA_RAX, JA_RCX));
    EXPECT("cmovb r9,rax", ja_cmov(&A, 2, 8, JA_R9, JA_RAX));
    EXPECT("cmovg rdx,r15", ja_cmov(&A, 15, 8, JA_RDX, JA_R15));
    EXPECT("cmovne ax,dx", ja_cmov(&A, 5, 2, JA_RAX, JA_RDX));
    EXPECT("cmovl r8d,r9d", ja_cmov(&A, 12, 4, JA_R8, JA_R9));
    EXPECT("cmovo rsp,rbp", ja_cmov(&A, 0, 8, JA_RSP, JA_RBP));

    EXPECT("bt eax,0x0", ja_bt_ri(&A, 4, JA_RAX, 0));
    EXPECT("bt r9,0x3f", ja_bt_ri(&A, 8, JA_R9, 63));

    EXPECT("imul rax,rcx", ja_imul_rr(&A, 8, JA_RAX, JA_RCX));
    EXPECT("imul ax,dx", ja_imul_rr(&A, 2, JA_RAX, JA_RDX));
    EXPECT("imul r10d,r11d", ja_imul_rr(&A, 4, JA_R10, JA_R11));
    EXPECT("imul rax,rcx,0x10", ja_imul_rri(&A, 8, JA_RAX, JA_RCX, 16));
    EXPECT("imul eax,edx,0x12345",
           ja_imul_rri(&A, 4, JA_RAX, JA_RDX, 0x12345));
    EXPECT("imul cx,ax,0x1234", ja_imul_rri(&A, 2, JA_RCX, JA_RAX, 0x1234));
    EXPECT("imul r13,r12,0xfffffffffffffffe",
           ja_imul_rri(&A, 8, JA_R13, JA_R12, -2));

    EXPECT("sete al", ja_setcc(&A, 4, JA_RAX));
    EXPECT("setb dl", ja_setcc(&A, 2, JA_RDX));
    EXPECT("setne sil", ja_setcc(&A, 5, JA_RSI));
    EXPECT("seto r8b", ja_setcc(&A, 0, JA_R8));
    EXPECT("setg r15b", ja_setcc(&A, 15, JA_R15));
}

/* Branches go to offset 0 of the buffer, which objdump prints as 0x0. */
static void asm_emit_branches(void)
{
    uint8_t *rel;
    unsigned off;

    EXPECT("jne 0x0", rel = ja_jcc(&A, 5); ja_patch(&A, rel, A.start));
    EXPECT("jo 0x0", rel = ja_jcc(&A, 0); ja_patch(&A, rel, A.start));
    EXPECT("jmp 0x0", rel = ja_jmp(&A); ja_patch(&A, rel, A.start));
    EXPECT("jmp 0x0", ja_jmp_to(&A, A.start));
    EXPECT("call 0x0", ja_call_to(&A, A.start));
    EXPECT("js 0x0", ja_jcc_to(&A, 8, A.start));
    EXPECT("jg 0x0", ja_jcc_to(&A, 15, A.start));
    EXPECT("jmp rax", ja_jmp_reg(&A, JA_RAX));
    EXPECT("jmp r11", ja_jmp_reg(&A, JA_R11));
    /* CALL is MOVABS RAX, fn (10 bytes) and CALL RAX. */
    off = (unsigned)(A.p - A.start);
    ja_call(&A, (const void *)(uintptr_t)UINT64_C(0x1122334455667788));
    asm_add_at(off, 10, "movabs rax,0x1122334455667788", __LINE__);
    asm_add_at(off + 10, 2, "call rax", __LINE__);
    g_assert_cmpuint((unsigned)(A.p - A.start), ==, off + 12);
    EXPECT("push rbx", ja_push(&A, JA_RBX));
    EXPECT("push r12", ja_push(&A, JA_R12));
    EXPECT("pop r14", ja_pop(&A, JA_R14));
    EXPECT("pop rbp", ja_pop(&A, JA_RBP));
    EXPECT("ret", ja_ret(&A));
}

/* One line of objdump's listing: offset and text, or false. */
static bool asm_parse_line(const char *line, unsigned *off, GString *text)
{
    g_auto(GStrv) f = g_strsplit(line, "\t", 3);
    char *end;

    if (g_strv_length(f) < 3) {
        return false;   /* a header, or the rest of a long instruction */
    }
    *off = strtoul(f[0], &end, 16);
    if (end == f[0] || *end != ':') {
        return false;
    }
    g_string_truncate(text, 0);
    /* Collapse runs of blanks: column widths are objdump's business. */
    for (const char *p = g_strstrip(f[2]); *p; p++) {
        if (g_ascii_isspace(*p)) {
            if (text->len && text->str[text->len - 1] != ' ') {
                g_string_append_c(text, ' ');
            }
        } else {
            g_string_append_c(text, *p);
        }
    }
    return true;
}

/* objdump's text for each instruction start: offset -> text. */
static GHashTable *asm_disassemble(const uint8_t *buf, size_t len)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *path = NULL, *out = NULL;
    g_auto(GStrv) lines = NULL;
    GHashTable *h = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    g_autoptr(GString) text = g_string_new(NULL);
    int fd = g_file_open_tmp("test-jit-asm-XXXXXX.bin", &path, &err);
    int status = -1;

    g_assert_no_error(err);
    close(fd);
    g_assert_true(g_file_set_contents(path, (const char *)buf, len, &err));
    {
        const char *argv[] = {
            "objdump", "-D", "-b", "binary", "-mi386:x86-64", "-M", "intel",
            path, NULL,
        };

        g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL,
                                   G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
                                   NULL, &status, &err));
    }
    g_assert_no_error(err);
    g_assert_cmpint(status, ==, 0);
    unlink(path);
    lines = g_strsplit(out, "\n", -1);
    for (char **l = lines; *l; l++) {
        unsigned off;

        if (asm_parse_line(*l, &off, text)) {
            g_hash_table_insert(h, GUINT_TO_POINTER(off + 1),
                                g_strdup(text->str));
        }
    }
    return h;
}

static void test_jit_asm_objdump(void)
{
    g_autoptr(GHashTable) dis = NULL;
    unsigned bad = 0;

    ja_init(&A, asm_buf, sizeof(asm_buf));
    asm_emit_loads();
    asm_emit_stores();
    asm_emit_moves();
    asm_emit_alu();
    asm_emit_unary();
    asm_emit_mem_imm_sse();
    asm_emit_branches();
    g_assert_false(A.overflow);
    dis = asm_disassemble(asm_buf, A.p - A.start);

    for (unsigned i = 0; i < asm_ncases; i++) {
        const AsmCase *c = &asm_cases[i];
        const char *got = g_hash_table_lookup(dis,
                                              GUINT_TO_POINTER(c->off + 1));
        unsigned end = c->off + c->len;
        bool next_ok = end == (unsigned)(A.p - A.start) ||
                       g_hash_table_contains(dis, GUINT_TO_POINTER(end + 1));
        GString *hex = g_string_new(NULL);

        for (unsigned k = 0; k < c->len; k++) {
            g_string_append_printf(hex, "%02x ", asm_buf[c->off + k]);
        }
        if (!got || strcmp(got, c->text) || !next_ok) {
            g_printerr("line %u: %s-> objdump \"%s\", expected \"%s\"%s\n",
                       c->line, hex->str, got ? got : "(nothing here)",
                       c->text, next_ok ? "" : " (length differs)");
            bad++;
        }
        g_string_free(hex, true);
    }
    printf("# %u instructions checked against objdump, %u wrong\n",
           asm_ncases, bad);
    g_assert_cmpuint(bad, ==, 0);
}

/* A full buffer stops writing and says so; nothing past its end. */
static void test_jit_asm_overflow(void)
{
    uint8_t buf[8];
    JitAsm a;

    memset(buf, 0xcc, sizeof(buf));
    ja_init(&a, buf, 6);
    ja_mov_imm(&a, JA_RAX, UINT64_C(0x123456789abcdef0));
    g_assert_true(a.overflow);
    g_assert_true(a.p <= a.end);
    g_assert_cmpuint(buf[6], ==, 0xcc);
    g_assert_cmpuint(buf[7], ==, 0xcc);
}

int main(int argc, char **argv)
{
    g_autofree char *objdump = g_find_program_in_path("objdump");

    g_test_init(&argc, &argv, NULL);
    if (!objdump) {
        printf("SKIP: objdump (binutils) is not installed: nothing to "
               "check the encodings against\n");
        return 77;
    }
    g_test_add_func("/jit-asm/objdump", test_jit_asm_objdump);
    g_test_add_func("/jit-asm/overflow", test_jit_asm_overflow);
    return g_test_run();
}
