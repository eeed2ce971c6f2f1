/*
 * Entry of a 32-bit test kernel.  The loader leaves us in flat protected
 * mode with paging off, EAX = 0x2badb002 and EBX = the info structure
 * (Multiboot 0.6.96, 3.2); GDTR and IDTR are not ours yet.
 */
#include "multiboot.inc"

    .text
    .code32
    .globl _start
_start:
    cli
    movl $boot_stack_top, %esp
    movl %eax, %esi
    movl %ebx, %edi
    lgdt gdt_ptr
    ljmp $0x08, $1f
1:  movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw %ax, %ss
    pushl %edi
    pushl %esi
    call guest_start
2:  cli
    hlt
    jmp 2b

    .bss
    .align 16
    .globl boot_stack_top
boot_stack:
    .skip 32768
boot_stack_top:
