/* Fake physical memory for the x86 differential tests (x86-fake-mem.h). */
#include "x86-fake-mem.h"

uint8_t diff_emu_mem[DIFF_MEM_SIZE];
static uint8_t diff_pt[3 * 4096] __attribute__((aligned(4096)));

static void *diff_ram_ptr(void *opaque, uint64_t paddr, bool is_write)
{
    if (paddr >= DIFF_PT && paddr < DIFF_PT + sizeof(diff_pt)) {
        return diff_pt + (paddr - DIFF_PT);
    }
    if (paddr >= DIFF_MEM && paddr < DIFF_MEM + DIFF_MEM_SIZE) {
        return diff_emu_mem + (paddr - DIFF_MEM);
    }
    return NULL;
}

static uint64_t diff_phys_read(void *opaque, uint64_t paddr, unsigned size)
{
    return UINT64_MAX;
}

static void diff_phys_write(void *opaque, uint64_t paddr, uint64_t val,
                            unsigned size)
{
}

const X86IO diff_io = {
    .ram_ptr = diff_ram_ptr,
    .phys_read = diff_phys_read,
    .phys_write = diff_phys_write,
};

static void diff_put_pte(unsigned table, unsigned index, uint64_t val)
{
    memcpy(diff_pt + table * 4096 + index * 8, &val, 8);
}

void diff_build_page_tables(void)
{
    memset(diff_pt, 0, sizeof(diff_pt));
    diff_put_pte(0, 0, (DIFF_PT + 0x1000) | 7);
    diff_put_pte(1, 0, (DIFF_PT + 0x2000) | 7);
    diff_put_pte(2, (DIFF_MEM >> 21) & 511, DIFF_MEM | 0xe7);
}
