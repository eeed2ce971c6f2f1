/*
 * Entry of the 64-bit test kernel: from the loader's flat protected mode
 * into long mode (SDM vol 3A 10.8.5): PAE page tables that identity-map the
 * first 4 GiB with 2 MiB pages (user-accessible so ring-3 tests can run
 * kernel code), CR4.PAE, EFER.LME, then CR0.PG, then a far jump into a
 * 64-bit code segment.
 */
#include "multiboot.inc"

#define PG_P    0x001
#define PG_RW   0x002
#define PG_US   0x004
#define PG_PS   0x080

    .text
    .code32
    .globl _start
_start:
    cli
    movl $boot_stack_top, %esp
    movl %eax, mb_magic
    movl %ebx, mb_info
    lgdt gdt_ptr
    ljmp $0x08, $1f
1:  movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss

    /* PML4[0] -> PDPT; PDPT[0..3] -> PD0..PD3; 2048 2 MiB pages. */
    movl $pml4, %edi
    leal (pdpt + PG_P + PG_RW + PG_US), %eax
    movl %eax, (%edi)
    movl $pdpt, %edi
    leal (pds + PG_P + PG_RW + PG_US), %eax
    movl $4, %ecx
2:  movl %eax, (%edi)
    addl $8, %edi
    addl $4096, %eax
    loop 2b
    movl $pds, %edi
    movl $(PG_P + PG_RW + PG_US + PG_PS), %eax
    movl $2048, %ecx
3:  movl %eax, (%edi)
    movl $0, 4(%edi)
    addl $8, %edi
    addl $0x200000, %eax
    loop 3b

    movl %cr4, %eax
    orl $0x20, %eax             /* PAE */
    movl %eax, %cr4
    movl $pml4, %eax
    movl %eax, %cr3
    movl $0xc0000080, %ecx      /* EFER: LME, SCE, NXE */
    rdmsr
    orl $0x901, %eax
    wrmsr
    movl %cr0, %eax
    orl $0x80010001, %eax       /* PG, WP, PE */
    movl %eax, %cr0
    ljmp $0x18, $long_entry

    .code64
long_entry:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movq $boot_stack_top, %rsp
    movl mb_magic(%rip), %edi
    movl mb_info(%rip), %esi
    call guest_start
4:  cli
    hlt
    jmp 4b

    .data
mb_magic:   .long 0
mb_info:    .long 0

    .bss
    .align 4096
    .globl pml4, pdpt, pds
pml4:   .skip 4096
pdpt:   .skip 4096
pds:    .skip 4 * 4096
    .align 16
    .globl boot_stack_top
boot_stack:
    .skip 32768
boot_stack_top:
