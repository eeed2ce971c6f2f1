/*
 * Self-modifying code: patching an immediate of code that already ran,
 * a store to the very next instruction, and code written into a buffer,
 * run, rewritten and run again (SDM vol 3A 8.1.3).
 */
#include "guest.h"

static uint8_t code_buf[64] __attribute__((aligned(16)));

/* "mov $imm32, %eax; ret" at label smc_func; imm at smc_func + 1. */
__asm__(".text\n.globl smc_func\nsmc_func:\n"
        "\tmovl $0x11111111, %eax\n\tret\n");
uint32_t smc_func(void);
extern uint8_t smc_func_bytes[] __asm__("smc_func");

static uint32_t run_buf(uint32_t imm)
{
    uint32_t (*fn)(void) = (uint32_t (*)(void))code_buf;

    code_buf[0] = 0xb8;                          /* mov $imm, %eax */
    memcpy(&code_buf[1], &imm, 4);
    code_buf[5] = 0xc3;                          /* ret */
    return fn();
}

void kernel_main(void)
{
    uint32_t v = 0;
    uint32_t sum = 0;

    CHECK_EQ(smc_func(), 0x11111111, "function before patching");
    smc_func_bytes[1] = 0x22;
    CHECK_EQ(smc_func(), 0x11111122, "patched immediate is seen");
    for (int i = 0; i < 100; i++) {
        smc_func_bytes[1] = (uint8_t)i;
        sum += smc_func() & 0xff;
    }
    CHECK_EQ(sum, 4950, "patched 100 times in a loop");

    /* Store into the next instruction: it must run as stored. */
    __asm__ volatile("movb $0x42, 1f+1\n\t"
                     "1: movb $0x00, %%al\n\t"
                     "movzbl %%al, %0" : "=r"(v) : : "eax", "memory");
    CHECK_EQ(v, 0x42, "store to the next instruction");

    CHECK_EQ(run_buf(0x12345678), 0x12345678, "generated code, first");
    CHECK_EQ(run_buf(0x9abcdef0), 0x9abcdef0, "generated code, rewritten");
}
