/*
 * 32-bit trap stubs: one 16-byte stub per vector pushes a zero error code
 * where the CPU pushes none (SDM vol 3A 6.13), then the vector; the common
 * path saves the registers as a TrapFrame and calls trap_dispatch().
 */
#define HAS_ERROR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 \
                      || (v) == 21 || (v) == 29 || (v) == 30)

    .text
    .code32
    .align 16
trap_stub_base:
    .set vec, 0
    .rept 256
    .align 16
    .if !HAS_ERROR(vec)
    pushl $0
    .endif
    pushl $vec
    jmp trap_common
    .set vec, vec + 1
    .endr

trap_common:
    pushal
    cld
    pushl %esp
    call trap_dispatch
    addl $4, %esp
    popal
    addl $8, %esp
    iret

    .data
    .align 4
    .globl trap_stubs
trap_stubs:
    .set vec, 0
    .rept 256
    .long trap_stub_base + vec * 16
    .set vec, vec + 1
    .endr

/*
 * ureg enter_user(fn, arg, ustack, flags): IRET to fn(arg) at CPL 3; the
 * kernel context stays saved until user_return() comes back to it.
 */
    .text
    .globl enter_user
enter_user:
    pushl %ebp
    pushl %ebx
    pushl %esi
    pushl %edi
    movl %esp, saved_ksp
    movl 28(%esp), %ecx         /* ustack */
    subl $8, %ecx
    movl 24(%esp), %eax         /* arg */
    movl %eax, 4(%ecx)
    movl $user_exit_tramp, (%ecx)
    movl 20(%esp), %eax         /* fn */
    movl 32(%esp), %edx         /* flags */
    pushl $0x23                 /* SS = user data */
    pushl %ecx
    pushl %edx
    pushl $0x1b                 /* CS = user code */
    pushl %eax
    movw $0x23, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    iret

/* Where a user function returns to: leave ring 3 with value 0. */
    .globl user_exit_tramp
user_exit_tramp:
    xorl %eax, %eax
    xorl %ebx, %ebx
    int $0x80
    ud2

    .globl user_return
user_return:
    movl 4(%esp), %eax
    movl saved_ksp, %esp
    movw $0x10, %cx
    movw %cx, %ds
    movw %cx, %es
    movw %cx, %fs
    movw %cx, %gs
    popl %edi
    popl %esi
    popl %ebx
    popl %ebp
    ret

    .data
saved_ksp:  .long 0
