/*
 * 64-bit trap stubs: as trap32.S, with the 64-bit frame (SDM vol 3A
 * 6.14.2: SS:RSP always pushed, the stack aligned to 16 first).
 */
#define HAS_ERROR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 \
                      || (v) == 21 || (v) == 29 || (v) == 30)

    .text
    .code64
    .align 16
trap_stub_base:
    .set vec, 0
    .rept 256
    .align 16
    .if !HAS_ERROR(vec)
    pushq $0
    .endif
    pushq $vec
    jmp trap_common
    .set vec, vec + 1
    .endr

trap_common:
    pushq %rax
    pushq %rcx
    pushq %rdx
    pushq %rbx
    pushq %rbp
    pushq %rsi
    pushq %rdi
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    cld
    movq %rsp, %rdi
    movq %rsp, %rbx
    andq $-16, %rsp
    call trap_dispatch
    movq %rbx, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rdi
    popq %rsi
    popq %rbp
    popq %rbx
    popq %rdx
    popq %rcx
    popq %rax
    addq $16, %rsp
    iretq

    .data
    .align 8
    .globl trap_stubs
trap_stubs:
    .set vec, 0
    .rept 256
    .quad trap_stub_base + vec * 16
    .set vec, vec + 1
    .endr

/* ureg enter_user(fn, arg, ustack, flags): IRETQ to fn(arg) at CPL 3. */
    .text
    .globl enter_user
enter_user:
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, saved_ksp(%rip)
    movq %rdx, %rax
    andq $-16, %rax
    subq $8, %rax
    leaq user_exit_tramp(%rip), %r8
    movq %r8, (%rax)
    pushq $0x33                 /* SS = user data */
    pushq %rax
    pushq %rcx                  /* RFLAGS */
    pushq $0x3b                 /* CS = user code64 */
    pushq %rdi
    movq %rsi, %rdi
    iretq

    .globl user_exit_tramp
user_exit_tramp:
    xorl %eax, %eax
    xorl %ebx, %ebx
    int $0x80
    ud2

    .globl user_return
user_return:
    movq %rdi, %rax
    movq saved_ksp(%rip), %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    ret

    .data
saved_ksp:  .quad 0
